import type * as ir from '../../../ir/index.js';

/**
 * Endpoints of Services, for translators that turn backend references into clusters. Declared
 * here for the Gateway API translator; the lead moves it to sources/kubernetes/.
 */
export interface EndpointResolver {
  /** Endpoints of a Service port, or undefined when the Service (or that port) does not exist. */
  serviceEndpoints(namespace: string, name: string, port: number): { endpoints: ir.Endpoint[]; appProtocol?: string } | undefined;
}
