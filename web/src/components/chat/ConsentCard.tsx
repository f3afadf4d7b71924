// Consent to the privacy notice, when the server asks for it before the first
// chat turn (GDPR_COMPLIANCE): what happens to personal data, and one button.

import { useState } from "react";
import { api, unwrap, type components } from "../../api/client";
import { ApiError, networkError } from "../../api/errors";
import { useI18n } from "../../i18n";
import { errorKey } from "../errorText";

export type PrivacyInfo = components["schemas"]["PrivacyInfo"];

export function ConsentCard({ info, onConsented }: { info: PrivacyInfo; onConsented(): void }) {
  const { t } = useI18n();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const agree = async () => {
    setBusy(true);
    setError(null);
    try {
      await unwrap(api.POST("/api/me/consent", { body: { version: info.notice_version } }));
      onConsented();
    } catch (e) {
      setError(e instanceof ApiError ? e : networkError(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="consent card" aria-labelledby="consent-title">
      <h2 id="consent-title">{t("consent.title")}</h2>
      <p>{t("consent.body", { version: info.notice_version })}</p>
      <ul>
        <li>{info.masking ? t("consent.masking") : t("consent.noMasking")}</li>
        <li>{info.stores_personal_data ? t("consent.stores") : t("consent.storesMasked")}</li>
        <li>
          {info.retention_days != null ? t("consent.retention", { days: info.retention_days }) : t("consent.noRetention")}
        </li>
      </ul>
      {error ? (
        <p className="form-error" role="alert">
          {t(errorKey(error.code))}
        </p>
      ) : null}
      <button type="button" className="btn btn-primary" onClick={() => void agree()} disabled={busy}>
        {t("consent.agree")}
      </button>
    </section>
  );
}
