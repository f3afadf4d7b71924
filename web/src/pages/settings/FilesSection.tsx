// The caller's uploaded files: name, size, date; download (a plain link, so
// the browser streams it to disk) and delete (confirmed). Hidden when the caller
// has no session yet or the server has no file support.

import { useState } from "react";
import { ApiError, networkError } from "../../api/errors";
import { deleteFile, fileUrl, listFiles, type FileView } from "../../api/files";
import { ConfirmDialog } from "../../components/Dialog";
import { ErrorMessage } from "../../components/ErrorMessage";
import { TableScroll } from "../../components/TableScroll";
import { formatBytes } from "../../components/bytes";
import { useAsync } from "../../hooks/useAsync";
import { useI18n } from "../../i18n";

export function FilesSection() {
  const { t, formatNumber, formatDateTime } = useI18n();
  const files = useAsync(() => listFiles(100), []);
  const [deleting, setDeleting] = useState<FileView | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [done, setDone] = useState<string | null>(null);

  if (files.error && (files.error.status === 401 || files.error.notAvailable)) return null;
  if (!files.data && !files.error) return null;

  const remove = async (f: FileView) => {
    setBusy(true);
    setError(null);
    try {
      await deleteFile(f.id);
      setDone(t("files.deleted", { name: f.name }));
      setDeleting(null);
      files.reload();
    } catch (e) {
      setError(e instanceof ApiError ? e : networkError(e));
      setDeleting(null);
    } finally {
      setBusy(false);
    }
  };

  const list = files.data ?? [];
  return (
    <section className="card files" aria-labelledby="settings-files">
      <h2 id="settings-files">{t("files.title")}</h2>
      <p className="hint">{t("files.body")}</p>
      {files.error ? (
        <p role="alert" className="form-error">
          <ErrorMessage error={files.error} />
        </p>
      ) : list.length === 0 ? (
        <p className="muted">{t("files.none")}</p>
      ) : (
        <TableScroll>
          <table className="table">
            <thead>
              <tr>
                <th scope="col">{t("files.name")}</th>
                <th scope="col" className="num">
                  {t("files.size")}
                </th>
                <th scope="col">{t("files.date")}</th>
                <th scope="col">{t("common.actions")}</th>
              </tr>
            </thead>
            <tbody>
              {list.map((f) => (
                <tr key={f.id}>
                  <td className="file-name">{f.name}</td>
                  <td className="num nowrap">{formatBytes(f.size, formatNumber)}</td>
                  <td className="nowrap">
                    <time dateTime={f.created_at}>{formatDateTime(f.created_at)}</time>
                  </td>
                  <td className="actions">
                    <a className="btn btn-small" href={fileUrl(f.id)} download={f.name} aria-label={t("files.downloadNamed", { name: f.name })}>
                      {t("files.download")}
                    </a>
                    <button
                      type="button"
                      className="btn btn-small btn-danger"
                      onClick={() => setDeleting(f)}
                      aria-label={t("files.deleteNamed", { name: f.name })}
                    >
                      {t("common.delete")}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
      {error ? (
        <p role="alert" className="form-error">
          <ErrorMessage error={error} />
        </p>
      ) : null}
      <p role="status" className="status-line">
        {done ?? ""}
      </p>
      {deleting ? (
        <ConfirmDialog
          title={t("files.deleteTitle")}
          message={t("files.deleteConfirm", { name: deleting.name })}
          confirmLabel={t("common.delete")}
          busy={busy}
          onCancel={() => setDeleting(null)}
          onConfirm={() => void remove(deleting)}
        />
      ) : null}
    </section>
  );
}
