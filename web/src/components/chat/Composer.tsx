// The message box. Enter sends and Shift+Enter breaks the line, except while an
// IME is composing: Japanese input confirms its conversion with Enter.
// With `attachments`, files can be attached: the paperclip button, dropping files
// onto the box, or pasting an image.

import { useId, useRef, useState, type ClipboardEvent, type DragEvent, type FormEvent, type KeyboardEvent } from "react";
import { FILE_ACCEPT } from "../../api/files";
import type { Attachments } from "../../chat/useAttachments";
import { useT } from "../../i18n";
import { PaperclipIcon } from "../icons";
import { AttachmentChips } from "./AttachmentChips";

function hasFiles(e: DragEvent): boolean {
  return Array.from(e.dataTransfer?.types ?? []).includes("Files");
}

export function Composer({
  streaming,
  disabled,
  onSend,
  onStop,
  compact = false,
  attachments,
}: {
  streaming: boolean;
  /** Sending is refused for now (rate limited, offline). */
  disabled: boolean;
  onSend(text: string): void;
  onStop(): void;
  compact?: boolean;
  attachments?: Attachments;
}) {
  const t = useT();
  const id = useId();
  const [text, setText] = useState("");
  const [dragging, setDragging] = useState(false);
  const ref = useRef<HTMLTextAreaElement>(null);
  const picker = useRef<HTMLInputElement>(null);
  const canSend = text.trim().length > 0 && !streaming && !disabled && !attachments?.uploading;

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

  const onPaste = (e: ClipboardEvent<HTMLTextAreaElement>) => {
    if (!attachments) return;
    const images = Array.from(e.clipboardData.files).filter((f) => f.type.startsWith("image/"));
    if (!images.length) return;
    // A copy from a document can carry its text as well: then the text is pasted too.
    if (!e.clipboardData.getData("text/plain")) e.preventDefault();
    attachments.add(images);
  };

  const drop = attachments
    ? {
        onDragOver: (e: DragEvent<HTMLFormElement>) => {
          if (!hasFiles(e)) return;
          e.preventDefault();
          e.dataTransfer.dropEffect = "copy";
          setDragging(true);
        },
        onDragLeave: (e: DragEvent<HTMLFormElement>) => {
          if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setDragging(false);
        },
        onDrop: (e: DragEvent<HTMLFormElement>) => {
          if (!hasFiles(e)) return;
          e.preventDefault();
          setDragging(false);
          attachments.add(Array.from(e.dataTransfer.files));
        },
      }
    : {};

  return (
    <form className={`composer ${compact ? "composer-compact" : ""} ${dragging ? "composer-drop" : ""}`} onSubmit={submit} {...drop}>
      {attachments ? <AttachmentChips attachments={attachments} /> : null}
      {attachments ? (
        <>
          <input
            ref={picker}
            type="file"
            multiple
            accept={FILE_ACCEPT}
            hidden
            aria-label={t("files.attach")}
            onChange={(e) => {
              if (e.target.files?.length) attachments.add(Array.from(e.target.files));
              // The same file chosen again is a new attachment.
              e.target.value = "";
            }}
          />
          <button
            type="button"
            className="btn btn-icon composer-attach"
            onClick={() => picker.current?.click()}
            aria-label={t("files.attach")}
            title={t("files.attachHint")}
          >
            <PaperclipIcon />
          </button>
        </>
      ) : null}
      <label htmlFor={id} className="sr-only">
        {t("chat.messageLabel")}
      </label>
      <textarea
        id={id}
        ref={ref}
        value={text}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={onKeyDown}
        onPaste={onPaste}
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
