/**
 * tcpsock against the real kernel on loopback: plain TCP, error codes, TCP MD5 (RFC 2385)
 * enforcement in both directions, run-time key changes on a listener, IPv6 / v4-mapped peers,
 * and GTSM (RFC 5082) minimum TTL. No root needed; the addon must be built.
 */
import net from "node:net";
import { networkInterfaces } from "node:os";
import { afterEach, describe, expect, it } from "vitest";
import {
  addonAvailable,
  connectTcp,
  GTSM_TTL,
  listenTcp,
  type SecureServer,
  setSocketTtl,
} from "../../../../src/bgp/session/tcpsock.ts";
import { missingPrereqs } from "../../../helpers/prereq.ts";

const SHORT_MS = 1500;
const PASSWORD = `k-${process.pid}-secret`;

const skipAddon = missingPrereqs({
  checks: [() => (addonAvailable() ? undefined : "needs native/tcpsock built (npm run build:addon)")],
});
// IPv6 tests need ::1 on loopback (absent when IPv6 is disabled).
const hasIpv6 = Object.values(networkInterfaces()).some((ifs) => ifs?.some((a) => a.address === "::1"));

const open: { servers: SecureServer[]; sockets: net.Socket[] } = { servers: [], sockets: [] };
afterEach(async () => {
  for (const s of open.sockets.splice(0)) s.destroy();
  for (const s of open.servers.splice(0)) await s.close();
});

/** A listener that answers every connection with "hello <remote address>" and counts them. */
async function greeter(opts: Parameters<typeof listenTcp>[0]) {
  const accepted: string[] = [];
  const srv = await listenTcp(opts, (s) => {
    accepted.push(s.remoteAddress ?? "?");
    open.sockets.push(s);
    s.end(`hello ${s.remoteAddress}`);
  });
  open.servers.push(srv);
  const port = (srv.server.address() as net.AddressInfo).port;
  return { srv, port, accepted };
}

function readAll(s: net.Socket): Promise<string> {
  open.sockets.push(s);
  return new Promise((resolve, reject) => {
    let got = "";
    s.setEncoding("utf8");
    s.on("data", (d: string) => {
      got += d;
    });
    s.on("end", () => resolve(got));
    s.on("error", reject);
  });
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    const s = await p;
    if (s instanceof net.Socket) open.sockets.push(s);
    return "connected";
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

async function closedPort(host: string): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, host, r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe("tcpsock without security options", () => {
  it("connects and listens on 127.0.0.1 with plain sockets", async () => {
    const { port, accepted } = await greeter({ host: "127.0.0.1", port: 0 });
    const c = await connectTcp({ host: "127.0.0.1", port, localAddress: "127.0.0.1" });
    expect(await readAll(c)).toBe("hello 127.0.0.1");
    expect(accepted).toEqual(["127.0.0.1"]);
  });

  it("rejects with ECONNREFUSED on a closed port", async () => {
    const port = await closedPort("127.0.0.1");
    await expect(connectTcp({ host: "127.0.0.1", port })).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });

  it("reports EADDRINUSE for a taken port", async () => {
    const { port } = await greeter({ host: "127.0.0.1", port: 0 });
    await expect(listenTcp({ host: "127.0.0.1", port }, () => {})).rejects.toMatchObject({
      code: "EADDRINUSE",
    });
  });

  it("validates options without echoing the password", async () => {
    const long = `${PASSWORD}${"x".repeat(80)}`;
    const err = (await connectTcp({ host: "127.0.0.1", port: 1, md5Password: long }).catch(
      (e) => e,
    )) as Error;
    expect(err).toMatchObject({ code: "ERR_INVALID_ARG_VALUE" });
    expect(err.message).not.toContain(PASSWORD);
    await expect(connectTcp({ host: "127.0.0.1", port: 1, ttl: 256 })).rejects.toMatchObject({
      code: "ERR_INVALID_ARG_VALUE",
    });
  });
});

describe.skipIf(!!skipAddon)("tcpsock TCP MD5 (RFC 2385) on loopback", () => {
  it("the addon loads", () => {
    expect(addonAvailable()).toBe(true);
  });

  it("connects with the right key and data flows; wrong key or no key never connects", async () => {
    const { port, accepted } = await greeter({
      host: "127.0.0.1",
      port: 0,
      keys: new Map([["127.0.0.1", PASSWORD]]),
    });
    const c = await connectTcp({ host: "127.0.0.1", port, md5Password: PASSWORD, timeoutMs: SHORT_MS });
    expect(await readAll(c)).toBe("hello 127.0.0.1");
    const [wrong, none] = await Promise.all([
      codeOf(connectTcp({ host: "127.0.0.1", port, md5Password: `${PASSWORD}x`, timeoutMs: SHORT_MS })),
      codeOf(connectTcp({ host: "127.0.0.1", port, timeoutMs: SHORT_MS })),
    ]);
    expect(wrong).toBe("ETIMEDOUT");
    expect(none).toBe("ETIMEDOUT");
    expect(accepted).toHaveLength(1);
  });

  it("a keyed client cannot reach an unkeyed listener; the timeout error says so", async () => {
    const { port, accepted } = await greeter({ host: "127.0.0.1", port: 0 });
    const t0 = Date.now();
    const err = await connectTcp({ host: "127.0.0.1", port, md5Password: PASSWORD, timeoutMs: 400 }).catch(
      (e: Error) => e,
    );
    expect(err).toMatchObject({ code: "ETIMEDOUT", syscall: "connect", address: "127.0.0.1", port });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(390);
    expect((err as Error).message).not.toContain(PASSWORD);
    expect(accepted).toHaveLength(0);
  });

  it("setPeerKey adds and removes keys at run time (address and prefix)", async () => {
    const { srv, port, accepted } = await greeter({ host: "127.0.0.1", port: 0 });
    const keyed = () => connectTcp({ host: "127.0.0.1", port, md5Password: PASSWORD, timeoutMs: SHORT_MS });
    const unkeyed = () => connectTcp({ host: "127.0.0.1", port, timeoutMs: SHORT_MS });

    expect(await codeOf(unkeyed())).toBe("connected");
    srv.setPeerKey("127.0.0.1", PASSWORD);
    expect(await codeOf(keyed())).toBe("connected");
    expect(await codeOf(unkeyed())).toBe("ETIMEDOUT");
    srv.setPeerKey("127.0.0.1", undefined);
    srv.setPeerKey("127.0.0.1", undefined); // removing twice is fine
    expect(await codeOf(keyed())).toBe("ETIMEDOUT");
    expect(await codeOf(unkeyed())).toBe("connected");
    srv.setPeerKey("127.0.0.0/8", PASSWORD);
    expect(await codeOf(keyed())).toBe("connected");
    expect(accepted).toHaveLength(4);
  });

  it("setPeerKey rejects bad peers and refuses to touch a closed listener", async () => {
    const { srv } = await greeter({ host: "127.0.0.1", port: 0 });
    expect(() => srv.setPeerKey("peer.example", PASSWORD)).toThrow(/IP address/);
    expect(() => srv.setPeerKey("10.0.0.0/33", PASSWORD)).toThrow(/IP address/);
    expect(() => srv.setPeerKey("::1", PASSWORD)).toThrow(expect.objectContaining({ code: "EAFNOSUPPORT" }));
    await srv.close();
    expect(() => srv.setPeerKey("127.0.0.1", PASSWORD)).toThrow(
      expect.objectContaining({ code: "ERR_SERVER_NOT_RUNNING" }),
    );
  });

  it("a keyed connect to a closed port times out: the kernel drops the unsigned RST", async () => {
    const port = await closedPort("127.0.0.1");
    expect(await codeOf(connectTcp({ host: "127.0.0.1", port, md5Password: PASSWORD, timeoutMs: 500 }))).toBe(
      "ETIMEDOUT",
    );
  });

  it.skipIf(!hasIpv6)("works on ::1 and for v4-mapped peers of a dual-stack listener", async () => {
    const { port, accepted } = await greeter({
      host: "::",
      port: 0,
      keys: new Map([
        ["::1", PASSWORD],
        ["127.0.0.1", `${PASSWORD}4`],
      ]),
    });
    const c6 = await connectTcp({ host: "::1", port, md5Password: PASSWORD, timeoutMs: SHORT_MS });
    expect(await readAll(c6)).toBe("hello ::1");
    const c4 = await connectTcp({
      host: "127.0.0.1",
      port,
      md5Password: `${PASSWORD}4`,
      timeoutMs: SHORT_MS,
    });
    expect(await readAll(c4)).toBe("hello ::ffff:127.0.0.1");
    const [wrong6, none6] = await Promise.all([
      codeOf(connectTcp({ host: "::1", port, md5Password: `${PASSWORD}4`, timeoutMs: SHORT_MS })),
      codeOf(connectTcp({ host: "::1", port, timeoutMs: SHORT_MS })),
    ]);
    expect([wrong6, none6]).toEqual(["ETIMEDOUT", "ETIMEDOUT"]);
    expect(accepted).toHaveLength(2);
  });

  it("binds the client to localAddress before connecting", async () => {
    const local = "127.0.0.2";
    const { port } = await greeter({ host: "127.0.0.1", port: 0, keys: new Map([[local, PASSWORD]]) });
    const c = await connectTcp({
      host: "127.0.0.1",
      port,
      localAddress: local,
      md5Password: PASSWORD,
      timeoutMs: SHORT_MS,
    });
    expect(c.localAddress).toBe(local);
    expect(await readAll(c)).toBe(`hello ${local}`);
    await expect(
      connectTcp({ host: "127.0.0.1", port, localAddress: "::1", md5Password: PASSWORD }),
    ).rejects.toMatchObject({ code: "EAFNOSUPPORT" });
  });
});

describe.skipIf(!!skipAddon)("tcpsock GTSM (RFC 5082) on loopback", () => {
  it("a minTtl 255 listener accepts only TTL 255 senders", async () => {
    const { port, accepted } = await greeter({ host: "127.0.0.1", port: 0, ttl: GTSM_TTL, minTtl: GTSM_TTL });
    const c = await connectTcp({
      host: "127.0.0.1",
      port,
      ttl: GTSM_TTL,
      minTtl: GTSM_TTL,
      timeoutMs: SHORT_MS,
    });
    // Data both ways means both sides send at 255 (each side also enforces minTtl).
    expect(await readAll(c)).toBe("hello 127.0.0.1");
    const [low, plain] = await Promise.all([
      codeOf(connectTcp({ host: "127.0.0.1", port, ttl: 254, timeoutMs: SHORT_MS })),
      codeOf(connectTcp({ host: "127.0.0.1", port, timeoutMs: SHORT_MS })),
    ]);
    expect([low, plain]).toEqual(["ETIMEDOUT", "ETIMEDOUT"]);
    expect(accepted).toHaveLength(1);
  });

  it.skipIf(!hasIpv6)("applies the hop limit on IPv6 too, combined with MD5", async () => {
    const { port } = await greeter({
      host: "::1",
      port: 0,
      ttl: GTSM_TTL,
      minTtl: GTSM_TTL,
      keys: new Map([["::1", PASSWORD]]),
    });
    const ok = connectTcp({ host: "::1", port, ttl: GTSM_TTL, md5Password: PASSWORD, timeoutMs: SHORT_MS });
    expect(await readAll(await ok)).toBe("hello ::1");
    expect(await codeOf(connectTcp({ host: "::1", port, md5Password: PASSWORD, timeoutMs: SHORT_MS }))).toBe(
      "ETIMEDOUT",
    );
  });
});

describe.skipIf(!!skipAddon)("tcpsock setSocketTtl on an accepted socket", () => {
  it("enforces minTtl per connection after accept", async () => {
    const received: string[] = [];
    const srv = await listenTcp({ host: "127.0.0.1", port: 0 }, (s) => {
      open.sockets.push(s);
      setSocketTtl(s, { ttl: GTSM_TTL, minTtl: GTSM_TTL });
      s.setEncoding("utf8");
      s.on("data", (d: string) => received.push(d));
      s.write("ready");
    });
    open.servers.push(srv);
    const port = (srv.server.address() as net.AddressInfo).port;
    const talk = async (ttl: number | undefined, msg: string) => {
      const c = await connectTcp({ host: "127.0.0.1", port, timeoutMs: SHORT_MS, ...(ttl ? { ttl } : {}) });
      open.sockets.push(c);
      // Wait for "ready" (sent at TTL 255 after the option is set), then send.
      await new Promise((r) => c.once("data", r));
      c.write(msg);
    };
    await talk(GTSM_TTL, "high");
    await talk(undefined, "low");
    await new Promise((r) => setTimeout(r, 500));
    expect(received).toEqual(["high"]);
    const closed = new net.Socket();
    expect(() => setSocketTtl(closed, { minTtl: GTSM_TTL })).toThrow(
      expect.objectContaining({ code: "ERR_SOCKET_CLOSED" }),
    );
  });
});
