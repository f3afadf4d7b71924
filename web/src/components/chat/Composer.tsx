// The message box. Enter sends and Shift+Enter breaks the line, except while an
// IME is composing: Japanese input confirms its conversion with Enter.

import { useId, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { useT } from "../../i18n";

export function Composer({
  streaming,
  disabled,
  onSend,
  onStop,
  compact = false,
}: {
  streaming: boolean;
  /** Sending is refused for now (rate limited, offline). */
  disabled: boolean;
  onSend(text: string): void;
  onStop(): void;
  compact?: boolean;
}) {
  const t = useT();
  const id = useId();
  const [text, setText] = useState("");
  const ref = useRef<HTMLTextAreaElement>(null);
  const canSend = text.trim().length > 0 && !streaming && !disabled;

  const submit = (e?: FormEvent) => {
    e?.preventDefault();
    if (!canSend) return;
    onSend(text);
    setText("");
    ref.current?.focus();
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key !== "Enter" || e.shiftKey || e.nativeEvent.isComposing || e.keyCode === 229) return;
    e.preventDefault();
    submit();
  };

  return (
    <form className={`composer ${compact ? "composer-compact" : ""}`} onSubmit={submit}>
      <label htmlFor={id} className="sr-only">
        {t("chat.messageLabel")}
      </label>
      <textarea
        id={id}
        ref={ref}
        value={text}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={onKeyDown}
        placeholder={t("chat.placeholder")}
        rows={compact ? 1 : 2}
        maxLength={8000}
        aria-describedby={`${id}-hint`}
      />
      <span id={`${id}-hint`} className="sr-only">
        {t("chat.enterHint")}
      </span>
      {streaming ? (
        <button type="button" className="btn btn-stop" onClick={onStop}>
          {t("chat.stop")}
        </button>
      ) : (
        <button type="submit" className="btn btn-primary" disabled={!canSend}>
          {t("chat.send")}
        </button>
      )}
    </form>
  );
}
