/** Lab self-test: gobgp peered with BIRD (eBGP over IPv4 and IPv6), proving the gobgp launcher. */
import { describe } from "vitest";
import { GobgpDaemon } from "../lab/daemons/gobgp.ts";
import { labPrereqs } from "../lab/netns.ts";
import { birdPairSuite } from "./pair.ts";

const skip = labPrereqs(["bird", "birdc", "gobgpd", "gobgp"]);

describe.skipIf(!!skip)("lab: gobgp <-> BIRD", () => {
  birdPairSuite("gobgp", (o) => new GobgpDaemon(o));
});
