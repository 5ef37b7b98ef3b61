/**
 * FRR (frr.conf / vtysh) for the office router: prefix lists and route maps for both directions
 * (FRR's default `bgp ebgp-requires-policy` wants explicit policy on eBGP, RFC 8212), the
 * neighbor with password and maximum-prefix, `network` statements for the office prefixes; or
 * static routes (staticd) with --static. Also used for OpenWrt's FRR packages.
 */
import { clusterCidrs, type RouterModel } from "../model.ts";
import { commented, headerLines, iosPrefixLists, joinLines, NAMES } from "./common.ts";

/** The FRR body (no header), shared with the OpenWrt renderer. */
export function frrBody(m: RouterModel): string[] {
  const l: string[] = [];
  const cidrs = clusterCidrs(m);
  if (m.mode === "static") {
    for (const p of cidrs) l.push(`ip route ${p.text} ${m.gatewayAddress}`);
    return l;
  }
  const n = m.gatewayAddress;
  l.push(...iosPrefixLists(m, "any"));
  l.push("!");
  l.push(`route-map ${NAMES.in} permit 10`);
  l.push(` match ip address prefix-list ${NAMES.in}`);
  l.push("exit");
  l.push(`route-map ${NAMES.in} deny 100`);
  l.push("exit");
  l.push(`route-map ${NAMES.out} permit 10`);
  l.push(` match ip address prefix-list ${NAMES.out}`);
  l.push("exit");
  l.push(`route-map ${NAMES.out} deny 100`);
  l.push("exit");
  l.push("!");
  l.push(`router bgp ${m.routerAs}`);
  l.push(` neighbor ${n} remote-as ${m.gatewayAs}`);
  l.push(` neighbor ${n} description podgate gateway (${m.peerName})`);
  if (m.password !== undefined) l.push(` neighbor ${n} password ${m.password}`);
  if (m.multihop !== undefined) l.push(` neighbor ${n} ebgp-multihop ${m.multihop}`);
  l.push(" address-family ipv4 unicast");
  for (const p of m.officePrefixes) l.push(`  network ${p.text}`);
  l.push(`  neighbor ${n} activate`);
  l.push(`  neighbor ${n} route-map ${NAMES.in} in`);
  l.push(`  neighbor ${n} route-map ${NAMES.out} out`);
  l.push(`  neighbor ${n} maximum-prefix ${m.maxPrefix}`);
  l.push(" exit-address-family");
  l.push("exit");
  return l;
}

export function renderFrr(m: RouterModel): string {
  const where =
    m.mode === "bgp"
      ? [
          "Paste into `vtysh` after `configure terminal`, or append to /etc/frr/frr.conf (bgpd=yes in",
          "/etc/frr/daemons). If `router bgp` already exists with another AS, use that AS instead.",
        ]
      : ["Paste into `vtysh` after `configure terminal` (needs staticd), or append to /etc/frr/frr.conf."];
  return joinLines([...commented("! ", headerLines(m, "frr", where)), "!", ...frrBody(m), "!"]);
}
