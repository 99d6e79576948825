import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseManifestText } from '../../load/load-manifests.js';
import { Diagnostics } from '../../model.js';
import { KubernetesEndpoints } from '../kubernetes/endpoint-resolver.js';
import { isHttpProtocol, kubernetesPortProtocol, ServiceRegistry, upstreamProtocol } from './registry.js';
import { ep, service, serviceEntry, workloadEntry, yamlOf, type Manifest } from './test-support.js';

function registry(objects: Manifest[], endpoints: Record<string, ReturnType<typeof ep>[]> = {}) {
  const diags = new Diagnostics();
  const loaded = parseManifestText('test.yaml', yamlOf(objects), diags);
  const reg = new ServiceRegistry(loaded, new KubernetesEndpoints(loaded, (ns, svc) => endpoints[`${ns}/${svc}`]), diags);
  const codes = diags.items.map((d) => `${d.code} ${d.field ?? ''}`.trim());
  /** Endpoints of a host's port as `address:port`. */
  const eps = (host: string, port: number) => {
    const svc = reg.get(host);
    if (!svc) throw new Error(`no service ${host}`);
    return svc.endpoints(svc.ports.find((p) => p.number === port)!).map((e) => `${e.address}:${e.port}`);
  };
  return { reg, diags, codes, eps };
}

const HTTP80 = [{ number: 80, name: 'http', protocol: 'HTTP' }];

type Rejected = { name: string; spec: Record<string, unknown>; field: string; message: string };
// ServiceEntry webhook rules (config-apis.md 3.10, 6 #24).
const rejected: Rejected[] = [
  {
    name: 'resolution NONE with endpoints',
    spec: { hosts: ['a.example.com'], ports: HTTP80, endpoints: [{ address: '10.0.0.1' }] },
    field: 'spec.endpoints',
    message: 'no endpoints should be provided for resolution type none',
  },
  {
    name: 'a STATIC endpoint that is not an IP',
    spec: { hosts: ['a.example.com'], ports: HTTP80, resolution: 'STATIC', endpoints: [{ address: 'backend.example.com' }] },
    field: 'spec.endpoints[0].address',
    message: 'endpoint address "backend.example.com" is not a valid IP address',
  },
  {
    name: 'an endpoint port that is not a declared port name',
    spec: { hosts: ['a.example.com'], ports: HTTP80, resolution: 'STATIC', endpoints: [{ address: '10.0.0.1', ports: { metrics: 9999 } }] },
    field: 'spec.endpoints[0].ports.metrics',
    message: 'endpoint port 9999 is not defined by the service entry',
  },
  {
    name: 'DNS_ROUND_ROBIN with two endpoints',
    spec: {
      hosts: ['a.example.com'],
      ports: HTTP80,
      resolution: 'DNS_ROUND_ROBIN',
      endpoints: [{ address: 'x.example.com' }, { address: 'y.example.com' }],
    },
    field: 'spec.endpoints',
    message: 'there must only be 0 or 1 endpoint for resolution mode DNS_ROUND_ROBIN',
  },
  { name: 'host *', spec: { hosts: ['*'], ports: HTTP80, resolution: 'DNS' }, field: 'spec.hosts[0]', message: 'invalid host *' },
  {
    name: 'a port name used twice',
    spec: { hosts: ['a.example.com'], ports: [...HTTP80, { number: 81, name: 'http' }] },
    field: 'spec.ports[1].name',
    message: 'service entry port name "http" already defined',
  },
  {
    name: 'a port number used twice',
    spec: { hosts: ['a.example.com'], ports: [...HTTP80, { number: 80, name: 'http-alt' }] },
    field: 'spec.ports[1].number',
    message: 'service entry port 80 already defined',
  },
  {
    name: 'endpoints and workloadSelector together',
    spec: {
      hosts: ['a.example.com'],
      ports: HTTP80,
      resolution: 'STATIC',
      endpoints: [{ address: '10.0.0.1' }],
      workloadSelector: { labels: { app: 'a' } },
    },
    field: 'spec.workloadSelector',
    message: 'only one of WorkloadSelector or Endpoints is allowed in Service Entry',
  },
  {
    name: 'DNS without endpoints for a wildcard host',
    spec: { hosts: ['*.example.com'], ports: HTTP80, resolution: 'DNS' },
    field: 'spec.hosts[0]',
    message: 'hosts must be FQDN if no endpoints are provided for resolution mode DNS',
  },
];

for (const c of rejected)
  test(`ServiceEntry rejected: ${c.name}`, () => {
    const r = registry([serviceEntry('se', c.spec)]);
    const hit = r.diags.items.find((d) => d.code === 'E_ISTIO_INVALID' && d.field === c.field);
    assert.ok(hit, `no E_ISTIO_INVALID at ${c.field}: ${JSON.stringify(r.codes)}`);
    assert.ok(hit.message.includes(c.message), hit.message);
    assert.equal(r.reg.services.size, 0, 'the ServiceEntry is skipped');
  });

const schema: { name: string; spec: Record<string, unknown>; field: string; message: string }[] = [
  { name: 'no hosts', spec: { ports: HTTP80 }, field: 'spec.hosts', message: 'spec.hosts is required' },
  {
    name: 'port number 0',
    spec: { hosts: ['a.example.com'], ports: [{ number: 0, name: 'http' }] },
    field: 'spec.ports[0].number',
    message: 'spec.ports[0].number is 0; it must be at least 1',
  },
  {
    name: 'unknown resolution',
    spec: { hosts: ['a.example.com'], resolution: 'ROUND_ROBIN' },
    field: 'spec.resolution',
    message: 'spec.resolution: Unsupported value: "ROUND_ROBIN": supported values: "NONE"',
  },
  {
    name: 'hosts as a string',
    spec: { hosts: 'a.example.com' },
    field: 'spec.hosts',
    message: 'spec.hosts must be a list, not the string "a.example.com"',
  },
  {
    name: 'a weight that is not whole',
    spec: { hosts: ['a.example.com'], endpoints: [{ address: '10.0.0.1', weight: 1.5 }] },
    field: 'spec.endpoints[0].weight',
    message: 'spec.endpoints[0].weight must be a whole number, not 1.5',
  },
];
for (const c of schema)
  test(`ServiceEntry schema error: ${c.name}`, () => {
    const r = registry([serviceEntry('se', c.spec)]);
    const hit = r.diags.items.find((d) => d.code === 'E_ISTIO_SCHEMA' && d.field === c.field);
    assert.ok(hit, `no E_ISTIO_SCHEMA at ${c.field}: ${JSON.stringify(r.codes)}`);
    assert.ok(hit.message.includes(c.message), hit.message);
  });

test('STATIC endpoints: port from the endpoint ports map, else targetPort, else the number; labels, locality, weight kept', () => {
  const r = registry([
    serviceEntry('se', {
      hosts: ['api.example.com'],
      ports: [
        { number: 80, name: 'http', protocol: 'HTTP', targetPort: 8080 },
        { number: 81, name: 'http-b', protocol: 'HTTP' },
      ],
      resolution: 'STATIC',
      endpoints: [
        { address: '10.0.0.1', ports: { http: 9000 }, labels: { version: 'v1' }, locality: 'r1/z1/s1', weight: 3 },
        { address: '10.0.0.2' },
      ],
    }),
  ]);
  assert.deepEqual(r.codes, []);
  assert.deepEqual(r.eps('api.example.com', 80), ['10.0.0.1:9000', '10.0.0.2:8080']);
  assert.deepEqual(r.eps('api.example.com', 81), ['10.0.0.1:81', '10.0.0.2:81']);
  const svc = r.reg.get('api.example.com')!;
  const [first, second] = svc.endpoints(svc.ports[0]!);
  assert.deepEqual(first!.labels, { version: 'v1' });
  assert.deepEqual(first!.locality, { region: 'r1', zone: 'z1', subZone: 's1' });
  assert.equal(first!.weight, 3);
  assert.equal(second!.weight, 1, 'unset weight is normalised to a positive one');
  assert.equal(svc.ports[0]!.protocol, 'HTTP');
});

test('ServiceEntry hosts are literal; DNS without endpoints resolves the host itself; NONE has no endpoints and warns', () => {
  const r = registry([
    serviceEntry('dns', { hosts: ['api.example.com', 'short'], ports: HTTP80, resolution: 'DNS' }),
    serviceEntry('none', { hosts: ['passthrough.example.com'], ports: HTTP80 }),
  ]);
  assert.deepEqual(r.eps('api.example.com', 80), ['api.example.com:80']);
  assert.ok(r.reg.get('short'), 'not expanded to short.default.svc.cluster.local');
  assert.deepEqual(r.eps('passthrough.example.com', 80), []);
  assert.deepEqual(r.codes, ['W_ISTIO_NOT_APPLIED spec.resolution']);
});

test('WorkloadEntries join a ServiceEntry by workloadSelector and a Service by its selector (same namespace only)', () => {
  const r = registry([
    workloadEntry('vm-1', { address: '10.1.0.1', labels: { app: 'pay' }, ports: { http: 7000 } }),
    workloadEntry('vm-2', { address: '10.1.0.2' }, 'default', { app: 'pay' }),
    workloadEntry('vm-other-ns', { address: '10.1.0.3', labels: { app: 'pay' } }, 'other'),
    serviceEntry('pay', { hosts: ['pay.example.com'], ports: HTTP80, resolution: 'STATIC', workloadSelector: { labels: { app: 'pay' } } }),
    service('pay', ['http:8080:9090'], { selector: { app: 'pay' } }),
  ]);
  assert.deepEqual(r.codes, []);
  assert.deepEqual(r.eps('pay.example.com', 80), ['10.1.0.1:7000', '10.1.0.2:80']);
  assert.deepEqual(r.eps('pay.default.svc.cluster.local', 8080), ['10.1.0.1:7000', '10.1.0.2:9090']);
});

test('a Kubernetes Service: FQDN host, endpoints from the resolver with their labels', () => {
  const r = registry([service('reviews', ['http:9080'])], { 'default/reviews': [ep(1, { version: 'v1' })] });
  assert.deepEqual(r.eps('reviews.default.svc.cluster.local', 9080), ['127.0.0.1:1']);
  assert.deepEqual(
    r.reg.get('reviews.default.svc.cluster.local')!.endpoints(r.reg.get('reviews.default.svc.cluster.local')!.ports[0]!)[0]!.labels,
    {
      version: 'v1',
    },
  );
});

test('WorkloadEntry schema: unknown fields warn, wrong types reject', () => {
  const r = registry([
    workloadEntry('vm', { address: '10.0.0.1', colour: 'blue' }),
    workloadEntry('bad', { address: '10.0.0.2', weight: -1 }),
  ]);
  assert.deepEqual(r.codes, ['W_ISTIO_UNKNOWN_FIELD spec.colour', 'E_ISTIO_SCHEMA spec.weight']);
});

const protocols: [string, string | undefined, string, string][] = [
  ['http', undefined, 'TCP', 'HTTP'],
  ['http-web', undefined, 'TCP', 'HTTP'],
  ['http2', undefined, 'TCP', 'HTTP2'],
  ['grpc', undefined, 'TCP', 'GRPC'],
  ['grpc-api', undefined, 'TCP', 'GRPC'],
  ['https', undefined, 'TCP', 'HTTPS'],
  ['tcp-db', undefined, 'TCP', 'TCP'],
  ['redis', undefined, 'TCP', 'TCP'],
  ['', undefined, 'TCP', 'UNKNOWN'],
  ['web', undefined, 'TCP', 'UNKNOWN'],
  ['web', 'kubernetes.io/h2c', 'TCP', 'HTTP2'],
  ['web', 'kubernetes.io/ws', 'TCP', 'HTTP'],
  ['web', 'kubernetes.io/wss', 'TCP', 'HTTPS'],
  ['web', 'grpc', 'TCP', 'GRPC'],
  ['http', undefined, 'UDP', 'UDP'],
];
for (const [name, app, l4, want] of protocols)
  test(`port protocol: name "${name}" appProtocol ${app ?? '-'} ${l4} -> ${want}`, () => {
    assert.equal(kubernetesPortProtocol(name, app, l4), want);
  });

test('upstream protocol and HTTP family', () => {
  assert.equal(upstreamProtocol('HTTP'), 'http1');
  assert.equal(upstreamProtocol('HTTP2'), 'http2');
  assert.equal(upstreamProtocol('GRPC'), 'http2');
  assert.equal(upstreamProtocol('UNKNOWN'), 'downstream');
  assert.equal(isHttpProtocol('UNKNOWN'), true, 'sniffed ports get HTTP listeners');
  assert.equal(isHttpProtocol('TCP'), false);
  assert.equal(isHttpProtocol('HTTPS'), false);
});
