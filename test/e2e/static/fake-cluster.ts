/**
 * The test side of kube-runner.ts: starts the fake Kubernetes API as a process inside a lab
 * namespace (so podgate in that namespace reaches it on its loopback), writes the kubeconfig
 * into lab.dir, sends apply/delete commands over the runner's stdin and waits for each ack, and
 * stops / restarts the runner on the same port with the same objects.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type KObject, kubeconfigYaml, type ResourceName } from "../../fakes/k8s-api/server.ts";
import { type Host, type LabProcess, waitFor } from "../../lab/netns.ts";
import type { RunnerCommand, RunnerStats } from "./kube-runner.ts";

const RUNNER = fileURLToPath(new URL("./kube-runner.ts", import.meta.url));
const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

export class FakeCluster {
  readonly kubeconfig: string;
  private readonly stateFile: string;
  private readonly seedFile: string;
  private proc: LabProcess | undefined;
  private starts = 0;
  private nextId = 1;

  /** `port` on the loopback of `host`'s namespace; `seed` is applied on the first start only. */
  constructor(
    readonly host: Host,
    readonly port: number,
    seed: ReadonlyArray<{ res: ResourceName; obj: KObject }>,
  ) {
    this.kubeconfig = join(host.lab.dir, "fake-kube.kubeconfig");
    this.stateFile = join(host.lab.dir, "fake-kube.state.json");
    this.seedFile = join(host.lab.dir, "fake-kube.seed.json");
    writeFileSync(this.seedFile, JSON.stringify(seed));
    writeFileSync(this.kubeconfig, kubeconfigYaml(`http://127.0.0.1:${port}`), { mode: 0o600 });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  running(): boolean {
    return this.proc?.running() ?? false;
  }

  /** Starts the runner and waits until it listens (a restart resumes from the state file). */
  async start(): Promise<void> {
    const proc = this.host.spawn(
      [
        "node",
        "--import",
        "tsx",
        RUNNER,
        "--port",
        String(this.port),
        "--state",
        this.stateFile,
        "--seed",
        this.seedFile,
      ],
      { logName: `fake-kube-${this.starts++}.log`, cwd: REPO_ROOT, stdinPipe: true },
    );
    this.proc = proc;
    await waitFor(
      async () => {
        if (!proc.running()) throw new Error(`kube-runner exited (${await proc.exited}):\n${proc.log()}`);
        if (proc.log().includes(`listening ${this.url}`)) return true;
        throw new Error(proc.log().slice(-2000) || "no output yet");
      },
      { timeoutMs: 20_000, intervalMs: 100, what: "fake Kubernetes API listening" },
    );
  }

  /** SIGTERM: the API server is gone (connections refused on its port). */
  async stop(): Promise<void> {
    const proc = this.proc;
    // stopProcess returns at once when it already exited.
    if (proc) await this.host.lab.stopProcess(proc);
  }

  apply(res: ResourceName, obj: KObject): Promise<void> {
    return this.send({ op: "apply", res, obj });
  }

  delete(res: ResourceName, name: string): Promise<void> {
    return this.send({ op: "delete", res, name });
  }

  /** Requests this run of the server has seen (a restart starts from zero). */
  async stats(): Promise<RunnerStats> {
    const proc = this.proc;
    const id = await this.write({ op: "stats" });
    return waitFor(
      () => {
        const m = new RegExp(`^stats ${id} (.*)$`, "m").exec(proc?.log() ?? "");
        return m ? (JSON.parse(m[1] ?? "") as RunnerStats) : undefined;
      },
      { timeoutMs: 5_000, intervalMs: 25, what: `kube-runner stats ${id}` },
    );
  }

  private async write(cmd: Omit<RunnerCommand, "id">): Promise<number> {
    const proc = this.proc;
    if (!proc?.running() || !proc.child.stdin) throw new Error("kube-runner is not running");
    const id = this.nextId++;
    proc.child.stdin.write(`${JSON.stringify({ id, ...cmd })}\n`);
    return id;
  }

  private async send(cmd: Omit<RunnerCommand, "id">): Promise<void> {
    const proc = this.proc;
    const id = await this.write(cmd);
    await waitFor(
      () => {
        const log = proc?.log() ?? "";
        const nack = new RegExp(`^nack ${id} (.*)$`, "m").exec(log);
        if (nack) throw new Error(`kube-runner refused ${cmd.op} ${cmd.res}: ${nack[1]}`);
        return new RegExp(`^ack ${id} `, "m").test(log);
      },
      { timeoutMs: 5_000, intervalMs: 25, what: `kube-runner ack ${id}` },
    );
  }
}
