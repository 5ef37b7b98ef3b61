/**
 * The `podgate` command line: argument parsing and the commands. `run` starts the daemon in
 * the foreground; the others talk to it through the local control API or work offline
 * (check-config). Every command that prints data takes --json.
 */
import { parseArgs } from "node:util";
import { apiRequest } from "../api/client.ts";
import type { RoutesJson, StatusJson } from "../api/types.ts";
import type { IpipStatus } from "../dataplane/linux/ipip-manager.ts";
import type { TunnelStatus } from "../dataplane/tunnels.ts";
import { formatAge, renderTable } from "./table.ts";

const DEFAULT_SOCKET = "/run/podgate/podgate.sock";

const USAGE = `usage: podgate <command> [options]

commands:
  run --config FILE            run the daemon in the foreground (JSON logs on stdout)
  check-config FILE            validate a config file; prints each problem with its line
  status [--json]              peers: address, AS, role, state, since, info, prefixes
  routes [--json] [--prefix P] [--peer ADDR]
                               the Loc-RIB: every path, best marked
  reset PEER [--message TEXT]  reset one session (Cease/Administrative Reset)
  reload                       re-read the config file (same as SIGHUP); a bad file is rejected
  render router --vendor V     office router config (frr, bird, cisco-ios, junos, routeros, vyos,
                               openwrt, edgeos); see 'podgate render --help'
  render laptop --os O         laptop routes and split DNS (linux, macos, windows)
  render calico                Calico resources the cluster needs (BGPPeer, pools, ...)
  audit [--json]               what the cluster should advertise vs what BGP delivered
  doctor [--probe] [--json]    check the gateway and explain what is wrong; see 'podgate doctor --help'
  discover [--kubeconfig F] [--json]
                               read the cluster once: nodes, pools, blocks, AS, services
  wg genkey|pubkey             WireGuard keys for tunnels.wireguard (see docs/wireguard.md)
  version

options:
  --socket PATH                control API socket (default ${DEFAULT_SOCKET}, or $PODGATE_SOCKET)
`;

function socketOf(values: { socket?: string | undefined }): string {
  return values.socket ?? process.env["PODGATE_SOCKET"] ?? DEFAULT_SOCKET;
}

export function formatStatus(s: StatusJson): string {
  const rows = s.peers.map((p) => [
    p.address,
    String(p.asn),
    p.role,
    p.state,
    formatAge(p.since),
    p.info,
    `${p.prefixesReceived}/${p.prefixesAccepted}/${p.prefixesAdvertised}`,
  ]);
  const out = [
    `podgate router ID ${s.routerId}, AS ${s.asn}`,
    renderTable(["PEER ADDRESS", "AS", "ROLE", "STATE", "SINCE", "INFO", "PREFIXES RCV/ACC/ADV"], rows),
  ];
  const tunnels = (s.tunnels ?? []) as readonly TunnelStatus[];
  const wgRows = tunnels.flatMap((t) =>
    t.peers.length === 0
      ? [[t.name, t.implementation, "-", "-", "-", "-", t.error ? `error: ${t.error}` : ""]]
      : t.peers.map((p) => [
          t.name,
          t.implementation,
          `${p.publicKey.slice(0, 8)}…`,
          p.endpoint ?? "-",
          p.handshakeAgeSeconds === undefined ? "never" : `${p.handshakeAgeSeconds}s ago`,
          `${p.rxBytes}/${p.txBytes}`,
          t.error ? `${p.state}, error: ${t.error}` : p.state,
        ]),
  );
  if (wgRows.length > 0) {
    out.push(
      "",
      renderTable(["TUNNEL", "IMPL", "PEER KEY", "ENDPOINT", "HANDSHAKE", "RX/TX BYTES", "STATE"], wgRows),
    );
  }
  const ipip = s.ipip as IpipStatus | undefined;
  if (ipip) {
    const state = ipip.lastError ? `error: ${ipip.lastError}` : ipip.up ? "up" : "down";
    out.push("", `ipip ${ipip.name} local ${ipip.local ?? "any"} mtu ${ipip.mtu ?? "?"}: ${state}`);
  }
  return out.join("\n");
}

export function formatRoutes(r: RoutesJson): string {
  const rows = r.routes.map((x) => [
    `${x.best ? "*" : " "} ${x.prefix}`,
    x.nextHop,
    x.peer,
    x.asPath || "-",
    x.localPref === undefined ? "" : String(x.localPref),
    x.med === undefined ? "" : String(x.med),
    x.best ? "best" : (x.reason ?? ""),
  ]);
  return renderTable(["PREFIX", "NEXT HOP", "PEER", "AS PATH", "LOCPRF", "MED", "SELECTION"], rows);
}

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const err = (s: string) => process.stderr.write(`${s}\n`);
  try {
    switch (command) {
      case "run": {
        const { values } = parseArgs({
          args: rest,
          options: { config: { type: "string", short: "c" } },
          allowPositionals: false,
        });
        if (!values.config) {
          err("podgate run: --config FILE is required");
          return 2;
        }
        const { runDaemon } = await import("../main.ts");
        return await runDaemon(values.config);
      }
      case "check-config": {
        const { positionals } = parseArgs({ args: rest, allowPositionals: true, options: {} });
        const file = positionals[0];
        if (!file) {
          err("podgate check-config: FILE is required");
          return 2;
        }
        const { loadConfig, ConfigError } = await import("../config/load.ts");
        try {
          const cfg = await loadConfig(file);
          out(`${file}: OK (${cfg.peers.length} peer${cfg.peers.length === 1 ? "" : "s"})`);
          return 0;
        } catch (e) {
          if (e instanceof ConfigError) {
            err(e.message);
            return 1;
          }
          throw e;
        }
      }
      case "status": {
        const { values } = parseArgs({
          args: rest,
          options: { json: { type: "boolean" }, socket: { type: "string" } },
        });
        const s = await apiRequest<StatusJson>(socketOf(values), "GET", "/v1/status");
        out(values.json ? JSON.stringify(s, null, 2) : formatStatus(s));
        return 0;
      }
      case "routes": {
        const { values } = parseArgs({
          args: rest,
          options: {
            json: { type: "boolean" },
            socket: { type: "string" },
            prefix: { type: "string" },
            peer: { type: "string" },
          },
        });
        const q = new URLSearchParams();
        if (values.prefix) q.set("prefix", values.prefix);
        if (values.peer) q.set("peer", values.peer);
        const qs = q.size > 0 ? `?${q}` : "";
        const r = await apiRequest<RoutesJson>(socketOf(values), "GET", `/v1/routes${qs}`);
        out(values.json ? JSON.stringify(r, null, 2) : formatRoutes(r));
        return 0;
      }
      case "reset": {
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          options: { socket: { type: "string" }, message: { type: "string" } },
        });
        const peer = positionals[0];
        if (!peer) {
          err("podgate reset: PEER is required");
          return 2;
        }
        const q = values.message ? `?message=${encodeURIComponent(values.message)}` : "";
        await apiRequest(socketOf(values), "POST", `/v1/peers/${encodeURIComponent(peer)}/reset${q}`);
        out(`reset ${peer}`);
        return 0;
      }
      case "discover": {
        const { runDiscover } = await import("../discovery/cli.ts");
        return await runDiscover(rest, {
          out: (s) => process.stdout.write(s),
          err: (s) => process.stderr.write(s),
        });
      }
      case "render": {
        const { runRender } = await import("../render/cli.ts");
        return await runRender(rest, { out: (s) => process.stdout.write(s), err });
      }
      case "audit": {
        const { runAudit } = await import("../discovery/cli.ts");
        return await runAudit(
          rest,
          { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) },
          { defaultSocket: DEFAULT_SOCKET },
        );
      }
      case "doctor": {
        const { runDoctor } = await import("../doctor/cli.ts");
        return await runDoctor(
          rest,
          { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) },
          { defaultSocket: DEFAULT_SOCKET },
        );
      }
      case "wg": {
        const { runWg } = await import("../dataplane/wg-cli.ts");
        return await runWg(rest, {
          out: (t) => process.stdout.write(t),
          err: (t) => process.stderr.write(t),
        });
      }
      case "reload": {
        const { values } = parseArgs({ args: rest, options: { socket: { type: "string" } } });
        const r = await apiRequest<{ ok: boolean; message: string }>(socketOf(values), "POST", "/v1/reload");
        out(r.message);
        return r.ok ? 0 : 1;
      }
      case "version":
      case "--version": {
        const { readFile } = await import("node:fs/promises");
        const pkg = JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8"));
        out(`podgate ${pkg.version}`);
        return 0;
      }
      case undefined:
      case "help":
      case "--help":
      case "-h":
        out(USAGE);
        return command === undefined ? 2 : 0;
      default:
        err(`podgate: unknown command '${command}'\n\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    err(`podgate ${command}: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}
