/** Public surface of the RIB: paths, decision process, Adj-RIB-In, Loc-RIB, Adj-RIB-Out, max-prefix. */
export { AdjRibIn, type AdjRibInOptions, type UpdateLike } from "./adj-rib-in.ts";
export { AdjRibOut, type AdjRibOutOptions, type OutBatch } from "./adj-rib-out.ts";
export {
  type AttrsPatch,
  asPathLength,
  attrsContentKey,
  isNoAdvertise,
  isNoExport,
  neighbourAs,
  patchAttrs,
  prependAsPath,
} from "./attrs.ts";
export {
  type BestPathReason,
  type BestPathResult,
  bestPath,
  compare,
  DEFAULT_LOCAL_PREF,
  type DecisionOptions,
  ecmpEqual,
} from "./decision.ts";
export { LocRib, type LocRibEntryView, type RibChange } from "./loc-rib.ts";
export { checkMaxPrefix, MAX_PREFIX_WARN_RATIO } from "./max-prefix.ts";
export { createPath, makeLocalPeer, makePeerInfo, Path, type PeerInfo, ribAttrs, samePath } from "./path.ts";
export { prefixKey, type RouteKey } from "./prefix-util.ts";
