/**
 * Validates a parsed YAML node tree against the declarative schema (schema.ts). Works on the
 * nodes, not on plain JS values, so each issue points at the exact key or value (line/column);
 * it also records where every value sits so later cross-key checks can point at lines too.
 * Values of secret fields are never put into messages.
 */
import { type Document, isAlias, isMap, isScalar, isSeq, type LineCounter } from "yaml";
import type { ConfigIssue } from "./errors.ts";
import type {
  ArrayNode,
  IntegerNode,
  MapNode,
  ObjectNode,
  SchemaNode,
  Seg,
  StringNode,
  UnionNode,
} from "./schema.ts";
import { suggest } from "./suggest.ts";

export const INVALID: unique symbol = Symbol("invalid");
type Out = unknown | typeof INVALID;

export interface Position {
  readonly line: number;
  readonly column: number;
}

export interface WalkContext {
  readonly doc: Document;
  readonly text: string;
  readonly lineCounter: LineCounter;
  readonly issues: ConfigIssue[];
  /** formatted path → position of its value (or of the enclosing mapping when defaulted). */
  readonly positions: Map<string, Position>;
}

/** ["peers", 0, "asn"] → "peers[0].asn" */
export function formatPath(path: readonly Seg[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(seg)) out += out === "" ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

export function positionOf(ctx: WalkContext, offset: number): Position {
  const lp = ctx.lineCounter.linePos(offset);
  return { line: lp.line, column: lp.col };
}

/** A YAML node as the walker sees it: any parsed node, or undefined when the key is absent. */
type YNode = unknown;

function nodeStart(node: YNode): number | undefined {
  const r = (node as { range?: [number, number, number] } | null)?.range;
  return r ? r[0] : undefined;
}

function kindText(node: SchemaNode): string {
  switch (node.kind) {
    case "string":
      return node.typeName ? withArticle(node.typeName) : "a string";
    case "integer":
      return `an integer ${node.rangeText ?? `${node.min}..${node.max}`}`;
    case "boolean":
      return "true or false";
    case "enum":
      return `one of: ${node.values.join(", ")}`;
    case "array":
      return "a list";
    case "object":
      return "a mapping";
    case "map":
      return `a mapping of ${node.keyName} → value`;
    case "union":
      return node.typeName;
  }
}

function withArticle(t: string): string {
  if (/^["a-z]/i.test(t) === false) return t;
  if (t.startsWith('"')) return t;
  return /^[aeiouIAEO]/.test(t) ? `an ${t}` : `a ${t}`;
}

export class Walker {
  constructor(private readonly ctx: WalkContext) {}

  private report(path: readonly Seg[], pos: Position | undefined, message: string): void {
    const issue: ConfigIssue = pos
      ? { path: formatPath(path), line: pos.line, column: pos.column, message }
      : { path: formatPath(path), message };
    this.ctx.issues.push(issue);
  }

  private pos(node: YNode, fallback: Position | undefined): Position | undefined {
    const start = nodeStart(node);
    return start === undefined ? fallback : positionOf(this.ctx, start);
  }

  /**
   * Validate `node` (undefined = key absent) at `path`. `here` is the position to use when the
   * node has none (absent keys: the enclosing mapping).
   */
  walk(node: YNode, schema: SchemaNode, path: readonly Seg[], here: Position | undefined): Out {
    let n = node;
    if (isAlias(n)) {
      const target = n.resolve(this.ctx.doc);
      if (!target) {
        this.report(path, this.pos(n, here), "alias refers to no anchor");
        return INVALID;
      }
      n = target;
    }
    const pos = this.pos(n, here);
    this.ctx.positions.set(formatPath(path), pos ?? { line: 1, column: 1 });
    // A key written with no value ("peers:") counts as absent for collections, an error otherwise.
    const isNull = n === undefined || n === null || (isScalar(n) && n.value === null);
    if (isNull) {
      if (n !== undefined && !["array", "map", "object"].includes(schema.kind)) {
        this.report(path, pos, `has no value; must be ${kindText(schema)}`);
        return INVALID;
      }
      return this.absent(schema, path, pos);
    }
    switch (schema.kind) {
      case "string":
        return this.string(n, schema, path, pos);
      case "integer":
        return this.integer(n, schema, path, pos);
      case "boolean":
        if (isScalar(n) && typeof n.value === "boolean") return n.value;
        this.report(path, pos, "must be true or false");
        return INVALID;
      case "enum": {
        if (isScalar(n) && typeof n.value === "string" && schema.values.includes(n.value)) return n.value;
        const guess =
          isScalar(n) && typeof n.value === "string" ? suggest(n.value, schema.values) : undefined;
        this.report(path, pos, `must be ${kindText(schema)}${guess ? ` (did you mean "${guess}"?)` : ""}`);
        return INVALID;
      }
      case "array":
        return this.array(n, schema, path, pos);
      case "object":
        return this.object(n, schema, path, pos);
      case "map":
        return this.map(n, schema, path, pos);
      case "union":
        return this.union(n, schema, path, pos);
    }
  }

  private absent(schema: SchemaNode, path: readonly Seg[], pos: Position | undefined): Out {
    if (schema.required) {
      this.report(path, pos, `is required (${kindText(schema)})`);
      return INVALID;
    }
    if (schema.kind === "object" && schema.defaulted) return this.object(undefined, schema, path, pos);
    if ("default" in schema && schema.default !== undefined) return structuredClone(schema.default);
    return undefined;
  }

  private string(n: YNode, schema: StringNode, path: readonly Seg[], pos: Position | undefined): Out {
    if (!isScalar(n) || typeof n.value !== "string") {
      // Never echo the value; a number or boolean usually just needs quotes.
      const hint = isScalar(n) ? " (put the value in quotes)" : "";
      this.report(path, pos, `must be ${schema.secret ? "a string" : kindText(schema)}${hint}`);
      return INVALID;
    }
    if (n.value === "") {
      this.report(path, pos, "must not be empty");
      return INVALID;
    }
    if (!schema.parse) return n.value;
    const r = schema.parse(n.value);
    if ("error" in r) {
      this.report(path, pos, r.error);
      return INVALID;
    }
    return r.value;
  }

  private integer(n: YNode, schema: IntegerNode, path: readonly Seg[], pos: Position | undefined): Out {
    const v = isScalar(n) ? n.value : undefined;
    if (typeof v !== "number" || !Number.isInteger(v) || v < schema.min || v > schema.max) {
      let hint = "";
      const range = isScalar(n) ? n.range : undefined;
      const raw = range ? this.ctx.text.slice(range[0], range[1]).replace(/^["']|["']$/g, "") : "";
      const asdot = /^(\d+)\.(\d+)$/.exec(raw);
      if (schema.asn && asdot && Number(asdot[1]) <= 65535 && Number(asdot[2]) <= 65535) {
        hint = ` (asdot ${raw} is ${Number(asdot[1]) * 65536 + Number(asdot[2])})`;
      } else if (typeof v === "string" && /^\d+$/.test(v)) {
        hint = " (remove the quotes)";
      }
      this.report(path, pos, `must be ${kindText(schema)}${hint}`);
      return INVALID;
    }
    const err = schema.check?.(v);
    if (err) {
      this.report(path, pos, err);
      return INVALID;
    }
    return v;
  }

  private array(n: YNode, schema: ArrayNode, path: readonly Seg[], pos: Position | undefined): Out {
    if (!isSeq(n)) {
      this.report(path, pos, `must be ${kindText(schema)}`);
      return INVALID;
    }
    const out: unknown[] = [];
    let ok = true;
    n.items.forEach((item, i) => {
      const v = this.walk(item, schema.items, [...path, i], pos);
      if (v === INVALID) ok = false;
      else out.push(v);
    });
    if (!ok) return INVALID;
    if (schema.minItems !== undefined && out.length < schema.minItems) {
      this.report(path, pos, `must have at least ${schema.minItems} item${schema.minItems === 1 ? "" : "s"}`);
      return INVALID;
    }
    if (schema.unique) {
      const seen = new Map<string, number>();
      for (const [i, v] of out.entries()) {
        const key = JSON.stringify(v);
        const first = seen.get(key);
        if (first !== undefined) {
          this.report(
            [...path, i],
            this.pos(n.items[i], pos),
            `duplicate of ${formatPath([...path, first])}`,
          );
          ok = false;
        } else seen.set(key, i);
      }
    }
    return ok ? out : INVALID;
  }

  private object(n: YNode, schema: ObjectNode, path: readonly Seg[], pos: Position | undefined): Out {
    if (n !== undefined && !isMap(n)) {
      this.report(path, pos, `must be ${kindText(schema)}`);
      return INVALID;
    }
    const present = new Map<string, YNode>();
    let ok = true;
    const names = Object.keys(schema.fields);
    for (const pair of n?.items ?? []) {
      const key = isScalar(pair.key) ? pair.key.value : undefined;
      const keyPos = this.pos(pair.key, pos);
      if (typeof key !== "string") {
        this.report(path, keyPos, "keys must be plain names");
        ok = false;
        continue;
      }
      if (!(key in schema.fields)) {
        const guess = suggest(key, names);
        this.report(
          [...path, key],
          keyPos,
          guess
            ? `unknown key (did you mean "${guess}"?)`
            : `unknown key (expected one of: ${names.join(", ")})`,
        );
        ok = false;
        continue;
      }
      // A key without value has pair.value null: keep it distinguishable from an absent key.
      present.set(key, pair.value ?? null);
    }
    const out: Record<string, unknown> = {};
    for (const [name, field] of Object.entries(schema.fields)) {
      const v = this.walk(present.has(name) ? present.get(name) : undefined, field, [...path, name], pos);
      if (v === INVALID) ok = false;
      else if (v !== undefined) out[name] = v;
    }
    if (!ok) return INVALID;
    if (schema.check) {
      const before = this.ctx.issues.length;
      schema.check(out, (sub, message) => {
        const full = [...path, ...sub];
        this.report(full, this.ctx.positions.get(formatPath(full)) ?? pos, message);
      });
      if (this.ctx.issues.length > before) return INVALID;
    }
    return schema.transform ? schema.transform(out) : out;
  }

  private map(n: YNode, schema: MapNode, path: readonly Seg[], pos: Position | undefined): Out {
    if (!isMap(n)) {
      this.report(path, pos, `must be ${kindText(schema)}`);
      return INVALID;
    }
    const out: Record<string, unknown> = {};
    let ok = true;
    for (const pair of n.items) {
      const key = isScalar(pair.key) ? pair.key.value : undefined;
      if (typeof key !== "string" || key === "") {
        this.report(path, this.pos(pair.key, pos), `each ${schema.keyName} must be a non-empty string`);
        ok = false;
        continue;
      }
      const v = this.walk(pair.value ?? null, schema.values, [...path, key], this.pos(pair.key, pos));
      if (v === INVALID) ok = false;
      else out[key] = v;
    }
    return ok ? out : INVALID;
  }

  private union(n: YNode, schema: UnionNode, path: readonly Seg[], pos: Position | undefined): Out {
    const shape = isSeq(n) ? "seq" : isMap(n) ? "map" : "scalar";
    const option = schema.options.find((o) => {
      const k = o.node.kind;
      return shape === "seq"
        ? k === "array"
        : shape === "map"
          ? k === "object" || k === "map"
          : !["array", "object", "map"].includes(k);
    });
    if (!option) {
      this.report(path, pos, `must be ${schema.typeName}`);
      return INVALID;
    }
    const v = this.walk(n, option.node, path, pos);
    if (v === INVALID) return INVALID;
    return option.transform ? option.transform(v) : v;
  }
}
