/**
 * The one interface between podgate and the privileged route installer. KernelSync and the
 * reconcile diff only ever see this; the Linux implementation lives in linux/netlink-backend.ts
 * and tests use an in-memory one. Batched: apply() takes many operations and returns one result
 * per operation (same order) — a single bad route never fails the batch.
 */
import type { KernelRoute } from "./types.ts";

export type RouteOp =
  | { readonly op: "replace"; readonly route: KernelRoute }
  | { readonly op: "delete"; readonly route: KernelRoute };

export interface RouteOpResult {
  readonly ok: boolean;
  /** errno name when !ok ("ENETUNREACH", "ESRCH", "ETIMEDOUT" …). */
  readonly code?: string;
  readonly errno?: number;
  readonly message?: string;
}

export interface RouteFilter {
  readonly table: number;
  /** Only routes with this rtm_protocol; all protocols when absent (used to see conflicts). */
  readonly protocol?: number;
  readonly family?: 4 | 6;
}

export interface RouteBackend {
  /** Routes currently in the kernel matching the filter (IPv4 and IPv6 unless family is set). */
  list(filter: RouteFilter): Promise<KernelRoute[]>;
  /** Applies the operations (in order per prefix) and reports each one. Never rejects for a bad route. */
  apply(ops: readonly RouteOp[]): Promise<RouteOpResult[]>;
  close(): void;
}
