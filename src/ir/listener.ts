import type { Origins } from './origin.js';
import type { VirtualHost } from './route.js';

export type Tls = {
  /** PEM text or a path; paths are read at build time. */
  certFile?: string;
  keyFile?: string;
  cert?: string;
  key?: string;
  /** Protocol versions accepted (Node's names); absent = Node's defaults. */
  minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  maxVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  /** OpenSSL cipher names (TLS 1.2 and below); absent = Node's defaults. */
  ciphers?: string[];
  /** ALPN protocols offered, in preference order; absent = h2, http/1.1. */
  alpnProtocols?: string[];
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
    /**
     * Connection idle timeout (HCM idle_timeout): a connection with no request in flight is closed
     * after this long; 0 = never.
     */
    idleTimeoutMs: number;
    /** HCM request_timeout: the whole request must arrive within this; 0 = none. */
    requestTimeoutMs: number;
    /** HCM request_headers_timeout (HTTP/1.1): the request headers must arrive within this; 0 = none. */
    requestHeadersTimeoutMs: number;
    /** HCM stream_idle_timeout: a request with no activity for this long ends (408 or reset); 0 = none. */
    streamIdleTimeoutMs: number;
    /** Most connections open at once; more are closed as they arrive; 0 = no limit. */
    maxConnections: number;
    /** HTTP/2 initial stream window (SETTINGS_INITIAL_WINDOW_SIZE) advertised to clients. */
    h2InitialStreamWindowSize: number;
    /** HTTP/2 connection-level receive window; 0 = the protocol's 65535. */
    h2InitialConnectionWindowSize: number;
    /** TCP keepalive on accepted connections: idle time before the first probe; absent = off. */
    tcpKeepaliveIdleMs?: number;
    /** HTTP/2 PING keepalive (Envoy connection_keepalive): a PING every interval (+- jitter %), closed if unanswered in timeout. */
    h2Keepalive?: { intervalMs: number; timeoutMs: number; jitterPercent: number };
  };
  /**
   * Requests from these networks are trusted: `x-envoy-*` control headers are honoured instead of
   * stripped. CIDRs; empty = nobody is trusted.
   */
  trustedCidrs: string[];
  /** Keep an incoming x-request-id (Envoy's preserve_external_request_id). */
  preserveExternalRequestId: boolean;
  /** Make an x-request-id when the request has none (Envoy's generate_request_id); absent = true. */
  generateRequestId?: boolean;
  /** Request headers whose names contain `_` (Envoy's headers_with_underscores_action); absent = allow. */
  headersWithUnderscores?: 'allow' | 'reject' | 'drop';
  /** Answered by legate itself with 200 (Envoy's health_check filter, not passed through); absent = none. */
  healthCheckPath?: string;
  accessLog?: AccessLog;
  origin: Origins;
};
