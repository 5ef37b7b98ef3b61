/** The router vendors `podgate render router --vendor V` knows, each a pure model → text function. */
import type { RouterModel } from "../model.ts";
import { renderBird } from "./bird.ts";
import { renderCiscoIos } from "./cisco-ios.ts";
import { renderEdgeos } from "./edgeos.ts";
import { renderFrr } from "./frr.ts";
import { renderJunos } from "./junos.ts";
import { renderOpenwrt } from "./openwrt.ts";
import { renderRouterOs } from "./routeros.ts";
import { renderVyos } from "./vyos.ts";

export const ROUTER_RENDERERS = {
  frr: renderFrr,
  bird: renderBird,
  "cisco-ios": renderCiscoIos,
  junos: renderJunos,
  routeros: renderRouterOs,
  vyos: renderVyos,
  openwrt: renderOpenwrt,
  edgeos: renderEdgeos,
} as const satisfies Record<string, (m: RouterModel) => string>;

export type Vendor = keyof typeof ROUTER_RENDERERS;
export const VENDORS = Object.keys(ROUTER_RENDERERS) as Vendor[];

export function isVendor(v: string): v is Vendor {
  return Object.hasOwn(ROUTER_RENDERERS, v);
}

export function renderRouter(vendor: Vendor, m: RouterModel): string {
  return ROUTER_RENDERERS[vendor](m);
}
