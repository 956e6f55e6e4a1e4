/**
 * The test tiers stay honest: every file that starts other processes of the kinds the slow tier
 * is for (the CLI, a supervisor, node:cluster workers, Chromium, npm pack) is in SLOW_TESTS, every
 * listed file exists, and `npm test` runs both tiers.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { allTests, SLOW_TESTS, tierFiles } from './tiers.ts';

const ROOT = join(import.meta.dirname, '..');

// What marks a file as starting such processes.
const STARTS_PROCESSES = [
  /from '\.\.\/(\.\.\/)?fixtures\/supervisor\.ts'/,
  /from '\.\.\/(\.\.\/)?fixtures\/chromium\.ts'/,
  /from '\.\.\/(\.\.\/)?fixtures\/pack\.ts'/,
  /\b(startCli|runCli)\(/,
  /spawn\(\s*process\.execPath,\s*\[\s*(CLI|join\(ROOT, 'src', 'cli')/,
  /\bfork\(/,
];

test('every test file that starts the CLI, a supervisor, workers, Chromium or npm is in the slow tier', () => {
  const missing = allTests().filter(
    (path) =>
      !SLOW_TESTS.includes(path) &&
      STARTS_PROCESSES.some((pattern) => pattern.test(readFileSync(join(ROOT, path), 'utf8'))),
  );
  assert.deepEqual(missing, [], 'add these to SLOW_TESTS in test/tiers.ts');
});

test('every file of the slow tier exists, once; the two tiers split every test file', () => {
  const all = allTests();
  assert.deepEqual(
    SLOW_TESTS.filter((path) => !all.includes(path)),
    [],
  );
  assert.equal(new Set(SLOW_TESTS).size, SLOW_TESTS.length);
  const node = tierFiles('node');
  const slow = tierFiles('slow');
  assert.equal(node.length + slow.length, all.length);
  assert.ok(node.includes('test/tiers.test.ts') && !slow.includes('test/tiers.test.ts'));
});

test('npm test runs lint, the type check and both tiers (CI runs npm test)', () => {
  const scripts = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts as Record<
    string,
    string
  >;
  assert.equal(scripts.test, 'npm run lint && npm run typecheck && npm run test:node && npm run test:slow');
  assert.equal(scripts['test:node'], 'node test/tiers.ts node');
  assert.equal(scripts['test:slow'], 'node test/tiers.ts slow');
});
