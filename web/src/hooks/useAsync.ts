// Load something when its inputs change, with loading/error state and a reload.
// A late answer for old inputs is dropped, so fast switching never shows stale data.

import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError, networkError } from "../api/errors";

export interface AsyncState<T> {
  data: T | null;
  error: ApiError | null;
  loading: boolean;
  reload(): void;
}

export function useAsync<T>(load: () => Promise<T>, deps: unknown[]): AsyncState<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const generation = useRef(0);
  const loader = useRef(load);
  loader.current = load;
  useEffect(() => {
    const mine = ++generation.current;
    setLoading(true);
    loader
      .current()
      .then((d) => {
        if (generation.current !== mine) return;
        setData(d);
        setError(null);
      })
      .catch((e: unknown) => {
        if (generation.current !== mine) return;
        setError(e instanceof ApiError ? e : networkError(e));
      })
      .finally(() => {
        if (generation.current === mine) setLoading(false);
      });
    // `deps` are the caller's inputs, as with useEffect.
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data, error, loading, reload };
}
