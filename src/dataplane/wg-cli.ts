/**
 * `podgate wg genkey|pubkey`: WireGuard key helpers for writing the tunnels config, wrapping
 * `wg genkey` / `wg pubkey` (argv arrays, no shell). genkey writes the key with umask 077 in
 * mind: redirect it into a file you then chmod 600 (`podgate wg genkey > wg.key`), or give
 * `--out FILE` to have it created with mode 0600. pubkey reads a private key on stdin or from
 * `--key FILE`. Keys go to stdout only, never to stderr or a log.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { execa } from "execa";
import { isWgKey } from "./tunnels.ts";

export interface WgCliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** Reads all of stdin (injected for tests). */
  readonly stdin?: () => Promise<string>;
}

const USAGE = `usage: podgate wg genkey [--out FILE]     new private key (FILE is created with mode 0600)
       podgate wg pubkey [--key FILE]      public key of a private key (stdin by default)
`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function runWg(args: readonly string[], io: WgCliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === "genkey") {
    const { values } = parseArgs({ args: [...rest], options: { out: { type: "string" } } });
    const r = await execa("wg", ["genkey"], { reject: false, stdin: "ignore" });
    const key = String(r.stdout).trim();
    if (r.exitCode !== 0 || !isWgKey(key)) {
      io.err("podgate wg genkey: wg genkey failed (is wireguard-tools installed?)\n");
      return 1;
    }
    if (values.out) {
      // "wx": never overwrite an existing key by accident.
      writeFileSync(values.out, `${key}\n`, { mode: 0o600, flag: "wx" });
      io.err(`wrote ${values.out} (mode 0600)\n`);
    } else io.out(`${key}\n`);
    return 0;
  }
  if (sub === "pubkey") {
    const { values } = parseArgs({ args: [...rest], options: { key: { type: "string" } } });
    const priv = (values.key ? readFileSync(values.key, "utf8") : await (io.stdin ?? readStdin)()).trim();
    if (!isWgKey(priv)) {
      io.err("podgate wg pubkey: input is not a WireGuard private key\n");
      return 1;
    }
    const r = await execa("wg", ["pubkey"], { reject: false, input: `${priv}\n` });
    const pub = String(r.stdout).trim();
    if (r.exitCode !== 0 || !isWgKey(pub)) {
      io.err("podgate wg pubkey: wg pubkey failed\n");
      return 1;
    }
    io.out(`${pub}\n`);
    return 0;
  }
  (sub === undefined || sub === "--help" || sub === "help" ? io.out : io.err)(USAGE);
  return sub === "--help" || sub === "help" ? 0 : 2;
}
