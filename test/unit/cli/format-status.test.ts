/** `podgate status` text: the peer table, then WireGuard tunnel peers and the ipip device when present. */
import { describe, expect, it } from "vitest";
import type { StatusJson } from "../../../src/api/types.ts";
import { formatStatus } from "../../../src/cli/main.ts";

const base = { routerId: "10.0.0.2", asn: 64512, peers: [] } as unknown as StatusJson;

describe("formatStatus", () => {
  it("without tunnels prints only the peer table", () => {
    const text = formatStatus(base);
    expect(text).toMatch(/^podgate router ID 10\.0\.0\.2, AS 64512\n.*\n\| PEER ADDRESS/);
    expect(text).not.toMatch(/TUNNEL|ipip/);
  });

  it("lists each WireGuard peer with handshake age and state, and the ipip device", () => {
    const text = formatStatus({
      ...base,
      tunnels: [
        {
          name: "wg-cloud",
          implementation: "userspace",
          addresses: ["10.200.0.1/30"],
          peers: [
            {
              publicKey: "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=",
              endpoint: "198.51.100.7:51820",
              allowedIPs: ["10.200.0.2/32"],
              handshakeAgeSeconds: 12,
              rxBytes: 100,
              txBytes: 200,
              state: "up",
            },
          ],
        },
      ],
      ipip: { name: "pgipip0", ifindex: 9, up: true, mtu: 1480, local: "192.0.2.1", created: true },
    } as StatusJson);
    const lines = text.split("\n");
    expect(lines.find((l) => l.startsWith("| TUNNEL"))).toMatch(/HANDSHAKE/);
    expect(lines.find((l) => l.startsWith("| wg-cloud"))).toMatch(
      /wg-cloud\s+\|\s+userspace\s+\|\s+xTIBA5rb…\s+\|\s+198\.51\.100\.7:51820\s+\|\s+12s ago\s+\|\s+100\/200\s+\|\s+up/,
    );
    expect(text).toMatch(/ipip pgipip0 local 192\.0\.2\.1 mtu 1480: up/);
    // the public key is shortened; nothing else of it (and never a private key) is printed
    expect(text).not.toContain("xTIBA5rboUvnH4ht");
  });

  it("shows an ipip error", () => {
    const text = formatStatus({
      ...base,
      ipip: { name: "pgipip0", up: false, local: "192.0.2.1", created: false, lastError: "no ipip support" },
    } as StatusJson);
    expect(text).toMatch(/ipip pgipip0 local 192\.0\.2\.1 mtu \?: error: no ipip support/);
  });
});
