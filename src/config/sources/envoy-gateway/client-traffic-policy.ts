/**
 * Envoy Gateway's ClientTrafficPolicy (config-apis.md 2.11): the downstream side of a Gateway's
 * listeners. Targets are Gateways (all listeners) or one listener (`sectionName`); a listener
 * policy wins over a Gateway policy, and of two policies at the same level the older one wins
 * (the other is `Accepted=False/Conflicted`), as Envoy Gateway resolves them.
 *
 * Applied: HTTP timeouts (request received, request headers received, connection idle, stream
 * idle), HTTP/2 windows and concurrent streams, the connection limit, TCP keepalive idle time and
 * `headers.preserveXRequestID`. Other valid settings are recorded with W_EG_NOT_APPLIED.
 */
import { z } from 'zod';
import { parseGatewayDuration } from '../../../common/durations.js';
import type * as ir from '../../../ir/index.js';
import { formatPath, originOf, type Diagnostics, type LoadedObject } from '../../model.js';
import { checkSchema } from '../../schema-check.js';
import type { GatewayApiResult } from '../gateway-api/translate-gateway-api.js';
import { parseQuantity } from './build-connection.js';
import { labelsMatch, readPolicyTargets, sortPolicies, type Condition, type PolicyStatus } from './precedence.js';
import { EG_CODES } from './spec-reader.js';

export const CTP_CODES = {
  INVALID: 'E_EG_CLIENT_TRAFFIC_POLICY_INVALID',
  /** Two Gateway listeners share one port (one legate listener): the first one's policy serves both. */
  SHARED_PORT: 'W_EG_CLIENT_TRAFFIC_POLICY_SHARED_PORT',
} as const;

const INT32_MAX = 2_147_483_647;
const gwDuration = z.string().superRefine((s, ctx) => {
  const d = parseGatewayDuration(s);
  if (!d.ok) ctx.addIssue({ code: 'custom', message: d.error });
});
const quantity = z.union([z.string(), z.number()]);
const uint32 = z.number().int().min(0).max(4_294_967_295);

const TargetRef = z.looseObject({ group: z.string().optional(), kind: z.string(), name: z.string(), sectionName: z.string().optional() });
const Http2 = z.strictObject({
  initialStreamWindowSize: quantity.optional(),
  initialConnectionWindowSize: quantity.optional(),
  maxConcurrentStreams: z.number().int().min(1).max(INT32_MAX).optional(),
  onInvalidMessage: z.enum(['TerminateConnection', 'TerminateStream']).optional(),
  connectionKeepalive: z
    .strictObject({
      interval: gwDuration.optional(),
      timeout: gwDuration.optional(),
      intervalJitter: z.number().int().min(0).max(100).optional(),
      idleInterval: gwDuration.optional(),
    })
    .optional(),
});
const Timeout = z.strictObject({
  tcp: z.strictObject({ idleTimeout: gwDuration.optional() }).optional(),
  http: z
    .strictObject({
      requestReceivedTimeout: gwDuration.optional(),
      requestHeadersReceivedTimeout: gwDuration.optional(),
      idleTimeout: gwDuration.optional(),
      streamIdleTimeout: gwDuration.optional(),
    })
    .optional(),
});
const Connection = z.strictObject({
  connectionLimit: z.strictObject({ value: z.number().int().min(1), closeDelay: gwDuration.optional() }).optional(),
  bufferLimit: quantity.optional(),
  socketBufferLimit: quantity.optional(),
  maxAcceptPerSocketEvent: uint32.optional(),
});
const TcpKeepalive = z.strictObject({ probes: uint32.optional(), idleTime: gwDuration.optional(), interval: gwDuration.optional() });
const Headers = z.looseObject({
  preserveXRequestID: z.boolean().optional(),
  requestID: z.enum(['PreserveOrGenerate', 'Preserve', 'Generate', 'Disable']).optional(),
  withUnderscoresAction: z.enum(['Allow', 'RejectRequest', 'DropHeader']).optional(),
});
const TlsVersion = z.enum(['Auto', '1.0', '1.1', '1.2', '1.3']);
const Tls = z.looseObject({
  minVersion: TlsVersion.optional(),
  maxVersion: TlsVersion.optional(),
  ciphers: z.array(z.string()).optional(),
  alpnProtocols: z.array(z.enum(['http/1.0', 'http/1.1', 'h2'])).optional(),
});
const HealthCheck = z.strictObject({ path: z.string().min(1).startsWith('/') });

/** The spec's structure; the settings legate does not apply are typed loosely and reported. */
const Spec = z.strictObject({
  targetRef: TargetRef.optional(),
  targetRefs: z.array(TargetRef).optional(),
  targetSelectors: z.array(z.looseObject({})).optional(),
  timeout: Timeout.optional(),
  http2: Http2.optional(),
  connection: Connection.optional(),
  tcpKeepalive: TcpKeepalive.optional(),
  headers: Headers.optional(),
  enableProxyProtocol: z.boolean().optional(),
  proxyProtocol: z.looseObject({}).optional(),
  clientIPDetection: z.looseObject({}).optional(),
  tls: Tls.optional(),
  path: z.looseObject({}).optional(),
  http1: z.looseObject({}).optional(),
  http3: z.looseObject({}).optional(),
  healthCheck: HealthCheck.optional(),
  grpc: z.looseObject({}).optional(),
});
type Spec = z.infer<typeof Spec>;

/** Settings one policy gives a listener, each with its origin. */
type ListenerSettings = {
  limits: Partial<ir.Listener['limits']>;
  preserveExternalRequestId?: boolean;
  generateRequestId?: boolean;
  headersWithUnderscores?: ir.Listener['headersWithUnderscores'];
  healthCheckPath?: string;
  /** Applied to HTTPS listeners only. */
  tls?: Pick<ir.Tls, 'minVersion' | 'maxVersion' | 'ciphers' | 'alpnProtocols'>;
  origin: ir.Origins;
};

type Parsed = { o: LoadedObject; id: string; settings: ListenerSettings };

const ACCEPTED: Condition = { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'Policy has been accepted.' };

/**
 * Resolves every ClientTrafficPolicy against the Gateways the Gateway API translator served and
 * writes the winning settings onto their legate listeners. Returns the policies' status.
 */
export function attachClientTrafficPolicies(objects: readonly LoadedObject[], gw: GatewayApiResult, diags: Diagnostics): PolicyStatus[] {
  const policies = sortPolicies(
    objects.filter((o) => o.kind === 'ClientTrafficPolicy' && o.apiVersion.startsWith('gateway.envoyproxy.io/')),
  );
  if (policies.length === 0) return [];
  const gateways = objects.filter((o) => o.kind === 'Gateway' && o.apiVersion.startsWith('gateway.networking.k8s.io/'));

  const statuses = new Map<string, Map<string, Condition[]>>();
  const set = (id: string, ancestor: string, c: Condition) => {
    let m = statuses.get(id);
    if (!m) statuses.set(id, (m = new Map()));
    const list = m.get(ancestor) ?? [];
    m.set(ancestor, [...list.filter((x) => x.type !== c.type), c]);
  };

  // Targets per policy, in Envoy Gateway's order: listener policies claim first, then Gateway policies.
  const sectionClaims = new Map<string, Parsed>(); // `ns/gateway#listener`
  const gatewayClaims = new Map<string, Parsed>(); // `ns/gateway`
  const parsedAll: { p: Parsed; targets: { gateway: string; section?: string }[] }[] = [];
  for (const o of policies) {
    const id = `${o.metadata.namespace}/${o.metadata.name}`;
    statuses.set(id, new Map());
    const spec = checkSchema(o, Spec, diags, {
      unknownField: EG_CODES.UNKNOWN_FIELD,
      invalid: CTP_CODES.INVALID,
      api: 'the Envoy Gateway API',
    });
    const targets = readPolicyTargets(o, diags);
    if (!spec || !targets) continue;
    const settings = buildSettings(o, spec, diags);
    const resolved: { gateway: string; section?: string }[] = [];
    let kindsOk = true;
    targets.refs.forEach((r, i) => {
      if (r.kind === 'Gateway')
        resolved.push({ gateway: `${r.namespace}/${r.name}`, ...(r.sectionName ? { section: r.sectionName } : {}) });
      else {
        kindsOk = false;
        const path = spec.targetRef ? ['spec', 'targetRef', 'kind'] : ['spec', 'targetRefs', i, 'kind'];
        diags.error(
          CTP_CODES.INVALID,
          `a ClientTrafficPolicy can only target a Gateway, not a ${r.kind}`,
          { object: o, path },
          'target the Gateway (and sectionName for one listener)',
        );
      }
    });
    for (const sel of targets.selectors) {
      if (sel.kind !== 'Gateway') continue;
      for (const g of gateways) {
        if (sel.from === 'Same' && g.metadata.namespace !== o.metadata.namespace) continue;
        if (labelsMatch(sel, g.metadata.labels)) resolved.push({ gateway: `${g.metadata.namespace}/${g.metadata.name}` });
      }
    }
    if (!kindsOk || !settings) continue;
    parsedAll.push({ p: { o, id, settings }, targets: resolved });
  }

  const applied = new Map<string, { listener: ir.Listener; from: string; policy: Parsed }>();
  const apply = (p: Parsed, gateway: string, listeners: readonly string[], ancestor: string) => {
    const [ns, name] = gateway.split('/') as [string, string];
    for (const section of listeners) {
      const t = gw.attachTargets('Gateway', ns, name, section);
      for (const l of t?.listeners ?? []) {
        const prev = applied.get(l.name);
        if (prev) {
          if (prev.policy !== p)
            diags.warning(
              CTP_CODES.SHARED_PORT,
              `listener ${section} of Gateway ${gateway} shares port ${l.port} with ${prev.from}, whose ClientTrafficPolicy ${prev.policy.id} legate applies to the port; ${p.id} is not applied there`,
              { object: p.o, path: ['spec'] },
              'give the listeners the same ClientTrafficPolicy, or different ports',
            );
          continue;
        }
        applied.set(l.name, { listener: l, from: `${gateway}#${section}`, policy: p });
        const st = p.settings;
        Object.assign(l.limits, st.limits);
        if (st.preserveExternalRequestId !== undefined) l.preserveExternalRequestId = st.preserveExternalRequestId;
        if (st.generateRequestId !== undefined) l.generateRequestId = st.generateRequestId;
        if (st.headersWithUnderscores !== undefined) l.headersWithUnderscores = st.headersWithUnderscores;
        if (st.healthCheckPath !== undefined) l.healthCheckPath = st.healthCheckPath;
        // The certificate object may be shared by listeners: the policy's settings go on a copy.
        if (st.tls && l.tls) l.tls = { ...l.tls, ...st.tls };
        Object.assign(l.origin, st.origin);
      }
    }
    set(p.id, ancestor, ACCEPTED);
  };

  const listenerNames = (gateway: string): string[] => {
    const o = gateways.find((g) => `${g.metadata.namespace}/${g.metadata.name}` === gateway);
    const spec = o?.body.spec as { listeners?: { name?: string }[] } | undefined;
    return (spec?.listeners ?? []).map((l) => l.name ?? '').filter((n) => n !== '');
  };

  for (const { p, targets } of parsedAll)
    for (const t of targets) {
      if (t.section === undefined) continue;
      const ancestor = `Gateway ${t.gateway}#${t.section}`;
      if (!listenerNames(t.gateway).includes(t.section)) {
        if (gateways.some((g) => `${g.metadata.namespace}/${g.metadata.name}` === t.gateway))
          set(p.id, ancestor, {
            type: 'Accepted',
            status: 'False',
            reason: 'TargetNotFound',
            message: `No section name ${t.section} found for Gateway ${t.gateway}`,
          });
        else notFound(p, t.gateway, diags);
        continue;
      }
      const key = `${t.gateway}#${t.section}`;
      if (sectionClaims.has(key)) {
        set(p.id, ancestor, {
          type: 'Accepted',
          status: 'False',
          reason: 'Conflicted',
          message: `Unable to target Listener ${t.section} of Gateway ${t.gateway}, another ClientTrafficPolicy has already attached to it`,
        });
        continue;
      }
      sectionClaims.set(key, p);
      apply(p, t.gateway, [t.section], ancestor);
    }
  for (const { p, targets } of parsedAll)
    for (const t of targets) {
      if (t.section !== undefined) continue;
      const ancestor = `Gateway ${t.gateway}`;
      if (!gateways.some((g) => `${g.metadata.namespace}/${g.metadata.name}` === t.gateway)) {
        notFound(p, t.gateway, diags);
        continue;
      }
      if (gatewayClaims.has(t.gateway)) {
        set(p.id, ancestor, {
          type: 'Accepted',
          status: 'False',
          reason: 'Conflicted',
          message: `Unable to target Gateway ${t.gateway}, another ClientTrafficPolicy has already attached to it`,
        });
        continue;
      }
      gatewayClaims.set(t.gateway, p);
      const all = listenerNames(t.gateway);
      const free = all.filter((l) => !sectionClaims.has(`${t.gateway}#${l}`));
      apply(p, t.gateway, free, ancestor);
      const taken = all.filter((l) => !free.includes(l));
      if (taken.length > 0)
        set(p.id, ancestor, {
          type: 'Overridden',
          status: 'True',
          reason: 'Overridden',
          message: `This policy is being overridden by other clientTrafficPolicies for these listeners: [${taken.join(', ')}]`,
        });
    }

  // Envoy Gateway derives a route idle timeout from a BackendTrafficPolicy request timeout only
  // while the listener has no stream idle timeout of its own (build-timeout.ts).
  for (const { listener, policy } of applied.values()) {
    if (policy.settings.limits.streamIdleTimeoutMs === undefined) continue;
    for (const vh of listener.virtualHosts)
      for (const route of vh.routes)
        if (route.timeout?.origin['idleMs']?.kind === 'derived') {
          delete route.timeout.idleMs;
          delete route.timeout.origin['idleMs'];
        }
  }

  return policies.map((o) => {
    const id = `${o.metadata.namespace}/${o.metadata.name}`;
    return {
      kind: 'ClientTrafficPolicy',
      policy: id,
      ancestors: [...(statuses.get(id) ?? new Map<string, Condition[]>())].map(([ancestor, conditions]) => ({ ancestor, conditions })),
    };
  });
}

function notFound(p: Parsed, gateway: string, diags: Diagnostics): void {
  diags.warning(
    EG_CODES.TARGET_NOT_FOUND,
    `ClientTrafficPolicy ${p.id} targets Gateway ${gateway}, which is not in the manifests; the policy does nothing`,
    { object: p.o, path: ['spec'] },
    'check the target name and namespace (a ClientTrafficPolicy targets Gateways in its own namespace)',
  );
}

/** The listener settings of one policy; undefined (and an error) when a value is out of range. */
function buildSettings(o: LoadedObject, spec: Spec, diags: Diagnostics): ListenerSettings | undefined {
  const out: ListenerSettings = { limits: {}, origin: {} };
  let ok = true;
  const origin = (path: (string | number)[]) => originOf(o, path);
  const ms = (v: string | undefined) => (v === undefined ? undefined : (parseGatewayDuration(v) as { ok: true; ms: number }).ms);
  const setLimit = <K extends keyof ir.Listener['limits']>(
    key: K,
    value: ir.Listener['limits'][K] | undefined,
    path: (string | number)[],
  ) => {
    if (value === undefined) return;
    out.limits[key] = value;
    out.origin[`limits.${key}`] = origin(path);
  };
  const notApplied = (path: (string | number)[], why: string) =>
    diags.warning(EG_CODES.NOT_APPLIED, `${formatPath(path)} is valid but legate does not apply it: ${why}`, { object: o, path });

  const http = spec.timeout?.http;
  setLimit('requestTimeoutMs', ms(http?.requestReceivedTimeout), ['spec', 'timeout', 'http', 'requestReceivedTimeout']);
  setLimit('requestHeadersTimeoutMs', ms(http?.requestHeadersReceivedTimeout), [
    'spec',
    'timeout',
    'http',
    'requestHeadersReceivedTimeout',
  ]);
  setLimit('idleTimeoutMs', ms(http?.idleTimeout), ['spec', 'timeout', 'http', 'idleTimeout']);
  setLimit('streamIdleTimeoutMs', ms(http?.streamIdleTimeout), ['spec', 'timeout', 'http', 'streamIdleTimeout']);
  if (spec.timeout?.tcp)
    notApplied(['spec', 'timeout', 'tcp'], 'legate serves HTTP listeners only; the TCP proxy idle timeout has nothing to act on');

  const h2 = spec.http2;
  if (h2) {
    const windowOf = (field: 'initialStreamWindowSize' | 'initialConnectionWindowSize'): number | undefined => {
      const v = h2[field];
      if (v === undefined) return undefined;
      const path = ['spec', 'http2', field];
      const q = parseQuantity(String(v));
      const bytes = q ? Number(q.nano / 1_000_000_000n) : NaN;
      if (!q || !(bytes >= 65_535 && bytes <= INT32_MAX)) {
        ok = false;
        diags.error(
          CTP_CODES.INVALID,
          `${formatPath(path)} ${JSON.stringify(v)} must be a quantity between 65535 and 2147483647 bytes`,
          { object: o, path },
          'write a size such as 64Ki or 1Mi',
        );
        return undefined;
      }
      return bytes;
    };
    setLimit('h2InitialStreamWindowSize', windowOf('initialStreamWindowSize'), ['spec', 'http2', 'initialStreamWindowSize']);
    setLimit('h2InitialConnectionWindowSize', windowOf('initialConnectionWindowSize'), ['spec', 'http2', 'initialConnectionWindowSize']);
    setLimit('maxConcurrentStreams', h2.maxConcurrentStreams, ['spec', 'http2', 'maxConcurrentStreams']);
    if (h2.onInvalidMessage !== undefined)
      notApplied(['spec', 'http2', 'onInvalidMessage'], "Node's HTTP/2 stack decides how protocol errors end");
    const ka = h2.connectionKeepalive;
    if (ka?.interval !== undefined) {
      // Envoy's connection_keepalive: the timeout defaults to 15 s, the jitter to 15 %.
      setLimit(
        'h2Keepalive',
        { intervalMs: ms(ka.interval)!, timeoutMs: ms(ka.timeout) ?? 15_000, jitterPercent: ka.intervalJitter ?? 15 },
        ['spec', 'http2', 'connectionKeepalive'],
      );
      if (ka.idleInterval !== undefined)
        notApplied(
          ['spec', 'http2', 'connectionKeepalive', 'idleInterval'],
          'legate pings on the interval whether or not the connection is idle',
        );
    } else if (ka !== undefined)
      notApplied(['spec', 'http2', 'connectionKeepalive'], 'without an interval Envoy sends no keepalive PING, so neither does legate');
  }

  const c = spec.connection;
  if (c?.connectionLimit) {
    setLimit('maxConnections', c.connectionLimit.value, ['spec', 'connection', 'connectionLimit', 'value']);
    if (c.connectionLimit.closeDelay !== undefined)
      notApplied(['spec', 'connection', 'connectionLimit', 'closeDelay'], 'connections over the limit are closed at once');
  }
  for (const k of ['bufferLimit', 'socketBufferLimit', 'maxAcceptPerSocketEvent'] as const)
    if (c?.[k] !== undefined) notApplied(['spec', 'connection', k], "Node's streams size their own buffers");

  const ka = spec.tcpKeepalive;
  if (ka) {
    // Node sets the idle time only; probes and interval stay the system's.
    setLimit('tcpKeepaliveIdleMs', ms(ka.idleTime) ?? 0, ['spec', 'tcpKeepalive']);
    if (ka.probes !== undefined)
      notApplied(['spec', 'tcpKeepalive', 'probes'], 'Node cannot set the probe count; the system default applies');
    if (ka.interval !== undefined)
      notApplied(['spec', 'tcpKeepalive', 'interval'], 'Node cannot set the probe interval; the system default applies');
  }

  const h = spec.headers;
  if (h?.preserveXRequestID !== undefined) {
    out.preserveExternalRequestId = h.preserveXRequestID;
    out.origin.preserveExternalRequestId = origin(['spec', 'headers', 'preserveXRequestID']);
  }
  // requestID: Envoy Gateway's request ID action (it replaces preserveXRequestID when both are set).
  const rid = h?.requestID;
  if (rid !== undefined) {
    out.preserveExternalRequestId = rid !== 'Generate';
    out.generateRequestId = rid === 'PreserveOrGenerate' || rid === 'Generate';
    out.origin.preserveExternalRequestId = out.origin.generateRequestId = origin(['spec', 'headers', 'requestID']);
  }
  const us = h?.withUnderscoresAction;
  if (us !== undefined) {
    out.headersWithUnderscores = us === 'RejectRequest' ? 'reject' : us === 'DropHeader' ? 'drop' : 'allow';
    out.origin.headersWithUnderscores = origin(['spec', 'headers', 'withUnderscoresAction']);
  }
  if (h)
    for (const k of Object.keys(h))
      if (!['preserveXRequestID', 'requestID', 'withUnderscoresAction'].includes(k))
        notApplied(['spec', 'headers', k], 'legate applies preserveXRequestID, requestID and withUnderscoresAction of the header options');

  if (spec.healthCheck) {
    out.healthCheckPath = spec.healthCheck.path;
    out.origin.healthCheckPath = origin(['spec', 'healthCheck', 'path']);
  }

  const t = spec.tls;
  if (t) {
    const names = { '1.0': 'TLSv1', '1.1': 'TLSv1.1', '1.2': 'TLSv1.2', '1.3': 'TLSv1.3' } as const;
    const version = (v: keyof typeof names | 'Auto' | undefined) => (v === undefined || v === 'Auto' ? undefined : names[v]);
    const tlsOut: NonNullable<ListenerSettings['tls']> = {};
    const min = version(t.minVersion);
    const max = version(t.maxVersion);
    if (min) tlsOut.minVersion = min;
    if (max) tlsOut.maxVersion = max;
    if (t.ciphers && t.ciphers.length > 0) tlsOut.ciphers = t.ciphers;
    if (t.alpnProtocols && t.alpnProtocols.length > 0) tlsOut.alpnProtocols = t.alpnProtocols;
    out.tls = tlsOut;
    out.origin.tls = origin(['spec', 'tls']);
    for (const k of Object.keys(t))
      if (!['minVersion', 'maxVersion', 'ciphers', 'alpnProtocols'].includes(k))
        notApplied(['spec', 'tls', k], 'legate applies minVersion, maxVersion, ciphers and alpnProtocols of the TLS settings');
  }

  const why: Record<string, string> = {
    enableProxyProtocol: 'legate accepts connections from clients directly; the PROXY protocol header is not read',
    proxyProtocol: 'legate accepts connections from clients directly; the PROXY protocol header is not read',
    clientIPDetection: 'legate takes the client address from the connection and appends it to x-forwarded-for',
    path: "legate routes on the path as received, without Envoy's slash merging and escaping options",
    http1: 'legate speaks HTTP/1.1 with Node; trailers, header case and HTTP/1.0 options are its defaults',
    http3: 'legate listens over TCP only; Node 20 has no QUIC',
    grpc: 'legate passes gRPC through; gRPC-Web is not translated',
  };
  for (const [k, reason] of Object.entries(why)) if (spec[k as keyof Spec] !== undefined) notApplied(['spec', k], reason);
  return ok ? out : undefined;
}
