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
import { durationMs } from '../../schema/k8s.js';
import { TcpKeepalive } from './schema.js';
import { EG_CODES, egDefault, manifestOrigin, readFeature, reader, warn } from './spec-reader.js';

export type TcpKeepaliveFragment = {
  /** -> `ir.PoolSettings.tcpKeepalive` */
  tcpKeepalive: NonNullable<PoolSettings['tcpKeepalive']>;
  origin: Origins;
};

export function buildTcpKeepalive(btp: LoadedObject, diags: Diagnostics): TcpKeepaliveFragment | undefined {
  const r = reader(btp, diags, 'tcpKeepalive');
  const block = readFeature(r, TcpKeepalive);
  if (!block) return undefined;
  const { value: ka, at } = block;
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
  if (ka.probes !== undefined) {
    out.tcpKeepalive.probes = ka.probes;
    origin['probes'] = manifestOrigin(r, at('probes'));
  }
  const seconds = (key: 'idleTime' | 'interval', field: 'timeSec' | 'intervalSec') => {
    const text = ka[key];
    if (text === undefined) return;
    const ms = durationMs(text);
    if (ms % 1000 !== 0)
      warn(
        r,
        EG_CODES.NO_EFFECT,
        at(key),
        `${key} is applied in whole seconds: ${ms}ms becomes ${Math.floor(ms / 1000)}s`,
        'write whole seconds',
      );
    out.tcpKeepalive[field] = Math.floor(ms / 1000);
    origin[field] = manifestOrigin(r, at(key));
  };
  seconds('idleTime', 'timeSec');
  seconds('interval', 'intervalSec');
  return r.ok ? out : undefined;
}
