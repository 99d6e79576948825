/** The resolver lives with the Kubernetes sources; re-exported for the Gateway API translator. */
export type { EndpointResolver } from '../kubernetes/endpoint-resolver.js';
