/** Interop: podgate against GoBGP 3 (eBGP, IPv4 + IPv6 sessions over a veth). The body is shared (suite.ts). */
import { describe } from "vitest";
import { GobgpDaemon } from "../lab/daemons/gobgp.ts";
import { labPrereqs } from "../lab/netns.ts";
import { podgateInteropSuite } from "./suite.ts";

const skip = labPrereqs(["gobgpd", "gobgp", "node"]);

describe.skipIf(!!skip)("interop: podgate <-> GoBGP", () => {
  podgateInteropSuite({
    labName: "gobgp",
    daemonAs: 65003,
    make: (o) => new GobgpDaemon(o),
  });
});
