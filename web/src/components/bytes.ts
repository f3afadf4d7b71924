// File sizes for people: 1,024 B → "1 KB", in the user's number format.

export function formatBytes(n: number, formatNumber: (n: number, options?: Intl.NumberFormatOptions) => string): string {
  if (!Number.isFinite(n) || n < 1024) return `${formatNumber(Math.max(0, Math.round(n || 0)))} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${formatNumber(value, { maximumFractionDigits: value < 10 ? 1 : 0 })} ${units[unit]}`;
}
