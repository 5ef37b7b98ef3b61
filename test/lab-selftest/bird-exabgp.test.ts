/** Lab self-test: exabgp peered with BIRD (eBGP over IPv4 and IPv6), proving the exabgp launcher. */
import { describe } from "vitest";
import { ExabgpDaemon } from "../lab/daemons/exabgp.ts";
import { labPrereqs } from "../lab/netns.ts";
import { birdPairSuite } from "./pair.ts";

const skip = labPrereqs(["bird", "birdc", "exabgp", "python3"]);

describe.skipIf(!!skip)("lab: exabgp <-> BIRD", () => {
  birdPairSuite("exabgp", (o) => new ExabgpDaemon(o));
});
