// Strings, dates and numbers in the user's language. Japanese is the default;
// English is one switch away (persisted in localStorage, mirrored on <html lang>).
// Deliberately tiny: flat keys, `{name}` placeholders, Intl for formatting.

import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from "react";
import ja from "./ja.json";
import en from "./en.json";

export type Locale = "ja" | "en";
export type MessageKey = keyof typeof ja;
export type Vars = Record<string, string | number>;

const dictionaries: Record<Locale, Record<MessageKey, string>> = { ja, en };
export const LOCALES: Locale[] = ["ja", "en"];
const STORAGE_KEY = "tenmon.lang";

export function isLocale(v: unknown): v is Locale {
  return v === "ja" || v === "en";
}

export function storedLocale(): Locale | null {
  try {
    const v = localStorage.getItem(STORAGE_KEY);
    return isLocale(v) ? v : null;
  } catch {
    return null;
  }
}

/** The widget follows the browser: English for an English browser, else Japanese. */
export function browserLocale(): Locale {
  const lang = typeof navigator !== "undefined" ? navigator.language : "ja";
  return lang.toLowerCase().startsWith("en") ? "en" : "ja";
}

export function translate(locale: Locale, key: MessageKey, vars?: Vars): string {
  const template = dictionaries[locale][key] ?? dictionaries.ja[key] ?? key;
  if (!vars) return template;
  return template.replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m));
}

function intlLocale(locale: Locale): string {
  return locale === "ja" ? "ja-JP" : "en";
}

export interface I18n {
  locale: Locale;
  setLocale(l: Locale): void;
  t(key: MessageKey, vars?: Vars): string;
  formatDateTime(iso: string | number | Date): string;
  formatDate(iso: string | number | Date): string;
  formatNumber(n: number, options?: Intl.NumberFormatOptions): string;
}

const I18nContext = createContext<I18n | null>(null);

function applyLang(locale: Locale): void {
  if (typeof document !== "undefined") document.documentElement.lang = locale;
}

export function I18nProvider({
  children,
  initial,
  persist = true,
}: {
  children: ReactNode;
  initial?: Locale;
  /** The widget does not write the host's preference. */
  persist?: boolean;
}) {
  const [locale, setLocaleState] = useState<Locale>(() => {
    const l = initial ?? storedLocale() ?? "ja";
    applyLang(l);
    return l;
  });
  const setLocale = useCallback(
    (l: Locale) => {
      setLocaleState(l);
      applyLang(l);
      if (persist) {
        try {
          localStorage.setItem(STORAGE_KEY, l);
        } catch {
          // Private mode: the choice lasts for this page only.
        }
      }
    },
    [persist],
  );
  const value = useMemo<I18n>(() => {
    const tag = intlLocale(locale);
    const dateTime = new Intl.DateTimeFormat(tag, { dateStyle: "medium", timeStyle: "short" });
    const date = new Intl.DateTimeFormat(tag, { dateStyle: "medium" });
    const toDate = (v: string | number | Date) => (v instanceof Date ? v : new Date(v));
    return {
      locale,
      setLocale,
      t: (key, vars) => translate(locale, key, vars),
      formatDateTime: (v) => {
        const d = toDate(v);
        return Number.isNaN(d.getTime()) ? String(v) : dateTime.format(d);
      },
      formatDate: (v) => {
        const d = toDate(v);
        return Number.isNaN(d.getTime()) ? String(v) : date.format(d);
      },
      formatNumber: (n, options) => new Intl.NumberFormat(tag, options).format(n),
    };
  }, [locale, setLocale]);
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const ctx = useContext(I18nContext);
  if (!ctx) throw new Error("useI18n outside I18nProvider");
  return ctx;
}

/** `const t = useT(); t("chat.send")` */
export function useT(): I18n["t"] {
  return useI18n().t;
}
