/**
 * IPIP device over rtnetlink in a real kernel, in a namespace we create: our RTM_NEWLINK makes a
 * device `ip -d link` shows as ipip with MTU 1480, the given local address, ttl inherit and
 * pmtudisc; our RTM_DELLINK removes it. Node cannot setns(), so the send runs in a child under
 * `ip netns exec`. Before anything, the suite really tries `ip link add … type ipip`: kernels
 * without the ipip module (this machine's) skip with "kernel has no ipip module".
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kernelLacksLinkType, missingPrereqs } from "../helpers/prereq.ts";

const NS = `pgipip${process.pid}`;
const DEV = `pgip${process.pid}`.slice(0, 15);
const IPIP_TS = fileURLToPath(new URL("../../src/dataplane/linux/ipip.ts", import.meta.url));

// Root and iproute2 are install prerequisites: under CI=true missingPrereqs fails the run.
const prereq = missingPrereqs({ root: true, commands: ["ip", "node"] });

const nsDel = (): void => {
  try {
    execFileSync("ip", ["netns", "del", NS], { stdio: "ignore" });
  } catch {}
};

// A kernel property, not an install step: skips with the reason even under CI=true.
const noModule = prereq ? undefined : kernelLacksLinkType("ipip");
const skip = prereq ?? noModule;

describe.skipIf(!!skip)(
  `ipip link over rtnetlink (root, namespace)${skip ? ` — skipped: ${skip}` : ""}`,
  () => {
    let dir: string;
    let sender: string;

    const send = (op: "create" | "delete") => {
      const r = spawnSync("ip", ["netns", "exec", NS, process.execPath, "--import", "tsx", sender, op], {
        encoding: "utf8",
        timeout: 15_000,
      });
      if (r.status !== 0) throw new Error(`sender ${op} exited ${r.status}: ${r.stderr}`);
      return r.stdout.trim();
    };

    beforeAll(() => {
      process.once("exit", nsDel);
      execFileSync("ip", ["netns", "add", NS]);
      execFileSync("ip", ["netns", "exec", NS, "ip", "link", "set", "lo", "up"]);
      dir = mkdtempSync(join(tmpdir(), `podgate-ipip-${process.pid}-`));
      sender = join(dir, "send.ts");
      writeFileSync(
        sender,
        `import { RawNetlinkSocket } from ${JSON.stringify(fileURLToPath(new URL("../../node_modules/netlink/dist/index.js", import.meta.url)))};
import { encodeIpipLinkRequest } from ${JSON.stringify(IPIP_TS)};
const op = process.argv[2] === "delete" ? "delete" : "create";
const sock = new RawNetlinkSocket(0, {});
sock.on("message", (buf) => {
  // NLMSG_ERROR (2): payload starts with -errno; 0 is the ACK.
  if (buf.readUInt16LE(4) === 2) { console.log(String(-buf.readInt32LE(16))); sock.close(); }
});
sock.send([encodeIpipLinkRequest(op, { name: ${JSON.stringify(DEV)}, local: "127.0.0.1", seq: 7 })], undefined, () => {});
setTimeout(() => { console.log("timeout"); process.exit(1); }, 5000).unref();
`,
      );
    });

    afterAll(() => {
      nsDel();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it("RTM_NEWLINK creates an ipip device with MTU 1480, local, ttl inherit, pmtudisc", () => {
      expect(send("create")).toBe("0");
      const show = execFileSync("ip", ["netns", "exec", NS, "ip", "-d", "link", "show", DEV], {
        encoding: "utf8",
      });
      expect(show).toMatch(/mtu 1480/);
      expect(show).toMatch(/ipip .*local 127\.0\.0\.1/);
      expect(show).toMatch(/ttl inherit/);
      expect(show).toMatch(/pmtudisc/);
      expect(show).not.toMatch(/nopmtudisc/);
      // NLM_F_EXCL: a second create is EEXIST (17), not a silent reuse.
      expect(send("create")).toBe("17");
    });

    it("RTM_DELLINK by name removes it", () => {
      expect(send("delete")).toBe("0");
      const r = spawnSync("ip", ["netns", "exec", NS, "ip", "link", "show", DEV]);
      expect(r.status).not.toBe(0);
    });
  },
);
