/** Laptop operating systems `podgate render laptop --os O` knows, each a pure model → script function. */
import type { LaptopModel } from "../model.ts";
import { renderLinux } from "./linux.ts";
import { renderMacos } from "./macos.ts";
import { renderWindows } from "./windows.ts";

export const LAPTOP_RENDERERS = {
  linux: renderLinux,
  macos: renderMacos,
  windows: renderWindows,
} as const satisfies Record<string, (m: LaptopModel, undo: boolean) => string>;

export type LaptopOs = keyof typeof LAPTOP_RENDERERS;
export const LAPTOP_OSES = Object.keys(LAPTOP_RENDERERS) as LaptopOs[];

export function isLaptopOs(v: string): v is LaptopOs {
  return Object.hasOwn(LAPTOP_RENDERERS, v);
}

export function renderLaptop(os: LaptopOs, m: LaptopModel, undo = false): string {
  return LAPTOP_RENDERERS[os](m, undo);
}
