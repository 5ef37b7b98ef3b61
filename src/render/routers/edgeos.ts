/**
 * Ubiquiti EdgeOS (EdgeRouter) for the office router: Vyatta-style `set policy prefix-list` and
 * `set protocols bgp <asn> neighbor ...` with prefix lists per direction, maximum-prefix and
 * password; or `set protocols static` with --static. Chosen over OPNsense because EdgeOS has a
 * CLI to paste into, while OPNsense's FRR plugin is configured through its web UI.
 */
import { clusterCidrs, type RouterModel } from "../model.ts";
import { commented, headerLines, joinLines, NAMES } from "./common.ts";

export function renderEdgeos(m: RouterModel): string {
  const where = ["EdgeOS 2.x. In `configure` mode: paste, then `commit` and `save`."];
  const l = [...commented("# ", headerLines(m, "edgeos", where))];
  const cidrs = clusterCidrs(m);
  if (m.mode === "static") {
    for (const p of cidrs) l.push(`set protocols static route ${p.text} next-hop ${m.gatewayAddress}`);
    return joinLines(l);
  }
  let rule = 10;
  for (const p of cidrs) {
    const r = `set policy prefix-list ${NAMES.in} rule ${rule}`;
    l.push(`${r} action permit`, `${r} prefix ${p.text}`);
    if (p.length < 32) l.push(`${r} le 32`);
    rule += 10;
  }
  rule = 10;
  for (const p of m.officePrefixes) {
    const r = `set policy prefix-list ${NAMES.out} rule ${rule}`;
    l.push(`${r} action permit`, `${r} prefix ${p.text}`);
    rule += 10;
  }
  if (m.officePrefixes.length === 0) {
    const r = `set policy prefix-list ${NAMES.out} rule 10`;
    l.push(`${r} action deny`, `${r} prefix 0.0.0.0/0`, `${r} le 32`);
  }
  const b = `set protocols bgp ${m.routerAs}`;
  const n = `${b} neighbor ${m.gatewayAddress}`;
  l.push(`${n} remote-as ${m.gatewayAs}`);
  l.push(`${n} description "podgate gateway (${m.peerName})"`);
  if (m.password !== undefined) l.push(`${n} password ${m.password}`);
  if (m.multihop !== undefined) l.push(`${n} ebgp-multihop ${m.multihop}`);
  l.push(`${n} prefix-list import ${NAMES.in}`);
  l.push(`${n} prefix-list export ${NAMES.out}`);
  l.push(`${n} maximum-prefix ${m.maxPrefix}`);
  for (const p of m.officePrefixes) l.push(`${b} network ${p.text}`);
  return joinLines(l);
}
