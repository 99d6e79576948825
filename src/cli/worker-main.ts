/**
 * A worker process of `--workers N` (src/cli/workers.ts): a Proxy with the IR the first process
 * sends, serving the connections it hands over. It binds nothing and reads no manifests; it exits
 * when told to stop or when the first process goes away.
 */
import type net from 'node:net';
import { createAccessLog, type AccessLogSink } from '../dataplane/access-log.js';
import { Proxy } from '../dataplane/proxy.js';
import { collectStats, resetProxyCounters } from '../dataplane/stats/proxy-stats.js';
import { serializeStats } from '../dataplane/stats/merge.js';
import { parseLocality } from '../dataplane/upstream/locality.js';
import type { FromWorker, ToWorker, WorkerSetup } from './workers.js';
import { releaseStartupMemory } from './release-memory.js';

let setup: WorkerSetup | null = null;
let proxy: Proxy | null = null;
let accessLog: AccessLogSink | undefined;
let ports: Record<string, number> = {};
/** Messages are handled in order: a connection never overtakes the config it needs. */
let queue: Promise<void> = Promise.resolve();

const send = (m: FromWorker) => process.send?.(m);

async function handle(m: ToWorker, socket: net.Socket | undefined): Promise<void> {
  switch (m.type) {
    case 'setup':
      setup = m.setup;
      if (setup.accessLog) accessLog = createAccessLog(setup.accessLog);
      send({ type: 'ready' });
      return;
    case 'config':
      ports = m.ports;
      try {
        if (!proxy) {
          const where = setup?.locality;
          proxy = await Proxy.start(m.config, {
            ...(accessLog ? { accessLog } : {}),
            ...(where ? { placement: { locality: parseLocality(where), labels: {} } } : {}),
            acceptOnly: (name) => ports[name] ?? 0,
          });
          releaseStartupMemory();
        } else await proxy.apply(m.config);
        send({ type: 'applied', id: m.id });
      } catch (e) {
        send({ type: 'applied', id: m.id, error: (e as Error).message });
      }
      return;
    case 'conn':
      if (!socket) return;
      if (!proxy?.acceptConnection(m.listener, socket)) socket.destroy();
      return;
    case 'stats':
      send({ type: 'stats', id: m.id, stats: proxy ? serializeStats(collectStats(proxy, { sorted: false })) : [] });
      return;
    case 'reset-counters':
      if (proxy) resetProxyCounters(proxy);
      return;
    case 'drain':
      await proxy?.drain(m.graceMs);
      send({ type: 'drained', id: m.id });
      return;
    case 'stop':
      await proxy?.close(m.graceMs);
      await accessLog?.close();
      process.exit(0);
  }
}

process.on('message', (m: ToWorker, socket?: net.Socket) => {
  // Connections are served at once (the config they need is applied before any is handed over).
  if (m.type === 'conn') {
    void handle(m, socket);
    return;
  }
  queue = queue
    .then(() => handle(m, socket))
    .catch((e: unknown) => {
      process.stderr.write(`legate worker: ${String(e)}\n`);
    });
});
// The first process went away: nothing will hand over connections any more.
process.on('disconnect', () => {
  void (async () => {
    await proxy?.close(1000);
    process.exit(0);
  })();
});
