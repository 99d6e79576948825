import grpc from '@grpc/grpc-js';
import { UsageError, type HeaderPair } from './headers.js';

/** TLS settings shared by every client: off (plaintext / h2c) unless `tls` is set. */
export type TlsOptions = {
  /** Skip certificate verification (a test certificate, a proxy with a self-signed one). */
  insecure?: boolean;
  /** PEM of the certificate authorities to trust instead of the system's. */
  ca?: string | Buffer;
  /** The name to verify and send as SNI, when it differs from the address. */
  servername?: string;
};

export type GrpcTarget = {
  /** host:port, [v6]:port, or any grpc-js target (dns:///, unix:). */
  address: string;
  /** The :authority to send (routes match on it), e.g. grpc-example.com. */
  authority?: string;
  /** TLS when set; plaintext HTTP/2 otherwise. */
  tls?: TlsOptions;
};

/** Checks an address early so a typo gets a clear message instead of a resolver error. */
export function checkGrpcAddress(address: string): void {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(address) && !/^(dns|unix|ipv4|ipv6):/i.test(address))
    throw new UsageError(`"${address}" is a URL; give the gRPC address as host:port (for HTTP, use an http:// URL with legate call)`);
  if (/^(dns|unix|ipv4|ipv6):/i.test(address)) return;
  if (!/^(\[[0-9a-f:.]+\]|[^:[\]\s/]+):[0-9]{1,5}$/i.test(address))
    throw new UsageError(`"${address}" is not host:port (for example localhost:8080 or [::1]:8080)`);
}

/** A grpc-js client bound to one target, with no HTTP proxy from the environment. */
export function grpcClient(target: GrpcTarget, extra: grpc.ChannelOptions = {}): grpc.Client {
  checkGrpcAddress(target.address);
  const options: grpc.ChannelOptions = { 'grpc.enable_http_proxy': 0, 'grpc.use_local_subchannel_pool': 1, ...extra };
  if (target.authority) options['grpc.default_authority'] = target.authority;
  let creds: grpc.ChannelCredentials;
  if (target.tls) {
    const t = target.tls;
    if (t.servername) options['grpc.ssl_target_name_override'] = t.servername;
    creds = grpc.credentials.createSsl(
      t.ca === undefined ? null : Buffer.from(t.ca),
      null,
      null,
      t.insecure ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {},
    );
  } else creds = grpc.credentials.createInsecure();
  return new grpc.Client(target.address, creds, options);
}

export function toMetadata(pairs: readonly HeaderPair[]): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [k, v] of pairs) {
    if (k.startsWith(':') || k === 'host') throw new UsageError(`gRPC metadata cannot set ${k}: use --authority for the :authority`);
    if (k.endsWith('-bin')) md.add(k, Buffer.from(v, 'base64'));
    else md.add(k, v);
  }
  return md;
}

/** Metadata as name -> values, binary values in base64 (as grpcurl prints them). */
export function metadataRecord(md: grpc.Metadata | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  if (!md) return out;
  for (const [k, values] of Object.entries(md.toJSON()))
    out[k] = values.map((v) => (Buffer.isBuffer(v) ? v.toString('base64') : String(v)));
  return out;
}

const NAMES = new Map<number, string>(
  Object.entries(grpc.status)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => [v as number, k]),
);

/** Canonical gRPC status name (UNAVAILABLE) for a code; the number for codes outside the spec. */
export function statusName(code: number): string {
  return NAMES.get(code) ?? String(code);
}

export { grpc };
