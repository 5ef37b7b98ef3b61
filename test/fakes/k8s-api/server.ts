/**
 * A small fake Kubernetes API server over real HTTP (node:http, plain http on 127.0.0.1, random
 * port) for discovery tests. It serves list and `?watch=true` for the resources podgate reads
 * (core/v1 nodes and services, networking.k8s.io/v1 and v1beta1 servicecidrs, the cluster-scoped
 * Calico v1 CRDs), with the behaviour of a real apiserver that matters to an informer:
 *
 * - one global resourceVersion counter (like etcd's revision); lists report it, every object
 *   carries the revision of its last write;
 * - watches replay history after the requested resourceVersion, then stream live events as
 *   JSON lines (ADDED / MODIFIED / DELETED, BOOKMARK when `allowWatchBookmarks=true`);
 * - a watch from a compacted resourceVersion gets an ERROR event with a 410 Status, then the
 *   stream ends (what kube-apiserver does), `timeoutSeconds` ends a watch server-side;
 * - a CRD that is not installed answers 404 (`setServed`); so does an API version the cluster
 *   does not serve (`servicecidrsV1beta1` off on a 1.33 cluster, `servicecidrs` off before 1.33).
 *   The two ServiceCIDR versions are separate stores here: a real apiserver serving both shows
 *   the same objects under each, which a test does by applying to both.
 *
 * Fault injection: `failNext` (HTTP errors such as 500), `delayMs` (slow responses),
 * `closeWatches` (server-side close), `compact` (force 410), `goAway`/`comeBack` (the whole
 * server disappears and returns on the same port).
 */
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";

export interface FakeResource {
  /** URL path of the collection, e.g. "/api/v1/nodes". */
  readonly path: string;
  readonly apiVersion: string;
  readonly kind: string;
  /** Namespace for namespaced resources (only one namespace is served per resource). */
  readonly namespace?: string;
}

export const RESOURCES = {
  nodes: { path: "/api/v1/nodes", apiVersion: "v1", kind: "Node" },
  services: {
    path: "/api/v1/namespaces/default/services",
    apiVersion: "v1",
    kind: "Service",
    namespace: "default",
  },
  servicecidrs: {
    path: "/apis/networking.k8s.io/v1/servicecidrs",
    apiVersion: "networking.k8s.io/v1",
    kind: "ServiceCIDR",
  },
  servicecidrsV1beta1: {
    path: "/apis/networking.k8s.io/v1beta1/servicecidrs",
    apiVersion: "networking.k8s.io/v1beta1",
    kind: "ServiceCIDR",
  },
  ippools: {
    path: "/apis/crd.projectcalico.org/v1/ippools",
    apiVersion: "crd.projectcalico.org/v1",
    kind: "IPPool",
  },
  blockaffinities: {
    path: "/apis/crd.projectcalico.org/v1/blockaffinities",
    apiVersion: "crd.projectcalico.org/v1",
    kind: "BlockAffinity",
  },
  bgpconfigurations: {
    path: "/apis/crd.projectcalico.org/v1/bgpconfigurations",
    apiVersion: "crd.projectcalico.org/v1",
    kind: "BGPConfiguration",
  },
  bgppeers: {
    path: "/apis/crd.projectcalico.org/v1/bgppeers",
    apiVersion: "crd.projectcalico.org/v1",
    kind: "BGPPeer",
  },
} as const satisfies Record<string, FakeResource>;

export type ResourceName = keyof typeof RESOURCES;

/** A Kubernetes object as free-form JSON (tests poke at arbitrary fields). */
export type KObject = {
  // biome-ignore lint/suspicious/noExplicitAny: free-form JSON
  metadata: { name: string; namespace?: string; resourceVersion?: string; [k: string]: any };
  // biome-ignore lint/suspicious/noExplicitAny: free-form JSON
  [k: string]: any;
};

type EventType = "ADDED" | "MODIFIED" | "DELETED";

interface HistoryEntry {
  readonly rv: number;
  readonly type: EventType;
  readonly object: KObject;
}

interface Watcher {
  readonly res: ResourceName;
  readonly response: ServerResponse;
  readonly fieldName: string | undefined;
  readonly bookmarks: boolean;
  timer?: NodeJS.Timeout;
  /** A half-open connection: the stream stays open but nothing more is written. */
  frozen?: boolean;
}

export interface RequestRecord {
  readonly resource: ResourceName | undefined;
  readonly watch: boolean;
  readonly url: string;
  readonly status: number;
}

interface Failure {
  readonly status: number;
  remaining: number;
  readonly watchOnly: boolean;
}

export class FakeKubeApi {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly objects = new Map<ResourceName, Map<string, KObject>>();
  private readonly history = new Map<ResourceName, HistoryEntry[]>();
  /** Watches asking for a resourceVersion below this get 410 Gone. */
  private readonly compactedAt = new Map<ResourceName, number>();
  private readonly watchers = new Set<Watcher>();
  private readonly notServed = new Set<ResourceName>();
  private readonly failures = new Map<ResourceName | "*", Failure>();
  private rv = 100;
  private boundPort = 0;
  /** Every request, in order (tests count lists to prove relists). */
  readonly requests: RequestRecord[] = [];
  /** Watches answered with an ERROR 410 event (expired resourceVersion). */
  expiredWatches = 0;
  /** Delay before answering any request (slow apiserver). */
  delayMs = 0;

  constructor() {
    for (const name of Object.keys(RESOURCES) as ResourceName[]) {
      this.objects.set(name, new Map());
      this.history.set(name, []);
      this.compactedAt.set(name, 0);
    }
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    return `http://127.0.0.1:${this.boundPort}`;
  }

  get resourceVersion(): number {
    return this.rv;
  }

  /** Listen on 127.0.0.1 (a random port the first time, the same port after goAway()). */
  async start(): Promise<string> {
    const server = createServer((req, res) => {
      void this.handle(req, res);
    });
    server.on("connection", (s) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    server.listen(this.boundPort, "127.0.0.1");
    await once(server, "listening");
    const addr = server.address();
    if (addr && typeof addr === "object") this.boundPort = addr.port;
    this.server = server;
    return this.url;
  }

  /** Stop listening and cut every connection: the apiserver is gone (connections refused). */
  async goAway(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const w of this.watchers) clearInterval(w.timer);
    this.watchers.clear();
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Listen again on the same port. */
  async comeBack(): Promise<void> {
    await this.start();
  }

  async stop(): Promise<void> {
    await this.goAway();
  }

  // ---------------------------------------------------------------- objects and events

  /** Create or replace an object (ADDED or MODIFIED event). Returns the stored copy. */
  apply(res: ResourceName, obj: KObject): KObject {
    const store = this.objects.get(res)!;
    const name = obj.metadata.name;
    const existed = store.has(name);
    this.rv += 1;
    const stored: KObject = structuredClone(obj);
    stored["apiVersion"] = RESOURCES[res].apiVersion;
    stored["kind"] = RESOURCES[res].kind;
    stored.metadata = {
      uid: `uid-${res}-${name}`,
      creationTimestamp: "2025-01-01T00:00:00Z",
      ...stored.metadata,
      resourceVersion: String(this.rv),
    };
    const ns = (RESOURCES[res] as FakeResource).namespace;
    if (ns) stored.metadata.namespace = ns;
    store.set(name, stored);
    this.record(res, existed ? "MODIFIED" : "ADDED", stored);
    return stored;
  }

  /** Apply a change to an existing object (MODIFIED). */
  update(res: ResourceName, name: string, change: (o: KObject) => void): KObject {
    const cur = this.objects.get(res)!.get(name);
    if (!cur) throw new Error(`fake k8s: no ${res}/${name}`);
    const next = structuredClone(cur);
    change(next);
    return this.apply(res, next);
  }

  delete(res: ResourceName, name: string): void {
    const store = this.objects.get(res)!;
    const cur = store.get(name);
    if (!cur) throw new Error(`fake k8s: no ${res}/${name}`);
    store.delete(name);
    this.rv += 1;
    // A DELETED event carries the object at its deletion revision.
    const gone = { ...structuredClone(cur), metadata: { ...cur.metadata, resourceVersion: String(this.rv) } };
    this.record(res, "DELETED", gone);
  }

  get(res: ResourceName, name: string): KObject | undefined {
    const o = this.objects.get(res)!.get(name);
    return o ? structuredClone(o) : undefined;
  }

  list(res: ResourceName): KObject[] {
    return [...this.objects.get(res)!.values()].map((o) => structuredClone(o));
  }

  /** Forget history up to now: watches from any older resourceVersion get 410 Gone. */
  compact(res?: ResourceName): void {
    for (const name of res ? [res] : (Object.keys(RESOURCES) as ResourceName[])) {
      this.history.set(name, []);
      this.compactedAt.set(name, this.rv);
    }
  }

  /** Answer 404 for a resource, as for a CRD that is not installed (or serve it again). */
  setServed(res: ResourceName, served: boolean): void {
    if (served) this.notServed.delete(res);
    else this.notServed.add(res);
  }

  /** The next `count` requests (for `res`, or any resource with "*") fail with `status`. */
  failNext(res: ResourceName | "*", status: number, count = 1, opts: { watchOnly?: boolean } = {}): void {
    this.failures.set(res, { status, remaining: count, watchOnly: opts.watchOnly ?? false });
  }

  /** End open watch streams cleanly (server-side close, like a watch timeout). */
  closeWatches(res?: ResourceName): void {
    for (const w of [...this.watchers]) {
      if (res && w.res !== res) continue;
      this.endWatch(w);
    }
  }

  /** Open watches go silent but stay connected (a dead peer behind a NAT or firewall). */
  freezeWatches(res?: ResourceName): void {
    for (const w of this.watchers) if (!res || w.res === res) w.frozen = true;
  }

  /** Send a BOOKMARK now on every watch that asked for bookmarks. */
  sendBookmarks(res?: ResourceName): void {
    for (const w of this.watchers) {
      if (res && w.res !== res) continue;
      if (w.bookmarks && !w.frozen) this.writeBookmark(w);
    }
  }

  /** Number of open, live watch streams (for a resource). */
  openWatches(res?: ResourceName): number {
    let n = 0;
    for (const w of this.watchers) if ((!res || w.res === res) && !w.frozen) n++;
    return n;
  }

  listCount(res: ResourceName): number {
    return this.requests.filter((r) => r.resource === res && !r.watch && r.status === 200).length;
  }

  // ---------------------------------------------------------------- HTTP

  private record(res: ResourceName, type: EventType, object: KObject): void {
    this.history.get(res)!.push({ rv: this.rv, type, object });
    for (const w of this.watchers) {
      if (w.res !== res || w.frozen) continue;
      if (w.fieldName !== undefined && object.metadata.name !== w.fieldName) continue;
      this.writeEvent(w.response, { type, object });
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fake");
    const resource = (Object.keys(RESOURCES) as ResourceName[]).find(
      (r) => RESOURCES[r].path === url.pathname,
    );
    const watch = url.searchParams.get("watch") === "true" || url.searchParams.get("watch") === "1";
    const finish = (status: number, body: unknown) => {
      this.requests.push({ resource, watch, url: req.url ?? "", status });
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (res.destroyed) return;
    if (req.method !== "GET") return finish(405, status(405, "MethodNotAllowed", "read-only fake"));
    if (!resource) return finish(404, status(404, "NotFound", `the server could not find ${url.pathname}`));
    if (this.notServed.has(resource)) {
      return finish(404, status(404, "NotFound", "the server could not find the requested resource"));
    }
    const failure = this.failures.get(resource) ?? this.failures.get("*");
    if (failure && failure.remaining > 0 && (!failure.watchOnly || watch)) {
      failure.remaining -= 1;
      return finish(failure.status, status(failure.status, "InternalError", "injected failure"));
    }
    const fieldName = parseNameSelector(url.searchParams.get("fieldSelector"));
    if (!watch) {
      const items = this.list(resource).filter(
        (o) => fieldName === undefined || o.metadata.name === fieldName,
      );
      const def = RESOURCES[resource];
      return finish(200, {
        apiVersion: def.apiVersion,
        kind: `${def.kind}List`,
        metadata: { resourceVersion: String(this.rv) },
        items,
      });
    }
    this.requests.push({ resource, watch, url: req.url ?? "", status: 200 });
    this.startWatch(resource, url, fieldName, res);
  }

  private startWatch(
    resource: ResourceName,
    url: URL,
    fieldName: string | undefined,
    res: ServerResponse,
  ): void {
    res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
    res.flushHeaders();
    const w: Watcher = {
      res: resource,
      response: res,
      fieldName,
      bookmarks: url.searchParams.get("allowWatchBookmarks") === "true",
    };
    const rvText = url.searchParams.get("resourceVersion") ?? "";
    const from = rvText === "" || rvText === "0" ? undefined : Number(rvText);
    if (from !== undefined && from < this.compactedAt.get(resource)!) {
      // kube-apiserver answers 200, sends one ERROR event with a 410 Status, and ends the stream.
      this.expiredWatches += 1;
      this.writeEvent(res, {
        type: "ERROR",
        object: status(
          410,
          "Expired",
          `too old resource version: ${from} (${this.compactedAt.get(resource)})`,
        ),
      });
      res.end();
      return;
    }
    if (from === undefined) {
      // No resourceVersion: synthetic ADDED for everything that exists (like a fresh watch).
      for (const o of this.list(resource)) {
        if (fieldName === undefined || o.metadata.name === fieldName)
          this.writeEvent(res, { type: "ADDED", object: o });
      }
    } else {
      for (const e of this.history.get(resource)!) {
        if (e.rv <= from) continue;
        if (fieldName !== undefined && e.object.metadata.name !== fieldName) continue;
        this.writeEvent(res, { type: e.type, object: e.object });
      }
    }
    this.watchers.add(w);
    const timeout = Number(url.searchParams.get("timeoutSeconds") ?? "0");
    if (timeout > 0) {
      w.timer = setTimeout(() => this.endWatch(w), timeout * 1000);
      w.timer.unref();
    }
    res.on("close", () => {
      clearTimeout(w.timer);
      this.watchers.delete(w);
    });
  }

  private endWatch(w: Watcher): void {
    clearTimeout(w.timer);
    this.watchers.delete(w);
    w.response.end();
  }

  private writeBookmark(w: Watcher): void {
    const def = RESOURCES[w.res];
    this.writeEvent(w.response, {
      type: "BOOKMARK",
      object: { apiVersion: def.apiVersion, kind: def.kind, metadata: { resourceVersion: String(this.rv) } },
    });
  }

  private writeEvent(res: ServerResponse, ev: { type: string; object: unknown }): void {
    if (!res.writableEnded && !res.destroyed) res.write(`${JSON.stringify(ev)}\n`);
  }
}

function status(code: number, reason: string, message: string) {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code };
}

/** Only `metadata.name=X` field selectors are understood (what podgate sends for the kubernetes Service). */
function parseNameSelector(sel: string | null): string | undefined {
  if (!sel) return undefined;
  const m = /^metadata\.name=(.+)$/.exec(sel);
  return m ? m[1] : undefined;
}

/** A kubeconfig (YAML text) pointing at the fake server. Plain http needs insecure-skip-tls-verify in client-node 1.4.0. */
export function kubeconfigYaml(url: string): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "  - name: fake",
    "    cluster:",
    `      server: ${url}`,
    "      insecure-skip-tls-verify: true",
    "users:",
    "  - name: fake",
    "    user:",
    "      token: fake-token",
    "contexts:",
    "  - name: fake",
    "    context:",
    "      cluster: fake",
    "      user: fake",
    "current-context: fake",
    "",
  ].join("\n");
}
