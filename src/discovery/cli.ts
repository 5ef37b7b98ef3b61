/**
 * `podgate discover` (one-shot list of the cluster, a readable summary or --json) and
 * `podgate render calico` (argument parsing and optional discovery around the pure renderer in
 * src/render/calico.ts). Both take --kubeconfig; without it the usual lookup applies
 * ($KUBECONFIG, ~/.kube/config, in-cluster service account). `podgate audit` asks the running
 * daemon (GET /v1/audit) and renders the findings of src/discovery/audit.ts.
 */
import { parseArgs } from "node:util";
import { apiRequest } from "../api/client.ts";
import { renderTable } from "../cli/table.ts";
import { type CalicoApiVersion, CalicoRenderError, renderCalico } from "../render/calico.ts";
import { type AuditJson, formatAudit } from "./audit.ts";
import { describeError, listClusterObjects, loadKubeConfig, type ResourceKey } from "./kube.ts";
import { type ClusterState, deriveClusterState, desiredPeers, staticRoutes } from "./model.ts";

export interface DiscoveryIo {
  /** Writes exactly the text given (callers add newlines). */
  out(s: string): void;
  err(s: string): void;
}

export const DISCOVER_USAGE = `usage: podgate discover [--kubeconfig FILE] [--json] [--node-selector S] [--route-reflectors S]

Lists nodes, IP pools, blocks per node, AS, service CIDRs and external/LoadBalancer ranges, mesh,
existing BGPPeers once (no watch), and what podgate would do with them (BGP peers, static routes).
`;

export const RENDER_CALICO_USAGE = `usage: podgate render calico --gateway-ip IP [options]

options:
  --asn N                    the gateway's AS (default: the cluster AS, iBGP)
  --node-selector S          only nodes matching this Calico selector peer (default: global peer)
  --password-secret NAME/KEY TCP-MD5 password from this Secret in the calico-node namespace
  --calico-namespace NS      where calico-node runs (default calico-system; manifests: kube-system)
  --office-prefix CIDR       office range as a disabled IPPool (no SNAT toward it), repeatable
  --ipip                     nodes reach the gateway over IPIP (Felix externalNodesList, IPIP office pools)
  --service-cidr CIDR        service range for BGPConfiguration serviceClusterIPs, repeatable
  --api-version V            crd.projectcalico.org/v1 (default) or projectcalico.org/v3
  --kubeconfig FILE          read AS, pools and service CIDRs from the cluster
  --offline                  do not contact the cluster
`;

function formatState(
  s: ClusterState,
  notServed: readonly ResourceKey[],
  peerOpts: Parameters<typeof desiredPeers>[1],
): string {
  const lines: string[] = [];
  lines.push(
    `CNI: ${s.cni}    AS ${s.asn} (${s.asnSource === "default" ? "Calico default" : "BGPConfiguration"})    node-to-node mesh: ${s.meshEnabled ? "on" : "off"}`,
  );
  const podSrc = { ippools: "enabled IPPools", "node-podcidrs": "node podCIDRs", none: "unknown" }[
    s.podCIDRsSource
  ];
  lines.push(`Pod CIDRs (${podSrc}): ${s.podCIDRs.join(", ") || "-"}`);
  const svcSrc = {
    servicecidr: "ServiceCIDR objects",
    bgpconfiguration: "BGPConfiguration serviceClusterIPs",
    "kubernetes-service-guess": "GUESSED from the kubernetes Service ClusterIP",
    none: "unknown",
  }[s.serviceCIDRsSource];
  lines.push(`Service CIDRs (${svcSrc}): ${s.serviceCIDRs.join(", ") || "-"}`);
  if (s.serviceExternalCIDRs.length > 0)
    lines.push(
      `Service external/LoadBalancer ranges (BGPConfiguration): ${s.serviceExternalCIDRs
        .map((e) => `${e.cidr} (${e.sources.join(", ")})`)
        .join(", ")}`,
    );
  if (s.cni === "calico")
    lines.push(
      `Block size: IPv4 /${s.blockSize.v4.min}${s.blockSize.v4.max !== s.blockSize.v4.min ? `../${s.blockSize.v4.max}` : ""}, IPv6 /${s.blockSize.v6.min}${s.blockSize.v6.max !== s.blockSize.v6.min ? `../${s.blockSize.v6.max}` : ""}`,
    );
  if (s.pools.length > 0) {
    lines.push("", "IP pools:");
    lines.push(
      renderTable(
        ["NAME", "CIDR", "BLOCK", "IPIP", "VXLAN", "NAT OUT", "DISABLED", "BGP EXPORT", "NODES"],
        s.pools.map((p) => [
          p.name,
          p.cidr,
          `/${p.blockSize}`,
          p.ipipMode,
          p.vxlanMode,
          p.natOutgoing ? "yes" : "no",
          p.disabled ? "yes" : "no",
          p.disableBGPExport ? "no" : "yes",
          p.nodeSelector,
        ]),
      ),
    );
  }
  lines.push("", "Nodes:");
  lines.push(
    renderTable(
      ["NAME", "ADDRESS", "READY", "AS", s.cni === "calico" ? "BLOCKS" : "POD CIDRS"],
      s.nodes.map((n) => [
        n.name,
        n.routeIP ?? "-",
        n.ready ? "Ready" : "NotReady",
        `${n.asn}${n.asnSource === "node-annotation" ? " (node)" : ""}`,
        s.cni === "calico"
          ? n.blocks.map((b) => (b.state === "confirmed" ? b.cidr : `${b.cidr} (${b.state})`)).join(" ") ||
            "-"
          : n.podCIDRs.join(" ") || "-",
      ]),
    ),
  );
  if (s.bgpPeers.length > 0) {
    lines.push("", "Existing BGPPeers:");
    lines.push(
      renderTable(
        ["NAME", "PEER IP", "AS", "SCOPE", "PASSWORD"],
        s.bgpPeers.map((p) => [
          p.name,
          p.peerIP ?? (p.peerSelector ? `peers: ${p.peerSelector}` : "-"),
          p.asNumber === undefined ? "-" : String(p.asNumber),
          p.node ? `node ${p.node}` : p.nodeSelector ? `nodes ${p.nodeSelector}` : "global",
          p.hasPassword ? "secretKeyRef" : "none",
        ]),
      ),
    );
  } else if (s.cni === "calico") {
    lines.push("", "Existing BGPPeers: none");
  }
  const peers = desiredPeers(s, peerOpts);
  const routes = staticRoutes(s);
  lines.push(
    "",
    peers.length > 0
      ? `podgate would peer with ${peers.length} node(s): ${peers.map((p) => `${p.address} AS ${p.asn}`).join(", ")}`
      : "podgate would not peer over BGP (CNI without BGP): static routes instead",
  );
  lines.push(`Static routes (fallback / non-BGP): ${routes.length}`);
  for (const r of routes)
    lines.push(
      `  ${r.prefix} via ${r.nextHops.join(", ")}${r.node ? ` (${r.node})` : r.kind === "service-external" ? " (external/LoadBalancer range)" : ""}`,
    );
  if (notServed.length > 0) lines.push("", `Not served by this API server: ${notServed.join(", ")}`);
  if (s.warnings.length > 0) {
    lines.push("", "Warnings:");
    for (const w of s.warnings) lines.push(`  ! ${w}`);
  }
  return `${lines.join("\n")}\n`;
}

export async function runDiscover(argv: readonly string[], io: DiscoveryIo): Promise<number> {
  let values: {
    kubeconfig?: string | undefined;
    json?: boolean | undefined;
    "node-selector"?: string | undefined;
    "route-reflectors"?: string | undefined;
    help?: boolean | undefined;
  };
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        kubeconfig: { type: "string" },
        json: { type: "boolean" },
        "node-selector": { type: "string" },
        "route-reflectors": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (e) {
    io.err(`podgate discover: ${(e as Error).message}\n\n${DISCOVER_USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(DISCOVER_USAGE);
    return 0;
  }
  let listed: Awaited<ReturnType<typeof listClusterObjects>>;
  try {
    listed = await listClusterObjects(loadKubeConfig(values.kubeconfig));
  } catch (e) {
    io.err(`podgate discover: ${describeError(e)}\n`);
    return 1;
  }
  const state = deriveClusterState(listed.objects);
  const peerOpts = {
    ...(values["node-selector"] !== undefined ? { nodeSelector: values["node-selector"] } : {}),
    ...(values["route-reflectors"] !== undefined ? { routeReflectors: values["route-reflectors"] } : {}),
  };
  try {
    if (values.json) {
      const json = {
        state,
        notServed: listed.notServed,
        desiredPeers: desiredPeers(state, peerOpts),
        staticRoutes: staticRoutes(state),
      };
      io.out(`${JSON.stringify(json, null, 2)}\n`);
    } else {
      io.out(formatState(state, listed.notServed, peerOpts));
    }
  } catch (e) {
    io.err(`podgate discover: ${(e as Error).message}\n`);
    return 2;
  }
  return 0;
}

export async function runRenderCalico(argv: readonly string[], io: DiscoveryIo): Promise<number> {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        "gateway-ip": { type: "string" },
        asn: { type: "string" },
        "node-selector": { type: "string" },
        "password-secret": { type: "string" },
        "calico-namespace": { type: "string" },
        "office-prefix": { type: "string", multiple: true },
        ipip: { type: "boolean" },
        "service-cidr": { type: "string", multiple: true },
        "api-version": { type: "string" },
        kubeconfig: { type: "string" },
        offline: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (e) {
    io.err(`podgate render calico: ${(e as Error).message}\n\n${RENDER_CALICO_USAGE}`);
    return 2;
  }
  if (values["help"]) {
    io.out(RENDER_CALICO_USAGE);
    return 0;
  }
  const gatewayIP = values["gateway-ip"] as string | undefined;
  if (!gatewayIP) {
    io.err(`podgate render calico: --gateway-ip is required\n\n${RENDER_CALICO_USAGE}`);
    return 2;
  }
  const asnText = values["asn"] as string | undefined;
  if (asnText !== undefined && !/^\d+$/.test(asnText)) {
    io.err("podgate render calico: --asn must be a plain integer (asdot 1.10 is written 65546)\n");
    return 2;
  }
  const secretText = values["password-secret"] as string | undefined;
  let passwordSecret: { name: string; key: string } | undefined;
  if (secretText !== undefined) {
    const [name, key, extra] = secretText.split("/");
    if (!name || !key || extra !== undefined) {
      io.err("podgate render calico: --password-secret must be NAME/KEY\n");
      return 2;
    }
    passwordSecret = { name, key };
  }
  const apiVersion = (values["api-version"] as string | undefined) ?? "crd.projectcalico.org/v1";
  if (apiVersion !== "crd.projectcalico.org/v1" && apiVersion !== "projectcalico.org/v3") {
    io.err("podgate render calico: --api-version is crd.projectcalico.org/v1 or projectcalico.org/v3\n");
    return 2;
  }

  let state: ClusterState | undefined;
  if (!values["offline"]) {
    try {
      const { objects } = await listClusterObjects(
        loadKubeConfig(values["kubeconfig"] as string | undefined),
        {
          timeoutMs: 10_000,
        },
      );
      state = deriveClusterState(objects);
      if (state.cni !== "calico")
        io.err(`warning: the cluster does not look like Calico (CNI: ${state.cni})\n`);
    } catch (e) {
      io.err(`warning: cluster not read (${describeError(e)}); using defaults. --offline silences this.\n`);
    }
  }
  let serviceCIDRs = values["service-cidr"] as string[] | undefined;
  let serviceCIDRsNote: string | undefined;
  if (!serviceCIDRs && state && state.serviceCIDRs.length > 0) {
    serviceCIDRs = [...state.serviceCIDRs];
    serviceCIDRsNote =
      state.serviceCIDRsSource === "kubernetes-service-guess"
        ? "GUESSED from the kubernetes Service ClusterIP; check kube-apiserver --service-cluster-ip-range"
        : `read from the cluster (${state.serviceCIDRsSource})`;
    if (state.serviceCIDRsSource === "kubernetes-service-guess") {
      io.err(`warning: service CIDR ${serviceCIDRs.join(", ")} is a guess; pass --service-cidr to be sure\n`);
    }
  }
  try {
    const text = renderCalico({
      gatewayIP,
      ...(asnText !== undefined ? { gatewayAsn: Number(asnText) } : {}),
      ...(state ? { clusterAsn: state.asn, existingPools: state.pools.map((p) => p.cidr) } : {}),
      ...(values["node-selector"] !== undefined ? { nodeSelector: values["node-selector"] as string } : {}),
      ...(passwordSecret ? { passwordSecret } : {}),
      ...(values["calico-namespace"] !== undefined
        ? { calicoNamespace: values["calico-namespace"] as string }
        : {}),
      ...(serviceCIDRs ? { serviceCIDRs } : {}),
      ...(serviceCIDRsNote ? { serviceCIDRsNote } : {}),
      ...(values["office-prefix"] ? { officePrefixes: values["office-prefix"] as string[] } : {}),
      ...(values["ipip"] ? { ipip: true } : {}),
      apiVersion: apiVersion as CalicoApiVersion,
    });
    io.out(text);
    return 0;
  } catch (e) {
    if (e instanceof CalicoRenderError) {
      io.err(`podgate render calico: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

export const AUDIT_USAGE = `usage: podgate audit [--socket PATH] [--json]

Compares what each node should advertise (Kubernetes API: BlockAffinities, IPPools, Ready nodes)
with what BGP delivered to the running daemon, and says what to fix. Exit status: 0 no errors,
3 at least one error finding, 1 the daemon cannot be reached, 2 bad usage.
`;

/** Exit status of `podgate audit` when at least one finding is an error (1 is "daemon unreachable"). */
export const AUDIT_EXIT_ERRORS = 3;

export async function runAudit(
  argv: readonly string[],
  io: DiscoveryIo,
  opts: { defaultSocket?: string } = {},
): Promise<number> {
  let values: { socket?: string | undefined; json?: boolean | undefined; help?: boolean | undefined };
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        socket: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (e) {
    io.err(`podgate audit: ${(e as Error).message}\n\n${AUDIT_USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(AUDIT_USAGE);
    return 0;
  }
  const socket =
    values.socket ?? process.env["PODGATE_SOCKET"] ?? opts.defaultSocket ?? "/run/podgate/podgate.sock";
  let body: AuditJson;
  try {
    body = await apiRequest<AuditJson>(socket, "GET", "/v1/audit");
  } catch (e) {
    io.err(`podgate audit: ${(e as Error).message}\n`);
    return 1;
  }
  if (!Array.isArray(body?.findings)) {
    io.err("podgate audit: the daemon's answer has no findings (older podgate without /v1/audit?)\n");
    return 1;
  }
  io.out(values.json ? `${JSON.stringify(body, null, 2)}\n` : formatAudit(body.findings));
  return body.findings.some((f) => f.severity === "error") ? AUDIT_EXIT_ERRORS : 0;
}
