/**
 * VyOS 1.4 (sagitta) and later for the office router: `set policy prefix-list` rules, the
 * neighbor under `set protocols bgp` (1.4 moved the AS to `system-as`), prefix lists per
 * direction, maximum-prefix, password; or `set protocols static` with --static.
 */
import { clusterCidrs, type RouterModel } from "../model.ts";
import { commented, headerLines, joinLines, NAMES } from "./common.ts";

export function renderVyos(m: RouterModel): string {
  const where = [
    "VyOS 1.4+. In configuration mode (`configure`): paste, then `commit` and `save`.",
    "VyOS 1.3 and older use `set protocols bgp <asn> ...` instead of system-as.",
  ];
  const l = [...commented("# ", headerLines(m, "vyos", where))];
  const cidrs = clusterCidrs(m);
  if (m.mode === "static") {
    for (const p of cidrs) l.push(`set protocols static route ${p.text} next-hop ${m.gatewayAddress}`);
    return joinLines(l);
  }
  let rule = 10;
  for (const p of cidrs) {
    const r = `set policy prefix-list ${NAMES.in} rule ${rule}`;
    l.push(`${r} action 'permit'`, `${r} prefix '${p.text}'`);
    if (p.length < 32) l.push(`${r} le '32'`);
    rule += 10;
  }
  rule = 10;
  for (const p of m.officePrefixes) {
    const r = `set policy prefix-list ${NAMES.out} rule ${rule}`;
    l.push(`${r} action 'permit'`, `${r} prefix '${p.text}'`);
    rule += 10;
  }
  if (m.officePrefixes.length === 0) {
    const r = `set policy prefix-list ${NAMES.out} rule 10`;
    l.push(`${r} action 'deny'`, `${r} prefix '0.0.0.0/0'`, `${r} le '32'`);
  }
  l.push(`set protocols bgp system-as '${m.routerAs}'`);
  const n = `set protocols bgp neighbor ${m.gatewayAddress}`;
  l.push(`${n} remote-as '${m.gatewayAs}'`);
  l.push(`${n} description 'podgate gateway (${m.peerName})'`);
  if (m.password !== undefined) l.push(`${n} password '${m.password}'`);
  if (m.multihop !== undefined) l.push(`${n} ebgp-multihop '${m.multihop}'`);
  const af = `${n} address-family ipv4-unicast`;
  l.push(`${af} prefix-list import '${NAMES.in}'`);
  l.push(`${af} prefix-list export '${NAMES.out}'`);
  l.push(`${af} maximum-prefix '${m.maxPrefix}'`);
  for (const p of m.officePrefixes)
    l.push(`set protocols bgp address-family ipv4-unicast network '${p.text}'`);
  return joinLines(l);
}
