/**
 * Interop: podgate against FRR 8.4 bgpd (eBGP, IPv4 + IPv6 sessions over a veth), including
 * TCP-MD5 with the right and a wrong key. The body is shared (suite.ts).
 */
import { describe } from "vitest";
import { FrrDaemon } from "../lab/daemons/frr.ts";
import { labPrereqs } from "../lab/netns.ts";
import { PG4, podgateInteropSuite } from "./suite.ts";

const skip = labPrereqs(["vtysh", "/usr/lib/frr/zebra", "/usr/lib/frr/bgpd", "node"]);

describe.skipIf(!!skip)("interop: podgate <-> FRR", () => {
  podgateInteropSuite({
    labName: "frr",
    daemonAs: 65002,
    make: (o) => new FrrDaemon(o),
    md5: true,
    // FRR logs nothing without log-neighbor-changes; its neighbor detail keeps the last NOTIFICATION.
    cease: {
      text: async (d) => {
        const out = (await (d as FrrDaemon).vtysh([`show bgp neighbors ${PG4} json`], "bgpd")).stdout;
        const n = (JSON.parse(out) as Record<string, Record<string, unknown>>)[PG4] ?? {};
        return `${n["lastResetDueTo"]} | ${n["lastNotificationReason"]}`;
      },
      pattern: /Notification receive.* \| Cease\/Administrative Shutdown/,
    },
  });
});
