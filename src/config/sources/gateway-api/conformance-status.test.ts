/**
 * Replays the status checks of the Gateway API conformance data (`../shared/conformance/gateway-api`,
 * see its README 1.5) against the translator's status output. Skipped when the data is absent.
 * Checks that need a running cluster (observedGeneration bumps, mutations) are left out.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Diagnostics } from '../../model.js';
import { ServiceResolver, loadObjects } from './test-support.js';
import { translateGatewayApi, type GatewayApiResult } from './translate-gateway-api.js';
import type { StatusEntry } from './status.js';

const ROOT = process.env.LEGATE_SHARED
  ? `${process.env.LEGATE_SHARED}/conformance/gateway-api/`
  : fileURLToPath(new URL('../../../../../../shared/conformance/gateway-api/', import.meta.url));

type Ref = { kind: string; namespace: string; name: string };
type Cond = { type: string; status: string; reason?: string };
type Check = {
  check: string;
  route?: Ref;
  parent?: Ref;
  gateway?: Ref;
  condition?: Cond;
  gatewayListenersMustHave?: Cond[];
  parents?: { parentRef: Ref; conditions: Cond[] }[];
  exactListenerCount?: number;
  listeners?: { name: string; supportedKinds: { group: string; kind: string }[]; conditions: Cond[]; attachedRoutes: number }[];
};
type Test = { name: string; manifests: string[]; statusChecks?: Check[] };

const CLASS = `
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: legate }
spec: { controllerName: legate.dev/gateway-controller }
---
# Created by the upstream suite in code, not in YAML (README 1, step 3); the content is not checked here.
apiVersion: v1
kind: Secret
metadata: { name: tls-validity-checks-certificate, namespace: gateway-conformance-infra }
type: kubernetes.io/tls
stringData: { tls.crt: "-----BEGIN CERTIFICATE-----", tls.key: "-----BEGIN PRIVATE KEY-----" }
`;

const present = fs.existsSync(`${ROOT}tests.json`);

const refName = (r: Ref) => `${r.kind}/${r.namespace}/${r.name}`;

function parentsOf(r: GatewayApiResult, route: Ref, parent?: Ref): StatusEntry[] {
  return r.status.filter(
    (s) =>
      s.object === refName(route) &&
      s.parentRef !== undefined &&
      (parent === undefined ||
        (s.parentRef.namespace === parent.namespace && s.parentRef.name === parent.name && s.parentRef.kind === parent.kind)),
  );
}

function hasCondition(list: StatusEntry['conditions'], want: Cond): boolean {
  return list.some((c) => c.type === want.type && c.status === want.status && (want.reason === undefined || c.reason === want.reason));
}

function show(entries: StatusEntry[]): string {
  return JSON.stringify(
    entries.map((e) => ({
      parent: e.parent,
      listener: e.listener,
      conditions: e.conditions.map((c) => `${c.type}=${c.status}/${c.reason}: ${c.message}`),
    })),
    null,
    1,
  );
}

function listenersOf(r: GatewayApiResult, gateway: Ref): StatusEntry[] {
  return r.status.filter((s) => s.object === refName(gateway) && s.listener !== undefined);
}

const CHECKS: Record<string, (r: GatewayApiResult, c: Check) => void> = {
  routeAcceptedByGateway(r, c) {
    const parents = parentsOf(r, c.route!, c.parent);
    assert.ok(
      parents.some((p) => hasCondition(p.conditions, { type: 'Accepted', status: 'True', reason: 'Accepted' })),
      `${refName(c.route!)} is not accepted by ${refName(c.parent!)}:\n${show(parents)}`,
    );
    for (const l of listenersOf(r, c.parent!))
      for (const want of c.gatewayListenersMustHave ?? [])
        assert.ok(hasCondition(l.conditions, want), `listener ${l.listener} lacks ${want.type}=${want.status}:\n${show([l])}`);
  },
  routeParentCondition(r, c) {
    const parents = parentsOf(r, c.route!, c.parent);
    assert.ok(
      parents.some((p) => hasCondition(p.conditions, c.condition!)),
      `${refName(c.route!)} parent ${refName(c.parent!)} lacks ${JSON.stringify(c.condition)}:\n${show(parents)}`,
    );
  },
  routeParents(r, c) {
    const parents = parentsOf(r, c.route!);
    assert.equal(parents.length, c.parents!.length, show(parents));
    for (const want of c.parents!) {
      const got = parentsOf(r, c.route!, want.parentRef);
      assert.ok(
        got.length === 1 && want.conditions.every((w) => hasCondition(got[0]!.conditions, w)),
        `want ${JSON.stringify(want)}:\n${show(got)}`,
      );
      assert.equal(got[0]!.parentRef!.namespace, want.parentRef.namespace);
    }
  },
  routeHasNoAcceptedParents(r, c) {
    const parents = parentsOf(r, c.route!);
    const ok =
      parents.length === 0 || (parents.length === 1 && hasCondition(parents[0]!.conditions, { type: 'Accepted', status: 'False' }));
    assert.ok(ok, show(parents));
  },
  gatewayHasZeroAttachedRoutes(r, c) {
    const ls = listenersOf(r, c.gateway!);
    assert.ok(
      ls.length === 0 || (ls.length === 1 && ls[0]!.attachedRoutes === 0),
      show(ls) + JSON.stringify(ls.map((l) => l.attachedRoutes)),
    );
  },
  gatewayListenerStatus(r, c) {
    const ls = listenersOf(r, c.gateway!);
    if (c.exactListenerCount !== undefined) assert.equal(ls.length, c.exactListenerCount);
    for (const want of c.listeners ?? []) {
      const got = ls.find((l) => l.listener === want.name);
      assert.ok(got, `no listener ${want.name}`);
      assert.equal(got.attachedRoutes, want.attachedRoutes, `attachedRoutes of ${want.name}`);
      for (const k of want.supportedKinds)
        assert.ok(
          got.supportedKinds!.some((s) => s.group === k.group && s.kind === k.kind),
          `${want.name} lacks kind ${k.kind}`,
        );
      for (const cond of want.conditions)
        assert.ok(hasCondition(got.conditions, cond), `${want.name} lacks ${JSON.stringify(cond)}:\n${show([got])}`);
    }
  },
};

describe('Gateway API conformance: status checks', { skip: present ? false : `no conformance data at ${ROOT}` }, () => {
  if (!present) return;
  const data = JSON.parse(fs.readFileSync(`${ROOT}tests.json`, 'utf8')) as { tests: Test[] };
  for (const test of data.tests) {
    const checks = (test.statusChecks ?? []).filter((c) => CHECKS[c.check]);
    if (checks.length === 0) continue;
    it(test.name, () => {
      const text = [CLASS, ...test.manifests.map((m) => fs.readFileSync(`${ROOT}conformance/${m}`, 'utf8'))]
        .join('\n---\n')
        .replaceAll('{GATEWAY_CLASS_NAME}', 'legate');
      const objects = loadObjects(text);
      const diags = new Diagnostics();
      const r = translateGatewayApi(objects, new ServiceResolver(objects), diags, { mergeGateways: false });
      for (const c of checks) CHECKS[c.check]!(r, c);
    });
  }
});
