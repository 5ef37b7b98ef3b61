/**
 * src/core/sd-notify.ts and the addon's sendUnixDatagram against a real AF_UNIX datagram
 * socket (a python3 receiver, see notify-receiver.ts): what notify() sends to a file socket and
 * to an abstract "@name", that it never throws (no socket, missing receiver, bad address), the
 * addon's errno errors, the watchdog interval, and the order SystemdNotifier sends in.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createLogger } from "../../../src/core/log.ts";
import {
  monotonicUsec,
  notify,
  peerStatusLine,
  SystemdNotifier,
  setNotifyLogger,
  watchdogIntervalMs,
} from "../../../src/core/sd-notify.ts";
import { missingPrereqs } from "../../helpers/prereq.ts";
import { type Receiver, startReceiver } from "./notify-receiver.ts";

const ADDON = new URL("../../../native/tcpsock/build/Release/tcpsock.node", import.meta.url).pathname;
const skip = missingPrereqs({
  commands: ["python3"],
  checks: [() => (existsSync(ADDON) ? undefined : "needs native/tcpsock built (npm run build:addon)")],
});

interface Addon {
  sendUnixDatagram(path: string, data: Buffer): number;
}

const tmp = mkdtempSync(join(tmpdir(), `podgate-sdnotify-${process.pid}-`));
const receivers: Receiver[] = [];
const cleanup = () => {
  for (const r of receivers.splice(0)) r.close();
  rmSync(tmp, { recursive: true, force: true });
};
afterAll(cleanup);
process.on("exit", cleanup);

const savedEnv = { ...process.env };
beforeEach(() => {
  for (const k of ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"]) delete process.env[k];
});
afterEach(() => {
  for (const k of ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"]) {
    if (savedEnv[k] === undefined) delete process.env[k];
    else process.env[k] = savedEnv[k];
  }
  setNotifyLogger(undefined);
});

async function receiver(address: string): Promise<Receiver> {
  const r = await startReceiver(address);
  receivers.push(r);
  return r;
}

/** A logger whose JSON lines land in `lines`. */
function capturingLogger(lines: Array<Record<string, unknown>>) {
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split("\n"))
        if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return createLogger("debug", sink);
}

const flushLogs = () => new Promise((r) => setImmediate(r));

describe.skipIf(!!skip)("notify() over a real AF_UNIX datagram socket", () => {
  it("sends the state as one datagram to a file socket, from this process", async () => {
    const r = await receiver(join(tmp, "notify.sock"));
    process.env["NOTIFY_SOCKET"] = r.address;
    expect(notify("READY=1\nSTATUS=2/3 peers established, 5 routes accepted")).toBe(true);
    const d = await r.waitFor(() => true, "at all");
    expect(d.text).toBe("READY=1\nSTATUS=2/3 peers established, 5 routes accepted");
    expect(d.vars.get("STATUS")).toBe("2/3 peers established, 5 routes accepted");
    // systemd attributes the message by the sender's credentials: it must be our own PID.
    expect(d.pid).toBe(process.pid);
  });

  it("sends to the abstract namespace when NOTIFY_SOCKET starts with @", async () => {
    const name = `@podgate-test-${process.pid}-${Date.now()}`;
    const r = await receiver(name);
    process.env["NOTIFY_SOCKET"] = name;
    expect(notify("STOPPING=1")).toBe(true);
    expect((await r.waitFor((d) => d.vars.has("STOPPING"), "STOPPING=1")).text).toBe("STOPPING=1");
    // Not a file: "@name" must not have been taken literally as a relative path.
    expect(existsSync(name)).toBe(false);
    // And the same name as a filesystem path reaches nobody.
    process.env["NOTIFY_SOCKET"] = join(tmp, name.slice(1));
    expect(notify("STOPPING=1")).toBe(false);
  });

  it("keeps UTF-8 intact and sends a large status in one piece", async () => {
    const r = await receiver(join(tmp, "big.sock"));
    process.env["NOTIFY_SOCKET"] = r.address;
    const status = `STATUS=Straße ${"x".repeat(4000)}`;
    expect(notify(status)).toBe(true);
    expect((await r.waitFor(() => true, "the status")).text).toBe(status);
  });

  it("does nothing without NOTIFY_SOCKET, and never throws on a bad one", async () => {
    const r = await receiver(join(tmp, "quiet.sock"));
    expect(notify("READY=1")).toBe(false);
    process.env["NOTIFY_SOCKET"] = "";
    expect(notify("READY=1")).toBe(false);
    process.env["NOTIFY_SOCKET"] = r.address;
    expect(notify("")).toBe(false);
    const lines: Array<Record<string, unknown>> = [];
    setNotifyLogger(capturingLogger(lines));
    // Nobody listening, a path too long for sun_path, a vsock address: false, logged, no throw.
    process.env["NOTIFY_SOCKET"] = join(tmp, "nobody.sock");
    expect(notify("READY=1")).toBe(false);
    expect(notify("WATCHDOG=1")).toBe(false);
    process.env["NOTIFY_SOCKET"] = `/${"d".repeat(200)}`;
    expect(notify("READY=1")).toBe(false);
    process.env["NOTIFY_SOCKET"] = "vsock:2:1234";
    expect(notify("READY=1")).toBe(false);
    await flushLogs();
    const failures = lines.filter((l) => l["msg"] === "sd_notify failed");
    // First failure at warn, the ones after it at debug (a missing socket must not flood logs).
    expect(failures.map((l) => [l["level"], l["code"]])).toEqual([
      [40, "ENOENT"],
      [20, "ENOENT"],
      [20, "ENAMETOOLONG"],
    ]);
    expect(lines.some((l) => String(l["msg"]).includes("neither a path nor @abstract"))).toBe(true);
    // The receiver got none of it.
    await new Promise((res) => setTimeout(res, 100));
    expect(r.received).toEqual([]);
  });
});

describe.skipIf(!!skip)("addon sendUnixDatagram", () => {
  const addon = () => createRequire(import.meta.url)(ADDON) as Addon;

  it("returns the bytes sent and throws errno errors with code and syscall", async () => {
    const r = await receiver(join(tmp, "addon.sock"));
    expect(addon().sendUnixDatagram(r.address, Buffer.from("A=1"))).toBe(3);
    await r.waitFor((d) => d.text === "A=1", "A=1");
    expect(() => addon().sendUnixDatagram(join(tmp, "missing.sock"), Buffer.from("x"))).toThrow(
      expect.objectContaining({ code: "ENOENT", syscall: "sendto" }),
    );
    // A path that is not a socket: the kernel refuses, the addon passes the errno on.
    expect(() => addon().sendUnixDatagram(tmp, Buffer.from("x"))).toThrow(
      expect.objectContaining({ code: "ECONNREFUSED" }),
    );
    expect(() => addon().sendUnixDatagram("", Buffer.from("x"))).toThrow(
      expect.objectContaining({ code: "EINVAL" }),
    );
    expect(() => addon().sendUnixDatagram("@", Buffer.from("x"))).toThrow(
      expect.objectContaining({ code: "EINVAL" }),
    );
    expect(() => addon().sendUnixDatagram("/a\0b", Buffer.from("x"))).toThrow(
      expect.objectContaining({ code: "EINVAL" }),
    );
    // sun_path is 108 bytes: a path needs its NUL inside, an abstract name may use all of it.
    expect(() => addon().sendUnixDatagram(`/${"p".repeat(107)}`, Buffer.from("x"))).toThrow(
      expect.objectContaining({ code: "ENAMETOOLONG" }),
    );
    expect(() => addon().sendUnixDatagram(`@${"p".repeat(108)}`, Buffer.from("x"))).toThrow(
      expect.objectContaining({ code: "ENAMETOOLONG" }),
    );
    // 108 bytes of abstract address are accepted (nobody listens: ECONNREFUSED, not a length error).
    expect(() => addon().sendUnixDatagram(`@${"p".repeat(107)}`, Buffer.from("x"))).toThrow(
      expect.objectContaining({ code: "ECONNREFUSED" }),
    );
    expect(() => addon().sendUnixDatagram(r.address, "text" as unknown as Buffer)).toThrow(TypeError);
  });

  it("fills the full 108-byte abstract address", async () => {
    const name = `@${`podgate-${process.pid}-`.padEnd(107, "z")}`;
    const r = await receiver(name);
    expect(addon().sendUnixDatagram(name, Buffer.from("B=2"))).toBe(3);
    await r.waitFor((d) => d.text === "B=2", "B=2");
  });
});

describe("notify() without the addon", () => {
  it("returns false and says once why (a Type=notify start would time out)", async () => {
    // A fresh copy of the module whose require of the .node file fails, as on a VM where
    // `npm run build:addon` failed.
    vi.resetModules();
    vi.doMock("node:module", () => ({
      createRequire: () => () => {
        throw Object.assign(new Error("Cannot find module tcpsock.node"), { code: "MODULE_NOT_FOUND" });
      },
    }));
    try {
      const fresh = await import("../../../src/core/sd-notify.ts");
      const lines: Array<Record<string, unknown>> = [];
      fresh.setNotifyLogger(capturingLogger(lines));
      expect(fresh.notify("READY=1")).toBe(false); // no NOTIFY_SOCKET: silent
      process.env["NOTIFY_SOCKET"] = join(tmp, "never.sock");
      expect(fresh.notify("READY=1")).toBe(false);
      expect(fresh.notify("WATCHDOG=1")).toBe(false);
      await flushLogs();
      expect(lines.map((l) => [l["level"], l["msg"]])).toEqual([
        [40, expect.stringMatching(/native addon .* missing or too old: cannot send READY=1/)],
      ]);
    } finally {
      vi.doUnmock("node:module");
      vi.resetModules();
    }
  });
});

describe("watchdogIntervalMs", () => {
  it("is half of WATCHDOG_USEC, for this PID only", () => {
    expect(watchdogIntervalMs({ WATCHDOG_USEC: "60000000" }, 42)).toBe(30_000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: "60000000", WATCHDOG_PID: "42" }, 42)).toBe(30_000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: "60000000", WATCHDOG_PID: "43" }, 42)).toBeUndefined();
    expect(watchdogIntervalMs({}, 42)).toBeUndefined();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: "0" }, 42)).toBeUndefined();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: "-5" }, 42)).toBeUndefined();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: "abc" }, 42)).toBeUndefined();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: "1" }, 42)).toBe(1);
  });
});

describe("peerStatusLine", () => {
  it("counts Established peers and accepted routes", () => {
    expect(
      peerStatusLine([
        { state: "Established", prefixesAccepted: 3 },
        { state: "Active", prefixesAccepted: 0 },
        { state: "Established", prefixesAccepted: 4 },
      ]),
    ).toBe("2/3 peers established, 7 routes accepted");
    expect(peerStatusLine([])).toBe("0/0 peers established, 0 routes accepted");
  });
});

describe.skipIf(!!skip)("SystemdNotifier", () => {
  const texts = (r: Receiver) => r.received.map((d) => d.text.split("\n")[0]);
  const settle = () => new Promise((res) => setTimeout(res, 150));

  it("sends READY=1 only once both started and synced, extending the start timeout meanwhile", async () => {
    const r = await receiver(join(tmp, "order.sock"));
    process.env["NOTIFY_SOCKET"] = r.address;
    const sd = new SystemdNotifier(() => "1/2 peers established, 0 routes accepted");
    sd.synced();
    await settle();
    expect(r.received).toEqual([]);
    expect(sd.ready).toBe(false);
    sd.started(120);
    const ready = await r.waitFor((d) => d.vars.get("READY") === "1", "READY=1");
    expect(ready.vars.get("STATUS")).toBe("1/2 peers established, 0 routes accepted");
    // Synced before started: no EXTEND_TIMEOUT_USEC needed.
    expect(texts(r)).toEqual(["READY=1"]);
    sd.synced();
    sd.started(120);
    await settle();
    expect(texts(r)).toEqual(["READY=1"]);
    sd.close();
  });

  it("extends the start timeout past the converge wait when started before synced", async () => {
    const r = await receiver(join(tmp, "extend.sock"));
    process.env["NOTIFY_SOCKET"] = r.address;
    const sd = new SystemdNotifier(() => "0/1 peers established, 0 routes accepted");
    sd.started(120);
    const ext = await r.waitFor((d) => d.vars.has("EXTEND_TIMEOUT_USEC"), "EXTEND_TIMEOUT_USEC");
    expect(ext.vars.get("EXTEND_TIMEOUT_USEC")).toBe(String(150 * 1_000_000));
    expect(ext.vars.get("STATUS")).toMatch(/waiting for End-of-RIB.*0\/1 peers established/);
    expect(ext.vars.has("READY")).toBe(false);
    await settle();
    expect(sd.ready).toBe(false);
    sd.synced();
    await r.waitFor((d) => d.vars.get("READY") === "1", "READY=1");
    expect(texts(r)).toEqual(["EXTEND_TIMEOUT_USEC=150000000", "READY=1"]);
    sd.close();
  });

  it("brackets a reload with RELOADING=1 + MONOTONIC_USEC … READY=1, but not before the first READY=1", async () => {
    const r = await receiver(join(tmp, "reload.sock"));
    process.env["NOTIFY_SOCKET"] = r.address;
    const sd = new SystemdNotifier(() => "ok");
    let calls = 0;
    const reload = sd.wrapReload(async (n: number) => {
      calls += n;
      await settle();
      if (calls > 1) throw new Error("bad config");
      return "done";
    });
    // During start-up a READY=1 would end the start early: nothing is sent.
    expect(await reload(1)).toBe("done");
    expect(r.received).toEqual([]);
    sd.started(1);
    sd.synced();
    await r.waitFor((d) => d.vars.get("READY") === "1", "READY=1");
    const before = monotonicUsec();
    // A failed reload still ends in READY=1 (the running configuration is kept).
    await expect(reload(1)).rejects.toThrow("bad config");
    await settle();
    expect(texts(r)).toEqual(["EXTEND_TIMEOUT_USEC=31000000", "READY=1", "RELOADING=1", "READY=1"]);
    const reloading = r.received[2]!;
    const mono = BigInt(reloading.vars.get("MONOTONIC_USEC") ?? "0");
    // CLOCK_MONOTONIC as the receiver (systemd's stand-in) reads it: sent after `before`, not after arrival.
    expect(mono >= before).toBe(true);
    expect(mono <= reloading.monoUsec).toBe(true);
    sd.close();
  });

  it("pings WATCHDOG=1 at half of WATCHDOG_USEC until closed; STOPPING=1 on stopping()", async () => {
    const r = await receiver(join(tmp, "watchdog.sock"));
    process.env["NOTIFY_SOCKET"] = r.address;
    process.env["WATCHDOG_USEC"] = "200000"; // pings every 100 ms
    process.env["WATCHDOG_PID"] = String(process.pid);
    const sd = new SystemdNotifier(() => "ok");
    await new Promise((res) => setTimeout(res, 450));
    const pings = r.received.filter((d) => d.text === "WATCHDOG=1").length;
    expect(pings).toBeGreaterThanOrEqual(3);
    expect(pings).toBeLessThanOrEqual(7);
    sd.stopping();
    await r.waitFor((d) => d.vars.get("STOPPING") === "1", "STOPPING=1");
    sd.close();
    const after = r.received.length;
    await new Promise((res) => setTimeout(res, 300));
    expect(r.received.length).toBe(after);
  });

  it("does not ping when WATCHDOG_PID names another process", async () => {
    const r = await receiver(join(tmp, "otherpid.sock"));
    process.env["NOTIFY_SOCKET"] = r.address;
    process.env["WATCHDOG_USEC"] = "100000";
    process.env["WATCHDOG_PID"] = String(process.pid + 1);
    const sd = new SystemdNotifier(() => "ok");
    await new Promise((res) => setTimeout(res, 250));
    sd.close();
    expect(r.received).toEqual([]);
  });
});
