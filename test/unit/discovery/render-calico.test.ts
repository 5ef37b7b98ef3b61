/**
 * `podgate render calico`: the YAML parses back, every document has Calico's field names and
 * shapes (BGPPeer peerIP/asNumber/nodeSelector/password.secretKeyRef, BGPConfiguration
 * serviceClusterIPs[].cidr, IPPool cidr/disabled/natOutgoing/ipipMode/vxlanMode/blockSize,
 * FelixConfiguration externalNodesList), bad input is refused. Plus the CLI commands
 * (`discover`, `render calico`) run as the podgate binary against the fake API server.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { CalicoRenderError, officePoolName, renderCalico } from "../../../src/render/calico.ts";
import { seedCalico } from "../../fakes/k8s-api/seed.ts";
import { FakeKubeApi, kubeconfigYaml } from "../../fakes/k8s-api/server.ts";

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML documents are inspected field by field.
type Doc = any;

function docs(text: string): Doc[] {
  const parsed = parseAllDocuments(text);
  for (const d of parsed) expect(d.errors).toEqual([]);
  return parsed.map((d) => d.toJS()).filter((d) => d !== null);
}

const kinds = (ds: Doc[]) => ds.map((d) => d.kind);

describe("renderCalico", () => {
  it("minimal: one global BGPPeer (iBGP at the cluster AS), nothing else but a note", () => {
    const text = renderCalico({ gatewayIP: "192.168.40.10" });
    const ds = docs(text);
    expect(kinds(ds)).toEqual(["BGPPeer"]);
    expect(ds[0]).toEqual({
      apiVersion: "crd.projectcalico.org/v1",
      kind: "BGPPeer",
      metadata: { name: "podgate-gateway" },
      spec: { peerIP: "192.168.40.10", asNumber: 64512 },
    });
    expect(text).toMatch(/serviceClusterIPs: left out/);
    expect(text).toMatch(/iBGP/);
  });

  it("full: selector, password secret + RBAC, services, office pools, IPIP", () => {
    const text = renderCalico({
      gatewayIP: "192.168.40.10",
      gatewayAsn: 65010,
      clusterAsn: 64512,
      nodeSelector: "podgate.io/peer == 'true'",
      passwordSecret: { name: "podgate-bgp", key: "password" },
      calicoNamespace: "kube-system",
      serviceCIDRs: ["10.96.0.0/12"],
      officePrefixes: ["10.20.0.0/16", "192.168.50.0/28"],
      ipip: true,
      existingPools: ["172.16.0.0/16"],
    });
    const ds = docs(text);
    expect(kinds(ds)).toEqual([
      "BGPPeer",
      "Role",
      "RoleBinding",
      "BGPConfiguration",
      "IPPool",
      "IPPool",
      "FelixConfiguration",
    ]);
    const [peer, role, binding, bgpConf, pool1, pool2, felix] = ds;
    expect(peer.spec).toEqual({
      peerIP: "192.168.40.10",
      asNumber: 65010,
      nodeSelector: "podgate.io/peer == 'true'",
      password: { secretKeyRef: { name: "podgate-bgp", key: "password" } },
    });
    expect(text).toMatch(/eBGP/);
    expect(role.metadata.namespace).toBe("kube-system");
    expect(role.rules).toEqual([
      {
        apiGroups: [""],
        resources: ["secrets"],
        resourceNames: ["podgate-bgp"],
        verbs: ["get", "list", "watch"],
      },
    ]);
    expect(binding.subjects).toEqual([
      { kind: "ServiceAccount", name: "calico-node", namespace: "kube-system" },
    ]);
    expect(binding.roleRef.name).toBe(role.metadata.name);
    expect(bgpConf).toEqual({
      apiVersion: "crd.projectcalico.org/v1",
      kind: "BGPConfiguration",
      metadata: { name: "default" },
      spec: { serviceClusterIPs: [{ cidr: "10.96.0.0/12" }] },
    });
    expect(pool1).toEqual({
      apiVersion: "crd.projectcalico.org/v1",
      kind: "IPPool",
      metadata: { name: "podgate-office-10-20-0-0-16" },
      spec: {
        cidr: "10.20.0.0/16",
        disabled: true,
        natOutgoing: false,
        ipipMode: "Always",
        vxlanMode: "Never",
      },
    });
    // A /28 office range cannot hold a /26 block: block size follows the prefix.
    expect(pool2.spec.blockSize).toBe(28);
    expect(felix.spec).toEqual({ externalNodesList: ["192.168.40.10/32"] });
    // The comments explain why natOutgoing stays off for office traffic.
    expect(text).toMatch(/natOutgoing does NOT SNAT/);
    // The secret's value is never part of the output (there is none to print), only its reference.
    expect(kinds(ds)).not.toContain("Secret");
  });

  it("without --ipip the office pools do not encapsulate and Felix is left alone", () => {
    const ds = docs(renderCalico({ gatewayIP: "10.0.0.2", officePrefixes: ["10.20.0.0/16"] }));
    expect(kinds(ds)).toEqual(["BGPPeer", "IPPool"]);
    expect(ds[1].spec.ipipMode).toBe("Never");
  });

  it("projectcalico.org/v3 on request", () => {
    const ds = docs(
      renderCalico({
        gatewayIP: "10.0.0.2",
        serviceCIDRs: ["10.96.0.0/12"],
        apiVersion: "projectcalico.org/v3",
      }),
    );
    expect(ds.map((d) => d.apiVersion)).toEqual(["projectcalico.org/v3", "projectcalico.org/v3"]);
  });

  it("IPv6 gateway and office prefix", () => {
    const ds = docs(renderCalico({ gatewayIP: "fd00::2", officePrefixes: ["fd00:20::/64"], ipip: true }));
    expect(ds[0].spec.peerIP).toBe("fd00::2");
    const pool = ds.find((d) => d.kind === "IPPool");
    expect(pool.spec.ipipMode).toBe("Never"); // IPIP is IPv4 only
    expect(ds.find((d) => d.kind === "FelixConfiguration").spec.externalNodesList).toEqual(["fd00::2/128"]);
    expect(officePoolName("fd00:20::/64")).toBe("podgate-office-fd00-20-64");
  });

  it.each([
    [{ gatewayIP: "not-an-ip" }, /gateway-ip/],
    [{ gatewayIP: "10.0.0.2", gatewayAsn: 23456 }, /asn/],
    [{ gatewayIP: "10.0.0.2", nodeSelector: "a = 'b'" }, /node-selector/],
    [{ gatewayIP: "10.0.0.2", officePrefixes: ["10.20.0.1/16"] }, /host bits/],
    [
      { gatewayIP: "10.0.0.2", officePrefixes: ["172.16.5.0/24"], existingPools: ["172.16.0.0/16"] },
      /overlaps/,
    ],
    [{ gatewayIP: "10.0.0.2", passwordSecret: { name: "Bad_Name", key: "k" } }, /password-secret/],
    [{ gatewayIP: "10.0.0.2", serviceCIDRs: ["10.96.0.0/40"] }, /service CIDR/],
  ])("refuses %j", (opts, msg) => {
    expect(() => renderCalico(opts)).toThrow(CalicoRenderError);
    expect(() => renderCalico(opts)).toThrow(msg);
  });
});

describe("CLI against the fake API server", () => {
  const BIN = new URL("../../../bin/podgate.js", import.meta.url).pathname;
  const api = new FakeKubeApi();
  let dir: string;
  let kubeconfig: string;

  const run = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        "node",
        [BIN, ...args],
        { timeout: 30_000, env: { ...process.env, KUBECONFIG: "" } },
        (err, stdout, stderr) => {
          const code = err ? ((err as { code?: number }).code ?? 1) : 0;
          resolve({ code: typeof code === "number" ? code : 1, stdout, stderr });
        },
      );
    });

  beforeAll(async () => {
    seedCalico(api);
    await api.start();
    dir = mkdtempSync(join(tmpdir(), `podgate-discover-${process.pid}-`));
    kubeconfig = join(dir, "kubeconfig");
    writeFileSync(kubeconfig, kubeconfigYaml(api.url), { mode: 0o600 });
  });
  afterAll(async () => {
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("podgate discover prints a readable summary", async () => {
    const r = await run(["discover", "--kubeconfig", kubeconfig]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/CNI: calico\s+AS 64512 \(BGPConfiguration\)\s+node-to-node mesh: on/);
    expect(r.stdout).toMatch(/Service CIDRs \(BGPConfiguration serviceClusterIPs\): 10\.96\.0\.0\/12/);
    expect(r.stdout).toMatch(
      /node2[\s|]+192\.168\.40\.102[\s|]+Ready[\s|]+64600 \(node\)[\s|]+172\.16\.58\.192\/26/,
    );
    expect(r.stdout).toMatch(/node3[\s|]+192\.168\.40\.103[\s|]+NotReady/);
    expect(r.stdout).toMatch(/office-router[\s|]+192\.168\.40\.1[\s|]+65000[\s|]+global[\s|]+none/);
  });

  it("podgate discover shows Calico's service external/LoadBalancer ranges and their static routes", async () => {
    const before = api.get("bgpconfigurations", "default")!;
    api.update("bgpconfigurations", "default", (o) => {
      o["spec"].serviceLoadBalancerIPs = [{ cidr: "192.168.50.0/24" }];
      o["spec"].serviceExternalIPs = [{ cidr: "192.168.50.0/24" }, { cidr: "203.0.113.0/24" }];
    });
    try {
      const r = await run(["discover", "--kubeconfig", kubeconfig]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(
        "Service external/LoadBalancer ranges (BGPConfiguration): 192.168.50.0/24 (serviceExternalIPs, serviceLoadBalancerIPs), 203.0.113.0/24 (serviceExternalIPs)",
      );
      expect(r.stdout).toMatch(
        / {2}192\.168\.50\.0\/24 via 192\.168\.40\.100, .* \(external\/LoadBalancer range\)/,
      );
      const j = JSON.parse((await run(["discover", "--kubeconfig", kubeconfig, "--json"])).stdout);
      expect(j.state.serviceExternalCIDRs.map((e: { cidr: string }) => e.cidr)).toEqual([
        "192.168.50.0/24",
        "203.0.113.0/24",
      ]);
    } finally {
      api.apply("bgpconfigurations", before);
    }
  });

  it("podgate discover --json", async () => {
    const r = await run([
      "discover",
      "--kubeconfig",
      kubeconfig,
      "--json",
      "--node-selector",
      "has(podgate.io/peer)",
    ]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.state.cni).toBe("calico");
    expect(j.desiredPeers.map((p: { name: string }) => p.name)).toEqual(["node1", "node2"]);
    expect(j.staticRoutes.length).toBeGreaterThan(0);
  });

  it("podgate discover fails with exit 1 when the API is unreachable", async () => {
    const bad = join(dir, "bad-kubeconfig");
    writeFileSync(bad, kubeconfigYaml("http://127.0.0.1:1"));
    const r = await run(["discover", "--kubeconfig", bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/podgate discover:/);
  });

  it("podgate render calico reads the cluster for AS and service CIDRs", async () => {
    const r = await run([
      "render",
      "calico",
      "--kubeconfig",
      kubeconfig,
      "--gateway-ip",
      "192.168.40.10",
      "--office-prefix",
      "10.20.0.0/16",
    ]);
    expect(r.code).toBe(0);
    const ds = docs(r.stdout);
    expect(ds.find((d) => d.kind === "BGPPeer").spec).toEqual({ peerIP: "192.168.40.10", asNumber: 64512 });
    expect(ds.find((d) => d.kind === "BGPConfiguration").spec.serviceClusterIPs).toEqual([
      { cidr: "10.96.0.0/12" },
    ]);
    // The office prefix may not overlap the discovered pool 172.16.0.0/16.
    const clash = await run([
      "render",
      "calico",
      "--kubeconfig",
      kubeconfig,
      "--gateway-ip",
      "192.168.40.10",
      "--office-prefix",
      "172.16.9.0/24",
    ]);
    expect(clash.code).toBe(2);
    expect(clash.stderr).toMatch(/overlaps/);
  });

  it("podgate render calico --offline needs no cluster", async () => {
    const r = await run([
      "render",
      "calico",
      "--offline",
      "--gateway-ip",
      "10.0.0.2",
      "--password-secret",
      "bgp/pw",
    ]);
    expect(r.code).toBe(0);
    expect(kinds(docs(r.stdout))).toEqual(["BGPPeer", "Role", "RoleBinding"]);
    const missing = await run(["render", "calico", "--offline"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--gateway-ip is required/);
  });
});
