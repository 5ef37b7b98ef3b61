/**
 * Writes docs/configuration.md from the config schema (src/config/schema.ts) and the example
 * gateway/podgate.example.yaml. Run after changing either: `npx tsx scripts/gen-config-docs.ts`.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CONFIG_DOCS_PATH, CONFIG_EXAMPLE_PATH, renderConfigDocs } from "../src/config/docs.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const example = readFileSync(join(root, CONFIG_EXAMPLE_PATH), "utf8");
writeFileSync(join(root, CONFIG_DOCS_PATH), renderConfigDocs(example));
console.log(`wrote ${CONFIG_DOCS_PATH}`);
