// Create or edit an assistant (PUT /api/admin/assistants/{id}). Editing a built-in
// or config-file assistant stores an override of the same id in the database. A
// 422 names the bad field: its message goes under that field and focus moves
// there; anything else is an alert above the buttons.

import { useId, useState, type FormEvent, type ReactNode } from "react";
import { api, unwrap, type components } from "../../api/client";
import { ApiError, networkError } from "../../api/errors";
import { Dialog } from "../../components/Dialog";
import { ErrorMessage } from "../../components/ErrorMessage";
import { useI18n, type MessageKey } from "../../i18n";

/** An assistant as the admin list has it (its id is always there). */
export type AssistantView = components["schemas"]["AdminAssistant"] & { id: string };
type AssistantDef = components["schemas"]["AssistantDef"];
type KnowledgeBase = components["schemas"]["KnowledgeBase"];

/** The fields a 422 can name, each with the rule to show under it. */
const FIELDS = {
  id: "assistants.invalid.id",
  name_ja: "assistants.invalid.name_ja",
  name_en: "assistants.invalid.name_en",
  system_prompt: "assistants.invalid.system_prompt",
  model: "assistants.invalid.model",
  temperature: "assistants.invalid.temperature",
  knowledge_bases: "assistants.invalid.knowledge_bases",
  knowledge_only: "assistants.invalid.knowledge_only",
  greeting_ja: "assistants.invalid.greeting_ja",
} as const satisfies Record<string, MessageKey>;
type Field = keyof typeof FIELDS;

const isField = (f: string | undefined): f is Field => f !== undefined && f in FIELDS;
const ID_PATTERN = "[a-z0-9\\-]{1,64}";

export function AssistantForm({
  assistant,
  bases,
  takenIds,
  onSaved,
  onClose,
}: {
  /** null: a new assistant. */
  assistant: AssistantView | null;
  /** Knowledge bases to choose from (GET /api/kb/bases). */
  bases: KnowledgeBase[];
  /** Ids already in use: a new assistant may not take one (that would be an edit). */
  takenIds: string[];
  onSaved(saved: AssistantView): void;
  onClose(): void;
}) {
  const { t } = useI18n();
  const a = assistant;
  const uid = useId();
  const f = (name: string) => `${uid}-${name}`;
  const [id, setId] = useState(a?.id ?? "");
  const [nameJa, setNameJa] = useState(a?.name_ja ?? "");
  const [nameEn, setNameEn] = useState(a?.name_en ?? "");
  const [prompt, setPrompt] = useState(a?.system_prompt ?? "");
  const [model, setModel] = useState(a?.model ?? "");
  const [temperature, setTemperature] = useState(a?.temperature == null ? "" : String(a.temperature));
  const [kbs, setKbs] = useState<string[]>(a?.knowledge_bases ?? []);
  const [knowledgeOnly, setKnowledgeOnly] = useState(a?.knowledge_only ?? false);
  const [greetingJa, setGreetingJa] = useState(a?.greeting_ja ?? "");
  const [greetingEn, setGreetingEn] = useState(a?.greeting_en ?? "");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [fieldError, setFieldError] = useState<{ field: Field; key: MessageKey } | null>(null);

  const overriding = a !== null && a.source !== "database";
  // The assistant's own bases stay listed even if one no longer exists, so it can be unticked.
  const choices = [...bases.map((b) => ({ id: b.id, name: b.name })), ...kbs.filter((k) => !bases.some((b) => b.id === k)).map((k) => ({ id: k, name: k }))];

  const showFieldError = (field: Field, key: MessageKey) => {
    setFieldError({ field, key });
    // After React has drawn the message, so it is read with the field.
    setTimeout(() => {
      const target = field === "knowledge_bases" ? document.getElementById(f("kb-0")) : document.getElementById(f(field));
      target?.focus();
    }, 0);
  };

  const submit = async (ev: FormEvent) => {
    ev.preventDefault();
    setError(null);
    setFieldError(null);
    const assistantId = a ? a.id : id.trim();
    if (!a && takenIds.includes(assistantId)) {
      showFieldError("id", "assistants.idTaken");
      return;
    }
    const temp = temperature.trim() === "" ? null : Number(temperature);
    const body: AssistantDef = {
      id: assistantId,
      name_ja: nameJa.trim(),
      name_en: nameEn.trim(),
      system_prompt: prompt.trim(),
      model: model.trim() ? model.trim() : null,
      temperature: temp !== null && Number.isFinite(temp) ? temp : null,
      knowledge_bases: kbs,
      knowledge_only: kbs.length > 0 && knowledgeOnly,
      greeting_ja: greetingJa.trim(),
      greeting_en: greetingEn.trim(),
    };
    setBusy(true);
    try {
      const saved = await unwrap(api.PUT("/api/admin/assistants/{id}", { params: { path: { id: assistantId } }, body }));
      onSaved({ ...saved, id: saved.id || assistantId });
    } catch (e) {
      const err = e instanceof ApiError ? e : networkError(e);
      if (err.code === "validation_failed" && isField(err.field)) showFieldError(err.field, FIELDS[err.field]);
      else setError(err);
    } finally {
      setBusy(false);
    }
  };

  /** aria-describedby and aria-invalid for a field with an optional hint. */
  const described = (field: Field, hint = false) => {
    const ids = [hint ? f(`${field}-hint`) : "", fieldError?.field === field ? f(`${field}-error`) : ""].filter(Boolean);
    return {
      "aria-describedby": ids.length ? ids.join(" ") : undefined,
      "aria-invalid": fieldError?.field === field ? true : undefined,
    };
  };
  const errorFor = (field: Field): ReactNode =>
    fieldError?.field === field ? (
      <small id={f(`${field}-error`)} className="field-error">
        {t(fieldError.key)}
      </small>
    ) : null;

  const toggleKb = (kb: string, on: boolean) => {
    const next = on ? [...kbs, kb] : kbs.filter((k) => k !== kb);
    setKbs(next);
    if (!next.length) setKnowledgeOnly(false);
  };

  return (
    <Dialog title={a ? t("assistants.editTitle", { id: a.id }) : t("assistants.newTitle")} onClose={onClose} className="entry-form-dialog">
      <form className="form" onSubmit={submit}>
        {overriding ? (
          <p className="notice notice-info" id={f("override")}>
            {t("assistants.overrideHint")}
          </p>
        ) : null}
        <div className="field">
          <label htmlFor={f("id")}>{t("assistants.id")}</label>
          <input
            id={f("id")}
            value={id}
            onChange={(x) => setId(x.target.value)}
            readOnly={a !== null}
            required
            pattern={ID_PATTERN}
            maxLength={64}
            autoComplete="off"
            spellCheck={false}
            {...described("id", true)}
          />
          <small id={f("id-hint")} className="hint">
            {a ? t("assistants.idFixed") : t("assistants.idHint")}
          </small>
          {errorFor("id")}
        </div>
        <div className="grid-2">
          <div className="field">
            <label htmlFor={f("name_ja")}>{t("assistants.nameJa")}</label>
            <input id={f("name_ja")} value={nameJa} onChange={(x) => setNameJa(x.target.value)} required maxLength={100} lang="ja" {...described("name_ja")} />
            {errorFor("name_ja")}
          </div>
          <div className="field">
            <label htmlFor={f("name_en")}>{t("assistants.nameEn")}</label>
            <input id={f("name_en")} value={nameEn} onChange={(x) => setNameEn(x.target.value)} required maxLength={100} lang="en" {...described("name_en")} />
            {errorFor("name_en")}
          </div>
        </div>
        <div className="field">
          <label htmlFor={f("system_prompt")}>{t("assistants.systemPrompt")}</label>
          <textarea
            id={f("system_prompt")}
            value={prompt}
            onChange={(x) => setPrompt(x.target.value)}
            required
            rows={6}
            maxLength={20000}
            {...described("system_prompt", true)}
          />
          <small id={f("system_prompt-hint")} className="hint">
            {t("assistants.systemPromptHint")}
          </small>
          {errorFor("system_prompt")}
        </div>
        <div className="grid-2">
          <div className="field">
            <label htmlFor={f("model")}>{t("assistants.model")}</label>
            <input
              id={f("model")}
              value={model}
              onChange={(x) => setModel(x.target.value)}
              maxLength={128}
              autoComplete="off"
              spellCheck={false}
              {...described("model", true)}
            />
            <small id={f("model-hint")} className="hint">
              {t("assistants.modelHint")}
            </small>
            {errorFor("model")}
          </div>
          <div className="field">
            <label htmlFor={f("temperature")}>{t("assistants.temperature")}</label>
            <input
              id={f("temperature")}
              type="number"
              inputMode="decimal"
              min={0}
              max={2}
              step="any"
              value={temperature}
              onChange={(x) => setTemperature(x.target.value)}
              {...described("temperature", true)}
            />
            <small id={f("temperature-hint")} className="hint">
              {t("assistants.temperatureHint")}
            </small>
            {errorFor("temperature")}
          </div>
        </div>
        <fieldset className="check-group" {...described("knowledge_bases")}>
          <legend>{t("assistants.knowledgeBases")}</legend>
          {choices.length ? (
            choices.map((b, i) => (
              <label key={b.id} className="check">
                <input id={f(`kb-${i}`)} type="checkbox" checked={kbs.includes(b.id)} onChange={(x) => toggleKb(b.id, x.target.checked)} />
                {b.name === b.id ? b.id : t("assistants.kbChoice", { name: b.name, id: b.id })}
              </label>
            ))
          ) : (
            <p className="hint">{t("assistants.noBases")}</p>
          )}
          {errorFor("knowledge_bases")}
        </fieldset>
        <div className="check-field">
          <label className="check">
            <input
              id={f("knowledge_only")}
              type="checkbox"
              checked={kbs.length > 0 && knowledgeOnly}
              disabled={kbs.length === 0}
              onChange={(x) => setKnowledgeOnly(x.target.checked)}
              {...described("knowledge_only", true)}
            />
            {t("assistants.knowledgeOnly")}
          </label>
          <small id={f("knowledge_only-hint")} className="hint">
            {kbs.length ? t("assistants.knowledgeOnlyHint") : t("assistants.knowledgeOnlyNeedsKb")}
          </small>
          {errorFor("knowledge_only")}
        </div>
        <div className="grid-2">
          <div className="field">
            <label htmlFor={f("greeting_ja")}>{t("assistants.greetingJa")}</label>
            <textarea
              id={f("greeting_ja")}
              value={greetingJa}
              onChange={(x) => setGreetingJa(x.target.value)}
              rows={2}
              maxLength={1000}
              lang="ja"
              {...described("greeting_ja")}
            />
            {errorFor("greeting_ja")}
          </div>
          <div className="field">
            <label htmlFor={f("greeting_en")}>{t("assistants.greetingEn")}</label>
            <textarea id={f("greeting_en")} value={greetingEn} onChange={(x) => setGreetingEn(x.target.value)} rows={2} maxLength={1000} lang="en" />
          </div>
        </div>
        {error ? (
          <p className="form-error" role="alert">
            <ErrorMessage error={error} />
          </p>
        ) : null}
        <div className="form-actions">
          <button type="button" className="btn" onClick={onClose}>
            {t("common.cancel")}
          </button>
          <button
            type="submit"
            className="btn btn-primary"
            disabled={busy || !(a ? true : id.trim()) || !nameJa.trim() || !nameEn.trim() || !prompt.trim()}
            aria-describedby={overriding ? f("override") : undefined}
          >
            {t("common.save")}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
