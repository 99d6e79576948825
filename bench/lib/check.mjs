// One functional request through a target before it is measured, so a proxy that answers fast but
// wrong (wrong status, missing gRPC trailers) is reported instead of benchmarked.
import http from 'node:http';
import http2 from 'node:http2';
import { BODY } from './backends.mjs';

const TIMEOUT_MS = 5000;

function checkHttp1(host, port) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: '/', agent: false, timeout: TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`check: GET / answered ${res.statusCode}`));
        else if (body !== BODY) reject(new Error(`check: GET / body ${JSON.stringify(body.slice(0, 80))}, expected ${JSON.stringify(BODY)}`));
        else resolve({ status: res.statusCode, headers: res.headers });
      });
    });
    req.on('timeout', () => req.destroy(new Error('check: GET / timed out')));
    req.on('error', reject);
  });
}

function checkGrpc(host, port) {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://${host}:${port}`);
    let finished = false;
    let gotTrailers = false;
    const done = (err, v) => {
      if (finished) return;
      finished = true;
      session.destroy();
      if (err) reject(err);
      else resolve(v);
    };
    session.on('error', (err) => done(new Error(`check: h2c session: ${err.message}`)));
    session.setTimeout(TIMEOUT_MS, () => done(new Error('check: gRPC call timed out')));
    const msg = Buffer.from([0, 0, 0, 0, 4, 0x0a, 0x02, 0x68, 0x69]);
    const stream = session.request({
      ':method': 'POST',
      ':path': '/bench.Bench/Unary',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    let headers;
    let len = 0;
    stream.on('response', (h) => (headers = h));
    stream.on('data', (d) => (len += d.length));
    stream.on('trailers', (t) => {
      gotTrailers = true;
      if (headers?.[':status'] !== 200) return done(new Error(`check: gRPC :status ${headers?.[':status']}`));
      if (t['grpc-status'] !== '0') return done(new Error(`check: gRPC trailers ${JSON.stringify(t)}`));
      if (len !== 9) return done(new Error(`check: gRPC response body is ${len} bytes, expected 9`));
      done(null, { status: 200, trailers: t });
    });
    stream.on('end', () => {
      if (!gotTrailers) setImmediate(() => done(new Error('check: gRPC response ended without grpc-status trailers')));
    });
    stream.on('error', (err) => done(new Error(`check: gRPC stream: ${err.message}`)));
    stream.end(msg);
  });
}

export function checkTarget(workload, host, port) {
  return workload.backend === 'grpc' ? checkGrpc(host, port) : checkHttp1(host, port);
}
