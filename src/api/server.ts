/**
 * The local control API: HTTP/1.1 on a unix socket (0600, so only root and the podgate
 * user can talk to it) or, when configured as host:port, on loopback only.
 * Routes: GET /v1/status, GET /v1/routes[?prefix=&peer=], GET /v1/audit, POST /v1/peers/<address>/reset,
 * POST /v1/reload.
 */
import { chmod, mkdir, rm } from "node:fs/promises";
import http from "node:http";
import { dirname } from "node:path";
import type { Logger } from "../core/log.ts";
import type { DaemonView } from "./types.ts";

export interface ApiServer {
  readonly address: string;
  close(): Promise<void>;
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

export function isTcpEndpoint(endpoint: string): boolean {
  return /^(\[[0-9a-fA-F:]+\]|[0-9.]+|localhost):\d+$/.test(endpoint);
}

export async function startApiServer(endpoint: string, view: DaemonView, log: Logger): Promise<ApiServer> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://podgate");
    const path = url.pathname;
    try {
      if (req.method === "GET" && path === "/v1/status") return send(res, 200, view.status());
      if (req.method === "GET" && path === "/v1/routes") {
        const filter: { prefix?: string; peer?: string } = {};
        const prefix = url.searchParams.get("prefix");
        const peer = url.searchParams.get("peer");
        if (prefix) filter.prefix = prefix;
        if (peer) filter.peer = peer;
        return send(res, 200, view.routes(filter));
      }
      if (req.method === "GET" && path === "/v1/audit") {
        const a = view.audit?.();
        return a
          ? send(res, 200, a)
          : send(res, 503, { error: "no cluster state: kubernetes discovery is off or not synced yet" });
      }
      const reset = /^\/v1\/peers\/([^/]+)\/reset$/.exec(path);
      if (req.method === "POST" && reset) {
        const address = decodeURIComponent(reset[1]!);
        const ok = view.resetPeer(address, url.searchParams.get("message") ?? undefined);
        return send(res, ok ? 200 : 404, ok ? { ok } : { error: `no peer ${address}` });
      }
      if (req.method === "POST" && path === "/v1/reload" && view.reload) {
        view.reload().then(
          (r) => send(res, r.ok ? 200 : 400, r),
          (e: unknown) => send(res, 500, { ok: false, message: String(e) }),
        );
        return;
      }
      send(res, 404, { error: `no such endpoint: ${req.method} ${path}` });
    } catch (err) {
      log.error({ err }, "control API request failed");
      send(res, 500, { error: String(err) });
    }
  });

  if (isTcpEndpoint(endpoint)) {
    const idx = endpoint.lastIndexOf(":");
    const host = endpoint.slice(0, idx).replace(/^\[|\]$/g, "");
    if (!["127.0.0.1", "::1", "localhost"].includes(host)) {
      throw new Error(`control API must listen on a unix socket or loopback, not ${host}`);
    }
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(Number(endpoint.slice(idx + 1)), host, () => resolve());
    });
  } else {
    await mkdir(dirname(endpoint), { recursive: true, mode: 0o750 });
    await rm(endpoint, { force: true });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(endpoint, () => resolve());
    });
    await chmod(endpoint, 0o600);
  }
  log.info({ endpoint }, "control API listening");
  return {
    address: endpoint,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
