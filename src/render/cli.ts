/**
 * `podgate render router|laptop`: argument parsing and I/O around the pure renderers. Reads the
 * podgate config (for the office peer, ASes, password, prefix lists), builds the models
 * (model.ts), prints the rendered text on stdout and notes/warnings on stderr. The TCP-MD5 key
 * is only ever written to stdout, inside the rendered config, and stderr says so.
 */
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "../config/load.ts";
import type { PodgateConfig } from "../config/types.ts";
import { isLaptopOs, LAPTOP_OSES, renderLaptop } from "./laptop/index.ts";
import { buildLaptopModel, buildRouterModels, RenderError, type RenderOptions } from "./model.ts";
import { isVendor, renderRouter, VENDORS } from "./routers/index.ts";

export const DEFAULT_CONFIG = "/etc/podgate/podgate.yaml";

export const RENDER_USAGE = `usage:
  podgate render router --vendor V [--config FILE] [options]
  podgate render laptop --os O [--config FILE] [--undo] [options]
  podgate render calico --gateway-ip IP [options]   (see podgate render calico --help)

vendors: ${VENDORS.join(", ")}
laptop OS: ${LAPTOP_OSES.join(", ")}

options:
  --config FILE            podgate config (default ${DEFAULT_CONFIG}; optional for laptop)
  --peer ADDR|NAME         only this office peer (default: every peer with role office)
  --gateway-address IP     gateway address seen by the router/laptop (default: the office
                           peer's localAddress, else routerId)
  --pod-cidr CIDR          pod CIDR, repeatable (default: from the office export policy)
  --service-cidr CIDR      service CIDR, repeatable (default: from the office export policy)
  --office-prefix CIDR     prefix the router announces back, repeatable (default: from the
                           office import policy)
  --max-prefix N           router: prefixes accepted from podgate (default 2000)
  --no-password            router: render a placeholder instead of the TCP-MD5 key
  --static                 router: static routes to the gateway instead of BGP
  --openwrt-interface IF   openwrt --static: uci interface (default lan)
  --cluster-domain D       laptop: cluster DNS domain (default cluster.local)
  --dns IP                 laptop: cluster DNS server (default: service CIDR + 10)
  --undo                   laptop: commands that remove what the script added
`;

export interface RenderIo {
  out(s: string): void;
  err(s: string): void;
}

async function readConfig(path: string): Promise<PodgateConfig> {
  return loadConfig(path);
}

export async function runRender(argv: readonly string[], io: RenderIo): Promise<number> {
  const [what, ...rest] = argv;
  if (what === "calico") {
    const { runRenderCalico } = await import("../discovery/cli.ts");
    return await runRenderCalico(rest, io);
  }
  if (what !== "router" && what !== "laptop") {
    io.err(what === undefined ? RENDER_USAGE : `podgate render: unknown target '${what}'\n\n${RENDER_USAGE}`);
    return 2;
  }
  let values: ReturnType<typeof parse>["values"];
  try {
    values = parse(rest).values;
  } catch (e) {
    io.err(`podgate render ${what}: ${(e as Error).message}\n\n${RENDER_USAGE}`);
    return 2;
  }
  const opts: RenderOptions = {
    ...(values["gateway-address"] !== undefined ? { gatewayAddress: values["gateway-address"] } : {}),
    ...(values.peer !== undefined ? { peer: values.peer } : {}),
    ...(values["pod-cidr"] !== undefined ? { podCidrs: values["pod-cidr"] } : {}),
    ...(values["service-cidr"] !== undefined ? { serviceCidrs: values["service-cidr"] } : {}),
    ...(values["office-prefix"] !== undefined ? { officePrefixes: values["office-prefix"] } : {}),
    ...(values["max-prefix"] !== undefined ? { maxPrefix: Number(values["max-prefix"]) } : {}),
    ...(values["no-password"] ? { noPassword: true } : {}),
    ...(values.static ? { static: true } : {}),
    ...(values["openwrt-interface"] !== undefined ? { openwrtInterface: values["openwrt-interface"] } : {}),
    ...(values["cluster-domain"] !== undefined ? { clusterDomain: values["cluster-domain"] } : {}),
    ...(values.dns !== undefined ? { dns: values.dns } : {}),
  };
  try {
    if (what === "router") {
      const vendor = values.vendor;
      if (!vendor || !isVendor(vendor)) {
        io.err(`podgate render router: --vendor must be one of ${VENDORS.join(", ")}`);
        return 2;
      }
      const cfg = await readConfig(values.config ?? DEFAULT_CONFIG);
      const { models, notes } = buildRouterModels(cfg, opts);
      for (const n of notes) io.err(`note: ${n}`);
      const texts = models.map((m) => renderRouter(vendor, m));
      if (models.some((m) => m.password !== undefined && !m.passwordPlaceholder)) {
        io.err(
          "warning: the output contains the TCP-MD5 key in clear text; keep it private (--no-password renders a placeholder)",
        );
      }
      io.out(texts.join("\n"));
      return 0;
    }
    const os = values.os;
    if (!os || !isLaptopOs(os)) {
      io.err(`podgate render laptop: --os must be one of ${LAPTOP_OSES.join(", ")}`);
      return 2;
    }
    let cfg: PodgateConfig | undefined;
    const path = values.config ?? (existsSync(DEFAULT_CONFIG) ? DEFAULT_CONFIG : undefined);
    if (path !== undefined) cfg = await readConfig(path);
    const { model, notes } = buildLaptopModel(cfg, opts);
    for (const n of notes) io.err(`note: ${n}`);
    io.out(renderLaptop(os, model, values.undo === true));
    return 0;
  } catch (e) {
    if (e instanceof RenderError || e instanceof ConfigError) {
      io.err(`podgate render ${what}: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

function parse(args: readonly string[]) {
  return parseArgs({
    args: [...args],
    allowPositionals: false,
    options: {
      config: { type: "string", short: "c" },
      vendor: { type: "string" },
      os: { type: "string" },
      peer: { type: "string" },
      "gateway-address": { type: "string" },
      "pod-cidr": { type: "string", multiple: true },
      "service-cidr": { type: "string", multiple: true },
      "office-prefix": { type: "string", multiple: true },
      "max-prefix": { type: "string" },
      "no-password": { type: "boolean" },
      static: { type: "boolean" },
      "openwrt-interface": { type: "string" },
      "cluster-domain": { type: "string" },
      dns: { type: "string" },
      undo: { type: "boolean" },
    },
  });
}
