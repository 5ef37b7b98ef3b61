/**
 * Golden files for every router vendor (BGP and --static) and laptop OS (apply and --undo),
 * rendered from test/golden/render/podgate.yaml. Any change to the output fails here; after a
 * deliberate change, refresh with `UPDATE_GOLDEN=1 npx vitest run test/unit/render` and review
 * the diff of test/golden/render/.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { LAPTOP_OSES, renderLaptop } from "../../../src/render/laptop/index.ts";
import { buildLaptopModel, buildRouterModels } from "../../../src/render/model.ts";
import { renderRouter, VENDORS } from "../../../src/render/routers/index.ts";

import { GOLDEN_DIR, goldenConfig } from "./fixture.ts";

const UPDATE = process.env["UPDATE_GOLDEN"] === "1";

function checkGolden(name: string, actual: string): void {
  const file = new URL(name, GOLDEN_DIR);
  if (UPDATE) {
    writeFileSync(file, actual);
    return;
  }
  if (!existsSync(file)) {
    throw new Error(`missing golden file test/golden/render/${name}; run with UPDATE_GOLDEN=1 to create it`);
  }
  expect(actual, `output differs from test/golden/render/${name} (UPDATE_GOLDEN=1 to accept)`).toBe(
    readFileSync(file, "utf8"),
  );
}

describe("router configs match their golden files", () => {
  const cfg = goldenConfig();
  for (const vendor of VENDORS) {
    it(`${vendor} (BGP)`, () => {
      const [m] = buildRouterModels(cfg).models;
      checkGolden(`${vendor}.txt`, renderRouter(vendor, m!));
    });
    it(`${vendor} (--static)`, () => {
      const [m] = buildRouterModels(cfg, { static: true }).models;
      checkGolden(`${vendor}-static.txt`, renderRouter(vendor, m!));
    });
  }
});

describe("laptop scripts match their golden files", () => {
  const { model } = buildLaptopModel(goldenConfig());
  for (const os of LAPTOP_OSES) {
    it(`${os}`, () => checkGolden(`laptop-${os}.txt`, renderLaptop(os, model)));
    it(`${os} --undo`, () => checkGolden(`laptop-${os}-undo.txt`, renderLaptop(os, model, true)));
  }
});

describe("IOS-style prefix lists without an office prefix", () => {
  it("end the out list with a deny-all in each dialect, so the router announces nothing", () => {
    const [golden] = buildRouterModels(goldenConfig()).models;
    const m = { ...golden!, officePrefixes: [] };
    const ios = renderRouter("cisco-ios", m);
    const frr = renderRouter("frr", m);
    expect(ios).toContain("ip prefix-list PODGATE-OUT seq 5 deny 0.0.0.0/0 le 32");
    expect(frr).toContain("ip prefix-list PODGATE-OUT seq 5 deny any");
    for (const text of [ios, frr]) {
      expect(text).toContain("ip prefix-list PODGATE-IN seq 5 permit 10.244.0.0/16 le 32");
      expect(text).not.toMatch(/PODGATE-OUT seq \d+ permit/);
    }
  });
});
