/**
 * Calico label selectors (the subset used for node selection): `all()`, `has(k)`, `k == 'v'`,
 * `k != 'v'`, `k in {'a','b'}`, `k not in {...}`, `!`, `&&`, `||`, parentheses. Parsed once into
 * a predicate over a label map. Unknown syntax throws SelectorError with the position, so a
 * typo in `--node-selector` is an error, not a selector that silently matches nothing.
 */

export type Labels = Readonly<Record<string, string>>;
export type Selector = (labels: Labels) => boolean;

export class SelectorError extends Error {
  constructor(
    readonly selector: string,
    readonly position: number,
    message: string,
  ) {
    super(`selector ${JSON.stringify(selector)} at ${position}: ${message}`);
    this.name = "SelectorError";
  }
}

type Tok = { t: "id" | "str" | "op"; v: string; pos: number };

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (["==", "!=", "&&", "||"].includes(two)) {
      out.push({ t: "op", v: two, pos: i });
      i += 2;
      continue;
    }
    if ("(){},!".includes(c)) {
      out.push({ t: "op", v: c, pos: i });
      i++;
      continue;
    }
    if (c === "'" || c === '"') {
      const end = src.indexOf(c, i + 1);
      if (end < 0) throw new SelectorError(src, i, "unterminated string");
      out.push({ t: "str", v: src.slice(i + 1, end), pos: i });
      i = end + 1;
      continue;
    }
    const m = /^[A-Za-z0-9_./-]+/.exec(src.slice(i));
    if (!m) throw new SelectorError(src, i, `unexpected ${JSON.stringify(c)}`);
    out.push({ t: "id", v: m[0], pos: i });
    i += m[0].length;
  }
  return out;
}

export function parseSelector(src: string): Selector {
  const toks = tokenize(src);
  let p = 0;
  const peek = () => toks[p];
  const fail = (msg: string): never => {
    throw new SelectorError(src, peek()?.pos ?? src.length, msg);
  };
  const expect = (v: string) => {
    const t = peek();
    if (!t || t.v !== v || t.t === "str") fail(`expected ${JSON.stringify(v)}`);
    p++;
  };
  const str = (): string => {
    const t = peek();
    if (t?.t !== "str") return fail("expected a quoted value");
    p++;
    return t.v;
  };
  const set = (): Set<string> => {
    expect("{");
    const vals = new Set<string>();
    if (peek()?.v !== "}") {
      vals.add(str());
      while (peek()?.v === ",") {
        p++;
        vals.add(str());
      }
    }
    expect("}");
    return vals;
  };
  const primary = (): Selector => {
    const t = peek();
    if (!t) return fail("unexpected end");
    if (t.t === "op" && t.v === "!") {
      p++;
      const inner = primary();
      return (l) => !inner(l);
    }
    if (t.t === "op" && t.v === "(") {
      p++;
      const inner = or();
      expect(")");
      return inner;
    }
    if (t.t !== "id") return fail("expected a label or function");
    p++;
    if ((t.v === "all" || t.v === "has") && peek()?.v === "(") {
      p++;
      if (t.v === "all") {
        expect(")");
        return () => true;
      }
      const key = peek();
      if (key?.t !== "id") return fail("expected a label key");
      p++;
      expect(")");
      return (l) => Object.hasOwn(l, key.v);
    }
    const key = t.v;
    const op = peek();
    if (op?.v === "==" || op?.v === "!=") {
      p++;
      const v = str();
      return op.v === "==" ? (l) => l[key] === v : (l) => l[key] !== v;
    }
    if (op?.t === "id" && op.v === "in") {
      p++;
      const vals = set();
      return (l) => Object.hasOwn(l, key) && vals.has(l[key]!);
    }
    if (op?.t === "id" && op.v === "not" && toks[p + 1]?.v === "in") {
      p += 2;
      const vals = set();
      return (l) => !Object.hasOwn(l, key) || !vals.has(l[key]!);
    }
    return fail("expected ==, !=, in or not in");
  };
  const and = (): Selector => {
    let left = primary();
    while (peek()?.v === "&&") {
      p++;
      const l0 = left;
      const r = primary();
      left = (l) => l0(l) && r(l);
    }
    return left;
  };
  const or = (): Selector => {
    let left = and();
    while (peek()?.v === "||") {
      p++;
      const l0 = left;
      const r = and();
      left = (l) => l0(l) || r(l);
    }
    return left;
  };
  if (toks.length === 0) return () => true; // Calico treats an empty selector as all().
  const sel = or();
  if (p < toks.length) fail("unexpected trailing input");
  return sel;
}
