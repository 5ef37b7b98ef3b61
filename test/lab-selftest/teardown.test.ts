/**
 * Lab self-test: teardown leaves no namespace, process or directory behind, both through
 * `lab.teardown()` (with a SIGSTOPped daemon) and through the exit hooks of a crashing process.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { BirdDaemon } from "../lab/daemons/bird.ts";
import { Lab, labPrereqs } from "../lab/netns.ts";

const skip = labPrereqs(["bird", "birdc"]);

function namespacesWith(prefix: string): string[] {
  return execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((n) => n.startsWith(`${prefix}-`));
}

function processesMentioning(s: string): string[] {
  return execFileSync("ps", ["-eo", "pid=,stat=,args="], { encoding: "utf8" })
    .split("\n")
    .filter((l) => l.includes(s) && !l.includes("ps -eo"));
}

/** Running or stopped; a zombie (killed, waiting for its reaper) counts as dead. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) [ZX] /.test(stat);
  } catch {
    return false;
  }
}

describe.skipIf(!!skip)("lab: teardown", () => {
  it("teardown() kills processes (also stopped ones), deletes namespaces and the directory", async () => {
    const lab = new Lab("teardown");
    const a = await lab.addHost("a");
    const b = await lab.addHost("b");
    await lab.link(a, b, { aAddr: "10.9.0.1/30", bAddr: "10.9.0.2/30" });
    await lab.bridge([
      { host: a, addr: "10.8.0.1/24" },
      { host: b, addr: "10.8.0.2/24" },
    ]);
    const bird = new BirdDaemon({
      host: a,
      routerId: "10.9.0.1",
      asn: 65001,
      neighbors: [{ address: "10.9.0.2", asn: 65002 }],
    });
    await bird.start();
    bird.kill("SIGSTOP");
    const sleeper = b.spawn(["sleep", "600"]);
    const pids = [
      sleeper.child.pid!,
      ...execFileSync("ip", ["netns", "pids", a.ns], { encoding: "utf8" }).trim().split(/\s+/).map(Number),
    ];

    expect(namespacesWith(lab.prefix)).toHaveLength(3);
    expect(pids.every(alive)).toBe(true);
    expect(processesMentioning(lab.dir).length).toBeGreaterThan(0);

    const t0 = Date.now();
    await lab.teardown();
    await lab.teardown(); // idempotent

    expect(namespacesWith(lab.prefix)).toEqual([]);
    expect(pids.filter(alive)).toEqual([]);
    expect(processesMentioning(lab.dir)).toEqual([]);
    expect(existsSync(lab.dir)).toBe(false);
    // SIGCONT before SIGTERM: a stopped BIRD exits at once instead of waiting for SIGKILL.
    expect(Date.now() - t0).toBeLessThan(1900);
  });

  it("a crashing test process still leaves nothing behind (exit hooks)", () => {
    const here = dirname(fileURLToPath(import.meta.url));
    const tsx = join(here, "../../node_modules/.bin/tsx");
    const r = spawnSync(tsx, [join(here, "fixtures/crash-lab.ts")], { encoding: "utf8", timeout: 30_000 });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("deliberate crash");
    const line = r.stdout.split("\n").find((l) => l.startsWith("{"));
    expect(line).toBeDefined();
    const info = JSON.parse(line!) as { prefix: string; dir: string; pid: number };
    expect(namespacesWith(info.prefix)).toEqual([]);
    expect(alive(info.pid)).toBe(false);
    expect(existsSync(info.dir)).toBe(false);
  });
});
