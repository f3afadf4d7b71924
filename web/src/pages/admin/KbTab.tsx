// Knowledge base management: pick a base, search and page through its entries,
// create/edit/enable/delete, import a JSONL or CSV file (all or nothing, with
// every bad row listed by line), export.

import { useEffect, useId, useMemo, useState } from "react";
import { api, apiFetch, unwrap } from "../../api/client";
import { ApiError, errorFromResponse, networkError, type RowProblem } from "../../api/errors";
import { ConfirmDialog, Dialog } from "../../components/Dialog";
import { errorKey } from "../../components/errorText";
import { useAsync } from "../../hooks/useAsync";
import { useI18n } from "../../i18n";
import { EntryForm, type Entry, type EntryDraft } from "./EntryForm";
import { TableScroll } from "../../components/TableScroll";

const PAGE_SIZE = 20;
// Format names, the same in every language.
const EXPORTS = [
  { name: "JSONL", format: "jsonl" },
  { name: "CSV (UTF-8)", format: "csv" },
  { name: "CSV (Shift_JIS)", format: "csv", encoding: "shift_jis" },
];

function matches(e: Entry, needle: string): boolean {
  if (!needle) return true;
  return [e.id, e.question, e.answer, e.category, e.question_en ?? "", ...e.phrasings, ...e.keywords].some((s) =>
    s.toLowerCase().includes(needle),
  );
}

function ImportPanel({ kb, onImported }: { kb: string; onImported(): void }) {
  const { t } = useI18n();
  const id = useId();
  const [file, setFile] = useState<File | null>(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ created: number; updated: number } | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const run = async () => {
    if (!file) return;
    setBusy(true);
    setResult(null);
    setError(null);
    const csv = /\.csv$/i.test(file.name) || file.type === "text/csv";
    try {
      const r = await apiFetch(`/api/kb/bases/${encodeURIComponent(kb)}/import?format=${csv ? "csv" : "jsonl"}`, {
        method: "POST",
        headers: { "Content-Type": csv ? "text/csv" : "application/x-ndjson" },
        body: await file.arrayBuffer(),
      });
      if (!r.ok) throw await errorFromResponse(r);
      setResult((await r.json()) as { created: number; updated: number });
      onImported();
    } catch (e) {
      setError(e instanceof ApiError ? e : networkError(e));
    } finally {
      setBusy(false);
    }
  };
  const rows: RowProblem[] = error?.rows ?? [];
  return (
    <section className="card" aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`}>{t("kb.import")}</h3>
      <p className="hint">{t("kb.importHint")}</p>
      <div className="row">
        <label htmlFor={id} className="sr-only">
          {t("kb.importFile")}
        </label>
        <input id={id} type="file" accept=".jsonl,.ndjson,.csv,application/x-ndjson,text/csv" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
        <button type="button" className="btn" disabled={!file || busy} onClick={() => void run()}>
          {t("kb.importButton")}
        </button>
      </div>
      {result ? (
        <p role="status" className="notice notice-ok">
          {t("kb.imported", { created: result.created, updated: result.updated })}
        </p>
      ) : null}
      {error ? (
        <div role="alert" className="notice notice-error">
          <p>{rows.length ? t("kb.importRowsFailed", { count: rows.length }) : error.code === "validation_failed" ? error.message : t(errorKey(error.code))}</p>
          {rows.length ? (
            <table className="table compact">
              <thead>
                <tr>
                  <th scope="col">{t("kb.line")}</th>
                  <th scope="col">{t("kb.problem")}</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r, i) => (
                  <tr key={`${r.line}-${i}`}>
                    <td>{r.line}</td>
                    <td>{r.message}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </div>
      ) : null}
    </section>
  );
}

function NewBaseDialog({ onClose, onCreated }: { onClose(): void; onCreated(id: string): void }) {
  const { t } = useI18n();
  const ids = { id: useId(), name: useId() };
  const [baseId, setBaseId] = useState("");
  const [name, setName] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const submit = async () => {
    try {
      const b = await unwrap(api.POST("/api/kb/bases", { body: { id: baseId.trim(), name: name.trim(), description: "" } }));
      onCreated(b.id);
    } catch (e) {
      setError(e instanceof ApiError ? e : networkError(e));
    }
  };
  return (
    <Dialog
      title={t("kb.newBase")}
      onClose={onClose}
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            {t("common.cancel")}
          </button>
          <button type="button" className="btn btn-primary" disabled={!baseId.trim() || !name.trim()} onClick={() => void submit()}>
            {t("common.create")}
          </button>
        </>
      }
    >
      <div className="field">
        <label htmlFor={ids.id}>{t("kb.baseId")}</label>
        <input id={ids.id} value={baseId} onChange={(e) => setBaseId(e.target.value)} pattern="[A-Za-z0-9_\-]{1,64}" />
      </div>
      <div className="field">
        <label htmlFor={ids.name}>{t("kb.baseName")}</label>
        <input id={ids.name} value={name} onChange={(e) => setName(e.target.value)} />
      </div>
      {error ? (
        <p className="form-error" role="alert">
          {error.code === "validation_failed" ? error.message : t(errorKey(error.code))}
        </p>
      ) : null}
    </Dialog>
  );
}

export function KbTab() {
  const { t, formatDate } = useI18n();
  const ids = { base: useId(), search: useId() };
  const bases = useAsync(() => unwrap(api.GET("/api/kb/bases")).then((r) => r.knowledge_bases), []);
  const [kb, setKb] = useState<string>("");
  const [query, setQuery] = useState("");
  const [page, setPage] = useState(0);
  const [draft, setDraft] = useState<EntryDraft | null>(null);
  const [deleting, setDeleting] = useState<Entry | null>(null);
  const [newBase, setNewBase] = useState(false);
  const [actionError, setActionError] = useState<ApiError | null>(null);

  useEffect(() => {
    const list = bases.data ?? [];
    if (!kb && list.length) setKb(list.find((b) => b.id === "mnp")?.id ?? list[0]?.id ?? "");
  }, [bases.data, kb]);

  const entries = useAsync(
    () => (kb ? unwrap(api.GET("/api/kb/bases/{kb}/entries", { params: { path: { kb } } })).then((r) => r.entries) : Promise.resolve([])),
    [kb],
  );
  const needle = query.trim().toLowerCase();
  const filtered = useMemo(() => (entries.data ?? []).filter((e) => matches(e, needle)), [entries.data, needle]);
  const pages = Math.max(1, Math.ceil(filtered.length / PAGE_SIZE));
  const current = Math.min(page, pages - 1);
  const shown = filtered.slice(current * PAGE_SIZE, current * PAGE_SIZE + PAGE_SIZE);

  const toggle = async (e: Entry) => {
    setActionError(null);
    try {
      await unwrap(api.PATCH("/api/kb/entries/{id}", { params: { path: { id: e.id } }, body: { enabled: !e.enabled } }));
      entries.reload();
    } catch (err) {
      setActionError(err instanceof ApiError ? err : networkError(err));
    }
  };

  const exportHref = (format: string, encoding?: string) =>
    `/api/kb/bases/${encodeURIComponent(kb)}/export?format=${format}${encoding ? `&encoding=${encoding}` : ""}`;

  return (
    <div className="kb-tab">
      <div className="toolbar">
        <div className="field inline">
          <label htmlFor={ids.base}>{t("kb.base")}</label>
          <select id={ids.base} value={kb} onChange={(e) => { setKb(e.target.value); setPage(0); }}>
            {(bases.data ?? []).map((b) => (
              <option key={b.id} value={b.id}>
                {b.name} ({b.id})
              </option>
            ))}
          </select>
        </div>
        <button type="button" className="btn" onClick={() => setNewBase(true)}>
          {t("kb.newBase")}
        </button>
        <div className="field inline grow">
          <label htmlFor={ids.search}>{t("kb.search")}</label>
          <input id={ids.search} type="search" value={query} onChange={(e) => { setQuery(e.target.value); setPage(0); }} />
        </div>
        <button type="button" className="btn btn-primary" disabled={!kb} onClick={() => setDraft({ kb, entry: null })}>
          {t("kb.newEntry")}
        </button>
      </div>
      {bases.error ? <p className="notice notice-error" role="alert">{t(errorKey(bases.error.code))}</p> : null}
      {entries.error ? <p className="notice notice-error" role="alert">{t(errorKey(entries.error.code))}</p> : null}
      {actionError ? <p className="notice notice-error" role="alert">{t(errorKey(actionError.code))}</p> : null}
      <p className="muted" role="status">
        {entries.loading ? t("common.loading") : t("kb.count", { count: filtered.length, total: entries.data?.length ?? 0 })}
      </p>
      <TableScroll>
        <table className="table">
          <thead>
            <tr>
              <th scope="col">{t("kb.entryId")}</th>
              <th scope="col">{t("kb.question")}</th>
              <th scope="col">{t("kb.category")}</th>
              <th scope="col">{t("kb.enabled")}</th>
              <th scope="col">{t("kb.updated")}</th>
              <th scope="col">
                <span className="sr-only">{t("common.actions")}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {shown.map((e) => (
              <tr key={e.id}>
                <td>
                  <code>{e.id}</code>
                </td>
                <td>{e.question}</td>
                <td>{e.category}</td>
                <td>
                  <label className="switch">
                    <input type="checkbox" checked={e.enabled} onChange={() => void toggle(e)} />
                    <span className="sr-only">{t("kb.enabledFor", { id: e.id })}</span>
                  </label>
                </td>
                <td>{formatDate(e.updated_at)}</td>
                <td className="actions">
                  <button type="button" className="btn btn-small" onClick={() => setDraft({ kb, entry: e })} aria-label={t("kb.editNamed", { id: e.id })}>
                    {t("common.edit")}
                  </button>
                  <button type="button" className="btn btn-small btn-danger" onClick={() => setDeleting(e)} aria-label={t("kb.deleteNamed", { id: e.id })}>
                    {t("common.delete")}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableScroll>
      {pages > 1 ? (
        <nav className="pager" aria-label={t("common.pagination")}>
          <button type="button" className="btn btn-small" disabled={current === 0} onClick={() => setPage(current - 1)}>
            {t("common.prev")}
          </button>
          <span>{t("common.pageOf", { page: current + 1, pages })}</span>
          <button type="button" className="btn btn-small" disabled={current >= pages - 1} onClick={() => setPage(current + 1)}>
            {t("common.next")}
          </button>
        </nav>
      ) : null}
      {kb ? (
        <div className="grid-2">
          <ImportPanel kb={kb} onImported={entries.reload} />
          <section className="card">
            <h3>{t("kb.export")}</h3>
            <p className="hint">{t("kb.exportHint")}</p>
            <div className="row">
              {EXPORTS.map((x) => (
                <a key={x.name} className="btn" href={exportHref(x.format, x.encoding)} download>
                  {x.name}
                </a>
              ))}
            </div>
          </section>
        </div>
      ) : null}
      {draft ? (
        <EntryForm
          draft={draft}
          bases={(bases.data ?? []).map((b) => b.id)}
          onClose={() => setDraft(null)}
          onSaved={() => {
            setDraft(null);
            entries.reload();
          }}
        />
      ) : null}
      {deleting ? (
        <ConfirmDialog
          title={t("kb.deleteTitle")}
          message={t("kb.deleteConfirm", { id: deleting.id })}
          confirmLabel={t("common.delete")}
          onCancel={() => setDeleting(null)}
          onConfirm={async () => {
            try {
              await unwrap(api.DELETE("/api/kb/entries/{id}", { params: { path: { id: deleting.id } } }));
              entries.reload();
            } catch (err) {
              setActionError(err instanceof ApiError ? err : networkError(err));
            }
            setDeleting(null);
          }}
        />
      ) : null}
      {newBase ? (
        <NewBaseDialog
          onClose={() => setNewBase(false)}
          onCreated={(id) => {
            setNewBase(false);
            bases.reload();
            setKb(id);
          }}
        />
      ) : null}
    </div>
  );
}
