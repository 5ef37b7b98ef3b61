/** Interop: podgate against OpenBGPD 7 (eBGP, IPv4 + IPv6 sessions over a veth). The body is shared (suite.ts). */
import { describe } from "vitest";
import { OPENBGPD_BIN, OpenbgpdDaemon } from "../lab/daemons/openbgpd.ts";
import { labPrereqs } from "../lab/netns.ts";
import { PG4, PG6, podgateInteropSuite } from "./suite.ts";

const skip = labPrereqs([OPENBGPD_BIN, "bgpctl", "node"]);

describe.skipIf(!!skip)("interop: podgate <-> OpenBGPD", () => {
  podgateInteropSuite({
    labName: "openbgpd",
    daemonAs: 65004,
    make: (o) => new OpenbgpdDaemon(o),
    // OpenBGPD keeps a peer Idle for IdleHoldTime (30 s, doubling with each error) after it
    // receives a NOTIFICATION (podgate's Cease on SIGTERM, Hold Timer Expired after the freeze)
    // and refuses connections meanwhile; `bgpctl neighbor X up` restarts it without the wait.
    cease: {
      text: async (d) => d.logs(),
      pattern: /neighbor 10\.0\.0\.1 \(peer0\): received notification: Cease, administratively down/,
    },
    kick: async (d) => {
      const bgpd = d as OpenbgpdDaemon;
      await new Promise((r) => setTimeout(r, 1500));
      for (const n of [PG4, PG6]) await bgpd.bgpctl(["neighbor", n, "up"], false, false);
    },
  });
});
