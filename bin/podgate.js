#!/usr/bin/env node
// podgate command-line entry: registers the TypeScript loader, then runs the CLI.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
const code = await main(process.argv.slice(2));
if (process.argv[2] === "run") {
  // The daemon has closed its sessions and API; do not wait for stray handles.
  process.exit(code);
}
process.exitCode = code;
