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
import { durationMs } from '../../schema/k8s.js';
import { Timeout } from './schema.js';
import { EG_CODES, egDefault, manifestOrigin, readFeature, reader, warn } from './spec-reader.js';

export type TimeoutFragment = {
  /** Cluster connection settings (`ir.PoolSettings` fields); only the ones the policy sets. */
  pool: { connectTimeoutMs?: number; idleTimeoutMs?: number; maxConnectionDurationMs?: number; origin: Origins };
  /** The route timeout (`ir.Route.timeout`); absent when the policy sets no route-level timeout. */
  route?: TimeoutPolicy;
};

export function buildTimeout(btp: LoadedObject, diags: Diagnostics): TimeoutFragment | undefined {
  const r = reader(btp, diags, 'timeout');
  const block = readFeature(r, Timeout);
  if (!block) return undefined;
  const { value: timeout, at } = block;

  const pool: TimeoutFragment['pool'] = { origin: {} };
  const connect = timeout.tcp?.connectTimeout;
  if (connect !== undefined) {
    pool.connectTimeoutMs = durationMs(connect);
    pool.origin['connectTimeoutMs'] = manifestOrigin(r, at('tcp', 'connectTimeout'));
  }

  let route: TimeoutPolicy | undefined;
  const http = timeout.http;
  if (http) {
    const read = (key: keyof typeof http) => ({ ms: http[key] === undefined ? undefined : durationMs(http[key]), path: at('http', key) });
    const idle = read('connectionIdleTimeout');
    const mcd = read('maxConnectionDuration');
    const req = read('requestTimeout');
    const msd = read('maxStreamDuration');
    const sit = read('streamIdleTimeout');
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
