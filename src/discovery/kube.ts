/**
 * Cluster discovery over the Kubernetes API with `@kubernetes/client-node` 1.4.0: one
 * ListWatch informer per resource podgate reads, kept alive by this module.
 *
 * Why the extra machinery around the library's informer:
 * - it STOPS on any error other than 410 (its `error` handlers run, nothing retries), so each
 *   resource is restarted here with exponential backoff and jitter; a restart resumes the
 *   watch from the last resourceVersion, and a 410 makes the library relist;
 * - its watch has no inactivity timeout, so watches ask the server to end them
 *   (`timeoutSeconds`, like client-go) and ask for BOOKMARKs to keep the resourceVersion fresh;
 * - Calico CRDs and ServiceCIDR are optional: 404 means "not installed" (state `not-served`,
 *   its objects count as none, checked again slowly, logged once), not an error to shout about;
 *   ServiceCIDR is read as networking.k8s.io/v1 (Kubernetes >= 1.33) AND v1beta1 (1.31-1.32 with
 *   MultiCIDRServiceAllocator): the same objects under two versions, the model takes one;
 * - while the API server is unreachable the informers' caches are kept as they are: the
 *   cluster did not change because the API blinked, so nothing is withdrawn. `status()` says
 *   whether the connection is healthy and how old the last event is.
 *
 * Subscribers get the derived ClusterState (debounced, deduplicated) only once every resource
 * has listed once (or is known not to be served), so a half-listed cluster never looks empty.
 * The state's warnings (guessed service range, bad entries) are logged once each while they last.
 */
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  ListWatch,
  NetworkingV1Api,
  NetworkingV1beta1Api,
  Watch,
} from "@kubernetes/client-node";
import type { Logger } from "../core/log.ts";
import { warnOnce } from "./merge.ts";
import {
  type ClusterObjects,
  type ClusterState,
  deriveClusterState,
  emptyObjects,
  type KubeObject,
} from "./model.ts";

export type ResourceKey = keyof ClusterObjects;

interface ResourceSpec {
  readonly key: ResourceKey;
  /** Watch path (collection URL). */
  readonly path: string;
  /** 404 means "not installed" rather than an error (CRDs, newer built-in APIs). */
  readonly optional: boolean;
  readonly fieldSelector?: string;
  readonly list: (kc: KubeConfig) => Promise<KubernetesListObject<KubernetesObject>>;
}

const CALICO_GROUP = "crd.projectcalico.org";
const CALICO_VERSION = "v1";

function calico(key: ResourceKey, plural: string): ResourceSpec {
  return {
    key,
    path: `/apis/${CALICO_GROUP}/${CALICO_VERSION}/${plural}`,
    optional: true,
    list: (kc) =>
      kc
        .makeApiClient(CustomObjectsApi)
        .listClusterCustomObject({ group: CALICO_GROUP, version: CALICO_VERSION, plural }),
  };
}

/** What discovery reads, and nothing else (deploy/rbac.yaml grants exactly this). */
export const RESOURCE_SPECS: readonly ResourceSpec[] = [
  {
    key: "nodes",
    path: "/api/v1/nodes",
    optional: false,
    list: (kc) => kc.makeApiClient(CoreV1Api).listNode() as Promise<KubernetesListObject<KubernetesObject>>,
  },
  {
    key: "services",
    path: "/api/v1/namespaces/default/services",
    optional: false,
    fieldSelector: "metadata.name=kubernetes",
    list: (kc) =>
      kc.makeApiClient(CoreV1Api).listNamespacedService({
        namespace: "default",
        fieldSelector: "metadata.name=kubernetes",
      }) as Promise<KubernetesListObject<KubernetesObject>>,
  },
  {
    key: "serviceCIDRs",
    path: "/apis/networking.k8s.io/v1/servicecidrs",
    optional: true,
    list: (kc) =>
      kc.makeApiClient(NetworkingV1Api).listServiceCIDR() as Promise<KubernetesListObject<KubernetesObject>>,
  },
  {
    // Older clusters serve ServiceCIDR only as v1beta1; a cluster serving both has the same
    // objects under both, and deriveClusterState uses v1 whenever it has any (no double count).
    key: "serviceCIDRsV1beta1",
    path: "/apis/networking.k8s.io/v1beta1/servicecidrs",
    optional: true,
    list: (kc) =>
      kc.makeApiClient(NetworkingV1beta1Api).listServiceCIDR() as Promise<
        KubernetesListObject<KubernetesObject>
      >,
  },
  calico("ipPools", "ippools"),
  calico("blockAffinities", "blockaffinities"),
  calico("bgpConfigurations", "bgpconfigurations"),
  calico("bgpPeers", "bgppeers"),
];

/** Kubeconfig from a file, else $KUBECONFIG / ~/.kube/config / in-cluster service account. */
export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else if (process.env["KUBERNETES_SERVICE_HOST"] && !process.env["KUBECONFIG"]) kc.loadFromCluster();
  else kc.loadFromDefault();
  if (!kc.getCurrentCluster()) throw new Error("kubeconfig has no current cluster");
  return kc;
}

/** HTTP status of a client-node error: ApiException.code (typed calls) or statusCode (watch). */
export function httpStatusOf(err: unknown): number | undefined {
  if (err && typeof err === "object") {
    const e = err as { code?: unknown; statusCode?: unknown };
    if (typeof e.code === "number") return e.code;
    if (typeof e.statusCode === "number") return e.statusCode;
  }
  return undefined;
}

/** A short, secret-free description of an error (ApiException messages embed whole bodies). */
export function describeError(err: unknown): string {
  const status = httpStatusOf(err);
  if (status !== undefined) return `HTTP ${status}`;
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === "string" ? `${code}: ${err.message.slice(0, 200)}` : err.message.slice(0, 200);
  }
  return String(err).slice(0, 200);
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/**
 * One-shot list of everything (for `podgate discover`): no watch. Optional resources that
 * answer 404 come back empty and are named in `notServed`; any other failure throws.
 */
export async function listClusterObjects(
  kc: KubeConfig,
  opts: { timeoutMs?: number } = {},
): Promise<{ objects: ClusterObjects; notServed: ResourceKey[] }> {
  const objects = emptyObjects() as { -readonly [K in ResourceKey]: KubeObject[] };
  const notServed: ResourceKey[] = [];
  await Promise.all(
    RESOURCE_SPECS.map(async (spec) => {
      try {
        const list = await withTimeout(spec.list(kc), opts.timeoutMs ?? 15_000, `list ${spec.path}`);
        objects[spec.key] = (list.items ?? []) as KubeObject[];
      } catch (err) {
        if (spec.optional && httpStatusOf(err) === 404) notServed.push(spec.key);
        else throw new Error(`list ${spec.path}: ${describeError(err)}`);
      }
    }),
  );
  notServed.sort();
  return { objects, notServed };
}

// ------------------------------------------------------------------ informers

export type ResourcePhase = "starting" | "synced" | "error" | "not-served" | "stopped";

export interface ResourceStatus {
  readonly resource: ResourceKey;
  readonly phase: ResourcePhase;
  /** Last error text (no secrets), while phase is "error". */
  readonly lastError: string | undefined;
  /** Errors since start. */
  readonly errors: number;
  /** Restarts done after errors. */
  readonly restarts: number;
  readonly objects: number;
}

export interface DiscoveryStatus {
  /** Every resource is listed/watched (or known not served) and no error since. */
  readonly connected: boolean;
  /** Every resource has listed once (or is known not served): the state is complete. */
  readonly synced: boolean;
  /** Epoch ms of the last sign of life from the API (event, bookmark, list, watch opened). */
  readonly lastEventAt: number | undefined;
  readonly lastEventAgeMs: number | undefined;
  readonly resources: readonly ResourceStatus[];
}

export interface ClusterWatcherOptions {
  /** A loaded KubeConfig, or a path (else the default lookup / in-cluster). */
  readonly kubeConfig?: KubeConfig;
  readonly kubeconfigPath?: string;
  readonly log?: Logger;
  /** First restart delay after an error; doubles up to maxBackoffMs (±20% jitter). */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** How often a resource that answered 404 is tried again (a CRD installed later). */
  readonly notServedRetryMs?: number;
  /** Server-side watch timeout (seconds, randomised up to 2x like client-go). */
  readonly watchTimeoutSeconds?: number;
  /**
   * Restart a watch that has been silent this long (no event, no bookmark): a half-open TCP
   * connection would otherwise hang forever (client-node 1.4.0 has no inactivity timeout).
   * Restarting resumes from the last resourceVersion, so it is cheap. 0 disables.
   */
  readonly watchInactivityMs?: number;
  /** Coalesce bursts of events before notifying subscribers. */
  readonly debounceMs?: number;
  /** Only these resources (tests); default all of RESOURCE_SPECS. */
  readonly resources?: readonly ResourceKey[];
}

export type ClusterListener = (state: ClusterState, objects: ClusterObjects) => void;

/** client-node's Watch, asking for BOOKMARKs and a server-side timeout, and reporting raw events. */
class PodgateWatch extends Watch {
  constructor(
    kc: KubeConfig,
    private readonly timeoutSeconds: number,
    private readonly onRaw: (phase: string) => void,
  ) {
    super(kc);
  }

  override watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    const q = {
      ...queryParams,
      allowWatchBookmarks: true,
      timeoutSeconds: Math.round(this.timeoutSeconds * (1 + Math.random())),
    };
    return super.watch(
      path,
      q,
      (phase, obj, w) => {
        this.onRaw(phase);
        callback(phase, obj, w);
      },
      done,
    );
  }
}

class ResourceInformer {
  phase: ResourcePhase = "starting";
  lastError: string | undefined;
  errors = 0;
  restarts = 0;
  everListed = false;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private erroredThisRun = false;
  private stopping = false;
  private loggedNotServed = false;
  private lastLoggedError: string | undefined;
  private lastSeen = Date.now();
  private watchdog: NodeJS.Timeout | undefined;
  /** Set while a silent watch is torn down: the library reports the abort as an error. */
  private recycling = false;
  readonly informer: ListWatch<KubernetesObject>;

  constructor(
    readonly spec: ResourceSpec,
    kc: KubeConfig,
    private readonly owner: ClusterWatcher,
    private readonly opts: Required<
      Pick<
        ClusterWatcherOptions,
        "initialBackoffMs" | "maxBackoffMs" | "notServedRetryMs" | "watchTimeoutSeconds" | "watchInactivityMs"
      >
    >,
    private readonly log: Logger | undefined,
  ) {
    const watch = new PodgateWatch(kc, opts.watchTimeoutSeconds, () => {
      this.lastSeen = Date.now();
      owner.touch();
    });
    // The same object makeInformer() builds, plus a field selector (only the kubernetes Service).
    this.informer = new ListWatch(
      spec.path,
      watch,
      () => spec.list(kc),
      false,
      undefined,
      spec.fieldSelector,
    );
    const changed = () => {
      this.owner.touch();
      this.owner.changed();
    };
    this.informer.on("add", changed);
    this.informer.on("update", changed);
    this.informer.on("delete", changed);
    this.informer.on("error", (err) => this.onError(err));
    this.informer.on("connect", () => {
      this.lastSeen = Date.now();
    });
    if (opts.watchInactivityMs > 0) {
      const every = Math.max(50, Math.min(opts.watchInactivityMs / 4, 30_000));
      this.watchdog = setInterval(() => void this.checkSilence(), every);
      this.watchdog.unref();
    }
  }

  private async checkSilence(): Promise<void> {
    if (this.stopping || this.recycling || this.phase !== "synced") return;
    if (Date.now() - this.lastSeen < this.opts.watchInactivityMs) return;
    this.recycling = true;
    this.log?.info({ resource: this.spec.key }, "discovery: watch silent too long; re-watching");
    try {
      await this.informer.stop();
      // Let the aborted request's error callback run (and be ignored) before starting again.
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      this.recycling = false;
    }
    this.lastSeen = Date.now();
    this.restarts += 1;
    await this.run();
  }

  objects(): KubeObject[] {
    return this.phase === "not-served" ? [] : (this.informer.list() as KubeObject[]);
  }

  async run(): Promise<void> {
    if (this.stopping) return;
    this.timer = undefined;
    this.erroredThisRun = false;
    // start() resolves once the list (when needed) is done and the watch answered, or after
    // an error has been reported through the error handler.
    try {
      await this.informer.start();
    } catch (err) {
      // Only configuration problems throw here (no current cluster); treat like any error.
      this.onError(err);
    }
    if (this.erroredThisRun || this.stopping) return;
    const wasNotServed = this.phase === "not-served";
    this.phase = "synced";
    this.lastSeen = Date.now();
    this.lastError = undefined;
    this.attempt = 0;
    this.everListed = true;
    if (wasNotServed) this.log?.info({ resource: this.spec.key }, "discovery: resource is served now");
    if (this.lastLoggedError !== undefined) {
      this.log?.info({ resource: this.spec.key }, "discovery: watch recovered");
      this.lastLoggedError = undefined;
    }
    this.owner.touch();
    this.owner.changed();
  }

  private onError(err: unknown): void {
    // stop() aborts the request and the library reports that as an error: not one to act on.
    if (this.stopping || this.recycling) return;
    this.erroredThisRun = true;
    const status = httpStatusOf(err);
    if (this.spec.optional && status === 404) {
      const was = this.phase;
      this.phase = "not-served";
      this.lastError = undefined;
      this.everListed = true;
      if (!this.loggedNotServed) {
        this.loggedNotServed = true;
        this.log?.info(
          { resource: this.spec.key, path: this.spec.path },
          "discovery: resource not served (not installed)",
        );
      }
      if (was !== "not-served") this.owner.changed();
      this.schedule(this.opts.notServedRetryMs);
      return;
    }
    this.errors += 1;
    this.phase = "error";
    const text = describeError(err);
    this.lastError = text;
    // Compare without URLs: they carry a random timeoutSeconds and the resourceVersion, which
    // made every retry look new and logged each one during an outage.
    const key = text.replace(/https?:\/\/\S+/g, "<url>");
    if (key !== this.lastLoggedError) {
      this.lastLoggedError = key;
      this.log?.warn(
        { resource: this.spec.key, error: text },
        "discovery: list/watch failed; keeping last known state, retrying",
      );
    }
    const base = Math.min(this.opts.maxBackoffMs, this.opts.initialBackoffMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    this.schedule(base * (0.8 + Math.random() * 0.4));
    this.owner.statusChanged();
  }

  private schedule(ms: number): void {
    if (this.stopping) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.restarts += 1;
      void this.run();
    }, ms);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.phase = "stopped";
    clearTimeout(this.timer);
    clearInterval(this.watchdog);
    await this.informer.stop();
  }

  status(): ResourceStatus {
    return {
      resource: this.spec.key,
      phase: this.phase,
      lastError: this.lastError,
      errors: this.errors,
      restarts: this.restarts,
      objects: this.objects().length,
    };
  }
}

/**
 * Watches the cluster and keeps ClusterObjects / ClusterState current.
 *
 *   const w = new ClusterWatcher({ kubeconfigPath, log });
 *   const off = w.subscribe((state) => reconcile(desiredPeers(state), staticRoutes(state)));
 *   await w.start();              // returns at once; informers run in the background
 *   await w.waitForSync(30_000);  // optional: until every resource listed once
 *   w.status();                   // connected, last event age, per-resource phase
 *   await w.stop();
 */
export class ClusterWatcher {
  private readonly informers: ResourceInformer[];
  private readonly listeners = new Set<ClusterListener>();
  private readonly log: Logger | undefined;
  private readonly debounceMs: number;
  private debounce: NodeJS.Timeout | undefined;
  private lastEmitted: string | undefined;
  private lastEventAtMs: number | undefined;
  private syncWaiters: (() => void)[] = [];
  private started = false;
  private readonly logWarnings: (messages: readonly string[]) => void;

  constructor(opts: ClusterWatcherOptions = {}) {
    const kc = opts.kubeConfig ?? loadKubeConfig(opts.kubeconfigPath);
    this.log = opts.log;
    this.logWarnings = warnOnce((warning) => this.log?.warn({ warning }, "discovery: cluster warning"));
    this.debounceMs = opts.debounceMs ?? 200;
    const timing = {
      initialBackoffMs: opts.initialBackoffMs ?? 500,
      maxBackoffMs: opts.maxBackoffMs ?? 30_000,
      notServedRetryMs: opts.notServedRetryMs ?? 60_000,
      watchTimeoutSeconds: opts.watchTimeoutSeconds ?? 300,
      watchInactivityMs: opts.watchInactivityMs ?? 180_000,
    };
    const wanted = opts.resources ? new Set(opts.resources) : undefined;
    this.informers = RESOURCE_SPECS.filter((s) => !wanted || wanted.has(s.key)).map(
      (s) => new ResourceInformer(s, kc, this, timing, this.log),
    );
  }

  /** Start every informer in the background. Never throws for API errors (see status()). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    for (const i of this.informers) void i.run();
  }

  async stop(): Promise<void> {
    clearTimeout(this.debounce);
    this.debounce = undefined;
    await Promise.all(this.informers.map((i) => i.stop()));
    this.listeners.clear();
  }

  /** Called with the derived state after every effective change (first call after the initial sync). */
  subscribe(listener: ClusterListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once every resource has listed once (or is known not served); rejects on timeout. */
  waitForSync(timeoutMs: number): Promise<void> {
    if (this.isSynced()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.syncWaiters = this.syncWaiters.filter((w) => w !== done);
        const pending = this.informers
          .filter((i) => !i.everListed)
          .map((i) => `${i.spec.key}: ${i.lastError ?? i.phase}`);
        reject(new Error(`cluster discovery not synced after ${timeoutMs} ms (${pending.join(", ")})`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.syncWaiters.push(done);
    });
  }

  /** The informers' current objects (the last known state while the API is unreachable). */
  objects(): ClusterObjects {
    const out = emptyObjects() as { -readonly [K in ResourceKey]: KubeObject[] };
    for (const i of this.informers) out[i.spec.key] = i.objects();
    return out;
  }

  state(): ClusterState {
    return deriveClusterState(this.objects());
  }

  status(now: number = Date.now()): DiscoveryStatus {
    const resources = this.informers.map((i) => i.status());
    return {
      connected: resources.every((r) => r.phase === "synced" || r.phase === "not-served"),
      synced: this.isSynced(),
      lastEventAt: this.lastEventAtMs,
      lastEventAgeMs: this.lastEventAtMs === undefined ? undefined : now - this.lastEventAtMs,
      resources,
    };
  }

  // ---- called by ResourceInformer

  /** @internal any sign of life from the API server */
  touch(): void {
    this.lastEventAtMs = Date.now();
  }

  /** @internal objects or availability changed */
  changed(): void {
    if (!this.isSynced()) return;
    if (this.syncWaiters.length > 0) {
      const waiters = this.syncWaiters;
      this.syncWaiters = [];
      for (const w of waiters) w();
    }
    if (this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      this.emit();
    }, this.debounceMs);
  }

  /** @internal phase changed without object changes (logged, visible in status()) */
  statusChanged(): void {}

  private isSynced(): boolean {
    return this.informers.every((i) => i.everListed);
  }

  private emit(): void {
    const objects = this.objects();
    const state = deriveClusterState(objects);
    const key = JSON.stringify(state);
    if (key === this.lastEmitted) return;
    this.lastEmitted = key;
    this.logWarnings(state.warnings);
    for (const l of this.listeners) {
      try {
        l(state, objects);
      } catch (err) {
        this.log?.error({ error: describeError(err) }, "discovery: subscriber threw");
      }
    }
  }
}
