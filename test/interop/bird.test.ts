/**
 * Interop: podgate against BIRD 2.0 (eBGP, IPv4 + IPv6 sessions over a veth), including TCP-MD5
 * with the right and a wrong key. The body is shared (suite.ts).
 */
import { describe } from "vitest";
import { BirdDaemon } from "../lab/daemons/bird.ts";
import { labPrereqs } from "../lab/netns.ts";
import { podgateInteropSuite } from "./suite.ts";

const skip = labPrereqs(["bird", "birdc", "node"]);

describe.skipIf(!!skip)("interop: podgate <-> BIRD 2", () => {
  podgateInteropSuite({
    labName: "bird",
    daemonAs: 65001,
    make: (o) => new BirdDaemon(o),
    md5: true,
    cease: { text: async (d) => d.logs(), pattern: /peer0: Received: Administrative shutdown/ },
  });
});
