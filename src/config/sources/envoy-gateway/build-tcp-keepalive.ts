/**
 * BackendTrafficPolicy `spec.tcpKeepalive` -> SO_KEEPALIVE on upstream connections
 * (config-apis.md 2.9; Envoy Gateway `buildTCPKeepAlive`, cluster.go `buildXdsClusterUpstreamOptions`).
 *
 * Absent: no keepalive. Present: probes (default 9), idle time (default 7200 s) and probe interval
 * (default 75 s), in whole seconds as Envoy takes them (Envoy Gateway truncates `1500ms` to 1 s).
 */
import { ENVOY_GATEWAY } from '../../../ir/defaults.js';
import type { PoolSettings } from '../../../ir/cluster.js';
import type { Origins } from '../../../ir/origin.js';
import type { Diagnostics, LoadedObject } from '../../model.js';
import {
  EG_CODES,
  checkKnown,
  egDefault,
  get,
  manifestOrigin,
  readDuration,
  readInt,
  readObject,
  reader,
  warn,
  type Path,
} from './spec-reader.js';

export type TcpKeepaliveFragment = {
  /** -> `ir.PoolSettings.tcpKeepalive` */
  tcpKeepalive: NonNullable<PoolSettings['tcpKeepalive']>;
  origin: Origins;
};

export function buildTcpKeepalive(btp: LoadedObject, diags: Diagnostics): TcpKeepaliveFragment | undefined {
  const r = reader(btp, diags, 'tcpKeepalive');
  const spec = readObject(r, btp.body['spec'], ['spec']);
  if (!spec) return undefined;
  const at = get(r, spec, 'tcpKeepalive', ['spec']);
  const ka = readObject(r, at.value, at.path);
  if (!ka) return undefined;
  checkKnown(r, ka, at.path, ['probes', 'idleTime', 'interval']);
  const d = (name: string) => egDefault(`ENVOY_GATEWAY.${name}`);
  const origin: Origins = {
    probes: d('TCP_KEEPALIVE_PROBES'),
    timeSec: d('TCP_KEEPALIVE_IDLE_TIME_S'),
    intervalSec: d('TCP_KEEPALIVE_INTERVAL_S'),
  };
  const out: TcpKeepaliveFragment = {
    tcpKeepalive: {
      probes: ENVOY_GATEWAY.TCP_KEEPALIVE_PROBES,
      timeSec: ENVOY_GATEWAY.TCP_KEEPALIVE_IDLE_TIME_S,
      intervalSec: ENVOY_GATEWAY.TCP_KEEPALIVE_INTERVAL_S,
    },
    origin,
  };
  const p = get(r, ka, 'probes', at.path);
  const probes = readInt(r, p.value, p.path, { min: 0, max: 4_294_967_295 });
  if (probes !== undefined) {
    out.tcpKeepalive.probes = probes;
    origin['probes'] = manifestOrigin(r, p.path);
  }
  const seconds = (key: string, name: string, field: 'timeSec' | 'intervalSec') => {
    const f = get(r, ka, key, at.path);
    const ms = readDuration(r, f.value, f.path, name);
    if (ms === undefined) return;
    if (ms % 1000 !== 0)
      warn(
        r,
        EG_CODES.NO_EFFECT,
        f.path as Path,
        `${key} is applied in whole seconds: ${ms}ms becomes ${Math.floor(ms / 1000)}s`,
        'write whole seconds',
      );
    out.tcpKeepalive[field] = Math.floor(ms / 1000);
    origin[field] = manifestOrigin(r, f.path);
  };
  seconds('idleTime', 'IdleTime', 'timeSec');
  seconds('interval', 'Interval', 'intervalSec');
  return r.ok ? out : undefined;
}
