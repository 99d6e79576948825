/**
 * The router's public surface, for dataplane/build.ts. Implementation files import each other
 * directly; this file only re-exports.
 */
export {
  compileRouteTable,
  RouteCompileError,
  type AttachRoute,
  type CompiledBackend,
  type CompiledRoute,
  type CompiledVirtualHost,
  type RouteParts,
  type RouteTable,
} from './compile-route-table.js';
export { matchRoute } from './match-route.js';
export type { RouteRequest } from './compile-route-match.js';
export { compileStringMatch } from './compile-route-match.js';
export { compileHostIndex, type HostIndex } from './compile-host-index.js';
export { compileHeaderMutation, type HeaderMutator, type MutableHeaders } from './compile-header-mutation.js';
export { compileWeightedPicker, pickWeightedCluster, type WeightedPicker } from './pick-weighted-cluster.js';
export { compilePathRewrite, matchedPrefixOf, rewritePath, type CompiledPathRewrite, type MatchedPrefix } from './rewrite-path.js';
export { compileRedirect, redirectLocation, defaultPortOf, type CompiledRedirect, type RedirectRequest } from './redirect-location.js';
export { compareRoutePrecedence, sortRoutesByPrecedence } from './route-precedence.js';
export { compileRegex, RegexSyntaxError } from '../../common/regex.js';
