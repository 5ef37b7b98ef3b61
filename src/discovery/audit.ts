/**
 * Route audit (`podgate audit`, GET /v1/audit): compares what each cluster node should
 * advertise — read from the Kubernetes API into a ClusterState — with what BGP delivered to
 * podgate (the Loc-RIB as RouteJson) and the state of the sessions (PeerStatus). Pure: the
 * daemon passes its watcher state, speaker routes and status; the CLI renders the findings.
 *
 * What calico-node's BIRD exports (docs/discovery.md "Route audit", shared field notes): every
 * block affine to the node in state confirmed (or unset), /32s borrowed inside an enabled pool,
 * the service CIDRs (serviceClusterIPs, and the serviceExternalIPs / serviceLoadBalancerIPs ranges
 * with the /32s inside them), nothing of a pool with `disableBGPExport`; toward an iBGP peer with the node
 * as next hop, toward an eBGP peer with the SENDING node as next hop for everything unless the
 * BGPPeer says `nextHopMode: Keep`. Each finding has a stable `code` scripts may match on.
 */
import type { PeerStatus, RouteJson } from "../api/types.ts";
import { renderTable } from "../cli/table.ts";
import { type Cidr, canonicalCidr, compareCidrText, containsCidr, parseAddr, parseCidr } from "./cidr.ts";
import { type ClusterState, type NodeState, type PeerState, type PoolState, serviceRanges } from "./model.ts";
import { parseSelector } from "./selector.ts";

export type AuditSeverity = "error" | "warning" | "info";

/** Stable finding codes (never renamed; new ones may be added). */
export type AuditCode =
  | "missing-block"
  | "unexpected-prefix"
  | "wrong-next-hop"
  | "stale-affinity"
  | "export-disabled"
  | "peer-down"
  | "no-bgp";

export interface AuditFinding {
  readonly severity: AuditSeverity;
  readonly code: AuditCode;
  /** The Kubernetes/Calico object to look at, "Kind name" (e.g. "BlockAffinity node2-10-244-2-0-26"). */
  readonly object: string;
  readonly what: string;
  readonly why: string;
  /** One sentence an operator can act on. */
  readonly fix: string;
  readonly prefix?: string;
  readonly node?: string;
  /** Address of the BGP peer concerned. */
  readonly peer?: string;
}

/** Body of GET /v1/audit and of `podgate audit --json`. */
export interface AuditJson {
  readonly findings: readonly AuditFinding[];
  readonly summary: { readonly errors: number; readonly warnings: number; readonly infos: number };
}

const SEVERITY_ORDER: Record<AuditSeverity, number> = { error: 0, warning: 1, info: 2 };

/** Calico's BlockAffinity name: the node name, then the CIDR with dots, colons and the slash as dashes. */
export function blockAffinityName(node: string, cidr: string): string {
  return `${node}-${cidr.replace(/[./:]/g, "-")}`;
}

function addrsOf(n: NodeState): string[] {
  return [n.routeIP, n.calicoIPv4, n.internalIP, n.internalIPv6].filter((a): a is string => !!a);
}

function familyOfAddr(a: string): 4 | 6 | undefined {
  return parseAddr(a)?.family;
}

/** BGPPeer peerIP may carry a port ("10.0.0.1:1790", "[fd00::1]:1790"). */
function peerIPAddr(peerIP: string | undefined): string | undefined {
  if (!peerIP) return undefined;
  if (parseAddr(peerIP)) return peerIP;
  const m = /^\[?([^\]]+?)\]?:\d+$/.exec(peerIP);
  return m?.[1] && parseAddr(m[1]) ? m[1] : undefined;
}

function selectorMatches(sel: string, labels: Readonly<Record<string, string>>): boolean {
  try {
    return parseSelector(sel)(labels);
  } catch {
    return false;
  }
}

function list(items: readonly string[], max = 3): string {
  return items.length <= max
    ? items.join(", ")
    : `${items.slice(0, max).join(", ")} and ${items.length - max} more`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

interface Index {
  readonly nodeByAddr: Map<string, NodeState>;
  readonly clusterPeers: PeerStatus[];
  /** BGP paths from cluster peers, prefix canonical. */
  readonly clusterRoutes: (RouteJson & { readonly canon: string; readonly cidr: Cidr })[];
  readonly byPrefix: Map<string, (RouteJson & { readonly canon: string })[]>;
  /** prefix → confirmed owners. */
  readonly owners: Map<string, NodeState[]>;
  readonly staticPrefixes: Set<string>;
}

function buildIndex(state: ClusterState, routes: readonly RouteJson[], peers: readonly PeerStatus[]): Index {
  const nodeByAddr = new Map<string, NodeState>();
  for (const n of state.nodes) for (const a of addrsOf(n)) if (!nodeByAddr.has(a)) nodeByAddr.set(a, n);
  const clusterPeers = peers.filter((p) => p.role === "cluster" || nodeByAddr.has(p.address));
  const clusterAddrs = new Set(clusterPeers.map((p) => p.address));
  // Without a status (e.g. a caller with routes only), a path from a node address is a cluster path.
  for (const a of nodeByAddr.keys()) if (peers.length === 0) clusterAddrs.add(a);
  const clusterRoutes: Index["clusterRoutes"] = [];
  const staticPrefixes = new Set<string>();
  for (const r of routes) {
    const canon = canonicalCidr(r.prefix);
    if (!canon) continue;
    if (r.source === "kubernetes") staticPrefixes.add(canon);
    if (r.source !== "bgp" || !clusterAddrs.has(r.peer)) continue;
    clusterRoutes.push({ ...r, canon, cidr: parseCidr(canon)! });
  }
  const byPrefix = new Map<string, (RouteJson & { canon: string })[]>();
  for (const r of clusterRoutes) {
    const l = byPrefix.get(r.canon) ?? [];
    l.push(r);
    byPrefix.set(r.canon, l);
  }
  const owners = new Map<string, NodeState[]>();
  for (const n of state.nodes)
    for (const b of n.blocks) {
      if (b.state !== "confirmed") continue;
      const l = owners.get(b.cidr) ?? [];
      l.push(n);
      owners.set(b.cidr, l);
    }
  return { nodeByAddr, clusterPeers, clusterRoutes, byPrefix, owners, staticPrefixes };
}

function peerFamilies(p: PeerStatus): Set<string> {
  if (p.families && p.families.length > 0) return new Set(p.families);
  return new Set([familyOfAddr(p.address) === 6 ? "ipv6" : "ipv4"]);
}

function poolOf(state: ClusterState, c: Cidr): PoolState | undefined {
  return state.pools.find((p) => containsCidr(parseCidr(p.cidr)!, c));
}

/** Calico BGPPeers that plausibly point at podgate from node n over eBGP (not a node, applies to n, other AS). */
function gatewayPeersFor(
  state: ClusterState,
  n: NodeState,
  nodeAddrs: ReadonlyMap<string, NodeState>,
): PeerState[] {
  return state.bgpPeers.filter((p) => {
    const ip = peerIPAddr(p.peerIP);
    if (!ip || nodeAddrs.has(ip) || p.peerSelector) return false;
    if (p.node && p.node !== n.name) return false;
    if (p.nodeSelector && !selectorMatches(p.nodeSelector, n.labels)) return false;
    return p.asNumber !== undefined && p.asNumber !== n.asn;
  });
}

/**
 * Compare what the cluster should advertise with what BGP delivered. `routes` is the Loc-RIB as
 * the API serves it (every path, not only the best), `peers` the session status. Findings are
 * sorted by severity, code, object, prefix.
 */
export function audit(
  state: ClusterState,
  routes: readonly RouteJson[],
  peers: readonly PeerStatus[],
): AuditFinding[] {
  const out: AuditFinding[] = [];
  const ix = buildIndex(state, routes, peers);

  // ---- no-bgp: the CNI does not speak BGP, or Calico looks VXLAN-only with every session down.
  if (state.cni !== "calico" && state.cni !== "kube-router") {
    const staticOn = ix.staticPrefixes.size > 0;
    out.push({
      severity: staticOn ? "info" : "warning",
      code: "no-bgp",
      object: `CNI ${state.cni}`,
      what:
        state.cni === "unknown"
          ? "the cluster's CNI was not recognised, so no node is expected to speak BGP"
          : `the cluster's CNI is ${state.cni}, which advertises no routes over BGP here`,
      why: staticOn
        ? "podgate already routes pod and service CIDRs from the Kubernetes API (static mode)"
        : "no node will peer with podgate, so nothing would route pod or service traffic",
      fix:
        state.cni === "cilium"
          ? "Set `kubernetes.staticRoutes: true` in podgate's config (routes from node pod CIDRs), or enable Cilium's BGP control plane and peer it with podgate."
          : "Set `kubernetes.staticRoutes: true` in podgate's config so pod CIDRs and service CIDRs are routed to the Ready nodes from the Kubernetes API.",
    });
  } else if (state.cni === "calico") {
    const enabled = state.pools.filter((p) => !p.disabled);
    const allVxlan = enabled.length > 0 && enabled.every((p) => p.vxlanMode !== "Never");
    const anyUp = ix.clusterPeers.some((p) => p.state === "Established");
    if (allVxlan && ix.clusterPeers.length > 0 && !anyUp && ix.staticPrefixes.size === 0) {
      out.push({
        severity: "warning",
        code: "no-bgp",
        object: `IPPool ${enabled[0]!.name}`,
        what: "every enabled IP pool uses VXLAN and no session with a node is up",
        why: "Calico in VXLAN mode often runs without BIRD (calico_backend: vxlan, Installation `bgp: Disabled`), and then no node ever answers",
        fix: "If Calico runs without BGP, set `kubernetes.staticRoutes: true` and `kubernetes.peers: false` in podgate's config; otherwise see the peer-down findings.",
      });
    }
  }

  // ---- peer-down
  for (const p of ix.clusterPeers) {
    if (p.state === "Established") continue;
    const n = ix.nodeByAddr.get(p.address);
    const confirmed = n ? n.blocks.filter((b) => b.state === "confirmed").length : 0;
    const info = p.info || p.lastError || p.state;
    let fix: string;
    if (/disabled/i.test(info)) fix = "Set `enabled: true` on this peer in podgate's config, or remove it.";
    else if (n && !n.ready)
      fix = `Bring ${n.name} back (kubelet, calico-node), or delete the Node object if it is gone for good (podgate then drops the session).`;
    else if (/peer as|bad peer|as number|remote as/i.test(info))
      fix = `Make the AS numbers agree: podgate expects AS ${p.asn} from ${p.address}, and the Calico BGPPeer toward podgate must name podgate's AS.`;
    else if (/auth|password|md5/i.test(info))
      fix =
        "Use the same TCP-MD5 password on both sides (the BGPPeer's password.secretKeyRef and podgate's passwordFile).";
    else
      fix = `On ${n ? n.name : p.address} check \`calicoctl node status\`, that a BGPPeer toward podgate applies to it (\`podgate render calico\` prints one), and that TCP 179 is open between them.`;
    out.push({
      severity: n && !n.ready ? "warning" : "error",
      code: "peer-down",
      object: n ? `Node ${n.name}` : `BGP peer ${p.name} (${p.address})`,
      what: `the session with ${p.address} (AS ${p.asn}) is ${p.state}: ${info}`,
      why: n
        ? n.ready
          ? `${n.name} is Ready, so its calico-node should answer; podgate learns its ${plural(confirmed, "confirmed block")} only through this session`
          : `${n.name} is NotReady, so its BIRD is probably down with it`
        : "routes this peer reflects from the cluster are missing while it is down",
      fix,
      ...(n ? { node: n.name } : {}),
      peer: p.address,
    });
  }

  // ---- export-disabled
  for (const pool of state.pools) {
    if (!pool.disableBGPExport || pool.disabled) continue;
    const pc = parseCidr(pool.cidr)!;
    const blocks = state.nodes.flatMap((n) =>
      n.blocks.filter((b) => containsCidr(pc, parseCidr(b.cidr)!)).map(() => n.name),
    );
    out.push({
      severity: "info",
      code: "export-disabled",
      object: `IPPool ${pool.name}`,
      what: `pool ${pool.cidr} has disableBGPExport: true (${plural(blocks.length, "block")} on ${plural(new Set(blocks).size, "node")})`,
      why: "calico-node never advertises its blocks over BGP, by design",
      fix: "If the office must reach it, keep `kubernetes.staticRoutes: true` in podgate's config (blocks routed from BlockAffinities) or set `disableBGPExport: false` on the pool.",
      prefix: pool.cidr,
    });
  }

  // Families in which podgate has at least one session with the cluster up.
  const upFamilies = new Set<string>();
  for (const p of ix.clusterPeers)
    if (p.state === "Established") for (const f of peerFamilies(p)) upFamilies.add(f);

  // ---- missing-block
  for (const n of state.nodes) {
    if (state.cni !== "calico" || !n.ready) continue;
    const own = ix.clusterPeers.filter((p) => addrsOf(n).includes(p.address));
    for (const b of n.blocks) {
      if (b.state !== "confirmed") continue;
      const c = parseCidr(b.cidr)!;
      if (poolOf(state, c)?.disableBGPExport) continue;
      if (ix.byPrefix.has(b.cidr)) continue;
      const fam = c.family === 4 ? "ipv4" : "ipv6";
      const ownFam = own.filter((p) => peerFamilies(p).has(fam));
      const ownUp = ownFam.filter((p) => p.state === "Established");
      if (ownFam.length > 0 && ownUp.length === 0) continue; // peer-down says it
      if (ownFam.length === 0 && !upFamilies.has(fam)) continue; // podgate learns nothing of this family
      const covered = ix.staticPrefixes.has(b.cidr);
      const filtered = ownUp.filter((p) => p.prefixesReceived > p.prefixesAccepted);
      const whyParts: string[] = [];
      if (ownUp.length > 0) {
        whyParts.push(
          `${n.name}'s session (${ownUp.map((p) => p.address).join(", ")}) is Established but did not send it`,
        );
        if (filtered.length > 0)
          whyParts.push(
            `${filtered[0]!.prefixesReceived - filtered[0]!.prefixesAccepted} prefix(es) from it were rejected by podgate's import policy`,
          );
      } else {
        whyParts.push(
          `podgate holds no session with ${n.name} and no other peer (route reflector) delivers it`,
        );
      }
      if (covered) whyParts.push("a static route from the Kubernetes API covers it meanwhile");
      out.push({
        severity: covered || ownUp.length === 0 ? "warning" : "error",
        code: "missing-block",
        object: `BlockAffinity ${blockAffinityName(n.name, b.cidr)}`,
        what: `block ${b.cidr} of Ready node ${n.name} is confirmed but no BGP route delivers it`,
        why: whyParts.join("; "),
        fix:
          filtered.length > 0
            ? "Make podgate accept it: put the pool's CIDR into `cluster.podCIDRs` (or leave it empty to take the IPPools) in podgate's config."
            : ownUp.length > 0
              ? `On ${n.name} check that calico-node exports the block (\`birdcl show route export <peer>\` in the calico-node container, BGPFilter objects) and restart calico-node if it does not.`
              : `Peer with ${n.name} (widen \`kubernetes.nodeSelector\`) or with a route reflector that carries every block.`,
        prefix: b.cidr,
        node: n.name,
        ...(ownUp[0] ? { peer: ownUp[0].address } : {}),
      });
    }
  }

  // ---- stale-affinity: a block whose affinity is not confirmed, still advertised.
  const stalePrefixes = new Set<string>();
  for (const n of state.nodes) {
    const mine = new Set(addrsOf(n));
    for (const b of n.blocks) {
      if (b.state === "confirmed") continue;
      const rs = ix.byPrefix.get(b.cidr) ?? [];
      const viaThis = rs.filter((r) => mine.has(r.nextHop));
      const hasOwner = (ix.owners.get(b.cidr)?.length ?? 0) > 0;
      const hit = viaThis.length > 0 ? viaThis : hasOwner ? [] : rs;
      if (hit.length === 0) continue;
      stalePrefixes.add(b.cidr);
      out.push({
        severity: "warning",
        code: "stale-affinity",
        object: `BlockAffinity ${blockAffinityName(n.name, b.cidr)}`,
        what: `block ${b.cidr} is still advertised (next hop ${[...new Set(hit.map((r) => r.nextHop))].join(", ")}) although its affinity on ${n.name} is ${b.state}`,
        why: hasOwner
          ? "another node holds the confirmed affinity, so traffic may go to the node that gave the block up"
          : "no node holds a confirmed affinity for it, so pods in it may no longer exist",
        fix: `If it lasts more than a few minutes, run \`calicoctl ipam check\` and restart calico-node on ${n.name} so BIRD re-reads its confirmed blocks.`,
        prefix: b.cidr,
        node: n.name,
        peer: hit[0]!.peer,
      });
    }
  }

  // ---- wrong-next-hop (per block) and the eBGP next-hop-self hairpin (grouped).
  const hairpin = new Map<string, { via: NodeState; items: { prefix: string; owner: string }[] }>();
  for (const [prefix, rs] of ix.byPrefix) {
    const owners = ix.owners.get(prefix);
    if (!owners || owners.length === 0) continue;
    const ok = new Set(owners.flatMap(addrsOf));
    const ownerNames = owners.map((o) => o.name).join(", ");
    const reportedOther = new Set<string>();
    for (const r of rs) {
      if (!r.nextHop || ok.has(r.nextHop)) continue;
      const via = ix.nodeByAddr.get(r.nextHop);
      if (via) {
        const h = hairpin.get(via.name) ?? { via, items: [] };
        if (!h.items.some((i) => i.prefix === prefix)) h.items.push({ prefix, owner: ownerNames });
        hairpin.set(via.name, h);
        continue;
      }
      if (reportedOther.has(r.nextHop)) continue;
      reportedOther.add(r.nextHop);
      const fromOwner = owners.some((o) => addrsOf(o).includes(r.peer));
      out.push({
        severity: fromOwner ? "warning" : "error",
        code: "wrong-next-hop",
        object: `BlockAffinity ${blockAffinityName(owners[0]!.name, prefix)}`,
        what: `block ${prefix} of ${ownerNames} is learned from ${r.peer} with next hop ${r.nextHop}, which is no node's address`,
        why: fromOwner
          ? `${ownerNames} sends it from an address its Node object does not list, so podgate cannot tell it is the node`
          : "a router between the node and podgate (route reflector, firewall) rewrote the next hop, so traffic detours through it",
        fix: fromOwner
          ? `Make ${ownerNames}'s BGP address (annotation projectcalico.org/IPv4Address, Calico IP autodetection) the address it peers from.`
          : `Make ${r.peer} keep the original next hop (BIRD \`next hop keep\`, FRR without \`next-hop-self\`) or peer podgate with the nodes directly.`,
        prefix,
        node: owners[0]!.name,
        peer: r.peer,
      });
    }
  }
  if (hairpin.size > 0) {
    const groups = [...hairpin.values()].sort((a, b) => (a.via.name < b.via.name ? -1 : 1));
    const candidates = new Map<string, PeerState>();
    for (const g of groups)
      for (const p of gatewayPeersFor(state, g.via, ix.nodeByAddr)) candidates.set(p.name, p);
    const named = candidates.size === 1 ? [...candidates.values()][0]! : undefined;
    const vias = groups.map((g) => `${g.via.name} (${g.via.routeIP ?? g.via.internalIP ?? "?"})`);
    const ex = groups[0]!.items.sort((a, b) => compareCidrText(a.prefix, b.prefix))[0]!;
    const total = groups.reduce((s, g) => s + g.items.length, 0);
    out.push({
      severity: "warning",
      code: "wrong-next-hop",
      object: named
        ? `BGPPeer ${named.name}`
        : groups.length === 1
          ? `Node ${groups[0]!.via.name}`
          : `BGPPeer toward podgate (nodes ${list(groups.map((g) => g.via.name))})`,
      what: `${list(vias)} advertise${groups.length === 1 ? "s" : ""} other nodes' blocks with ${groups.length === 1 ? "itself" : "themselves"} as next hop (${plural(total, "path")}, e.g. ${ex.prefix} of ${ex.owner} via ${groups[0]!.via.name})`,
      why: "eBGP next-hop-self: calico-node rewrites the next hop toward an eBGP peer, so traffic for those pods detours through the sending node and returns directly (asymmetric, and tied to that node staying up)",
      fix: `Set \`nextHopMode: Keep\` on ${named ? `BGPPeer ${named.name}` : "the Calico BGPPeer toward podgate"} (older Calico: \`keepOriginalNextHop: true\`), or peer podgate with the cluster AS ${state.asn} (iBGP) so each node sends only its own blocks with itself as next hop.`,
      prefix: ex.prefix,
      ...(groups.length === 1 ? { node: groups[0]!.via.name, peer: groups[0]!.via.routeIP ?? "" } : {}),
    });
  }

  // ---- unexpected-prefix
  const podCidrs = state.podCIDRs.map((c) => parseCidr(c)).filter((c): c is Cidr => !!c);
  // ClusterIP ranges and the external / LoadBalancer ranges Calico advertises (BGPConfiguration).
  const svcRanges = serviceRanges(state);
  const svcCidrs = svcRanges.map((c) => parseCidr(c)).filter((c): c is Cidr => !!c);
  const allBlocks = state.nodes.flatMap((n) => n.blocks.map((b) => parseCidr(b.cidr)!));
  const unexpected = new Map<string, (RouteJson & { canon: string })[]>();
  for (const r of ix.clusterRoutes) {
    if (stalePrefixes.has(r.canon)) continue;
    const inPod = podCidrs.some((c) => containsCidr(c, r.cidr));
    const inSvc = svcCidrs.some((c) => containsCidr(c, r.cidr));
    const inBlock = allBlocks.some((c) => containsCidr(c, r.cidr));
    const orphan = state.cni === "calico" && state.pools.length > 0 && inPod && !inBlock;
    if ((inPod || inSvc || inBlock) && !orphan) continue;
    const l = unexpected.get(r.canon) ?? [];
    l.push(r);
    unexpected.set(r.canon, l);
  }
  for (const [prefix, rs] of unexpected) {
    const c = parseCidr(prefix)!;
    const pool = poolOf(state, c);
    const senders = [...new Set(rs.map((r) => r.peer))];
    const senderNode = ix.nodeByAddr.get(senders[0]!);
    const inPod = podCidrs.some((p) => containsCidr(p, c));
    const object =
      inPod && pool
        ? `IPPool ${pool.name}`
        : senderNode
          ? `Node ${senderNode.name}`
          : `BGP peer ${senders[0]}`;
    out.push({
      severity: "warning",
      code: "unexpected-prefix",
      object,
      what: `${prefix} is learned from ${list(senders)} (next hop ${list([...new Set(rs.map((r) => r.nextHop))])})`,
      why: inPod
        ? `it lies inside pool ${pool?.cidr ?? "?"} but no BlockAffinity covers it: its node was deleted or the affinity released while BIRD still exports it`
        : `it lies inside no enabled IP pool (${state.podCIDRs.join(", ") || "none"}) and no service range (${svcRanges.join(", ") || "none"})${pool ? `; pool ${pool.name} holding it is disabled` : ""}`,
      fix: inPod
        ? "Run `calicoctl ipam check` and release the leaked block (`calicoctl ipam release --from-report=<report>`)."
        : `Find what exports it on ${senderNode ? senderNode.name : senders[0]} (a BGPFilter, extra BIRD config, a service IP range missing from BGPConfiguration default); if it is a service range, list it in BGPConfiguration \`serviceExternalIPs\` / \`serviceLoadBalancerIPs\` or in \`cluster.serviceCIDRs\` in podgate's config.`,
      prefix,
      ...(senderNode ? { node: senderNode.name } : {}),
      peer: senders[0]!,
    });
  }

  return out.sort(compareFindings);
}

function compareFindings(a: AuditFinding, b: AuditFinding): number {
  const s = SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity];
  if (s !== 0) return s;
  for (const [x, y] of [
    [a.code, b.code],
    [a.object, b.object],
  ] as const)
    if (x !== y) return x < y ? -1 : 1;
  if (a.prefix && b.prefix) return compareCidrText(a.prefix, b.prefix);
  return a.prefix ? 1 : b.prefix ? -1 : 0;
}

export function auditJson(findings: readonly AuditFinding[]): AuditJson {
  return {
    findings,
    summary: {
      errors: findings.filter((f) => f.severity === "error").length,
      warnings: findings.filter((f) => f.severity === "warning").length,
      infos: findings.filter((f) => f.severity === "info").length,
    },
  };
}

const HEADINGS: Record<AuditSeverity, string> = { error: "ERRORS", warning: "WARNINGS", info: "INFO" };

/** Text for `podgate audit`: a summary line, then one table per severity with why/fix under it. */
export function formatAudit(findings: readonly AuditFinding[]): string {
  const j = auditJson(findings);
  const lines = [
    `Route audit: ${plural(j.summary.errors, "error")}, ${plural(j.summary.warnings, "warning")}, ${j.summary.infos} info`,
  ];
  if (findings.length === 0) {
    lines.push("Every confirmed block of a Ready node is delivered by BGP with its node as next hop.");
    return `${lines.join("\n")}\n`;
  }
  let n = 0;
  for (const sev of ["error", "warning", "info"] as const) {
    const group = findings.filter((f) => f.severity === sev);
    if (group.length === 0) continue;
    const first = n + 1;
    lines.push("", `${HEADINGS[sev]} (${group.length})`);
    lines.push(
      renderTable(
        ["#", "CODE", "OBJECT", "WHAT"],
        group.map((f, i) => [String(first + i), f.code, f.object, f.what]),
      ),
    );
    for (const f of group) {
      n++;
      lines.push(`  [${n}] why: ${f.why}`, `      fix: ${f.fix}`);
    }
  }
  return `${lines.join("\n")}\n`;
}
