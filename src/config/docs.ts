/**
 * Renders docs/configuration.md from the schema (schema.ts), so the reference can never drift
 * from what the loader accepts. scripts/gen-config-docs.ts writes the file; a unit test
 * re-renders it and fails when the committed copy is stale.
 */
import { configSchema, type SchemaNode, TCP_MD5_MAX_KEY_LENGTH } from "./schema.ts";

export const CONFIG_DOCS_PATH = "docs/configuration.md";
export const CONFIG_EXAMPLE_PATH = "gateway/podgate.example.yaml";
export const REGENERATE_COMMAND = "npx tsx scripts/gen-config-docs.ts";

interface Row {
  readonly key: string;
  readonly type: string;
  readonly dflt: string;
  readonly description: string;
}

function typeText(node: SchemaNode): string {
  switch (node.kind) {
    case "string":
      return node.typeName ?? "string";
    case "integer":
      return `integer ${node.rangeText ?? `${node.min}..${node.max}`}${node.unit ? ` (${node.unit})` : ""}`;
    case "boolean":
      return "boolean";
    case "enum":
      return node.values.map((v) => `\`${v}\``).join(" \\| ");
    case "array":
      return `list of ${typeText(node.items)}`;
    case "object":
      return "mapping";
    case "map":
      return `mapping ${node.keyName} → ${typeText(node.values)}`;
    case "union":
      return node.typeName.replace(/^an? /, "");
  }
}

function defaultText(node: SchemaNode): string {
  if (node.required) return "**required**";
  if (node.defaultDoc) return node.defaultDoc;
  if ("default" in node && node.default !== undefined) return `\`${JSON.stringify(node.default)}\``;
  if (node.kind === "object" && node.defaulted) return "(all defaults)";
  return "unset";
}

function rows(node: SchemaNode, key: string, out: Row[], dflt = defaultText(node)): void {
  // Lists of plain values: say what one value looks like (e.g. the well-known community names).
  const items = node.kind === "array" && node.items.kind === "string" ? node.items.description : "";
  const description =
    items && items !== node.description ? `${node.description} Each item: ${items}` : node.description;
  out.push({ key, type: typeText(node), dflt, description });
  const children = (n: SchemaNode, prefix: string) => {
    if (n.kind === "object") {
      for (const [name, field] of Object.entries(n.fields)) rows(field, `${prefix}.${name}`, out);
    } else if (n.kind === "array") {
      children(n.items, `${prefix}[]`);
    } else if (n.kind === "map") {
      rows(n.values, `${prefix}.<${n.keyName}>`, out, "—");
    } else if (n.kind === "union") {
      // Document the richest shape; the others are named in the type column.
      const rich = n.options.find((o) => o.node.kind === "object");
      if (rich) children(rich.node, prefix);
    }
  };
  children(node, key);
}

const cell = (s: string) => s.replace(/(?<!\\)\|/g, "\\|").replace(/\n/g, " ");

const MINIMAL_EXAMPLE = `routerId: 10.0.0.2
asn: 64512
peers:
  - address: 10.0.0.1
    asn: 64512
`;

/** The whole of docs/configuration.md. `example` is the text of gateway/podgate.example.yaml. */
export function renderConfigDocs(example: string): string {
  const parts: string[] = [];
  parts.push(
    "# podgate configuration reference",
    "",
    `<!-- Generated from src/config/schema.ts by \`${REGENERATE_COMMAND}\`. Do not edit by hand. -->`,
    "",
    "podgate reads one YAML file (`podgate.yaml`). Every key is checked: wrong types, values out of range",
    "and unknown keys (typos) are errors, reported with file, line, column and key path, all at once:",
    "",
    "```text",
    "podgate.yaml:7:11: peers[0].asn: must be an integer 1..4294967295",
    'podgate.yaml:9:5: peers[0].holdtime: unknown key (did you mean "holdTime"?)',
    "```",
    "",
    "Checks that involve several keys (duplicate peers, policy and prefix-list references, password files)",
    "run once every single value is valid. Problems that do not stop podgate (a password file readable by",
    "others, a keepalive longer than a third of the hold time) are returned as warnings",
    "(`loadConfigWithWarnings`).",
    "",
    "## Minimal configuration",
    "",
    "```yaml",
    MINIMAL_EXAMPLE.trimEnd(),
    "```",
    "",
    "## Rules worth knowing",
    "",
    "- AS numbers are plain integers 1..4294967295. asdot (`1.10`) is not accepted: write `65546`",
    "  (high × 65536 + low). 23456 (AS_TRANS, RFC 6793) is refused.",
    "- A peer's `role` defaults to `cluster` when its `asn` equals the top-level `asn` (iBGP with Calico, whose",
    "  default AS is 64512) and to `office` otherwise. `nextHopSelf` defaults to `true` for every role: routes",
    "  podgate passes on (office prefixes to the cluster, cluster routes to the office) must point at the gateway.",
    "- `holdTime` and `connectRetryTime` default to the values under `defaults`. A hold time must be 0 or at",
    "  least 3 seconds (RFC 4271 §4.2). Without `keepaliveTime`, keepalives are sent every third of the",
    "  negotiated hold time.",
    `- Secrets: \`password\` (inline) or \`passwordFile\` (path relative to the config file; one trailing newline`,
    `  removed), never both. The key is at most ${TCP_MD5_MAX_KEY_LENGTH} bytes. Error messages never contain it;`,
    "  `redactConfig()` gives the form to log or display.",
    "- `import`/`export` name a policy under `policies` or a built-in (`accept-all`, `reject-all`). Left unset, the",
    "  role's default applies (RFC 8212: eBGP without policy accepts and announces nothing).",
    "- Prefixes must have zero host bits (`10.244.1.0/16` is an error suggesting `10.244.0.0/16`). In a prefix",
    "  entry, `length ≤ ge ≤ le ≤ 32` (128 for IPv6). Without `ge`/`le` the entry matches the prefix exactly;",
    "  `ge` alone matches up to the family's maximum length; `le` alone matches from the prefix's length.",
    "- A policy is `{terms: [...], default: reject}` or, in short form, just the list of terms (default reject).",
    "",
    "## Keys",
    "",
  );
  for (const [name, node] of Object.entries(configSchema.fields)) {
    const list: Row[] = [];
    rows(node, name, list);
    parts.push(`### \`${name}\``, "", node.description, "");
    parts.push("| Key | Type | Default | Description |", "|---|---|---|---|");
    for (const r of list) {
      parts.push(`| \`${r.key}\` | ${cell(r.type)} | ${cell(r.dflt)} | ${cell(r.description)} |`);
    }
    parts.push("");
  }
  parts.push(
    "## Example: a gateway between three Calico nodes and an office router",
    "",
    `From \`${CONFIG_EXAMPLE_PATH}\` (loaded by the unit tests, so it stays valid):`,
    "",
    "```yaml",
    example.trimEnd(),
    "```",
    "",
  );
  return parts.join("\n");
}
