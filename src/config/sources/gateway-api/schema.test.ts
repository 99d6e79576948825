/**
 * Schema rules the Gateway API readers enforce through zod (schema.ts) that the hand-written checks
 * did not: each with one manifest that breaks it and one that does not.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, conditionsOf, translateYaml } from './test-support.js';

const route = (rules: string, spec = '') => `
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: r, namespace: default }
spec:
  parentRefs: [{ name: gw, namespace: infra }]
${spec}  rules:
${rules}`;

const BACKEND = 'backendRefs: [{ name: svc, port: 8080 }]';

/** Schema errors (E_GWAPI_INVALID) as `field: message`. */
function errors(text: string): string[] {
  return translateYaml(text)
    .diags.items.filter((d) => d.code === 'E_GWAPI_INVALID')
    .map((d) => `${d.field}: ${d.message}`);
}

/** [name, breaking manifest, the message it must give, the same rule kept]. */
const rules: [string, string, RegExp, string][] = [
  [
    'GatewayClass controllerName is a domain-prefixed path',
    'apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: { name: c }\nspec: { controllerName: legate }',
    /controllerName "legate" must be a domain-prefixed path/,
    'apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: { name: c }\nspec: { controllerName: legate.dev/c }',
  ],
  [
    'GatewayClass parametersRef needs a group',
    'apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: { name: c }\nspec: { controllerName: a.b/c, parametersRef: { kind: EnvoyProxy, name: p } }',
    /spec.parametersRef.group is required/,
    'apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: { name: c }\nspec: { controllerName: a.b/c, parametersRef: { group: "", kind: ConfigMap, name: p } }',
  ],
  [
    'a Terminate listener needs certificateRefs or options (CEL)',
    'apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: { name: g }\nspec:\n  gatewayClassName: x\n  listeners: [{ name: h, port: 443, protocol: HTTPS, tls: { mode: Terminate } }]',
    /certificateRefs or options must be specified when mode is Terminate/,
    'apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: { name: g }\nspec:\n  gatewayClassName: x\n  listeners: [{ name: h, port: 443, protocol: HTTPS, tls: { options: { a: b } } }]',
  ],
  [
    'infrastructure label keys (CEL)',
    'apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: { name: g }\nspec:\n  gatewayClassName: x\n  infrastructure: { labels: { "-bad": x } }\n  listeners: [{ name: h, port: 80, protocol: HTTP }]',
    /Label keys must be in the form/,
    'apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: { name: g }\nspec:\n  gatewayClassName: x\n  infrastructure: { labels: { "example.com/team": x } }\n  listeners: [{ name: h, port: 80, protocol: HTTP }]',
  ],
  [
    'rule names are DNS subdomains',
    BASE + route(`  - name: Not_A_Name\n    ${BACKEND}`),
    /rule name "Not_A_Name" must be a DNS subdomain/,
    BASE + route(`  - name: api.v1\n    ${BACKEND}`),
  ],
  [
    'header modifier values are not empty',
    BASE +
      route(`  - filters: [{ type: RequestHeaderModifier, requestHeaderModifier: { set: [{ name: x, value: "" }] } }]\n    ${BACKEND}`),
    /filters\[0\]\.requestHeaderModifier\.set\[0\]\.value must have at least 1 character/,
    BASE +
      route(`  - filters: [{ type: RequestHeaderModifier, requestHeaderModifier: { set: [{ name: x, value: "y" }] } }]\n    ${BACKEND}`),
  ],
  [
    'query parameter names are header-name tokens',
    BASE + route(`  - matches: [{ queryParams: [{ name: "a b", value: x }] }]\n    ${BACKEND}`),
    /header name "a b" may only contain token characters/,
    BASE + route(`  - matches: [{ queryParams: [{ name: "a-b", value: x }] }]\n    ${BACKEND}`),
  ],
  [
    'a CORS filter needs its settings (CEL)',
    BASE + route(`  - filters: [{ type: CORS }]\n    ${BACKEND}`),
    /filter.cors must be specified for CORS filter.type/,
    BASE + route(`  - filters: [{ type: CORS, cors: { allowOrigins: ["*"] } }]\n    ${BACKEND}`),
  ],
  [
    "CORS lists take '*' alone (CEL)",
    BASE + route(`  - filters: [{ type: CORS, cors: { allowMethods: ["*", GET] } }]\n    ${BACKEND}`),
    /AllowMethods cannot contain '\*' alongside other methods/,
    BASE + route(`  - filters: [{ type: CORS, cors: { allowMethods: [GET, POST] } }]\n    ${BACKEND}`),
  ],
  [
    'ExternalAuth settings match the protocol (CEL)',
    BASE +
      route(`  - filters: [{ type: ExternalAuth, externalAuth: { protocol: GRPC, backendRef: { name: a, port: 9 } } }]\n    ${BACKEND}`),
    /grpc must be specified when protocol is set to 'GRPC'/,
    BASE +
      route(
        `  - filters: [{ type: ExternalAuth, externalAuth: { protocol: GRPC, grpc: {}, backendRef: { name: a, port: 9 } } }]\n    ${BACKEND}`,
      ),
  ],
  [
    'CORS is not repeated (CEL)',
    BASE + route(`  - filters: [{ type: CORS, cors: {} }, { type: CORS, cors: {} }]\n    ${BACKEND}`),
    /CORS filter cannot be repeated/,
    BASE + route(`  - filters: [{ type: CORS, cors: {} }]\n    ${BACKEND}`),
  ],
  [
    'ReplacePrefixMatch inside backendRefs needs one PathPrefix match (CEL)',
    BASE +
      route(
        `  - matches: [{ path: { type: Exact, value: /a } }]\n    backendRefs: [{ name: svc, port: 8080, filters: [{ type: URLRewrite, urlRewrite: { path: { type: ReplacePrefixMatch, replacePrefixMatch: /b } } }] }]`,
      ),
    /Within backendRefs, When using URLRewrite filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified/,
    BASE +
      route(
        `  - matches: [{ path: { type: PathPrefix, value: /a } }]\n    backendRefs: [{ name: svc, port: 8080, filters: [{ type: URLRewrite, urlRewrite: { path: { type: ReplacePrefixMatch, replacePrefixMatch: /b } } }] }]`,
      ),
  ],
  [
    'sessionPersistence: a Header type needs a header (CEL)',
    BASE + route(`  - sessionPersistence: { type: Header }\n    ${BACKEND}`),
    /header must be specified for Header type/,
    BASE + route(`  - sessionPersistence: { type: Header, header: { name: x-session } }\n    ${BACKEND}`),
  ],
  [
    'every failing path rule is reported, as the API server does',
    BASE + route(`  - matches: [{ path: { type: Exact, value: "a//b" } }]\n    ${BACKEND}`),
    /must not contain '\/\/'/,
    BASE + route(`  - matches: [{ path: { type: Exact, value: "/a/b" } }]\n    ${BACKEND}`),
  ],
];

describe('Gateway API schema rules', () => {
  for (const [name, bad, re, good] of rules)
    it(name, () => {
      const got = errors(bad);
      assert.ok(
        got.some((e) => re.test(e)),
        `no error matching ${re}: ${JSON.stringify(got)}`,
      );
      assert.deepEqual(errors(good), [], 'the same object within the rule is accepted');
    });

  it('an invalid path reports each failing CEL rule', () => {
    const got = errors(BASE + route(`  - matches: [{ path: { type: Exact, value: "a//b" } }]\n    ${BACKEND}`));
    assert.deepEqual(got, [
      "spec.rules[0].matches[0].path.value: value must be an absolute path and start with '/' when type one of ['Exact', 'PathPrefix'] (the API server rejects this HTTPRoute)",
      "spec.rules[0].matches[0].path.value: must not contain '//' when type one of ['Exact', 'PathPrefix'] (the API server rejects this HTTPRoute)",
    ]);
  });

  it('a listener protocol that is a plain name is admitted and reported UnsupportedProtocol; a malformed one is refused', () => {
    const gw = (protocol: string) =>
      `apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: { name: legate }\nspec: { controllerName: legate.dev/c }\n---\napiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: { name: gw, namespace: infra }\nspec:\n  gatewayClassName: legate\n  listeners: [{ name: a, port: 80, protocol: "${protocol}" }]`;
    const named = translateYaml(gw('HTTP3'));
    assert.deepEqual(
      named.diags.items.map((d) => d.code),
      ['W_GWAPI_UNSUPPORTED_PROTOCOL'],
    );
    assert.ok(conditionsOf(named, 'Gateway/infra/gw', { listener: 'a' }).includes('Accepted=False/UnsupportedProtocol'));
    assert.match(errors(gw('not a protocol'))[0]!, /protocol "not a protocol" is not HTTP, HTTPS, TLS, TCP, UDP/);
  });

  it('two parentRefs to one Gateway are the same parent only when written the same (CEL compares namespaces as written)', () => {
    const refs = (list: string) => `${BASE}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: r, namespace: infra }
spec:
  parentRefs: ${list}
  rules: [{ ${BACKEND} }]`;
    assert.match(errors(refs('[{ name: gw }, { name: gw }]'))[0]!, /sectionName or port must be specified/);
    assert.deepEqual(errors(refs('[{ name: gw }, { name: gw, namespace: infra }]')), []);
  });
});

describe('older API versions', () => {
  it('v1beta1 HTTPRoutes, v1alpha2 GRPCRoutes and v1beta1 ReferenceGrants are checked by the same schemas', () => {
    const old = (apiVersion: string, kind: string, spec: string) =>
      `---\napiVersion: gateway.networking.k8s.io/${apiVersion}\nkind: ${kind}\nmetadata: { name: x, namespace: default }\nspec: ${spec}\n`;
    const bad = errors(
      BASE +
        old('v1beta1', 'HTTPRoute', '{ rules: [{ timeouts: { request: 1.5s } }] }') +
        old('v1alpha2', 'GRPCRoute', '{ rules: [{ matches: [{ method: { type: Exact } }] }] }') +
        old('v1beta1', 'ReferenceGrant', '{ from: [], to: [{ group: "", kind: Service }] }'),
    );
    assert.deepEqual(
      bad.map((e) => e.slice(0, e.indexOf(':'))),
      ['spec.from', 'spec.rules[0].matches[0].method', 'spec.rules[0].timeouts.request'],
    );
    const good = errors(
      BASE +
        old('v1beta1', 'HTTPRoute', '{ rules: [{ timeouts: { request: 1500ms } }] }') +
        old('v1alpha2', 'GRPCRoute', '{ rules: [{ matches: [{ method: { service: a.B } }] }] }') +
        old('v1beta1', 'ReferenceGrant', '{ from: [{ group: "", kind: Service, namespace: a }], to: [{ group: "", kind: Service }] }'),
    );
    assert.deepEqual(good, []);
  });
});

describe('unknown fields', () => {
  it('are warnings naming the field and the nearest known name; the object still applies', () => {
    const r = translateYaml(BASE + route(`  - matchs: [{ path: { value: /a } }]\n    ${BACKEND}`));
    assert.deepEqual(
      r.diags.items.map((d) => [d.severity, d.code, d.field, d.fix]),
      [['warning', 'W_GWAPI_UNKNOWN_FIELD', 'spec.rules[0].matchs', 'did you mean "matches"?']],
    );
    assert.equal(r.status.find((s) => s.object === 'HTTPRoute/default/r')?.conditions[0]?.status, 'True');
  });

  it('a field far from every known one lists the known ones', () => {
    const r = translateYaml(BASE + route(`  - ${BACKEND}`, '  colour: blue\n'));
    assert.equal(r.diags.items[0]?.code, 'W_GWAPI_UNKNOWN_FIELD');
    assert.match(
      r.diags.items[0]!.fix!,
      /^check the spelling against the Gateway API reference; the fields here are parentRefs, hostnames, useDefaultGateways, rules$/,
    );
  });

  it('are not reported for known fields, nulls or experimental fields', () => {
    const r = translateYaml(
      BASE +
        route(`  - name: a\n    filters:\n    timeouts: { request: 10s }\n    retry: { attempts: 2 }\n    ${BACKEND}`, '  hostnames:\n'),
    );
    assert.deepEqual(r.diags.items, []);
  });
});
