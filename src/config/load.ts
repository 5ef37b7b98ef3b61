/**
 * Loads podgate.yaml: YAML syntax (with line/column), schema validation (walk.ts over schema.ts),
 * then the rules that span several keys: derived peer defaults (name, role, hold time, ...),
 * duplicate peers, password/passwordFile, policy and prefix-list references. Every problem is
 * collected (not just the first) into one ConfigError; warnings are returned separately by the
 * *WithWarnings variants. Secret values never appear in messages; redactConfig() is the form to
 * log or show.
 */
import { readFileSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { LineCounter, parseDocument } from "yaml";
import { ConfigError, type ConfigIssue } from "./errors.ts";
import { canonicalIp } from "./ip.ts";
import { BUILTIN_POLICIES, configSchema, type Seg, TCP_MD5_MAX_KEY_LENGTH } from "./schema.ts";
import { suggest } from "./suggest.ts";
import type { PeerConfig, PeerRole, PodgateConfig } from "./types.ts";
import { formatPath, INVALID, type Position, type WalkContext, Walker } from "./walk.ts";

export { ConfigError, type ConfigIssue, formatIssue } from "./errors.ts";

export interface LoadResult {
  readonly config: PodgateConfig;
  /** Problems that do not stop the load (e.g. a password file readable by others). */
  readonly warnings: readonly ConfigIssue[];
}

export interface ParseOptions {
  /** Directory that relative passwordFile paths are resolved against. Default: dirname(source). */
  readonly baseDir?: string;
}

/** Read and validate a config file. Throws ConfigError with every problem found (also when unreadable). */
export async function loadConfig(path: string): Promise<PodgateConfig> {
  return (await loadConfigWithWarnings(path)).config;
}

/** loadConfig, also returning the warnings. */
export async function loadConfigWithWarnings(path: string): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new ConfigError(path, [{ path: "", message: `cannot read the configuration file (${code})` }]);
  }
  return parseConfigWithWarnings(text, path, { baseDir: dirname(resolve(path)) });
}

/** Validate config text; `source` names it in messages ("podgate.yaml:7:11: ..."). */
export function parseConfig(text: string, source: string, options: ParseOptions = {}): PodgateConfig {
  return parseConfigWithWarnings(text, source, options).config;
}

export function parseConfigWithWarnings(
  text: string,
  source: string,
  options: ParseOptions = {},
): LoadResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const issues: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];
  const secrets = inlineSecrets(text);
  const at = (offset: number) => {
    const lp = lineCounter.linePos(offset);
    return { line: lp.line, column: lp.col };
  };
  for (const e of doc.errors) issues.push({ path: "", ...at(e.pos[0]), message: scrub(e.message, secrets) });
  // YAML warnings (unknown tags and the like) mean the file does not say what it seems to: errors.
  for (const w of doc.warnings)
    issues.push({ path: "", ...at(w.pos[0]), message: scrub(w.message, secrets) });
  if (issues.length > 0) throw new ConfigError(source, issues);
  if (doc.contents === null) {
    throw new ConfigError(source, [
      { path: "", line: 1, column: 1, message: "the file is empty; it needs at least routerId and asn" },
    ]);
  }

  const ctx: WalkContext = { doc, text, lineCounter, issues, positions: new Map() };
  const raw = new Walker(ctx).walk(doc.contents, configSchema, [], { line: 1, column: 1 });
  if (raw === INVALID || issues.length > 0) throw new ConfigError(source, issues);

  const baseDir = options.baseDir ?? dirname(resolve(source));
  const config = finish(raw as RawConfig, ctx, warnings, baseDir);
  if (issues.length > 0) throw new ConfigError(source, issues);
  return { config: deepFreeze(config), warnings };
}

/** The config with every password replaced by "<redacted>", for status output and logs. */
export function redactConfig(cfg: PodgateConfig): unknown {
  return {
    ...cfg,
    peers: cfg.peers.map((p) => (p.password === undefined ? p : { ...p, password: "<redacted>" })),
  };
}

// ---- cross-key rules ----------------------------------------------------------------------------

type RawPeer = Omit<PeerConfig, "name" | "role" | "holdTime" | "connectRetryTime" | "nextHopSelf"> & {
  name?: string;
  role?: PeerRole;
  holdTime?: number;
  connectRetryTime?: number;
  nextHopSelf?: boolean;
  passwordFile?: string;
};
type RawConfig = Omit<PodgateConfig, "peers"> & { peers: RawPeer[] };

function finish(raw: RawConfig, ctx: WalkContext, warnings: ConfigIssue[], baseDir: string): PodgateConfig {
  const where = (path: readonly Seg[]): Position | undefined => {
    // Derived values have no node of their own: fall back to the closest written ancestor.
    for (let n = path.length; n >= 0; n--) {
      const p = ctx.positions.get(formatPath(path.slice(0, n)));
      if (p) return p;
    }
    return undefined;
  };
  const issue = (list: ConfigIssue[], path: readonly Seg[], message: string) => {
    const p = where(path);
    list.push(
      p
        ? { path: formatPath(path), line: p.line, column: p.column, message }
        : { path: formatPath(path), message },
    );
  };
  const error = (path: readonly Seg[], message: string) => issue(ctx.issues, path, message);
  const warn = (path: readonly Seg[], message: string) => issue(warnings, path, message);

  // Policies and the prefix lists they reference.
  const listNames = Object.keys(raw.prefixLists);
  for (const [name, policy] of Object.entries(raw.policies)) {
    if ((BUILTIN_POLICIES as readonly string[]).includes(name)) {
      error(["policies", name], "is a built-in policy name; choose another name");
    }
    policy.terms.forEach((term, t) => {
      const ref = term.match?.prefixList;
      if (ref !== undefined && !listNames.includes(ref)) {
        error(
          ["policies", name, "terms", t, "match", "prefixList"],
          unknownName("prefix list", ref, listNames),
        );
      }
    });
  }
  const policyNames = [...Object.keys(raw.policies), ...BUILTIN_POLICIES];

  const byAddress = new Map<string, number>();
  const byName = new Map<string, number>();
  const peers = raw.peers.map((p, i): PeerConfig => {
    const at = (...sub: Seg[]): Seg[] => ["peers", i, ...sub];
    const address = canonicalIp(p.address) ?? p.address;
    const prev = byAddress.get(address);
    if (prev !== undefined) {
      error(
        at("address"),
        `duplicate peer address (also peers[${prev}] on line ${where(["peers", prev])?.line})`,
      );
    } else byAddress.set(address, i);

    const name = p.name ?? p.address;
    const prevName = byName.get(name);
    if (prevName !== undefined && prev === undefined) {
      error(
        at(p.name === undefined ? "address" : "name"),
        `duplicate peer name "${name}" (also peers[${prevName}])`,
      );
    } else byName.set(name, i);

    const role: PeerRole = p.role ?? (p.asn === raw.asn ? "cluster" : "office");
    const holdTime = p.holdTime ?? raw.defaults.holdTime;
    if (p.keepaliveTime !== undefined) {
      if (holdTime === 0) warn(at("keepaliveTime"), "is ignored: holdTime 0 disables keepalives");
      else if (p.keepaliveTime >= holdTime)
        error(at("keepaliveTime"), `must be less than holdTime (${holdTime})`);
      else if (p.keepaliveTime > Math.floor(holdTime / 3)) {
        warn(
          at("keepaliveTime"),
          `is more than a third of holdTime (${holdTime}); RFC 4271 §10 suggests one third`,
        );
      }
    }

    let password = p.password;
    if (p.password !== undefined && p.passwordFile !== undefined) {
      error(at("passwordFile"), "set either password or passwordFile, not both");
    } else if (p.passwordFile !== undefined) {
      password = readPasswordFile(resolve(baseDir, p.passwordFile), at("passwordFile"), error, warn);
    }
    if (password !== undefined && Buffer.byteLength(password, "utf8") > TCP_MD5_MAX_KEY_LENGTH) {
      error(
        at(p.passwordFile !== undefined ? "passwordFile" : "password"),
        `the TCP-MD5 key must be at most ${TCP_MD5_MAX_KEY_LENGTH} bytes (Linux TCP_MD5SIG limit)`,
      );
    }

    for (const dir of ["import", "export"] as const) {
      const ref = p[dir];
      if (ref !== undefined && !policyNames.includes(ref))
        error(at(dir), unknownName("policy", ref, policyNames));
    }
    if (p.passive && !raw.listen.enabled) {
      warn(at("passive"), "the session can never come up: listen.enabled is false");
    }
    const { passwordFile: _file, ...rest } = p;
    const peer: PeerConfig = {
      ...rest,
      name,
      role,
      holdTime,
      connectRetryTime: p.connectRetryTime ?? raw.defaults.connectRetryTime,
      nextHopSelf: p.nextHopSelf ?? true,
      ...(password === undefined ? {} : { password }),
    };
    return peer;
  });

  return { ...raw, peers };
}

function unknownName(kind: string, ref: string, known: readonly string[]): string {
  const guess = suggest(ref, known);
  if (guess) return `unknown ${kind} "${ref}" (did you mean "${guess}"?)`;
  return known.length === 0
    ? `unknown ${kind} "${ref}" (none are defined)`
    : `unknown ${kind} "${ref}" (known: ${known.join(", ")})`;
}

function readPasswordFile(
  file: string,
  path: readonly Seg[],
  error: (path: readonly Seg[], m: string) => void,
  warn: (path: readonly Seg[], m: string) => void,
): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "error";
    error(path, `cannot read password file ${file} (${code})`);
    return undefined;
  }
  // Editors add a final newline; the key itself is everything before it.
  const key = text.replace(/\r?\n$/, "");
  if (key === "") {
    error(path, `password file ${file} is empty`);
    return undefined;
  }
  try {
    const mode = statSync(file).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      warn(
        path,
        `password file ${file} is accessible by group or others (mode ${mode.toString(8).padStart(4, "0")}); chmod 600 it`,
      );
    }
  } catch {
    // Read succeeded a moment ago; a failing stat only loses the warning.
  }
  return key;
}

/** Values written after `password:` in the text, so YAML parser messages can be scrubbed of them. */
function inlineSecrets(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/^[\s-]*password\s*:[ \t]*(.+?)[ \t]*$/gm)) {
    const v = m[1]!.replace(/^["']|["']$/g, "");
    // Parser messages may quote the value whole or only a token of it (a tag, an alias name).
    for (const part of [v, ...v.split(/[\s:,[\]{}!&*"']+/)]) if (part.length >= 3) out.push(part);
  }
  return out;
}

function scrub(message: string, secrets: readonly string[]): string {
  let out = message;
  // Longest first, so a whole value is replaced before its tokens.
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join("<redacted>");
  return out;
}

function deepFreeze<T>(v: T): T {
  if (v && typeof v === "object") {
    for (const child of Object.values(v)) deepFreeze(child);
    Object.freeze(v);
  }
  return v;
}
