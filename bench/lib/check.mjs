// Functional requests through a target before it is measured, so a proxy that answers fast but
// wrong (wrong status, missing gRPC trailers) is reported instead of benchmarked.
// Against a backend that always succeeds: one request, which must succeed. Against a failing
// backend (workload.failRatio > 0): CHECK_CALLS requests, each of which must be either a success
// or the backend's failure passed through unchanged (503 "unavailable\n"; grpc-status 14), and at
// least one must succeed.
import http from 'node:http';
import http2 from 'node:http2';
import { BODY, FAIL_BODY } from './backends.mjs';

const TIMEOUT_MS = 5000;
const CHECK_CALLS = 16;

function getHttp1(host, port) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: '/', agent: false, timeout: TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error('check: GET / timed out')));
    req.on('error', reject);
  });
}

function checkHttp1Response(r, allowFailure) {
  if (r.status === 200) {
    if (r.body !== BODY) throw new Error(`check: GET / body ${JSON.stringify(r.body.slice(0, 80))}, expected ${JSON.stringify(BODY)}`);
    return true;
  }
  if (allowFailure && r.status === 503) {
    if (r.body !== FAIL_BODY)
      throw new Error(`check: GET / answered 503 with body ${JSON.stringify(r.body.slice(0, 80))}, not the backend's ${JSON.stringify(FAIL_BODY)}`);
    return false;
  }
  throw new Error(`check: GET / answered ${r.status}${allowFailure ? ' (expected 200, or 503 from the failing backend)' : ''}`);
}

/** One unary call. Resolves { status, grpcStatus, trailersOnly, length } or rejects. */
function callGrpc(session) {
  return new Promise((resolve, reject) => {
    const msg = Buffer.from([0, 0, 0, 0, 4, 0x0a, 0x02, 0x68, 0x69]);
    const stream = session.request({
      ':method': 'POST',
      ':path': '/bench.Bench/Unary',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    let headers;
    let trailers;
    let len = 0;
    stream.setTimeout(TIMEOUT_MS, () => stream.close(http2.constants.NGHTTP2_CANCEL));
    stream.on('response', (h) => (headers = h));
    stream.on('data', (d) => (len += d.length));
    stream.on('trailers', (t) => (trailers = t));
    stream.on('error', (err) => reject(new Error(`check: gRPC stream: ${err.message}`)));
    stream.on('close', () => {
      if (!headers) return reject(new Error(`check: gRPC call ended without a response (RST code ${stream.rstCode})`));
      const trailersOnly = !trailers && headers['grpc-status'] !== undefined;
      resolve({
        status: headers[':status'],
        grpcStatus: trailers ? trailers['grpc-status'] : headers['grpc-status'],
        trailersOnly,
        trailers,
        length: len,
      });
    });
    stream.end(msg);
  });
}

function checkGrpcResponse(r, allowFailure) {
  if (r.status !== 200) throw new Error(`check: gRPC :status ${r.status}`);
  if (r.grpcStatus === '0') {
    if (r.trailersOnly || !r.trailers) throw new Error('check: gRPC grpc-status 0 without a message and trailers');
    if (r.length !== 9) throw new Error(`check: gRPC response body is ${r.length} bytes, expected 9`);
    return true;
  }
  if (allowFailure && r.grpcStatus === '14') return false;
  if (r.grpcStatus === undefined) throw new Error('check: gRPC response ended without grpc-status trailers');
  throw new Error(`check: gRPC grpc-status ${r.grpcStatus}${r.trailers ? ` (trailers ${JSON.stringify(r.trailers)})` : ' (trailers-only)'}`);
}

async function withSession(host, port, fn) {
  const session = http2.connect(`http://${host}:${port}`);
  let sessionError;
  session.on('error', (err) => (sessionError = err));
  try {
    return await fn(session);
  } catch (err) {
    if (sessionError) throw new Error(`check: h2c session: ${sessionError.message}`);
    throw err;
  } finally {
    session.destroy();
  }
}

export async function checkTarget(workload, host, port) {
  const failing = (workload.failRatio ?? 0) > 0;
  const calls = failing ? CHECK_CALLS : 1;
  let ok = 0;
  if (workload.backend === 'grpc') {
    await withSession(host, port, async (session) => {
      for (let i = 0; i < calls; i++) if (checkGrpcResponse(await callGrpc(session), failing)) ok++;
    });
  } else {
    for (let i = 0; i < calls; i++) if (checkHttp1Response(await getHttp1(host, port), failing)) ok++;
  }
  if (ok === 0) throw new Error(`check: none of ${calls} requests succeeded`);
  return { calls, ok };
}
