/**
 * deploy/*.yaml: every manifest parses, and deploy/rbac.yaml grants get/list/watch on exactly
 * the resources discovery reads (RESOURCE_SPECS) and no write verb anywhere.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { RESOURCE_SPECS } from "../../../src/discovery/kube.ts";

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML documents are inspected field by field.
type Doc = any;

function load(name: string): Doc[] {
  const text = readFileSync(new URL(`../../../deploy/${name}`, import.meta.url), "utf8");
  const ds = parseAllDocuments(text);
  for (const d of ds) expect(d.errors).toEqual([]);
  return ds.map((d) => d.toJS()).filter((d) => d);
}

describe("deploy manifests", () => {
  it("rbac.yaml grants exactly what discovery reads, read-only", () => {
    const docs = load("rbac.yaml");
    const rules = docs
      .filter((d) => d.kind === "ClusterRole" || d.kind === "Role")
      .flatMap((d) => d.rules.map((r: Doc) => ({ ...r, ns: d.metadata.namespace })));
    const granted = new Set<string>();
    for (const r of rules) {
      expect(r.verbs).toEqual(["get", "list", "watch"]);
      for (const g of r.apiGroups) for (const res of r.resources) granted.add(`${g}/${res}`);
    }
    const needed = new Set(
      RESOURCE_SPECS.map((s) => {
        const m = /^\/(?:api\/v1|apis\/([^/]+)\/[^/]+)(?:\/namespaces\/[^/]+)?\/([^/]+)$/.exec(s.path)!;
        return `${m[1] ?? ""}/${m[2]}`;
      }),
    );
    expect([...granted].sort()).toEqual([...needed].sort());
    // ServiceCIDR is read under two versions; RBAC has no version, so one rule covers both.
    expect(RESOURCE_SPECS.filter((s) => s.path.endsWith("/servicecidrs")).map((s) => s.path)).toEqual([
      "/apis/networking.k8s.io/v1/servicecidrs",
      "/apis/networking.k8s.io/v1beta1/servicecidrs",
    ]);
    expect(rules.filter((r) => r.resources.includes("servicecidrs"))).toHaveLength(1);
    const svc = rules.find((r) => r.resources.includes("services"));
    expect(svc.ns).toBe("default");
    expect(svc.resourceNames).toEqual(["kubernetes"]);
  });

  it("deployment.yaml: host network, gateway node selector, config from a ConfigMap, password from a Secret", () => {
    const [cm, dep] = load("deployment.yaml");
    expect(cm.kind).toBe("ConfigMap");
    expect(cm.data["podgate.yaml"]).toMatch(/passwordFile:/);
    expect(cm.data["podgate.yaml"]).not.toMatch(/password:/);
    const pod = dep.spec.template.spec;
    expect(pod.hostNetwork).toBe(true);
    expect(pod.serviceAccountName).toBe("podgate");
    expect(pod.nodeSelector).toEqual({ "podgate.io/gateway": "true" });
    expect(pod.volumes.find((v: Doc) => v.secret)?.secret.secretName).toBe("podgate-office-bgp");
    expect(dep.spec.replicas).toBe(1);
  });

  it("calico-bgppeer.yaml is a BGPPeer with Calico's field names", () => {
    const [peer] = load("calico-bgppeer.yaml");
    expect(peer).toMatchObject({
      apiVersion: "crd.projectcalico.org/v1",
      kind: "BGPPeer",
      spec: { peerIP: "192.0.2.10", asNumber: 64512 },
    });
  });
});
