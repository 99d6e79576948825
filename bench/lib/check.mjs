// Functional requests through a target before it is measured, so a proxy that answers fast but
// wrong (wrong status, missing gRPC trailers) is reported instead of benchmarked.
// Against a backend that always succeeds: one request, which must succeed. Against a failing
// backend (workload.failRatio > 0): CHECK_CALLS requests, each of which must be either a success
// or the backend's failure passed through unchanged (503 "unavailable\n"; grpc-status 14), and at
// least one must succeed.
import http from 'node:http';
import http2 from 'node:http2';
import { BODY, DOWNLOAD_PATH, FAIL_BODY, GRPC_REQUEST_FRAME, largeBody } from './payloads.mjs';

const TIMEOUT_MS = 5000;
const CHECK_CALLS = 16;

/** The workload's request ({ method, path, bodyBytes }) on a fresh connection; resolves { status, headers, body (Buffer) }. */
function requestHttp1(host, port, { method = 'GET', path = '/', bodyBytes = 0 }) {
  return new Promise((resolve, reject) => {
    const headers = bodyBytes ? { 'content-length': String(bodyBytes) } : {};
    const req = http.request({ host, port, method, path, headers, agent: false, timeout: TIMEOUT_MS }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('timeout', () => req.destroy(new Error(`check: ${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(bodyBytes ? Buffer.alloc(bodyBytes, 0x61) : undefined);
  });
}

let large;
function checkHttp1Response(r, allowFailure, request) {
  const what = `${request.method ?? 'GET'} ${request.path ?? '/'}`;
  if (r.status === 200) {
    if (request.path === DOWNLOAD_PATH) {
      large ??= largeBody();
      if (!r.body.equals(large)) throw new Error(`check: ${what} answered ${r.body.length} bytes, not the backend's ${large.length}`);
      return true;
    }
    const body = r.body.toString();
    if (body !== BODY) throw new Error(`check: ${what} body ${JSON.stringify(body.slice(0, 80))}, expected ${JSON.stringify(BODY)}`);
    return true;
  }
  if (allowFailure && r.status === 503) {
    const body = r.body.toString();
    if (body !== FAIL_BODY)
      throw new Error(
        `check: ${what} answered 503 with body ${JSON.stringify(body.slice(0, 80))}, not the backend's ${JSON.stringify(FAIL_BODY)}`,
      );
    return false;
  }
  throw new Error(`check: ${what} answered ${r.status}${allowFailure ? ' (expected 200, or 503 from the failing backend)' : ''}`);
}

/** One call to `path` (unary or server streaming). Resolves { status, grpcStatus, trailersOnly, length } or rejects. */
function callGrpc(session, path) {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ':method': 'POST',
      ':path': path,
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
    stream.end(GRPC_REQUEST_FRAME);
  });
}

/** Response bytes of a successful call: one 9-byte message, or `stream.messages` frames of `stream.bytes` payload bytes. */
export function grpcResponseBytes(stream) {
  if (!stream) return 9;
  const varint = stream.bytes < 128 ? 1 : 2;
  return stream.messages * (5 + 1 + varint + stream.bytes);
}

function checkGrpcResponse(r, allowFailure, expectedLength) {
  if (r.status !== 200) throw new Error(`check: gRPC :status ${r.status}`);
  if (r.grpcStatus === '0') {
    if (r.trailersOnly || !r.trailers) throw new Error('check: gRPC grpc-status 0 without a message and trailers');
    if (r.length !== expectedLength) throw new Error(`check: gRPC response body is ${r.length} bytes, expected ${expectedLength}`);
    return true;
  }
  if (allowFailure && r.grpcStatus === '14') return false;
  if (r.grpcStatus === undefined) throw new Error('check: gRPC response ended without grpc-status trailers');
  throw new Error(
    `check: gRPC grpc-status ${r.grpcStatus}${r.trailers ? ` (trailers ${JSON.stringify(r.trailers)})` : ' (trailers-only)'}`,
  );
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
      for (let i = 0; i < calls; i++)
        if (checkGrpcResponse(await callGrpc(session, workload.request.path), failing, grpcResponseBytes(workload.stream))) ok++;
    });
  } else {
    for (let i = 0; i < calls; i++)
      if (checkHttp1Response(await requestHttp1(host, port, workload.request), failing, workload.request)) ok++;
  }
  if (ok === 0) throw new Error(`check: none of ${calls} requests succeeded`);
  return { calls, ok };
}
