/**
 * Renderer input: the facts a config snippet for the office router (or a laptop) needs, derived
 * once from podgate's own configuration plus command-line overrides. Renderers under routers/
 * and laptop/ are pure functions of these models, so the same model always gives the same text
 * (golden files in test/golden/render/).
 *
 * Derivation rules (see docs/router-config.md):
 * - the office router is every enabled peer with role "office" (one model each), or the one
 *   named by `peer`;
 * - the gateway's address as the router sees it: `gatewayAddress` option, else the office
 *   peer's localAddress, else routerId (with a note, since routerId need not be an interface
 *   address);
 * - cluster prefixes: `podCidrs`/`serviceCidrs` options, else the prefix lists used by the
 *   office peer's export policy (a list whose name mentions "serv"/"svc" counts as services);
 * - office prefixes (advertised back for the return path): the prefix lists used by the office
 *   peer's import policy.
 */
import { parsePrefix } from "../config/ip.ts";
import type { PeerConfig, PodgateConfig, Policy, PrefixListEntry } from "../config/types.ts";
import { formatIpv4, parseIpv4 } from "../net/ip.ts";

/** Default maximum number of prefixes the router accepts from podgate. */
export const DEFAULT_MAX_PREFIX = 2000;
/** Text rendered in place of the TCP-MD5 key with --no-password. Valid as a key on every vendor. */
export const PASSWORD_PLACEHOLDER = "REPLACE-WITH-TCP-MD5-KEY";
export const DEFAULT_CLUSTER_DOMAIN = "cluster.local";

export class RenderError extends Error {
  override readonly name = "RenderError";
}

/** An IPv4 prefix, split for vendors that want address + mask. */
export interface V4Prefix {
  /** Canonical "a.b.c.d/len". */
  readonly text: string;
  readonly address: string;
  readonly length: number;
  /** Dotted netmask, e.g. 255.255.0.0. */
  readonly mask: string;
}

export interface RouterModel {
  /** Peer name in podgate's config (used in descriptions and object names' comments). */
  readonly peerName: string;
  /** The office router's own address (the peer address in podgate's config). */
  readonly routerAddress: string;
  readonly routerAs: number;
  /** podgate's address toward the router: the BGP neighbor / static next hop. */
  readonly gatewayAddress: string;
  readonly gatewayAs: number;
  /** TCP-MD5 key to render (already replaced by the placeholder when asked); undefined: none. */
  readonly password?: string;
  /** True when `password` is the placeholder. */
  readonly passwordPlaceholder: boolean;
  /** eBGP multihop TTL the router must use too (podgate's peer multihop > 1). */
  readonly multihop?: number;
  /** Pod CIDRs: accepted with any longer length (Calico /26 blocks and /32s). */
  readonly podCidrs: readonly V4Prefix[];
  readonly serviceCidrs: readonly V4Prefix[];
  /** Office prefixes the router announces to podgate (return path); empty: announce nothing. */
  readonly officePrefixes: readonly V4Prefix[];
  readonly maxPrefix: number;
  /** "bgp": a session with filters; "static": static routes to the gateway instead. */
  readonly mode: "bgp" | "static";
  /** OpenWrt static routes: the uci interface the gateway is reached through. */
  readonly openwrtInterface: string;
}

export interface LaptopModel {
  readonly gatewayAddress: string;
  readonly podCidrs: readonly V4Prefix[];
  readonly serviceCidrs: readonly V4Prefix[];
  readonly clusterDomain: string;
  /** Cluster DNS service IP (kube-dns / CoreDNS ClusterIP). */
  readonly dnsServer: string;
}

/** Command-line overrides (every field optional). */
export interface RenderOptions {
  readonly gatewayAddress?: string;
  /** Only this office peer (its address). */
  readonly peer?: string;
  readonly podCidrs?: readonly string[];
  readonly serviceCidrs?: readonly string[];
  readonly officePrefixes?: readonly string[];
  readonly maxPrefix?: number;
  /** Render the placeholder instead of the configured key. */
  readonly noPassword?: boolean;
  readonly static?: boolean;
  readonly openwrtInterface?: string;
  readonly clusterDomain?: string;
  readonly dns?: string;
}

/** A model plus notes for stderr (never containing the secret). */
export interface Derived<T> {
  readonly models: readonly T[];
  readonly notes: readonly string[];
}

function toV4(text: string, what: string): V4Prefix {
  const r = parsePrefix(text);
  if (!r.ok) throw new RenderError(`${what} ${text}: ${r.message}`);
  if (r.prefix.family !== 4) {
    throw new RenderError(`${what} ${text}: only IPv4 prefixes are rendered for now`);
  }
  const [address] = r.prefix.text.split("/") as [string];
  const len = r.prefix.length;
  const mask = formatIpv4(len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);
  return { text: r.prefix.text, address, length: len, mask };
}

function uniq(list: readonly V4Prefix[]): V4Prefix[] {
  const seen = new Set<string>();
  return list.filter((p) => {
    if (seen.has(p.text)) return false;
    seen.add(p.text);
    return true;
  });
}

/** Prefix lists referenced by a policy (named lists and inline entries), permit entries only. */
function policyLists(
  cfg: PodgateConfig,
  policy: Policy,
): Array<{ name: string; entries: PrefixListEntry[] }> {
  const out: Array<{ name: string; entries: PrefixListEntry[] }> = [];
  for (const t of policy.terms) {
    if (t.action !== "accept") continue;
    const m = t.match;
    if (m?.prefixList) {
      const entries = (cfg.prefixLists[m.prefixList] ?? []).filter((e) => e.action === "permit");
      out.push({ name: m.prefixList, entries });
    }
    if (m?.prefixes) {
      out.push({ name: t.name ?? "", entries: m.prefixes.filter((e) => e.action === "permit") });
    }
  }
  return out;
}

function isServiceList(name: string): boolean {
  return /serv|svc/i.test(name);
}

function v4Entries(entries: readonly PrefixListEntry[], what: string): V4Prefix[] {
  return entries.filter((e) => !e.prefix.includes(":")).map((e) => toV4(e.prefix, what));
}

/** Every enabled office peer, or the one given. */
function officePeers(cfg: PodgateConfig, peer: string | undefined): PeerConfig[] {
  if (peer !== undefined) {
    const p = cfg.peers.find((x) => x.address === peer || x.name === peer);
    if (!p) throw new RenderError(`no peer ${peer} in the configuration`);
    return [p];
  }
  const office = cfg.peers.filter((p) => p.role === "office" && p.enabled);
  if (office.length === 0) {
    throw new RenderError('the configuration has no peer with role "office" (the router to configure)');
  }
  return office;
}

function gatewayAddressFor(
  cfg: PodgateConfig,
  peer: PeerConfig | undefined,
  opts: RenderOptions,
  notes: string[],
): string {
  if (opts.gatewayAddress) {
    toV4(`${opts.gatewayAddress}/32`, "--gateway-address");
    return opts.gatewayAddress;
  }
  if (peer?.localAddress) return peer.localAddress;
  notes.push(
    `using routerId ${cfg.routerId} as the gateway's address` +
      (peer ? ` toward ${peer.address} (the peer has no localAddress)` : "") +
      "; pass --gateway-address if that is wrong",
  );
  return cfg.routerId;
}

interface ClusterPrefixes {
  pods: V4Prefix[];
  services: V4Prefix[];
}

function clusterPrefixes(
  cfg: PodgateConfig | undefined,
  peer: PeerConfig | undefined,
  opts: RenderOptions,
): ClusterPrefixes {
  let pods = (opts.podCidrs ?? []).map((p) => toV4(p, "--pod-cidr"));
  let services = (opts.serviceCidrs ?? []).map((p) => toV4(p, "--service-cidr"));
  // The declared address space (config `cluster:`) comes first; prefix lists are the fallback.
  if (pods.length === 0 && services.length === 0 && cfg?.cluster) {
    pods = cfg.cluster.podCIDRs.filter((p) => !p.includes(":")).map((p) => toV4(p, "cluster.podCIDRs"));
    services = cfg.cluster.serviceCIDRs
      .filter((p) => !p.includes(":"))
      .map((p) => toV4(p, "cluster.serviceCIDRs"));
  }
  if (pods.length === 0 && services.length === 0 && cfg && peer?.export) {
    const policy = cfg.policies[peer.export];
    if (policy) {
      for (const l of policyLists(cfg, policy)) {
        const list = v4Entries(l.entries, `prefix list ${l.name}`);
        if (isServiceList(l.name)) services.push(...list);
        else pods.push(...list);
      }
    }
  }
  pods = uniq(pods);
  services = uniq(services);
  if (pods.length === 0 && services.length === 0) {
    throw new RenderError(
      "no cluster prefixes: pass --pod-cidr and/or --service-cidr (or give the office peer an export policy with prefix lists)",
    );
  }
  return { pods, services };
}

/** Passwords are pasted into CLIs: refuse characters some vendor would split, quote or expand. */
function checkPassword(pw: string): void {
  if (!/^[\x21-\x7e]+$/.test(pw) || /["'\\?#;{}$`]/.test(pw)) {
    throw new RenderError(
      "the TCP-MD5 key contains spaces, quotes or characters (? # ; { } $ ` \\) that router CLIs treat specially; " +
        "render with --no-password and enter the key by hand",
    );
  }
}

/** One router model per office peer. Notes say what was assumed; the key is never in them. */
export function buildRouterModels(cfg: PodgateConfig, opts: RenderOptions = {}): Derived<RouterModel> {
  const notes: string[] = [];
  const models = officePeers(cfg, opts.peer).map((peer): RouterModel => {
    const gatewayAddress = gatewayAddressFor(cfg, peer, opts, notes);
    toV4(`${peer.address}/32`, `peer ${peer.name}: address`);
    const { pods, services } = clusterPrefixes(cfg, peer, opts);
    let office: V4Prefix[];
    if (opts.officePrefixes !== undefined) {
      office = opts.officePrefixes.map((p) => toV4(p, "--office-prefix"));
    } else if (cfg.office?.prefixes.length) {
      office = cfg.office.prefixes.filter((p) => !p.includes(":")).map((p) => toV4(p, "office.prefixes"));
    } else {
      office = [];
      const imp = peer.import ? cfg.policies[peer.import] : undefined;
      if (imp)
        for (const l of policyLists(cfg, imp)) office.push(...v4Entries(l.entries, `prefix list ${l.name}`));
    }
    let password: string | undefined;
    if (peer.password !== undefined) {
      password = opts.noPassword ? PASSWORD_PLACEHOLDER : peer.password;
      if (!opts.noPassword) checkPassword(peer.password);
    }
    const maxPrefix = opts.maxPrefix ?? DEFAULT_MAX_PREFIX;
    if (!Number.isInteger(maxPrefix) || maxPrefix < 1)
      throw new RenderError("--max-prefix must be a positive integer");
    const m: RouterModel = {
      peerName: peer.name,
      routerAddress: peer.address,
      routerAs: peer.asn,
      gatewayAddress,
      gatewayAs: cfg.asn,
      passwordPlaceholder: password !== undefined && opts.noPassword === true,
      podCidrs: pods,
      serviceCidrs: services,
      officePrefixes: uniq(office),
      maxPrefix,
      mode: opts.static ? "static" : "bgp",
      openwrtInterface: opts.openwrtInterface ?? "lan",
      ...(password !== undefined ? { password } : {}),
      ...(peer.multihop !== undefined && peer.multihop > 1 ? { multihop: peer.multihop } : {}),
    };
    return m;
  });
  return { models, notes };
}

/** Default cluster DNS: the service CIDR's network address + 10 (kube-dns 10.96.0.10 in 10.96.0.0/12). */
export function defaultDnsServer(serviceCidr: V4Prefix): string {
  return formatIpv4((parseIpv4(serviceCidr.address) + 10) >>> 0);
}

/** The laptop model; `cfg` may be absent when everything comes from options. */
export function buildLaptopModel(
  cfg: PodgateConfig | undefined,
  opts: RenderOptions = {},
): { model: LaptopModel; notes: string[] } {
  const notes: string[] = [];
  let peer: PeerConfig | undefined;
  if (cfg) {
    try {
      peer = officePeers(cfg, opts.peer)[0];
    } catch (e) {
      if (opts.peer !== undefined) throw e;
    }
  }
  let gatewayAddress: string;
  if (cfg) gatewayAddress = gatewayAddressFor(cfg, peer, opts, notes);
  else if (opts.gatewayAddress)
    gatewayAddress = toV4(`${opts.gatewayAddress}/32`, "--gateway-address").address;
  else throw new RenderError("--gateway-address is required without a configuration file");
  const { pods, services } = clusterPrefixes(cfg, peer, opts);
  let dnsServer = opts.dns;
  if (dnsServer === undefined) {
    const svc = services[0];
    if (!svc) throw new RenderError("--dns is required when no service CIDR is known");
    dnsServer = defaultDnsServer(svc);
  } else {
    toV4(`${dnsServer}/32`, "--dns");
  }
  const clusterDomain = (opts.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN).replace(/^\.+|\.+$/g, "");
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(clusterDomain)) {
    throw new RenderError(`--cluster-domain ${clusterDomain}: not a DNS domain name`);
  }
  return {
    model: { gatewayAddress, podCidrs: pods, serviceCidrs: services, clusterDomain, dnsServer },
    notes,
  };
}

/** Pod then service CIDRs, without duplicates. */
export function clusterCidrs(m: {
  podCidrs: readonly V4Prefix[];
  serviceCidrs: readonly V4Prefix[];
}): V4Prefix[] {
  return uniq([...m.podCidrs, ...m.serviceCidrs]);
}
