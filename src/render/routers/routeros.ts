/**
 * MikroTik RouterOS v7 for the office router: /routing/filter/rule chains (v7's if/then rule
 * language; an unmatched route is rejected), an address list for the office prefixes
 * (output.network), and one /routing/bgp/connection with tcp-md5-key and
 * input.limit-process-routes-ipv4; or /ip/route statics with --static. v6 syntax differs
 * completely and is not rendered.
 */
import { clusterCidrs, type RouterModel } from "../model.ts";
import { commented, headerLines, joinLines, NAMES } from "./common.ts";

const CHAIN_IN = "podgate-in";
const CHAIN_OUT = "podgate-out";
const OFFICE_LIST = "podgate-office";

export function renderRouterOs(m: RouterModel): string {
  const where = [
    "RouterOS v7 only. Paste into a terminal (or save as podgate.rsc and `/import podgate.rsc`).",
  ];
  const l = [...commented("# ", headerLines(m, "routeros", where))];
  const cidrs = clusterCidrs(m);
  if (m.mode === "static") {
    l.push("/ip/route");
    for (const p of cidrs) {
      l.push(`add dst-address=${p.text} gateway=${m.gatewayAddress} comment="podgate ${m.peerName}"`);
    }
    return joinLines(l);
  }
  l.push("/routing/filter/rule");
  for (const p of cidrs) {
    l.push(`add chain=${CHAIN_IN} rule="if (dst in ${p.text} && dst-len in ${p.length}-32) { accept }"`);
  }
  l.push(`add chain=${CHAIN_IN} rule="reject"`);
  for (const p of m.officePrefixes) {
    l.push(`add chain=${CHAIN_OUT} rule="if (dst == ${p.text}) { accept }"`);
  }
  l.push(`add chain=${CHAIN_OUT} rule="reject"`);
  if (m.officePrefixes.length > 0) {
    l.push("/ip/firewall/address-list");
    for (const p of m.officePrefixes) l.push(`add list=${OFFICE_LIST} address=${p.text}`);
  }
  l.push("/routing/bgp/connection");
  const args = [
    `add name=${NAMES.group}`,
    `as=${m.routerAs}`,
    `local.address=${m.routerAddress}`,
    `local.role=${m.routerAs === m.gatewayAs ? "ibgp" : "ebgp"}`,
    `remote.address=${m.gatewayAddress}`,
    `remote.as=${m.gatewayAs}`,
    "address-families=ip",
    `input.filter=${CHAIN_IN}`,
    `input.limit-process-routes-ipv4=${m.maxPrefix}`,
    `output.filter-chain=${CHAIN_OUT}`,
  ];
  if (m.officePrefixes.length > 0) args.push(`output.network=${OFFICE_LIST}`);
  if (m.password !== undefined) args.push(`tcp-md5-key="${m.password}"`);
  if (m.multihop !== undefined) args.push("multihop=yes");
  args.push(`comment="podgate gateway (${m.peerName})"`);
  l.push(args.join(" "));
  return joinLines(l);
}
