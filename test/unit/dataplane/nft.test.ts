/**
 * nftables renderer: golden scripts (snat on/off, IPv4/IPv6 sets, MSS auto/fixed, nothing to do),
 * input validation (nothing unparsed reaches the script), counters parsing, and — as root — the
 * rendered scripts accepted by the real nft/kernel in check mode (`nft -c`) inside a throw-away
 * network namespace (`unshare -n`), plus the error path (nft's stderr with the script line).
 */
import { describe, expect, it } from "vitest";
import { silentLogger } from "../../../src/core/log.ts";
import {
  type NftDesired,
  NftError,
  NftManager,
  nftDesiredFromConfig,
  parseCounters,
  renderRemove,
  renderRuleset,
  ruleCount,
  runNft,
} from "../../../src/dataplane/linux/nft.ts";
import { missingPrereqs } from "../../helpers/prereq.ts";

const HEAD = `# managed by podgate: the whole table is replaced on every apply
add table inet podgate
delete table inet podgate
`;

const SETS4 = `	set office4 {
		type ipv4_addr
		flags interval
		auto-merge
		elements = { 10.10.0.0/24 }
	}

	set cluster4 {
		type ipv4_addr
		flags interval
		auto-merge
		elements = { 10.244.0.0/16, 10.96.0.0/12 }
	}
`;

const SETS6 = `	set office6 {
		type ipv6_addr
		flags interval
		auto-merge
		elements = { fd00:10::/64 }
	}

	set cluster6 {
		type ipv6_addr
		flags interval
		auto-merge
		elements = { fd00:244::/56 }
	}
`;

const V4: Pick<NftDesired, "office" | "cluster"> = {
  office: ["10.10.0.0/24"],
  cluster: ["10.244.0.0/16", "10.96.0.0/12"],
};
const DUAL: Pick<NftDesired, "office" | "cluster"> = {
  office: ["10.10.0.0/24", "fd00:10::/64"],
  cluster: ["10.244.0.0/16", "fd00:244::/56", "10.96.0.0/12"],
};

const GOLDEN: Array<{ name: string; d: NftDesired; want: string; rules: number }> = [
  {
    name: "snat, IPv4 only, no MSS clamp",
    d: { ...V4, snat: true, mss: "off" },
    rules: 1,
    want: `${HEAD}table inet podgate {
${SETS4}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr @office4 ip daddr @cluster4 counter masquerade comment "snat4"
	}
}
`,
  },
  {
    name: "snat + MSS auto, IPv4 and IPv6",
    d: { ...DUAL, snat: true, mss: "auto" },
    rules: 6,
    want: `${HEAD}table inet podgate {
${SETS4}
${SETS6}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr @office4 ip daddr @cluster4 counter masquerade comment "snat4"
		ip6 saddr @office6 ip6 daddr @cluster6 counter masquerade comment "snat6"
	}

	chain forward {
		type filter hook forward priority mangle; policy accept;
		ip saddr @office4 ip daddr @cluster4 tcp flags syn counter tcp option maxseg size set rt mtu comment "mss4-in"
		ip saddr @cluster4 ip daddr @office4 tcp flags syn counter tcp option maxseg size set rt mtu comment "mss4-out"
		ip6 saddr @office6 ip6 daddr @cluster6 tcp flags syn counter tcp option maxseg size set rt mtu comment "mss6-in"
		ip6 saddr @cluster6 ip6 daddr @office6 tcp flags syn counter tcp option maxseg size set rt mtu comment "mss6-out"
	}
}
`,
  },
  {
    name: "no snat (returnPath advertise), fixed MSS, IPv6 only",
    d: { office: ["fd00:10::/64"], cluster: ["fd00:244::/56"], snat: false, mss: 1200 },
    rules: 2,
    want: `${HEAD}table inet podgate {
${SETS6}
	chain forward {
		type filter hook forward priority mangle; policy accept;
		ip6 saddr @office6 ip6 daddr @cluster6 tcp flags syn counter tcp option maxseg size set 1200 comment "mss6-in"
		ip6 saddr @cluster6 ip6 daddr @office6 tcp flags syn counter tcp option maxseg size set 1200 comment "mss6-out"
	}
}
`,
  },
  {
    name: "no snat and no MSS: the script only removes the table",
    d: { ...DUAL, snat: false, mss: "off" },
    rules: 0,
    want: HEAD,
  },
  {
    name: "office IPv4 but cluster IPv6 only: no family has both, nothing to do",
    d: { office: ["10.10.0.0/24"], cluster: ["fd00:244::/56"], snat: true, mss: "auto" },
    rules: 0,
    want: HEAD,
  },
];

describe("renderRuleset goldens", () => {
  for (const g of GOLDEN) {
    it(g.name, () => {
      expect(renderRuleset(g.d)).toBe(g.want);
      expect(ruleCount(g.d)).toBe(g.rules);
    });
  }

  it("canonicalises IPv6 text and drops duplicates", () => {
    const a = renderRuleset({
      office: ["FD00:10:0:0::/64", "fd00:10::/64"],
      cluster: ["fd00:244:0::/56"],
      snat: true,
      mss: "off",
    });
    expect(a).toContain("elements = { fd00:10::/64 }");
    expect(a).toContain("elements = { fd00:244::/56 }");
  });

  it("a custom table name is used everywhere", () => {
    const s = renderRuleset({ ...V4, snat: true, mss: "off" }, { table: "pgtest_1" });
    expect(s).toContain("add table inet pgtest_1\ndelete table inet pgtest_1\ntable inet pgtest_1 {");
    expect(s).not.toContain("podgate {");
    expect(renderRemove({ table: "pgtest_1" })).toBe("add table inet pgtest_1\ndelete table inet pgtest_1\n");
  });
});

describe("renderRuleset refuses bad input (nothing unparsed reaches nft)", () => {
  it.each([
    ["host bits set", { office: ["10.10.0.1/24"] }, /host bits are set; did you mean 10.10.0.0\/24/],
    ["not a prefix", { office: ["10.10.0.0"] }, /no "\/length"/],
    ["script injection", { cluster: ['10.0.0.0/8 } ; flush ruleset ; set x { "'] }, /cluster prefix/],
    ["MSS too small", { mss: 100 }, /mss clamp/],
    ["MSS not an integer", { mss: 1400.5 }, /mss clamp/],
  ] as const)("%s", (_name, patch, re) => {
    expect(() => renderRuleset({ ...V4, snat: true, mss: "off", ...patch } as NftDesired)).toThrow(re);
  });

  it("bad table names", () => {
    expect(() => renderRemove({ table: "x; flush ruleset" })).toThrow(/table name/);
  });
});

describe("nftDesiredFromConfig", () => {
  const cfg = {
    cluster: { podCIDRs: ["10.244.0.0/16"], serviceCIDRs: ["10.96.0.0/12"] },
    office: { prefixes: ["10.10.0.0/24"] },
  };
  it("snat only in returnPath mode snat; pod + service CIDRs are the cluster set", () => {
    expect(nftDesiredFromConfig({ ...cfg, returnPath: { mode: "snat" } })).toEqual({
      office: ["10.10.0.0/24"],
      cluster: ["10.244.0.0/16", "10.96.0.0/12"],
      snat: true,
      mss: "off",
    });
    expect(
      nftDesiredFromConfig({ ...cfg, returnPath: { mode: "advertise" }, mssClamp: "auto" }),
    ).toMatchObject({
      snat: false,
      mss: "auto",
    });
    expect(nftDesiredFromConfig({ ...cfg, returnPath: { mode: "none" } }).snat).toBe(false);
  });
});

describe("parseCounters", () => {
  it("keys counters by rule comment, skips rules without one", () => {
    // Shape captured from `nft -j list table inet podgate` (nftables 1.0.6).
    const json = JSON.stringify({
      nftables: [
        { metainfo: { version: "1.0.6", json_schema_version: 1 } },
        { table: { family: "inet", name: "podgate", handle: 3 } },
        {
          rule: {
            family: "inet",
            table: "podgate",
            chain: "postrouting",
            handle: 5,
            comment: "snat4",
            expr: [{ match: {} }, { counter: { packets: 7, bytes: 588 } }, { masquerade: null }],
          },
        },
        {
          rule: {
            family: "inet",
            table: "podgate",
            chain: "x",
            handle: 6,
            expr: [{ counter: { packets: 1, bytes: 1 } }],
          },
        },
      ],
    });
    expect(parseCounters(json)).toEqual({ snat4: { packets: 7, bytes: 588 } });
  });
});

const skip = missingPrereqs({ root: true, commands: ["nft", "unshare"] });

describe.skipIf(!!skip)("rendered scripts in the kernel's check mode (root, unshare -n)", () => {
  // A fresh, empty namespace per nft run: check mode asks the kernel too (nat hooks, set types)
  // but changes nothing, and nothing on the host can interfere.
  const command = ["unshare", "-n", "nft"];

  for (const g of GOLDEN) {
    it(`nft -c accepts: ${g.name}`, async () => {
      await new NftManager({ log: silentLogger, command }).check(g.d);
    });
  }

  it("overlapping office prefixes are merged, not refused", async () => {
    await new NftManager({ log: silentLogger, command }).check({
      office: ["10.10.0.0/16", "10.10.1.0/24", "fd00:10::/48", "fd00:10:0:1::/64"],
      cluster: ["10.244.0.0/16", "fd00:244::/56"],
      snat: true,
      mss: "auto",
    });
  });

  it("a script nft refuses comes back as NftError with the line and position", async () => {
    const bad = `${renderRuleset({ ...V4, snat: true, mss: "off" }).replace("masquerade", "masquerade bogus")}`;
    const e = await runNft(["-c", "-f", "-"], bad, { command }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NftError);
    const err = e as NftError;
    expect(err.code).toBe("NFT_REJECTED");
    expect(err.message).toContain("nothing was changed");
    // nft names the script line of the bad rule and prints it.
    const line = bad.split("\n").findIndex((l) => l.includes("masquerade bogus")) + 1;
    expect(line).toBeGreaterThan(4);
    expect(err.stderr).toMatch(new RegExp(`^/dev/stdin:${line}:\\d+-\\d+: Error:`));
    expect(err.message).toContain("masquerade bogus");
  });

  it("a missing nft binary is reported as such", async () => {
    const e = await runNft(["-c", "-f", "-"], "", { command: ["/nonexistent/nft"] }).catch((x: unknown) => x);
    expect((e as NftError).code).toBe("NFT_NOT_FOUND");
  });
});

describe("NftManager without the kernel", () => {
  it("an invalid desired state is refused before nft runs, and counted", async () => {
    // A command that cannot run: reaching it would give NFT_NOT_FOUND instead of the prefix error.
    const m = new NftManager({ log: silentLogger, command: ["/nonexistent/nft"] });
    await expect(m.apply({ ...V4, office: ["10.10.0.1/24"], snat: true, mss: "off" })).rejects.toThrow(
      /host bits/,
    );
    expect(m.status()).toMatchObject({ table: "inet podgate", state: "absent", applies: 0, errors: 1 });
    expect(m.status().lastError?.message).toMatch(/host bits/);
    // The queue survives a failure: the next call still runs (and fails on the missing binary).
    await expect(m.apply({ ...V4, snat: true, mss: "off" })).rejects.toMatchObject({ code: "NFT_NOT_FOUND" });
    expect(m.status().errors).toBe(2);
  });
});
