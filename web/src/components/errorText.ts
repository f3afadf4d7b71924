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
  // Files
  file_too_large: "error.file_too_large",
  type_not_allowed: "error.type_not_allowed",
  extension_not_allowed: "error.type_not_allowed",
  unsupported_media_type: "error.type_not_allowed",
  extension_mismatch: "error.extension_mismatch",
  storage_quota_exceeded: "error.storage_quota_exceeded",
  unreadable_file: "error.unreadable_file",
  empty_file: "error.empty_file",
  // The /browser reader
  invalid_url: "error.invalid_url",
  scheme_not_allowed: "error.scheme_not_allowed",
  address_not_allowed: "error.address_not_allowed",
  fetch_failed: "error.fetch_failed",
  upstream_status: "error.upstream_status",
  fetch_timeout: "error.fetch_timeout",
  page_too_large: "error.page_too_large",
  unsupported_content_type: "error.unsupported_content_type",
};

// Codes whose server message names the particulars (the limit, the refused
// address, the remote status) that a translated sentence cannot know.
const WITH_DETAIL = new Set(["file_too_large", "address_not_allowed", "upstream_status", "page_too_large", "storage_quota_exceeded"]);

export function errorKey(code: string): MessageKey {
  return KNOWN[code] ?? "error.generic";
}

/** The server's own words, worth showing under the translated sentence, or null. */
export function errorDetail(error: { code: string; message: string }): string | null {
  return WITH_DETAIL.has(error.code) && error.message.trim() ? error.message : null;
}
