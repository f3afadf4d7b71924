// Whole seconds left until `until` (epoch ms), ticking once a second; 0 when over.

import { useEffect, useState } from "react";

export function secondsLeft(until: number | null, now = Date.now()): number {
  return until === null ? 0 : Math.max(0, Math.ceil((until - now) / 1000));
}

export function useCountdown(until: number | null, onDone?: () => void): number {
  const [left, setLeft] = useState(() => secondsLeft(until));
  useEffect(() => {
    setLeft(secondsLeft(until));
    if (until === null) return;
    const id = setInterval(() => {
      const s = secondsLeft(until);
      setLeft(s);
      if (s === 0) {
        clearInterval(id);
        onDone?.();
      }
    }, 250);
    return () => clearInterval(id);
    // onDone is a callback prop: the countdown restarts only with a new deadline.
  }, [until]);
  return left;
}
