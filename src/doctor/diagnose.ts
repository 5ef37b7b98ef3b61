/**
 * `podgate doctor`'s checks: a pure function from what was gathered (daemon status and routes,
 * sysctls, links, optional ping probes, optional config facts) to findings that each say what
 * is wrong, why it matters and how to fix it. Nothing here touches the system; src/doctor/cli.ts
 * gathers the input. docs/troubleshooting.md explains every finding id.
 */
import type { PeerStatus, RouteJson, RoutesJson, StatusJson } from "../api/types.ts";
import { containsCidr, formatAddr, parseCidr } from "../discovery/cidr.ts";

export type Severity = "ok" | "info" | "warning" | "error";

export interface Finding {
  /** Stable id ("ip-forward-v4", "peer-down:10.0.0.1", ...): scripts may key on it. */
  readonly id: string;
  readonly severity: Severity;
  readonly what: string;
  readonly why: string;
  readonly fix: string;
}

export interface DoctorLink {
  readonly name: string;
  readonly mtu: number;
  /** Peer addresses whose route leaves by this link (from `ip route get`), when known. */
  readonly toward?: readonly string[];
}

export interface ProbeResult {
  /** The route (block) the target stands for. */
  readonly prefix: string;
  readonly target: string;
  readonly ok: boolean;
  readonly rttMs?: number;
}

/** Config facts the status API does not carry (from --config, when readable). */
export interface DoctorConfig {
  readonly returnPath?: "advertise" | "snat" | "none";
  readonly officePrefixes?: readonly string[];
  readonly serviceCIDRs?: readonly string[];
  /** dataplane.mssClamp as in the config: "off" | "auto" | "1360". */
  readonly mssClamp?: string;
  readonly dataplaneEnabled?: boolean;
  /** Per peer: whether a TCP-MD5 password is configured, whether it is passive. Never the key. */
  readonly peers?: readonly {
    readonly address: string;
    readonly password: boolean;
    readonly passive?: boolean;
  }[];
}

export interface DoctorInput {
  /** Absent when the daemon could not be reached; the local checks still run. */
  readonly status?: StatusJson;
  readonly routes?: RoutesJson;
  /** Why the daemon was not reached (adds an error finding). */
  readonly apiError?: string;
  /** sysctl key (dotted, interface names verbatim) → value; a missing key was not readable. */
  readonly sysctls: Readonly<Record<string, string>>;
  readonly links: readonly DoctorLink[];
  readonly probes?: readonly ProbeResult[];
  readonly config?: DoctorConfig;
}

/** The documented shapes of status.dataplane (KernelSyncStatus) and status.nftables (NftStatus), read defensively. */
interface DataplaneView {
  readonly failed?: number;
  readonly conflicts?: number;
  readonly lastError?: { readonly prefix?: string; readonly code?: string };
}
interface NftView {
  readonly state?: string;
  readonly snat?: boolean;
  readonly mss?: string | number;
  readonly lastError?: { readonly message?: string };
}

const SEVERITY_ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2, ok: 3 };

/** Links whose MTU below 1500 comes from encapsulation (tunnels and overlay devices). */
const TUNNEL_LINK = /^(wg|tunl|vxlan|flannel|ipip|gre|tun|cilium_vxlan|genev)/;

/** At most this many items named in one finding's text. */
const LIST_MAX = 8;

function listText(items: readonly string[]): string {
  const shown = items.slice(0, LIST_MAX).join(", ");
  return items.length > LIST_MAX ? `${shown} and ${items.length - LIST_MAX} more` : shown;
}

function obj<T>(v: unknown): T | undefined {
  return v !== null && typeof v === "object" ? (v as T) : undefined;
}

// ---- address helpers (containment checks on documented prefixes; text via src/net/ip.ts) ------

interface Net {
  readonly v6: boolean;
  readonly base: bigint;
  readonly len: number;
}

/** A prefix (a bare address is a host prefix) with its host bits cleared; undefined when malformed. */
export function parseNet(prefix: string): Net | undefined {
  const c = parseCidr(prefix);
  return c && { v6: c.family === 6, base: c.addr, len: c.len };
}

/** inner lies inside outer (same family, at least as long). */
export function within(inner: string, outer: string): boolean {
  const i = parseCidr(inner);
  const o = parseCidr(outer);
  return i !== undefined && o !== undefined && containsCidr(o, i);
}

/**
 * Probe targets: one address per best cluster route — the first address of a block (Calico's
 * `.1` of a /26), the address itself for a /32 (/128). Local routes and routes inside the
 * service CIDRs (ClusterIPs rarely answer ping) are skipped; at most `max` targets.
 */
export function probeTargets(
  routes: RoutesJson,
  opts: {
    readonly max?: number;
    readonly serviceCIDRs?: readonly string[];
    readonly skip?: readonly string[];
  } = {},
): { prefix: string; target: string }[] {
  const max = opts.max ?? 32;
  const out: { prefix: string; target: string }[] = [];
  const seen = new Set<string>();
  for (const r of routes.routes) {
    if (out.length >= max) break;
    if (!r.best || r.source === "local" || seen.has(r.prefix)) continue;
    if ((opts.serviceCIDRs ?? []).some((s) => within(r.prefix, s))) continue;
    if ((opts.skip ?? []).some((s) => within(r.prefix, s))) continue;
    const n = parseNet(r.prefix);
    if (!n) continue;
    const bits = n.v6 ? 128 : 32;
    // A block shorter than /16 (/112) is an aggregate, not a block with a live first address.
    if (n.len < (n.v6 ? 112 : 16)) continue;
    seen.add(r.prefix);
    out.push({
      prefix: r.prefix,
      target: formatAddr(n.v6 ? 6 : 4, n.len >= bits - 1 ? n.base : n.base + 1n),
    });
  }
  return out;
}

// ---- checks -------------------------------------------------------------------------------

function usesIpv6(input: DoctorInput): boolean {
  return (
    (input.routes?.routes ?? []).some((r) => r.family === "ipv6") ||
    (input.status?.peers ?? []).some((p) => p.address.includes(":") || (p.families ?? []).includes("ipv6")) ||
    (input.config?.officePrefixes ?? []).some((p) => p.includes(":"))
  );
}

function checkForwarding(input: DoctorInput): Finding[] {
  const out: Finding[] = [];
  const v4 = input.sysctls["net.ipv4.ip_forward"];
  if (v4 === undefined) {
    out.push({
      id: "ip-forward-v4",
      severity: "info",
      what: "net.ipv4.ip_forward could not be read",
      why: "without forwarding the gateway's routes serve only itself; /proc/sys may be hidden in a container",
      fix: "check on the host: sysctl net.ipv4.ip_forward",
    });
  } else if (v4 !== "1") {
    out.push({
      id: "ip-forward-v4",
      severity: "error",
      what: `IPv4 forwarding is off (net.ipv4.ip_forward = ${v4})`,
      why: "the gateway drops every office packet to a pod instead of forwarding it; its own pings work, the laptop's do not",
      fix: "sysctl -w net.ipv4.ip_forward=1 (persist in /etc/sysctl.d/), or set dataplane.sysctl: set",
    });
  } else {
    out.push({
      id: "ip-forward-v4",
      severity: "ok",
      what: "IPv4 forwarding is on",
      why: "",
      fix: "",
    });
  }
  const v6 = input.sysctls["net.ipv6.conf.all.forwarding"];
  if (v6 !== undefined && v6 !== "1") {
    const inUse = usesIpv6(input);
    out.push({
      id: "ip-forward-v6",
      severity: inUse ? "error" : "info",
      what: `IPv6 forwarding is off (net.ipv6.conf.all.forwarding = ${v6})`,
      why: inUse
        ? "IPv6 routes or peers are in use and the gateway will not forward IPv6 packets"
        : "no IPv6 route or peer is in use, so nothing is lost yet",
      fix: "sysctl -w net.ipv6.conf.all.forwarding=1, or set dataplane.sysctl: set",
    });
  } else if (v6 === "1") {
    out.push({ id: "ip-forward-v6", severity: "ok", what: "IPv6 forwarding is on", why: "", fix: "" });
  }
  return out;
}

function checkRpFilter(input: DoctorInput): Finding[] {
  const all = Number(input.sysctls["net.ipv4.conf.all.rp_filter"] ?? "0");
  // Interfaces toward a peer when known, otherwise every link except loopback.
  const toward = input.links.filter((l) => (l.toward ?? []).length > 0);
  const candidates = (toward.length > 0 ? toward : input.links).filter((l) => l.name !== "lo");
  const strict: string[] = [];
  for (const l of candidates) {
    const own = input.sysctls[`net.ipv4.conf.${l.name}.rp_filter`];
    // The kernel uses max(all, interface): 2 (loose) anywhere wins over 1.
    const effective = Math.max(all, Number(own ?? "0"));
    if (effective === 1) strict.push(l.toward?.length ? `${l.name} (toward ${listText(l.toward)})` : l.name);
  }
  if (strict.length === 0 && candidates.length === 0 && all === 1) strict.push("all");
  if (strict.length === 0) {
    return [
      {
        id: "rp-filter",
        severity: "ok",
        what: "no strict rp_filter on the gateway's links",
        why: "",
        fix: "",
      },
    ];
  }
  return [
    {
      id: "rp-filter",
      severity: "warning",
      what: `strict reverse-path filtering (rp_filter=1) on ${listText(strict)}`,
      why: "strict mode drops a packet whose source is routed back out another interface; through a cluster replies often return by another node or tunnel (ECMP, CrossSubnet, failover), so they vanish silently",
      fix: "sysctl -w net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.default.rp_filter=2 (loose: still drops sources with no route at all), or dataplane.sysctl: set",
    },
  ];
}

function effectiveMss(input: DoctorInput): string | undefined {
  const nft = obj<NftView>(input.status?.nftables);
  if (nft?.mss !== undefined) return String(nft.mss);
  if (input.config?.mssClamp !== undefined) return input.config.mssClamp;
  // A reachable daemon without nftables status clamps nothing.
  return input.status ? "off" : undefined;
}

function checkMtu(input: DoctorInput): Finding[] {
  const small = input.links.filter((l) => l.name !== "lo" && l.mtu > 0 && l.mtu < 1500);
  if (small.length === 0) return [];
  const names = small.map((l) => `${l.name} (${l.mtu})`);
  const mss = effectiveMss(input);
  const tunnels = small.filter((l) => TUNNEL_LINK.test(l.name) || (l.toward ?? []).length > 0);
  if (mss !== undefined && mss !== "off") {
    return [
      {
        id: "mtu-mss",
        severity: "ok",
        what: `links with MTU below 1500 (${listText(names)}), TCP MSS clamped (${mss})`,
        why: "",
        fix: "",
      },
    ];
  }
  return [
    {
      id: "mtu-mss",
      severity: tunnels.length > 0 || mss === "off" ? "warning" : "info",
      what: `MTU below 1500 on ${listText(names)} and TCP MSS clamping is ${mss ?? "unknown"}`,
      why: "office hosts send 1500-byte packets; when the ICMP 'fragmentation needed' is filtered, small requests work while large responses (TLS handshakes, file downloads) hang — a PMTU black hole",
      fix: "set dataplane.mssClamp: auto (clamps TCP MSS to the path MTU on forwarded SYNs) and reload",
    },
  ];
}

function clusterLabel(p: PeerStatus): string {
  return p.name && p.name !== p.address ? `${p.name} ${p.address}` : p.address;
}

function peerFinding(p: PeerStatus, input: DoctorInput, peers: readonly PeerStatus[]): Finding {
  const status = input.status as StatusJson;
  const text = `${p.info ?? ""} ${p.lastError ?? ""}`;
  const cfg = input.config?.peers?.find((c) => c.address === p.address);
  const label = `${p.role} peer ${clusterLabel(p)} (AS ${p.asn}) is ${p.state}`;
  const sameRoleUp = peers.some((o) => o !== p && o.role === p.role && o.state === "Established");
  const severity: Severity = sameRoleUp ? "warning" : "error";
  const id = `peer-down:${p.address}`;
  const detail = p.lastError ?? p.info;
  const calicoSide = p.role === "cluster";
  if (/Connection refused/i.test(text)) {
    return {
      id,
      severity,
      what: `${label}: connection refused`,
      why: "the peer answered the TCP SYN with RST: nothing listens on port 179 there, the address or port is wrong, or (BIRD) no neighbor is configured for the gateway's address",
      fix: calicoSide
        ? "check the peer address; on the Calico side a BGPPeer for the gateway must exist: podgate render calico --gateway-ip <this gateway> | kubectl apply -f -"
        : "check the peer address and port, and that the router has a neighbor statement for the gateway's address",
    };
  }
  const badAs = /bad peer AS (\d+), expected (\d+)/i.exec(text);
  if (/Bad Peer AS/i.test(text)) {
    // Texts seen: "Sent NOTIFICATION …", "NOTIFICATION sent: …", "… (last NOTIFICATION received: …)".
    const received =
      /Received NOTIFICATION|NOTIFICATION received/i.test(text) &&
      !/Sent NOTIFICATION|NOTIFICATION sent/i.test(text);
    const what = badAs
      ? `${label}: AS mismatch — the peer says AS ${badAs[1]}, podgate expects AS ${badAs[2]}`
      : received
        ? `${label}: AS mismatch — the peer does not expect podgate's AS ${status.asn}`
        : `${label}: AS mismatch — the peer's OPEN does not carry AS ${p.asn}`;
    const fix = badAs
      ? `set this peer's asn to ${badAs[1]} in podgate.yaml, or make the peer use AS ${badAs[2]}`
      : received
        ? calicoSide
          ? `the BGPPeer for the gateway must have asNumber: ${status.asn} (podgate render calico --asn ${status.asn})`
          : `the router's neighbor statement for the gateway must say remote-as ${status.asn}`
        : `check the peer's AS: podgate expects ${p.asn} (peers[].asn); calico-node uses the BGPConfiguration asNumber (default 64512)`;
    return {
      id,
      severity,
      what,
      why: "RFC 4271 §6.2: an OPEN from an unexpected AS is refused with OPEN Message Error/Bad Peer AS, the session never comes up",
      fix,
    };
  }
  if (/Hold timer expired/i.test(text)) {
    return {
      id,
      severity,
      what: `${label}: hold timer expired (${detail})`,
      why: "no KEEPALIVE or UPDATE arrived within the hold time: the peer process is frozen or overloaded, or packets are lost on the path (a full-size UPDATE lost to an MTU black hole, a firewall dropping established flows)",
      fix: "check the peer process and the path: ping with large packets (ping -M do -s 1472 <peer>), look for MTU/firewall problems, compare holdTime on both sides",
    };
  }
  if (/timed out|ETIMEDOUT/i.test(text)) {
    if (cfg?.password) {
      return {
        id,
        severity,
        what: `${label}: connection timed out, and a TCP-MD5 password is configured`,
        why: "TCP-MD5 mismatch is likely: with a wrong or one-sided key the kernel drops the segments silently, so the SYN is never answered (no RST, no log in the BGP daemon)",
        fix: "compare the password on both sides (Calico: BGPPeer password.secretKeyRef); on both hosts `nstat -az | grep -i md5` shows TcpExtTCPMD5Unexpected / TCPMD5NotFound / TCPMD5Failure rising; see docs/tcp-md5.md",
      };
    }
    return {
      id,
      severity,
      what: `${label}: connection timed out`,
      why: "SYNs to port 179 get no answer: a firewall drops them, the address is wrong or unreachable, or the peer has a TCP-MD5 password that podgate does not",
      fix: "check reachability (ping, `nc -vz <peer> 179`), firewalls on both sides, and whether the peer expects a password",
    };
  }
  if (/No route to host|Network unreachable/i.test(text)) {
    return {
      id,
      severity,
      what: `${label}: ${detail}`,
      why: "the gateway has no route to the peer or the peer does not answer ARP on the local link",
      fix: `check ip route get ${p.address} and the link toward it`,
    };
  }
  if (/Bad BGP Identifier/i.test(text)) {
    return {
      id,
      severity,
      what: `${label}: bad BGP identifier`,
      why: "both sides use the same router ID (iBGP) or the peer sent 0.0.0.0",
      fix: `give podgate a unique routerId (now ${status.routerId})`,
    };
  }
  if (/NOTIFICATION/.test(text)) {
    return {
      id,
      severity,
      what: `${label}: ${detail}`,
      why: "a NOTIFICATION ended the session; its code says which side objected and why",
      fix: "read the NOTIFICATION above and the peer's log; docs/troubleshooting.md lists the common ones",
    };
  }
  if (/closed by peer|Connection reset|Connection closed/i.test(text)) {
    return {
      id,
      severity,
      what: `${label}: the peer closes the connection (${detail})`,
      why: "the peer accepts TCP but drops the session: it has no neighbor for the gateway's address (BIRD/FRR close unknown neighbors), or it rejected our OPEN",
      fix: calicoSide
        ? "make sure a BGPPeer covers this node (podgate render calico) and look at `calicoctl node status` / the calico-node log on that node"
        : "check the router's neighbor statement for the gateway and its log",
    };
  }
  if (p.state === "Active" || p.state === "Connect" || p.state === "Idle") {
    if (p.info === "Disabled") {
      return { id, severity: "info", what: `${label}: disabled in the config`, why: "", fix: "" };
    }
    const passive = cfg?.passive ?? /Waiting for the peer/i.test(text);
    return {
      id,
      severity,
      what: `${label} with no error: ${passive ? "podgate waits for the peer to connect" : "no connection ever completes"}`,
      why: passive
        ? "podgate is passive for this peer; if the peer is passive too (BIRD `passive on`, FRR `neighbor passive`) nobody ever opens the connection"
        : "the peer never connects and never answers: both sides may be passive, or the peer does not know the gateway yet",
      fix: passive
        ? "make one side active (remove `passive: true` here or on the peer)"
        : calicoSide
          ? "check the BGPPeer for the gateway exists and selects this node (podgate render calico)"
          : "check the peer's neighbor config for the gateway's address",
    };
  }
  return {
    id,
    severity,
    what: `${label}${detail ? `: ${detail}` : ""}`,
    why: "the session is between OPEN and Established; it should pass within seconds",
    fix: "run doctor again; if it stays, compare capabilities and hold time with the peer's log",
  };
}

function checkPeers(input: DoctorInput): Finding[] {
  const status = input.status;
  if (!status) return [];
  const peers = status.peers;
  if (peers.length === 0) {
    return [
      {
        id: "peers",
        severity: "warning",
        what: "no BGP peers are configured",
        why: "podgate learns and advertises nothing without peers",
        fix: "add peers: to podgate.yaml, or enable kubernetes.peers to peer with every node",
      },
    ];
  }
  const out: Finding[] = [];
  const up = peers.filter((p) => p.state === "Established");
  for (const p of peers) if (p.state !== "Established") out.push(peerFinding(p, input, peers));
  if (up.length === 0) {
    out.unshift({
      id: "no-established-peers",
      severity: "error",
      what: `no BGP session is Established (0 of ${peers.length})`,
      why: "the gateway learns no cluster routes and advertises nothing to the office",
      fix: "see the peer findings below for each session's likely cause",
    });
  } else {
    out.push({
      id: "peers",
      severity: "ok",
      what: `${up.length} of ${peers.length} BGP sessions Established`,
      why: "",
      fix: "",
    });
  }
  return out;
}

function checkKernel(input: DoctorInput): Finding[] {
  const routes = input.routes?.routes ?? [];
  const dp = obj<DataplaneView>(input.status?.dataplane);
  if (!dp && input.config?.dataplaneEnabled !== true) return [];
  const out: Finding[] = [];
  const missing = routes
    .filter((r) => r.best && r.source !== "local" && r.installed === false)
    .map((r) => r.prefix);
  const uniq = [...new Set(missing)];
  const last = dp?.lastError
    ? ` Last kernel error: ${dp.lastError.code ?? "?"} on ${dp.lastError.prefix ?? "?"}.`
    : "";
  if (uniq.length > 0) {
    out.push({
      id: "kernel-not-installed",
      severity: "error",
      what: `${uniq.length} best route(s) are in the Loc-RIB but not in the kernel: ${listText(uniq)}`,
      why: `the gateway knows the route but forwards nothing for it.${last}`,
      fix: "ENETUNREACH/EHOSTUNREACH: the next hop is not on a connected network (nodes on another subnet: set tunnels.ipip, see docs/ipip.md; or use nextHopMode); EEXIST/conflicts: another route holds the prefix; check `ip route show proto 201` (podgate's protocol)",
    });
  } else if (routes.some((r) => r.installed === true)) {
    out.push({
      id: "kernel-not-installed",
      severity: "ok",
      what: "every best route is installed in the kernel",
      why: "",
      fix: "",
    });
  }
  if ((dp?.conflicts ?? 0) > 0) {
    out.push({
      id: "kernel-conflicts",
      severity: "warning",
      what: `${dp?.conflicts} route(s) held back: a foreign route has the same prefix and metric`,
      why: "another protocol (a static route, another routing daemon) owns the kernel key podgate would use; podgate does not overwrite it, so traffic follows the foreign route",
      fix: "find them with `ip route show <prefix>` (look at proto); delete the foreign route or give podgate another dataplane.metric/table",
    });
  }
  if ((dp?.failed ?? 0) > 0 && uniq.length === 0) {
    out.push({
      id: "kernel-failed",
      severity: "warning",
      what: `${dp?.failed} desired route(s) refused by the kernel (retried)`,
      why: `the kernel rejected them.${last}`,
      fix: "see the daemon log (component kernel) for the prefix and error",
    });
  }
  return out;
}

function returnPathMode(input: DoctorInput): "advertise" | "snat" | "none" | undefined {
  if (input.config?.returnPath) return input.config.returnPath;
  const nft = obj<NftView>(input.status?.nftables);
  if (nft?.snat === true) return "snat";
  return undefined;
}

function officeRoutes(input: DoctorInput, routes: readonly RouteJson[]): RouteJson[] {
  const status = input.status as StatusJson;
  const prefixes = input.config?.officePrefixes;
  if (prefixes && prefixes.length > 0) {
    return routes.filter((r) => r.best && prefixes.some((o) => within(r.prefix, o) || within(o, r.prefix)));
  }
  const officePeers = new Set(status.peers.filter((p) => p.role === "office").map((p) => p.address));
  return routes.filter((r) => r.best && officePeers.has(r.peer));
}

function checkReturnPath(input: DoctorInput): Finding[] {
  const status = input.status;
  if (!status) return [];
  const mode = returnPathMode(input);
  if (mode === "snat") {
    const nft = obj<NftView>(status.nftables);
    if (nft?.state === "applied" && nft.snat !== false) {
      return [
        { id: "return-path", severity: "ok", what: "return path: SNAT rules are applied", why: "", fix: "" },
      ];
    }
    return [
      {
        id: "return-path",
        severity: "error",
        what: `returnPath.mode is snat but the nftables table is ${nft?.state ?? "not managed"}${nft?.lastError?.message ? ` (last error: ${nft.lastError.message})` : ""}`,
        why: "office sources reach pods unchanged and the nodes have no route back: SYN arrives, the SYN-ACK goes to the node's default gateway and the connection hangs",
        fix: "enable the dataplane (dataplane.enabled: true), make sure nft is installed and the daemon runs as root, then `podgate reload`",
      },
    ];
  }
  if (mode !== "advertise" && mode !== undefined) return [];
  const cluster = status.peers.filter((p) => p.role === "cluster" && p.state === "Established");
  if (cluster.length === 0) return [];
  const routes = input.routes?.routes ?? [];
  const office = officeRoutes(input, routes);
  const clusterAddrs = new Set(cluster.map((p) => p.address));
  const reached = office.filter((r) => (r.advertisedTo ?? []).some((a) => clusterAddrs.has(a)));
  if (office.length > 0 && reached.length > 0) {
    const missing = cluster.filter((p) => !office.some((r) => (r.advertisedTo ?? []).includes(p.address)));
    return [
      {
        id: "return-path",
        severity: missing.length > 0 ? "warning" : "ok",
        what:
          missing.length > 0
            ? `office prefixes are not advertised to ${missing.length} cluster peer(s): ${listText(missing.map(clusterLabel))}`
            : `return path: office prefixes advertised to ${cluster.length} cluster peer(s)`,
        why: missing.length > 0 ? "pods on those nodes cannot answer office hosts" : "",
        fix:
          missing.length > 0 ? "check those peers' export policy (role cluster sends office prefixes)" : "",
      },
    ];
  }
  if (mode === undefined && office.length === 0) {
    return [
      {
        id: "return-path",
        severity: "info",
        what: "return path not checked: returnPath mode and office prefixes unknown",
        why: "the status API does not carry them",
        fix: "run doctor with --config /etc/podgate/podgate.yaml",
      },
    ];
  }
  return [
    {
      id: "return-path",
      severity: "error",
      what:
        office.length === 0
          ? "returnPath.mode is advertise but no office prefix is in the Loc-RIB"
          : `returnPath.mode is advertise but no cluster peer has the office prefixes (${listText(office.map((r) => r.prefix))}) advertised`,
      why: "nodes have no route back to the office: a pod's SYN-ACK goes to the node's default gateway and connections from the office hang (or, with Calico natOutgoing, leave SNATed)",
      fix:
        office.length === 0
          ? "declare office.prefixes in podgate.yaml (they are originated toward the cluster), or make the office router advertise them"
          : "check export policy toward the cluster peers (role cluster, no custom export that drops office prefixes); then create disabled IPPools for the office ranges (podgate render calico --office-prefix ...) so natOutgoing does not SNAT them",
    },
  ];
}

function checkProbes(input: DoctorInput): Finding[] {
  const probes = input.probes;
  if (!probes) return [];
  if (probes.length === 0) {
    return [
      {
        id: "probes",
        severity: "info",
        what: "no probe targets: no best cluster route to probe",
        why: "",
        fix: "",
      },
    ];
  }
  const failed = probes.filter((p) => !p.ok);
  if (failed.length === 0) {
    const rtts = probes.flatMap((p) => (p.rttMs !== undefined ? [p.rttMs] : []));
    const max = rtts.length > 0 ? `, max RTT ${Math.max(...rtts)} ms` : "";
    return [
      { id: "probes", severity: "ok", what: `${probes.length} probe(s) answered${max}`, why: "", fix: "" },
    ];
  }
  return [
    {
      id: "probes",
      severity: failed.length === probes.length ? "error" : "warning",
      what: `${failed.length} of ${probes.length} probe(s) got no answer: ${listText(failed.map((p) => `${p.target} (${p.prefix})`))}`,
      why: "the gateway pinged one address per block; no reply means the route, the node, the return path or a policy is broken — or simply that no pod holds that address (the first address of a block may be unused)",
      fix: "for a failed block: ip route get <target>; ping its node; check NetworkPolicy/Felix (externalNodesList for IPIP) on that node",
    },
  ];
}

function checkDaemon(input: DoctorInput): Finding[] {
  if (input.status) return [];
  return [
    {
      id: "daemon-unreachable",
      severity: "error",
      what: `the podgate daemon is not reachable${input.apiError ? `: ${input.apiError}` : ""}`,
      why: "only the local checks (sysctls, links) ran",
      fix: "start it (systemctl start podgate, or podgate run --config FILE) or pass --socket PATH",
    },
  ];
}

interface TunnelView {
  readonly name?: string;
  readonly implementation?: string;
  readonly error?: string;
  readonly peers?: readonly {
    readonly publicKey?: string;
    readonly endpoint?: string;
    readonly handshakeAgeSeconds?: number;
    readonly state?: string;
  }[];
}
interface IpipView {
  readonly name?: string;
  readonly up?: boolean;
  readonly lastError?: string;
}

/** WireGuard peers without a recent handshake, a tunnel that failed to apply, the ipip device. */
function checkTunnels(input: DoctorInput): Finding[] {
  const out: Finding[] = [];
  const tunnels = Array.isArray(input.status?.tunnels) ? (input.status.tunnels as readonly TunnelView[]) : [];
  for (const t of tunnels) {
    if (t.error || t.implementation === "absent") {
      out.push({
        id: `tunnel-error:${t.name}`,
        severity: "error",
        what: `WireGuard interface ${t.name} is ${t.implementation === "absent" ? "missing" : "not applied"}${t.error ? `: ${t.error}` : ""}`,
        why: "the BGP session to the other gateway runs over it: no tunnel, no remote routes",
        fix: "see the daemon log (component wireguard); fix the config and `podgate reload`",
      });
      continue;
    }
    for (const p of t.peers ?? []) {
      if (p.state === "up") continue;
      const key = `${(p.publicKey ?? "").slice(0, 8)}…`;
      const age = p.handshakeAgeSeconds === undefined ? "never" : `${p.handshakeAgeSeconds} s ago`;
      out.push({
        id: `tunnel-down:${t.name}:${key}`,
        severity: "error",
        what: `WireGuard peer ${key} on ${t.name} is down (last handshake: ${age}${p.endpoint ? `, endpoint ${p.endpoint}` : ""})`,
        why: "no handshake within tunnels.handshakeTimeout: the other gateway is unreachable or its keys differ; the BGP session over the tunnel drops when its hold timer expires and the remote routes are withdrawn",
        fix: "check that UDP to the endpoint's port is allowed both ways, that each side has the other's public key (`podgate wg pubkey`), and that the endpoint is right; `wg show` on both gateways",
      });
    }
    if ((t.peers ?? []).length > 0 && (t.peers ?? []).every((p) => p.state === "up")) {
      out.push({
        id: `tunnel:${t.name}`,
        severity: "ok",
        what: `WireGuard ${t.name}: every peer handshaking`,
        why: "",
        fix: "",
      });
    }
  }
  const ipip = obj<IpipView>(input.status?.ipip);
  if (ipip?.lastError || (ipip && ipip.up === false)) {
    out.push({
      id: "ipip",
      severity: "error",
      what: `ipip interface ${ipip.name ?? "?"} is ${ipip.lastError ? `not available: ${ipip.lastError}` : "down"}`,
      why: "cluster routes toward nodes on other subnets need it; without it they fall back to plain next hops, which the kernel refuses when the node is not on a connected network",
      fix: "`modprobe ipip` when the kernel lacks it; another device holding the name: choose another tunnels.ipip.name; then `podgate reload` (see docs/ipip.md)",
    });
  } else if (ipip) {
    out.push({
      id: "ipip",
      severity: "ok",
      what: `ipip interface ${ipip.name ?? "?"} is up`,
      why: "",
      fix: "",
    });
  }
  return out;
}

/** All checks, errors first (stable within a severity). */
export function diagnose(input: DoctorInput): Finding[] {
  const all = [
    ...checkDaemon(input),
    ...checkPeers(input),
    ...checkForwarding(input),
    ...checkRpFilter(input),
    ...checkMtu(input),
    ...checkKernel(input),
    ...checkTunnels(input),
    ...checkReturnPath(input),
    ...checkProbes(input),
  ];
  return all
    .map((f, i) => ({ f, i }))
    .sort((a, b) => SEVERITY_ORDER[a.f.severity] - SEVERITY_ORDER[b.f.severity] || a.i - b.i)
    .map((x) => x.f);
}

const LABEL: Record<Severity, string> = { error: "ERROR", warning: "WARN", info: "INFO", ok: "OK" };

/** Human-readable findings grouped by severity, errors first, then a one-line summary. */
export function formatFindings(findings: readonly Finding[]): string {
  const lines: string[] = [];
  const sorted = [...findings].sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);
  for (const f of sorted) {
    lines.push(`${LABEL[f.severity].padEnd(5)} ${f.what}`);
    if (f.why) lines.push(`      why: ${f.why}`);
    if (f.fix) lines.push(`      fix: ${f.fix}`);
  }
  const count = (s: Severity) => findings.filter((f) => f.severity === s).length;
  lines.push(
    "",
    `${count("error")} error(s), ${count("warning")} warning(s), ${count("info")} info, ${count("ok")} ok`,
  );
  return `${lines.join("\n")}\n`;
}
