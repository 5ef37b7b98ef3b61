/**
 * Pinned behaviour of the four address modules (config/ip, discovery/cidr, bgp/rib/prefix-util,
 * bgp/wire/prefix) on tricky address and prefix texts. Each row: input, then what config,
 * discovery, rib and wire make of it (canonical text, a sort key, or ✗ with the error).
 * Rows were first recorded from the code before the shared src/net/ip.ts core existed; rows
 * that differ from that recording are marked "changed:" with the reason.
 */
import { describe, expect, it } from "vitest";
import { observeAddress, observePrefix, type Seen } from "./observe.ts";

type Row = readonly [input: string, config: string, discovery: string, rib: string, wire: string];

const ADDRESSES: readonly Row[] = [
  ["1.2.3.4", "1.2.3.4", "1.2.3.4", "401020304", "1.2.3.4"],
  ["0.0.0.0", "0.0.0.0", "0.0.0.0", "400000000", "0.0.0.0"],
  ["255.255.255.255", "255.255.255.255", "255.255.255.255", "4ffffffff", "255.255.255.255"],
  // changed: rib accepted leading zeros; all modules now reject them (as config, discovery and wire did)
  ["01.2.3.4", "✗", "✗", "✗", "✗"],
  // changed: rib accepted leading zeros; now rejected
  ["1.2.3.04", "✗", "✗", "✗", "✗"],
  ["1.2.3.0", "1.2.3.0", "1.2.3.0", "401020300", "1.2.3.0"],
  ["1.2.3", "✗", "✗", "✗", "✗"],
  ["1.2.3.4.5", "✗", "✗", "✗", "✗"],
  ["256.0.0.1", "✗", "✗", "✗", "✗"],
  ["1.2.3.", "✗", "✗", "✗", "✗"],
  ["1..2.3", "✗", "✗", "✗", "✗"],
  [".1.2.3", "✗", "✗", "✗", "✗"],
  ["1.2.3.4 ", "✗", "✗", "✗", "✗"],
  [" 1.2.3.4", "✗", "✗", "✗", "✗"],
  ["1.2.3.4\n", "✗", "✗", "✗", "✗"],
  ["0x1.2.3.4", "✗", "✗", "✗", "✗"],
  ["1.2.3.-4", "✗", "✗", "✗", "✗"],
  ["+1.2.3.4", "✗", "✗", "✗", "✗"],
  ["1.2.3.1000", "✗", "✗", "✗", "✗"],
  ["", "✗", "✗", "✗", "✗"],
  ["::", "::", "::", "600000000000000000000000000000000", "::"],
  ["::1", "::1", "::1", "600000000000000000000000000000001", "::1"],
  ["1::", "1::", "1::", "600010000000000000000000000000000", "1::"],
  // changed: rib ignored the zone id; zone ids are now rejected everywhere
  ["fe80::1%eth0", "✗", "✗", "✗", "✗"],
  ["fe80::1%", "✗", "✗", "✗", "✗"],
  ["2001:db8::0:1", "2001:db8::1", "2001:db8::1", "620010db8000000000000000000000001", "2001:db8::1"],
  // changed: config and discovery printed ::ffff:a00:1; RFC 5952 §5 mixed notation, as wire did
  [
    "::ffff:10.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:10.0.0.1",
    "600000000000000000000ffff0a000001",
    "::ffff:10.0.0.1",
  ],
  // changed: config and discovery printed ::ffff:a00:1; RFC 5952 §5, as wire did
  [
    "0:0:0:0:0:ffff:a00:1",
    "::ffff:10.0.0.1",
    "::ffff:10.0.0.1",
    "600000000000000000000ffff0a000001",
    "::ffff:10.0.0.1",
  ],
  ["::ffff:010.0.0.1", "✗", "✗", "✗", "✗"],
  // changed: config and discovery printed ::ffff:0:0; RFC 5952 §5, as wire did
  [
    "::ffff:0.0.0.0",
    "::ffff:0.0.0.0",
    "::ffff:0.0.0.0",
    "600000000000000000000ffff00000000",
    "::ffff:0.0.0.0",
  ],
  ["::10.0.0.1", "::a00:1", "::a00:1", "60000000000000000000000000a000001", "::a00:1"],
  [
    "64:ff9b::1.2.3.4",
    "64:ff9b::102:304",
    "64:ff9b::102:304",
    "60064ff9b000000000000000001020304",
    "64:ff9b::102:304",
  ],
  ["2001:0db8:0000::1", "2001:db8::1", "2001:db8::1", "620010db8000000000000000000000001", "2001:db8::1"],
  [
    "2001:DB8::ABCD",
    "2001:db8::abcd",
    "2001:db8::abcd",
    "620010db800000000000000000000abcd",
    "2001:db8::abcd",
  ],
  [
    "2001:db8:0:0:1:0:0:1",
    "2001:db8::1:0:0:1",
    "2001:db8::1:0:0:1",
    "620010db8000000000001000000000001",
    "2001:db8::1:0:0:1",
  ],
  ["1:0:0:2:0:0:0:3", "1:0:0:2::3", "1:0:0:2::3", "600010000000000020000000000000003", "1:0:0:2::3"],
  ["1:0:0:2:0:0:3:4", "1::2:0:0:3:4", "1::2:0:0:3:4", "600010000000000020000000000030004", "1::2:0:0:3:4"],
  [
    "1:0:2:3:4:5:6:7",
    "1:0:2:3:4:5:6:7",
    "1:0:2:3:4:5:6:7",
    "600010000000200030004000500060007",
    "1:0:2:3:4:5:6:7",
  ],
  ["0:0:0:0:0:0:0:0", "::", "::", "600000000000000000000000000000000", "::"],
  [
    "1:2:3:4:5:6:7:8",
    "1:2:3:4:5:6:7:8",
    "1:2:3:4:5:6:7:8",
    "600010002000300040005000600070008",
    "1:2:3:4:5:6:7:8",
  ],
  [
    "1:2:3:4:5:6:7::",
    "1:2:3:4:5:6:7:0",
    "1:2:3:4:5:6:7:0",
    "600010002000300040005000600070000",
    "1:2:3:4:5:6:7:0",
  ],
  [
    "::2:3:4:5:6:7:8",
    "0:2:3:4:5:6:7:8",
    "0:2:3:4:5:6:7:8",
    "600000002000300040005000600070008",
    "0:2:3:4:5:6:7:8",
  ],
  ["1:2:3:4:5:6:7:8:9", "✗", "✗", "✗", "✗"],
  ["1::2:3:4:5:6:7:8", "✗", "✗", "✗", "✗"],
  ["1::2::3", "✗", "✗", "✗", "✗"],
  [":::", "✗", "✗", "✗", "✗"],
  ["1:::2", "✗", "✗", "✗", "✗"],
  [":1::", "✗", "✗", "✗", "✗"],
  ["1:", "✗", "✗", "✗", "✗"],
  ["12345::", "✗", "✗", "✗", "✗"],
  ["00000::1", "✗", "✗", "✗", "✗"],
  ["g::1", "✗", "✗", "✗", "✗"],
  [
    "1:2:3:4:5:6:1.2.3.4",
    "1:2:3:4:5:6:102:304",
    "1:2:3:4:5:6:102:304",
    "600010002000300040005000601020304",
    "1:2:3:4:5:6:102:304",
  ],
  ["1:2:3:4:5:6:7:1.2.3.4", "✗", "✗", "✗", "✗"],
  [
    "1::5:6:7:1.2.3.4",
    "1::5:6:7:102:304",
    "1::5:6:7:102:304",
    "600010000000000050006000701020304",
    "1::5:6:7:102:304",
  ],
  ["::1.2.3", "✗", "✗", "✗", "✗"],
  ["1.2.3.4::", "✗", "✗", "✗", "✗"],
  ["::1.2.3.4:5", "✗", "✗", "✗", "✗"],
  [" ::1", "✗", "✗", "✗", "✗"],
  ["::1 ", "✗", "✗", "✗", "✗"],
  ["[::1]", "✗", "✗", "✗", "✗"],
];

const PREFIXES: readonly Row[] = [
  ["10.0.0.0/24", "10.0.0.0/24", "10.0.0.0/24", "1 0a000000/24", "10.0.0.0/24"],
  [
    "10.0.0.1/24",
    "✗ host bits are set; did you mean 10.0.0.0/24?",
    "10.0.0.0/24",
    "1 0a000001/24",
    '✗ RangeError: host bits set in "10.0.0.1/24"',
  ],
  [
    "10.244.1.0/16",
    "✗ host bits are set; did you mean 10.244.0.0/16?",
    "10.244.0.0/16",
    "1 0af40100/16",
    '✗ RangeError: host bits set in "10.244.1.0/16"',
  ],
  ["10.0.0.0/32", "10.0.0.0/32", "10.0.0.0/32", "1 0a000000/32", "10.0.0.0/32"],
  ["0.0.0.0/0", "0.0.0.0/0", "0.0.0.0/0", "1 00000000/0", "0.0.0.0/0"],
  [
    "10.0.0.0/0",
    "✗ host bits are set; did you mean 0.0.0.0/0?",
    "0.0.0.0/0",
    "1 0a000000/0",
    '✗ RangeError: host bits set in "10.0.0.0/0"',
  ],
  [
    "10.0.0.0/33",
    "✗ prefix length must be an integer 0..32",
    "✗",
    "✗",
    '✗ TypeError: IPv4 prefix length 33 > 32 in "10.0.0.0/33"',
  ],
  [
    "10.0.0.0/-1",
    "✗ prefix length must be an integer 0..32",
    "✗",
    "✗",
    '✗ TypeError: invalid prefix length in "10.0.0.0/-1"',
  ],
  // changed: config, discovery and rib accepted a leading zero in the length; wire's rule now applies to all
  [
    "10.0.0.0/08",
    "✗ prefix length must be an integer 0..32",
    "✗",
    "✗",
    '✗ TypeError: invalid prefix length in "10.0.0.0/08"',
  ],
  // changed: leading zero in the length: rejected everywhere (was accepted by config, discovery, rib)
  [
    "10.0.0.0/008",
    "✗ prefix length must be an integer 0..32",
    "✗",
    "✗",
    '✗ TypeError: invalid prefix length in "10.0.0.0/008"',
  ],
  // changed: rib read the length with Number(); now the shared strict decimal rule
  [
    "10.0.0.0/0008",
    "✗ prefix length must be an integer 0..32",
    "✗",
    "✗",
    '✗ TypeError: invalid prefix length in "10.0.0.0/0008"',
  ],
  // changed: rib read the length with Number() (whitespace ignored); now rejected
  [
    "10.0.0.0/8 ",
    "✗ prefix length must be an integer 0..32",
    "✗",
    "✗",
    '✗ TypeError: invalid prefix length in "10.0.0.0/8 "',
  ],
  // changed: rib read the length with Number() (whitespace ignored); now rejected
  [
    "10.0.0.0/ 8",
    "✗ prefix length must be an integer 0..32",
    "✗",
    "✗",
    '✗ TypeError: invalid prefix length in "10.0.0.0/ 8"',
  ],
  // changed: rib read an empty length as /0; now rejected
  [
    "10.0.0.0/",
    "✗ prefix length must be an integer 0..32",
    "✗",
    "✗",
    '✗ TypeError: invalid prefix length in "10.0.0.0/"',
  ],
  [
    "10.0.0.0",
    '✗ must be a prefix "address/length" (no "/length" found)',
    "10.0.0.0/32",
    "1 0a000000/32",
    "10.0.0.0/32",
  ],
  [
    "10.0.0.1",
    '✗ must be a prefix "address/length" (no "/length" found)',
    "10.0.0.1/32",
    "1 0a000001/32",
    "10.0.0.1/32",
  ],
  [
    "10.0.0.0/8/8",
    "✗ prefix length must be an integer 0..32",
    "✗",
    "✗",
    '✗ TypeError: invalid prefix length in "10.0.0.0/8/8"',
  ],
  // changed: rib read the length with Number(); now rejected
  [
    "10.0.0.0/+8",
    "✗ prefix length must be an integer 0..32",
    "✗",
    "✗",
    '✗ TypeError: invalid prefix length in "10.0.0.0/+8"',
  ],
  // changed: rib read the length with Number() (hex); now rejected
  [
    "10.0.0.0/0x8",
    "✗ prefix length must be an integer 0..32",
    "✗",
    "✗",
    '✗ TypeError: invalid prefix length in "10.0.0.0/0x8"',
  ],
  // changed: rib read the length with Number() (exponent: /10); now rejected
  [
    "10.0.0.0/1e1",
    "✗ prefix length must be an integer 0..32",
    "✗",
    "✗",
    '✗ TypeError: invalid prefix length in "10.0.0.0/1e1"',
  ],
  // changed: rib read the length with Number(); now rejected
  [
    "10.0.0.0/8.0",
    "✗ prefix length must be an integer 0..32",
    "✗",
    "✗",
    '✗ TypeError: invalid prefix length in "10.0.0.0/8.0"',
  ],
  // changed: rib accepted leading zeros in the address; now rejected
  [
    "01.0.0.0/8",
    '✗ must be a prefix "address/length" (the address part is not an IP address)',
    "✗",
    "✗",
    '✗ TypeError: invalid IP prefix "01.0.0.0/8"',
  ],
  [
    "/8",
    '✗ must be a prefix "address/length" (the address part is not an IP address)',
    "✗",
    "✗",
    '✗ TypeError: invalid IP prefix "/8"',
  ],
  [
    "x/8",
    '✗ must be a prefix "address/length" (the address part is not an IP address)',
    "✗",
    "✗",
    '✗ TypeError: invalid IP prefix "x/8"',
  ],
  [
    "2001:db8::/32",
    "2001:db8::/32",
    "2001:db8::/32",
    "2 20010db8.00000000.00000000.00000000/32",
    "2001:db8::/32",
  ],
  [
    "2001:DB8:0000::/32",
    "2001:db8::/32",
    "2001:db8::/32",
    "2 20010db8.00000000.00000000.00000000/32",
    "2001:db8::/32",
  ],
  [
    "2001:db8::1/32",
    "✗ host bits are set; did you mean 2001:db8::/32?",
    "2001:db8::/32",
    "2 20010db8.00000000.00000000.00000001/32",
    '✗ RangeError: host bits set in "2001:db8::1/32"',
  ],
  [
    "2001:db8::/129",
    "✗ prefix length must be an integer 0..128",
    "✗",
    "✗",
    '✗ TypeError: IPv6 prefix length 129 > 128 in "2001:db8::/129"',
  ],
  [
    "2001:db8::/128",
    "2001:db8::/128",
    "2001:db8::/128",
    "2 20010db8.00000000.00000000.00000000/128",
    "2001:db8::/128",
  ],
  ["::/0", "::/0", "::/0", "2 00000000.00000000.00000000.00000000/0", "::/0"],
  [
    "::",
    '✗ must be a prefix "address/length" (no "/length" found)',
    "::/128",
    "2 00000000.00000000.00000000.00000000/128",
    "::/128",
  ],
  ["::1/128", "::1/128", "::1/128", "2 00000000.00000000.00000000.00000001/128", "::1/128"],
  // changed: rib ignored the zone id; now rejected
  [
    "fe80::%eth0/64",
    '✗ must be a prefix "address/length" (the address part is not an IP address)',
    "✗",
    "✗",
    '✗ TypeError: invalid IP prefix "fe80::%eth0/64"',
  ],
  [
    "fe80::/10%eth0",
    "✗ prefix length must be an integer 0..128",
    "✗",
    "✗",
    '✗ TypeError: invalid prefix length in "fe80::/10%eth0"',
  ],
  // changed: config and discovery print IPv4-mapped addresses per RFC 5952 §5 now
  [
    "::ffff:10.0.0.0/104",
    "::ffff:10.0.0.0/104",
    "::ffff:10.0.0.0/104",
    "2 00000000.00000000.0000ffff.0a000000/104",
    "::ffff:10.0.0.0/104",
  ],
  // changed: config and discovery print IPv4-mapped addresses per RFC 5952 §5 now
  [
    "::ffff:10.0.0.1/104",
    "✗ host bits are set; did you mean ::ffff:10.0.0.0/104?",
    "::ffff:10.0.0.0/104",
    "2 00000000.00000000.0000ffff.0a000001/104",
    '✗ RangeError: host bits set in "::ffff:10.0.0.1/104"',
  ],
  // changed: leading zero in the length: rejected everywhere (was accepted by config, discovery, rib)
  [
    "2001:db8::/033",
    "✗ prefix length must be an integer 0..128",
    "✗",
    "✗",
    '✗ TypeError: invalid prefix length in "2001:db8::/033"',
  ],
];

const expected = (r: Row): Seen => ({ config: r[1], discovery: r[2], rib: r[3], wire: r[4] });

describe("address texts, per module", () => {
  it.each(ADDRESSES.map((r) => [JSON.stringify(r[0]), r] as const))("%s", (_, row) => {
    expect(observeAddress(row[0])).toEqual(expected(row));
  });
});

describe("prefix texts, per module", () => {
  it.each(PREFIXES.map((r) => [JSON.stringify(r[0]), r] as const))("%s", (_, row) => {
    expect(observePrefix(row[0])).toEqual(expected(row));
  });
});
