/** Forwarding sysctls against a fake /proc/sys tree: check mode reports, set mode writes. */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../../src/core/log.ts";
import { ensureSysctls } from "../../../src/dataplane/sysctl.ts";

let root: string | undefined;
afterEach(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

async function fakeProc(values: Record<string, string>): Promise<string> {
  const r = await mkdtemp(join(tmpdir(), "podgate-sysctl-"));
  for (const [k, v] of Object.entries(values)) {
    const p = join(r, "proc/sys", ...k.split("."));
    await mkdir(dirname(p), { recursive: true });
    await writeFile(p, `${v}\n`);
  }
  return r;
}

const read = (r: string, k: string) => readFile(join(r, "proc/sys", ...k.split(".")), "utf8");

describe("ensureSysctls", () => {
  it("check mode reports differences and writes nothing", async () => {
    root = await fakeProc({
      "net.ipv4.ip_forward": "0",
      "net.ipv6.conf.all.forwarding": "1",
      "net.ipv4.conf.all.rp_filter": "1",
      "net.ipv4.conf.default.rp_filter": "1",
    });
    const res = await ensureSysctls({ mode: "check", log: silentLogger, root });
    expect(res.map((x) => [x.key, x.previous, x.ok, x.changed])).toEqual([
      ["net.ipv4.ip_forward", "0", false, false],
      ["net.ipv6.conf.all.forwarding", "1", true, false],
      ["net.ipv4.conf.all.rp_filter", "1", false, false],
      ["net.ipv4.conf.default.rp_filter", "1", false, false],
    ]);
    expect(await read(root, "net.ipv4.ip_forward")).toBe("0\n");
  });

  it("set mode writes what differs, keeps previous values, reports missing keys", async () => {
    root = await fakeProc({
      "net.ipv4.ip_forward": "0",
      "net.ipv4.conf.all.rp_filter": "1",
      "net.ipv4.conf.default.rp_filter": "2",
    });
    const res = await ensureSysctls({ mode: "set", log: silentLogger, root });
    expect(res.map((x) => [x.key, x.previous, x.ok, x.changed])).toEqual([
      ["net.ipv4.ip_forward", "0", true, true],
      ["net.ipv6.conf.all.forwarding", undefined, false, false],
      ["net.ipv4.conf.all.rp_filter", "1", true, true],
      ["net.ipv4.conf.default.rp_filter", "2", true, false],
    ]);
    expect(await read(root, "net.ipv4.ip_forward")).toBe("1\n");
    expect(await read(root, "net.ipv4.conf.all.rp_filter")).toBe("2\n");
  });
});
