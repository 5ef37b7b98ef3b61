/**
 * WireGuard site-to-site tunnels, the pure half: the desired state taken from the config, the
 * parser for `wg show IF dump`, the liveness rule, and the planner that turns (desired, observed)
 * into steps and argv arrays. No I/O here: src/dataplane/linux/wireguard.ts runs the steps.
 *
 * The planner never recreates an interface that exists: keys, port, addresses, MTU and peers are
 * all changed in place (`wg set`, `ip addr`, `ip link set`), so a peer-only change keeps the
 * ifindex, the other peers' sessions and every route that points at the interface.
 *
 * Stale sessions: when the far end of a tunnel restarts, the near end keeps encrypting with the
 * old keys, which the restarted end drops; WireGuard only notices after KEEPALIVE_TIMEOUT +
 * REKEY_TIMEOUT (15 s) without a reply, and a responder without an endpoint cannot initiate.
 * `StaleSessionDetector` decides when the near end should drop that session instead (see there).
 */
import { canonicalIp, parseIp, parsePrefix } from "../config/ip.ts";
import { containsCidr, parseCidr } from "../discovery/cidr.ts";

/** Linux IFNAMSIZ − 1. */
export const IFNAME_MAX = 15;
/** WireGuard overhead over IPv6 underlay: 40 (IPv6) + 8 (UDP) + 32 (WireGuard header + tag). */
export const WIREGUARD_OVERHEAD_IPV6 = 80;
/** Default underlay MTU when none can be found. */
export const DEFAULT_UNDERLAY_MTU = 1500;
/** Smallest MTU IPv6 allows (RFC 8200 §5); a tunnel below it cannot carry IPv6. */
export const IPV6_MIN_MTU = 1280;
/**
 * A peer whose latest handshake is older than this is reported down. WireGuard re-handshakes
 * every REKEY_AFTER_TIME (120 s) while traffic flows; 180 s is the usual "gone" heuristic.
 */
export const DEFAULT_HANDSHAKE_TIMEOUT = 180;

/** Interface name: starts with a letter (so it can never look like an option: `--help`). */
export const IFNAME_RE = /^[A-Za-z][A-Za-z0-9_.-]{0,14}$/;

export interface WgPeerDesired {
  /** Base64 Curve25519 public key. */
  readonly publicKey: string;
  /** "host:port" or "[v6]:port"; absent = wait for the peer to connect (responder). */
  readonly endpoint?: string;
  /** Canonical prefixes ("10.200.0.0/30"). */
  readonly allowedIPs: readonly string[];
  /** Seconds; absent = off. */
  readonly persistentKeepalive?: number;
}

export interface WgInterfaceDesired {
  readonly name: string;
  /** Path of a 0600 file holding the base64 private key. Never the key itself. */
  readonly privateKeyFile: string;
  readonly listenPort: number;
  /** Interface addresses with prefix length ("10.200.0.1/30"). */
  readonly address: readonly string[];
  /** Absent: underlay MTU − 80. */
  readonly mtu?: number;
  readonly peers: readonly WgPeerDesired[];
}

export interface WireGuardDesired {
  readonly interfaces: readonly WgInterfaceDesired[];
  /** Seconds without a handshake or received data after which a peer is reported down. */
  readonly handshakeTimeout?: number;
}

/** The `tunnels` config section as the schema produces it. */
export interface TunnelsConfigLike {
  readonly handshakeTimeout: number;
  readonly wireguard: readonly WgInterfaceDesired[];
}

export function wireGuardDesiredFromConfig(t: TunnelsConfigLike): WireGuardDesired {
  return { interfaces: t.wireguard, handshakeTimeout: t.handshakeTimeout };
}

// ---- wg show dump -------------------------------------------------------------------------------

export interface WgPeerDump {
  readonly publicKey: string;
  readonly endpoint?: string;
  readonly allowedIPs: readonly string[];
  /** Unix seconds; 0 = never. */
  readonly latestHandshake: number;
  readonly rxBytes: number;
  readonly txBytes: number;
  readonly persistentKeepalive?: number;
}

export interface WgDump {
  /** The interface's public key (the private key of the dump is dropped on parse). */
  readonly publicKey?: string;
  readonly listenPort: number;
  readonly peers: readonly WgPeerDump[];
}

const none = (s: string | undefined) => (s === undefined || s === "(none)" || s === "off" ? undefined : s);

/**
 * Parses `wg show IF dump`. Line 1: private-key public-key listen-port fwmark; then per peer:
 * public-key preshared-key endpoint allowed-ips latest-handshake rx tx persistent-keepalive.
 * The private and preshared keys are never kept.
 */
export function parseWgDump(text: string): WgDump {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const head = lines[0]?.split("\t");
  if (!head || head.length < 4) throw new Error("wg show dump: unexpected interface line");
  const peers = lines.slice(1).map((l, i): WgPeerDump => {
    const f = l.split("\t");
    if (f.length < 8) throw new Error(`wg show dump: unexpected peer line ${i + 1} (${f.length} fields)`);
    const endpoint = none(f[2]);
    const allowed = none(f[3]);
    const ka = none(f[7]);
    return {
      publicKey: f[0]!,
      ...(endpoint ? { endpoint } : {}),
      allowedIPs: allowed ? allowed.split(",").map(canonicalPrefix) : [],
      latestHandshake: Number(f[4]),
      rxBytes: Number(f[5]),
      txBytes: Number(f[6]),
      ...(ka ? { persistentKeepalive: Number(ka) } : {}),
    };
  });
  const pub = none(head[1]);
  return { ...(pub ? { publicKey: pub } : {}), listenPort: Number(head[2]), peers };
}

/** Canonical prefix text; wg prints host bits as given, so mask leniently. */
export function canonicalPrefix(text: string): string {
  const r = parsePrefix(text);
  if (r.ok) return r.prefix.text;
  const m = /did you mean (\S+)\?/.exec(r.message);
  return m ? m[1]! : text;
}

// ---- status -------------------------------------------------------------------------------------

export type PeerState = "up" | "down";

export interface TunnelPeerStatus {
  readonly publicKey: string;
  readonly endpoint?: string;
  readonly allowedIPs: readonly string[];
  /** ISO time of the latest handshake; absent = never. */
  readonly latestHandshake?: string;
  /** Seconds since the latest handshake; absent = never. */
  readonly handshakeAgeSeconds?: number;
  readonly rxBytes: number;
  readonly txBytes: number;
  readonly state: PeerState;
}

export interface TunnelStatus {
  readonly name: string;
  /** "kernel" module or "userspace" wireguard-go; "absent" when the interface is gone. */
  readonly implementation: "kernel" | "userspace" | "absent";
  readonly publicKey?: string;
  readonly listenPort?: number;
  readonly mtu?: number;
  readonly addresses: readonly string[];
  readonly peers: readonly TunnelPeerStatus[];
  /** Last error applying this tunnel (scrubbed), if any. */
  readonly error?: string;
}

/**
 * A peer is up while something was heard from it within `timeout` seconds: a handshake, or
 * (between two observations) received bytes — persistent keepalives count, so with keepalive
 * on a healthy tunnel stays up under a threshold shorter than the 120 s rekey interval.
 */
export function peerState(
  latestHandshake: number,
  lastReceiveSeen: number | undefined,
  nowSeconds: number,
  timeout: number,
): PeerState {
  const heard = Math.max(latestHandshake, lastReceiveSeen ?? 0);
  if (heard === 0) return "down";
  return nowSeconds - heard <= timeout ? "up" : "down";
}

// ---- stale sessions ------------------------------------------------------------------------------

/** WireGuard (whitepaper §6.1): the initiator retries a handshake after this many seconds. */
export const WG_REKEY_TIMEOUT = 5;
/** WireGuard (whitepaper §6.1): a peer that got data answers within this many seconds. */
export const WG_KEEPALIVE_TIMEOUT = 10;
/**
 * Receive silence (ms) after which a tunnel peer is reset when a BGP session routed over it is
 * not Established while we keep sending to it. A live far end answers a BGP SYN (SYN-ACK or RST)
 * within a round trip, so 1.5 s of silence under a failing connect means the path is broken.
 */
export const STALE_SILENCE_MS = 1500;

/** Addresses of the BGP peers that are not Established, from the speaker's status. */
export function bgpPeersDown(status: {
  readonly peers: readonly { readonly address: string; readonly state: string }[];
}): string[] {
  return status.peers.filter((p) => p.state !== "Established").map((p) => p.address);
}

/** True when `address` (an IP) lies inside `prefix` ("10.244.0.0/16"). */
export function prefixHasAddress(prefix: string, address: string): boolean {
  const net = parseCidr(prefix);
  const ip = parseCidr(address);
  return !!net && !!ip && containsCidr(net, ip);
}

/** The peer whose allowed-ips route `address` (longest match, as WireGuard's cryptokey routing). */
export function wgPeerForAddress<P extends { readonly allowedIPs: readonly string[] }>(
  peers: readonly P[],
  address: string,
): P | undefined {
  const ip = parseCidr(address);
  let best: P | undefined;
  let bestLen = -1;
  for (const p of peers) {
    for (const a of p.allowedIPs) {
      const net = parseCidr(a);
      if (!net || !ip || !containsCidr(net, ip)) continue;
      const len = net.len;
      if (len > bestLen) {
        best = p;
        bestLen = len;
      }
    }
  }
  return best;
}

/** Longest wait between two unanswered resets of one peer (they back off from the silence). */
export const MAX_RESET_INTERVAL_MS = 30_000;
/**
 * Unanswered resets made every STALE_SILENCE_MS before the backoff starts: ~9 s, longer than a
 * gateway restart takes (the far end's podgate starts, then configures its tunnel).
 */
export const FAST_RESETS = 6;

interface StaleState {
  rx: number;
  tx: number;
  /** When rx last grew (or the observation started). */
  rxSince: number;
  /** tx at that moment: sending since then is what makes silence suspicious. */
  txAtRx: number;
  /** Resets in a row that got no answer yet (backoff). */
  resets: number;
  /** A reset was answered: the far end is alive with fresh keys; WireGuard's own timers rule. */
  answered: boolean;
}

/**
 * Decides when a tunnel peer's session is stale: we kept sending (tx grew) and nothing came back
 * (rx flat) for `silenceMs`. Fed with `wg show dump` counters (per "if/publicKey") only while a
 * BGP session routed over the peer is down, so one-way traffic on a healthy tunnel (answered by
 * WireGuard's passive keepalive only after 10 s) is never taken for a dead one.
 *
 *  - After a reset the counters start at 0; the handshake initiation counts as sending. If it is
 *    not answered the peer is reset again after `silenceMs`, FAST_RESETS times, then after 2×,
 *    4×… (at most MAX_RESET_INTERVAL_MS): fast while the far end is coming back, cheap when it is
 *    gone (and WireGuard itself retries each handshake every REKEY_TIMEOUT in between).
 *  - Once a reset is answered (rx grows) the tunnel works and the BGP session is down for
 *    another reason: no further reset until the key stops being watched (`retain`).
 *  - Counters that go down for another reason (the peer was re-added) restart the observation.
 */
export class StaleSessionDetector {
  private readonly seen = new Map<string, StaleState>();

  constructor(private readonly silenceMs = STALE_SILENCE_MS) {}

  /** Records the counters of `key` at `nowMs`; returns true when its session should be reset. */
  observe(key: string, rxBytes: number, txBytes: number, nowMs: number): boolean {
    const prev = this.seen.get(key);
    if (!prev || rxBytes < prev.rx || txBytes < prev.tx) {
      this.seen.set(key, {
        rx: rxBytes,
        tx: txBytes,
        rxSince: nowMs,
        txAtRx: txBytes,
        resets: 0,
        answered: false,
      });
      return false;
    }
    if (rxBytes > prev.rx) {
      const answered = prev.answered || prev.resets > 0;
      this.seen.set(key, { rx: rxBytes, tx: txBytes, rxSince: nowMs, txAtRx: txBytes, resets: 0, answered });
      return false;
    }
    prev.tx = txBytes;
    if (prev.answered || txBytes <= prev.txAtRx) return false;
    const wait = Math.min(
      this.silenceMs * 2 ** Math.max(0, prev.resets - FAST_RESETS),
      MAX_RESET_INTERVAL_MS,
    );
    return nowMs - prev.rxSince >= wait;
  }

  /** The peer was reset at `nowMs` (its counters restart at 0). */
  reset(key: string, nowMs: number): void {
    const prev = this.seen.get(key);
    this.seen.set(key, {
      rx: 0,
      tx: 0,
      rxSince: nowMs,
      txAtRx: 0,
      resets: (prev?.resets ?? 0) + 1,
      answered: false,
    });
  }

  /** Drops every key not in `keep` (peers no longer watched: their BGP sessions are up). */
  retain(keep: ReadonlySet<string>): void {
    for (const k of [...this.seen.keys()]) if (!keep.has(k)) this.seen.delete(k);
  }
}

/**
 * argv that drops a peer's session and adds it back with the same settings in one `wg set` (the
 * peer's routes inside the device are back at once); the next packet to it starts a handshake,
 * and with persistent keepalive on that packet is sent right away.
 */
export function peerResetArgv(ifname: string, peer: WgPeerDesired): string[] {
  const set = stepArgv(ifname, { op: "peer-set", peer });
  return ["wg", "set", ifname, "peer", peer.publicKey, "remove", ...set.slice(3)];
}

// ---- planning -----------------------------------------------------------------------------------

/** What is on the machine for one interface (from `ip -j link/addr` and `wg show dump`). */
export interface WgObserved {
  readonly mtu: number;
  readonly up: boolean;
  /** "10.200.0.1/30" */
  readonly addresses: readonly string[];
  readonly dump: WgDump;
}

export type WgStep =
  | { readonly op: "create" }
  | { readonly op: "private-key" }
  | { readonly op: "listen-port"; readonly port: number }
  | { readonly op: "addr-del"; readonly address: string }
  | { readonly op: "addr-add"; readonly address: string }
  | { readonly op: "mtu-up"; readonly mtu: number }
  | { readonly op: "peer-remove"; readonly publicKey: string }
  | { readonly op: "peer-set"; readonly peer: WgPeerDesired }
  | { readonly op: "delete" };

export interface PlanInput {
  readonly desired: WgInterfaceDesired;
  /** Undefined when the interface does not exist. */
  readonly observed: WgObserved | undefined;
  /** Public key derived from desired.privateKeyFile. */
  readonly desiredPublicKey: string;
  /** The MTU to set (desired.mtu or the derived default). */
  readonly mtu: number;
  /** What this manager last applied (endpoints roam, so they are compared with this). */
  readonly lastApplied?: WgInterfaceDesired;
}

const sameSet = (a: readonly string[], b: readonly string[]) => {
  const x = [...a].sort();
  const y = [...b].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
};

/** Canonical interface address ("10.200.0.1/30"). */
export function canonicalIfAddress(text: string): string {
  const slash = text.indexOf("/");
  const ip = canonicalIp(slash < 0 ? text : text.slice(0, slash));
  return ip ? `${ip}${slash < 0 ? "" : text.slice(slash)}` : text;
}

/** Steps that bring one interface from `observed` to `desired`, in the order they must run. */
export function planInterface(p: PlanInput): WgStep[] {
  const { desired: d, observed: o } = p;
  const steps: WgStep[] = [];
  if (!o) steps.push({ op: "create" });
  if (o?.dump.publicKey !== p.desiredPublicKey) steps.push({ op: "private-key" });
  if (o?.dump.listenPort !== d.listenPort) steps.push({ op: "listen-port", port: d.listenPort });
  const want = d.address.map(canonicalIfAddress);
  const have = (o?.addresses ?? []).map(canonicalIfAddress);
  for (const a of have) if (!want.includes(a)) steps.push({ op: "addr-del", address: a });
  for (const a of want) if (!have.includes(a)) steps.push({ op: "addr-add", address: a });
  if (!o || o.mtu !== p.mtu || !o.up) steps.push({ op: "mtu-up", mtu: p.mtu });

  const wantPeers = new Map(d.peers.map((x) => [x.publicKey, x]));
  const havePeers = new Map((o?.dump.peers ?? []).map((x) => [x.publicKey, x]));
  const last = new Map((p.lastApplied?.peers ?? []).map((x) => [x.publicKey, x]));
  for (const k of havePeers.keys()) if (!wantPeers.has(k)) steps.push({ op: "peer-remove", publicKey: k });
  for (const [k, peer] of wantPeers) {
    const h = havePeers.get(k);
    const prev = last.get(k);
    const changed =
      !h ||
      !sameSet(h.allowedIPs, peer.allowedIPs.map(canonicalPrefix)) ||
      h.persistentKeepalive !== peer.persistentKeepalive ||
      // Endpoints roam (and may be host names): only a change of the configured one counts.
      (peer.endpoint !== undefined && (prev === undefined || prev.endpoint !== peer.endpoint));
    if (changed) steps.push({ op: "peer-set", peer });
  }
  return steps;
}

/**
 * argv for one step (without any `ip netns exec` prefix). `keyFile` is the 0600 temp file the
 * caller wrote the private key to (for the private-key step only).
 */
export function stepArgv(ifname: string, step: WgStep, keyFile?: string): string[] {
  switch (step.op) {
    case "create":
      return ["ip", "link", "add", ifname, "type", "wireguard"];
    case "private-key":
      if (!keyFile) throw new Error("private-key step needs a key file");
      return ["wg", "set", ifname, "private-key", keyFile];
    case "listen-port":
      return ["wg", "set", ifname, "listen-port", String(step.port)];
    case "addr-del":
      return ["ip", "address", "del", step.address, "dev", ifname];
    case "addr-add":
      return ["ip", "address", "add", step.address, "dev", ifname];
    case "mtu-up":
      return ["ip", "link", "set", ifname, "mtu", String(step.mtu), "up"];
    case "peer-remove":
      return ["wg", "set", ifname, "peer", step.publicKey, "remove"];
    case "peer-set": {
      const p = step.peer;
      return [
        "wg",
        "set",
        ifname,
        "peer",
        p.publicKey,
        // Replaces the peer's whole list (no +/-), so removed prefixes go away too.
        "allowed-ips",
        p.allowedIPs.join(","),
        ...(p.endpoint ? ["endpoint", p.endpoint] : []),
        "persistent-keepalive",
        p.persistentKeepalive === undefined ? "off" : String(p.persistentKeepalive),
      ];
    }
    case "delete":
      return ["ip", "link", "del", ifname];
  }
}

/** Default tunnel MTU for an underlay MTU: IPv6-safe overhead, never below the IPv6 minimum. */
export function defaultTunnelMtu(underlayMtu: number | undefined): number {
  return Math.max(IPV6_MIN_MTU, (underlayMtu ?? DEFAULT_UNDERLAY_MTU) - WIREGUARD_OVERHEAD_IPV6);
}

// ---- validation helpers shared with the config schema -------------------------------------------

/** True for base64 text of exactly 32 bytes (a Curve25519 key). Never echo the input. */
export function isWgKey(text: string): boolean {
  if (!/^[A-Za-z0-9+/]{43}=$/.test(text)) return false;
  return Buffer.from(text, "base64").length === 32;
}

/** Splits "host:port" / "[v6]:port"; undefined when malformed. */
export function parseEndpoint(text: string): { host: string; port: number } | undefined {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:[\]\s]+):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  const host = m[1]!;
  if (text.startsWith("[") && parseIp(host)?.family !== 6) return undefined;
  if (!/^[A-Za-z0-9.:-]+$/.test(host)) return undefined;
  return { host, port };
}

/**
 * Replaces every occurrence of the given secrets (private keys) in `text` by "<redacted>", and
 * anything shaped like a `private-key` value in `wg` output as a second line of defence.
 */
export function scrubSecrets(text: string, secrets: Iterable<string>): string {
  let out = text;
  for (const s of secrets) if (s.length >= 8) out = out.split(s).join("<redacted>");
  return out.replace(/(private[-_ ]?key\W+)[A-Za-z0-9+/]{43}=/gi, "$1<redacted>");
}
