/**
 * fake-service's metrics: DogStatsD datagrams over UDP (datadog-go), with the global tags
 * `service:<NAME>` and `env:<METRICS_DATADOG_ENVIRONMENT>`; a no-op when no host is set.
 */
import dgram from 'node:dgram';

export interface Metrics {
  timing(name: string, ms: number, tags: string[]): void;
  increment(name: string, tags: string[]): void;
  close(): Promise<void>;
}

export const noopMetrics: Metrics = { timing: () => {}, increment: () => {}, close: async () => {} };

export function statsdMetrics(host: string, port: number, serviceName: string, environment: string): Metrics {
  const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  socket.on('error', () => {});
  socket.unref();
  const global = [`service:${serviceName}`, `env:${environment}`];
  const send = (line: string) => socket.send(line, port, host, () => {});
  return {
    timing(name, ms, tags) {
      send(`${name}:${ms}|ms|#${[...global, ...tags].join(',')}`);
    },
    increment(name, tags) {
      send(`${name}:1|c|#${[...global, ...tags].join(',')}`);
    },
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

/** getTags: "key:value" for each metadata entry, plus error:true on failure. */
export function metricTags(error: boolean, meta: Map<string, string>): string[] {
  const tags = [...meta].map(([k, v]) => `${k}:${v}`);
  if (error) tags.push('error:true');
  return tags;
}
