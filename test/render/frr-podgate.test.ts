/**
 * The rendered FRR configuration, loaded as is into zebra + bgpd in a namespace (the office
 * router), starts cleanly, shows the neighbor in `show running-config`, and peers with a real
 * podgate process (TCP-MD5 with the rendered key): FRR learns the pod prefix podgate originates
 * while the non-cluster prefix podgate also sends is dropped by the rendered PODGATE-IN filter.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { parseConfig } from "../../src/config/load.ts";
import { buildRouterModels } from "../../src/render/model.ts";
import { renderFrr } from "../../src/render/routers/frr.ts";
import { Podgate, type PodgateYaml } from "../interop/podgate.ts";
import { FrrDaemon } from "../lab/daemons/frr.ts";
import type { DaemonOptions } from "../lab/daemons/types.ts";
import { type Host, Lab, labPrereqs, waitFor } from "../lab/netns.ts";

const ROUTER = "192.168.40.1";
const GATEWAY = "192.168.40.10";
const ROUTER_AS = 65010;
const GATEWAY_AS = 64512;
const POD_ROUTE = "10.244.1.0/26";
const SERVICE_ROUTE = "10.96.0.0/12";
const FOREIGN_ROUTE = "172.31.0.0/24";
const KEY = "render-lab-md5-key";

/** FRR whose bgpd.conf is exactly the rendered text. */
class RenderedFrr extends FrrDaemon {
  constructor(
    opts: DaemonOptions,
    private readonly text: string,
  ) {
    super(opts);
  }
  override renderConfig(): string {
    return this.text;
  }
}

const skip = labPrereqs(["vtysh", "/usr/lib/frr/zebra", "/usr/lib/frr/bgpd", "node"]);

describe.skipIf(!!skip)("rendered FRR config in a real bgpd, peering with podgate", () => {
  let lab: Lab;
  let router: Host;
  let gw: Host;
  let frr: RenderedFrr;
  let pg: Podgate;
  let rendered: string;

  beforeAll(async () => {
    lab = new Lab("render-frr");
    router = await lab.addHost("router");
    gw = await lab.addHost("gw");
    await lab.link(router, gw, { aAddr: `${ROUTER}/24`, bAddr: `${GATEWAY}/24` });

    const pgConfig: Omit<PodgateYaml, "api"> = {
      routerId: GATEWAY,
      asn: GATEWAY_AS,
      listen: { address: GATEWAY, port: 179 },
      log: { level: "debug" },
      defaults: { holdTime: 9, connectRetryTime: 1 },
      peers: [
        {
          name: "office-router",
          address: ROUTER,
          asn: ROUTER_AS,
          localAddress: GATEWAY,
          password: KEY,
          // Send everything, so only the router's rendered filter stands between FOREIGN_ROUTE and its RIB.
          import: "accept-all",
          export: "accept-all",
        },
      ],
      originate: [{ prefix: POD_ROUTE }, { prefix: SERVICE_ROUTE }, { prefix: FOREIGN_ROUTE }],
    };
    // Render from the same config podgate runs with, through podgate's own loader.
    const cfg = parseConfig(stringify({ ...pgConfig, api: { socket: "/unused" } }), "podgate.yaml");
    const [model] = buildRouterModels(cfg, {
      podCidrs: ["10.244.0.0/16"],
      serviceCidrs: ["10.96.0.0/12"],
    }).models;
    rendered = renderFrr(model!);
    expect(rendered).toContain(`neighbor ${GATEWAY} password ${KEY}`);

    frr = new RenderedFrr({ host: router, routerId: ROUTER, asn: ROUTER_AS, neighbors: [] }, rendered);
    await frr.start();
    pg = new Podgate(gw, pgConfig);
    await pg.start();
  }, 90_000);

  afterAll(async () => {
    await pg?.stop().catch(() => undefined);
    await lab?.teardown();
  });

  it("bgpd loads the file without a configuration error", () => {
    const log = frr.logs();
    expect(log).not.toMatch(/Unknown command|Command incomplete|Ambiguous command|% Invalid|ERROR: .*line/i);
  });

  it("show running-config holds the neighbor, its filters and the limit", async () => {
    const { stdout } = await frr.vtysh(["show running-config"], "bgpd");
    expect(stdout).toContain(`router bgp ${ROUTER_AS}`);
    expect(stdout).toContain(`neighbor ${GATEWAY} remote-as ${GATEWAY_AS}`);
    expect(stdout).toContain(`neighbor ${GATEWAY} route-map PODGATE-IN in`);
    expect(stdout).toContain(`neighbor ${GATEWAY} maximum-prefix 2000`);
    expect(stdout).toContain("ip prefix-list PODGATE-IN seq 5 permit 10.244.0.0/16 le 32");
  });

  it("the session with podgate comes up (with the rendered TCP-MD5 key)", async () => {
    await waitFor(async () => (await frr.neighborState(GATEWAY)) === "Established", {
      timeoutMs: 30_000,
      what: "FRR session with podgate Established",
    });
    await pg.waitEstablished([ROUTER]);
  });

  it("learns the pod and service prefixes, drops the non-cluster one", async () => {
    const prefixes = await waitFor(
      async () => {
        const got = (await frr.routes(4)).map((r) => r.prefix);
        return got.includes(POD_ROUTE) && got.includes(SERVICE_ROUTE) ? got : undefined;
      },
      { timeoutMs: 20_000, what: `FRR learns ${POD_ROUTE} and ${SERVICE_ROUTE}` },
    );
    expect(prefixes).not.toContain(FOREIGN_ROUTE);
    // podgate did send it: only the rendered filter kept it out.
    const peer = await pg.peer(ROUTER);
    expect(peer.prefixesAdvertised).toBe(3);
  });

  it("the rendered export filter announces nothing back to podgate", async () => {
    expect(await pg.routesFrom(ROUTER)).toEqual([]);
  });
});
