import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadManifests } from '../../load/load-manifests.js';
import { Diagnostics } from '../../model.js';
import { translate } from '../../translate.js';

const BASE = `
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: eg }
spec: { controllerName: gateway.envoyproxy.io/gatewayclass-controller }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw, namespace: default, labels: { team: a } }
spec:
  gatewayClassName: eg
  listeners:
    - { name: web, protocol: HTTP, port: 8080 }
    - { name: admin, protocol: HTTP, port: 9090 }
`;

function run(policies: string) {
  const diags = new Diagnostics();
  const objects = loadManifests([{ name: 'ctp.yaml', text: BASE + policies }], diags);
  const r = translate(objects, {}, diags);
  const listener = (port: number) => r.config.listeners.find((l) => l.port === port)!;
  const status = (name: string) => r.policyStatus.find((p) => p.kind === 'ClientTrafficPolicy' && p.policy === `default/${name}`);
  return { r, listener, status, diags: r.diagnostics };
}

const ctp = (name: string, target: string, spec: string, extra = '') => `
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: ClientTrafficPolicy
metadata: { name: ${name}, namespace: default${extra} }
spec:
  targetRefs: [${target}]
${spec}`;

test('timeouts, HTTP/2 settings, connection limit and keepalive reach the listener with their origins', () => {
  const { listener, status, diags } = run(
    ctp(
      'client',
      '{ group: gateway.networking.k8s.io, kind: Gateway, name: gw }',
      `  timeout:
    http: { requestReceivedTimeout: 2s, requestHeadersReceivedTimeout: 500ms, idleTimeout: 30s, streamIdleTimeout: 1m }
  http2: { initialStreamWindowSize: 128Ki, initialConnectionWindowSize: 2Mi, maxConcurrentStreams: 50 }
  connection: { connectionLimit: { value: 100 } }
  tcpKeepalive: { idleTime: 20s }
  headers: { preserveXRequestID: false }`,
    ),
  );
  for (const port of [8080, 9090]) {
    const l = listener(port);
    assert.equal(l.limits.requestTimeoutMs, 2000);
    assert.equal(l.limits.requestHeadersTimeoutMs, 500);
    assert.equal(l.limits.idleTimeoutMs, 30_000);
    assert.equal(l.limits.streamIdleTimeoutMs, 60_000);
    assert.equal(l.limits.h2InitialStreamWindowSize, 131_072);
    assert.equal(l.limits.h2InitialConnectionWindowSize, 2_097_152);
    assert.equal(l.limits.maxConcurrentStreams, 50);
    assert.equal(l.limits.maxConnections, 100);
    assert.equal(l.limits.tcpKeepaliveIdleMs, 20_000);
    assert.equal(l.preserveExternalRequestId, false);
    const o = l.origin['limits.streamIdleTimeoutMs'];
    assert.equal(o?.kind, 'manifest');
    assert.equal(o?.kind === 'manifest' && o.object, 'ClientTrafficPolicy/default/client');
    assert.equal(o?.kind === 'manifest' && o.field, 'spec.timeout.http.streamIdleTimeout');
    assert.ok(o?.kind === 'manifest' && (o.line ?? 0) > 1);
  }
  assert.deepEqual(
    diags.filter((d) => d.severity !== 'info'),
    [],
  );
  assert.deepEqual(status('client')?.ancestors, [
    {
      ancestor: 'Gateway default/gw',
      conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: 'Policy has been accepted.' }],
    },
  ]);
});

test('without a policy, listeners keep Envoy defaults (stream idle 5 min, no request timeout)', () => {
  const { listener, r } = run('');
  const l = listener(8080);
  assert.equal(l.limits.streamIdleTimeoutMs, 300_000);
  assert.equal(l.limits.requestTimeoutMs, 0);
  assert.equal(l.limits.maxConnections, 0);
  assert.equal(l.origin['limits.streamIdleTimeoutMs']?.kind, 'default');
  assert.ok(!r.diagnostics.some((d) => d.code === 'I_KIND_IGNORED'));
});

test('a listener policy wins over the Gateway policy, which reports itself overridden there', () => {
  const { listener, status } = run(
    ctp('gateway-wide', '{ group: gateway.networking.k8s.io, kind: Gateway, name: gw }', `  timeout: { http: { idleTimeout: 10s } }`) +
      ctp(
        'admin-only',
        '{ group: gateway.networking.k8s.io, kind: Gateway, name: gw, sectionName: admin }',
        `  timeout: { http: { idleTimeout: 99s } }`,
      ),
  );
  assert.equal(listener(8080).limits.idleTimeoutMs, 10_000);
  assert.equal(listener(9090).limits.idleTimeoutMs, 99_000);
  const conds = status('gateway-wide')!.ancestors[0]!.conditions;
  assert.deepEqual(
    conds.map((c) => `${c.type}=${c.status}/${c.reason}`),
    ['Accepted=True/Accepted', 'Overridden=True/Overridden'],
  );
  assert.match(conds[1]!.message, /listeners: \[admin\]/);
  assert.equal(status('admin-only')!.ancestors[0]!.ancestor, 'Gateway default/gw#admin');
});

test('the older of two Gateway policies wins; the newer one is Conflicted and applies nowhere', () => {
  const { listener, status } = run(
    ctp(
      'newer',
      '{ group: gateway.networking.k8s.io, kind: Gateway, name: gw }',
      `  timeout: { http: { idleTimeout: 2s } }`,
      ', creationTimestamp: "2026-02-01T00:00:00Z"',
    ) +
      ctp(
        'older',
        '{ group: gateway.networking.k8s.io, kind: Gateway, name: gw }',
        `  timeout: { http: { idleTimeout: 1s } }`,
        ', creationTimestamp: "2026-01-01T00:00:00Z"',
      ),
  );
  assert.equal(listener(8080).limits.idleTimeoutMs, 1000);
  const c = status('newer')!.ancestors[0]!.conditions[0]!;
  assert.equal(c.reason, 'Conflicted');
  assert.match(c.message, /another ClientTrafficPolicy has already attached/);
});

test('schema errors name the field, line and the fix; the policy is not applied', () => {
  const { listener, diags } = run(
    ctp(
      'bad',
      '{ group: gateway.networking.k8s.io, kind: Gateway, name: gw }',
      `  timeout: { http: { idleTimeout: 1.5s } }
  http2: { maxConcurrentStreams: 0 }`,
    ),
  );
  const errs = diags.filter((d) => d.code === 'E_EG_CLIENT_TRAFFIC_POLICY_INVALID');
  assert.deepEqual(errs.map((d) => d.field).sort(), ['spec.http2.maxConcurrentStreams', 'spec.timeout.http.idleTimeout']);
  assert.ok(errs.every((d) => d.file === 'ctp.yaml' && (d.line ?? 0) > 20));
  assert.match(errs.find((d) => d.field === 'spec.timeout.http.idleTimeout')!.message, /not a Gateway API duration/);
  assert.equal(listener(8080).limits.idleTimeoutMs, 3_600_000);
});

test('HTTP/2 windows outside 65535..2^31-1 are rejected with the range', () => {
  const { diags, listener } = run(
    ctp('w', '{ group: gateway.networking.k8s.io, kind: Gateway, name: gw }', `  http2: { initialStreamWindowSize: 1Ki }`),
  );
  const e = diags.find((d) => d.field === 'spec.http2.initialStreamWindowSize');
  assert.equal(e?.severity, 'error');
  assert.match(e!.message, /between 65535 and 2147483647/);
  assert.equal(listener(8080).limits.h2InitialStreamWindowSize, 1_048_576);
});

test('route targets are refused, unknown fields and unapplied settings are reported, missing Gateways warned', () => {
  const { diags } = run(
    ctp('route', '{ group: gateway.networking.k8s.io, kind: HTTPRoute, name: r }', `  timeout: { http: { idleTimeout: 1s } }`) +
      ctp(
        'extras',
        '{ group: gateway.networking.k8s.io, kind: Gateway, name: gw }',
        `  clientIPDetection: { xForwardedFor: { numTrustedHops: 1 } }
  timeot: { http: {} }`,
      ) +
      ctp('ghost', '{ group: gateway.networking.k8s.io, kind: Gateway, name: nowhere }', `  timeout: { http: { idleTimeout: 1s } }`),
  );
  assert.ok(diags.some((d) => d.code === 'E_EG_CLIENT_TRAFFIC_POLICY_INVALID' && /only target a Gateway/.test(d.message)));
  assert.ok(diags.some((d) => d.code === 'W_EG_UNKNOWN_FIELD' && d.field === 'spec.timeot'));
  assert.ok(diags.some((d) => d.code === 'W_EG_NOT_APPLIED' && d.field === 'spec.clientIPDetection'));
  assert.ok(diags.some((d) => d.code === 'W_EG_TARGET_NOT_FOUND' && d.object === 'ClientTrafficPolicy/default/ghost'));
});

test('targetSelectors pick Gateways by label', () => {
  const { listener } = run(`
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: ClientTrafficPolicy
metadata: { name: by-label, namespace: default }
spec:
  targetSelectors: [{ group: gateway.networking.k8s.io, kind: Gateway, matchLabels: { team: a } }]
  connection: { connectionLimit: { value: 7 } }
`);
  assert.equal(listener(8080).limits.maxConnections, 7);
});

test("a listener stream idle timeout stops Envoy Gateway's derived route idle timeout (max(1 h, requestTimeout))", () => {
  const route = `
---
apiVersion: v1
kind: Service
metadata: { name: app, namespace: default }
spec: { ports: [{ name: http, port: 80 }] }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: r, namespace: default }
spec:
  parentRefs: [{ name: gw, sectionName: web }]
  rules: [{ backendRefs: [{ name: app, port: 80 }] }]
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata: { name: slow, namespace: default }
spec:
  targetRefs: [{ group: gateway.networking.k8s.io, kind: HTTPRoute, name: r }]
  timeout: { http: { requestTimeout: 20s } }
`;
  const routeOf = (x: ReturnType<typeof run>) => x.listener(8080).virtualHosts[0]!.routes[0]!;
  const without = run(route);
  assert.equal(routeOf(without).timeout?.idleMs, 3_600_000);
  const withCtp = run(
    route + ctp('idle', '{ group: gateway.networking.k8s.io, kind: Gateway, name: gw }', `  timeout: { http: { streamIdleTimeout: 45s } }`),
  );
  assert.equal(routeOf(withCtp).timeout?.requestMs, 20_000);
  assert.equal(routeOf(withCtp).timeout?.idleMs, undefined);
  assert.equal(withCtp.listener(8080).limits.streamIdleTimeoutMs, 45_000);
});

test('requestID, withUnderscoresAction, healthCheck, TLS versions and HTTP/2 keepalive map onto the listener', () => {
  const { listener, diags } = run(
    ctp(
      'more',
      '{ group: gateway.networking.k8s.io, kind: Gateway, name: gw }',
      `  headers: { requestID: Preserve, withUnderscoresAction: DropHeader }
  healthCheck: { path: /healthz }
  tls: { minVersion: "1.3", ciphers: [ECDHE-RSA-AES128-GCM-SHA256] }
  http2: { connectionKeepalive: { interval: 30s, timeout: 5s } }
  http3: {}`,
    ),
  );
  const l = listener(8080);
  assert.equal(l.preserveExternalRequestId, true);
  assert.equal(l.generateRequestId, false);
  assert.equal(l.headersWithUnderscores, 'drop');
  assert.equal(l.healthCheckPath, '/healthz');
  assert.deepEqual(l.limits.h2Keepalive, { intervalMs: 30_000, timeoutMs: 5000, jitterPercent: 15 });
  assert.equal(l.tls, undefined, 'TLS settings reach HTTPS listeners only');
  assert.equal(l.origin['healthCheckPath']?.kind, 'manifest');
  const notApplied = diags.filter((d) => d.code === 'W_EG_NOT_APPLIED').map((d) => d.field);
  assert.deepEqual(notApplied, ['spec.http3']);
  assert.match(diags.find((d) => d.field === 'spec.http3')!.message, /Node 20 has no QUIC/);
  const gen = run(ctp('gen', '{ group: gateway.networking.k8s.io, kind: Gateway, name: gw }', `  headers: { requestID: Generate }`));
  assert.equal(gen.listener(8080).preserveExternalRequestId, false);
  assert.equal(gen.listener(8080).generateRequestId, true);
});
