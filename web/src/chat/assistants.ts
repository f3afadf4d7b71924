// The assistants a caller can pick (GET /api/assistants), fetched once per page load.

import { useEffect, useState } from "react";
import { api, unwrap, type components } from "../api/client";
import type { Locale } from "../i18n";

type AssistantView = components["schemas"]["AssistantView"];
/**
 * An assistant as listed. The schema shares AssistantDef with PUT, where `id` may
 * be left out (the path has it); a listed assistant always has one.
 */
export type Assistant = AssistantView & { id: string };

/** The listed assistants, typed with their ids (one without an id is dropped). */
export function listed(list: AssistantView[]): Assistant[] {
  return list.filter((a): a is Assistant => typeof a.id === "string" && a.id !== "");
}

let cache: Promise<Assistant[]> | null = null;

export function loadAssistants(): Promise<Assistant[]> {
  if (!cache) {
    cache = unwrap(api.GET("/api/assistants")).then(
      (r) => listed(r.assistants),
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
  return (locale === "en" ? a.greeting_en : a.greeting_ja) ?? null;
}

/** Drop the cached list (an admin changed the assistants): the next picker asks again. */
export function forgetAssistants(): void {
  cache = null;
}
