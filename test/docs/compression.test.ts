import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { COMPRESSION_DEFAULTS } from '../../src/server.ts';

const ROOT = join(import.meta.dirname, '..', '..');

/** How the docs write a default: numbers as they are, lists as ['a', 'b'], objects as { k: v }. */
function written(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => `'${v}'`).join(', ')}]`;
  if (typeof value === 'object' && value !== null)
    return `{ ${Object.entries(value)
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ')} }`;
  return String(value);
}

test('docs/server.md lists every compression option with the default the code uses', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'server.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Compression'), doc.indexOf('## Graceful shutdown'));
  const rows = new Map<string, string>();
  for (const m of section.matchAll(/^\|\s*`(\w+)`\s*\|\s*`([^`]+)`\s*\|/gm)) rows.set(m[1]!, m[2]!);
  for (const [key, value] of Object.entries(COMPRESSION_DEFAULTS)) {
    assert.ok(rows.has(key), `the Compression section has no row for ${key}`);
    assert.equal(rows.get(key), written(value), `documented default of compression.${key}`);
  }
  assert.equal(rows.size, Object.keys(COMPRESSION_DEFAULTS).length, 'no documented option the code lacks');
});
