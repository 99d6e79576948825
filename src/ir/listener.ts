import type { Origins } from './origin.js';
import type { VirtualHost } from './route.js';

export type Tls = {
  /** PEM text or a path; paths are read at build time. */
  certFile?: string;
  keyFile?: string;
  cert?: string;
  key?: string;
};

export type AccessLog = {
  format: 'text' | 'json';
  /** `-` = standard output. */
  path: string;
  /** Include the per-attempt trace in text lines too (always in JSON). */
  attemptTrace?: boolean;
};

export type Listener = {
  name: string;
  address: string;
  port: number;
  /**
   * The port the manifest declares, when the listener is bound to another one (`legate run
   * --port-offset`, the conformance replay): Gateway API redirects and route `port` matches use
   * it instead of the bound port. Absent: the bound port.
   */
  declaredPort?: number;
  tls?: Tls;
  /**
   * HTTPS: the host names of the Gateway listeners this socket serves (`*` for one without a
   * hostname). A request whose Host belongs to another of them than the one its SNI belongs to is
   * answered 421 Misdirected Request (Gateway API GatewayHTTPSListenerDetectMisdirectedRequests):
   * one certificate for all of them lets HTTP/2 clients reuse a connection across names.
   */
  tlsHostnames?: string[];
  virtualHosts: VirtualHost[];
  limits: {
    maxRequestHeadersKb: number;
    maxHeadersCount: number;
    maxConcurrentStreams: number;
    /** Downstream keep-alive idle timeout; 0 = Node's default. */
    idleTimeoutMs: number;
  };
  /**
   * Requests from these networks are trusted: `x-envoy-*` control headers are honoured instead of
   * stripped. CIDRs; empty = nobody is trusted.
   */
  trustedCidrs: string[];
  /** Keep an incoming x-request-id (Envoy's preserve_external_request_id). */
  preserveExternalRequestId: boolean;
  accessLog?: AccessLog;
  origin: Origins;
};
