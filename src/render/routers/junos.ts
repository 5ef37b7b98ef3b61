/**
 * Junos for the office router, as `set` commands (`load set terminal`): import/export policy
 * statements with route-filters (Junos would otherwise accept every BGP route and announce its
 * active BGP routes), a BGP group with peer-as, authentication-key and prefix-limit; or static
 * routes with --static.
 */
import { clusterCidrs, type RouterModel } from "../model.ts";
import { commented, headerLines, joinLines, NAMES } from "./common.ts";

export function renderJunos(m: RouterModel): string {
  const where = [
    "In configuration mode: `load set terminal`, paste, Ctrl-D, then `show | compare` and `commit`.",
  ];
  const l = [...commented("# ", headerLines(m, "junos", where))];
  const cidrs = clusterCidrs(m);
  if (m.mode === "static") {
    for (const p of cidrs) l.push(`set routing-options static route ${p.text} next-hop ${m.gatewayAddress}`);
    return joinLines(l);
  }
  const pin = `set policy-options policy-statement ${NAMES.in}`;
  for (const p of cidrs) l.push(`${pin} term cluster from route-filter ${p.text} orlonger`);
  l.push(`${pin} term cluster then accept`);
  l.push(`${pin} term default then reject`);
  const pout = `set policy-options policy-statement ${NAMES.out}`;
  if (m.officePrefixes.length > 0) {
    for (const p of m.officePrefixes) l.push(`${pout} term office from route-filter ${p.text} exact`);
    l.push(`${pout} term office then accept`);
  }
  l.push(`${pout} term default then reject`);
  const g = `set protocols bgp group ${NAMES.group}`;
  l.push(`${g} type ${m.routerAs === m.gatewayAs ? "internal" : "external"}`);
  l.push(`${g} description "podgate gateway (${m.peerName})"`);
  l.push(`${g} local-address ${m.routerAddress}`);
  l.push(`${g} peer-as ${m.gatewayAs}`);
  if (m.multihop !== undefined) l.push(`${g} multihop ttl ${m.multihop}`);
  l.push(`${g} import ${NAMES.in}`);
  l.push(`${g} export ${NAMES.out}`);
  l.push(`${g} family inet unicast prefix-limit maximum ${m.maxPrefix}`);
  l.push(`${g} family inet unicast prefix-limit teardown`);
  if (m.password !== undefined) l.push(`${g} authentication-key "${m.password}"`);
  l.push(`${g} neighbor ${m.gatewayAddress}`);
  l.push(`# The router's own AS must be ${m.routerAs}; if it is not set yet:`);
  l.push(`# set routing-options autonomous-system ${m.routerAs}`);
  return joinLines(l);
}
