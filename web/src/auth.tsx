// Who is using the app: GET /api/me on load (401 = nobody yet; a guest session is
// made only when a page needs one). Login, sign-up and logout go through here so
// the header and role-gated pages update together.

import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { api, unwrap, type components } from "./api/client";
import { ApiError } from "./api/errors";
import { resetSession } from "./api/session";

export type Me = components["schemas"]["Me"];

interface AuthValue {
  me: Me | null;
  loading: boolean;
  /** Signed in with an account (not a guest). */
  signedIn: boolean;
  isOperator: boolean;
  isAdmin: boolean;
  refresh(): Promise<void>;
  login(email: string, password: string): Promise<void>;
  signup(email: string, password: string, displayName: string): Promise<void>;
  logout(): Promise<void>;
}

const AuthContext = createContext<AuthValue | null>(null);

async function fetchMe(): Promise<Me | null> {
  try {
    return await unwrap(api.GET("/api/me"));
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    throw e;
  }
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null>(null);
  const [loading, setLoading] = useState(true);

  const refresh = useCallback(async () => {
    try {
      setMe(await fetchMe());
    } catch {
      // Offline or server down: pages show their own error states.
    } finally {
      setLoading(false);
    }
  }, []);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const login = useCallback(
    async (email: string, password: string) => {
      await unwrap(api.POST("/api/auth/login", { body: { email, password } }));
      resetSession();
      await refresh();
    },
    [refresh],
  );

  const signup = useCallback(
    async (email: string, password: string, displayName: string) => {
      await unwrap(api.POST("/api/auth/signup", { body: { email, password, display_name: displayName } }));
      resetSession();
      await refresh();
    },
    [refresh],
  );

  const logout = useCallback(async () => {
    try {
      await unwrap(api.POST("/api/auth/logout"));
    } catch (e) {
      // Already logged out elsewhere: the cookies are gone either way.
      if (!(e instanceof ApiError && e.status === 401)) throw e;
    }
    resetSession();
    setMe(null);
  }, []);

  const value = useMemo<AuthValue>(() => {
    const role = me?.role ?? "guest";
    return {
      me,
      loading,
      signedIn: me?.id != null,
      isOperator: role === "operator" || role === "admin",
      isAdmin: role === "admin",
      refresh,
      login,
      signup,
      logout,
    };
  }, [me, loading, refresh, login, signup, logout]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthValue {
  const ctx = useContext(AuthContext);
  if (!ctx) throw new Error("useAuth outside AuthProvider");
  return ctx;
}
