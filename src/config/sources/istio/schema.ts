/**
 * Structural schemas of the Istio networking kinds (IAPI networking/v1alpha3 protos, which v1beta1
 * and v1 share), checked with zod as the API server checks the CRD's OpenAPI schema. Rules the
 * schema cannot say (one-of fields, duration bounds, retryOn tokens) are Istio's webhook rules and
 * live beside the builders, with Istio's messages.
 */
import { z } from 'zod';
import { checkSchema } from '../../schema-check.js';
import type { Diagnostics, LoadedObject } from '../../model.js';
import { ISTIO_CODES } from './codes.js';

const str = z.string();
const int32 = z.number().int().min(-2147483648).max(2147483647);
const uint32 = z.number().int().min(0).max(4294967295);
/** protobuf Duration in Istio's JSON: a Go duration string ("10s", "1.5s", "2h"). */
const duration = z.string();
const stringMap = z.record(z.string(), z.string());

const StringMatch = z.strictObject({ exact: str.optional(), prefix: str.optional(), regex: str.optional() });

const PortSelector = z.strictObject({ number: uint32.optional() });

const Destination = z.strictObject({ host: str, subset: str.optional(), port: PortSelector.optional() });

const HeaderOps = z.strictObject({ set: stringMap.optional(), add: stringMap.optional(), remove: z.array(str).optional() });
const Headers = z.strictObject({ request: HeaderOps.optional(), response: HeaderOps.optional() });

const Percent = z.strictObject({ value: z.number() });

const HTTPMatchRequest = z.strictObject({
  name: str.optional(),
  uri: StringMatch.optional(),
  scheme: StringMatch.optional(),
  method: StringMatch.optional(),
  authority: StringMatch.optional(),
  headers: z.record(z.string(), StringMatch).optional(),
  port: uint32.optional(),
  sourceLabels: stringMap.optional(),
  gateways: z.array(str).optional(),
  queryParams: z.record(z.string(), StringMatch).optional(),
  ignoreUriCase: z.boolean().optional(),
  withoutHeaders: z.record(z.string(), StringMatch).optional(),
  sourceNamespace: str.optional(),
  statPrefix: str.optional(),
});

const HTTPRouteDestination = z.strictObject({ destination: Destination, weight: int32.optional(), headers: Headers.optional() });

const HTTPRetry = z.strictObject({
  attempts: int32.optional(),
  perTryTimeout: duration.optional(),
  retryOn: str.optional(),
  retryRemoteLocalities: z.boolean().optional(),
  retryIgnorePreviousHosts: z.boolean().optional(),
  backoff: duration.optional(),
});

const HTTPFaultInjection = z.strictObject({
  delay: z
    .strictObject({
      fixedDelay: duration.optional(),
      exponentialDelay: duration.optional(),
      percentage: Percent.optional(),
      percent: int32.optional(),
    })
    .optional(),
  abort: z
    .strictObject({
      httpStatus: int32.optional(),
      grpcStatus: str.optional(),
      http2Error: str.optional(),
      percentage: Percent.optional(),
    })
    .optional(),
});

const HTTPRedirect = z.strictObject({
  uri: str.optional(),
  authority: str.optional(),
  port: uint32.optional(),
  derivePort: z.enum(['FROM_PROTOCOL_DEFAULT', 'FROM_REQUEST_PORT']).optional(),
  scheme: str.optional(),
  redirectCode: uint32.optional(),
});

const HTTPRoute = z.strictObject({
  name: str.optional(),
  match: z.array(HTTPMatchRequest).optional(),
  route: z.array(HTTPRouteDestination).optional(),
  redirect: HTTPRedirect.optional(),
  directResponse: z
    .strictObject({
      status: uint32,
      body: z.strictObject({ string: str.optional(), bytes: str.optional() }).optional(),
    })
    .optional(),
  delegate: z.strictObject({ name: str.optional(), namespace: str.optional() }).optional(),
  rewrite: z
    .strictObject({
      uri: str.optional(),
      authority: str.optional(),
      uriRegexRewrite: z.strictObject({ match: str.optional(), rewrite: str.optional() }).optional(),
    })
    .optional(),
  timeout: duration.optional(),
  retries: HTTPRetry.optional(),
  fault: HTTPFaultInjection.optional(),
  mirror: Destination.optional(),
  mirrorPercentage: Percent.optional(),
  mirrorPercent: uint32.optional(),
  mirrors: z.array(z.strictObject({ destination: Destination, percentage: Percent.optional() })).optional(),
  corsPolicy: z
    .strictObject({
      allowOrigins: z.array(StringMatch).optional(),
      /** Deprecated exact origins; allowOrigins replaces it. */
      allowOrigin: z.array(str).optional(),
      allowMethods: z.array(str).optional(),
      allowHeaders: z.array(str).optional(),
      exposeHeaders: z.array(str).optional(),
      maxAge: duration.optional(),
      allowCredentials: z.boolean().optional(),
      unmatchedPreflights: z.enum(['UNSPECIFIED', 'FORWARD', 'IGNORE']).optional(),
    })
    .optional(),
  headers: Headers.optional(),
});

export const VirtualServiceSpec = z.strictObject({
  hosts: z.array(str).optional(),
  gateways: z.array(str).optional(),
  http: z.array(HTTPRoute).optional(),
  tls: z.array(z.unknown()).optional(),
  tcp: z.array(z.unknown()).optional(),
  exportTo: z.array(str).optional(),
});

const TcpKeepalive = z.strictObject({ probes: uint32.optional(), time: duration.optional(), interval: duration.optional() });

const ConnectionPool = z.strictObject({
  tcp: z
    .strictObject({
      maxConnections: int32.optional(),
      connectTimeout: duration.optional(),
      tcpKeepalive: TcpKeepalive.optional(),
      maxConnectionDuration: duration.optional(),
      idleTimeout: duration.optional(),
    })
    .optional(),
  http: z
    .strictObject({
      http1MaxPendingRequests: int32.optional(),
      http2MaxRequests: int32.optional(),
      maxRequestsPerConnection: int32.optional(),
      maxRetries: int32.optional(),
      idleTimeout: duration.optional(),
      h2UpgradePolicy: z.enum(['DEFAULT', 'DO_NOT_UPGRADE', 'UPGRADE']).optional(),
      useClientProtocol: z.boolean().optional(),
      maxConcurrentStreams: int32.optional(),
    })
    .optional(),
});

const OutlierDetection = z.strictObject({
  splitExternalLocalOriginErrors: z.boolean().optional(),
  consecutiveLocalOriginFailures: uint32.optional(),
  consecutiveGatewayErrors: uint32.optional(),
  consecutive5xxErrors: uint32.optional(),
  consecutiveErrors: int32.optional(),
  interval: duration.optional(),
  baseEjectionTime: duration.optional(),
  maxEjectionPercent: int32.optional(),
  minHealthPercent: int32.optional(),
});

const LocalityLbSetting = z.strictObject({
  distribute: z.array(z.strictObject({ from: str.optional(), to: z.record(z.string(), uint32).optional() })).optional(),
  failover: z.array(z.strictObject({ from: str.optional(), to: str.optional() })).optional(),
  failoverPriority: z.array(str).optional(),
  enabled: z.boolean().optional(),
});

const LoadBalancer = z.strictObject({
  simple: z.enum(['UNSPECIFIED', 'LEAST_CONN', 'RANDOM', 'PASSTHROUGH', 'ROUND_ROBIN', 'LEAST_REQUEST']).optional(),
  consistentHash: z
    .strictObject({
      httpHeaderName: str.optional(),
      httpCookie: z
        .strictObject({ name: str, path: str.optional(), ttl: duration.optional(), attributes: z.array(z.unknown()).optional() })
        .optional(),
      useSourceIp: z.boolean().optional(),
      httpQueryParameterName: str.optional(),
      ringHash: z.strictObject({ minimumRingSize: z.number().int().min(0).optional() }).optional(),
      maglev: z.strictObject({ tableSize: z.number().int().min(0).optional() }).optional(),
      minimumRingSize: z.number().int().min(0).optional(),
    })
    .optional(),
  localityLbSetting: LocalityLbSetting.optional(),
  warmupDurationSecs: duration.optional(),
  warmup: z
    .strictObject({ duration: duration.optional(), minimumPercent: z.number().optional(), aggression: z.number().optional() })
    .optional(),
});

const ClientTls = z.strictObject({
  mode: z.enum(['DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL']).optional(),
  clientCertificate: str.optional(),
  privateKey: str.optional(),
  caCertificates: str.optional(),
  credentialName: str.optional(),
  subjectAltNames: z.array(str).optional(),
  sni: str.optional(),
  insecureSkipVerify: z.boolean().optional(),
});

const PolicyBlocks = {
  loadBalancer: LoadBalancer.optional(),
  connectionPool: ConnectionPool.optional(),
  outlierDetection: OutlierDetection.optional(),
  tls: ClientTls.optional(),
};

const TrafficPolicy = z.strictObject({
  ...PolicyBlocks,
  portLevelSettings: z
    .array(z.strictObject({ port: PortSelector.optional(), ...PolicyBlocks }))
    .max(4096)
    .optional(),
  tunnel: z.record(z.string(), z.unknown()).optional(),
  proxyProtocol: z.record(z.string(), z.unknown()).optional(),
  retryBudget: z.strictObject({ percent: Percent.optional(), minRetryConcurrency: uint32.optional() }).optional(),
});

export const DestinationRuleSpec = z.strictObject({
  host: str.optional(),
  trafficPolicy: TrafficPolicy.optional(),
  subsets: z.array(z.strictObject({ name: str, labels: stringMap.optional(), trafficPolicy: TrafficPolicy.optional() })).optional(),
  exportTo: z.array(str).optional(),
  workloadSelector: z.strictObject({ matchLabels: stringMap.optional() }).optional(),
});

const WorkloadEntryFields = {
  address: str.optional(),
  ports: z.record(z.string(), uint32).optional(),
  labels: stringMap.optional(),
  network: str.optional(),
  locality: str.optional(),
  weight: uint32.optional(),
  serviceAccount: str.optional(),
};

export const WorkloadEntrySpec = z.strictObject(WorkloadEntryFields);

export const ServiceEntrySpec = z.strictObject({
  hosts: z.array(str).min(1).max(256),
  addresses: z.array(str).max(256).optional(),
  ports: z
    .array(
      z.strictObject({
        number: z.number().int().min(1).max(65535),
        protocol: str.optional(),
        name: str,
        targetPort: z.number().int().min(0).max(65535).optional(),
      }),
    )
    .max(256)
    .optional(),
  location: z.enum(['MESH_EXTERNAL', 'MESH_INTERNAL']).optional(),
  resolution: z.enum(['NONE', 'STATIC', 'DNS', 'DNS_ROUND_ROBIN', 'DYNAMIC_DNS']).optional(),
  endpoints: z.array(z.strictObject(WorkloadEntryFields)).max(4096).optional(),
  workloadSelector: z.strictObject({ labels: stringMap.optional() }).optional(),
  exportTo: z.array(str).optional(),
  subjectAltNames: z.array(str).optional(),
});

export const GatewaySpec = z.strictObject({
  selector: stringMap.optional(),
  servers: z
    .array(
      z.strictObject({
        port: z.strictObject({
          number: z.number().int().min(1).max(65535),
          protocol: str,
          name: str.optional(),
          targetPort: uint32.optional(),
        }),
        bind: str.optional(),
        hosts: z.array(str).min(1),
        tls: z
          .strictObject({
            httpsRedirect: z.boolean().optional(),
            mode: z.enum(['PASSTHROUGH', 'SIMPLE', 'MUTUAL', 'AUTO_PASSTHROUGH', 'ISTIO_MUTUAL', 'OPTIONAL_MUTUAL']).optional(),
            serverCertificate: str.optional(),
            privateKey: str.optional(),
            caCertificates: str.optional(),
            credentialName: str.optional(),
            subjectAltNames: z.array(str).optional(),
            minProtocolVersion: str.optional(),
            maxProtocolVersion: str.optional(),
            cipherSuites: z.array(str).optional(),
          })
          .optional(),
        name: str.optional(),
        defaultEndpoint: str.optional(),
      }),
    )
    .optional(),
});

export type VirtualServiceSpec = z.infer<typeof VirtualServiceSpec>;
export type IstioHttpRoute = z.infer<typeof HTTPRoute>;
export type IstioMatch = z.infer<typeof HTTPMatchRequest>;
export type IstioStringMatch = z.infer<typeof StringMatch>;
export type IstioDestination = z.infer<typeof Destination>;
export type IstioHeaders = z.infer<typeof Headers>;
export type IstioRetry = z.infer<typeof HTTPRetry>;
export type IstioFault = z.infer<typeof HTTPFaultInjection>;
export type DestinationRuleSpec = z.infer<typeof DestinationRuleSpec>;
export type TrafficPolicy = z.infer<typeof TrafficPolicy>;
export type PolicyBlocks = { [K in keyof typeof PolicyBlocks]?: z.infer<(typeof PolicyBlocks)[K]> };
export type WorkloadEntrySpec = z.infer<typeof WorkloadEntrySpec>;
export type ServiceEntrySpec = z.infer<typeof ServiceEntrySpec>;
export type GatewaySpec = z.infer<typeof GatewaySpec>;

/** Checks an Istio object's `spec` against its schema (see checkSchema). */
export function checkSpec<S extends z.ZodType>(o: LoadedObject, schema: S, diags: Diagnostics): z.infer<S> | undefined {
  return checkSchema(o, schema, diags, {
    unknownField: ISTIO_CODES.UNKNOWN_FIELD,
    invalid: ISTIO_CODES.SCHEMA,
    api: 'the Istio API reference',
    // Istio's own checks (rules.ts) see the spec as written.
    keepNulls: true,
  });
}
