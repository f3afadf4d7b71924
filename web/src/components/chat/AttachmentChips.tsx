// The files waiting to go with the next message, above the message box: name,
// size, progress while uploading, the reason when refused, and a remove button.

import { MAX_FILES_PER_TURN } from "../../api/files";
import type { Attachments } from "../../chat/useAttachments";
import { useI18n } from "../../i18n";
import { formatBytes } from "../bytes";
import { ErrorMessage } from "../ErrorMessage";
import { FileIcon } from "../icons";

export function AttachmentChips({ attachments }: { attachments: Attachments }) {
  const { t, formatNumber } = useI18n();
  const { items, uploading, tooMany, remove } = attachments;
  const uploadingCount = items.filter((a) => a.status === "uploading").length;
  const readyCount = attachments.ready.length;
  // The live region comes first and stays mounted, so its first change is announced too.
  return (
    <>
      <span className="sr-only" role="status">
        {uploading ? t("files.uploadingCount", { count: uploadingCount }) : readyCount ? t("files.readyCount", { count: readyCount }) : ""}
      </span>
      {items.length || tooMany ? (
        <div className="attachments">
          {items.length ? (
            <ul className="attachment-list" aria-label={t("files.attached")}>
              {items.map((a) => (
                <li key={a.key} className={`attachment attachment-${a.status}`}>
                  <FileIcon />
                  <span className="attachment-name" title={a.name}>
                    {a.name}
                  </span>
                  <span className="attachment-size">{formatBytes(a.size, formatNumber)}</span>
                  {a.status === "uploading" ? (
                    <progress
                      className="attachment-progress"
                      max={1}
                      value={a.progress ?? undefined}
                      aria-label={t("files.uploadingNamed", { name: a.name })}
                    />
                  ) : null}
                  {a.status === "failed" && a.error ? (
                    <span className="attachment-error" role="alert">
                      <ErrorMessage error={a.error} />
                    </span>
                  ) : null}
                  <button
                    type="button"
                    className="btn btn-icon attachment-remove"
                    onClick={() => remove(a.key)}
                    aria-label={t("files.removeNamed", { name: a.name })}
                    title={t("files.remove")}
                  >
                    <span aria-hidden="true">×</span>
                  </button>
                </li>
              ))}
            </ul>
          ) : null}
          {tooMany ? (
            <p className="attachment-note" role="alert">
              {t("files.tooMany", { max: MAX_FILES_PER_TURN })}
            </p>
          ) : null}
        </div>
      ) : null}
    </>
  );
}
