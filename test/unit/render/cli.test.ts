/**
 * `podgate render` as users run it (bin/podgate.js): stdout is the golden text, the key warning
 * goes to stderr (and only when the key is in the output), bad arguments exit 2, config
 * problems exit 1.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { GOLDEN_DIR } from "./fixture.ts";

const BIN = fileURLToPath(new URL("../../../bin/podgate.js", import.meta.url));
const CONFIG = fileURLToPath(new URL("podgate.yaml", GOLDEN_DIR));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("node", [BIN, "render", ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === "number" ? code : 1, stdout, stderr });
    });
  });
}

const golden = (name: string) => readFileSync(new URL(name, GOLDEN_DIR), "utf8");

describe("podgate render", () => {
  it("router --vendor frr prints the golden config and warns about the key on stderr", async () => {
    const r = await run(["router", "--vendor", "frr", "--config", CONFIG]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(golden("frr.txt"));
    expect(r.stderr).toMatch(/warning: the output contains the TCP-MD5 key/);
    expect(r.stderr).not.toContain("golden-md5-key");
  });

  it("--no-password and --static print no key and no warning", async () => {
    const a = await run(["router", "--vendor", "junos", "--config", CONFIG, "--no-password"]);
    expect(a.code).toBe(0);
    expect(a.stdout).not.toContain("golden-md5-key");
    expect(a.stdout).toContain("REPLACE-WITH-TCP-MD5-KEY");
    expect(a.stderr).toBe("");
    const s = await run(["router", "--vendor", "vyos", "--config", CONFIG, "--static"]);
    expect(s.stdout).toBe(golden("vyos-static.txt"));
  });

  it("laptop --os linux --undo prints the golden undo script", async () => {
    const r = await run(["laptop", "--os", "linux", "--config", CONFIG, "--undo"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(golden("laptop-linux-undo.txt"));
  });

  it("exit codes: 2 for usage, 1 for config/render problems", async () => {
    expect((await run(["router", "--vendor", "nope", "--config", CONFIG])).code).toBe(2);
    expect((await run(["laptop", "--os", "linux", "--bogus"])).code).toBe(2);
    const r = await run(["router", "--vendor", "frr", "--config", CONFIG, "--pod-cidr", "10.244.1.0/16"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/host bits are set; did you mean 10\.244\.0\.0\/16/);
    expect((await run(["router", "--vendor", "frr", "--config", "/nonexistent.yaml"])).code).toBe(1);
  });
});
