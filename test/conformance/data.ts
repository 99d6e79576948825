/**
 * The Gateway API conformance data (`../shared/conformance/gateway-api`, its README section 2):
 * where it is and its shape. Read at run time, never copied into the repository.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/test/conformance/data.js -> <repo>/../shared/conformance/gateway-api (or $LEGATE_SHARED/...). */
export const CONFORMANCE_ROOT = process.env.LEGATE_SHARED
  ? path.resolve(process.env.LEGATE_SHARED, 'conformance/gateway-api')
  : fileURLToPath(new URL('../../../../shared/conformance/gateway-api', import.meta.url));

export type Ref = { kind: string; namespace: string; name: string };
export type Cond = { type: string; status: string; reason?: string };

export type StatusCheck = {
  check: string;
  route?: Ref;
  parent?: Ref;
  gateway?: Ref;
  condition?: Cond;
  gatewayListenersMustHave?: Cond[];
  parents?: { parentRef: Ref & { sectionName?: string; port?: number }; conditions: Cond[] }[];
  exactListenerCount?: number;
  listeners?: { name: string; supportedKinds: { group: string; kind: string }[]; conditions: Cond[]; attachedRoutes: number }[];
  /** `mutate`: merge-patch of dotted paths (`spec.rules[0].backendRefs[0].name`). */
  patch?: Record<string, unknown>;
};

export type Target = { gateway: string; port: number; scheme: 'http' | 'https' };

export type HttpRequestSpec = {
  path: string;
  method?: string;
  host?: string;
  headers?: Record<string, string>;
  backendSetResponseHeaders?: Record<string, string>;
  protocol?: 'HTTP' | 'HTTPS' | 'H2' | 'H2C_PRIOR_KNOWLEDGE';
  tls?: { serverName: string; trustedCertificateSecret: string };
  followRedirects?: boolean;
};

export type HttpExpect = {
  status: number[];
  backend?: string;
  namespace?: string;
  requestSeenByBackend?: { path: string; method: string; host?: string; headers?: Record<string, string>; absentHeaders?: string[] };
  responseHeaders?: Record<string, string>;
  responseHeadersOneOf?: Record<string, string[]>;
  absentResponseHeaders?: string[];
  ignoreWhitespaceInResponseHeaders?: boolean;
  redirect?: { scheme: string; host: string | null; path: string; port: string | null; allowedPorts?: string[] };
  mirroredTo?: { backend: string; namespace: string; logLine: string }[];
  answeredByGateway?: boolean;
};

export type GrpcRequestSpec = { service: string; method: string; authority?: string; metadata?: Record<string, string> };
export type GrpcExpect = { grpcCode: number; grpcStatus: string; fullyQualifiedMethod?: string; backend?: string; namespace?: string };

export type BeforeAction = { action: 'delete'; apiVersion: string; kind: string; namespace: string; name: string };

type CaseBase = { name: string; target: Target; before?: BeforeAction[] };
export type HttpCase = CaseBase & { kind: 'http'; request: HttpRequestSpec; expect: HttpExpect };
export type GrpcCase = CaseBase & { kind: 'grpc'; request: GrpcRequestSpec; expect: GrpcExpect };
/** Weighted distribution (README 1.4), over HTTP or gRPC. */
type Distribution<K, R, E> = CaseBase & {
  kind: K;
  request: R;
  perRequestExpect: E;
  totalRequests: number;
  concurrency: number;
  tolerance: number;
  maxAttempts: number;
  expectedWeights: Record<string, number>;
};
export type WeightedCase = Distribution<'weightedDistribution', HttpRequestSpec, HttpExpect>;
export type GrpcWeightedCase = Distribution<'grpcWeightedDistribution', GrpcRequestSpec, GrpcExpect>;
export type HeaderConsistencyCase = CaseBase & {
  kind: 'backendHeaderConsistency';
  request: HttpRequestSpec;
  expect: { header: string };
  repeat: number;
};
export type MirrorPercentageCase = CaseBase & {
  kind: 'mirrorPercentage';
  request: HttpRequestSpec;
  perRequestExpect: HttpExpect;
  totalRequests: number;
  concurrency: number;
  maxAttempts: number;
  mirror: { backend: string; namespace: string; percent: number };
  acceptedMirroredCount: { min: number; max: number };
};
export type WebSocketCase = CaseBase & {
  kind: 'websocket';
  request: { url: string; origin: string };
  expect: { exchange: { send: { text?: string; binary?: number[] }; receive: { text?: string; binary?: number[] } }[] };
};
export type Case = HttpCase | GrpcCase | WeightedCase | GrpcWeightedCase | HeaderConsistencyCase | MirrorPercentageCase | WebSocketCase;

export type SetupStep = {
  action: 'populateEndpointSlices';
  endpointSlices: string[];
  from: { deployment: string; port: number };
};

export type ConformanceTest = {
  name: string;
  description: string;
  routeKind: 'HTTPRoute' | 'GRPCRoute';
  features: string[];
  extendedFeatures: string[];
  supportLevel: 'core' | 'extended';
  channel: string;
  provisional: boolean;
  manifests: string[];
  setup?: SetupStep[];
  sequential?: boolean;
  statusChecks?: StatusCheck[];
  cases: Case[];
};

export type ConformanceData = {
  source: { repository: string; commit: string };
  timeouts: { maxTimeToConsistency: string; requiredConsecutiveSuccesses: number; pollInterval: string; requestTimeout: string };
  tests: ConformanceTest[];
};

export function conformanceDataPresent(root = CONFORMANCE_ROOT): boolean {
  return fs.existsSync(path.join(root, 'tests.json'));
}

export function loadConformanceData(root = CONFORMANCE_ROOT): ConformanceData {
  const file = path.join(root, 'tests.json');
  let data: ConformanceData;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8')) as ConformanceData;
  } catch (err) {
    throw new Error(
      `cannot read the conformance data ${file}: ${(err as Error).message} (set LEGATE_SHARED to the folder holding conformance/)`,
      {
        cause: err,
      },
    );
  }
  if (!Array.isArray(data.tests)) throw new Error(`${file} has no "tests" list: not the Gateway API conformance data this harness reads`);
  return data;
}

/** A manifest of a test, by its path relative to `conformance/`. */
export function readManifest(rel: string, root = CONFORMANCE_ROOT): { name: string; text: string } {
  const file = path.join(root, 'conformance', rel);
  return { name: file, text: fs.readFileSync(file, 'utf8') };
}
