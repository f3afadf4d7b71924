// Shapes of endpoints announced but not yet in the server's OpenAPI document.
// When they land there, `npm run gen:api` brings their generated types and these
// go away.

export interface AuditItem {
  seq: number;
  at: string;
  actor: string | null;
  action: string;
  target: string | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
}

export interface AuditPage {
  items: AuditItem[];
  next_cursor: string | null;
}

export interface AnalyticsDay {
  date: string;
  conversations: number;
  messages: number;
  answered: number;
  unanswered: number;
  tokens: number;
}

export interface Analytics {
  days: AnalyticsDay[];
  top_entries: { id: string; kb: string; question: string; count: number }[];
  ttft_ms: { p50: number | null; p95: number | null };
}
