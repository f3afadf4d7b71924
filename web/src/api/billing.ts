// Plans and usage (Stripe billing, on only when the server has it configured).
// Types come from the server's OpenAPI document (schema.d.ts).

import { rawJson } from "./client";
import type { components } from "./schema";

export type PlanView = components["schemas"]["PlanView"];
export type PurchasablePlan = PlanView;
export type BillingView = components["schemas"]["BillingView"];
export type RedirectUrl = components["schemas"]["RedirectUrl"];

export function getBilling(): Promise<BillingView> {
  return rawJson<BillingView>("GET", "/api/billing");
}

export function startCheckout(plan: string): Promise<RedirectUrl> {
  return rawJson<RedirectUrl>("POST", "/api/billing/checkout", { plan });
}

export function openPortal(): Promise<RedirectUrl> {
  return rawJson<RedirectUrl>("POST", "/api/billing/portal");
}
