import type * as ir from '../../../ir/index.js';
import type { LoadedObject } from '../../model.js';

/** A `kubernetes.io/tls` Secret's certificate and key (from `data` base64 or `stringData`), as PEM. */
export function secretPem(secret: LoadedObject): ir.Tls | undefined {
  const read = (key: string): string | undefined => {
    const data = secret.body.data;
    if (isRecord(data) && typeof data[key] === 'string') return Buffer.from(data[key], 'base64').toString('utf8');
    const sd = secret.body.stringData;
    if (isRecord(sd) && typeof sd[key] === 'string') return sd[key];
    return undefined;
  };
  const cert = read('tls.crt');
  const key = read('tls.key');
  return cert && key ? { cert, key } : undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
