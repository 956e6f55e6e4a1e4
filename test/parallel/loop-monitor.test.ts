import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LoopMonitor } from '../../src/parallel/index.ts';

function block(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // busy: the loop cannot turn
  }
}

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('LoopMonitor', () => {
  test('a blocked loop shows in the delay histogram and the utilisation', async () => {
    const monitor = new LoopMonitor({ sampleInterval: 60_000, resolution: 5 });
    try {
      await tick(20);
      monitor.sample();
      await tick(12);
      block(120);
      await tick(20);
      monitor.sample();
      const health = monitor.health();
      assert.ok(health.delay.max >= 80, `max delay ${health.delay.max} ms after a 120 ms block`);
      assert.ok(health.utilization > 0.5, `utilisation ${health.utilization} after mostly blocking`);
      assert.ok(health.heapUsedBytes > 0 && health.rssBytes > health.heapUsedBytes / 2);
      assert.equal(health.pressure, undefined, 'no limits set, no pressure');
    } finally {
      monitor.stop();
    }
  });

  test('passing maxEventLoopDelay turns underPressure on, and recovery turns it off', async () => {
    const monitor = new LoopMonitor({ sampleInterval: 60_000, resolution: 5, maxEventLoopDelay: 40 });
    try {
      monitor.sample();
      assert.equal(monitor.underPressure, false);
      await tick(12);
      block(300);
      await tick(10);
      monitor.sample();
      assert.equal(monitor.underPressure, true);
      assert.equal(monitor.pressure, 'maxEventLoopDelay');
      for (let i = 0; i < 5; i++) await tick(20);
      monitor.sample();
      assert.equal(monitor.underPressure, false, 'a quiet window clears the pressure');
    } finally {
      monitor.stop();
    }
  });

  test('heap and RSS limits', () => {
    for (const [limit, name] of [
      [{ maxHeapUsedBytes: 1 }, 'maxHeapUsedBytes'],
      [{ maxRssBytes: 1 }, 'maxRssBytes'],
    ] as const) {
      const monitor = new LoopMonitor({ sampleInterval: 60_000, ...limit });
      try {
        assert.equal(monitor.underPressure, true, `${name} of 1 byte is always passed`);
        assert.equal(monitor.pressure, name);
      } finally {
        monitor.stop();
      }
    }
  });

  test('bad options are refused by name', () => {
    for (const options of [{ maxEventLoopDelay: -1 }, { sampleInterval: 0 }, { maxRssBytes: Number.NaN }]) {
      assert.throws(() => new LoopMonitor(options), /LoopMonitor:/);
    }
  });
});
