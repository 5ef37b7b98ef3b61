/**
 * tcpsock against BIRD 2 over loopback (root namespace, random 127.x.y.0/24 addresses and
 * ports per run): TCP MD5 (RFC 2385) and GTSM (RFC 5082) in both directions. BIRD connecting to
 * our listener must be accepted only with the right key; our connectTcp must reach BIRD's
 * listener only with the right key / TTL 255. "Reaches" is proven at the BGP level: BIRD's
 * OPEN arrives, and after we send an OPEN BIRD answers with a KEEPALIVE (it got our segments).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addonAvailable,
  connectTcp,
  GTSM_TTL,
  listenTcp,
  type SecureServer,
} from "../../../../src/bgp/session/tcpsock.ts";
import {
  BGP_VERSION,
  HEADER_LENGTH,
  MARKER_LENGTH,
  MessageType,
} from "../../../../src/bgp/wire/constants.ts";
import { missingPrereqs } from "../../../helpers/prereq.ts";

const skip = missingPrereqs({
  root: true,
  commands: ["bird"],
  checks: [() => (addonAvailable() ? undefined : "needs native/tcpsock built (npm run build:addon)")],
});

const PASSWORD = `bird-${process.pid}`;
const BIRD_AS = 65001;
const OUR_AS = 65002;
const HOLD_TIME = 9;
// A /24 of loopback for this run: BIRD at .9, one of our addresses per scenario.
const net24 = `127.${16 + (process.pid % 200)}.${1 + Math.floor(Math.random() * 250)}`;
const BIRD_IP = `${net24}.9`;
const ADDR = {
  mdListen: `${net24}.1`,
  mdConnect: `${net24}.2`,
  gtsmConnect: `${net24}.3`,
  gtsmListen: `${net24}.4`,
};

/** A minimal RFC 4271 OPEN without optional parameters (BIRD then assumes IPv4 unicast). */
function openMessage(as: number, routerId: string): Buffer {
  const len = HEADER_LENGTH + 10;
  const b = Buffer.alloc(len, 0xff);
  b.writeUInt16BE(len, MARKER_LENGTH);
  b.writeUInt8(MessageType.OPEN, MARKER_LENGTH + 2);
  b.writeUInt8(BGP_VERSION, HEADER_LENGTH);
  b.writeUInt16BE(as, HEADER_LENGTH + 1);
  b.writeUInt16BE(HOLD_TIME, HEADER_LENGTH + 3);
  Buffer.from(routerId.split(".").map(Number)).copy(b, HEADER_LENGTH + 5);
  b.writeUInt8(0, HEADER_LENGTH + 9);
  return b;
}

/** Collects whole BGP messages from a socket; `types()` lists the message types seen so far. */
function bgpReader(s: net.Socket) {
  let buf = Buffer.alloc(0);
  let first: Buffer | undefined;
  const types: number[] = [];
  s.on("data", (d: Buffer) => {
    first ??= Buffer.from(d.subarray(0, MARKER_LENGTH));
    buf = Buffer.concat([buf, d]);
    while (buf.length >= HEADER_LENGTH) {
      const len = buf.readUInt16BE(MARKER_LENGTH);
      if (len < HEADER_LENGTH || buf.length < len) break;
      types.push(buf.readUInt8(MARKER_LENGTH + 2));
      buf = buf.subarray(len);
    }
  });
  s.on("error", () => {});
  return { types, firstBytes: () => first };
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe.skipIf(!!skip)("tcpsock with BIRD 2 (MD5 and GTSM on loopback)", () => {
  let dir = "";
  let bird: ChildProcess | undefined;
  let birdLog = "";
  let birdPort = 0;
  const servers: SecureServer[] = [];
  const sockets: net.Socket[] = [];
  const mdAccepted: net.Socket[] = [];
  const gtsmAccepted: net.Socket[] = [];
  let md5Listener: SecureServer;
  const killBird = () => {
    if (bird?.pid && bird.exitCode === null) bird.kill("SIGKILL");
  };

  beforeAll(async () => {
    process.on("exit", killBird);
    // Our listeners first, so their ports go into BIRD's config. The MD5 one starts with a
    // WRONG key for BIRD: the first test shows BIRD's connections do not get through.
    md5Listener = await listenTcp(
      { host: ADDR.mdListen, port: 0, keys: new Map([[BIRD_IP, `${PASSWORD}-wrong`]]) },
      (s) => {
        sockets.push(s);
        mdAccepted.push(s);
      },
    );
    const gtsmListener = await listenTcp(
      { host: ADDR.gtsmListen, port: 0, ttl: GTSM_TTL, minTtl: GTSM_TTL },
      (s) => {
        sockets.push(s);
        gtsmAccepted.push(s);
      },
    );
    servers.push(md5Listener, gtsmListener);
    const portOf = (s: SecureServer) => (s.server.address() as net.AddressInfo).port;
    birdPort = await freePort();

    dir = mkdtempSync(join(tmpdir(), `podgate-tcpsock-bird-${process.pid}-`));
    // `multihop 1`: BIRD won't take loopback neighbors as directly connected, and with
    // `ttl security on` one hop means it requires TTL 255 (RFC 5082).
    const proto = (name: string, peer: string, body: string) =>
      `protocol bgp ${name} {
  local ${BIRD_IP} port ${birdPort} as ${BIRD_AS};
  neighbor ${peer} as ${OUR_AS};
  strict bind yes; multihop 1; hold time ${HOLD_TIME};
  connect delay time 1; connect retry time 2; error wait time 1, 2;
  ${body}
  ipv4 { import none; export none; };
}`;
    const conf = [
      `router id ${BIRD_IP};`,
      "log stderr all;",
      "protocol device {}",
      // BIRD connects out to our listeners ...
      proto("out_md5", `${ADDR.mdListen} port ${portOf(md5Listener)}`, `password "${PASSWORD}";`),
      proto("out_gtsm", `${ADDR.gtsmListen} port ${portOf(gtsmListener)}`, "ttl security on;"),
      // ... and waits for our connectTcp.
      proto("in_md5", ADDR.mdConnect, `passive on; password "${PASSWORD}";`),
      proto("in_gtsm", ADDR.gtsmConnect, "passive on; ttl security on;"),
    ].join("\n");
    const confFile = join(dir, "bird.conf");
    writeFileSync(confFile, `${conf}\n`, { mode: 0o600 });
    bird = spawn("bird", ["-f", "-c", confFile, "-s", join(dir, "bird.ctl"), "-P", join(dir, "bird.pid")], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    bird.stdout?.on("data", (d: Buffer) => {
      birdLog += d.toString();
    });
    bird.stderr?.on("data", (d: Buffer) => {
      birdLog += d.toString();
    });
    // BIRD logs "Started" once its config is loaded and its listening socket is open.
    const ready = await until(() => birdLog.includes("Started") || bird?.exitCode !== null, 5000);
    expect(ready && bird.exitCode === null, `BIRD did not start:\n${birdLog}`).toBe(true);
  });

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    for (const s of servers) await s.close();
    if (bird && bird.exitCode === null) {
      const exited = new Promise((r) => bird?.once("exit", r));
      bird.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
      killBird();
    }
    process.off("exit", killBird);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("BIRD's connection does not reach our listener with the wrong key, then does with the right one", async () => {
    // connect retry time 2: BIRD sends fresh SYNs every ~2 s; none may be accepted.
    expect(await until(() => mdAccepted.length > 0, 5000)).toBe(false);
    md5Listener.setPeerKey(BIRD_IP, PASSWORD);
    expect(await until(() => mdAccepted.length > 0, 10_000), birdLog).toBe(true);
    const s = mdAccepted[0]!;
    expect(s.remoteAddress).toBe(BIRD_IP);
    const r = bgpReader(s);
    expect(await until(() => r.types.length > 0, 5000)).toBe(true);
    // BIRD speaks first with an OPEN: 16 × 0xff marker, type 1.
    expect(r.firstBytes()).toEqual(Buffer.alloc(MARKER_LENGTH, 0xff));
    expect(r.types[0]).toBe(MessageType.OPEN);
  });

  it("our MD5 connectTcp reaches BIRD's keyed listener; a wrong or missing key does not", async () => {
    const base = { host: BIRD_IP, port: birdPort, localAddress: ADDR.mdConnect, timeoutMs: 1500 };
    const [wrong, none] = await Promise.all([
      connectTcp({ ...base, md5Password: `${PASSWORD}-wrong` }).then(
        () => "connected",
        (e: { code?: string }) => e.code,
      ),
      connectTcp(base).then(
        () => "connected",
        (e: { code?: string }) => e.code,
      ),
    ]);
    expect([wrong, none]).toEqual(["ETIMEDOUT", "ETIMEDOUT"]);

    const s = await connectTcp({ ...base, md5Password: PASSWORD, timeoutMs: 3000 });
    sockets.push(s);
    const r = bgpReader(s);
    s.write(openMessage(OUR_AS, ADDR.mdConnect));
    // BIRD's OPEN, then its KEEPALIVE accepting ours: segments flowed both ways, signed.
    expect(await until(() => r.types.includes(MessageType.KEEPALIVE), 5000), birdLog).toBe(true);
    expect(r.firstBytes()).toEqual(Buffer.alloc(MARKER_LENGTH, 0xff));
    expect(r.types[0]).toBe(MessageType.OPEN);
    s.destroy();
  });

  it("GTSM: connectTcp with TTL 255 gets through to a `ttl security on` BIRD; default TTL does not", async () => {
    const base = { host: BIRD_IP, port: birdPort, localAddress: ADDR.gtsmConnect, timeoutMs: 3000 };
    const ok = await connectTcp({ ...base, ttl: GTSM_TTL, minTtl: GTSM_TTL });
    sockets.push(ok);
    const r = bgpReader(ok);
    ok.write(openMessage(OUR_AS, ADDR.gtsmConnect));
    expect(await until(() => r.types.includes(MessageType.KEEPALIVE), 5000), birdLog).toBe(true);
    expect(r.types[0]).toBe(MessageType.OPEN);
    ok.destroy();

    // BIRD sets IP_MINTTL on the accepted socket, so TCP connects, BIRD's OPEN (TTL 255) reaches
    // us, but our TTL-64 segments, the OPEN included, are dropped: no KEEPALIVE ever comes.
    const low = await connectTcp(base);
    sockets.push(low);
    const r2 = bgpReader(low);
    // Write only after BIRD's OPEN has arrived: BIRD sets IP_MINTTL while accepting, and a
    // segment that arrives before that would get through (a race, not GTSM failing).
    expect(await until(() => r2.types.includes(MessageType.OPEN), 3000)).toBe(true);
    low.write(openMessage(OUR_AS, ADDR.gtsmConnect));
    expect(await until(() => r2.types.includes(MessageType.KEEPALIVE), 3000)).toBe(false);
    low.destroy();
  });

  it("GTSM: BIRD with `ttl security on` reaches our minTtl 255 listener", async () => {
    expect(await until(() => gtsmAccepted.length > 0, 10_000), birdLog).toBe(true);
    const s = gtsmAccepted[0]!;
    expect(s.remoteAddress).toBe(BIRD_IP);
    const r = bgpReader(s);
    expect(await until(() => r.types.length > 0, 5000)).toBe(true);
    expect(r.firstBytes()).toEqual(Buffer.alloc(MARKER_LENGTH, 0xff));
  });
});
