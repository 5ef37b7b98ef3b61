/**
 * The demo's topology as data: names, addresses, AS numbers, the routes each Calico node
 * announces, and podgate's configuration file. Everything here lives inside the demo's network
 * namespaces; names are fixed (`pgdemo-*`, /run/podgate-demo) so `npm run demo -- down` can find
 * a demo started from another shell.
 */

/** Namespace name prefix: every namespace the demo makes is `pgdemo-<name>`. */
export const DEMO_PREFIX = "pgdemo";
/** Configs, control sockets, pid files and logs of every daemon in the demo. */
export const DEMO_DIR = "/run/podgate-demo";
/** The demo process's pid, so `down` from another shell can stop it. */
export const DEMO_PID_FILE = `${DEMO_DIR}/demo.pid`;
export const PODGATE_SOCKET = `${DEMO_DIR}/podgate.sock`;
export const PODGATE_CONFIG = `${DEMO_DIR}/podgate.yaml`;
export const PODGATE_LOG = `${DEMO_DIR}/podgate.log`;

/** Calico's default AS: the nodes and podgate speak iBGP. */
export const CLUSTER_AS = 64512;
export const OFFICE_AS = 65010;

/** Cluster LAN 192.168.40.0/24 (as in the field notes). */
export const GW_CLUSTER_IP = "192.168.40.10";
/** The cluster LAN's router: only the nodes' default route points at it; it does not exist. */
export const CLUSTER_LAN_ROUTER = "192.168.40.1";
/** Gateway ↔ office router link. */
export const GW_TRANSIT_IP = "192.168.50.2";
export const OFFICE_TRANSIT_IP = "192.168.50.1";
/** Office LAN. */
export const OFFICE_LAN = "10.10.0.0/24";
export const OFFICE_LAN_IP = "10.10.0.1";
export const LAPTOP_IP = "10.10.0.50";

export const POD_CIDR = "10.244.0.0/16";
/** Service ClusterIP range; every node announces it (Calico's serviceClusterIPs). */
export const SERVICE_CIDR = "10.96.0.0/12";
/** Each pod runs a tiny HTTP server on this port that answers with the pod's name. */
export const POD_HTTP_PORT = 8080;
/**
 * The emulated Service (like kube-dns's address): ClusterIP 10.96.0.10:80 → pod2:8080, DNATed by
 * nft on every node the way kube-proxy does it, so it answers whichever node the gateway picks.
 */
export const CLUSTER_IP = "10.96.0.10";
export const CLUSTER_IP_PORT = 80;

export interface DemoNode {
  name: string;
  ip: string;
  /** /26 blocks affine to this node (blackholes in its kernel, announced over BGP). */
  blocks: string[];
  /** One pod on this node: a namespace with a /32 behind a veth with proxy ARP. */
  pod: { name: string; ip: string };
}

export const NODES: readonly DemoNode[] = [
  { name: "node1", ip: "192.168.40.101", blocks: ["10.244.1.0/26"], pod: { name: "pod1", ip: "10.244.1.2" } },
  {
    name: "node2",
    ip: "192.168.40.102",
    blocks: ["10.244.2.0/26", "10.244.2.64/26"],
    pod: { name: "pod2", ip: "10.244.2.2" },
  },
  { name: "node3", ip: "192.168.40.103", blocks: ["10.244.3.0/26"], pod: { name: "pod3", ip: "10.244.3.2" } },
];

/** The Service's backend pod (pod2 on node2). */
export const SERVICE_BACKEND: DemoNode = NODES[1]!;

/** What podgate must learn from the cluster: prefix → next hops (the nodes announcing it). */
export function expectedClusterRoutes(): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const n of NODES) for (const b of n.blocks) m.set(b, [n.ip]);
  m.set(
    SERVICE_CIDR,
    NODES.map((n) => n.ip),
  );
  return m;
}

/** podgate's configuration in the demo (written to PODGATE_CONFIG, shown in docs/demo.md). */
export function podgateConfig(): string {
  const nodes = NODES.map(
    (n) => `  - name: ${n.name}
    address: ${n.ip}
    asn: ${CLUSTER_AS}
    addPath: receive
    import: from-cluster
    export: to-cluster
`,
  ).join("");
  return `# podgate in the demo: iBGP with three Calico nodes, eBGP with the office router.
routerId: ${GW_CLUSTER_IP}
asn: ${CLUSTER_AS}

defaults:
  connectRetryTime: 2

peers:
${nodes}  - name: office-router
    address: ${OFFICE_TRANSIT_IP}
    asn: ${OFFICE_AS}
    holdTime: 9
    import: from-office
    export: to-office

prefixLists:
  pods:
    - { prefix: ${POD_CIDR}, ge: 26, le: 32 }
  services:
    - { prefix: ${SERVICE_CIDR}, le: 32 }
  office:
    - { prefix: ${OFFICE_LAN}, le: 32 }

policies:
  # From the nodes: pod blocks (/26) and pod /32s, the service range. Nothing else.
  from-cluster:
    - { name: pods, match: { prefixList: pods }, action: accept }
    - { name: services, match: { prefixList: services }, action: accept }
  # To the office router: the cluster routes (next hop = this gateway, the office default).
  to-office:
    - { name: pods, match: { prefixList: pods }, action: accept }
    - { name: services, match: { prefixList: services }, action: accept }
  # From the office router: the office LAN only.
  from-office:
    - { name: office, match: { prefixList: office }, action: accept }
  # To the nodes: the office LAN via this gateway, so replies from pods find their way back.
  to-cluster:
    - { name: office, match: { prefixList: office }, set: { nextHop: self }, action: accept }

api:
  socket: ${PODGATE_SOCKET}

log:
  level: info
`;
}
