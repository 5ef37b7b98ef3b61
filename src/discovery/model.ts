/**
 * Desired state from cluster objects, as pure functions: `deriveClusterState` reads the raw
 * Kubernetes/Calico objects (as the API serves them) into a ClusterState; `desiredPeers` says
 * which cluster nodes the gateway should hold BGP sessions with; `staticRoutes` says where each
 * pod block / pod CIDR / service CIDR lives when routes are installed without BGP. No I/O here:
 * kube.ts feeds these from informers, the CLI from a one-shot list, tests from tables.
 */
import {
  canonicalCidr,
  compareAddrText,
  compareCidrText,
  containsCidr,
  networkOf,
  parseAddr,
  parseCidr,
} from "./cidr.ts";
import { parseSelector } from "./selector.ts";

/** Calico's default AS when BGPConfiguration has none (also the default iBGP AS of podgate). */
export const CALICO_DEFAULT_ASN = 64512;
/** Calico's default IPAM block sizes. */
export const CALICO_DEFAULT_BLOCK_SIZE_V4 = 26;
export const CALICO_DEFAULT_BLOCK_SIZE_V6 = 122;

export const ANNOTATION_CALICO_IPV4 = "projectcalico.org/IPv4Address";
export const ANNOTATION_CALICO_IPV6 = "projectcalico.org/IPv6Address";
export const ANNOTATION_CALICO_ASN = "projectcalico.org/ASNumber";
export const ANNOTATION_KUBE_ROUTER_ASN = "kube-router.io/node.asn";
const CILIUM_POD_CIDR_ANNOTATIONS = ["network.cilium.io/ipv4-pod-cidr", "io.cilium.network.ipv4-pod-cidr"];
const CILIUM_POD_CIDR6_ANNOTATIONS = ["network.cilium.io/ipv6-pod-cidr", "io.cilium.network.ipv6-pod-cidr"];

// ------------------------------------------------------------------ raw objects (as served)

/** The fields podgate reads from any Kubernetes object; the rest is ignored. */
export interface KubeObject {
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
  };
  // biome-ignore lint/suspicious/noExplicitAny: raw JSON from the API server, narrowed where read.
  spec?: any;
  // biome-ignore lint/suspicious/noExplicitAny: raw JSON from the API server, narrowed where read.
  status?: any;
}

/** Everything discovery reads, one array per resource. A resource that is not served is []. */
export interface ClusterObjects {
  nodes: readonly KubeObject[];
  /** The `kubernetes` Service in `default` (its ClusterIP hints at the service range). */
  services: readonly KubeObject[];
  /** ServiceCIDR objects as networking.k8s.io/v1 (Kubernetes >= 1.33). */
  serviceCIDRs: readonly KubeObject[];
  /**
   * The same objects as networking.k8s.io/v1beta1 (clusters before 1.33 with the
   * MultiCIDRServiceAllocator feature). Used only when v1 has none: a cluster serving both
   * versions lists every ServiceCIDR twice.
   */
  serviceCIDRsV1beta1: readonly KubeObject[];
  ipPools: readonly KubeObject[];
  blockAffinities: readonly KubeObject[];
  bgpConfigurations: readonly KubeObject[];
  bgpPeers: readonly KubeObject[];
}

export function emptyObjects(): ClusterObjects {
  return {
    nodes: [],
    services: [],
    serviceCIDRs: [],
    serviceCIDRsV1beta1: [],
    ipPools: [],
    blockAffinities: [],
    bgpConfigurations: [],
    bgpPeers: [],
  };
}

// ------------------------------------------------------------------ derived state

export type Cni = "calico" | "flannel" | "cilium" | "kube-router" | "unknown";

export interface BlockState {
  readonly cidr: string;
  /** BlockAffinity spec.state: confirmed | pending | pendingDeletion ("confirmed" when unset). */
  readonly state: string;
}

export interface NodeState {
  readonly name: string;
  /** First InternalIP (IPv4 preferred). */
  readonly internalIP: string | undefined;
  readonly internalIPv6: string | undefined;
  /** Calico's BGP address (annotation projectcalico.org/IPv4Address without the mask). */
  readonly calicoIPv4: string | undefined;
  /** The address other hosts route to for this node: Calico's IPv4Address, else InternalIP. */
  readonly routeIP: string | undefined;
  readonly ready: boolean;
  readonly labels: Readonly<Record<string, string>>;
  readonly asn: number;
  readonly asnSource: "node-annotation" | "cluster";
  readonly podCIDRs: readonly string[];
  /** Calico blocks affine to this node (every state, deleted="true" excluded), sorted. */
  readonly blocks: readonly BlockState[];
}

export interface PoolState {
  readonly name: string;
  readonly cidr: string;
  readonly blockSize: number;
  readonly ipipMode: string;
  readonly vxlanMode: string;
  readonly natOutgoing: boolean;
  readonly disabled: boolean;
  readonly disableBGPExport: boolean;
  readonly nodeSelector: string;
}

export interface PeerState {
  readonly name: string;
  readonly peerIP: string | undefined;
  readonly asNumber: number | undefined;
  readonly node: string | undefined;
  readonly nodeSelector: string | undefined;
  readonly peerSelector: string | undefined;
  readonly hasPassword: boolean;
}

export interface BlockSizeBounds {
  readonly min: number;
  readonly max: number;
}

export type ServiceCidrSource = "servicecidr" | "bgpconfiguration" | "kubernetes-service-guess" | "none";

/** The BGPConfiguration `default` field a service external / LoadBalancer range comes from. */
export type ServiceExternalSource = "serviceExternalIPs" | "serviceLoadBalancerIPs";

/**
 * A Service external-IP or LoadBalancer-IP range Calico advertises over BGP. kube-proxy answers
 * these addresses on every node (externalTrafficPolicy Cluster), like ClusterIPs.
 */
export interface ServiceExternalCidr {
  readonly cidr: string;
  /** Every field that lists it (a range may be in both), in the order above. */
  readonly sources: readonly ServiceExternalSource[];
}

export interface ClusterState {
  readonly cni: Cni;
  readonly asn: number;
  readonly asnSource: "bgpconfiguration" | "default";
  /** Calico node-to-node mesh (true unless BGPConfiguration says false). */
  readonly meshEnabled: boolean;
  readonly nodes: readonly NodeState[];
  readonly pools: readonly PoolState[];
  /** Enabled IPPool CIDRs (Calico), else node podCIDRs. */
  readonly podCIDRs: readonly string[];
  readonly podCIDRsSource: "ippools" | "node-podcidrs" | "none";
  readonly blockSize: { readonly v4: BlockSizeBounds; readonly v6: BlockSizeBounds };
  readonly serviceCIDRs: readonly string[];
  readonly serviceCIDRsSource: ServiceCidrSource;
  /**
   * Service external / LoadBalancer IP ranges from BGPConfiguration `default`
   * (`serviceExternalIPs[].cidr`, `serviceLoadBalancerIPs[].cidr`), sorted, one entry per CIDR.
   * Kept apart from `serviceCIDRs` (ClusterIP ranges) so callers can tell them apart; the daemon
   * treats both as service ranges (merge.ts, staticRoutes, audit).
   */
  readonly serviceExternalCIDRs: readonly ServiceExternalCidr[];
  readonly bgpPeers: readonly PeerState[];
  /** Things a human should know (guesses, inconsistencies). Stable text, sorted by origin. */
  readonly warnings: readonly string[];
}

const nameOf = (o: KubeObject): string => o.metadata?.name ?? "";
const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

function num(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isInteger(v)) return v;
  // Calico's v3 API accepts asdot-free strings; annotations are always strings.
  if (typeof v === "string" && /^\d+$/.test(v)) return Number(v);
  return undefined;
}

function bool(v: unknown): boolean | undefined {
  if (typeof v === "boolean") return v;
  if (v === "true") return true;
  if (v === "false") return false;
  return undefined;
}

function hasAnnotationPrefix(objs: readonly KubeObject[], prefixes: readonly string[]): boolean {
  return objs.some((o) =>
    Object.keys(o.metadata?.annotations ?? {}).some((k) => prefixes.some((p) => k.startsWith(p))),
  );
}

/** Which CNI routes pod traffic. Flannel annotations win over Calico's (Canal: Calico policy, Flannel routing). */
export function detectCni(objs: ClusterObjects): Cni {
  if (hasAnnotationPrefix(objs.nodes, ["flannel.alpha.coreos.com/"])) return "flannel";
  if (hasAnnotationPrefix(objs.nodes, ["network.cilium.io/", "io.cilium.network."])) return "cilium";
  if (hasAnnotationPrefix(objs.nodes, ["kube-router.io/"])) return "kube-router";
  if (
    objs.ipPools.length > 0 ||
    objs.blockAffinities.length > 0 ||
    hasAnnotationPrefix(objs.nodes, ["projectcalico.org/"])
  )
    return "calico";
  return "unknown";
}

function nodeAddresses(o: KubeObject): { v4: string | undefined; v6: string | undefined } {
  let v4: string | undefined;
  let v6: string | undefined;
  const addrs: unknown = o.status?.addresses;
  if (Array.isArray(addrs)) {
    for (const a of addrs) {
      if (a?.type !== "InternalIP" || typeof a.address !== "string") continue;
      const ip = parseAddr(a.address);
      if (ip?.family === 4 && !v4) v4 = a.address;
      if (ip?.family === 6 && !v6) v6 = a.address;
    }
  }
  return { v4, v6 };
}

function nodeReady(o: KubeObject): boolean {
  const conds: unknown = o.status?.conditions;
  if (!Array.isArray(conds)) return false;
  return conds.some((c) => c?.type === "Ready" && c.status === "True");
}

function nodePodCIDRs(o: KubeObject, cni: Cni): string[] {
  const out = new Set<string>();
  const list: unknown = o.spec?.podCIDRs;
  if (Array.isArray(list)) for (const c of list) if (typeof c === "string") out.add(c);
  const single = str(o.spec?.podCIDR);
  if (single) out.add(single);
  if (cni === "cilium") {
    // cluster-pool IPAM leaves spec.podCIDR empty and records the node's range in annotations.
    const ann = o.metadata?.annotations ?? {};
    for (const k of [...CILIUM_POD_CIDR_ANNOTATIONS, ...CILIUM_POD_CIDR6_ANNOTATIONS]) {
      const v = str(ann[k]);
      if (v) out.add(v);
    }
  }
  if (cni === "kube-router") {
    const v = str(o.metadata?.annotations?.["kube-router.io/pod-cidr"]);
    if (v) out.add(v);
  }
  return [...out]
    .map((c) => canonicalCidr(c))
    .filter((c): c is string => !!c)
    .sort(compareCidrText);
}

function poolState(o: KubeObject): PoolState | undefined {
  const cidr = canonicalCidr(str(o.spec?.cidr) ?? "");
  if (!cidr) return undefined;
  const family = parseCidr(cidr)!.family;
  return {
    name: nameOf(o),
    cidr,
    blockSize:
      num(o.spec?.blockSize) ?? (family === 4 ? CALICO_DEFAULT_BLOCK_SIZE_V4 : CALICO_DEFAULT_BLOCK_SIZE_V6),
    ipipMode: str(o.spec?.ipipMode) ?? "Never",
    vxlanMode: str(o.spec?.vxlanMode) ?? "Never",
    natOutgoing: bool(o.spec?.natOutgoing) ?? false,
    disabled: bool(o.spec?.disabled) ?? false,
    disableBGPExport: bool(o.spec?.disableBGPExport) ?? false,
    nodeSelector: str(o.spec?.nodeSelector) ?? "all()",
  };
}

/** Well-known default service ranges, checked in order against the `kubernetes` Service ClusterIP. */
const KNOWN_SERVICE_RANGES: readonly [string, string][] = [
  ["10.96.0.0/12", "kubeadm default"],
  ["10.43.0.0/16", "k3s/RKE2 default"],
  ["10.152.183.0/24", "MicroK8s default"],
  ["10.100.0.0/16", "EKS default"],
  ["172.20.0.0/16", "EKS default"],
  ["10.0.0.0/16", "AKS default"],
];

/** Guess the service range from the kubernetes Service ClusterIP (the first address of the range). */
export function guessServiceCIDR(clusterIP: string): { cidr: string; why: string } | undefined {
  const ip = parseCidr(clusterIP);
  if (!ip) return undefined;
  for (const [range, why] of KNOWN_SERVICE_RANGES) {
    const r = parseCidr(range)!;
    if (containsCidr(r, ip)) return { cidr: range, why };
  }
  const cidr = networkOf(clusterIP, ip.family === 4 ? 16 : 112);
  return cidr ? { cidr, why: "no known default matched; a /16 around it" } : undefined;
}

function serviceCIDRs(
  objs: ClusterObjects,
  warnings: string[],
): { cidrs: string[]; source: ServiceCidrSource } {
  const fromApi = new Set<string>();
  // v1 and v1beta1 serve the same objects: take v1 when it has any, else v1beta1 (never both).
  const serviceCidrObjects = objs.serviceCIDRs.length > 0 ? objs.serviceCIDRs : objs.serviceCIDRsV1beta1;
  for (const o of serviceCidrObjects) {
    const list: unknown = o.spec?.cidrs;
    if (Array.isArray(list))
      for (const c of list) if (typeof c === "string" && canonicalCidr(c)) fromApi.add(canonicalCidr(c)!);
  }
  if (fromApi.size > 0) return { cidrs: [...fromApi].sort(compareCidrText), source: "servicecidr" };
  const fromBgp = new Set<string>();
  for (const o of objs.bgpConfigurations) {
    if (nameOf(o) !== "default") continue;
    const list: unknown = o.spec?.serviceClusterIPs;
    if (Array.isArray(list))
      for (const e of list) if (canonicalCidr(str(e?.cidr) ?? "")) fromBgp.add(canonicalCidr(e.cidr)!);
  }
  if (fromBgp.size > 0) return { cidrs: [...fromBgp].sort(compareCidrText), source: "bgpconfiguration" };
  const svc = objs.services.find((s) => nameOf(s) === "kubernetes");
  const ips: string[] = [];
  if (Array.isArray(svc?.spec?.clusterIPs))
    ips.push(...svc.spec.clusterIPs.filter((x: unknown) => typeof x === "string"));
  else if (str(svc?.spec?.clusterIP)) ips.push(svc!.spec.clusterIP);
  const guessed = new Set<string>();
  for (const ip of ips) {
    const g = guessServiceCIDR(ip);
    if (!g) continue;
    guessed.add(g.cidr);
    warnings.push(
      `service CIDR ${g.cidr} is a GUESS from the kubernetes Service ClusterIP ${ip} (${g.why}); ` +
        "set it explicitly (BGPConfiguration serviceClusterIPs or podgate config) to be sure",
    );
  }
  if (guessed.size > 0)
    return { cidrs: [...guessed].sort(compareCidrText), source: "kubernetes-service-guess" };
  return { cidrs: [], source: "none" };
}

const SERVICE_EXTERNAL_SOURCES: readonly ServiceExternalSource[] = [
  "serviceExternalIPs",
  "serviceLoadBalancerIPs",
];

/** BGPConfiguration `default` serviceExternalIPs / serviceLoadBalancerIPs, one entry per CIDR. */
function serviceExternalCIDRs(objs: ClusterObjects, warnings: string[]): ServiceExternalCidr[] {
  const bgpDefault = objs.bgpConfigurations.find((o) => nameOf(o) === "default");
  const byCidr = new Map<string, ServiceExternalSource[]>();
  for (const field of SERVICE_EXTERNAL_SOURCES) {
    const list: unknown = bgpDefault?.spec?.[field];
    if (!Array.isArray(list)) continue;
    for (const e of list) {
      const text = str(e?.cidr);
      const cidr = canonicalCidr(text ?? "");
      if (!cidr) {
        if (text) warnings.push(`BGPConfiguration default ${field} entry ${text} is not a CIDR; ignored`);
        continue;
      }
      const sources = byCidr.get(cidr) ?? [];
      if (!sources.includes(field)) sources.push(field);
      byCidr.set(cidr, sources);
    }
  }
  return [...byCidr.keys()].sort(compareCidrText).map((cidr) => ({ cidr, sources: byCidr.get(cidr)! }));
}

export function deriveClusterState(objs: ClusterObjects): ClusterState {
  const warnings: string[] = [];
  const cni = detectCni(objs);

  const bgpDefault = objs.bgpConfigurations.find((o) => nameOf(o) === "default");
  const clusterAsn = num(bgpDefault?.spec?.asNumber);
  const asn = clusterAsn ?? CALICO_DEFAULT_ASN;
  const meshEnabled = bool(bgpDefault?.spec?.nodeToNodeMeshEnabled) ?? true;

  // Blocks per node: deleted="true" affinities are being torn down and never count.
  const blocksByNode = new Map<string, BlockState[]>();
  for (const a of objs.blockAffinities) {
    if (a.spec?.deleted === "true" || a.spec?.deleted === true) continue;
    const node = str(a.spec?.node);
    const cidr = canonicalCidr(str(a.spec?.cidr) ?? "");
    if (!node || !cidr) continue;
    const list = blocksByNode.get(node) ?? [];
    list.push({ cidr, state: str(a.spec?.state) ?? "confirmed" });
    blocksByNode.set(node, list);
  }

  const nodes: NodeState[] = objs.nodes.map((o) => {
    const { v4, v6 } = nodeAddresses(o);
    const ann = o.metadata?.annotations ?? {};
    const calicoIPv4 = str(ann[ANNOTATION_CALICO_IPV4])?.split("/")[0];
    const override =
      num(ann[ANNOTATION_CALICO_ASN]) ??
      (cni === "kube-router" ? num(ann[ANNOTATION_KUBE_ROUTER_ASN]) : undefined);
    const name = nameOf(o);
    return {
      name,
      internalIP: v4 ?? v6,
      internalIPv6: v6,
      calicoIPv4: calicoIPv4 && parseAddr(calicoIPv4) ? calicoIPv4 : undefined,
      routeIP: (cni === "calico" && calicoIPv4 && parseAddr(calicoIPv4) ? calicoIPv4 : undefined) ?? v4 ?? v6,
      ready: nodeReady(o),
      labels: { ...(o.metadata?.labels ?? {}) },
      asn: override ?? asn,
      asnSource: override !== undefined ? "node-annotation" : "cluster",
      podCIDRs: nodePodCIDRs(o, cni),
      blocks: (blocksByNode.get(name) ?? []).sort((a, b) => compareCidrText(a.cidr, b.cidr)),
    };
  });
  nodes.sort(byName);
  const known = new Set(nodes.map((n) => n.name));
  for (const n of [...blocksByNode.keys()].sort()) {
    if (!known.has(n)) warnings.push(`BlockAffinity for unknown node ${n} ignored`);
  }

  const pools = objs.ipPools
    .map(poolState)
    .filter((p): p is PoolState => !!p)
    .sort(byName);
  const enabled = pools.filter((p) => !p.disabled);

  let podCIDRs: string[];
  let podCIDRsSource: ClusterState["podCIDRsSource"];
  if (enabled.length > 0) {
    podCIDRs = enabled.map((p) => p.cidr).sort(compareCidrText);
    podCIDRsSource = "ippools";
  } else {
    podCIDRs = [...new Set(nodes.flatMap((n) => n.podCIDRs))].sort(compareCidrText);
    podCIDRsSource = podCIDRs.length > 0 ? "node-podcidrs" : "none";
  }

  const bounds = (family: 4 | 6, dflt: number): BlockSizeBounds => {
    const sizes = enabled.filter((p) => parseCidr(p.cidr)!.family === family).map((p) => p.blockSize);
    return sizes.length > 0 ? { min: Math.min(...sizes), max: Math.max(...sizes) } : { min: dflt, max: dflt };
  };

  const svc = serviceCIDRs(objs, warnings);
  const svcExternal = serviceExternalCIDRs(objs, warnings);

  const bgpPeers: PeerState[] = objs.bgpPeers
    .map((o) => ({
      name: nameOf(o),
      peerIP: str(o.spec?.peerIP),
      asNumber: num(o.spec?.asNumber),
      node: str(o.spec?.node),
      nodeSelector: str(o.spec?.nodeSelector),
      peerSelector: str(o.spec?.peerSelector),
      hasPassword: o.spec?.password?.secretKeyRef !== undefined,
    }))
    .sort(byName);

  if (cni === "calico" && objs.ipPools.length === 0)
    warnings.push("Calico nodes but no IPPool objects visible (RBAC?)");
  if (cni === "unknown" && nodes.length > 0)
    warnings.push("CNI not recognised from node annotations or Calico CRDs");

  return {
    cni,
    asn,
    asnSource: clusterAsn !== undefined ? "bgpconfiguration" : "default",
    meshEnabled,
    nodes,
    pools,
    podCIDRs,
    podCIDRsSource,
    blockSize: { v4: bounds(4, CALICO_DEFAULT_BLOCK_SIZE_V4), v6: bounds(6, CALICO_DEFAULT_BLOCK_SIZE_V6) },
    serviceCIDRs: svc.cidrs,
    serviceCIDRsSource: svc.source,
    serviceExternalCIDRs: svcExternal,
    bgpPeers,
    warnings,
  };
}

/**
 * Every service range of the cluster: the ClusterIP ranges (`serviceCIDRs`), then the external /
 * LoadBalancer ranges (`serviceExternalCIDRs`) that no ClusterIP range already covers. What the
 * daemon treats as `cluster.serviceCIDRs` when the config leaves it empty.
 */
export function serviceRanges(state: ClusterState): string[] {
  const clusterIP = state.serviceCIDRs.map((c) => parseCidr(c)).filter((c) => c !== undefined);
  const external = state.serviceExternalCIDRs
    .map((e) => e.cidr)
    .filter((c) => !clusterIP.some((outer) => containsCidr(outer, parseCidr(c)!)));
  return [...state.serviceCIDRs, ...external];
}

// ------------------------------------------------------------------ desired peers

export interface DesiredPeer {
  /** Node name, or `rr-<address>` for an explicitly given route reflector address. */
  readonly name: string;
  readonly address: string;
  readonly asn: number;
  readonly node: string | undefined;
  /** Node Ready condition (informational: a NotReady node's BIRD may still route). */
  readonly ready: boolean;
}

export interface DesiredPeerOptions {
  /** Calico selector over node labels: only these nodes peer with the gateway. */
  readonly nodeSelector?: string;
  /**
   * Route reflectors: a Calico selector over node labels (in-cluster RRs), or explicit
   * addresses (external RRs, cluster AS). When set, the gateway peers only with them.
   */
  readonly routeReflectors?: string | readonly string[];
}

/**
 * BGP sessions the gateway should hold toward the cluster. Calico and kube-router speak BGP;
 * for other CNIs the answer is [] (use staticRoutes). Nodes are kept whatever their Ready
 * condition: the session's hold timer judges liveness, and dropping a peer on a kubelet
 * hiccup would churn sessions. Nodes without an address are skipped. Sorted by name.
 */
export function desiredPeers(state: ClusterState, opts: DesiredPeerOptions = {}): DesiredPeer[] {
  if (state.cni !== "calico" && state.cni !== "kube-router") return [];
  const rr = opts.routeReflectors;
  if (Array.isArray(rr)) {
    return [...new Set(rr as readonly string[])]
      .filter((a) => parseAddr(a))
      .sort(compareAddrText)
      .map((address) => ({ name: `rr-${address}`, address, asn: state.asn, node: undefined, ready: true }));
  }
  const selectors = [opts.nodeSelector, typeof rr === "string" ? rr : undefined]
    .filter((s): s is string => s !== undefined)
    .map(parseSelector);
  const out: DesiredPeer[] = [];
  for (const n of state.nodes) {
    if (!selectors.every((s) => s(n.labels))) continue;
    const address = n.calicoIPv4 ?? n.internalIP;
    if (!address) continue;
    out.push({ name: n.name, address, asn: n.asn, node: n.name, ready: n.ready });
  }
  return out.sort(byName);
}

// ------------------------------------------------------------------ static routes

export type StaticRouteKind = "calico-block" | "pod-cidr" | "service-cidr" | "service-external";

export interface StaticRoute {
  readonly prefix: string;
  /** One next hop, or several for ECMP (service CIDRs). Sorted. */
  readonly nextHops: readonly string[];
  readonly kind: StaticRouteKind;
  /** The node owning the prefix (pod routes only). */
  readonly node: string | undefined;
}

function nextHopFor(n: NodeState, family: 4 | 6): string | undefined {
  if (family === 4) {
    const ip = n.routeIP ?? n.internalIP;
    return ip && parseAddr(ip)?.family === 4 ? ip : undefined;
  }
  return n.internalIPv6;
}

/**
 * Routes for a gateway that does not (or cannot) learn them over BGP:
 * Calico: each confirmed block affinity of a Ready node → that node;
 * Flannel / Cilium / kube-router / unknown: each Ready node's podCIDRs → that node;
 * every service range (ClusterIP, external and LoadBalancer IP ranges) → ECMP over all Ready
 * nodes (kube-proxy on any node answers them; externalTrafficPolicy Cluster).
 * A prefix claimed by two nodes goes to the first by name (a block moving between nodes).
 */
export function staticRoutes(state: ClusterState): StaticRoute[] {
  const routes = new Map<string, StaticRoute>();
  const ready = state.nodes.filter((n) => n.ready);
  for (const n of ready) {
    const prefixes =
      state.cni === "calico"
        ? n.blocks.filter((b) => b.state === "confirmed").map((b) => b.cidr)
        : n.podCIDRs;
    for (const prefix of prefixes) {
      if (routes.has(prefix)) continue;
      const nh = nextHopFor(n, parseCidr(prefix)!.family);
      if (!nh) continue;
      routes.set(prefix, {
        prefix,
        nextHops: [nh],
        kind: state.cni === "calico" ? "calico-block" : "pod-cidr",
        node: n.name,
      });
    }
  }
  const clusterIP = new Set(state.serviceCIDRs);
  for (const prefix of serviceRanges(state)) {
    const family = parseCidr(prefix)!.family;
    const hops = [...new Set(ready.map((n) => nextHopFor(n, family)).filter((h): h is string => !!h))].sort(
      compareAddrText,
    );
    if (hops.length === 0 || routes.has(prefix)) continue;
    const kind = clusterIP.has(prefix) ? "service-cidr" : "service-external";
    routes.set(prefix, { prefix, nextHops: hops, kind, node: undefined });
  }
  return [...routes.values()].sort((a, b) => compareCidrText(a.prefix, b.prefix));
}
