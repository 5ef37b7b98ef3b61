/**
 * The README's first command, checked: `npm run demo -- --check` builds the namespace lab
 * (three calico-node-style BIRD nodes, podgate, an FRR office router), verifies every route
 * lands where it should, and tears everything down.
 */
import { execFile } from "node:child_process";
import { describe, expect, it } from "vitest";
import { missingPrereqs } from "../helpers/prereq.ts";

const skip = missingPrereqs({ root: true, commands: ["ip", "bird", "birdc", "vtysh", "/usr/lib/frr/bgpd"] });

describe.skipIf(!!skip)("npm run demo -- --check", () => {
  it("passes every check and leaves nothing behind", async () => {
    const root = new URL("../../", import.meta.url).pathname;
    const r = await new Promise<{ code: number; out: string }>((resolve) => {
      execFile("bash", ["demo/run.sh", "--check"], { cwd: root, timeout: 120_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
      });
    });
    expect(r.out, r.out).toMatch(/PASS: (\d+)\/\1 checks passed/);
    expect(r.code, r.out).toBe(0);
    const ns = await new Promise<string>((resolve) =>
      execFile("ip", ["netns", "list"], (_e, stdout) => resolve(stdout)),
    );
    expect(ns).not.toMatch(/pgdemo-/);
  }, 150_000);
});
