/**
 * Prerequisite checks for tests that need root, a Debian package or a kernel feature.
 * On a developer's machine a missing prerequisite skips the suite with a clear reason;
 * under CI=true it is a failure, so a broken install step cannot hide a suite.
 */
import { execFileSync } from "node:child_process";

export interface Prereqs {
  root?: boolean;
  /** Executables that must be on PATH (or absolute paths). */
  commands?: readonly string[];
  /** Extra checks: return a reason string when unmet. */
  checks?: readonly (() => string | undefined)[];
}

function hasCommand(cmd: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${JSON.stringify(cmd)}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Returns why the suite cannot run here, or undefined when it can. Throws under CI=true. */
export function missingPrereqs(p: Prereqs): string | undefined {
  const reasons: string[] = [];
  if (p.root && process.getuid?.() !== 0) reasons.push("needs root (network namespaces)");
  for (const c of p.commands ?? []) {
    if (!hasCommand(c)) reasons.push(`needs '${c}' (run scripts/install-deps.sh)`);
  }
  for (const check of p.checks ?? []) {
    const r = check();
    if (r) reasons.push(r);
  }
  if (reasons.length === 0) return undefined;
  const reason = reasons.join("; ");
  if (process.env["CI"] === "true") {
    throw new Error(`CI=true and a prerequisite is missing: ${reason}`);
  }
  console.warn(`skipping: ${reason}`);
  return reason;
}

/**
 * Why a kernel link type is unusable here ("kernel has no ipip module"), or undefined: probed
 * for real with `ip link add` in a throwaway namespace. Deliberately not part of
 * missingPrereqs: a kernel module is a property of the machine's kernel that no install step
 * can add, so such suites skip with this reason even under CI=true. Needs root; without it
 * the answer is undefined (the root prerequisite reports that case).
 */
export function kernelLacksLinkType(kind: string, extraArgs: readonly string[] = []): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const ns = `pgprobe${process.pid}${kind}`.slice(0, 30);
  try {
    execFileSync("ip", ["netns", "add", ns], { stdio: "ignore" });
    execFileSync("ip", ["netns", "exec", ns, "ip", "link", "add", "probe0", "type", kind, ...extraArgs], {
      stdio: "ignore",
    });
    return undefined;
  } catch {
    return `kernel has no ${kind} module`;
  } finally {
    try {
      execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
    } catch {}
  }
}
