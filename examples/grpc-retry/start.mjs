// npm start: the first seed's manifest (grpc-routing.yaml), unchanged, on this machine. legate
// starts the fake-service Deployment (ERROR_RATE 0.5, ERROR_CODE 14), serves the Gateway with the
// GRPCRoute and the BackendTrafficPolicy's retry, then sends 200 calls through the gateway and
// 200 straight to fake-service: through the gateway about 95% succeed, directly half fail.
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const { startRun } = await import(`${root}/dist/src/cli/run-command.js`);
const { runLoad } = await import(`${root}/dist/src/client/index.js`);
const { formatSummary } = await import(`${root}/dist/src/client/load/summary.js`);

const offset = Number(process.env.PORT_OFFSET ?? 8000);
const started = await startRun(
  { filename: [fileURLToPath(new URL('./grpc-routing.yaml', import.meta.url))], portOffset: String(offset), quiet: true, watch: false, attemptCount: true },
  (s) => process.stdout.write(s),
);
if (!started.ok) {
  console.error(started.error);
  process.exit(1);
}
const { running } = started;
const gateway = running.config().listeners[0];
const pod = running.supervisor.instances[0];
const direct = `127.0.0.1:${[...pod.ports.values()][0]}`;

const load = (target, authority) =>
  runLoad({ target, grpcMethod: 'FakeService.Handle', requests: 200, concurrency: 10, ...(authority ? { authority } : {}) });

console.log(`\n== 200 calls through the gateway (127.0.0.1:${gateway.port}, :authority grpc-example.com)`);
console.log(formatSummary(await load(`127.0.0.1:${gateway.port}`, 'grpc-example.com')));
console.log(`\n== 200 calls straight to fake-service (${direct}, ${pod.plan.podName})`);
console.log(formatSummary(await load(direct)));

console.log(`\nTry it yourself:\n  npx legate call 127.0.0.1:${gateway.port} FakeService.Handle --authority grpc-example.com -d '{}'`);
console.log(`  npx legate load 127.0.0.1:${gateway.port} FakeService.Handle --authority grpc-example.com -n 1000`);
if (process.env.EXIT_AFTER_DEMO) {
  await running.stop();
  process.exit(0);
}
console.log('legate keeps running; Ctrl-C stops it and fake-service.');
await new Promise((resolve) => {
  process.once('SIGINT', resolve);
  process.once('SIGTERM', resolve);
});
await running.stop();
