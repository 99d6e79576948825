/**
 * Which GatewayClasses and Gateways legate serves, and the state of each Gateway listener
 * (config-apis.md 1.2, 1.3, section 6 #1-#5): supported kinds, TLS certificate, conflicts on a
 * port (inside one Gateway as Envoy Gateway checks them; across Gateways as EG's mergeGateways
 * does when they share one legate listener), and the resulting conditions.
 */
import { secretPem } from '../kubernetes/secrets.js';
import type * as ir from '../../../ir/index.js';
import type { Diagnostics, LoadedObject } from '../../model.js';
import { CODES, condition, EG_GROUP, GROUP, type Condition } from './codes.js';
import { referenceAllowed } from './parse-gateway.js';
import { generationOf, setCondition, type StatusEntry } from './status.js';
import type * as gwapi from './types.js';

export type ListenerCtx = {
  gateway: gwapi.Gateway;
  spec: gwapi.Listener;
  controllerName: string;
  /** `Gateway/ns/name/listener`. */
  key: string;
  supportedKinds: gwapi.RouteGroupKind[];
  conditions: Condition[];
  /** Programmed: routes attached to it are served. */
  ready: boolean;
  /** The legate listener it is served by (set when ready). */
  irListener?: string;
  tls?: ir.Tls;
  /** Secret the certificate came from, to compare listeners sharing a port. */
  tlsSecret?: string;
  attachedRoutes: Set<string>;
};

export type GatewayCtx = {
  gateway: gwapi.Gateway;
  gatewayClass: gwapi.GatewayClass;
  listeners: ListenerCtx[];
  status: StatusEntry;
};

export type ClassResult = { served: Map<string, gwapi.GatewayClass>; status: StatusEntry[] };

/** GatewayClasses of our controllers whose parametersRef (if any) is valid. */
export function selectGatewayClasses(
  classes: readonly gwapi.GatewayClass[],
  objects: readonly LoadedObject[],
  diags: Diagnostics,
  controllerNames: readonly string[] | undefined,
): ClassResult {
  const served = new Map<string, gwapi.GatewayClass>();
  const status: StatusEntry[] = [];
  for (const c of classes) {
    if (controllerNames && !controllerNames.includes(c.controllerName)) continue;
    const conditions: Condition[] = [];
    const p = c.parametersRef;
    let problem: string | undefined;
    if (p) {
      if (p.group !== EG_GROUP || p.kind !== 'EnvoyProxy') problem = 'unsupported parametersRef(invalid group or kind) for gatewayclass';
      else if (p.namespace === undefined) problem = 'parametersRef must carry a namespace for an EnvoyProxy';
      else if (!objects.some((o) => o.kind === 'EnvoyProxy' && o.metadata.namespace === p.namespace && o.metadata.name === p.name))
        problem = `EnvoyProxy ${p.namespace}/${p.name} referenced by parametersRef not found`;
    }
    if (problem) {
      diags.warning(CODES.INVALID_PARAMETERS, problem, { object: c.object, path: ['spec', 'parametersRef'] });
      conditions.push(condition('Accepted', 'False', 'InvalidParameters', problem));
    } else {
      served.set(c.name, c);
      conditions.push(condition('Accepted', 'True', 'Accepted', `Valid GatewayClass, served by legate for controller ${c.controllerName}`));
    }
    status.push({ object: `GatewayClass/${c.name}`, controllerName: c.controllerName, ...generationOf(c.object), conditions });
  }
  return { served, status };
}

const ROUTE_KINDS = ['HTTPRoute', 'GRPCRoute'];

export type GatewayInputs = {
  secrets: ReadonlyMap<string, LoadedObject>;
  grants: readonly gwapi.ReferenceGrant[];
  diags: Diagnostics;
};

/** Listener contexts with their own checks (protocol, kinds, TLS) and in-Gateway conflicts. */
export function buildGatewayCtx(gateway: gwapi.Gateway, gatewayClass: gwapi.GatewayClass, input: GatewayInputs): GatewayCtx {
  const listeners = gateway.listeners.map((spec) => listenerCtx(gateway, gatewayClass, spec, input));
  markConflictsInGateway(listeners, input.diags);
  return { gateway, gatewayClass, listeners, status: { object: gateway.ref, ...generationOf(gateway.object), conditions: [] } };
}

function listenerCtx(gateway: gwapi.Gateway, gc: gwapi.GatewayClass, spec: gwapi.Listener, input: GatewayInputs): ListenerCtx {
  const l: ListenerCtx = {
    gateway,
    spec,
    controllerName: gc.controllerName,
    key: `${gateway.ref}/${spec.name}`,
    supportedKinds: [],
    conditions: [],
    ready: false,
    attachedRoutes: new Set(),
  };
  const warn = (code: string, message: string, path: readonly (string | number)[] = spec.path) =>
    input.diags.warning(code, message, { object: gateway.object, path });
  const http = spec.protocol === 'HTTP' || spec.protocol === 'HTTPS';
  if (!http) {
    const core = ['TLS', 'TCP', 'UDP'].includes(spec.protocol);
    const message = core
      ? `Protocol ${spec.protocol} is not supported by legate yet: only HTTP and HTTPS listeners are served.`
      : `Protocol ${spec.protocol} is unsupported, must be HTTP, HTTPS, TCP or UDP.`;
    warn(CODES.UNSUPPORTED_PROTOCOL, `listener "${spec.name}": ${message}`, [...spec.path, 'protocol']);
    setCondition(l.conditions, condition('Accepted', 'False', 'UnsupportedProtocol', message));
  } else {
    setCondition(l.conditions, condition('Accepted', 'True', 'Accepted', 'Listener has been successfully translated'));
  }
  setCondition(l.conditions, condition('Conflicted', 'False', 'NoConflicts', 'No conflicts detected'));
  setCondition(l.conditions, condition('ResolvedRefs', 'True', 'ResolvedRefs', 'Listener references have been resolved'));

  if (http) {
    if (!spec.allowedRoutes.kinds) {
      l.supportedKinds = ROUTE_KINDS.map((kind) => ({ group: GROUP, kind }));
    } else {
      const bad: string[] = [];
      for (const k of spec.allowedRoutes.kinds) {
        if (k.group === GROUP && ROUTE_KINDS.includes(k.kind)) l.supportedKinds.push(k);
        else bad.push(`${k.group}/${k.kind}`);
      }
      if (bad.length > 0) {
        const message = `Route kinds ${bad.join(', ')} are not supported: ${ROUTE_KINDS.join(' and ')} only`;
        warn(CODES.INVALID_ROUTE_KINDS, `listener "${spec.name}": ${message}`, [...spec.path, 'allowedRoutes', 'kinds']);
        setCondition(l.conditions, condition('ResolvedRefs', 'False', 'InvalidRouteKinds', message));
      }
    }
  }
  if (spec.protocol === 'HTTPS') resolveCertificate(l, input, warn);
  return l;
}

function resolveCertificate(
  l: ListenerCtx,
  input: GatewayInputs,
  warn: (code: string, message: string, path?: readonly (string | number)[]) => void,
): void {
  const spec = l.spec;
  const fail = (reason: string, message: string, path: readonly (string | number)[]) => {
    warn(CODES.INVALID_CERTIFICATE_REF, `listener "${spec.name}": ${message}`, path);
    setCondition(l.conditions, condition('ResolvedRefs', 'False', reason, message));
  };
  const refs = spec.tls?.certificateRefs ?? [];
  const ref = refs[0];
  if (!ref) {
    fail('InvalidCertificateRef', 'Listener must have TLS set when protocol is HTTPS: certificateRefs is empty.', [...spec.path, 'tls']);
    return;
  }
  const path = [...spec.path, 'tls', 'certificateRefs', 0];
  if (refs.length > 1)
    warn(CODES.NOT_IMPLEMENTED, `listener "${spec.name}": only the first certificateRef is served`, [
      ...spec.path,
      'tls',
      'certificateRefs',
    ]);
  if (ref.group !== '' || ref.kind !== 'Secret') {
    fail('InvalidCertificateRef', `certificateRef ${ref.group}/${ref.kind} is not supported: use a Secret`, path);
    return;
  }
  const from = { group: GROUP, kind: 'Gateway', namespace: l.gateway.namespace };
  if (!referenceAllowed(input.grants, from, { group: '', kind: 'Secret', namespace: ref.namespace, name: ref.name })) {
    fail('RefNotPermitted', `Certificate ref to secret ${ref.namespace}/${ref.name} not permitted by any ReferenceGrant.`, path);
    return;
  }
  const secret = input.secrets.get(`${ref.namespace}/${ref.name}`);
  const pem = secret ? secretPem(secret) : undefined;
  if (!pem) {
    fail(
      'InvalidCertificateRef',
      secret ? `Secret ${ref.namespace}/${ref.name} has no tls.crt and tls.key` : `Secret ${ref.namespace}/${ref.name} does not exist.`,
      path,
    );
    return;
  }
  l.tls = pem;
  l.tlsSecret = `${ref.namespace}/${ref.name}`;
}

function conflict(l: ListenerCtx, reason: 'HostnameConflict' | 'ProtocolConflict', message: string, diags: Diagnostics): void {
  setCondition(l.conditions, condition('Conflicted', 'True', reason, message));
  diags.warning(CODES.LISTENER_CONFLICT, `listener "${l.spec.name}": ${message}`, { object: l.gateway.object, path: l.spec.path });
}

/** EG validateConflictedLayer7Listeners: per port, one protocol family and distinct host names. */
function markConflictsInGateway(listeners: readonly ListenerCtx[], diags: Diagnostics): void {
  const byPort = new Map<number, ListenerCtx[]>();
  for (const l of listeners) {
    if (l.spec.protocol === 'TCP' || l.spec.protocol === 'UDP') continue;
    byPort.set(l.spec.port, [...(byPort.get(l.spec.port) ?? []), l]);
  }
  for (const group of byPort.values()) {
    const protocols = new Set(group.map((l) => (l.spec.protocol === 'HTTPS' || l.spec.protocol === 'TLS' ? 'https/tls' : l.spec.protocol)));
    const hostCount = new Map<string, number>();
    for (const l of group) hostCount.set(l.spec.hostname ?? '', (hostCount.get(l.spec.hostname ?? '') ?? 0) + 1);
    for (const l of group) {
      if (protocols.size > 1) conflict(l, 'ProtocolConflict', 'All listeners for a given port must use a compatible protocol', diags);
      if (hostCount.get(l.spec.hostname ?? '')! > 1)
        conflict(l, 'HostnameConflict', 'All listeners for a given port must use a unique hostname', diags);
    }
  }
}

/**
 * Listeners of different Gateways that share one legate listener (merged mode): the first in
 * Gateway order keeps a port+protocol+hostname, a protocol or a certificate; later ones conflict.
 */
export function markConflictsAcrossGateways(gateways: readonly GatewayCtx[], diags: Diagnostics): void {
  const tuples = new Map<string, string>();
  const portProtocol = new Map<number, { protocol: string; gateway: string }>();
  const portCert = new Map<number, { secret: string; listener: string }>();
  for (const g of gateways) {
    for (const l of g.listeners) {
      if (!isUsable(l)) continue;
      const owner = portProtocol.get(l.spec.port);
      if (owner && owner.gateway !== g.gateway.ref && owner.protocol !== l.spec.protocol) {
        conflict(
          l,
          'ProtocolConflict',
          `All listeners for a given port must use a compatible protocol: ${owner.gateway} serves ${owner.protocol} on port ${l.spec.port}`,
          diags,
        );
        continue;
      }
      if (!owner) portProtocol.set(l.spec.port, { protocol: l.spec.protocol, gateway: g.gateway.ref });
      const tuple = `${l.spec.protocol}:${l.spec.hostname ?? ''}:${l.spec.port}`;
      const first = tuples.get(tuple);
      if (first && first !== g.gateway.ref) {
        conflict(l, 'HostnameConflict', `Port, protocol and hostname tuple must be unique for every listener (${first} has it)`, diags);
        continue;
      }
      tuples.set(tuple, g.gateway.ref);
      if (l.tlsSecret) {
        const cert = portCert.get(l.spec.port);
        if (cert && cert.secret !== l.tlsSecret) {
          const message = `legate serves one certificate per port: ${cert.listener} already serves Secret ${cert.secret} on port ${l.spec.port}`;
          setCondition(l.conditions, condition('Programmed', 'False', 'Invalid', message));
          diags.warning(CODES.NOT_IMPLEMENTED, `listener "${l.spec.name}": ${message}`, { object: l.gateway.object, path: l.spec.path });
        } else if (!cert) portCert.set(l.spec.port, { secret: l.tlsSecret, listener: l.key });
      }
    }
  }
}

/** Accepted, not conflicted, references resolved (and not already refused for another reason). */
function isUsable(l: ListenerCtx): boolean {
  return l.conditions.every((c) => (c.type === 'Conflicted' ? c.status === 'False' : c.status === 'True'));
}

/** Sets Programmed on each listener and the Gateway's Accepted and Programmed. */
export function finishGatewayStatus(g: GatewayCtx): void {
  for (const l of g.listeners) {
    l.ready = isUsable(l) && l.supportedKinds.length > 0;
    if (l.ready)
      setCondition(
        l.conditions,
        condition('Programmed', 'True', 'Programmed', 'Sending translated listener configuration to the data plane'),
      );
    else if (!l.conditions.some((c) => c.type === 'Programmed'))
      setCondition(l.conditions, condition('Programmed', 'False', 'Invalid', 'Listener is invalid, see other Conditions for details.'));
  }
  const ready = g.listeners.filter((l) => l.ready).length;
  const all = g.listeners.length;
  const conditions = g.status.conditions;
  if (ready === all) setCondition(conditions, condition('Accepted', 'True', 'Accepted', 'The Gateway has been scheduled by legate'));
  else if (ready > 0)
    setCondition(
      conditions,
      condition('Accepted', 'True', 'ListenersNotValid', `${all - ready} of ${all} listeners are invalid, see their conditions`),
    );
  else setCondition(conditions, condition('Accepted', 'False', 'ListenersNotValid', 'No listener is valid, see their conditions'));
  if (ready > 0) setCondition(conditions, condition('Programmed', 'True', 'Programmed', 'The Gateway is served by legate'));
  else setCondition(conditions, condition('Programmed', 'False', 'Invalid', 'No listeners are ready'));
}

export function listenerStatus(l: ListenerCtx): StatusEntry {
  return {
    object: l.gateway.ref,
    listener: l.spec.name,
    ...generationOf(l.gateway.object),
    attachedRoutes: l.attachedRoutes.size,
    supportedKinds: l.supportedKinds,
    conditions: l.conditions,
  };
}
