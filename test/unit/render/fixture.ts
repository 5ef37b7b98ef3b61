/** The golden input config (test/golden/render/podgate.yaml), parsed by podgate's own loader. */
import { readFileSync } from "node:fs";
import { parseConfig } from "../../../src/config/load.ts";
import type { PodgateConfig } from "../../../src/config/types.ts";

export const GOLDEN_DIR = new URL("../../golden/render/", import.meta.url);

export function goldenConfig(): PodgateConfig {
  return parseConfig(readFileSync(new URL("podgate.yaml", GOLDEN_DIR), "utf8"), "podgate.yaml");
}
