/**
 * docs/configuration.md is generated from the schema: it must match a fresh render. The example
 * gateway config it embeds must itself load.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  CONFIG_DOCS_PATH,
  CONFIG_EXAMPLE_PATH,
  REGENERATE_COMMAND,
  renderConfigDocs,
} from "../../../src/config/docs.ts";
import { parseConfigWithWarnings } from "../../../src/config/load.ts";
import { configSchema, type SchemaNode } from "../../../src/config/schema.ts";

const root = join(import.meta.dirname, "../../..");
const example = readFileSync(join(root, CONFIG_EXAMPLE_PATH), "utf8");
const dir = mkdtempSync(join(tmpdir(), `podgate-example-${process.pid}-`));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("docs/configuration.md", () => {
  it("is current", () => {
    const committed = readFileSync(join(root, CONFIG_DOCS_PATH), "utf8");
    expect(
      committed === renderConfigDocs(example),
      `${CONFIG_DOCS_PATH} is stale: run \`${REGENERATE_COMMAND}\``,
    ).toBe(true);
  });

  it("documents every key of the schema with a description", () => {
    const docs = renderConfigDocs(example);
    const visit = (node: SchemaNode, key: string) => {
      expect(node.description.length, key).toBeGreaterThan(5);
      expect(docs, key).toContain(`| \`${key}\` |`);
      if (node.kind === "object") for (const [k, f] of Object.entries(node.fields)) visit(f, `${key}.${k}`);
      if (node.kind === "array") {
        if (node.items.kind === "object")
          for (const [k, f] of Object.entries(node.items.fields)) visit(f, `${key}[].${k}`);
      }
    };
    for (const [k, f] of Object.entries(configSchema.fields)) visit(f, k);
    expect(docs).toContain("| `policies.<name>.terms[].match.prefixList` |");
    expect(docs).toContain("| `prefixLists.<name>[].ge` |");
  });
});

describe(CONFIG_EXAMPLE_PATH, () => {
  it("loads, with its password file next to it", () => {
    // The example names office-router.key relative to itself; provide one in a temp copy's directory.
    writeFileSync(join(dir, "office-router.key"), "example-md5-key\n", { mode: 0o600 });
    const { config, warnings } = parseConfigWithWarnings(example, CONFIG_EXAMPLE_PATH, { baseDir: dir });
    expect(warnings).toEqual([]);
    expect(config.asn).toBe(64512);
    expect(config.peers.filter((p) => p.role === "cluster").map((p) => p.address)).toEqual([
      "192.168.40.101",
      "192.168.40.102",
      "192.168.40.103",
    ]);
    const office = config.peers.find((p) => p.role === "office")!;
    expect(office).toMatchObject({ asn: 65010, password: "example-md5-key", nextHopSelf: true });
    expect(config.prefixLists["pods"]).toEqual([
      { prefix: "10.244.0.0/16", ge: 26, le: 32, action: "permit" },
    ]);
    expect(config.prefixLists["services"]![0]!.prefix).toBe("10.96.0.0/12");
    for (const p of config.peers) {
      expect(config.policies[p.import!], p.name).toBeDefined();
      expect(config.policies[p.export!], p.name).toBeDefined();
    }
  });
});
