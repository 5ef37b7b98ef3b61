/**
 * The podgate configuration schema: the single source for validation (types, ranges, value
 * checks, unknown keys), static defaults and docs/configuration.md. Defaults that depend on other
 * values (a peer's name, role, hold time, ...) are described here in `defaultDoc` and applied by
 * the loader (src/config/load.ts), which also runs the checks that span several keys
 * (duplicate peers, policy references, password files).
 *
 * A small declarative schema rather than a library: it walks the YAML node tree, so every error
 * carries the key path and the line/column of the offending node, and secret values are never
 * echoed.
 */

import { readFileSync, statSync } from "node:fs";
import { AS_TRANS, BGP_PORT, SHUTDOWN_COMMUNICATION_MAX, WellKnownCommunity } from "../bgp/wire/constants.ts";
import { formatIp, maxPrefixLength, parseIp, parsePrefix } from "./ip.ts";

/** Result of a value check: undefined when fine, otherwise an error message (never echoing secrets). */
export type CheckResult = string | undefined;
export type Seg = string | number;
/** Report a problem at a path below the object being checked. */
export type Report = (sub: readonly Seg[], message: string) => void;

interface NodeBase {
  readonly description: string;
  /** The key must be present. */
  readonly required?: boolean;
  /** Text for docs when the default is computed from other values. */
  readonly defaultDoc?: string;
}

export interface StringNode extends NodeBase {
  readonly kind: "string";
  /** Type name used in docs and errors ("IPv4 address"). */
  readonly typeName?: string;
  readonly default?: string;
  /** Value is a secret: never echoed in errors or debug output. */
  readonly secret?: boolean;
  /** Validate and normalise (e.g. canonical IP text). */
  readonly parse?: (v: string) => { readonly error: string } | { readonly value: string };
}

export interface IntegerNode extends NodeBase {
  readonly kind: "integer";
  readonly min: number;
  readonly max: number;
  readonly default?: number;
  readonly unit?: string;
  /** Extra rule beyond the range; `rangeText` replaces "min..max" in the type text. */
  readonly check?: (v: number) => CheckResult;
  readonly rangeText?: string;
  /** An AS number: errors explain that asdot notation is not accepted. */
  readonly asn?: boolean;
}

export interface BooleanNode extends NodeBase {
  readonly kind: "boolean";
  readonly default?: boolean;
}

export interface EnumNode extends NodeBase {
  readonly kind: "enum";
  readonly values: readonly string[];
  readonly default?: string;
}

export interface ArrayNode extends NodeBase {
  readonly kind: "array";
  readonly items: SchemaNode;
  readonly default?: readonly unknown[];
  readonly minItems?: number;
  /** Items must be distinct (compared by their JSON text after normalisation). */
  readonly unique?: boolean;
}

export interface ObjectNode extends NodeBase {
  readonly kind: "object";
  readonly fields: Readonly<Record<string, SchemaNode>>;
  /** When the key is absent, build the object from its fields' defaults. */
  readonly defaulted?: boolean;
  /** Checks across fields, run only when every field is valid. */
  readonly check?: (value: Record<string, unknown>, report: Report) => void;
  /** Reshape the validated value (e.g. fill ge/le). */
  readonly transform?: (value: Record<string, unknown>) => unknown;
}

/** A mapping from user-chosen names to values of one schema. */
export interface MapNode extends NodeBase {
  readonly kind: "map";
  readonly values: SchemaNode;
  readonly keyName: string;
  readonly default?: Readonly<Record<string, unknown>>;
}

/** One of several shapes, chosen by the YAML node kind (scalar, list or mapping). */
export interface UnionNode extends NodeBase {
  readonly kind: "union";
  readonly typeName: string;
  readonly options: readonly UnionOption[];
}

export interface UnionOption {
  readonly node: SchemaNode;
  /** Convert this shape to the canonical value. */
  readonly transform?: (value: unknown) => unknown;
}

export type SchemaNode =
  | StringNode
  | IntegerNode
  | BooleanNode
  | EnumNode
  | ArrayNode
  | ObjectNode
  | MapNode
  | UnionNode;

// ---- value checks -------------------------------------------------------------------------------

export const ASN_MAX = 4294967295;
/** Linux TCP_MD5SIG_MAXKEYLEN: the kernel rejects longer RFC 2385 keys. */
export const TCP_MD5_MAX_KEY_LENGTH = 80;
/** RFC 4271 §4.2: a non-zero hold time must be at least three seconds. */
export const MIN_NONZERO_HOLD_TIME = 3;
/** RFC 4271 §10 suggested hold time. */
export const DEFAULT_HOLD_TIME = 90;
/** Chosen for a gateway (see the connectRetryTime description); RFC 4271 §10 suggests 120 s. */
export const DEFAULT_CONNECT_RETRY_TIME = 5;
/** Built-in policy names usable in a peer's import/export without defining them. */
export const BUILTIN_POLICIES = ["accept-all", "reject-all"] as const;
export const WELL_KNOWN_COMMUNITY_NAMES = Object.keys(WellKnownCommunity);

function ipAddress(family?: 4 | 6) {
  return (v: string) => {
    const ip = parseIp(v);
    if (!ip || (family !== undefined && ip.family !== family)) {
      return {
        error: `must be an ${family === 4 ? "IPv4" : family === 6 ? "IPv6" : "IPv4 or IPv6"} address`,
      };
    }
    return { value: formatIp(ip) };
  };
}

function checkAsn(v: number): CheckResult {
  return v === AS_TRANS
    ? `${AS_TRANS} is AS_TRANS (RFC 6793) and cannot be configured as an AS number`
    : undefined;
}

function prefixText(v: string) {
  const r = parsePrefix(v);
  return r.ok ? { value: r.prefix.text } : { error: r.message };
}

const half = (s: string) => /^\d{1,5}$/.test(s) && Number(s) <= 65535;
const word = (s: string) => /^\d{1,10}$/.test(s) && Number(s) <= ASN_MAX;

export function parseCommunity(v: string): { error: string } | { value: string } {
  if (WELL_KNOWN_COMMUNITY_NAMES.includes(v)) return { value: v };
  const parts = v.split(":");
  if (parts.length === 2 && parts.every(half)) return { value: parts.map(Number).join(":") };
  return {
    error: `must be a community "ASN:VALUE" (each 0..65535) or one of ${WELL_KNOWN_COMMUNITY_NAMES.join(", ")}`,
  };
}

export function parseLargeCommunity(v: string): { error: string } | { value: string } {
  const parts = v.split(":");
  if (parts.length === 3 && parts.every(word)) return { value: parts.map(Number).join(":") };
  return { error: `must be a large community "GA:LD1:LD2" (each 0..${ASN_MAX})` };
}

// ---- building blocks ----------------------------------------------------------------------------

const asnNode = (description: string, required = true): IntegerNode => ({
  kind: "integer",
  min: 1,
  max: ASN_MAX,
  required,
  asn: true,
  check: checkAsn,
  description: `${description} Plain integers only (asdot "1.10" must be written as 65546); 23456 (AS_TRANS) is refused.`,
});

const u32 = (description: string): IntegerNode => ({ kind: "integer", min: 0, max: ASN_MAX, description });

const communityNode: StringNode = {
  kind: "string",
  typeName: "community",
  parse: parseCommunity,
  description: `RFC 1997 community "ASN:VALUE" (each half 0..65535) or a well-known name (${WELL_KNOWN_COMMUNITY_NAMES.join(", ")}).`,
};

const largeCommunityNode: StringNode = {
  kind: "string",
  typeName: "large community",
  parse: parseLargeCommunity,
  description: 'RFC 8092 large community "GA:LD1:LD2" (each part 0..4294967295).',
};

const holdTimeCheck = (v: number): CheckResult =>
  v !== 0 && v < MIN_NONZERO_HOLD_TIME
    ? "must be 0 or 3..65535 (RFC 4271 §4.2: a hold time of 1 or 2 seconds is not allowed)"
    : undefined;

/** One prefix-list entry; also used for a policy term's inline `prefixes`. */
export const prefixEntryNode: ObjectNode = {
  kind: "object",
  description: "One prefix match.",
  fields: {
    prefix: {
      kind: "string",
      typeName: "prefix",
      required: true,
      parse: prefixText,
      description: 'Prefix "address/length" (IPv4 or IPv6); host bits must be zero.',
    },
    ge: {
      kind: "integer",
      min: 0,
      max: 128,
      defaultDoc: "the prefix's own length",
      description: "Match routes whose length is at least this. Must satisfy length ≤ ge ≤ le.",
    },
    le: {
      kind: "integer",
      min: 0,
      max: 128,
      defaultDoc: "32 (IPv4) or 128 (IPv6) when ge is given, else the prefix's own length",
      description:
        "Match routes whose length is at most this. Without ge and le the entry matches the exact prefix only.",
    },
    action: {
      kind: "enum",
      values: ["permit", "deny"],
      default: "permit",
      description: "What a match means: permit or deny. The first matching entry of a list decides.",
    },
  },
  check(v, report) {
    const r = parsePrefix(v["prefix"] as string);
    if (!r.ok) return;
    const { length, family } = r.prefix;
    const max = maxPrefixLength(family);
    const ge = v["ge"] as number | undefined;
    const le = v["le"] as number | undefined;
    if (ge !== undefined && ge > max) report(["ge"], `must be at most ${max} for an IPv${family} prefix`);
    else if (ge !== undefined && ge < length) report(["ge"], `must be at least the prefix length ${length}`);
    if (le !== undefined && le > max) report(["le"], `must be at most ${max} for an IPv${family} prefix`);
    else if (le !== undefined && le < length) report(["le"], `must be at least the prefix length ${length}`);
    else if (le !== undefined && ge !== undefined && ge > le) report(["le"], `must be at least ge (${ge})`);
  },
  transform(v) {
    const r = parsePrefix(v["prefix"] as string);
    const length = r.ok ? r.prefix.length : 0;
    const max = r.ok ? maxPrefixLength(r.prefix.family) : 32;
    const ge = (v["ge"] as number | undefined) ?? length;
    const le = (v["le"] as number | undefined) ?? (v["ge"] !== undefined ? max : length);
    return { prefix: v["prefix"], ge, le, action: v["action"] };
  },
};

const termNode: ObjectNode = {
  kind: "object",
  description: "One policy term: if `match` matches (all given conditions), apply `set`, then `action`.",
  fields: {
    name: { kind: "string", description: "Label for logs and `podgate` status output." },
    match: {
      kind: "object",
      description: "Conditions, all of which must hold. An absent match matches every route.",
      fields: {
        prefixList: {
          kind: "string",
          typeName: "prefix-list name",
          description:
            "Name of an entry in `prefixLists`; matches when the list's first matching entry permits.",
        },
        prefixes: {
          kind: "array",
          items: prefixEntryNode,
          description: "Inline prefix entries, same rules as a prefix list.",
        },
        community: {
          kind: "array",
          items: communityNode,
          description: "Matches when the route carries any of these communities.",
        },
        largeCommunity: {
          kind: "array",
          items: largeCommunityNode,
          description: "Matches when the route carries any of these large communities.",
        },
        family: { kind: "enum", values: ["ipv4", "ipv6"], description: "Address family of the route." },
      },
    },
    set: {
      kind: "object",
      description: "Changes applied to a matching route.",
      fields: {
        localPref: u32("LOCAL_PREF (iBGP only; higher wins)."),
        med: u32("MULTI_EXIT_DISC (lower wins)."),
        communitiesAdd: { kind: "array", items: communityNode, description: "Communities to add." },
        communitiesRemove: { kind: "array", items: communityNode, description: "Communities to remove." },
        largeCommunitiesAdd: {
          kind: "array",
          items: largeCommunityNode,
          description: "Large communities to add.",
        },
        asPathPrepend: {
          kind: "union",
          typeName: "an integer 1..16 or a list of AS numbers",
          description: "Prepend the local AS this many times (export), or prepend the listed AS numbers.",
          options: [
            { node: { kind: "integer", min: 1, max: 16, description: "Times to prepend the local AS." } },
            {
              node: {
                kind: "array",
                minItems: 1,
                items: asnNode("AS number to prepend."),
                description: "AS numbers to prepend, leftmost first.",
              },
            },
          ],
        },
        nextHop: {
          kind: "string",
          typeName: '"self" or an IP address',
          parse: (v) => (v === "self" ? { value: v } : ipAddress()(v)),
          description: 'New NEXT_HOP: "self" (our session address) or an IP address.',
        },
      },
    },
    action: {
      kind: "enum",
      values: ["accept", "reject", "next"],
      required: true,
      description: "accept or reject stop evaluation; next applies `set` and continues with the next term.",
    },
  },
};

const policyObjectNode: ObjectNode = {
  kind: "object",
  description: "Policy with explicit default.",
  fields: {
    terms: { kind: "array", items: termNode, default: [], description: "Terms, evaluated in order." },
    default: {
      kind: "enum",
      values: ["accept", "reject"],
      default: "reject",
      description: "What happens to a route no term accepted or rejected.",
    },
  },
};

const policyNode: UnionNode = {
  kind: "union",
  typeName: "a policy (a mapping with terms/default, or a list of terms)",
  description:
    "A named route policy: `{terms: [...], default: reject}`, or the short form: just the list of terms (default reject).",
  options: [
    { node: policyObjectNode },
    {
      node: { kind: "array", items: termNode, description: "Short form: the terms; default is reject." },
      transform: (terms) => ({ terms, default: "reject" }),
    },
  ],
};

const peerNode: ObjectNode = {
  kind: "object",
  description: "A BGP neighbor.",
  fields: {
    address: {
      kind: "string",
      typeName: "IP address",
      required: true,
      parse: ipAddress(),
      description: "Neighbor IPv4 or IPv6 address (no zone id). Unique among peers.",
    },
    asn: asnNode("Neighbor AS number. Equal to the top-level asn means iBGP."),
    name: {
      kind: "string",
      defaultDoc: "the peer's address",
      description: "Name shown in status and logs. Unique among peers.",
    },
    role: {
      kind: "enum",
      values: ["cluster", "office", "gateway"],
      defaultDoc: '"cluster" when the peer asn equals the top-level asn (iBGP), otherwise "office"',
      description:
        "cluster: a Calico node or route reflector (source of pod and service routes); office: the office router (receives the cluster routes); gateway: another podgate gateway. Set it explicitly for an eBGP cluster or an iBGP office router.",
    },
    port: {
      kind: "integer",
      min: 1,
      max: 65535,
      default: BGP_PORT,
      description: "Neighbor TCP port.",
    },
    localAddress: {
      kind: "string",
      typeName: "IP address",
      parse: ipAddress(),
      description: "Source address for the session; same family as address. Default: chosen by the kernel.",
    },
    passive: {
      kind: "boolean",
      default: false,
      description: "Never connect; only accept the neighbor's connection (requires listen.enabled).",
    },
    holdTime: {
      kind: "integer",
      min: 0,
      max: 65535,
      rangeText: "0 or 3..65535",
      unit: "seconds",
      check: holdTimeCheck,
      defaultDoc: "defaults.holdTime",
      description:
        "Hold time offered in OPEN; the session uses the smaller of both sides. 0 disables keepalives and the hold timer (RFC 4271 §4.2: 0 or at least 3).",
    },
    keepaliveTime: {
      kind: "integer",
      min: 1,
      max: 21845,
      unit: "seconds",
      defaultDoc: "one third of the negotiated hold time",
      description: "Interval between KEEPALIVE messages; must be less than holdTime.",
    },
    connectRetryTime: {
      kind: "integer",
      min: 1,
      max: 65535,
      unit: "seconds",
      defaultDoc: "defaults.connectRetryTime",
      description: "Wait between connection attempts (RFC 4271 ConnectRetryTimer).",
    },
    password: {
      kind: "string",
      secret: true,
      description: `RFC 2385 TCP-MD5 key (1..${TCP_MD5_MAX_KEY_LENGTH} bytes). Never logged or shown. Prefer passwordFile; set at most one of the two.`,
    },
    passwordFile: {
      kind: "string",
      typeName: "file path",
      description:
        "File holding the TCP-MD5 key (one trailing newline is removed), relative to the config file's directory. Read at load time; a file readable by group or others gives a warning.",
    },
    ttlSecurity: {
      kind: "boolean",
      default: false,
      description:
        "RFC 5082 GTSM: send with TTL 255 and accept only packets that arrive with TTL ≥ 255 − (multihop − 1).",
    },
    multihop: {
      kind: "integer",
      min: 1,
      max: 255,
      description:
        "eBGP multihop: TTL of outgoing packets (1 = directly connected). Default: unset, i.e. directly connected for eBGP; iBGP is not TTL-limited.",
    },
    families: {
      kind: "array",
      items: { kind: "enum", values: ["ipv4", "ipv6"], description: "Address family." },
      default: ["ipv4", "ipv6"],
      minItems: 1,
      unique: true,
      description:
        "Address families offered in the OPEN (RFC 4760). A family is used only if the neighbor also offers it, so offering ipv6 to an IPv4-only BIRD is harmless.",
    },
    addPath: {
      kind: "enum",
      values: ["off", "receive", "send", "both"],
      default: "receive",
      description:
        "RFC 7911 ADD-PATH. Calico's BIRD offers send+receive; receiving every path from route reflectors lets podgate install ECMP routes across nodes.",
    },
    nextHopSelf: {
      kind: "boolean",
      defaultDoc: "true",
      description:
        "Set NEXT_HOP to our own address on routes sent to this iBGP peer (eBGP peers always get it): the office router must send pod traffic through the gateway, and cluster nodes must send replies for office prefixes to the gateway, not to an office router they cannot reach.",
    },
    gracefulRestart: {
      kind: "boolean",
      default: true,
      description:
        "RFC 4724 graceful restart (Calico's BIRD uses it): keep routes while the neighbor restarts.",
    },
    maxPrefix: {
      kind: "object",
      description:
        "Limit on prefixes accepted from the neighbor (RFC 4486 Cease subcode 1). Default: no limit.",
      fields: {
        limit: {
          kind: "integer",
          min: 1,
          max: ASN_MAX,
          required: true,
          description: "Maximum number of prefixes received.",
        },
        action: {
          kind: "enum",
          values: ["warn", "restart"],
          default: "restart",
          description:
            "warn: log once; restart: send Cease/Maximum Number of Prefixes Reached and reconnect after restartAfter.",
        },
        restartAfter: {
          kind: "integer",
          min: 1,
          max: 65535,
          default: 60,
          unit: "seconds",
          description: "Delay before reconnecting after a restart action.",
        },
      },
    },
    import: {
      kind: "string",
      typeName: "policy name",
      defaultDoc: "the role's default (RFC 8212: an eBGP session without policy accepts nothing)",
      description: `Policy applied to routes received: a name from policies, or ${BUILTIN_POLICIES.join(" / ")}.`,
    },
    export: {
      kind: "string",
      typeName: "policy name",
      defaultDoc: "the role's default (RFC 8212: an eBGP session without policy announces nothing)",
      description: `Policy applied to routes sent: a name from policies, or ${BUILTIN_POLICIES.join(" / ")}.`,
    },
    shutdownMessage: {
      kind: "string",
      description: `RFC 9003 text sent in the Cease NOTIFICATION when the session is shut down administratively (at most ${SHUTDOWN_COMMUNICATION_MAX} bytes UTF-8).`,
    },
    enabled: {
      kind: "boolean",
      default: true,
      description: "false keeps the peer in the configuration but never starts the session.",
    },
  },
  check(v, report) {
    const msg = v["shutdownMessage"];
    if (typeof msg === "string" && Buffer.byteLength(msg, "utf8") > SHUTDOWN_COMMUNICATION_MAX) {
      report(["shutdownMessage"], `must be at most ${SHUTDOWN_COMMUNICATION_MAX} bytes (RFC 9003)`);
    }
    const la = v["localAddress"];
    if (typeof la === "string" && la.includes(":") !== (v["address"] as string).includes(":")) {
      report(["localAddress"], "must be the same address family as address");
    }
  },
};

// ---- tunnels ------------------------------------------------------------------------------------

/** Linux IFNAMSIZ − 1; the name must also not look like an option (wireguard-go takes `--help` as a name). */
const WG_IFNAME_RE = /^[A-Za-z][A-Za-z0-9_.-]{0,14}$/;

/** Base64 text of a 32-byte Curve25519 key. */
function isWgKeyText(v: string): boolean {
  return /^[A-Za-z0-9+/]{43}=$/.test(v) && Buffer.from(v, "base64").length === 32;
}

function parseWgEndpoint(v: string): { error: string } | { value: string } {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(v) ?? /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(v);
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65535 || (v.startsWith("[") && parseIp(m[1]!)?.family !== 6)) {
    return { error: 'must be "host:port" or "[IPv6]:port" (port 1..65535)' };
  }
  return { value: v };
}

function interfaceAddress(v: string): { error: string } | { value: string } {
  const slash = v.indexOf("/");
  const ip = slash < 0 ? undefined : parseIp(v.slice(0, slash));
  const len = v.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(len) || Number(len) > maxPrefixLength(ip.family)) {
    return { error: 'must be an interface address "address/length" (e.g. 10.200.0.1/30)' };
  }
  return { value: `${formatIp(ip)}/${Number(len)}` };
}

/** The private key file must exist, be 0600 (no group/other access) and hold a key. Never echoes it. */
function checkPrivateKeyFile(file: string): CheckResult {
  let mode: number;
  let text: string;
  try {
    mode = statSync(file).mode & 0o777;
    text = readFileSync(file, "utf8");
  } catch (e) {
    return `cannot read private key file ${file} (${(e as NodeJS.ErrnoException).code ?? "error"})`;
  }
  if ((mode & 0o077) !== 0) {
    return `private key file ${file} is accessible by group or others (mode ${mode.toString(8).padStart(4, "0")}); chmod 600 it`;
  }
  if (!isWgKeyText(text.trim())) return `private key file ${file} does not hold a WireGuard key (wg genkey)`;
  return undefined;
}

const wgPeerNode: ObjectNode = {
  kind: "object",
  description: "A WireGuard peer (the other site).",
  fields: {
    publicKey: {
      kind: "string",
      typeName: "WireGuard public key",
      required: true,
      parse: (v) => (isWgKeyText(v) ? { value: v } : { error: "must be a base64 WireGuard key (wg pubkey)" }),
      description: "The peer's public key (`podgate wg pubkey < key` on the other side).",
    },
    endpoint: {
      kind: "string",
      typeName: "host:port",
      parse: parseWgEndpoint,
      description:
        'Where to send the handshake: "host:port" or "[IPv6]:port". Leave it out on the side that only answers (behind NAT or with a dynamic address); WireGuard learns the endpoint from the first handshake.',
    },
    allowedIPs: {
      kind: "array",
      required: true,
      minItems: 1,
      unique: true,
      items: { kind: "string", typeName: "prefix", parse: prefixText, description: "A prefix." },
      description:
        "Prefixes routed to and accepted from this peer (cryptokey routing): the peer's tunnel address and the remote networks (pod and service CIDRs, office LAN). Routes toward them come from BGP over the tunnel.",
    },
    persistentKeepalive: {
      kind: "integer",
      min: 1,
      max: 65535,
      unit: "seconds",
      description:
        "Send a keepalive this often when idle (25 is usual behind NAT). Also makes the tunnel's status react faster: received keepalives count as signs of life.",
    },
  },
};

const wgInterfaceNode: ObjectNode = {
  kind: "object",
  description: "One WireGuard interface.",
  fields: {
    name: {
      kind: "string",
      typeName: "interface name",
      required: true,
      parse: (v) =>
        WG_IFNAME_RE.test(v)
          ? { value: v }
          : {
              error:
                "must be an interface name of at most 15 characters: a letter, then letters, digits, _ . -",
            },
      description:
        "Interface name (at most 15 characters, Linux IFNAMSIZ). Unique on the machine: wireguard-go's control sockets are not per network namespace.",
    },
    privateKeyFile: {
      kind: "string",
      typeName: "absolute path",
      required: true,
      parse: (v) => (v.startsWith("/") ? { value: v } : { error: "must be an absolute path" }),
      description:
        "File holding this side's private key (`podgate wg genkey > FILE`). Must be mode 0600 (no group or other access); the key is never logged.",
    },
    listenPort: {
      kind: "integer",
      min: 1,
      max: 65535,
      required: true,
      description: "UDP port WireGuard listens on (51820 is usual).",
    },
    address: {
      kind: "array",
      minItems: 1,
      unique: true,
      items: {
        kind: "string",
        typeName: "address/length",
        parse: interfaceAddress,
        description: "Interface address with prefix length.",
      },
      required: true,
      description:
        'Tunnel addresses of this side, e.g. ["10.200.0.1/30"]; the BGP session runs between them.',
    },
    mtu: {
      kind: "integer",
      min: 1280,
      max: 65535,
      defaultDoc: "the underlay MTU − 80 (1420 on a 1500 network)",
      description:
        "Tunnel MTU. WireGuard adds 60 bytes over IPv4 and 80 over IPv6; the default subtracts 80 from the MTU of the link toward the peers' endpoints so it is right for both. Never below 1280 (IPv6 minimum).",
    },
    peers: {
      kind: "array",
      minItems: 1,
      items: wgPeerNode,
      required: true,
      description: "The remote sites.",
    },
  },
  check(v, report) {
    const err = checkPrivateKeyFile(v["privateKeyFile"] as string);
    if (err) report(["privateKeyFile"], err);
    const seen = new Set<string>();
    (v["peers"] as { publicKey: string }[]).forEach((p, i) => {
      if (seen.has(p.publicKey)) report(["peers", i, "publicKey"], "duplicate peer public key");
      seen.add(p.publicKey);
    });
  },
};

const ipipNode: ObjectNode = {
  kind: "object",
  description:
    "IPIP toward Calico nodes (see docs/ipip.md): pod blocks are routed `via NODE dev NAME onlink`, as Calico routes between nodes. For clusters on another subnet without WireGuard. Calico's Felix drops IPIP from hosts that are not nodes: add this gateway to FelixConfiguration externalNodesList (`podgate render calico` emits it).",
  fields: {
    name: {
      kind: "string",
      typeName: "interface name",
      default: "pgipip0",
      parse: (v) =>
        WG_IFNAME_RE.test(v) && v !== "tunl0"
          ? { value: v }
          : {
              error:
                "must be an interface name of at most 15 characters (a letter, then letters, digits, _ . -), not tunl0 (the kernel's own fallback device)",
            },
      description: "Name of the ipip device podgate creates (remote any, like Calico's tunl0).",
    },
    local: {
      kind: "string",
      typeName: "IPv4 address",
      required: true,
      parse: ipAddress(4),
      description:
        "Outer source address: the gateway's own address that the nodes peer with and that FelixConfiguration externalNodesList holds. Nodes send IPIP back to it (office pools with ipipMode Always), and it keeps the device apart from the kernel's tunl0 (remote any, local any), which a second any/any device would collide with.",
    },
    mtu: {
      kind: "integer",
      min: 576,
      max: 65515,
      defaultDoc: "the MTU of the interface holding `local` − 20 (1480 on a 1500 network)",
      description: "MTU of the ipip device. IPIP adds a 20-byte IPv4 header.",
    },
    mode: {
      kind: "enum",
      values: ["CrossSubnet", "Always"],
      default: "CrossSubnet",
      description:
        "Like Calico's ipipMode: CrossSubnet encapsulates only toward nodes outside the subnets of this host's interfaces (on the same L2 a plain route is used); Always encapsulates toward every node.",
    },
  },
};

/** The whole configuration file. */
export const configSchema: ObjectNode = {
  kind: "object",
  description: "podgate configuration file.",
  fields: {
    routerId: {
      kind: "string",
      typeName: "IPv4 address",
      required: true,
      parse: (v) =>
        v === "0.0.0.0" ? { error: "must be a non-zero IPv4 address (RFC 6286)" } : ipAddress(4)(v),
      description: "BGP Identifier sent in OPEN (RFC 6286: a non-zero 32-bit value written as IPv4).",
    },
    asn: asnNode("Local AS number. Calico's default is 64512."),
    listen: {
      kind: "object",
      defaulted: true,
      description: "Accepting incoming BGP connections.",
      fields: {
        enabled: {
          kind: "boolean",
          default: true,
          description: "Listen for connections from configured peers (others are refused).",
        },
        address: {
          kind: "string",
          typeName: "IP address",
          default: "::",
          parse: ipAddress(),
          description: 'Listen address; "::" accepts IPv4 and IPv6 (dual stack).',
        },
        port: { kind: "integer", min: 1, max: 65535, default: BGP_PORT, description: "Listen port." },
      },
    },
    api: {
      kind: "object",
      defaulted: true,
      description: "Local control API used by the podgate CLI.",
      fields: {
        socket: {
          kind: "string",
          typeName: "path",
          default: "/run/podgate/podgate.sock",
          description: "Unix socket path of the control API.",
        },
      },
    },
    metrics: {
      kind: "object",
      defaulted: true,
      description: "Prometheus /metrics, /healthz and /readyz over HTTP (opt-in).",
      fields: {
        enabled: { kind: "boolean", default: false, description: "Serve metrics and health endpoints." },
        address: {
          kind: "string",
          typeName: "host:port",
          default: "127.0.0.1:9179",
          description: "Listen address; loopback only unless allowNonLoopback.",
        },
        allowNonLoopback: {
          kind: "boolean",
          default: false,
          description:
            "Allow a non-loopback address (exposes peer addresses, names and counts to the network).",
        },
      },
    },
    log: {
      kind: "object",
      defaulted: true,
      description: "Logging.",
      fields: {
        level: {
          kind: "enum",
          values: ["trace", "debug", "info", "warn", "error"],
          default: "info",
          description: "Minimum level written.",
        },
      },
    },
    defaults: {
      kind: "object",
      defaulted: true,
      description: "Values peers inherit unless they set their own.",
      fields: {
        holdTime: {
          kind: "integer",
          min: 0,
          max: 65535,
          rangeText: "0 or 3..65535",
          unit: "seconds",
          check: holdTimeCheck,
          default: DEFAULT_HOLD_TIME,
          description: "Hold time for peers without their own (RFC 4271 §10 suggests 90).",
        },
        connectRetryTime: {
          kind: "integer",
          min: 1,
          max: 65535,
          unit: "seconds",
          default: DEFAULT_CONNECT_RETRY_TIME,
          description:
            "Connect retry time for peers without their own. RFC 4271 §10 suggests 120 s, but a gateway should come back within seconds after a Calico node or the office router restarts (Calico's own BIRD uses 5 s).",
        },
      },
    },
    cluster: {
      kind: "object",
      defaulted: true,
      description:
        "The Kubernetes cluster's address space. When set, peers with role `cluster` accept only routes inside these CIDRs by default, and office peers are sent them.",
      fields: {
        podCIDRs: {
          kind: "array",
          items: {
            kind: "string",
            typeName: "prefix",
            parse: prefixText,
            description: "A pod CIDR (IP pool).",
          },
          default: [],
          unique: true,
          description:
            "Pod CIDRs (Calico IPPools, e.g. 10.244.0.0/16). Routes accepted from cluster peers: inside a pod CIDR, at least as long as it and at most /32 (/128).",
        },
        serviceCIDRs: {
          kind: "array",
          items: { kind: "string", typeName: "prefix", parse: prefixText, description: "A service CIDR." },
          default: [],
          unique: true,
          description:
            "Service ClusterIP ranges (e.g. 10.96.0.0/12), accepted from cluster peers like pod CIDRs.",
        },
      },
    },
    office: {
      kind: "object",
      defaulted: true,
      description: "The office side: its prefixes and how the cluster is advertised to the office router.",
      fields: {
        prefixes: {
          kind: "array",
          items: { kind: "string", typeName: "prefix", parse: prefixText, description: "An office prefix." },
          default: [],
          unique: true,
          description:
            "Office LAN prefixes (e.g. 10.10.0.0/24). The only routes accepted from office peers by default; sent to cluster peers when returnPath.mode is advertise.",
        },
        advertise: {
          kind: "enum",
          values: ["aggregate", "specifics"],
          default: "aggregate",
          description:
            "What office peers are sent: the pod and service CIDRs as aggregates (each only while at least one cluster route inside it exists, so an office router with two gateways fails over), or every learned cluster route.",
        },
      },
    },
    returnPath: {
      kind: "object",
      defaulted: true,
      description: "How replies from pods find their way back to the office.",
      fields: {
        mode: {
          kind: "enum",
          values: ["advertise", "snat", "none"],
          default: "advertise",
          description:
            "advertise: office prefixes are sent to cluster peers over BGP; snat: office sources are masqueraded toward the cluster; none: the network already routes it.",
        },
      },
    },
    dataplane: {
      kind: "object",
      defaulted: true,
      description: "Kernel routes (Linux, rtnetlink): the best cluster routes installed on the gateway.",
      fields: {
        enabled: {
          kind: "boolean",
          default: true,
          description: "Install routes into the kernel. Off: podgate only speaks BGP (a route server).",
        },
        table: {
          kind: "integer",
          min: 1,
          max: 4294967295,
          default: 254,
          description: "Routing table (254 = main).",
        },
        protocol: {
          kind: "integer",
          min: 5,
          max: 255,
          default: 201,
          description:
            "Route protocol number marking podgate's routes (`ip route show proto 201`). Only routes with this protocol are ever changed or removed.",
        },
        metric: {
          kind: "integer",
          min: 0,
          max: 4294967295,
          default: 20,
          description:
            "Route metric. Not 0: a kernel replace at the same prefix and metric would overwrite a connected or static route.",
        },
        unreachableAggregates: {
          kind: "boolean",
          default: true,
          description:
            "Install an unreachable route for each advertised pod/service aggregate, so traffic to an unused pod address is refused instead of looping back to the office router.",
        },
        mssClamp: {
          kind: "string",
          typeName: "off | auto | integer 536..65495",
          default: "auto",
          parse: (v) =>
            v === "off" || v === "auto" || (/^\d+$/.test(v) && Number(v) >= 536 && Number(v) <= 65495)
              ? { value: v }
              : { error: "must be off, auto or an integer 536..65495" },
          description:
            "TCP MSS clamping for forwarded SYNs between office and cluster (nftables): auto clamps to the MTU of the route the SYN leaves by — a no-op on a plain 1500-byte path and the cure for PMTU black holes behind a tunnel or a smaller MTU; a number caps the MSS; off disables it.",
        },
        sysctl: {
          kind: "enum",
          values: ["set", "check", "off"],
          default: "set",
          description:
            "Forwarding sysctls (ip_forward, IPv6 forwarding, loose rp_filter): set them (logging the previous values), only report them, or leave them alone.",
        },
        onShutdown: {
          kind: "enum",
          values: ["keep", "remove", "graceful-restart"],
          default: "keep",
          description:
            "When podgate stops: keep the kernel routes (the next start adopts them) and send Cease to every peer; remove the routes too; or graceful-restart (RFC 4724): keep the routes and close the sessions without NOTIFICATION, so peers in graceful-restart helper mode (BIRD `graceful restart`, FRR's default) keep our routes until we are back — a restart without a forwarding gap.",
        },
        convergeTimeout: {
          kind: "integer",
          min: 1,
          max: 3600,
          default: 120,
          unit: "seconds",
          description:
            "After a start, stale routes of a previous run are removed once every peer has sent End-of-RIB, or after this time.",
        },
      },
    },
    kubernetes: {
      kind: "object",
      defaulted: true,
      description:
        "Cluster discovery from the Kubernetes API (Nodes, Calico IPPools, BlockAffinities, BGPConfiguration, ServiceCIDRs).",
      fields: {
        enabled: {
          kind: "boolean",
          default: false,
          description: "Read the cluster from the Kubernetes API.",
        },
        kubeconfig: {
          kind: "string",
          typeName: "path",
          description:
            "Kubeconfig file. Default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account.",
        },
        nodeSelector: {
          kind: "string",
          description:
            "Calico selector over node labels (e.g. `podgate-peer == 'true'`): only these nodes become peers.",
        },
        peers: {
          kind: "boolean",
          default: true,
          description:
            "Peer with every discovered node (role cluster, the cluster's AS). Peers in `peers:` with the same address win.",
        },
        staticRoutes: {
          kind: "boolean",
          default: true,
          description:
            "Route from the API as well: Calico blocks of confirmed affinities, node podCIDRs (Flannel, Cilium, kube-router) and the service CIDRs by ECMP, each via Ready nodes only. They carry LOCAL_PREF 50, so a route learned over BGP (100) wins wherever a session is up.",
        },
      },
    },
    tunnels: {
      kind: "object",
      defaulted: true,
      description: "Tunnels podgate manages, e.g. to a remote cluster (see docs/wireguard.md).",
      fields: {
        handshakeTimeout: {
          kind: "integer",
          min: 1,
          max: 86400,
          default: 180,
          unit: "seconds",
          description:
            "A WireGuard peer is reported down when nothing (handshake, or received data/keepalive) was seen from it for this long. WireGuard re-handshakes every 120 s while traffic flows.",
        },
        staleReset: {
          kind: "boolean",
          default: true,
          description:
            "Fast recovery after the far gateway restarts: while a BGP session routed over a WireGuard peer with an endpoint is down and that peer sends but hears nothing for 1.5 s, reset its session (`wg set` remove + re-add, same settings), trigger a handshake and retry BGP at once, instead of waiting for WireGuard's 15 s rekey. Read at start. The environment variable PODGATE_WG_STALE_RESET=off also turns it off.",
        },
        wireguard: {
          kind: "array",
          items: wgInterfaceNode,
          default: [],
          description:
            "WireGuard interfaces (kernel module, or wireguard-go when the module is missing). Changing peers reconfigures a running interface in place.",
        },
        ipip: ipipNode,
      },
      check(v, report) {
        const ipip = v["ipip"] as { name: string } | undefined;
        const names = new Map<string, number>();
        const ports = new Map<number, number>();
        if (ipip) {
          const w = (v["wireguard"] as { name: string }[]).findIndex((x) => x.name === ipip.name);
          if (w >= 0) report(["ipip", "name"], `interface name already used by wireguard[${w}]`);
        }
        (v["wireguard"] as { name: string; listenPort: number }[]).forEach((w, i) => {
          const n = names.get(w.name);
          if (n !== undefined)
            report(["wireguard", i, "name"], `duplicate interface name (also wireguard[${n}])`);
          else names.set(w.name, i);
          const p = ports.get(w.listenPort);
          if (p !== undefined)
            report(["wireguard", i, "listenPort"], `duplicate listen port (also wireguard[${p}])`);
          else ports.set(w.listenPort, i);
        });
      },
    },
    peers: { kind: "array", items: peerNode, default: [], description: "BGP neighbors." },
    prefixLists: {
      kind: "map",
      keyName: "name",
      default: {},
      values: { kind: "array", items: prefixEntryNode, description: "Entries, first match wins." },
      description: "Named prefix lists: name → list of entries. A route no entry matches is denied.",
    },
    policies: {
      kind: "map",
      keyName: "name",
      default: {},
      values: policyNode,
      description: `Named route policies used by peers' import/export. ${BUILTIN_POLICIES.join(" and ")} are built in.`,
    },
    originate: {
      kind: "array",
      default: [],
      description: "Routes podgate announces itself (static announcements).",
      items: {
        kind: "object",
        description: "One originated route.",
        fields: {
          prefix: {
            kind: "string",
            typeName: "prefix",
            required: true,
            parse: prefixText,
            description: "Prefix to announce; host bits must be zero.",
          },
          nextHop: {
            kind: "string",
            typeName: "IP address",
            parse: ipAddress(),
            description: "NEXT_HOP to announce. Default: our session address.",
          },
          communities: { kind: "array", items: communityNode, description: "Communities to attach." },
          med: u32("MULTI_EXIT_DISC to attach."),
          localPref: u32("LOCAL_PREF to attach (iBGP)."),
        },
      },
    },
  },
};
