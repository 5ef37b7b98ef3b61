/**
 * `podgate render calico`: the Calico resources a cluster needs so that its nodes peer with the
 * podgate gateway, as multi-document YAML for `kubectl apply -f -`. Pure: options in, text out.
 *
 * Documents (field names as in Calico's CRDs, crd.projectcalico.org/v1 by default; the same
 * spec works as projectcalico.org/v3 through calicoctl or the Calico API server):
 * - BGPPeer: global, or for the nodes matching a selector; TCP-MD5 password by secretKeyRef
 *   (plus the Role/RoleBinding calico-node needs to read that Secret);
 * - BGPConfiguration "default" (merge): serviceClusterIPs, so nodes advertise the service range;
 * - one disabled IPPool per office prefix: keeps natOutgoing from SNATing office-bound traffic
 *   (and with --ipip makes nodes reach the office through IPIP to the gateway);
 * - with --ipip: FelixConfiguration "default" externalNodesList with the gateway, or Felix drops
 *   IPIP packets from a host that is not a Calico node.
 */
import { stringify } from "yaml";
import { bitsOf, canonicalCidr, formatCidr, overlaps, parseAddr, parseCidr } from "../discovery/cidr.ts";
import { CALICO_DEFAULT_ASN } from "../discovery/model.ts";
import { parseSelector } from "../discovery/selector.ts";

export type CalicoApiVersion = "crd.projectcalico.org/v1" | "projectcalico.org/v3";

export interface CalicoRenderOptions {
  /** Address calico-node's BIRD connects to (the gateway). */
  readonly gatewayIP: string;
  /** The gateway's AS (BGPPeer asNumber). Default: the cluster AS (iBGP). */
  readonly gatewayAsn?: number;
  /** The cluster's AS (BGPConfiguration asNumber, default 64512): for comments and iBGP/eBGP choice. */
  readonly clusterAsn?: number;
  /** Calico selector: only these nodes peer with the gateway (global peer when unset). */
  readonly nodeSelector?: string;
  readonly passwordSecret?: { readonly name: string; readonly key: string };
  /** Namespace calico-node runs in (Secret + Role live there). Default calico-system (operator install). */
  readonly calicoNamespace?: string;
  /** Service CIDRs for BGPConfiguration serviceClusterIPs (none: the document is left out). */
  readonly serviceCIDRs?: readonly string[];
  /** Why the service CIDRs are what they are (e.g. "guessed from 10.96.0.1"); becomes a comment. */
  readonly serviceCIDRsNote?: string;
  readonly officePrefixes?: readonly string[];
  /** The gateway sends/receives pod traffic over IPIP (office pools get ipipMode Always, Felix allowlist). */
  readonly ipip?: boolean;
  /** Existing pool CIDRs, to refuse office prefixes that overlap them. */
  readonly existingPools?: readonly string[];
  readonly apiVersion?: CalicoApiVersion;
  /** BGPPeer name (default podgate-gateway). */
  readonly peerName?: string;
}

export class CalicoRenderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CalicoRenderError";
  }
}

const NAME_RE = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const SECRET_KEY_RE = /^[-._a-zA-Z0-9]+$/;

function validAsn(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= 4294967295 && n !== 23456;
}

/** Name for the disabled pool covering an office prefix: podgate-office-10-20-0-0-16. */
export function officePoolName(cidr: string): string {
  return `podgate-office-${cidr.replace(/[.:/]+/g, "-").replace(/-+$/, "")}`.toLowerCase();
}

function doc(comment: readonly string[], body: unknown): string {
  const head = comment.map((l) => (l === "" ? "#" : `# ${l}`)).join("\n");
  const yaml = stringify(body, { lineWidth: 0 }).trimEnd();
  return head === "" ? yaml : `${head}\n${yaml}`;
}

export function renderCalico(opts: CalicoRenderOptions): string {
  const gw = parseAddr(opts.gatewayIP);
  if (!gw) throw new CalicoRenderError(`--gateway-ip: not an IP address: ${opts.gatewayIP}`);
  const clusterAsn = opts.clusterAsn ?? CALICO_DEFAULT_ASN;
  const gatewayAsn = opts.gatewayAsn ?? clusterAsn;
  if (!validAsn(gatewayAsn))
    throw new CalicoRenderError(`--asn: must be an integer 1..4294967295 (not 23456)`);
  if (opts.nodeSelector !== undefined) {
    try {
      parseSelector(opts.nodeSelector);
    } catch (e) {
      throw new CalicoRenderError(`--node-selector: ${(e as Error).message}`);
    }
  }
  const ns = opts.calicoNamespace ?? "calico-system";
  if (!NAME_RE.test(ns)) throw new CalicoRenderError(`--calico-namespace: not a namespace name: ${ns}`);
  const secret = opts.passwordSecret;
  if (secret && (!NAME_RE.test(secret.name) || !SECRET_KEY_RE.test(secret.key))) {
    throw new CalicoRenderError("--password-secret: expected NAME/KEY (a Secret name and a data key)");
  }
  const peerName = opts.peerName ?? "podgate-gateway";
  if (!NAME_RE.test(peerName)) throw new CalicoRenderError(`BGPPeer name is not valid: ${peerName}`);
  const apiVersion = opts.apiVersion ?? "crd.projectcalico.org/v1";

  const services = (opts.serviceCIDRs ?? []).map((c) => {
    const v = canonicalCidr(c);
    if (!v) throw new CalicoRenderError(`service CIDR is not a prefix: ${c}`);
    return v;
  });
  const pools = (opts.existingPools ?? []).map((c) => parseCidr(c)).filter((c) => c !== undefined);
  const offices = (opts.officePrefixes ?? []).map((c) => {
    const p = parseCidr(c);
    if (!p || !c.includes("/") || parseAddr(c.slice(0, c.indexOf("/")))?.addr !== p.addr) {
      throw new CalicoRenderError(`--office-prefix: not a prefix with zero host bits: ${c}`);
    }
    const clash = pools.find((x) => overlaps(x, p));
    if (clash)
      throw new CalicoRenderError(
        `--office-prefix ${c} overlaps an existing IPPool; Calico refuses overlapping pools`,
      );
    return p;
  });

  const ibgp = gatewayAsn === clusterAsn;
  const docs: string[] = [];

  docs.push(
    [
      "# Generated by `podgate render calico`. Apply with: kubectl apply -f <this file>",
      `# apiVersion ${apiVersion}: ${
        apiVersion === "crd.projectcalico.org/v1"
          ? "the CRDs as stored; works with plain kubectl. With the Calico API server or calicoctl, use --api-version projectcalico.org/v3 (same spec)."
          : "for calicoctl apply, or kubectl with the Calico API server installed."
      }`,
    ].join("\n"),
  );

  const peerSpec: Record<string, unknown> = { peerIP: opts.gatewayIP, asNumber: gatewayAsn };
  if (opts.nodeSelector !== undefined) peerSpec["nodeSelector"] = opts.nodeSelector;
  if (secret) peerSpec["password"] = { secretKeyRef: { name: secret.name, key: secret.key } };
  docs.push(
    doc(
      [
        `BGPPeer: ${opts.nodeSelector === undefined ? "every node (global peer)" : `nodes matching ${opts.nodeSelector}`} opens a BGP session to the gateway ${opts.gatewayIP}.`,
        ibgp
          ? `iBGP (AS ${gatewayAsn} = cluster AS): each node advertises its own blocks with itself as next hop.`
          : `eBGP (gateway AS ${gatewayAsn}, cluster AS ${clusterAsn}): calico-node uses multihop; next hop is the advertising node.`,
        ...(secret
          ? [`TCP-MD5 password read by calico-node from Secret ${ns}/${secret.name}, key ${secret.key}.`]
          : []),
      ],
      { apiVersion, kind: "BGPPeer", metadata: { name: peerName }, spec: peerSpec },
    ),
  );

  if (secret) {
    docs.push(
      doc(
        [
          "calico-node must be allowed to read the password Secret. Create the Secret itself without echoing it:",
          `  kubectl -n ${ns} create secret generic ${secret.name} --from-file=${secret.key}=/path/to/password`,
          `(manifest installs run calico-node in kube-system: use --calico-namespace kube-system)`,
        ],
        {
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "Role",
          metadata: { name: "podgate-bgp-secret-access", namespace: ns },
          rules: [
            {
              apiGroups: [""],
              resources: ["secrets"],
              resourceNames: [secret.name],
              verbs: ["get", "list", "watch"],
            },
          ],
        },
      ),
      doc([], {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: "podgate-bgp-secret-access", namespace: ns },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "podgate-bgp-secret-access" },
        subjects: [{ kind: "ServiceAccount", name: "calico-node", namespace: ns }],
      }),
    );
  }

  if (services.length > 0) {
    const patch = JSON.stringify({ spec: { serviceClusterIPs: services.map((cidr) => ({ cidr })) } });
    docs.push(
      doc(
        [
          "BGPConfiguration: nodes advertise the service range, so the gateway gets ECMP paths to ClusterIPs",
          "(kube-proxy on any node DNATs them). This is a MERGE into the existing 'default' object:",
          `  kubectl patch bgpconfigurations.crd.projectcalico.org default --type merge -p '${patch}'`,
          "`kubectl apply` of this document also keeps fields it does not mention (asNumber, nodeToNodeMeshEnabled).",
          ...(opts.serviceCIDRsNote ? [`Service CIDRs: ${opts.serviceCIDRsNote}`] : []),
        ],
        {
          apiVersion,
          kind: "BGPConfiguration",
          metadata: { name: "default" },
          spec: { serviceClusterIPs: services.map((cidr) => ({ cidr })) },
        },
      ),
    );
  } else {
    docs.push(
      "# BGPConfiguration serviceClusterIPs: left out, the service CIDR is unknown (pass --service-cidr).",
    );
  }

  for (const p of offices) {
    const cidr = formatCidr(p);
    const defaultBlock = p.family === 4 ? 26 : 122;
    const spec: Record<string, unknown> = {
      cidr,
      disabled: true,
      natOutgoing: false,
      ipipMode: opts.ipip && p.family === 4 ? "Always" : "Never",
      vxlanMode: "Never",
    };
    // A pool must hold at least one block: small office prefixes need a smaller block size.
    if (p.len > defaultBlock) spec["blockSize"] = Math.min(p.len, bitsOf(p.family));
    docs.push(
      doc(
        [
          `Office prefix ${cidr} as a DISABLED pool: no pod ever gets an address from it, but Calico now`,
          "treats it as 'inside the pools', so natOutgoing does NOT SNAT pod traffic to the office: replies",
          "from pods keep their pod source address and office hosts see who answered.",
          ...(opts.ipip && p.family === 4
            ? ["ipipMode Always: nodes send traffic for this prefix through IPIP (tunl0) to the gateway."]
            : []),
        ],
        { apiVersion, kind: "IPPool", metadata: { name: officePoolName(cidr) }, spec },
      ),
    );
  }

  if (opts.ipip) {
    docs.push(
      doc(
        [
          "FelixConfiguration: Felix drops IPIP from hosts that are not Calico nodes unless listed here.",
          "This list REPLACES an existing externalNodesList: merge by hand if you already have one.",
        ],
        {
          apiVersion,
          kind: "FelixConfiguration",
          metadata: { name: "default" },
          spec: { externalNodesList: [`${opts.gatewayIP}/${bitsOf(gw.family)}`] },
        },
      ),
    );
  }

  return `${docs.join("\n---\n")}\n`;
}
