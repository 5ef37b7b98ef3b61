/** Public surface of policy: compiled import/export policies, prefix lists, communities, defaults. */
export { formatCommunity, parseCommunity, parseLargeCommunity } from "./community.ts";
export {
  ACCEPT_ALL,
  BUILTIN_POLICIES,
  type CompiledPolicy,
  compilePolicy,
  type PolicyContext,
  type PolicyDirection,
  type PolicyResult,
  REJECT_ALL,
  type RouteView,
  resolvePolicy,
} from "./compile.ts";
export {
  compilePeerPolicies,
  effectivePolicies,
  type PeerPolicies,
  ROLE_POLICY,
  type RoleScope,
  rolePolicies,
} from "./effective.ts";
export { compilePrefixList, type PrefixMatcher } from "./prefix-list.ts";
