/** Lab self-test: openbgpd peered with BIRD (eBGP over IPv4 and IPv6), proving the openbgpd launcher. */
import { describe } from "vitest";
import { OpenbgpdDaemon } from "../lab/daemons/openbgpd.ts";
import { labPrereqs } from "../lab/netns.ts";
import { birdPairSuite } from "./pair.ts";

const skip = labPrereqs(["bird", "birdc", "/usr/sbin/bgpd", "bgpctl"]);

describe.skipIf(!!skip)("lab: openbgpd <-> BIRD", () => {
  birdPairSuite("openbgpd", (o) => new OpenbgpdDaemon(o));
});
