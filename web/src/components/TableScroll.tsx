// A wide table's horizontal scroller. On a phone it scrolls, so keyboard users
// must be able to focus it (WCAG: scrollable regions reachable by keyboard).

import type { ReactNode } from "react";
import { useT } from "../i18n";

export function TableScroll({ label, children }: { label?: string; children: ReactNode }) {
  const t = useT();
  return (
    <div className="table-scroll" tabIndex={0} role="region" aria-label={label ?? t("common.table")}>
      {children}
    </div>
  );
}
