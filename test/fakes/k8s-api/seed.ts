/**
 * Seed objects for the fake Kubernetes API, shaped like what a real cluster serves: Nodes with
 * status.addresses / status.conditions / spec.podCIDR(s) and the annotations Calico, Flannel and
 * Cilium put on them; Calico's v1 CRDs exactly as stored (BlockAffinity spec.deleted is the
 * STRING "false", names like `<node>-10-244-1-0-26`). Builders are plain functions so tests can
 * make variants; `seedCalico` / `seedFlannel` / `seedCilium` fill a FakeKubeApi.
 */
import type { FakeKubeApi, KObject } from "./server.ts";

export interface NodeSeed {
  name: string;
  ip: string;
  ready?: boolean;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  podCIDRs?: string[];
}

export function node(s: NodeSeed): KObject {
  const labels = {
    "beta.kubernetes.io/arch": "amd64",
    "beta.kubernetes.io/os": "linux",
    "kubernetes.io/arch": "amd64",
    "kubernetes.io/hostname": s.name,
    "kubernetes.io/os": "linux",
    ...s.labels,
  };
  const spec: Record<string, unknown> = {};
  if (s.podCIDRs && s.podCIDRs.length > 0) {
    spec["podCIDR"] = s.podCIDRs[0];
    spec["podCIDRs"] = s.podCIDRs;
  }
  const ready = s.ready ?? true;
  return {
    metadata: {
      name: s.name,
      labels,
      annotations: {
        "kubeadm.alpha.kubernetes.io/cri-socket": "unix:///var/run/containerd/containerd.sock",
        "node.alpha.kubernetes.io/ttl": "0",
        "volumes.kubernetes.io/controller-managed-attach-detach": "true",
        ...s.annotations,
      },
    },
    spec,
    status: {
      addresses: [
        { type: "InternalIP", address: s.ip },
        { type: "Hostname", address: s.name },
      ],
      conditions: [
        {
          type: "MemoryPressure",
          status: "False",
          reason: "KubeletHasSufficientMemory",
          lastHeartbeatTime: "2025-01-01T00:00:00Z",
          lastTransitionTime: "2025-01-01T00:00:00Z",
          message: "kubelet has sufficient memory available",
        },
        {
          type: "Ready",
          status: ready ? "True" : "Unknown",
          reason: ready ? "KubeletReady" : "NodeStatusUnknown",
          lastHeartbeatTime: "2025-01-01T00:00:00Z",
          lastTransitionTime: "2025-01-01T00:00:00Z",
          message: ready ? "kubelet is posting ready status" : "Kubelet stopped posting node status.",
        },
      ],
      nodeInfo: { kubeletVersion: "v1.30.4", containerRuntimeVersion: "containerd://1.7.20" },
    },
  };
}

export function calicoNode(
  name: string,
  ip: string,
  opts: Partial<NodeSeed> & { asn?: number } = {},
): KObject {
  const annotations: Record<string, string> = {
    "projectcalico.org/IPv4Address": `${ip}/24`,
    "projectcalico.org/IPv4IPIPTunnelAddr": "172.16.0.1",
    ...opts.annotations,
  };
  if (opts.asn !== undefined) annotations["projectcalico.org/ASNumber"] = String(opts.asn);
  return node({ name, ip, ...opts, annotations });
}

export function flannelNode(
  name: string,
  ip: string,
  podCIDR: string,
  opts: Partial<NodeSeed> = {},
): KObject {
  return node({
    name,
    ip,
    podCIDRs: [podCIDR],
    ...opts,
    annotations: {
      "flannel.alpha.coreos.com/backend-data": '{"VNI":1,"VtepMAC":"5a:0e:3b:6c:1d:22"}',
      "flannel.alpha.coreos.com/backend-type": "vxlan",
      "flannel.alpha.coreos.com/kube-subnet-manager": "true",
      "flannel.alpha.coreos.com/public-ip": ip,
      ...opts.annotations,
    },
  });
}

/** Cilium in cluster-pool IPAM mode: the pod CIDR is in an annotation, node.spec.podCIDR is unset. */
export function ciliumNode(name: string, ip: string, podCIDR: string, opts: Partial<NodeSeed> = {}): KObject {
  return node({
    name,
    ip,
    ...opts,
    annotations: {
      "network.cilium.io/ipv4-cilium-host": podCIDR.replace(/\.0\/\d+$/, ".1"),
      "network.cilium.io/ipv4-health-ip": podCIDR.replace(/\.0\/\d+$/, ".2"),
      "network.cilium.io/ipv4-pod-cidr": podCIDR,
      ...opts.annotations,
    },
  });
}

/** Calico's BlockAffinity name: node name, then the CIDR with dots and the slash as dashes. */
export function blockAffinityName(nodeName: string, cidr: string): string {
  return `${nodeName}-${cidr.replace(/[./:]/g, "-")}`;
}

export function blockAffinity(
  nodeName: string,
  cidr: string,
  state: "confirmed" | "pending" | "pendingDeletion" = "confirmed",
  deleted: "false" | "true" = "false",
): KObject {
  return {
    metadata: {
      name: blockAffinityName(nodeName, cidr),
      labels: { "projectcalico.org/node": nodeName },
      annotations: {},
    },
    spec: { cidr, deleted, node: nodeName, state },
  };
}

export function ipPool(name: string, cidr: string, extra: Record<string, unknown> = {}): KObject {
  return {
    metadata: { name, annotations: {} },
    spec: {
      allowedUses: ["Workload", "Tunnel"],
      blockSize: 26,
      cidr,
      ipipMode: "Always",
      natOutgoing: true,
      nodeSelector: "all()",
      vxlanMode: "Never",
      ...extra,
    },
  };
}

export function bgpConfiguration(spec: Record<string, unknown>): KObject {
  return { metadata: { name: "default" }, spec: { logSeverityScreen: "Info", ...spec } };
}

export function bgpPeer(name: string, spec: Record<string, unknown>): KObject {
  return { metadata: { name }, spec };
}

export function kubernetesService(clusterIP = "10.96.0.1"): KObject {
  return {
    metadata: {
      name: "kubernetes",
      labels: { component: "apiserver", provider: "kubernetes" },
    },
    spec: {
      clusterIP,
      clusterIPs: [clusterIP],
      internalTrafficPolicy: "Cluster",
      ipFamilies: ["IPv4"],
      ipFamilyPolicy: "SingleStack",
      ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: 6443 }],
      sessionAffinity: "None",
      type: "ClusterIP",
    },
    status: { loadBalancer: {} },
  };
}

export function serviceCIDR(name: string, cidrs: string[]): KObject {
  return {
    metadata: { name },
    spec: { cidrs },
    status: {
      conditions: [
        {
          type: "Ready",
          status: "True",
          reason: "",
          message: "",
          lastTransitionTime: "2025-01-01T00:00:00Z",
        },
      ],
    },
  };
}

/** Three Calico nodes (one not Ready), one pool 172.16.0.0/16, blocks as in the field notes. */
export function seedCalico(api: FakeKubeApi): void {
  api.apply(
    "nodes",
    calicoNode("master1", "192.168.40.100", { labels: { "node-role.kubernetes.io/control-plane": "" } }),
  );
  api.apply("nodes", calicoNode("node1", "192.168.40.101", { labels: { "podgate.io/peer": "true" } }));
  api.apply(
    "nodes",
    calicoNode("node2", "192.168.40.102", { labels: { "podgate.io/peer": "true" }, asn: 64600 }),
  );
  api.apply("nodes", calicoNode("node3", "192.168.40.103", { ready: false }));
  api.apply("services", kubernetesService("10.96.0.1"));
  api.apply("ippools", ipPool("default-ipv4-ippool", "172.16.0.0/16"));
  api.apply("blockaffinities", blockAffinity("master1", "172.16.137.64/26"));
  api.apply("blockaffinities", blockAffinity("node1", "172.16.32.128/26"));
  api.apply("blockaffinities", blockAffinity("node2", "172.16.58.192/26"));
  api.apply("blockaffinities", blockAffinity("node3", "172.16.1.0/26"));
  api.apply(
    "bgpconfigurations",
    bgpConfiguration({
      asNumber: 64512,
      nodeToNodeMeshEnabled: true,
      serviceClusterIPs: [{ cidr: "10.96.0.0/12" }],
    }),
  );
  api.apply("bgppeers", bgpPeer("office-router", { peerIP: "192.168.40.1", asNumber: 65000 }));
}

/** Flannel: no Calico CRDs served (404), node podCIDRs from 10.244.0.0/16, no ServiceCIDR API. */
export function seedFlannel(api: FakeKubeApi): void {
  for (const r of [
    "ippools",
    "blockaffinities",
    "bgpconfigurations",
    "bgppeers",
    "servicecidrs",
    "servicecidrsV1beta1",
  ] as const) {
    api.setServed(r, false);
  }
  api.apply("nodes", flannelNode("f1", "10.0.0.11", "10.244.0.0/24"));
  api.apply("nodes", flannelNode("f2", "10.0.0.12", "10.244.1.0/24"));
  api.apply("services", kubernetesService("10.96.0.1"));
}

export function seedCilium(api: FakeKubeApi): void {
  for (const r of ["ippools", "blockaffinities", "bgpconfigurations", "bgppeers"] as const)
    api.setServed(r, false);
  api.apply("nodes", ciliumNode("c1", "10.1.0.11", "10.0.0.0/24"));
  api.apply("nodes", ciliumNode("c2", "10.1.0.12", "10.0.1.0/24"));
  api.apply("services", kubernetesService("10.43.0.1"));
  api.apply("servicecidrs", serviceCIDR("kubernetes", ["10.43.0.0/16"]));
}

/**
 * Kubernetes 1.31/1.32 with MultiCIDRServiceAllocator: ServiceCIDR served only as
 * networking.k8s.io/v1beta1 (v1 answers 404). Cilium nodes, so nothing else names a service range.
 */
export function seedServiceCIDRV1beta1Only(api: FakeKubeApi): void {
  for (const r of ["ippools", "blockaffinities", "bgpconfigurations", "bgppeers", "servicecidrs"] as const)
    api.setServed(r, false);
  api.apply("nodes", ciliumNode("c1", "10.1.0.11", "10.0.0.0/24"));
  api.apply("nodes", ciliumNode("c2", "10.1.0.12", "10.0.1.0/24"));
  api.apply("services", kubernetesService("10.43.0.1"));
  api.apply("servicecidrsV1beta1", serviceCIDR("kubernetes", ["10.43.0.0/16"]));
}
