import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeLabelValue, renderPrometheus, sanitizeName } from './prometheus.js';
import { Histogram } from './histogram.js';
import type { Stat } from './proxy-stats.js';
import { parsePrometheus, sampleValue } from '../../../test/helpers/prometheus.js';

const counter = (name: string, base: string, tags: [string, string][], value: number): Stat => ({
  type: 'counter',
  name,
  base,
  tags,
  value,
});

test('counters and gauges: envoy_ prefix, dots to underscores, tags as labels, one TYPE line per family', () => {
  const stats: Stat[] = [
    counter('cluster.backend.upstream_rq_retry', 'cluster.upstream_rq_retry', [['envoy_cluster_name', 'backend']], 3),
    counter('cluster.other.upstream_rq_retry', 'cluster.upstream_rq_retry', [['envoy_cluster_name', 'other']], 0),
    { type: 'gauge', name: 'server.live', base: 'server.live', tags: [], value: 1 },
    counter(
      'cluster.backend.upstream_rq_503',
      'cluster.upstream_rq',
      [
        ['envoy_response_code', '503'],
        ['envoy_cluster_name', 'backend'],
      ],
      7,
    ),
  ];
  const text = renderPrometheus(stats);
  assert.equal(
    text,
    [
      '# TYPE envoy_cluster_upstream_rq counter',
      'envoy_cluster_upstream_rq{envoy_response_code="503",envoy_cluster_name="backend"} 7',
      '# TYPE envoy_cluster_upstream_rq_retry counter',
      'envoy_cluster_upstream_rq_retry{envoy_cluster_name="backend"} 3',
      'envoy_cluster_upstream_rq_retry{envoy_cluster_name="other"} 0',
      '# TYPE envoy_server_live gauge',
      'envoy_server_live 1',
      '',
    ].join('\n'),
  );
  assert.equal(renderPrometheus(stats, { prefix: 'legate_' }).split('\n')[0], '# TYPE legate_cluster_upstream_rq counter');
});

test('names with characters Prometheus does not allow, label values with quotes, backslashes and newlines', () => {
  assert.equal(sanitizeName('cluster.outbound|80||svc.ns/x-y'), 'cluster_outbound_80__svc_ns_x_y');
  assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  const text = renderPrometheus([counter('cluster.x.y', 'cluster.up-time', [['envoy_cluster_name', 'default/eg "q"\\']], 1)]);
  const fams = parsePrometheus(text);
  assert.equal(sampleValue(fams, 'envoy_cluster_up_time', { envoy_cluster_name: 'default/eg "q"\\' }), 1);
});

test('histograms: cumulative _bucket lines at Envoy bounds, +Inf, _sum and _count', () => {
  const h = new Histogram();
  for (const v of [0.2, 3, 3, 40, 7000]) h.record(v);
  const text = renderPrometheus([
    {
      type: 'histogram',
      name: 'cluster.b.upstream_rq_time',
      base: 'cluster.upstream_rq_time',
      tags: [['envoy_cluster_name', 'b']],
      histogram: h,
    },
  ]);
  const fams = parsePrometheus(text);
  const fam = fams.get('envoy_cluster_upstream_rq_time')!;
  assert.equal(fam.type, 'histogram');
  const le = (b: string) => sampleValue(fams, 'envoy_cluster_upstream_rq_time_bucket', { envoy_cluster_name: 'b', le: b });
  assert.equal(le('0.5'), 1);
  assert.equal(le('1'), 1);
  assert.equal(le('5'), 3);
  assert.equal(le('50'), 4);
  assert.equal(le('5000'), 4);
  assert.equal(le('10000'), 5);
  assert.equal(le('3600000'), 5);
  assert.equal(le('+Inf'), 5);
  assert.equal(sampleValue(fams, 'envoy_cluster_upstream_rq_time_count', { envoy_cluster_name: 'b' }), 5);
  assert.equal(sampleValue(fams, 'envoy_cluster_upstream_rq_time_sum', { envoy_cluster_name: 'b' }), 7046.2);
  assert.equal(fam.samples.filter((s) => s.name.endsWith('_bucket')).length, 20, '19 bounds and +Inf');
  // Within a family the buckets never decrease.
  const buckets = fam.samples.filter((s) => s.name.endsWith('_bucket')).map((s) => s.value);
  for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i]! >= buckets[i - 1]!);
});

test('a histogram without tags has only the le label', () => {
  const h = new Histogram();
  h.record(2);
  const lines = renderPrometheus([{ type: 'histogram', name: 'x.t', base: 'x.t', tags: [], histogram: h }]).split('\n');
  assert.ok(lines.includes('envoy_x_t_bucket{le="5"} 1'));
  assert.ok(lines.includes('envoy_x_t_sum 2'));
  assert.ok(lines.includes('envoy_x_t_count 1'));
});
