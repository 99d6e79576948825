/**
 * Runs one case of each kind (README 1.1-1.4): builds the request from the case, sends it to the
 * local port of the case's Gateway and port, judges the answer, and repeats as upstream does
 * (until `requiredConsecutiveSuccesses` passes in a row, within a time budget).
 */
import { randomUUID } from 'node:crypto';
import { callGrpc, sendHttp, websocketExchange, type GrpcResult, type HttpResult } from './clients.js';
import type {
  Case,
  GrpcRequestSpec,
  GrpcWeightedCase,
  HeaderConsistencyCase,
  HttpCase,
  HttpExpect,
  HttpRequestSpec,
  MirrorPercentageCase,
  Target,
  WeightedCase,
  WebSocketCase,
} from './data.js';
import { backendOfPod, echoOf, judgeGrpc, judgeHttp } from './judge.js';
import type { EchoPods } from './echo-pods.js';

export type CaseContext = {
  /** The local port of a target, or why there is none. */
  port(target: Target): number | string;
  pods: EchoPods;
  /** The certificate HTTPS clients trust (README 1, step 3). */
  ca: string;
  /** How long a case may take to pass `consecutive` times in a row. */
  budgetMs: number;
  consecutive: number;
  requestTimeoutMs: number;
};

/** Runs a case: undefined when it passed, else why it did not. */
export async function runCase(c: Case, ctx: CaseContext): Promise<string | undefined> {
  switch (c.kind) {
    case 'http':
      return runHttpCase(c, ctx);
    case 'grpc':
      return untilConsistent(ctx, () => grpcOnce(c.target, c.request, ctx).then((r) => judgeGrpc(c.expect, r)));
    case 'weightedDistribution':
    case 'grpcWeightedDistribution':
      return runWeighted(c, ctx);
    case 'backendHeaderConsistency':
      return runHeaderConsistency(c, ctx);
    case 'mirrorPercentage':
      return runMirrorPercentage(c, ctx);
    case 'websocket':
      return runWebSocket(c, ctx);
  }
}

/** Replaces `{uuid}` (fresh per request) and `{requestId}` (fixed per case) in any part of a case. */
function fill<T>(x: T, requestId: string): T {
  return JSON.parse(JSON.stringify(x).replaceAll('{requestId}', requestId).replaceAll('{uuid}', randomUUID())) as T;
}

/** Repeats `once` until it passes `consecutive` times in a row (100 ms apart after a failure). */
async function untilConsistent(ctx: CaseContext, once: () => Promise<string | undefined>): Promise<string | undefined> {
  const deadline = Date.now() + ctx.budgetMs;
  let streak = 0;
  let last: string | undefined;
  for (;;) {
    let problem: string | undefined;
    try {
      problem = await once();
    } catch (err) {
      // A transport error is "not yet", never a pass.
      problem = `request failed: ${(err as Error).message}`;
    }
    if (problem === undefined) {
      if (++streak >= ctx.consecutive) return undefined;
      continue;
    }
    streak = 0;
    last = problem;
    if (Date.now() + 100 > deadline) return last;
    await sleep(100);
  }
}

function hostOf(target: Target, host: string | undefined): string {
  if (host !== undefined) return host;
  // Upstream sends the Gateway's address, with the port unless it is the scheme's default.
  const dflt = target.scheme === 'https' ? 443 : 80;
  return target.port === dflt ? '127.0.0.1' : `127.0.0.1:${target.port}`;
}

function localPort(ctx: CaseContext, target: Target): number {
  const p = ctx.port(target);
  if (typeof p === 'string') throw new Error(p);
  return p;
}

export async function httpOnce(
  target: Target,
  req: HttpRequestSpec,
  ctx: CaseContext,
  extra: [string, string][] = [],
): Promise<HttpResult> {
  const setHeaders = Object.entries(req.backendSetResponseHeaders ?? {})
    .map(([k, v]) => `${k}:${v}`)
    .join(',');
  const protocol = req.protocol ?? (target.scheme === 'https' ? 'HTTPS' : 'HTTP');
  return sendHttp({
    port: localPort(ctx, target),
    protocol,
    method: req.method ?? 'GET',
    path: req.path,
    host: hostOf(target, req.host),
    headers: [...Object.entries(req.headers ?? {}), ['X-Echo-Set-Header', setHeaders], ...extra],
    ...(protocol === 'HTTPS' || protocol === 'H2' ? { servername: req.tls?.serverName ?? req.host ?? '', ca: ctx.ca } : {}),
    timeoutMs: ctx.requestTimeoutMs,
  });
}

function grpcOnce(target: Target, req: GrpcRequestSpec, ctx: CaseContext, extra: [string, string][] = []): Promise<GrpcResult> {
  return callGrpc({
    port: localPort(ctx, target),
    service: req.service,
    method: req.method,
    authority: req.authority ?? `127.0.0.1:${target.port}`,
    metadata: [...Object.entries(req.metadata ?? {}), ...extra],
    timeoutMs: ctx.requestTimeoutMs,
  });
}

async function runHttpCase(c: HttpCase, ctx: CaseContext): Promise<string | undefined> {
  const requestId = randomUUID();
  const problem = await untilConsistent(ctx, async () => {
    const { request, expect } = fill({ request: c.request, expect: c.expect }, requestId);
    return judgeHttp(request, expect, await httpOnce(c.target, request, ctx));
  });
  if (problem !== undefined || !c.expect.mirroredTo) return problem;
  // Mirrors: a pod of each mirror backend must have echoed that request-URI (upstream reads the log).
  const path = fill(c.request.path, requestId);
  for (const m of c.expect.mirroredTo) {
    const seen = await waitFor(ctx.budgetMs, () => ctx.pods.requestURIs(m.namespace, m.backend).includes(path));
    if (!seen) return `no pod of ${m.namespace}/${m.backend} received the mirrored request ${path}`;
  }
  return undefined;
}

async function waitFor(ms: number, ok: () => boolean): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

/** Sends `total` requests, `concurrency` at a time. */
async function inParallel<T>(total: number, concurrency: number, one: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(total);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, total) }, async () => {
      while (next < total) {
        const i = next++;
        out[i] = await one(i);
      }
    }),
  );
  return out;
}

/** Weighted distribution (README 1.4): every share within the tolerance, up to maxAttempts runs of totalRequests. */
async function runWeighted(c: WeightedCase | GrpcWeightedCase, ctx: CaseContext): Promise<string | undefined> {
  let last: string | undefined;
  for (let attempt = 0; attempt < c.maxAttempts; attempt++) {
    const jitter = (): [string, string][] => (Math.random() < 0.5 ? [['X-Jitter', String(Math.floor(Math.random() * 10000))]] : []);
    const pods = await inParallel(c.totalRequests, c.concurrency, async () => {
      try {
        if (c.kind === 'grpcWeightedDistribution') {
          const r = await grpcOnce(
            c.target,
            c.request,
            ctx,
            jitter().map(([k, v]) => [k.toLowerCase(), v]),
          );
          const problem = judgeGrpc(c.perRequestExpect, r);
          return problem === undefined ? (r.assertions?.context?.pod ?? '') : { problem };
        }
        const r = await httpOnce(c.target, c.request, ctx, jitter());
        const problem = judgeHttp(c.request, c.perRequestExpect, r);
        return problem === undefined ? echoOf(r).pod : { problem };
      } catch (err) {
        return { problem: `request failed: ${(err as Error).message}` };
      }
    });
    last = distributionProblem(pods, c.expectedWeights, c.tolerance);
    if (last === undefined) return undefined;
  }
  return `after ${c.maxAttempts} runs of ${c.totalRequests}: ${last}`;
}

function distributionProblem(
  results: (string | { problem: string })[],
  weights: Record<string, number>,
  tolerance: number,
): string | undefined {
  const counts = new Map<string, number>();
  for (const r of results) {
    if (typeof r !== 'string') return r.problem;
    const backend = backendOfPod(r);
    if (!(backend in weights)) return `a response came from ${r}, not a backend of ${Object.keys(weights).join(', ')}`;
    counts.set(backend, (counts.get(backend) ?? 0) + 1);
  }
  const total = results.length;
  const sum = Object.values(weights).reduce((a, b) => a + b, 0);
  for (const [backend, w] of Object.entries(weights)) {
    const got = (counts.get(backend) ?? 0) / total;
    const want = w / sum;
    if (want === 0 && got > 0) return `${backend} has weight 0 but got ${(got * 100).toFixed(1)}% of the traffic`;
    if (want > 0 && got === 0) return `${backend} got no traffic`;
    if (Math.abs(got - want) > tolerance)
      return `${backend} got ${(got * 100).toFixed(1)}%, want ${(want * 100).toFixed(1)}% ± ${tolerance * 100}%`;
  }
  return undefined;
}

/** backendHeaderConsistency: each echo carries exactly one value v of the header, and its pod starts with v. */
async function runHeaderConsistency(c: HeaderConsistencyCase, ctx: CaseContext): Promise<string | undefined> {
  for (let i = 0; i < c.repeat; i++) {
    const echo = echoOf(await httpOnce(c.target, c.request, ctx));
    const values = Object.entries(echo.headers)
      .filter(([k]) => k.toLowerCase() === c.expect.header.toLowerCase())
      .flatMap(([, v]) => v);
    if (values.length !== 1)
      return `request ${i + 1}: header ${c.expect.header} has ${values.length} values (${values.join(', ')}), want exactly one`;
    if (!echo.pod.startsWith(values[0]!)) return `request ${i + 1}: ${c.expect.header}: ${values[0]} but answered by pod ${echo.pod}`;
  }
  return undefined;
}

/** mirrorPercentage (README 1.4): the mirror backend's count of one request-URI within the accepted range. */
async function runMirrorPercentage(c: MirrorPercentageCase, ctx: CaseContext): Promise<string | undefined> {
  let last: string | undefined;
  for (let batch = 0; batch < c.maxAttempts; batch++) {
    if (batch > 0) await sleep(2000);
    const requestId = randomUUID();
    const { request, perRequestExpect } = fill({ request: c.request, perRequestExpect: c.perRequestExpect }, requestId);
    const failures = await inParallel(c.totalRequests, c.concurrency, async () => {
      // Each request is repeated until it passes on its own.
      const once: CaseContext = { ...ctx, consecutive: 1 };
      return untilConsistent(once, async () => judgeHttp(request, perRequestExpect as HttpExpect, await httpOnce(c.target, request, ctx)));
    });
    const failed = failures.find((f) => f !== undefined);
    if (failed) return failed;
    const count = () => ctx.pods.requestURIs(c.mirror.namespace, c.mirror.backend).filter((u) => u === request.path).length;
    // Mirrors are sent alongside the main request: wait until the count stops moving.
    let seen = -1;
    while (seen !== count()) {
      seen = count();
      await sleep(200);
    }
    const { min, max } = c.acceptedMirroredCount;
    if (seen >= min && seen <= max) return undefined;
    last = `${seen} of ${c.totalRequests} requests mirrored to ${c.mirror.backend}, want ${min}-${max} (${c.mirror.percent}%)`;
  }
  return last;
}

async function runWebSocket(c: WebSocketCase, ctx: CaseContext): Promise<string | undefined> {
  const path = new URL(c.request.url.replace('<gateway address>', 'gateway')).pathname;
  return untilConsistent(ctx, async () => {
    const got = await websocketExchange({
      port: localPort(ctx, c.target),
      host: hostOf(c.target, undefined),
      path,
      origin: c.request.origin,
      send: c.expect.exchange.map((e) => e.send),
      timeoutMs: ctx.requestTimeoutMs,
    });
    for (const [i, e] of c.expect.exchange.entries())
      if (JSON.stringify(got[i]) !== JSON.stringify(e.receive))
        return `frame ${i + 1}: got ${JSON.stringify(got[i])}, want ${JSON.stringify(e.receive)}`;
    return undefined;
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
