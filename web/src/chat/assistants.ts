// The assistants a caller can pick (GET /api/assistants), fetched once per page load.

import { useEffect, useState } from "react";
import { api, unwrap, type components } from "../api/client";
import type { Locale } from "../i18n";

export type Assistant = components["schemas"]["AssistantView"];

let cache: Promise<Assistant[]> | null = null;

export function loadAssistants(): Promise<Assistant[]> {
  if (!cache) {
    cache = unwrap(api.GET("/api/assistants")).then(
      (r) => r.assistants,
      (e: unknown) => {
        cache = null;
        throw e;
      },
    );
  }
  return cache;
}

export function useAssistants(): Assistant[] {
  const [list, setList] = useState<Assistant[]>([]);
  useEffect(() => {
    let live = true;
    loadAssistants()
      .then((a) => live && setList(a))
      .catch(() => {
        // The picker then offers only the default assistant.
      });
    return () => {
      live = false;
    };
  }, []);
  return list;
}

export function assistantName(a: Assistant | undefined, id: string, locale: Locale): string {
  if (!a) return id;
  return locale === "en" ? a.name_en : a.name_ja;
}

export function assistantGreeting(a: Assistant | undefined, locale: Locale): string | null {
  if (!a) return null;
  return locale === "en" ? a.greeting_en : a.greeting_ja;
}
