/** Interop: podgate against ExaBGP 4.2 (eBGP, IPv4 + IPv6 sessions over a veth). The body is shared (suite.ts). */
import { describe } from "vitest";
import { ExabgpDaemon } from "../lab/daemons/exabgp.ts";
import { labPrereqs } from "../lab/netns.ts";
import { podgateInteropSuite } from "./suite.ts";

const skip = labPrereqs(["exabgp", "python3", "node"]);

describe.skipIf(!!skip)("interop: podgate <-> ExaBGP", () => {
  podgateInteropSuite({
    labName: "exabgp",
    daemonAs: 65005,
    make: (o) => new ExabgpDaemon(o),
    // ExaBGP sends an announced AS_PATH verbatim (it adds its own AS only when none is given).
    expectedAsPath: "65005",
  });
});
