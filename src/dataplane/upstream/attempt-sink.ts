import type { Readable } from 'node:stream';
import type { UpstreamResetError } from './reset-reason.js';

/** What one attempt sends upstream. Headers are a plain object with lower-case names. */
export type UpstreamRequest = {
  method: string;
  /** Path and query. */
  path: string;
  authority: string;
  scheme: 'http' | 'https';
  headers: Record<string, string | string[]>;
  /** null when the request has no body. */
  body: Readable | null;
};

/**
 * Events of one upstream exchange, the same for HTTP/1.1 and HTTP/2. Response headers arrive as
 * a flat [name, value, ...] list with lower-case names and hop-by-hop headers removed, which both
 * downstream writers consume without another copy.
 */
export interface AttemptSink {
  /** A connection was attached and the request is being written (Envoy's "pool ready"). */
  onPoolReady(): void;
  onResponseHeaders(status: number, headers: string[], endStream: boolean): void;
  /** Returns false to ask for a pause; the attempt then waits for `resume()`. */
  onResponseData(chunk: Buffer): boolean;
  onResponseEnd(trailers: string[] | null): void;
  /** The exchange failed before or after response headers. */
  onReset(err: UpstreamResetError): void;
}

/** Handle on an attempt in flight. */
export interface AttemptHandle {
  /** Abort the exchange (local reset); no further sink events follow. */
  cancel(): void;
  /** Resume response data after onResponseData returned false. */
  resume(): void;
}
