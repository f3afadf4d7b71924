// The caller's conversations: new, open, rename, delete (confirmed), filter by title.

import { useState, type FormEvent } from "react";
import type { components } from "../../api/client";
import { useI18n } from "../../i18n";
import { Link } from "../../router";
import { ConfirmDialog } from "../Dialog";
import { PencilIcon, TrashIcon } from "../icons";

export type Conversation = components["schemas"]["Conversation"];

export function ConversationList({
  conversations,
  activeId,
  loading,
  hasMore,
  onLoadMore,
  onNew,
  onRename,
  onDelete,
}: {
  conversations: Conversation[];
  activeId: string | null;
  loading: boolean;
  hasMore: boolean;
  onLoadMore(): void;
  onNew(): void;
  onRename(id: string, title: string): Promise<void>;
  onDelete(id: string): Promise<void>;
}) {
  const { t, formatDateTime } = useI18n();
  const [filter, setFilter] = useState("");
  const [editing, setEditing] = useState<string | null>(null);
  const [draft, setDraft] = useState("");
  const [confirming, setConfirming] = useState<Conversation | null>(null);
  const [busy, setBusy] = useState(false);
  const needle = filter.trim().toLowerCase();
  const shown = needle ? conversations.filter((c) => c.title.toLowerCase().includes(needle)) : conversations;

  const saveRename = async (e: FormEvent) => {
    e.preventDefault();
    if (!editing || !draft.trim()) return;
    setBusy(true);
    try {
      await onRename(editing, draft.trim());
      setEditing(null);
    } finally {
      setBusy(false);
    }
  };

  return (
    <nav className="conversations" aria-label={t("chat.conversations")}>
      <button type="button" className="btn btn-primary btn-block" onClick={onNew}>
        {t("chat.new")}
      </button>
      <label className="field">
        <span className="sr-only">{t("chat.filter")}</span>
        <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} placeholder={t("chat.filter")} />
      </label>
      <ul className="conv-list">
        {shown.map((c) => (
          <li key={c.id} className={c.id === activeId ? "active" : ""}>
            {editing === c.id ? (
              <form className="conv-rename" onSubmit={saveRename}>
                <label className="sr-only" htmlFor={`rename-${c.id}`}>
                  {t("chat.renameLabel")}
                </label>
                <input
                  id={`rename-${c.id}`}
                  value={draft}
                  maxLength={200}
                  autoFocus
                  onChange={(e) => setDraft(e.target.value)}
                  onKeyDown={(e) => e.key === "Escape" && setEditing(null)}
                />
                <button type="submit" className="btn btn-small" disabled={busy || !draft.trim()}>
                  {t("common.save")}
                </button>
                <button type="button" className="btn btn-small" onClick={() => setEditing(null)}>
                  {t("common.cancel")}
                </button>
              </form>
            ) : (
              <>
                <Link to={`/chat/${encodeURIComponent(c.id)}`} className="conv-link" aria-current={c.id === activeId ? "page" : undefined}>
                  <span className="conv-title">{c.title || t("chat.untitled")}</span>
                  <time className="conv-time" dateTime={c.updated_at}>
                    {formatDateTime(c.updated_at)}
                  </time>
                </Link>
                <span className="conv-actions">
                  <button
                    type="button"
                    className="btn btn-icon"
                    onClick={() => {
                      setEditing(c.id);
                      setDraft(c.title);
                    }}
                    aria-label={t("chat.renameNamed", { title: c.title || t("chat.untitled") })}
                    title={t("chat.rename")}
                  >
                    <PencilIcon />
                  </button>
                  <button
                    type="button"
                    className="btn btn-icon"
                    onClick={() => setConfirming(c)}
                    aria-label={t("chat.deleteNamed", { title: c.title || t("chat.untitled") })}
                    title={t("chat.delete")}
                  >
                    <TrashIcon />
                  </button>
                </span>
              </>
            )}
          </li>
        ))}
      </ul>
      {!loading && shown.length === 0 ? <p className="muted">{needle ? t("chat.noMatch") : t("chat.noConversations")}</p> : null}
      {loading ? <p className="muted">{t("common.loading")}</p> : null}
      {hasMore && !loading ? (
        <button type="button" className="btn btn-block" onClick={onLoadMore}>
          {t("common.loadMore")}
        </button>
      ) : null}
      {confirming ? (
        <ConfirmDialog
          title={t("chat.deleteTitle")}
          message={t("chat.deleteConfirm", { title: confirming.title || t("chat.untitled") })}
          confirmLabel={t("chat.delete")}
          busy={busy}
          onCancel={() => setConfirming(null)}
          onConfirm={async () => {
            setBusy(true);
            try {
              await onDelete(confirming.id);
              setConfirming(null);
            } finally {
              setBusy(false);
            }
          }}
        />
      ) : null}
    </nav>
  );
}
