/**
 * The rendered BIRD and FRR configurations are accepted by the real parsers: `bird -p` on a
 * bird.conf that includes the rendered file (as docs/router-config.md tells users to), and
 * `vtysh --dryrun` on the rendered FRR (and OpenWrt, which is FRR) text. A deliberately broken
 * copy must be refused, so these checks can fail.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildRouterModels, type RenderOptions } from "../../src/render/model.ts";
import { renderRouter, type Vendor } from "../../src/render/routers/index.ts";
import { missingPrereqs } from "../helpers/prereq.ts";
import { goldenConfig } from "../unit/render/fixture.ts";

const dir = mkdtempSync(join(tmpdir(), `podgate-render-parse-${process.pid}-`));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function exec(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 127) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

function rendered(vendor: Vendor, opts: RenderOptions = {}): string {
  const [m] = buildRouterModels(goldenConfig(), opts).models;
  return renderRouter(vendor, m!);
}

/** Cases: BGP with key, with placeholder, without office prefixes, multihop-free static. */
const CASES: Array<[string, RenderOptions]> = [
  ["bgp", {}],
  ["no-password", { noPassword: true }],
  ["announce-nothing", { officePrefixes: [], podCidrs: ["10.244.0.0/16", "10.1.2.3/32"] }],
  ["static", { static: true }],
];

const birdSkip = missingPrereqs({ commands: ["bird"] });
describe.skipIf(!!birdSkip)("bird -p accepts the rendered BIRD 2 include file", () => {
  async function birdParse(name: string, fragment: string) {
    const frag = join(dir, `${name}.podgate.conf`);
    writeFileSync(frag, fragment);
    const main = join(dir, `${name}.bird.conf`);
    writeFileSync(main, `router id 192.0.2.1;\nprotocol device {}\ninclude "${frag}";\n`);
    return exec("bird", ["-p", "-c", main]);
  }
  for (const [name, opts] of CASES) {
    it(name, async () => {
      const r = await birdParse(name, rendered("bird", opts));
      expect(r.out).toBe("");
      expect(r.code).toBe(0);
    });
  }
  it("a broken copy is refused (the check can fail)", async () => {
    const r = await birdParse("broken", rendered("bird").replace("{16,32}", "{16,32"));
    expect(r.code).not.toBe(0);
  });
});

const frrSkip = missingPrereqs({ commands: ["vtysh"] });
describe.skipIf(!!frrSkip)("vtysh --dryrun accepts the rendered FRR configuration", () => {
  async function dryrun(name: string, text: string) {
    const f = join(dir, `${name}.frr.conf`);
    writeFileSync(f, text);
    return exec("vtysh", ["--dryrun", "-f", f]);
  }
  for (const vendor of ["frr", "openwrt"] as const) {
    for (const [name, opts] of CASES) {
      if (vendor === "openwrt" && name === "static") continue; // uci commands, not FRR
      it(`${vendor} ${name}`, async () => {
        const r = await dryrun(`${vendor}-${name}`, rendered(vendor, opts));
        expect(r.out).toBe("");
        expect(r.code).toBe(0);
      });
    }
  }
  it("a broken copy is refused (the check can fail)", async () => {
    const r = await dryrun("broken", rendered("frr").replace("remote-as", "remote-ass"));
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/Unknown command/);
  });
});
