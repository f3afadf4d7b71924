// The message to show for an error code, in the user's language. Codes are the
// server's stable error codes plus the client's `network` / `offline`.

import type { MessageKey } from "../i18n";

const KNOWN: Record<string, MessageKey> = {
  upstream_unavailable: "error.upstream_unavailable",
  upstream_timeout: "error.upstream_timeout",
  upstream_rate_limited: "error.upstream_rate_limited",
  context_too_long: "error.context_too_long",
  interrupted: "error.interrupted",
  rate_limited: "error.rate_limited",
  quota_exceeded: "error.quota_exceeded",
  network: "error.network",
  offline: "error.offline",
  unauthorized: "error.unauthorized",
  forbidden: "error.forbidden",
  not_found: "error.not_found",
  validation_failed: "error.validation_failed",
  conflict: "error.conflict",
  service_unavailable: "error.service_unavailable",
  internal_error: "error.internal_error",
  payload_too_large: "error.payload_too_large",
  consent_required: "error.consent_required",
};

export function errorKey(code: string): MessageKey {
  return KNOWN[code] ?? "error.generic";
}
