import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decideCors, setHeaders, type CompiledCors } from './cors.js';

const policy = (patch: Partial<CompiledCors> = {}): CompiledCors => ({
  allowOrigin: (o) => o === 'https://ok.example',
  allowMethods: 'GET, PUT',
  allowHeaders: 'x-a',
  exposeHeaders: 'x-e',
  maxAge: '60',
  allowCredentials: false,
  forwardNotMatchingPreflights: false,
  ...patch,
});

const req = (method: string, headers: Record<string, string>) => ({ method, headers });
const preflight = (origin: string, extra: Record<string, string> = {}) =>
  req('OPTIONS', { origin, 'access-control-request-method': 'PUT', ...extra });

describe('decideCors', () => {
  it('a request without Origin is not a CORS request', () => {
    assert.deepEqual(decideCors(policy(), req('OPTIONS', { 'access-control-request-method': 'GET' })), {
      kind: 'forward',
      responseHeaders: null,
    });
  });

  it('a preflight from an allowed origin is answered with every configured header, expose-headers included', () => {
    assert.deepEqual(decideCors(policy({ allowCredentials: true }), preflight('https://ok.example')), {
      kind: 'preflight',
      headers: [
        'access-control-allow-methods',
        'GET, PUT',
        'access-control-allow-headers',
        'x-a',
        'access-control-max-age',
        '60',
        'access-control-allow-origin',
        'https://ok.example',
        'access-control-allow-credentials',
        'true',
        'access-control-expose-headers',
        'x-e',
      ],
    });
  });

  it('* methods and headers answer with what the preflight asks for', () => {
    const d = decideCors(
      policy({ allowMethods: '*', allowHeaders: '*', exposeHeaders: '', maxAge: '' }),
      preflight('https://ok.example', { 'access-control-request-headers': 'x-1, x-2' }),
    );
    assert.deepEqual(d, {
      kind: 'preflight',
      headers: [
        'access-control-allow-methods',
        'PUT',
        'access-control-allow-headers',
        'x-1, x-2',
        'access-control-allow-origin',
        'https://ok.example',
      ],
    });
  });

  it('a preflight from another origin is answered without allow-origin, or forwarded when the policy says so', () => {
    const answered = decideCors(policy(), preflight('https://evil.example'));
    assert.equal(answered.kind, 'preflight');
    assert.ok(answered.kind === 'preflight' && !answered.headers.includes('access-control-allow-origin'));
    assert.deepEqual(decideCors(policy({ forwardNotMatchingPreflights: true }), preflight('https://evil.example')), {
      kind: 'forward',
      responseHeaders: null,
    });
  });

  it('an allowed simple request is forwarded with the response headers to set; OPTIONS without a requested method too', () => {
    const want = {
      kind: 'forward',
      responseHeaders: ['access-control-allow-origin', 'https://ok.example', 'access-control-expose-headers', 'x-e'],
    };
    assert.deepEqual(decideCors(policy(), req('GET', { origin: 'https://ok.example' })), want);
    assert.deepEqual(decideCors(policy(), req('OPTIONS', { origin: 'https://ok.example' })), want);
    assert.deepEqual(decideCors(policy(), req('GET', { origin: 'https://evil.example' })), { kind: 'forward', responseHeaders: null });
  });

  it('a matcher that accepts the literal * allows every origin', () => {
    const d = decideCors(policy({ allowOrigin: (o) => o === '*' }), req('GET', { origin: 'https://any.example' }));
    assert.deepEqual(d.kind === 'forward' && d.responseHeaders?.slice(0, 2), ['access-control-allow-origin', 'https://any.example']);
  });
});

describe('setHeaders', () => {
  it('replaces every line of a name it sets and keeps the others', () => {
    assert.deepEqual(
      setHeaders(
        ['a', '1', 'access-control-allow-origin', '*', 'a', '2', 'access-control-allow-origin', 'x'],
        ['access-control-allow-origin', 'o'],
      ),
      ['a', '1', 'a', '2', 'access-control-allow-origin', 'o'],
    );
  });
});
