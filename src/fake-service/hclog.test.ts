import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dur, err, float, levelFromString, Logger } from './hclog.js';

const T = Date.UTC(2024, 0, 4, 13, 57, 54, 123) * 1000;

function capture(json = false, level: 'trace' | 'info' | 'error' = 'info') {
  const lines: string[] = [];
  const log = new Logger({ level, json, sink: (l) => lines.push(l), nowMicros: () => T, tzOffsetMin: 0 });
  return { log, lines };
}

test('text lines: level tags padded to 7, names with ": ", hclog quoting', () => {
  const { log, lines } = capture();
  log.named('error_injector').info('Injecting error', 'request_count', 2, 'error_percentage', float(0.5), 'error_type', 'http_error');
  log.error('Error handling request', 'error', err('Service error automatically injected'));
  log.info('Finished handling request', 'duration', dur(125_503));
  log.info('Finished handling request', 'duration', dur(1_097_642));
  log.warn('Values', 'empty', '', 'comma', 'a,b', 'star', '*', 'quote', 'say "hi"', 'ok', '-~/:.');
  log.debug('hidden');
  assert.deepEqual(lines, [
    '2024-01-04T13:57:54.123Z [INFO]  error_injector: Injecting error: request_count=2 error_percentage=0.5 error_type=http_error\n',
    '2024-01-04T13:57:54.123Z [ERROR] Error handling request: error="Service error automatically injected"\n',
    '2024-01-04T13:57:54.123Z [INFO]  Finished handling request: duration="125.503µs"\n',
    '2024-01-04T13:57:54.123Z [INFO]  Finished handling request: duration=1.097642ms\n',
    '2024-01-04T13:57:54.123Z [WARN]  Values: empty="" comma="a,b" star="*" quote="say \\"hi\\"" ok=-~/:.\n',
  ]);
});

test('multi-line values: "key=" on its own line, each line prefixed with "  | ", a trailing "  " line', () => {
  const { log, lines } = capture();
  log.info('Handling request gRPC request', 'context', 'key: a value: [1]\nkey: b value: [2]\n');
  log.info('Handle inbound request', 'request', 'GET / HTTP/1.1\nHost: x', 'after', 'v');
  assert.equal(
    lines[0],
    '2024-01-04T13:57:54.123Z [INFO]  Handling request gRPC request:\n  context=\n  | key: a value: [1]\n  | key: b value: [2]\n  \n',
  );
  assert.equal(
    lines[1],
    '2024-01-04T13:57:54.123Z [INFO]  Handle inbound request:\n  request=\n  | GET / HTTP/1.1\n  | Host: x\n   after=v\n',
  );
});

test('JSON lines: Go map key order, durations in nanoseconds, nested names', () => {
  const { log, lines } = capture(true);
  log
    .named('a')
    .named('b')
    .info('Sleeping <now>', 'duration', dur(1500), 'MB', 3, 'data', { strings: ['x', 'y'] });
  assert.equal(
    lines[0],
    '{"@level":"info","@message":"Sleeping \\u003cnow\\u003e","@module":"a.b","@timestamp":"2024-01-04T13:57:54.123000Z","MB":3,"data":["x","y"],"duration":1500}\n',
  );
});

test('levels: unknown names mean info, off silences everything', () => {
  assert.equal(levelFromString(' DEBUG '), 'debug');
  assert.equal(levelFromString('verbose'), 'info');
  const lines: string[] = [];
  const off = new Logger({ level: levelFromString('off'), json: false, sink: (l) => lines.push(l), nowMicros: () => T });
  off.error('x');
  assert.deepEqual(lines, []);
  const { log, lines: errs } = capture(false, 'error');
  log.info('no');
  log.error('yes', 'slice', { strings: ['', 'config'] });
  assert.deepEqual(errs, ['2024-01-04T13:57:54.123Z [ERROR] yes: slice=["", "config"]\n']);
});
