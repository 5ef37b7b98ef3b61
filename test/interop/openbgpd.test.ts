/** Interop: podgate against OpenBGPD 7 (eBGP, IPv4 + IPv6 sessions over a veth). The body is shared (suite.ts). */
import { describe } from "vitest";
import { OPENBGPD_BIN, OpenbgpdDaemon } from "../lab/daemons/openbgpd.ts";
import { labPrereqs } from "../lab/netns.ts";
import { podgateInteropSuite } from "./suite.ts";

const skip = labPrereqs([OPENBGPD_BIN, "bgpctl", "node"]);

describe.skipIf(!!skip)("interop: podgate <-> OpenBGPD", () => {
  podgateInteropSuite({
    labName: "openbgpd",
    daemonAs: 65004,
    make: (o) => new OpenbgpdDaemon(o),
  });
});
