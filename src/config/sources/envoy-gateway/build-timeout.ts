/**
 * BackendTrafficPolicy `spec.timeout` -> cluster pool settings and the route timeout
 * (config-apis.md 2.4; Envoy Gateway `buildClusterSettingsTimeout`, xds/translator route.go
 * `idleTimeout`):
 *
 * | field                          | goes to                                   | unset             |
 * |--------------------------------|-------------------------------------------|-------------------|
 * | tcp.connectTimeout             | cluster pool `connectTimeoutMs`           | 10 s (EG)         |
 * | http.connectionIdleTimeout     | cluster pool `idleTimeoutMs`              | 1 h               |
 * | http.maxConnectionDuration     | cluster pool `maxConnectionDurationMs`    | unlimited         |
 * | http.requestTimeout            | route `timeout.requestMs`                 | 15 s (Envoy)      |
 * | http.maxStreamDuration         | route `timeout.maxStreamDuration.maxMs`   | none              |
 * | http.streamIdleTimeout         | route `timeout.idleMs`                    | listener's (5 min)|
 *
 * With a request timeout but no stream idle timeout, Envoy Gateway sets the route idle timeout to
 * max(1 h, request timeout) (0 when the request timeout is 0s) so a stream is not cut before its
 * request timeout. A ClientTrafficPolicy stream idle timeout on the listener stops that; the
 * translator drops the derived value then (its origin says `derived`).
 */
import { ENVOY_GATEWAY } from '../../../ir/defaults.js';
import type { Origins } from '../../../ir/origin.js';
import type { TimeoutPolicy } from '../../../ir/policy.js';
import type { Diagnostics, LoadedObject } from '../../model.js';
import { EG_CODES, checkKnown, egDefault, fail, get, manifestOrigin, readDuration, readObject, reader, warn } from './spec-reader.js';

export type TimeoutFragment = {
  /** Cluster connection settings (`ir.PoolSettings` fields); only the ones the policy sets. */
  pool: { connectTimeoutMs?: number; idleTimeoutMs?: number; maxConnectionDurationMs?: number; origin: Origins };
  /** The route timeout (`ir.Route.timeout`); absent when the policy sets no route-level timeout. */
  route?: TimeoutPolicy;
};

export function buildTimeout(btp: LoadedObject, diags: Diagnostics): TimeoutFragment | undefined {
  const r = reader(btp, diags, 'timeout');
  const spec = readObject(r, btp.body['spec'], ['spec']);
  if (!spec) return undefined;
  const at = get(r, spec, 'timeout', ['spec']);
  const timeout = readObject(r, at.value, at.path);
  if (!timeout) return undefined;
  checkKnown(r, timeout, at.path, ['tcp', 'http']);

  const pool: TimeoutFragment['pool'] = { origin: {} };
  const t = get(r, timeout, 'tcp', at.path);
  const tcp = readObject(r, t.value, t.path);
  if (tcp) {
    checkKnown(r, tcp, t.path, ['connectTimeout']);
    const c = get(r, tcp, 'connectTimeout', t.path);
    const ms = readDuration(r, c.value, c.path, 'ConnectTimeout');
    if (ms === 0)
      fail(r, c.path, 'connectTimeout must be greater than 0s', 'Envoy refuses a zero connect timeout; remove it for the 10s default');
    else if (ms !== undefined) {
      pool.connectTimeoutMs = ms;
      pool.origin['connectTimeoutMs'] = manifestOrigin(r, c.path);
    }
  }

  let route: TimeoutPolicy | undefined;
  const h = get(r, timeout, 'http', at.path);
  const http = readObject(r, h.value, h.path);
  if (http) {
    checkKnown(r, http, h.path, [
      'connectionIdleTimeout',
      'maxConnectionDuration',
      'requestTimeout',
      'maxStreamDuration',
      'streamIdleTimeout',
    ]);
    const read = (key: string, name: string) => {
      const f = get(r, http, key, h.path);
      return { ms: readDuration(r, f.value, f.path, name), path: f.path };
    };
    // Read in Envoy Gateway's order so the first error is the one its status reports.
    const idle = read('connectionIdleTimeout', 'ConnectionIdleTimeout');
    const mcd = read('maxConnectionDuration', 'MaxConnectionDuration');
    const req = read('requestTimeout', 'RequestTimeout');
    const msd = read('maxStreamDuration', 'MaxStreamDuration');
    const sit = read('streamIdleTimeout', 'StreamIdleTimeout');
    if (idle.ms !== undefined) {
      pool.idleTimeoutMs = idle.ms;
      pool.origin['idleTimeoutMs'] = manifestOrigin(r, idle.path);
    }
    if (mcd.ms !== undefined) {
      pool.maxConnectionDurationMs = mcd.ms;
      pool.origin['maxConnectionDurationMs'] = manifestOrigin(r, mcd.path);
    }
    if (req.ms !== undefined || msd.ms !== undefined || sit.ms !== undefined) {
      const origin: Origins = {};
      route = { requestMs: ENVOY_GATEWAY.ROUTE_TIMEOUT_MS, origin };
      origin['requestMs'] = egDefault('ENVOY_GATEWAY.ROUTE_TIMEOUT_MS');
      if (req.ms !== undefined) {
        route.requestMs = req.ms;
        origin['requestMs'] = manifestOrigin(r, req.path);
      }
      if (sit.ms !== undefined) {
        route.idleMs = sit.ms;
        origin['idleMs'] = manifestOrigin(r, sit.path);
      } else if (req.ms !== undefined) {
        route.idleMs = req.ms === 0 ? 0 : Math.max(ENVOY_GATEWAY.ROUTE_IDLE_TIMEOUT_FLOOR_MS, req.ms);
        origin['idleMs'] = {
          kind: 'derived',
          from: `${req.path.join('.')}: max(ENVOY_GATEWAY.ROUTE_IDLE_TIMEOUT_FLOOR_MS, requestTimeout), 0 when requestTimeout is 0s; not when a ClientTrafficPolicy sets the listener's streamIdleTimeout`,
        };
      }
      if (msd.ms !== undefined) {
        route.maxStreamDuration = { maxMs: msd.ms };
        origin['maxStreamDuration.maxMs'] = manifestOrigin(r, msd.path);
        if (req.ms !== undefined)
          warn(
            r,
            EG_CODES.NO_EFFECT,
            req.path,
            'requestTimeout is not armed when maxStreamDuration is set: Envoy switches the route to its stream-duration timeouts',
            'keep one of requestTimeout and maxStreamDuration',
          );
      }
    }
  }
  if (!r.ok) return undefined;
  return route ? { pool, route } : { pool };
}
