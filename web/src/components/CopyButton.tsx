// A button that copies text and says so for a moment (also to screen readers).

import { useEffect, useState } from "react";
import { useT, type MessageKey } from "../i18n";
import { copyText } from "./clipboard";

export function CopyButton({ text, label = "common.copy", className = "" }: { text: string; label?: MessageKey; className?: string }) {
  const t = useT();
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  useEffect(() => {
    if (state === "idle") return;
    const id = setTimeout(() => setState("idle"), 2000);
    return () => clearTimeout(id);
  }, [state]);
  const shown = state === "copied" ? t("common.copied") : state === "failed" ? t("common.copyFailed") : t(label);
  return (
    <button
      type="button"
      className={`btn btn-small ${className}`}
      onClick={async () => setState((await copyText(text)) ? "copied" : "failed")}
      aria-live="polite"
    >
      {shown}
    </button>
  );
}
