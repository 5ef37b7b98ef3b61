/**
 * The podgate binary as users run it: check-config verdicts and exit codes, and status/routes
 * against a running daemon's control API on a unix socket.
 */
import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const METRICS_PORT = 40_000 + (process.pid % 20_000);
const BIN = new URL("../../../bin/podgate.js", import.meta.url).pathname;

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("node", [BIN, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === "number" ? code : 1, stdout, stderr });
    });
  });
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "podgate-cli-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("podgate check-config", () => {
  it("accepts the minimal config from the issue", async () => {
    const f = join(dir, "min.yaml");
    await writeFile(f, "routerId: 10.0.0.2\nasn: 64512\npeers:\n  - address: 10.0.0.1\n    asn: 64512\n");
    const r = await run(["check-config", f]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("OK (1 peer)");
  });

  it("names the file, line and key path of a problem and exits 1", async () => {
    const f = join(dir, "bad.yaml");
    await writeFile(f, "routerId: 10.0.0.2\nasn: 64512\npeers:\n  - address: 10.0.0.1\n    asn: zero\n");
    const r = await run(["check-config", f]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.yaml:5:\d+: peers\[0\]\.asn: /);
  });
});

describe("podgate status/routes against a running daemon", () => {
  it("prints the peer table and JSON with the documented fields", async () => {
    const sock = join(dir, "api.sock");
    const cfg = join(dir, "run.yaml");
    // Listening disabled and a passive peer: nothing touches the network.
    await writeFile(
      cfg,
      [
        "routerId: 10.0.0.2",
        "asn: 64512",
        "listen: { enabled: false }",
        // The root namespace of a developer's machine or CI: never touch its routes or sysctls.
        "dataplane: { enabled: false }",
        `metrics: { enabled: true, address: "127.0.0.1:${METRICS_PORT}" }`,
        `api: { socket: ${sock} }`,
        "log: { level: warn }",
        "peers:",
        "  - address: 192.0.2.1",
        "    asn: 65010",
        "    passive: true",
        "    export: accept-all",
        "originate:",
        "  - prefix: 10.244.0.0/16",
      ].join("\n"),
    );
    const daemon = spawn("node", [BIN, "run", "--config", cfg], { stdio: ["ignore", "pipe", "pipe"] });
    try {
      let status: { code: number; stdout: string; stderr: string } | undefined;
      for (let i = 0; i < 100; i++) {
        status = await run(["status", "--json", "--socket", sock]);
        if (status.code === 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(status?.code).toBe(0);
      const s = JSON.parse(status!.stdout);
      expect(s.peers).toHaveLength(1);
      const p = s.peers[0];
      for (const k of [
        "address",
        "asn",
        "state",
        "since",
        "prefixesReceived",
        "prefixesAccepted",
        "prefixesAdvertised",
      ]) {
        expect(p).toHaveProperty(k);
      }
      expect(p.address).toBe("192.0.2.1");
      expect(p.state).toBe("Active");

      // Opt-in metrics on loopback: the peer shows up by state.
      const scrape = await (await fetch(`http://127.0.0.1:${METRICS_PORT}/metrics`)).text();
      expect(scrape).toMatch(/podgate_bgp_peers\{state="Active"\} 1/);
      expect((await fetch(`http://127.0.0.1:${METRICS_PORT}/healthz`)).status).toBe(200);

      const table = await run(["status", "--socket", sock]);
      expect(table.stdout).toMatch(/\| 192\.0\.2\.1 +\| 65010 +\| office +\| Active +\|/);

      const routes = JSON.parse((await run(["routes", "--json", "--socket", sock])).stdout);
      expect(routes.routes).toEqual([
        expect.objectContaining({ prefix: "10.244.0.0/16", peer: "local", best: true, nextHop: "self" }),
      ]);

      // reload: a new originated prefix appears; a broken file is rejected and the old config kept.
      const { readFile } = await import("node:fs/promises");
      const good = await readFile(cfg, "utf8");
      await writeFile(cfg, `${good}\n  - prefix: 10.96.0.0/12\n`);
      const ok = await run(["reload", "--socket", sock]);
      expect(ok.code, ok.stderr).toBe(0);
      const after = JSON.parse((await run(["routes", "--json", "--socket", sock])).stdout);
      expect(after.routes.map((r: { prefix: string }) => r.prefix)).toEqual([
        "10.96.0.0/12",
        "10.244.0.0/16",
      ]);
      await writeFile(cfg, `${good}\n  - prefix: 10.96.0.1/12\n`);
      const bad = await run(["reload", "--socket", sock]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/run\.yaml:\d+:\d+: originate\[1\]\.prefix/);
      const kept = JSON.parse((await run(["routes", "--json", "--socket", sock])).stdout);
      expect(kept.routes).toHaveLength(2);
    } finally {
      const exited = new Promise<number | null>((r) => daemon.once("exit", (c) => r(c)));
      daemon.kill("SIGTERM");
      expect(await exited).toBe(0);
    }
  });

  it("says where it looked when no daemon is running", async () => {
    const r = await run(["status", "--socket", join(dir, "nothing.sock")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("cannot reach podgate at");
  });
});
