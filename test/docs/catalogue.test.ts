import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { SERVER_DEFAULTS } from '../../src/server.ts';

const ROOT = join(import.meta.dirname, '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

test('every error code in src/ is documented in docs/errors.md, and every documented code exists', () => {
  const inSource = new Set<string>();
  for (const file of sourceFiles(join(ROOT, 'src'))) {
    for (const m of readFileSync(file, 'utf8').matchAll(/'(STRATA_ERR_[A-Z_]+)'/g)) inSource.add(m[1]!);
  }
  const doc = readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8');
  const inDocs = new Set([...doc.matchAll(/`(STRATA_ERR_[A-Z_]+)`/g)].map((m) => m[1]!));
  assert.ok(inSource.size > 5, 'the scan found the catalogue');
  assert.deepEqual(
    [...inSource].filter((c) => !inDocs.has(c)).sort(),
    [],
    'codes missing from docs/errors.md',
  );
  assert.deepEqual(
    [...inDocs].filter((c) => !inSource.has(c)).sort(),
    [],
    'documented codes that no longer exist',
  );
});

test('docs/server.md lists every server option with the default the code uses', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'server.md'), 'utf8');
  const rows = new Map<string, string>();
  for (const m of doc.matchAll(/^\|\s*`(\w+)`\s*\|\s*`([^`]+)`\s*\|/gm)) rows.set(m[1]!, m[2]!);
  for (const [key, value] of Object.entries(SERVER_DEFAULTS)) {
    assert.ok(rows.has(key), `docs/server.md has no row for ${key}`);
    assert.equal(rows.get(key), String(value), `documented default of ${key}`);
  }
});
