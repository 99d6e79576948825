import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type * as ir from '../../../ir/index.js';
import { BASE, onlyRoute, routesByName, translateYaml } from './test-support.js';

const route = (extra: string, kind = 'HTTPRoute') => `
---
apiVersion: gateway.networking.k8s.io/v1
kind: ${kind}
metadata: { name: r, namespace: default }
spec:
  parentRefs: [{ name: gw, namespace: infra }]
  rules:
  - backendRefs: [{ name: svc, port: 8080 }]${extra ? `\n    ${extra}` : ''}`;

/** Origin of a value: the manifest field, or the default's name. */
function from(o: ir.Origin | undefined): string | undefined {
  if (!o) return undefined;
  return o.kind === 'manifest' ? o.field : o.kind === 'default' ? `${o.dialect}:${o.name}` : `derived:${o.from}`;
}

type Row = {
  name: string;
  extra: string;
  kind?: string;
  timeoutMs: number;
  timeoutFrom: string;
  retry?: Partial<ir.RetryPolicy> & { from?: Record<string, string> };
};

const EG_RETRY_ON = ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'];

describe('timeouts (GEP-1742) and retry (GEP-1731) as Envoy Gateway maps them', () => {
  const rows: Row[] = [
    {
      name: 'nothing set: 15 s route timeout, no retry',
      extra: '',
      timeoutMs: 15_000,
      timeoutFrom: 'envoy-gateway:ENVOY_GATEWAY.ROUTE_TIMEOUT_MS',
    },
    {
      name: 'GRPCRoute: 15 s route timeout',
      kind: 'GRPCRoute',
      extra: '',
      timeoutMs: 15_000,
      timeoutFrom: 'envoy-gateway:ENVOY_GATEWAY.ROUTE_TIMEOUT_MS',
    },
    {
      name: 'request -> route timeout',
      extra: 'timeouts: { request: 1m30s }',
      timeoutMs: 90_000,
      timeoutFrom: 'spec.rules[0].timeouts.request',
    },
    {
      name: 'request 0s disables the timeout',
      extra: 'timeouts: { request: 0s }',
      timeoutMs: 0,
      timeoutFrom: 'spec.rules[0].timeouts.request',
    },
    {
      name: 'backendRequest without retry bounds the only attempt: route timeout',
      extra: 'timeouts: { request: 10s, backendRequest: 2s }',
      timeoutMs: 2000,
      timeoutFrom: 'spec.rules[0].timeouts.backendRequest',
    },
    {
      name: 'backendRequest with retry -> per-try timeout; request stays the route timeout',
      extra: 'timeouts: { request: 10s, backendRequest: 2s }\n    retry: { attempts: 3 }',
      timeoutMs: 10_000,
      timeoutFrom: 'spec.rules[0].timeouts.request',
      retry: {
        numRetries: 3,
        perTryTimeoutMs: 2000,
        from: { numRetries: 'spec.rules[0].retry.attempts', perTryTimeoutMs: 'spec.rules[0].timeouts.backendRequest' },
      },
    },
    {
      name: 'empty retry: EG defaults (2 retries on connect failures and 503)',
      extra: 'retry: {}',
      timeoutMs: 15_000,
      timeoutFrom: 'envoy-gateway:ENVOY_GATEWAY.ROUTE_TIMEOUT_MS',
      retry: {
        retryOn: EG_RETRY_ON as ir.RetryOn[],
        numRetries: 2,
        retriableStatusCodes: [503],
        backoff: { baseIntervalMs: 25, maxIntervalMs: 250 },
        previousHosts: true,
        hostSelectionRetryMaxAttempts: 5,
        perTryTimeoutMs: 0,
        from: {
          retryOn: 'envoy-gateway:ENVOY_GATEWAY.RETRY_ON',
          numRetries: 'envoy-gateway:ENVOY_GATEWAY.NUM_RETRIES',
          retriableStatusCodes: 'envoy-gateway:ENVOY_GATEWAY.RETRIABLE_STATUS_CODES',
          'backoff.baseIntervalMs': 'envoy:ENVOY.RETRY_BASE_INTERVAL_MS',
        },
      },
    },
    {
      name: 'codes, attempts and backoff',
      extra: 'retry: { codes: [500, 502, 504], attempts: 1, backoff: 100ms }',
      timeoutMs: 15_000,
      timeoutFrom: 'envoy-gateway:ENVOY_GATEWAY.ROUTE_TIMEOUT_MS',
      retry: {
        retryOn: EG_RETRY_ON as ir.RetryOn[],
        numRetries: 1,
        retriableStatusCodes: [500, 502, 504],
        backoff: { baseIntervalMs: 100, maxIntervalMs: 1000 },
        from: { retriableStatusCodes: 'spec.rules[0].retry.codes', 'backoff.baseIntervalMs': 'spec.rules[0].retry.backoff' },
      },
    },
    {
      name: 'backoff 0s keeps the Envoy base interval (it has to be > 0)',
      extra: 'retry: { backoff: 0s }',
      timeoutMs: 15_000,
      timeoutFrom: 'envoy-gateway:ENVOY_GATEWAY.ROUTE_TIMEOUT_MS',
      retry: { backoff: { baseIntervalMs: 25, maxIntervalMs: 250 } },
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const r = translateYaml(BASE + route(row.extra, row.kind));
      assert.deepEqual(r.diags.items, []);
      const x = onlyRoute(r);
      assert.equal(x.timeout?.requestMs, row.timeoutMs);
      assert.equal(from(x.timeout?.origin.requestMs), row.timeoutFrom);
      if (!row.retry) {
        assert.equal(x.retry, undefined);
        return;
      }
      const { from: origins, ...want } = row.retry;
      const got = x.retry!;
      for (const [k, v] of Object.entries(want)) assert.deepEqual(got[k as keyof ir.RetryPolicy], v, k);
      for (const [k, v] of Object.entries(origins ?? {})) assert.equal(from(got.origin[k]), v, `origin of ${k}`);
    });
  }
});

describe('timeout and retry validation (section 6 #17)', () => {
  const rejected: [string, string, RegExp][] = [
    ['fractional duration', 'timeouts: { request: 1.5s }', /not a Gateway API duration/],
    ['duration without unit', 'timeouts: { request: "10" }', /not a Gateway API duration/],
    ['day unit', 'timeouts: { backendRequest: 1d }', /not a Gateway API duration/],
    ['negative', 'timeouts: { request: -1s }', /not a Gateway API duration/],
    [
      'backendRequest longer than request',
      'timeouts: { request: 1s, backendRequest: 2s }',
      /backendRequest timeout cannot be longer than request timeout/,
    ],
    ['attempts 0', 'retry: { attempts: 0 }', /between 1 and/],
    ['code out of range', 'retry: { codes: [302] }', /between 400 and 599/],
    ['bad backoff', 'retry: { backoff: 1.5s }', /not a Gateway API duration/],
  ];
  for (const [name, extra, re] of rejected) {
    it(`${name}: the route is refused`, () => {
      const r = translateYaml(BASE + route(extra));
      assert.equal(r.diags.items[0]?.code, 'E_GWAPI_INVALID');
      assert.match(r.diags.items[0]!.message, re);
      assert.equal(routesByName(r).size, 0);
    });
  }
  it('backendRequest may exceed a disabled (0s) request timeout', () => {
    const r = translateYaml(BASE + route('timeouts: { request: 0s, backendRequest: 20s }'));
    assert.deepEqual(r.diags.items, []);
    assert.equal(onlyRoute(r).timeout?.requestMs, 20_000);
  });
});
