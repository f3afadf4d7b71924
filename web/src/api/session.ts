// The caller's session. Pages that talk to the chat API call `ensureSession()`
// first: a visitor without one gets a guest session (cookie mode: the server sets
// the cookies; bearer mode: the token is kept in sessionStorage for this tab).

import { api, bearerToken, isBearerMode, setBearerAuth, unwrap } from "./client";
import { ApiError } from "./errors";

const TOKEN_KEY = "tenmon.widget.token";
let pending: Promise<void> | null = null;

function storedToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    // Storage can be blocked in a third-party iframe: memory then.
    return null;
  }
}

function storeToken(token: string | null): void {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // See storedToken.
  }
}

/** Bearer mode for the widget, resuming this tab's guest token if it has one. */
export function startBearerMode(): void {
  setBearerAuth(storedToken());
}

async function create(): Promise<void> {
  const created = await unwrap(api.POST("/api/session"));
  if (isBearerMode()) {
    setBearerAuth(created.token);
    storeToken(created.token);
  }
}

async function check(): Promise<void> {
  if (isBearerMode() && !bearerToken()) return create();
  try {
    await unwrap(api.GET("/api/session"));
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return create();
    throw e;
  }
}

/** Make sure a session exists (once per page load unless reset). */
export function ensureSession(): Promise<void> {
  if (!pending) {
    pending = check().catch((e: unknown) => {
      pending = null;
      throw e;
    });
  }
  return pending;
}

/** Forget the session (it expired or the user logged out); the next call makes one. */
export function resetSession(): void {
  pending = null;
  if (isBearerMode()) {
    setBearerAuth(null);
    storeToken(null);
  }
}
