/**
 * tcpsock without its native addon (PODGATE_NO_TCPSOCK_ADDON=1, as when native/tcpsock is not
 * built): plain connect/listen still work, and asking for MD5/GTSM fails loudly instead of
 * silently opening an unprotected session.
 */
import type net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

type Mod = typeof import("../../../../src/bgp/session/tcpsock.ts");
let mod: Mod;
const saved = process.env["PODGATE_NO_TCPSOCK_ADDON"];

beforeAll(async () => {
  process.env["PODGATE_NO_TCPSOCK_ADDON"] = "1";
  // Vitest isolates modules per test file, so this import evaluates tcpsock.ts afresh.
  mod = await import("../../../../src/bgp/session/tcpsock.ts");
});
afterAll(() => {
  if (saved === undefined) delete process.env["PODGATE_NO_TCPSOCK_ADDON"];
  else process.env["PODGATE_NO_TCPSOCK_ADDON"] = saved;
});

describe("tcpsock without the addon", () => {
  it("reports the addon as unavailable", () => {
    expect(mod.addonAvailable()).toBe(false);
  });

  it("plain listen + connect work and data flows", async () => {
    const srv = await mod.listenTcp({ host: "127.0.0.1", port: 0 }, (s) => s.end("hi"));
    try {
      const port = (srv.server.address() as net.AddressInfo).port;
      const c = await mod.connectTcp({ host: "127.0.0.1", port, timeoutMs: 1500 });
      const got = await new Promise<string>((resolve) => {
        let d = "";
        c.on("data", (b: Buffer) => {
          d += b.toString();
        });
        c.on("end", () => resolve(d));
      });
      expect(got).toBe("hi");
      srv.setPeerKey("127.0.0.1", undefined); // removing is a no-op
      expect(() => srv.setPeerKey("127.0.0.1", "k")).toThrow(
        expect.objectContaining({ code: "ERR_TCPSOCK_ADDON_MISSING" }),
      );
    } finally {
      await srv.close();
    }
  });

  it("refuses MD5 and GTSM instead of connecting unprotected", async () => {
    await expect(mod.connectTcp({ host: "127.0.0.1", port: 1, md5Password: "k" })).rejects.toMatchObject({
      code: "ERR_TCPSOCK_ADDON_MISSING",
    });
    await expect(mod.connectTcp({ host: "127.0.0.1", port: 1, ttl: 255 })).rejects.toMatchObject({
      code: "ERR_TCPSOCK_ADDON_MISSING",
    });
    await expect(
      mod.listenTcp({ host: "127.0.0.1", port: 0, keys: new Map([["127.0.0.1", "k"]]) }, () => {}),
    ).rejects.toMatchObject({ code: "ERR_TCPSOCK_ADDON_MISSING" });
  });
});
