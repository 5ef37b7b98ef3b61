/**
 * BIRD 2 for the office router: a file to `include` from bird.conf holding the import/export
 * filters and one `protocol bgp` (import limit, password), or a `protocol static` with --static.
 * It carries no `router id` or `protocol device`: the router's own bird.conf has them.
 */
import { clusterCidrs, type RouterModel } from "../model.ts";
import { commented, headerLines, joinLines } from "./common.ts";

/** BIRD string literal (the model refuses keys with quotes or backslashes, this is belt and braces). */
function str(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

export function renderBird(m: RouterModel): string {
  const where = [
    'Save as /etc/bird/podgate.conf, add `include "/etc/bird/podgate.conf";` to bird.conf (after',
    "`router id` and `protocol device`), then `birdc configure`.",
  ];
  const l = [...commented("# ", headerLines(m, "bird", where)), ""];
  const cidrs = clusterCidrs(m);
  if (m.mode === "static") {
    l.push("protocol static podgate_routes {");
    l.push("  ipv4;");
    for (const p of cidrs) l.push(`  route ${p.text} via ${m.gatewayAddress};`);
    l.push("}");
    return joinLines(l);
  }
  // net ~ [ p{len,32} ]: the prefix itself and every longer one inside it.
  l.push("filter podgate_in {");
  l.push(`  if net ~ [ ${cidrs.map((p) => `${p.text}{${p.length},32}`).join(", ")} ] then accept;`);
  l.push("  reject;");
  l.push("}");
  l.push("");
  l.push("filter podgate_out {");
  if (m.officePrefixes.length > 0) {
    l.push(`  if net ~ [ ${m.officePrefixes.map((p) => p.text).join(", ")} ] then accept;`);
  }
  l.push("  reject;");
  l.push("}");
  l.push("");
  l.push("protocol bgp podgate {");
  l.push(`  description ${str(`podgate gateway (${m.peerName})`)};`);
  l.push(`  local ${m.routerAddress} as ${m.routerAs};`);
  l.push(`  neighbor ${m.gatewayAddress} as ${m.gatewayAs};`);
  if (m.password !== undefined) l.push(`  password ${str(m.password)};`);
  if (m.multihop !== undefined) l.push(`  multihop ${m.multihop};`);
  l.push("  ipv4 {");
  l.push("    import filter podgate_in;");
  l.push(`    import limit ${m.maxPrefix} action restart;`);
  l.push("    export filter podgate_out;");
  l.push("  };");
  l.push("}");
  return joinLines(l);
}
