/** Builders for RIB tests: peers, prefixes and paths with only the fields a test cares about. */
import {
  createPath,
  makeLocalPeer,
  makePeerInfo,
  type Path,
  type PeerInfo,
} from "../../../../src/bgp/rib/path.ts";
import { Afi, AsPathSegmentType, Origin } from "../../../../src/bgp/wire/constants.ts";
import type { PathAttributes, Prefix } from "../../../../src/bgp/wire/types.ts";

export const LOCAL_ASN = 64512;

export function v4(text: string): Prefix {
  const [addr, len] = text.split("/");
  return { afi: Afi.IPV4, addr: addr!, len: Number(len) };
}

export function v6(text: string): Prefix {
  const i = text.lastIndexOf("/");
  return { afi: Afi.IPV6, addr: text.slice(0, i), len: Number(text.slice(i + 1)) };
}

export function peer(
  n: number,
  opts: { asn?: number; routerId?: string; address?: string; ibgp?: boolean } = {},
): PeerInfo {
  const asn = opts.asn ?? LOCAL_ASN;
  return makePeerInfo({
    id: `peer${n}`,
    address: opts.address ?? `192.0.2.${n}`,
    asn,
    routerId: opts.routerId ?? `10.0.0.${n}`,
    ibgp: opts.ibgp ?? asn === LOCAL_ASN,
    role: asn === LOCAL_ASN ? "cluster" : "office",
  });
}

export const LOCAL = makeLocalPeer("10.255.0.1", LOCAL_ASN);

export function seq(...asns: number[]) {
  return { type: AsPathSegmentType.AS_SEQUENCE, asns } as const;
}

export function attrs(a: Partial<PathAttributes> = {}): PathAttributes {
  return Object.freeze({ origin: Origin.IGP, asPath: [], nextHop: "192.0.2.254", ...a });
}

export function path(p: PeerInfo, a: Partial<PathAttributes> = {}, prefix = "10.1.0.0/26", pathId = 0): Path {
  return createPath({ prefix: v4(prefix), peer: p, attrs: attrs(a), pathId });
}

/** "10.1.0.0/26" for anything carrying a prefix (changes, views, paths). */
export function txt(x: { prefix: Prefix }): string {
  return `${x.prefix.addr}/${x.prefix.len}`;
}
