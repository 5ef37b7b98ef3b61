/**
 * OpenWrt for the office router. Static (--static): uci commands creating `config route`
 * sections in /etc/config/network (native, survives reboots). BGP: OpenWrt has no native BGP in
 * uci; users install FRR from the package feed (frr, frr-bgpd, frr-vtysh, frr-staticd) and
 * configure it with frr.conf, so this renders the install steps and the FRR configuration.
 */
import { clusterCidrs, type RouterModel } from "../model.ts";
import { commented, headerLines, joinLines } from "./common.ts";
import { frrBody } from "./frr.ts";

/** uci section names allow [A-Za-z0-9_]. */
function section(i: number): string {
  return `podgate_route${i}`;
}

export function renderOpenwrt(m: RouterModel): string {
  if (m.mode === "static") {
    const where = [
      `Run on the router (ssh root@...). Routes go through uci interface '${m.openwrtInterface}'`,
      "(--openwrt-interface to change). Re-running replaces the same sections.",
    ];
    const l = [...commented("# ", headerLines(m, "openwrt", where))];
    clusterCidrs(m).forEach((p, i) => {
      const s = section(i + 1);
      l.push(`uci -q delete network.${s}`);
      l.push(`uci set network.${s}=route`);
      l.push(`uci set network.${s}.interface='${m.openwrtInterface}'`);
      l.push(`uci set network.${s}.target='${p.address}'`);
      l.push(`uci set network.${s}.netmask='${p.mask}'`);
      l.push(`uci set network.${s}.gateway='${m.gatewayAddress}'`);
    });
    l.push("uci commit network");
    l.push("/etc/init.d/network reload");
    return joinLines(l);
  }
  const where = [
    "OpenWrt has no BGP in uci: this uses FRR from the package feed. On the router:",
    "  opkg update && opkg install frr frr-bgpd frr-staticd frr-vtysh",
    "  set bgpd=yes in /etc/frr/daemons, append the lines below to /etc/frr/frr.conf,",
    "  then /etc/init.d/frr restart (or paste them into `vtysh` after `configure terminal`).",
    "Allow TCP port 179 from the gateway in the firewall zone it lives in.",
  ];
  return joinLines([...commented("! ", headerLines(m, "openwrt", where)), "!", ...frrBody(m), "!"]);
}
