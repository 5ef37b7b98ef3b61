/**
 * Cisco IOS / IOS-XE for the office router: prefix lists applied per neighbor in both
 * directions, maximum-prefix, password, `network ... mask` for the office prefixes; or
 * `ip route` statics with --static.
 */
import { clusterCidrs, type RouterModel } from "../model.ts";
import { commented, headerLines, iosPrefixLists, joinLines, NAMES } from "./common.ts";

export function renderCiscoIos(m: RouterModel): string {
  const where =
    m.mode === "bgp"
      ? [
          "Paste in `configure terminal`. If `router bgp` already exists with another AS, use that AS.",
          "Then `write memory`.",
        ]
      : ["Paste in `configure terminal`, then `write memory`."];
  const l = [...commented("! ", headerLines(m, "cisco-ios", where)), "!"];
  const cidrs = clusterCidrs(m);
  if (m.mode === "static") {
    for (const p of cidrs) l.push(`ip route ${p.address} ${p.mask} ${m.gatewayAddress} name podgate`);
    l.push("!");
    return joinLines(l);
  }
  const n = m.gatewayAddress;
  l.push(...iosPrefixLists(m, "0.0.0.0/0 le 32"));
  l.push("!");
  l.push(`router bgp ${m.routerAs}`);
  l.push(` neighbor ${n} remote-as ${m.gatewayAs}`);
  l.push(` neighbor ${n} description podgate gateway (${m.peerName})`);
  if (m.password !== undefined) l.push(` neighbor ${n} password ${m.password}`);
  if (m.multihop !== undefined) l.push(` neighbor ${n} ebgp-multihop ${m.multihop}`);
  l.push(" address-family ipv4");
  for (const p of m.officePrefixes) l.push(`  network ${p.address} mask ${p.mask}`);
  l.push(`  neighbor ${n} activate`);
  l.push(`  neighbor ${n} prefix-list ${NAMES.in} in`);
  l.push(`  neighbor ${n} prefix-list ${NAMES.out} out`);
  l.push(`  neighbor ${n} maximum-prefix ${m.maxPrefix}`);
  l.push(" exit-address-family");
  l.push("!");
  return joinLines(l);
}
