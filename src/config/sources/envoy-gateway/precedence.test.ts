import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Diagnostics } from '../../model.js';
import { resolveBackendTrafficPolicies, sortPolicies, type AttachmentWorld, type PolicyStatus, type TrafficTarget } from './precedence.js';
import { btp } from './test-fixtures.js';

const GW = { namespace: 'infra', name: 'gw' };

/** One Gateway (listeners http, http-2), one ListenerSet (ls-http), routes r1 (rules a, b) and r2 on http, r3 via the ListenerSet, t1 (TCP), u1 (UDP). */
function world(): AttachmentWorld {
  return {
    gateways: [{ ...GW, listeners: ['http', 'http-2', 'tcp', 'udp'] }],
    listenerSets: [{ namespace: 'infra', name: 'ls', gateway: GW, listeners: ['ls-http'] }],
    routes: [
      {
        kind: 'HTTPRoute',
        namespace: 'app',
        name: 'r1',
        ruleNames: ['a', 'b'],
        parents: [{ kind: 'Gateway', ...GW, sectionName: 'http', listeners: ['http'] }],
      },
      {
        kind: 'HTTPRoute',
        namespace: 'app',
        name: 'r2',
        labels: { team: 'x' },
        ruleNames: [undefined],
        parents: [{ kind: 'Gateway', ...GW, listeners: ['http', 'http-2'] }],
      },
      {
        kind: 'HTTPRoute',
        namespace: 'app',
        name: 'r3',
        ruleNames: [undefined],
        parents: [{ kind: 'ListenerSet', namespace: 'infra', name: 'ls', listeners: ['ls-http'] }],
      },
      {
        kind: 'TCPRoute',
        namespace: 'app',
        name: 't1',
        ruleNames: [undefined],
        parents: [{ kind: 'Gateway', ...GW, sectionName: 'tcp', listeners: ['tcp'] }],
      },
      {
        kind: 'UDPRoute',
        namespace: 'app',
        name: 'u1',
        ruleNames: [undefined],
        parents: [{ kind: 'Gateway', ...GW, sectionName: 'udp', listeners: ['udp'] }],
      },
    ],
  };
}

const target = (name: string, listener: string, opts: Partial<TrafficTarget> = {}): TrafficTarget => ({
  route: { kind: 'HTTPRoute', namespace: 'app', name },
  ruleIndex: 0,
  gateway: GW,
  listener,
  protocol: 'http',
  ...opts,
});

const gwPolicy = (spec: string, name = 'gw-policy', section?: string) =>
  btp(
    `targetRefs:\n- group: gateway.networking.k8s.io\n  kind: Gateway\n  name: gw${section ? `\n  sectionName: ${section}` : ''}\n${spec}`,
    { name, namespace: 'infra' },
  );
const routePolicy = (route: string, spec: string, name = `${route}-policy`, section?: string, kind = 'HTTPRoute') =>
  btp(
    `targetRefs:\n- group: gateway.networking.k8s.io\n  kind: ${kind}\n  name: ${route}${section ? `\n  sectionName: ${section}` : ''}\n${spec}`,
    { name, namespace: 'app' },
  );

function conditions(statuses: PolicyStatus[], policy: string): Record<string, string[]> {
  const s = statuses.find((x) => x.policy === policy);
  return Object.fromEntries(
    (s?.ancestors ?? []).map((a) => [a.ancestor, a.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`).sort()]),
  );
}

test('a route policy replaces the Gateway policy as a whole; the Gateway policy is Overridden', () => {
  const res = resolveBackendTrafficPolicies(
    [gwPolicy('timeout:\n  tcp:\n    connectTimeout: 15s\nretry: {}'), routePolicy('r1', 'loadBalancer:\n  type: Random')],
    world(),
    new Diagnostics(),
  );
  const r1 = res.apply(target('r1', 'http', { ruleName: 'a' }));
  assert.deepEqual(r1.applied, ['app/r1-policy']);
  assert.equal(r1.features.loadBalancer?.lbPolicy, 'random');
  assert.equal(r1.features.timeout, undefined, 'no field-level merge');
  assert.equal(r1.features.retry, undefined);
  const r2 = res.apply(target('r2', 'http'));
  assert.deepEqual(r2.applied, ['infra/gw-policy']);
  assert.equal(r2.features.timeout?.pool.connectTimeoutMs, 15_000);
  assert.deepEqual(conditions(res.statuses, 'infra/gw-policy'), {
    'Gateway infra/gw': ['Accepted=True/Accepted', 'Overridden=True/Overridden'],
  });
  const msg = res.statuses
    .find((s) => s.policy === 'infra/gw-policy')!
    .ancestors[0]!.conditions.find((c) => c.type === 'Overridden')!.message;
  assert.equal(msg, 'This policy is being overridden by other backendTrafficPolicies for these routes: [app/r1]');
  assert.deepEqual(conditions(res.statuses, 'app/r1-policy'), { 'Gateway infra/gw#http': ['Accepted=True/Accepted'] });
});

test('rule beats route beats listener beats Gateway', () => {
  const res = resolveBackendTrafficPolicies(
    [
      gwPolicy('loadBalancer:\n  type: Random', 'g'),
      gwPolicy('loadBalancer:\n  type: RoundRobin', 'g-http-2', 'http-2'),
      routePolicy('r1', 'loadBalancer:\n  type: LeastRequest', 'route'),
      routePolicy('r1', 'loadBalancer:\n  type: ConsistentHash\n  consistentHash: {type: SourceIP}', 'rule-a', 'a'),
    ],
    world(),
    new Diagnostics(),
  );
  assert.deepEqual(res.apply(target('r1', 'http', { ruleName: 'a' })).applied, ['app/rule-a']);
  assert.deepEqual(res.apply(target('r1', 'http', { ruleIndex: 1, ruleName: 'b' })).applied, ['app/route']);
  assert.deepEqual(res.apply(target('r2', 'http-2')).applied, ['infra/g-http-2']);
  assert.deepEqual(res.apply(target('r2', 'http')).applied, ['infra/g']);
  assert.deepEqual(
    res.apply(target('r3', 'ls-http', { listenerSet: { namespace: 'infra', name: 'ls' } })).applied,
    ['infra/g'],
    'Gateway policies reach ListenerSet listeners',
  );
  const route = res.statuses.find((s) => s.policy === 'app/route')!;
  assert.equal(
    route.ancestors[0]!.conditions.find((c) => c.type === 'Overridden')!.message,
    'This policy is being overridden by other backendTrafficPolicy for these route rules: [a]',
  );
});

test('a second policy on the same Gateway is Conflicted; the oldest wins', () => {
  const older = gwPolicy('loadBalancer:\n  type: Random', 'b-older');
  const newer = gwPolicy('loadBalancer:\n  type: RoundRobin', 'a-newer');
  older.metadata.creationTimestamp = '2024-01-01T00:00:00Z';
  newer.metadata.creationTimestamp = '2024-06-01T00:00:00Z';
  assert.deepEqual(
    sortPolicies([newer, older]).map((p) => p.metadata.name),
    ['b-older', 'a-newer'],
  );
  const diags = new Diagnostics();
  const res = resolveBackendTrafficPolicies([newer, older], world(), diags);
  assert.deepEqual(res.apply(target('r2', 'http')).applied, ['infra/b-older']);
  const st = res.statuses.find((s) => s.policy === 'infra/a-newer')!;
  assert.deepEqual(st.ancestors[0]!.conditions[0], {
    type: 'Accepted',
    status: 'False',
    reason: 'Conflicted',
    message: 'Unable to target Gateway gw, another BackendTrafficPolicy has already attached to it',
  });
  assert.ok(diags.items.some((d) => d.code === 'W_EG_POLICY_NOT_ATTACHED'));
});

test('a sectionName that names nothing is TargetNotFound; a missing target is only a warning', () => {
  const diags = new Diagnostics();
  const res = resolveBackendTrafficPolicies([gwPolicy('retry: {}', 'p', 'nope'), routePolicy('r9', 'retry: {}', 'ghost')], world(), diags);
  assert.deepEqual(res.statuses.find((s) => s.policy === 'infra/p')!.ancestors, [
    {
      ancestor: 'Gateway infra/gw#nope',
      conditions: [
        { type: 'Accepted', status: 'False', reason: 'TargetNotFound', message: 'No section name nope found for Gateway infra/gw' },
      ],
    },
  ]);
  assert.equal(
    res.statuses.find((s) => s.policy === 'app/ghost'),
    undefined,
  );
  assert.ok(diags.items.some((d) => d.code === 'W_EG_TARGET_NOT_FOUND' && d.object === 'BackendTrafficPolicy/app/ghost'));
});

test('an invalid route policy answers 500 and a valid Gateway policy still fills in the settings', () => {
  const res = resolveBackendTrafficPolicies(
    [gwPolicy('loadBalancer:\n  type: Random'), routePolicy('r1', 'retry:\n  perRetry:\n    backOff:\n      baseInterval: 0s')],
    world(),
    new Diagnostics(),
  );
  const a = res.apply(target('r1', 'http', { ruleName: 'a' }));
  assert.deepEqual(a.directResponse, { status: 500, policy: 'app/r1-policy', message: 'Retry: baseInterval cannot be set to 0s.' });
  assert.deepEqual(a.applied, ['infra/gw-policy']);
  assert.deepEqual(conditions(res.statuses, 'app/r1-policy'), { 'Gateway infra/gw#http': ['Accepted=False/Invalid'] });
});

test('mergeType merges the route policy into the closest parent policy per listener', () => {
  const res = resolveBackendTrafficPolicies(
    [
      gwPolicy('timeout:\n  tcp:\n    connectTimeout: 15s\n  http:\n    connectionIdleTimeout: 16s', 'g'),
      gwPolicy('timeout:\n  tcp:\n    connectTimeout: 25s', 'g-http-2', 'http-2'),
      routePolicy('r2', 'mergeType: StrategicMerge\ntimeout:\n  http:\n    requestTimeout: 5s', 'merging'),
    ],
    world(),
    new Diagnostics(),
  );
  const onHttp = res.apply(target('r2', 'http'));
  assert.deepEqual(onHttp.applied, ['app/merging']);
  assert.deepEqual(
    [
      onHttp.features.timeout?.pool.connectTimeoutMs,
      onHttp.features.timeout?.pool.idleTimeoutMs,
      onHttp.features.timeout?.route?.requestMs,
    ],
    [15_000, 16_000, 5000],
  );
  const onHttp2 = res.apply(target('r2', 'http-2'));
  assert.deepEqual([onHttp2.features.timeout?.pool.connectTimeoutMs, onHttp2.features.timeout?.pool.idleTimeoutMs], [25_000, undefined]);
  assert.deepEqual(conditions(res.statuses, 'app/merging'), {
    'Gateway infra/gw#http': ['Merged=True/Merged'],
    'Gateway infra/gw#http-2': ['Merged=True/Merged'],
    'Gateway infra/gw': ['Accepted=True/Accepted'],
  });
  assert.deepEqual(conditions(res.statuses, 'infra/g'), {
    'Gateway infra/gw': ['Accepted=True/Accepted', 'Merged=True/Merged', 'Overridden=True/Overridden'],
  });
});

test('TCP routes take each feature from the first policy that sets it; UDP routes only the load balancer', () => {
  const res = resolveBackendTrafficPolicies(
    [
      gwPolicy('loadBalancer:\n  type: Random\ncircuitBreaker:\n  maxConnections: 7\nretry: {}'),
      routePolicy('t1', 'circuitBreaker:\n  maxConnections: 3', 't1-policy', undefined, 'TCPRoute'),
    ],
    world(),
    new Diagnostics(),
  );
  const tcp = res.apply({ ...target('t1', 'tcp', { protocol: 'tcp' }), route: { kind: 'TCPRoute', namespace: 'app', name: 't1' } });
  assert.equal(tcp.features.circuitBreaker?.circuitBreakers.maxConnections, 3);
  assert.equal(tcp.features.loadBalancer?.lbPolicy, 'random');
  assert.equal(tcp.features.retry, undefined, 'no retries on TCP');
  assert.deepEqual(tcp.sources, { circuitBreaker: 'app/t1-policy', loadBalancer: 'infra/gw-policy' });
  assert.deepEqual(tcp.applied, ['app/t1-policy', 'infra/gw-policy']);
  const udp = res.apply({ ...target('u1', 'udp', { protocol: 'udp' }), route: { kind: 'UDPRoute', namespace: 'app', name: 'u1' } });
  assert.deepEqual(Object.keys(udp.features), ['loadBalancer']);
  assert.deepEqual(udp.applied, []);
});

test('targetSelectors select routes by label in the policy namespace', () => {
  const p = btp('targetSelectors:\n- kind: HTTPRoute\n  matchLabels:\n    team: x\nloadBalancer:\n  type: Random', {
    name: 'by-label',
    namespace: 'app',
  });
  const res = resolveBackendTrafficPolicies([p], world(), new Diagnostics());
  assert.deepEqual(res.apply(target('r2', 'http')).applied, ['app/by-label']);
  assert.deepEqual(res.apply(target('r1', 'http', { ruleName: 'a' })).applied, []);
});

test('spec-level rules: targets required, mergeType only on routes, Replace refused, deprecated targetRef warned in status', () => {
  const diags = new Diagnostics();
  const none = btp('retry: {}', { name: 'none' });
  const mergeGw = btp('targetRefs:\n- {group: gateway.networking.k8s.io, kind: Gateway, name: gw}\nmergeType: JSONMerge', {
    name: 'merge-gw',
    namespace: 'infra',
  });
  const replace = btp('targetRefs:\n- {group: gateway.networking.k8s.io, kind: HTTPRoute, name: r1}\nmergeType: Replace', {
    name: 'replace',
    namespace: 'app',
  });
  const legacy = btp('targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: gw}\nretry: {}', {
    name: 'legacy',
    namespace: 'infra',
  });
  const res = resolveBackendTrafficPolicies([none, mergeGw, replace, legacy], world(), diags);
  const errors = diags.items.filter((d) => d.code === 'E_EG_POLICY_INVALID').map((d) => d.message);
  assert.deepEqual(errors.sort(), [
    'Replace is not a valid MergeType for BackendTrafficPolicySpec',
    'either targetRef or targetRefs must be used',
    'mergeType can only be used with xRoute targets',
  ]);
  assert.deepEqual(conditions(res.statuses, 'infra/legacy'), {
    'Gateway infra/gw': ['Accepted=True/Accepted', 'Warning=True/DeprecatedField'],
  });
});
