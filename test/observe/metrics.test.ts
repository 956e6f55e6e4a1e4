import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { aggregateMetrics, Metrics } from '../../src/observe/index.ts';
import { seriesValue } from '../fixtures/prometheus.ts';

describe('Metrics', () => {
  test('requests are counted by method, route pattern and status, with latency buckets', async () => {
    const m = new Metrics({ defaultMetrics: false });
    for (let i = 0; i < 3; i++) {
      m.requestStarted();
      m.requestFinished('GET', '/users/:id', 200, 0.002);
    }
    m.requestStarted();
    m.requestFinished('POST', '/users', 201, 0.2);
    m.requestStarted(); // still in flight
    const text = await m.text();
    assert.equal(
      seriesValue(text, 'strata_http_requests_total{method="GET",route="/users/:id",status="200"}'),
      3,
    );
    assert.equal(
      seriesValue(text, 'strata_http_requests_total{method="POST",route="/users",status="201"}'),
      1,
    );
    assert.equal(
      seriesValue(
        text,
        'strata_http_request_duration_seconds_bucket{le="0.0025",method="GET",route="/users/:id",status="200"}',
      ),
      3,
    );
    assert.equal(
      seriesValue(
        text,
        'strata_http_request_duration_seconds_bucket{le="0.1",method="POST",route="/users",status="201"}',
      ),
      0,
      'a 200 ms request is not in the 100 ms bucket',
    );
    assert.equal(seriesValue(text, 'strata_http_requests_in_flight'), 1);
    assert.match(text, /strata_event_loop_utilization \d/);
  });

  test('label values with quotes or newlines are escaped, not injected', async () => {
    const m = new Metrics({ defaultMetrics: false });
    m.requestStarted();
    m.requestFinished('GET', '/a"b\nc', 200, 0.001);
    const text = await m.text();
    assert.ok(text.includes('route="/a\\"b\\nc"'), text);
    assert.ok(!text.includes('\nc"'), 'no raw newline inside a label');
  });

  test('default process metrics include heap and event-loop delay', async () => {
    const text = await new Metrics().text();
    assert.match(text, /nodejs_heap_size_used_bytes \d/);
    assert.match(text, /nodejs_eventloop_lag_p99_seconds \d/);
  });

  test('aggregation sums counters and in-flight across workers and averages utilisation', async () => {
    const a = new Metrics({ defaultMetrics: false });
    const b = new Metrics({ defaultMetrics: false });
    a.requestStarted();
    a.requestFinished('GET', '/x', 200, 0.001);
    b.requestStarted();
    b.requestFinished('GET', '/x', 200, 0.001);
    b.requestStarted();
    b.requestFinished('GET', '/x', 500, 0.001);
    b.requestStarted();
    // Through JSON, as worker processes send it over IPC.
    const jsons = [JSON.parse(JSON.stringify(await a.json())), JSON.parse(JSON.stringify(await b.json()))];
    const text = await aggregateMetrics(jsons);
    assert.equal(seriesValue(text, 'strata_http_requests_total{method="GET",route="/x",status="200"}'), 2);
    assert.equal(seriesValue(text, 'strata_http_requests_total{method="GET",route="/x",status="500"}'), 1);
    assert.equal(seriesValue(text, 'strata_http_requests_in_flight'), 1);
    const elu = seriesValue(text, 'strata_event_loop_utilization');
    assert.ok(elu !== undefined && elu >= 0 && elu <= 1, `averaged utilisation ${elu}`);
  });
});
