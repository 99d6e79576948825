import type * as ir from '../../src/ir/index.js';
import { clusterDefaults, listenerDefaults } from '../../src/ir/index.js';

/** A cluster over 127.0.0.1 ports with Envoy defaults. */
export function cluster(name: string, ports: number[], patch: Partial<ir.Cluster> = {}): ir.Cluster {
  const c = clusterDefaults(
    name,
    ports.map((port) => ({ address: '127.0.0.1', port, weight: 1, priority: 0 })),
  );
  return { ...c, ...patch };
}

export function route(name: string, patch: Partial<ir.Route> & { cluster?: string } = {}): ir.Route {
  const { cluster: c, ...rest } = patch;
  return {
    name,
    match: { path: { kind: 'prefix', value: '/', segmentAware: false } },
    action: { kind: 'forward', clusters: [{ cluster: c ?? 'backend', weight: 1 }] },
    origin: {},
    ...rest,
  };
}

/** One listener on 127.0.0.1:0 with one `*` virtual host holding `routes`. */
export function config(
  routes: ir.Route[],
  clusters: ir.Cluster[],
  patch: { listener?: Partial<ir.Listener>; vhost?: Partial<ir.VirtualHost> } = {},
): ir.Config {
  const l = listenerDefaults('main', '127.0.0.1', 0);
  return {
    version: 'test',
    listeners: [
      {
        ...l,
        ...patch.listener,
        virtualHosts: [{ name: 'default', domains: ['*'], routeOrder: 'ordered', routes, origin: {}, ...patch.vhost }],
      },
    ],
    clusters,
  };
}
