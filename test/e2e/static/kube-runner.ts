/**
 * A FakeKubeApi in its own process, for the static-mode e2e suite: started with
 * `ip netns exec <gw-ns> node --import tsx kube-runner.ts --port P --state FILE`, it listens on
 * 127.0.0.1:P of that namespace (podgate inside the namespace reaches it, nothing else can),
 * seeds the cluster from `--seed FILE` (first start) or from the state FILE (a restart: same
 * objects, resourceVersions keep counting up, history compacted so watchers relist — what a
 * client sees from an apiserver that came back), and takes commands on stdin, one JSON line each:
 *
 *   {"id":1,"op":"apply","res":"blockaffinities","obj":{...}}   create or replace
 *   {"id":2,"op":"delete","res":"blockaffinities","name":"..."}
 *   {"id":3,"op":"stats"}    → `stats 3 {"expiredWatches":n,"lists":{res: n},"watches":{res: n}}`
 *
 * It answers on stdout with `ack <id> rv=<n>` or `nack <id> <message>`, prints
 * `listening <url>` once ready, and saves the state FILE after every command.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { FakeKubeApi, type KObject, RESOURCES, type ResourceName } from "../../fakes/k8s-api/server.ts";

interface SavedState {
  rv: number;
  objects: Partial<Record<ResourceName, KObject[]>>;
}

export interface RunnerCommand {
  id: number;
  op: "apply" | "delete" | "stats";
  res?: ResourceName;
  obj?: KObject;
  name?: string;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const port = Number(arg("port") ?? "0");
const stateFile = arg("state");
const seedFile = arg("seed");
if (!stateFile) throw new Error("kube-runner: --state FILE is required");

const api = new FakeKubeApi();
// The fake picks a random port on its first start; a restarted runner must come back on the
// same one (podgate's kubeconfig names it). Its fields are private: a test-only reach-in.
const internals = api as unknown as { boundPort: number; rv: number };
internals.boundPort = port;

function save(): void {
  const objects: SavedState["objects"] = {};
  for (const res of Object.keys(RESOURCES) as ResourceName[]) objects[res] = api.list(res);
  const state: SavedState = { rv: api.resourceVersion, objects };
  writeFileSync(stateFile as string, JSON.stringify(state));
}

function strip(o: KObject): KObject {
  const { resourceVersion: _rv, ...metadata } = o.metadata;
  return { ...o, metadata };
}

if (existsSync(stateFile)) {
  // A restart: same objects, a resourceVersion that never goes back, and no history older than
  // now (a watch resuming from before the restart gets 410 and relists).
  const saved = JSON.parse(readFileSync(stateFile, "utf8")) as SavedState;
  internals.rv = saved.rv;
  for (const [res, list] of Object.entries(saved.objects) as [ResourceName, KObject[]][]) {
    for (const o of list) api.apply(res, strip(o));
  }
  api.compact();
} else if (seedFile) {
  const seed = JSON.parse(readFileSync(seedFile, "utf8")) as Array<{ res: ResourceName; obj: KObject }>;
  for (const { res, obj } of seed) api.apply(res, obj);
}
save();

const url = await api.start();
process.stdout.write(`listening ${url}\n`);

const rl = createInterface({ input: process.stdin });
rl.on("line", (line) => {
  if (!line.trim()) return;
  let cmd: RunnerCommand;
  try {
    cmd = JSON.parse(line) as RunnerCommand;
  } catch {
    process.stdout.write(`nack ? bad JSON\n`);
    return;
  }
  try {
    if (cmd.op === "stats") {
      process.stdout.write(`stats ${cmd.id} ${JSON.stringify(stats())}\n`);
      return;
    }
    if (cmd.op === "apply" && cmd.res && cmd.obj) api.apply(cmd.res, cmd.obj);
    else if (cmd.op === "delete" && cmd.res && cmd.name) api.delete(cmd.res, cmd.name);
    else throw new Error(`unknown command ${cmd.op}`);
    save();
    process.stdout.write(`ack ${cmd.id} rv=${api.resourceVersion}\n`);
  } catch (e) {
    process.stdout.write(`nack ${cmd.id} ${(e as Error).message}\n`);
  }
});

/** What this run of the server was asked: lists (successful), watches opened, 410s sent. */
export interface RunnerStats {
  expiredWatches: number;
  lists: Record<string, number>;
  watches: Record<string, number>;
}

function stats(): RunnerStats {
  const lists: Record<string, number> = {};
  const watches: Record<string, number> = {};
  for (const r of api.requests) {
    if (!r.resource || r.status !== 200) continue;
    const into = r.watch ? watches : lists;
    into[r.resource] = (into[r.resource] ?? 0) + 1;
  }
  return { expiredWatches: api.expiredWatches, lists, watches };
}

const shutdown = () => {
  void api.stop().then(() => process.exit(0));
};
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
