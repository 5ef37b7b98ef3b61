/**
 * The error table: each broken config must fail with the exact key path and line (and column
 * where it is meaningful), so operators are pointed at the right spot.
 */
import { describe, expect, it } from "vitest";
import { ConfigError, type ConfigIssue, parseConfig } from "../../../src/config/load.ts";

/** Valid head shared by most cases: lines 1-2. */
const HEAD = "routerId: 10.0.0.2\nasn: 64512\n";
/** HEAD + a peer starting on line 4 (its asn on line 5). */
const PEER = `${HEAD}peers:\n  - address: 10.0.0.1\n    asn: 64512\n`;

function issuesOf(text: string): ConfigIssue[] {
  try {
    parseConfig(text, "podgate.yaml");
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return [...(e as ConfigError).issues];
  }
  throw new Error("config unexpectedly loaded");
}

interface Case {
  readonly name: string;
  readonly yaml: string;
  readonly path: string;
  readonly line: number;
  readonly column?: number;
  readonly message: string | RegExp;
}

const cases: Case[] = [
  {
    name: "routerId not an IPv4 address",
    yaml: "routerId: 10.0.0.256\nasn: 64512\n",
    path: "routerId",
    line: 1,
    column: 11,
    message: "must be an IPv4 address",
  },
  {
    name: "routerId IPv6",
    yaml: "routerId: 2001:db8::1\nasn: 64512\n",
    path: "routerId",
    line: 1,
    message: "must be an IPv4 address",
  },
  {
    name: "routerId zero",
    yaml: "routerId: 0.0.0.0\nasn: 1\n",
    path: "routerId",
    line: 1,
    message: /non-zero/,
  },
  {
    name: "asn 0",
    yaml: "routerId: 10.0.0.2\nasn: 0\n",
    path: "asn",
    line: 2,
    column: 6,
    message: "must be an integer 1..4294967295",
  },
  {
    name: "asn too large",
    yaml: "routerId: 10.0.0.2\nasn: 4294967296\n",
    path: "asn",
    line: 2,
    message: "must be an integer 1..4294967295",
  },
  {
    name: "asn AS_TRANS",
    yaml: "routerId: 10.0.0.2\nasn: 23456\n",
    path: "asn",
    line: 2,
    message: /AS_TRANS/,
  },
  {
    name: "asn as string",
    yaml: 'routerId: 10.0.0.2\nasn: "64512"\n',
    path: "asn",
    line: 2,
    message: /remove the quotes/,
  },
  { name: "missing routerId", yaml: "asn: 64512\n", path: "routerId", line: 1, message: /is required/ },
  {
    name: "peer asn asdot",
    yaml: `${HEAD}peers:\n  - address: 10.0.0.1\n    asn: "1.10"\n`,
    path: "peers[0].asn",
    line: 5,
    column: 10,
    message: "must be an integer 1..4294967295 (asdot 1.10 is 65546)",
  },
  {
    name: "peer asn missing",
    yaml: `${HEAD}peers:\n  - address: 10.0.0.1\n    port: 179\n`,
    path: "peers[0].asn",
    line: 4,
    message: /is required/,
  },
  {
    name: "peer address not an IP",
    yaml: `${HEAD}peers:\n  - address: node1.example\n    asn: 1\n`,
    path: "peers[0].address",
    line: 4,
    column: 14,
    message: "must be an IPv4 or IPv6 address",
  },
  {
    name: "peer address with zone id",
    yaml: `${HEAD}peers:\n  - address: fe80::1%eth0\n    asn: 1\n`,
    path: "peers[0].address",
    line: 4,
    message: "must be an IPv4 or IPv6 address",
  },
  {
    name: "duplicate peer (different spelling of the same IPv6 address)",
    yaml: `${HEAD}peers:\n  - address: 2001:db8::1\n    asn: 1\n  - address: 2001:DB8:0::1\n    asn: 2\n`,
    path: "peers[1].address",
    line: 6,
    message: "duplicate peer address (also peers[0] on line 4)",
  },
  {
    name: "duplicate peer name",
    yaml: `${HEAD}peers:\n  - { address: 10.0.0.1, asn: 1, name: a }\n  - { address: 10.0.0.3, asn: 1, name: a }\n`,
    path: "peers[1].name",
    line: 5,
    message: /duplicate peer name "a"/,
  },
  {
    name: "hold time 1",
    yaml: `${PEER}    holdTime: 1\n`,
    path: "peers[0].holdTime",
    line: 6,
    column: 15,
    message: /must be 0 or 3\.\.65535/,
  },
  {
    name: "hold time 2",
    yaml: `${PEER}    holdTime: 2\n`,
    path: "peers[0].holdTime",
    line: 6,
    message: /RFC 4271/,
  },
  {
    name: "defaults.holdTime 2",
    yaml: `${HEAD}defaults:\n  holdTime: 2\n`,
    path: "defaults.holdTime",
    line: 4,
    column: 13,
    message: /must be 0 or 3\.\.65535/,
  },
  {
    name: "keepalive not below hold time",
    yaml: `${PEER}    holdTime: 9\n    keepaliveTime: 9\n`,
    path: "peers[0].keepaliveTime",
    line: 7,
    message: "must be less than holdTime (9)",
  },
  {
    name: "wrong type: port as string",
    yaml: `${PEER}    port: bgp\n`,
    path: "peers[0].port",
    line: 6,
    message: "must be an integer 1..65535",
  },
  {
    name: "wrong type: passive",
    yaml: `${PEER}    passive: "yes"\n`,
    path: "peers[0].passive",
    line: 6,
    message: "must be true or false",
  },
  {
    name: "wrong type: peers is a mapping",
    yaml: `${HEAD}peers:\n  address: 10.0.0.1\n`,
    path: "peers",
    line: 4,
    message: "must be a list",
  },
  {
    name: "unknown top-level key with suggestion",
    yaml: `${HEAD}router-id: 1.1.1.1\n`,
    path: "router-id",
    line: 3,
    column: 1,
    message: 'unknown key (did you mean "routerId"?)',
  },
  {
    name: "unknown peer key with suggestion",
    yaml: `${PEER}    holdtime: 30\n`,
    path: "peers[0].holdtime",
    line: 6,
    column: 5,
    message: 'unknown key (did you mean "holdTime"?)',
  },
  {
    name: "unknown key without suggestion lists the keys",
    yaml: `${HEAD}log:\n  colour: true\n`,
    path: "log.colour",
    line: 4,
    message: "unknown key (expected one of: level)",
  },
  {
    name: "enum typo gets a suggestion",
    yaml: `${PEER}    addPath: recieve\n`,
    path: "peers[0].addPath",
    line: 6,
    message: 'must be one of: off, receive, send, both (did you mean "receive"?)',
  },
  {
    name: "password and passwordFile both",
    yaml: `${PEER}    password: x\n    passwordFile: key.txt\n`,
    path: "peers[0].passwordFile",
    line: 7,
    message: "set either password or passwordFile, not both",
  },
  {
    name: "localAddress of another family",
    yaml: `${PEER}    localAddress: 2001:db8::2\n`,
    path: "peers[0].localAddress",
    line: 6,
    message: "must be the same address family as address",
  },
  {
    name: "duplicate family",
    yaml: `${PEER}    families: [ipv4, ipv4]\n`,
    path: "peers[0].families[1]",
    line: 6,
    column: 22,
    message: "duplicate of peers[0].families[0]",
  },
  {
    name: "unknown import policy",
    yaml: `${PEER}    import: from-clster\npolicies:\n  from-cluster: []\n`,
    path: "peers[0].import",
    line: 6,
    column: 13,
    message: 'unknown policy "from-clster" (did you mean "from-cluster"?)',
  },
  {
    name: "unknown export policy with none defined",
    yaml: `${PEER}    export: to-office\n`,
    path: "peers[0].export",
    line: 6,
    message: 'unknown policy "to-office" (known: accept-all, reject-all)',
  },
  {
    name: "maxPrefix action invalid",
    yaml: `${PEER}    maxPrefix:\n      limit: 10\n      action: drop\n`,
    path: "peers[0].maxPrefix.action",
    line: 8,
    message: /must be one of: warn, restart/,
  },
  {
    name: "maxPrefix without limit",
    yaml: `${PEER}    maxPrefix: { action: warn }\n`,
    path: "peers[0].maxPrefix.limit",
    line: 6,
    message: /is required/,
  },
  {
    name: "prefix with host bits",
    yaml: `${HEAD}prefixLists:\n  pods:\n    - prefix: 10.244.1.0/16\n`,
    path: "prefixLists.pods[0].prefix",
    line: 5,
    column: 15,
    message: "host bits are set; did you mean 10.244.0.0/16?",
  },
  {
    name: "IPv6 prefix with host bits",
    yaml: `${HEAD}prefixLists:\n  v6:\n    - prefix: 2001:db8:0:1::/48\n`,
    path: "prefixLists.v6[0].prefix",
    line: 5,
    message: "host bits are set; did you mean 2001:db8::/48?",
  },
  {
    name: "prefix length too long",
    yaml: `${HEAD}prefixLists:\n  p:\n    - prefix: 10.0.0.0/33\n`,
    path: "prefixLists.p[0].prefix",
    line: 5,
    message: "prefix length must be an integer 0..32",
  },
  {
    name: "ge greater than le",
    yaml: `${HEAD}prefixLists:\n  p:\n    - prefix: 10.0.0.0/8\n      ge: 24\n      le: 16\n`,
    path: "prefixLists.p[0].le",
    line: 7,
    column: 11,
    message: "must be at least ge (24)",
  },
  {
    name: "ge shorter than the prefix",
    yaml: `${HEAD}prefixLists:\n  p:\n    - { prefix: 10.244.0.0/16, ge: 8 }\n`,
    path: "prefixLists.p[0].ge",
    line: 5,
    message: "must be at least the prefix length 16",
  },
  {
    name: "le beyond the IPv4 maximum",
    yaml: `${HEAD}prefixLists:\n  p:\n    - { prefix: 10.244.0.0/16, le: 64 }\n`,
    path: "prefixLists.p[0].le",
    line: 5,
    message: "must be at most 32 for an IPv4 prefix",
  },
  {
    name: "policy references an unknown prefix list",
    yaml: `${HEAD}prefixLists:\n  pods: []\npolicies:\n  in:\n    - match: { prefixList: podz }\n      action: accept\n`,
    path: "policies.in.terms[0].match.prefixList",
    line: 7,
    message: 'unknown prefix list "podz" (did you mean "pods"?)',
  },
  {
    name: "policy term without action",
    yaml: `${HEAD}policies:\n  in:\n    - match: { family: ipv4 }\n`,
    path: "policies.in[0].action",
    line: 5,
    message: /is required/,
  },
  {
    name: "redefining a built-in policy",
    yaml: `${HEAD}policies:\n  accept-all: []\n`,
    path: "policies.accept-all",
    line: 4,
    message: /built-in policy name/,
  },
  {
    name: "bad community half",
    yaml: `${HEAD}policies:\n  out:\n    - set: { communitiesAdd: ["65000:70000"] }\n      action: accept\n`,
    path: "policies.out[0].set.communitiesAdd[0]",
    line: 5,
    message: /must be a community "ASN:VALUE"/,
  },
  {
    name: "bad large community",
    yaml: `${HEAD}policies:\n  out:\n    - match: { largeCommunity: ["1:2"] }\n      action: reject\n`,
    path: "policies.out[0].match.largeCommunity[0]",
    line: 5,
    message: /must be a large community/,
  },
  {
    name: "originate prefix host bits",
    yaml: `${HEAD}originate:\n  - prefix: 192.168.10.1/24\n`,
    path: "originate[0].prefix",
    line: 4,
    message: "host bits are set; did you mean 192.168.10.0/24?",
  },
  {
    name: "listen address invalid",
    yaml: `${HEAD}listen:\n  address: any\n`,
    path: "listen.address",
    line: 4,
    message: "must be an IPv4 or IPv6 address",
  },
  {
    name: "YAML syntax error: unterminated flow sequence",
    yaml: `${HEAD}peers: [\n  { address: 10.0.0.1, asn: 1 }\nlog:\n  level: info\n`,
    path: "",
    line: 5,
    message: /Flow sequence/,
  },
  {
    name: "YAML syntax error: duplicate key",
    yaml: `${HEAD}asn: 64513\n`,
    path: "",
    line: 3,
    column: 1,
    message: "Map keys must be unique",
  },
  { name: "empty file", yaml: "# nothing yet\n", path: "", line: 1, message: /empty/ },
  {
    name: "document is a list",
    yaml: "- routerId: 10.0.0.2\n",
    path: "",
    line: 1,
    message: "must be a mapping",
  },
];

describe("bad configs", () => {
  it("has at least 20 cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
  });

  it.each(cases)("$name → $path at line $line", (c) => {
    const issues = issuesOf(c.yaml);
    const hit = issues.find((i) => i.path === c.path);
    expect(hit, `issues were: ${JSON.stringify(issues)}`).toBeDefined();
    expect(hit!.line).toBe(c.line);
    if (c.column !== undefined) expect(hit!.column).toBe(c.column);
    if (typeof c.message === "string") expect(hit!.message).toBe(c.message);
    else expect(hit!.message).toMatch(c.message);
  });
});

describe("ConfigError", () => {
  it("formats file:line:column: path: message", () => {
    const text = `${HEAD}peers:\n  - address: 10.0.0.1\n    asn: 0\n`;
    expect(() => parseConfig(text, "podgate.yaml")).toThrowError(
      "podgate.yaml:5:10: peers[0].asn: must be an integer 1..4294967295",
    );
  });

  it("reports every problem of a file, one per line", () => {
    const text = "routerId: x\nasn: 0\nbogus: 1\n";
    let err: ConfigError | undefined;
    try {
      parseConfig(text, "a.yaml");
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err?.issues.map((i) => i.path).sort()).toEqual(["asn", "bogus", "routerId"]);
    expect(err?.message.split("\n")).toHaveLength(3);
    expect(err?.code).toBe("PODGATE_CONFIG_INVALID");
  });
});
