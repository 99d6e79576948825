/** The normalized model: plain, serializable data. Only `dataplane/build` reads it at run time. */
export type * from './origin.js';
export type * from './route.js';
export type * from './policy.js';
export type * from './cluster.js';
export type * from './listener.js';
export { defaultOrigin } from './origin.js';
export { HTTP_RETRY_ON, GRPC_RETRY_ON } from './policy.js';
export { ENVOY, ENVOY_GATEWAY, ISTIO, LEGATE } from './defaults.js';
export { validate } from './validate.js';
export type { Diagnostic, Severity } from './diagnostic.js';
export { clusterDefaults, fillListenerDefaults, listenerDefaults, outlierDetectionDefaults, retryPolicyDefaults } from './builders.js';

import type { Cluster } from './cluster.js';
import type { Listener } from './listener.js';

export type Config = {
  /** Increments on each applied change; shown in /config_dump. */
  version: string;
  listeners: Listener[];
  clusters: Cluster[];
};
