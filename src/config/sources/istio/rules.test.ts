import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseManifestText } from '../../load/load-manifests.js';
import { Diagnostics } from '../../model.js';
import { covers, hostsMatch, parseIstioLocality, resolveShortname, serviceDomains, specificity } from './hosts.js';
import { duration, percentage, ruleCtx } from './rules.js';
import { checkSpec, VirtualServiceSpec } from './schema.js';

function ctx() {
  const diags = new Diagnostics();
  const [o] = parseManifestText(
    't.yaml',
    'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: v}\nspec: {}\n',
    diags,
  );
  return { c: ruleCtx(o!, diags), diags };
}

// Istio durations: Go syntax, >= 1 ms, millisecond precision (config-apis.md 0, 3.3).
const durations: [string, number | string][] = [
  ['1ms', 1],
  ['250ms', 250],
  ['1.5s', 1500],
  ['1h30m', 5_400_000],
  ['2m0.5s', 120_500],
  ['1000us', 1],
  ['0.001s', 1],
  ['0s', 'duration must be greater than 1ms'],
  ['0', 'duration must be greater than 1ms'],
  ['999us', 'duration must be greater than 1ms'],
  ['1.5ms', 'only durations to ms precision are supported'],
  ['1001us', 'only durations to ms precision are supported'],
  ['10', 'is not a duration'],
  ['1d', 'is not a duration'],
  ['', 'is not a duration'],
];
for (const [text, want] of durations)
  test(`duration "${text}" -> ${want}`, () => {
    const { c, diags } = ctx();
    const got = duration(c, text, ['spec', 'x']);
    if (typeof want === 'number') {
      assert.equal(got, want);
      assert.equal(c.ok, true);
    } else {
      assert.equal(got, undefined);
      assert.equal(c.ok, false);
      assert.equal(diags.items[0]!.code, 'E_ISTIO_INVALID');
      assert.equal(diags.items[0]!.field, 'spec.x');
      assert.ok(diags.items[0]!.message.includes(want), diags.items[0]!.message);
    }
  });

const percentages: [number, number | undefined][] = [
  [0, 0],
  [0.0001, 1],
  [12.5, 125_000],
  [100, 1_000_000],
  [0.00009, undefined],
  [100.0001, undefined],
  [-1, undefined],
];
for (const [v, numerator] of percentages)
  test(`percentage ${v} -> ${numerator === undefined ? 'rejected' : `${numerator} per million`}`, () => {
    const { c, diags } = ctx();
    const got = percentage(c, v, ['p']);
    if (numerator === undefined) {
      assert.equal(got, undefined);
      assert.equal(
        diags.items[0]!.message.startsWith(`p: percentage ${v} is neither 0.0, nor in range [0.0001, 100.0]`),
        true,
        diags.items[0]!.message,
      );
    } else assert.deepEqual(got, { numerator, denominator: 1_000_000 });
  });

const shortnames: [string, string, string][] = [
  ['reviews', 'default', 'reviews.default.svc.cluster.local'],
  ['reviews', 'prod', 'reviews.prod.svc.cluster.local'],
  ['reviews.prod', 'default', 'reviews.prod'],
  ['reviews.prod.svc.cluster.local', 'default', 'reviews.prod.svc.cluster.local'],
  ['*', 'default', '*'],
  ['*.example.com', 'default', '*.example.com'],
  ['10.0.0.1', 'default', '10.0.0.1'],
  ['::1', 'default', '::1'],
];
for (const [host, ns, want] of shortnames)
  test(`short name "${host}" in ${ns} -> ${want}`, () => assert.equal(resolveShortname(host, ns), want));

test('host covering and specificity', () => {
  assert.equal(covers('*', 'a.b'), true);
  assert.equal(covers('*.example.com', 'a.example.com'), true);
  assert.equal(covers('*.example.com', 'example.com'), false);
  assert.equal(covers('*.example.com', '*.a.example.com'), true);
  assert.equal(covers('*.a.example.com', '*.example.com'), false);
  assert.equal(covers('a.example.com', 'a.example.com'), true);
  assert.equal(hostsMatch('*.a.example.com', '*.example.com'), true);
  assert.equal(hostsMatch('a.example.com', 'b.example.com'), false);
  assert.ok(specificity('a.example.com') > specificity('*.a.example.com'));
  assert.ok(specificity('*.a.example.com') > specificity('*.example.com'));
  assert.ok(specificity('*.example.com') > specificity('*'));
});

test("service domains: FQDN and shorter forms; the bare name only in the client's namespace", () => {
  assert.deepEqual(serviceDomains('reviews.default.svc.cluster.local', 'default'), [
    'reviews.default.svc.cluster.local',
    'reviews.default.svc',
    'reviews.default',
    'reviews',
  ]);
  assert.deepEqual(serviceDomains('reviews.prod.svc.cluster.local', 'default'), [
    'reviews.prod.svc.cluster.local',
    'reviews.prod.svc',
    'reviews.prod',
  ]);
  assert.deepEqual(serviceDomains('api.example.com', 'default'), ['api.example.com']);
});

test('Istio localities', () => {
  assert.deepEqual(parseIstioLocality('us-east1/us-east1-b/'), { region: 'us-east1', zone: 'us-east1-b' });
  assert.deepEqual(parseIstioLocality('r1'), { region: 'r1' });
  assert.equal(parseIstioLocality(''), undefined);
});

test('schema: wrong types are errors at their path; unknown fields are warnings and the spec is still used', () => {
  const diags = new Diagnostics();
  const [bad, unknown] = parseManifestText(
    't.yaml',
    [
      'apiVersion: networking.istio.io/v1',
      'kind: VirtualService',
      'metadata: {name: bad}',
      'spec:',
      '  hosts: reviews',
      '  http:',
      '  - retries: {attempts: "3"}',
      '    route: [{destination: {port: {number: 80}}}]',
      '---',
      'apiVersion: networking.istio.io/v1',
      'kind: VirtualService',
      'metadata: {name: unknown}',
      'spec:',
      '  hosts: [reviews]',
      '  http:',
      '  - route: [{destination: {host: reviews}}]',
      '    retry: {attempts: 3}',
      '',
    ].join('\n'),
    diags,
  );
  assert.equal(checkSpec(bad!, VirtualServiceSpec, diags), undefined);
  const spec = checkSpec(unknown!, VirtualServiceSpec, diags);
  assert.deepEqual(spec?.hosts, ['reviews']);
  assert.deepEqual(
    diags.items.map((d) => `${d.severity} ${d.code} ${d.field} ${d.line}`).sort(),
    [
      'error E_ISTIO_SCHEMA spec.hosts 5',
      'error E_ISTIO_SCHEMA spec.http[0].route[0].destination.host 8',
      'error E_ISTIO_SCHEMA spec.http[0].retries.attempts 7',
      'warning W_ISTIO_UNKNOWN_FIELD spec.http[0].retry 17',
    ].sort(),
  );
  assert.match(diags.items.find((d) => d.field === 'spec.hosts')!.message, /must be a list/);
  assert.match(diags.items.find((d) => d.field === 'spec.http[0].retries.attempts')!.message, /must be a number/);
  assert.match(diags.items.find((d) => d.field === 'spec.http[0].route[0].destination.host')!.message, / is required/);
});
