import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validate } from './validate.js';
import { clusterDefaults, listenerDefaults } from './builders.js';
import type { Config, Route } from './index.js';

function cfg(route: Partial<Route> = {}, patch: (c: Config) => void = () => {}): Config {
  const l = listenerDefaults('main', '127.0.0.1', 8080);
  const c: Config = {
    version: 't',
    listeners: [
      {
        ...l,
        virtualHosts: [
          {
            name: 'vh',
            domains: ['*'],
            routeOrder: 'ordered',
            origin: {},
            routes: [{ name: 'r', match: {}, action: { kind: 'forward', clusters: [{ cluster: 'b', weight: 1 }] }, origin: {}, ...route }],
          },
        ],
      },
    ],
    clusters: [clusterDefaults('b', [{ address: '127.0.0.1', port: 9000, weight: 1, priority: 0 }])],
  };
  patch(c);
  return c;
}

const retry = {
  retryOn: ['5xx' as const],
  numRetries: 1,
  perTryTimeoutMs: 0,
  perTryIdleTimeoutMs: 0,
  retriableStatusCodes: [],
  retriableHeaders: [],
  retriableRequestHeaders: [],
  backoff: { baseIntervalMs: 25, maxIntervalMs: 250 },
  previousHosts: false,
  hostSelectionRetryMaxAttempts: 1,
  bufferLimitBytes: 1024,
  origin: {},
};

const cases: { name: string; config: Config; field?: string; message: RegExp }[] = [
  {
    name: 'missing cluster',
    config: cfg({ action: { kind: 'forward', clusters: [{ cluster: 'nope', weight: 1 }] } }),
    field: 'action.clusters[0].cluster',
    message: /does not exist/,
  },
  {
    name: 'all weights zero',
    config: cfg({ action: { kind: 'forward', clusters: [{ cluster: 'b', weight: 0 }] } }),
    message: /every weight is 0/,
  },
  {
    name: 'bad RE2 path regex',
    config: cfg({ match: { path: { kind: 'regex', value: '(a' } } }),
    field: 'match.path',
    message: /invalid regular expression/,
  },
  {
    name: 'lookahead is not RE2',
    config: cfg({ match: { path: { kind: 'regex', value: '/(?=a)' } } }),
    field: 'match.path',
    message: /invalid regular expression/,
  },
  {
    name: 'path without slash',
    config: cfg({ match: { path: { kind: 'prefix', value: 'api', segmentAware: true } } }),
    message: /must start with/,
  },
  {
    name: 'redirect status',
    config: cfg({ action: { kind: 'redirect', redirect: { statusCode: 305 as 301 } } }),
    message: /redirect status 305/,
  },
  { name: 'direct status', config: cfg({ action: { kind: 'direct', response: { status: 99 } } }), message: /not in 200-599/ },
  {
    name: 'retry max < base',
    config: cfg({ retry: { ...retry, backoff: { baseIntervalMs: 100, maxIntervalMs: 50 } } }),
    message: /max interval/,
  },
  { name: 'negative retries', config: cfg({ retry: { ...retry, numRetries: -1 } }), field: 'retry.numRetries', message: />= 0/ },
  { name: 'retriable status code', config: cfg({ retry: { ...retry, retriableStatusCodes: [700] } }), message: /not an HTTP status/ },
  { name: 'negative timeout', config: cfg({ timeout: { requestMs: -5, origin: {} } }), field: 'timeout.requestMs', message: />= 0/ },
  {
    name: 'fault denominator',
    config: cfg({
      fault: { abort: { httpStatus: 503, percent: { numerator: 1, denominator: 1000 as 100 } }, scope: 'request', origin: {} },
    }),
    message: /denominator 1000/,
  },
  {
    name: 'fault abort status',
    config: cfg({ fault: { abort: { httpStatus: 99, percent: { numerator: 1, denominator: 100 } }, scope: 'request', origin: {} } }),
    message: /HTTP status 99/,
  },
  { name: 'empty fault', config: cfg({ fault: { scope: 'request', origin: {} } }), message: /needs a delay, an abort/ },
  { name: 'endpoint port', config: cfg({}, (c) => (c.clusters[0]!.endpoints[0]!.port = 0)), message: /port 0/ },
  { name: 'duplicate cluster', config: cfg({}, (c) => c.clusters.push(c.clusters[0]!)), message: /duplicate cluster/ },
  {
    name: 'duplicate domain',
    config: cfg({}, (c) => c.listeners[0]!.virtualHosts.push({ ...c.listeners[0]!.virtualHosts[0]!, name: 'vh2' })),
    message: /also served/,
  },
  { name: 'bad domain', config: cfg({}, (c) => (c.listeners[0]!.virtualHosts[0]!.domains = ['exa mple.com'])), message: /not a host name/ },
  { name: 'tls without key', config: cfg({}, (c) => (c.listeners[0]!.tls = { cert: 'x' })), message: /certificate and a key/ },
];

test('a valid config has no diagnostics', () => {
  assert.deepEqual(validate(cfg()), []);
  assert.deepEqual(validate(cfg({ match: { path: { kind: 'regex', value: '(?i)/API/.*' } } })), [], 'RE2 inline flags are valid');
});

for (const c of cases) {
  test(`diagnoses: ${c.name}`, () => {
    const d = validate(c.config);
    assert.ok(d.length > 0, 'expected a diagnostic');
    const hit = d.find((x) => c.message.test(x.message));
    assert.ok(hit, `no diagnostic matching ${c.message}: ${JSON.stringify(d)}`);
    assert.equal(hit.severity, 'error');
    assert.equal(hit.code, 'E_IR_INVALID');
    if (c.field) assert.equal(hit.field, c.field);
    assert.ok(hit.object, 'names the object');
  });
}
