/** Manifests as YAML text through the real loader, translator and analyzer, and small builders for them. */
import { Diagnostics } from '../../src/config/model.js';
import { loadManifests } from '../../src/config/load/load-manifests.js';
import { analyze, type AnalyzeResult } from '../../src/analyze/analyze.js';
import type { Finding } from '../../src/analyze/finding.js';

export function analyzeDocs(...docs: string[]): AnalyzeResult {
  const diags = new Diagnostics();
  return analyze(loadManifests([{ name: 'test.yaml', text: docs.join('\n---\n') }], diags), diags);
}

export function analyzeYaml(...docs: string[]): Finding[] {
  return analyzeDocs(...docs).findings;
}

/** The findings of one code. */
export function withCode(findings: readonly Finding[], code: string): Finding[] {
  return findings.filter((f) => f.code === code);
}

/** An Envoy Gateway GatewayClass and Gateway `gw` listening on port 80. */
export const GATEWAY = `
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: eg}
spec: {controllerName: gateway.envoyproxy.io/gatewayclass-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: eg
  listeners: [{name: http, protocol: HTTP, port: 80}]`;

/** Service `name` selecting app=name, port `port` (named `portName`) to 9090. */
export function service(name: string, port = 80, portName = 'http'): string {
  return `
apiVersion: v1
kind: Service
metadata: {name: ${name}}
spec:
  selector: {app: ${name}}
  ports: [{name: ${portName}, port: ${port}, targetPort: 9090}]`;
}

/** Deployment `name` of fake-service (or `image`) with pods labelled app=app plus `labels`. */
export function deployment(
  name: string,
  opts: { app?: string; replicas?: number; env?: Record<string, string>; labels?: Record<string, string>; image?: string } = {},
): string {
  const labels = { app: opts.app ?? name, ...opts.labels };
  const env = Object.entries(opts.env ?? {}).map(([k, v]) => `{name: ${k}, value: "${v}"}`);
  return `
apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: ${opts.replicas ?? 1}
  selector: {matchLabels: ${JSON.stringify(labels)}}
  template:
    metadata: {labels: ${JSON.stringify(labels)}}
    spec:
      containers:
        - name: app
          image: ${opts.image ?? 'nicholasjackson/fake-service:v0.26.2'}
          ports: [{containerPort: 9090}]
          env: [${env.join(', ')}]`;
}

/** `kind` (HTTPRoute, GRPCRoute) `name` on Gateway gw to Service `backend` port 80, with `rule` entries (YAML flow map) in its only rule. */
function gatewayRoute(kind: string, name: string, backend: string, rule: string): string {
  return `
apiVersion: gateway.networking.k8s.io/v1
kind: ${kind}
metadata: {name: ${name}}
spec:
  parentRefs: [{name: gw}]
  rules:
    - {backendRefs: [{name: ${backend}, port: 80}]${rule ? `, ${rule}` : ''}}`;
}

export const httpRoute = (name: string, backend: string, rule = '') => gatewayRoute('HTTPRoute', name, backend, rule);
export const grpcRoute = (name: string, backend: string) => gatewayRoute('GRPCRoute', name, backend, '');

/** Istio VirtualService `name` for host `name` with `http` (the YAML of spec.http). */
export function virtualService(name: string, http: string): string {
  return `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}}
spec:
  hosts: [${name}]
  http: ${http}`;
}

/** BackendTrafficPolicy `name` on route `kind`/`route` with `spec` (YAML flow map entries). */
export function policy(name: string, kind: string, route: string, spec: string, annotations = ''): string {
  return `
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata: {name: ${name}${annotations ? `, annotations: {${annotations}}` : ''}}
spec: {targetRefs: [{group: gateway.networking.k8s.io, kind: ${kind}, name: ${route}}], ${spec}}`;
}
