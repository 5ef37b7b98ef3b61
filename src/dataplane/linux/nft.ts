/**
 * nftables for the gateway: podgate's one table `table inet podgate` holding
 *  - return path `snat`: masquerade office sources toward the cluster (postrouting, srcnat),
 *    so pods see the gateway's cluster-side address and the cluster needs no route back;
 *  - TCP MSS clamping on SYNs between office and cluster (forward, priority mangle), so a
 *    tunnel or a low-MTU pod link (IPIP 1480, VXLAN 1450, Calico veth 1440) does not black-hole
 *    full-size segments when ICMP "fragmentation needed" is filtered somewhere on the path.
 *
 * `renderRuleset()` is pure: desired state in, one nft script out. The script always starts with
 * `add table` + `delete table` and then declares the table afresh, and `nft -f -` runs the whole
 * file as ONE netlink transaction: re-applying is idempotent, a reconfigure replaces the table
 * contents atomically, and a ruleset the kernel refuses leaves the previous table untouched.
 * podgate never reads, changes or flushes any other table (no `flush ruleset`).
 *
 * `NftManager` runs `nft` through execa with an argv array (never a shell), the script on stdin,
 * serialises calls, and keeps a status for the control API. `command` can prefix the argv
 * (`["ip", "netns", "exec", NS, "nft"]`) so tests drive it inside a namespace.
 */
import { execa } from "execa";
import { parsePrefix } from "../../config/ip.ts";
import type { Logger } from "../../core/log.ts";

/** nftables family and name of podgate's table. */
export const NFT_FAMILY = "inet";
export const NFT_TABLE = "podgate";

/**
 * MSS clamping: "off"; "auto" = `rt mtu` (the MTU of the route the packet leaves by, minus the
 * IP and TCP headers: 1400 → 1360 for IPv4, 1340 for IPv6); or a fixed MSS. The kernel only
 * ever LOWERS the option (nft_exthdr keeps an MSS already at or below the new value), so a fixed
 * value is a ceiling.
 */
export type MssClamp = "off" | "auto" | number;

/** RFC 879 default MSS: the smallest value a host must accept; lower is almost surely a typo. */
export const MSS_MIN = 536;
/** Largest MSS an IPv4 packet can carry (65535 − 20 − 20). */
export const MSS_MAX = 65495;

export interface NftDesired {
  /** Office prefixes (IPv4 and IPv6 mixed, "addr/len"). */
  readonly office: readonly string[];
  /** Cluster destinations: pod CIDRs + service CIDRs (IPv4 and IPv6 mixed). */
  readonly cluster: readonly string[];
  /** Masquerade office → cluster (returnPath.mode "snat"). */
  readonly snat: boolean;
  readonly mss: MssClamp;
}

export interface RenderOptions {
  /** Table name (default "podgate"); [a-z0-9_], for tests only. */
  readonly table?: string;
}

interface Families {
  readonly office4: string[];
  readonly office6: string[];
  readonly cluster4: string[];
  readonly cluster6: string[];
}

function tableName(opts?: RenderOptions): string {
  const t = opts?.table ?? NFT_TABLE;
  if (!/^[a-z][a-z0-9_]{0,30}$/.test(t)) throw new Error(`invalid nftables table name ${JSON.stringify(t)}`);
  return t;
}

/** Splits by family, canonicalises (RFC 5952) and dedups; throws on anything but a clean prefix. */
function splitFamilies(d: NftDesired): Families {
  const out = {
    office4: [] as string[],
    office6: [] as string[],
    cluster4: [] as string[],
    cluster6: [] as string[],
  };
  const add = (what: "office" | "cluster", list: readonly string[]) => {
    for (const text of list) {
      // The text ends up inside an nft script: only a strictly parsed prefix may pass.
      const p = parsePrefix(text);
      if (!p.ok) throw new Error(`nft: ${what} prefix ${JSON.stringify(text)}: ${p.message}`);
      const bucket = out[`${what}${p.prefix.family}`];
      if (!bucket.includes(p.prefix.text)) bucket.push(p.prefix.text);
    }
  };
  add("office", d.office);
  add("cluster", d.cluster);
  return out;
}

function checkMss(mss: MssClamp): void {
  if (mss === "off" || mss === "auto") return;
  if (!Number.isInteger(mss) || mss < MSS_MIN || mss > MSS_MAX) {
    throw new Error(
      `nft: mss clamp must be "off", "auto" or an integer ${MSS_MIN}..${MSS_MAX}, got ${String(mss)}`,
    );
  }
}

function setBlock(name: string, family: 4 | 6, elements: readonly string[]): string[] {
  return [
    `\tset ${name} {`,
    `\t\ttype ${family === 4 ? "ipv4_addr" : "ipv6_addr"}`,
    // Office prefixes may overlap (10.10.0.0/16 and 10.10.1.0/24): without auto-merge nft
    // refuses overlapping intervals.
    "\t\tflags interval",
    "\t\tauto-merge",
    `\t\telements = { ${elements.join(", ")} }`,
    "\t}",
  ];
}

/** Number of rules the desired state produces (0 → podgate needs no table at all). */
export function ruleCount(d: NftDesired): number {
  const f = splitFamilies(d);
  const fams = [
    f.office4.length > 0 && f.cluster4.length > 0,
    f.office6.length > 0 && f.cluster6.length > 0,
  ].filter(Boolean).length;
  return fams * ((d.snat ? 1 : 0) + (d.mss !== "off" ? 2 : 0));
}

/** The script that removes podgate's table if it exists (and is a no-op otherwise). */
export function renderRemove(opts?: RenderOptions): string {
  const t = tableName(opts);
  // `delete` alone fails when the table is missing; `add` first makes it exist (a no-op when it
  // does), all in one transaction. (`destroy` would do it but needs nft 1.0.8 / kernel 6.3.)
  return `add table ${NFT_FAMILY} ${t}\ndelete table ${NFT_FAMILY} ${t}\n`;
}

/**
 * The complete nft script for the desired state. A family gets rules only when it has both
 * office prefixes and cluster CIDRs; with no rule at all the script only removes the table.
 */
export function renderRuleset(d: NftDesired, opts?: RenderOptions): string {
  checkMss(d.mss);
  const t = tableName(opts);
  const f = splitFamilies(d);
  const fams: Array<{ fam: 4 | 6; ip: "ip" | "ip6"; office: string[]; cluster: string[] }> = [];
  if (f.office4.length > 0 && f.cluster4.length > 0)
    fams.push({ fam: 4, ip: "ip", office: f.office4, cluster: f.cluster4 });
  if (f.office6.length > 0 && f.cluster6.length > 0)
    fams.push({ fam: 6, ip: "ip6", office: f.office6, cluster: f.cluster6 });
  const head = `# managed by podgate: the whole table is replaced on every apply\n${renderRemove(opts)}`;
  if (fams.length === 0 || (!d.snat && d.mss === "off")) return head;

  const lines: string[] = [`table ${NFT_FAMILY} ${t} {`];
  for (const x of fams) {
    lines.push(...setBlock(`office${x.fam}`, x.fam, x.office), "");
    lines.push(...setBlock(`cluster${x.fam}`, x.fam, x.cluster), "");
  }
  if (d.snat) {
    lines.push("\tchain postrouting {", "\t\ttype nat hook postrouting priority srcnat; policy accept;");
    for (const x of fams) {
      // masquerade: the source becomes the address of the interface toward the pod, whatever
      // it is (and it follows address changes); replies are de-NATed by conntrack.
      lines.push(
        `\t\t${x.ip} saddr @office${x.fam} ${x.ip} daddr @cluster${x.fam} counter masquerade comment "snat${x.fam}"`,
      );
    }
    lines.push("\t}");
  }
  if (d.mss !== "off") {
    if (d.snat) lines.push("");
    const size = d.mss === "auto" ? "rt mtu" : String(d.mss);
    lines.push("\tchain forward {", "\t\ttype filter hook forward priority mangle; policy accept;");
    for (const x of fams) {
      // `tcp flags syn` matches SYN and SYN-ACK: both ends announce an MSS, both are clamped.
      for (const [dir, src, dst] of [
        ["in", "office", "cluster"],
        ["out", "cluster", "office"],
      ] as const) {
        lines.push(
          `\t\t${x.ip} saddr @${src}${x.fam} ${x.ip} daddr @${dst}${x.fam} tcp flags syn counter tcp option maxseg size set ${size} comment "mss${x.fam}-${dir}"`,
        );
      }
    }
    lines.push("\t}");
  }
  lines.push("}");
  return `${head}${lines.join("\n")}\n`;
}

/** Desired state from the config sections that own it (config keys: see docs/dataplane.md). */
export function nftDesiredFromConfig(cfg: {
  readonly cluster: { readonly podCIDRs: readonly string[]; readonly serviceCIDRs: readonly string[] };
  readonly office: { readonly prefixes: readonly string[] };
  readonly returnPath: { readonly mode: "advertise" | "snat" | "none" };
  /** dataplane.mssClamp; "off" when the config has no such key. */
  readonly mssClamp?: MssClamp;
}): NftDesired {
  return {
    office: cfg.office.prefixes,
    cluster: [...cfg.cluster.podCIDRs, ...cfg.cluster.serviceCIDRs],
    snat: cfg.returnPath.mode === "snat",
    mss: cfg.mssClamp ?? "off",
  };
}

export type NftErrorCode = "NFT_NOT_FOUND" | "NFT_REJECTED" | "NFT_TIMEOUT" | "NFT_INVALID";

/** nft failed. `stderr` is nft's own message: it names the script line and marks the column. */
export class NftError extends Error {
  override readonly name = "NftError";
  constructor(
    readonly code: NftErrorCode,
    message: string,
    readonly stderr = "",
    readonly exitCode?: number,
  ) {
    super(message);
  }
}

export interface RunNftOptions {
  /** argv that runs nft (default ["nft"]); e.g. ["ip", "netns", "exec", NS, "nft"]. */
  readonly command?: readonly string[];
  readonly timeoutMs?: number;
}

/**
 * Runs nft with `args`, `input` on stdin; resolves with stdout, or rejects with NftError. The
 * script line nft complains about is in its stderr ("/dev/stdin:12:30-35: Error: …" followed by
 * the line and a caret): the message carries it verbatim.
 */
export async function runNft(
  args: readonly string[],
  input: string | undefined,
  opts: RunNftOptions = {},
): Promise<string> {
  const [file, ...pre] = opts.command ?? ["nft"];
  if (!file) throw new NftError("NFT_INVALID", "nft: empty command");
  const r = await execa(file, [...pre, ...args], {
    ...(input !== undefined ? { input } : { stdin: "ignore" }),
    reject: false,
    timeout: opts.timeoutMs ?? 15_000,
    stripFinalNewline: true,
    env: { LC_ALL: "C" },
  });
  if (r.exitCode === 0 && !r.failed) return r.stdout;
  const cmd = [file, ...pre, ...args].join(" ");
  const err = (r as { code?: string }).code;
  if (err === "ENOENT")
    throw new NftError("NFT_NOT_FOUND", `${file} not found: install nftables (apt-get install nftables)`);
  if (r.timedOut)
    throw new NftError("NFT_TIMEOUT", `${cmd} timed out after ${opts.timeoutMs ?? 15_000} ms`, r.stderr);
  const stderr = r.stderr.trim();
  throw new NftError(
    "NFT_REJECTED",
    `${cmd} failed (exit ${r.exitCode ?? "?"}); nothing was changed:\n${stderr || r.stdout || r.message}`,
    stderr,
    r.exitCode,
  );
}

export interface NftCounter {
  readonly packets: number;
  readonly bytes: number;
}

export interface NftStatus {
  /** "inet podgate". */
  readonly table: string;
  /** What podgate last put in the kernel: "absent" = no table (never applied, removed, or nothing to do). */
  readonly state: "absent" | "applied";
  readonly snat: boolean;
  readonly mss: MssClamp;
  readonly rules: number;
  readonly applies: number;
  readonly errors: number;
  readonly lastApply?: { readonly at: number; readonly ms: number };
  readonly lastError?: { readonly message: string; readonly at: number };
}

export interface NftManagerOptions extends RunNftOptions {
  readonly log: Logger;
  /** Table name (default "podgate"), for tests. */
  readonly table?: string;
}

/**
 * Owns `table inet podgate`. apply() replaces the whole table in one transaction; remove()
 * deletes it. Calls run one at a time, in order.
 */
export class NftManager {
  private queue: Promise<unknown> = Promise.resolve();
  private st: {
    state: "absent" | "applied";
    snat: boolean;
    mss: MssClamp;
    rules: number;
    applies: number;
    errors: number;
    lastApply?: { at: number; ms: number };
    lastError?: { message: string; at: number };
  } = { state: "absent", snat: false, mss: "off", rules: 0, applies: 0, errors: 0 };

  constructor(private readonly opts: NftManagerOptions) {}

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn, fn);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private get table(): string {
    return `${NFT_FAMILY} ${this.opts.table ?? NFT_TABLE}`;
  }

  private fail(e: unknown): never {
    const message = e instanceof Error ? e.message : String(e);
    this.st.errors += 1;
    this.st.lastError = { message, at: Date.now() };
    this.opts.log.error({ table: this.table, err: message }, "nftables apply failed; previous ruleset kept");
    throw e;
  }

  /**
   * Makes the kernel's table match `d` (removes it when `d` yields no rule). Rejects with
   * NftError when nft refuses the script (the previous table stays as it was) and with Error
   * for an invalid desired state (nothing is run).
   */
  apply(d: NftDesired): Promise<void> {
    return this.serial(async () => {
      let script: string;
      let rules: number;
      try {
        script = renderRuleset(d, this.renderOpts());
        rules = ruleCount(d);
      } catch (e) {
        return this.fail(e);
      }
      if (d.snat && rules === 0) {
        this.opts.log.warn(
          { office: d.office.length, cluster: d.cluster.length },
          "returnPath snat: no office prefix and cluster CIDR of the same family; nothing to masquerade",
        );
      }
      const t0 = performance.now();
      try {
        await runNft(["-f", "-"], script, this.opts);
      } catch (e) {
        return this.fail(e);
      }
      const ms = Math.round(performance.now() - t0);
      Object.assign(this.st, {
        state: rules > 0 ? "applied" : "absent",
        snat: d.snat && rules > 0,
        mss: rules > 0 ? d.mss : "off",
        rules,
        applies: this.st.applies + 1,
        lastApply: { at: Date.now(), ms },
      });
      this.opts.log.info(
        { table: this.table, snat: d.snat, mss: d.mss, rules, ms },
        "nftables ruleset applied",
      );
    });
  }

  /** Validates `d` with `nft -c` (the kernel checks it too; nothing is changed). */
  check(d: NftDesired): Promise<void> {
    return this.serial(async () => {
      await runNft(["-c", "-f", "-"], renderRuleset(d, this.renderOpts()), this.opts);
    });
  }

  /** Deletes podgate's table (no error when it does not exist). Other tables are never touched. */
  remove(): Promise<void> {
    return this.serial(async () => {
      try {
        await runNft(["-f", "-"], renderRemove(this.renderOpts()), this.opts);
      } catch (e) {
        return this.fail(e);
      }
      Object.assign(this.st, { state: "absent", snat: false, mss: "off", rules: 0 });
      this.opts.log.info({ table: this.table }, "nftables table removed");
    });
  }

  /** Mirrors dataplane.onShutdown: "keep" leaves the rules for the next start, "remove" deletes them. */
  async shutdown(mode: "keep" | "remove"): Promise<void> {
    if (mode === "remove") await this.remove();
    else await this.serial(async () => undefined);
  }

  /**
   * Packet counters per rule comment ("snat4", "mss6-in" …) read from the kernel; empty when the
   * table does not exist.
   */
  counters(): Promise<Record<string, NftCounter>> {
    return this.serial(async () => {
      let out: string;
      try {
        out = await runNft(
          ["-j", "list", "table", NFT_FAMILY, this.opts.table ?? NFT_TABLE],
          undefined,
          this.opts,
        );
      } catch (e) {
        if (e instanceof NftError && /No such file or directory/.test(e.stderr)) return {};
        throw e;
      }
      return parseCounters(out);
    });
  }

  status(): NftStatus {
    const s = this.st;
    return {
      table: this.table,
      state: s.state,
      snat: s.snat,
      mss: s.mss,
      rules: s.rules,
      applies: s.applies,
      errors: s.errors,
      ...(s.lastApply ? { lastApply: { ...s.lastApply } } : {}),
      ...(s.lastError ? { lastError: { ...s.lastError } } : {}),
    };
  }

  private renderOpts(): RenderOptions {
    return this.opts.table ? { table: this.opts.table } : {};
  }
}

/** Counters from `nft -j list table` output, keyed by rule comment. */
export function parseCounters(json: string): Record<string, NftCounter> {
  const doc = JSON.parse(json) as { nftables?: Array<Record<string, unknown>> };
  const out: Record<string, NftCounter> = {};
  for (const item of doc.nftables ?? []) {
    const rule = item["rule"] as { comment?: string; expr?: Array<Record<string, unknown>> } | undefined;
    if (!rule?.comment) continue;
    for (const e of rule.expr ?? []) {
      const c = e["counter"] as { packets?: number; bytes?: number } | undefined;
      if (c) out[rule.comment] = { packets: c.packets ?? 0, bytes: c.bytes ?? 0 };
    }
  }
  return out;
}
