/**
 * Interop: podgate against FRR 8.4 bgpd (eBGP, IPv4 + IPv6 sessions over a veth), including
 * TCP-MD5 with the right and a wrong key. The body is shared (suite.ts).
 */
import { describe } from "vitest";
import { FrrDaemon } from "../lab/daemons/frr.ts";
import { labPrereqs } from "../lab/netns.ts";
import { podgateInteropSuite } from "./suite.ts";

const skip = labPrereqs(["vtysh", "/usr/lib/frr/zebra", "/usr/lib/frr/bgpd", "node"]);

describe.skipIf(!!skip)("interop: podgate <-> FRR", () => {
  podgateInteropSuite({
    labName: "frr",
    daemonAs: 65002,
    make: (o) => new FrrDaemon(o),
    md5: true,
    ceaseLog: /Cease\/Administrative Shutdown/i,
  });
});
