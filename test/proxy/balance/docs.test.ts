/**
 * docs/proxy.md's tables of upstream group options show the defaults the code uses
 * (UPSTREAM_DEFAULTS), once its section on upstream groups is there: until then (the section is
 * written beside the proxy's own and merged into that page) there is nothing to check.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { UPSTREAM_DEFAULTS } from '../../../src/proxy/balance/index.ts';

const DOC = join(import.meta.dirname, '..', '..', '..', 'docs', 'proxy.md');

function shown(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(shown).join(', ')}]`;
  if (typeof value === 'string') return `'${value}'`;
  return String(value);
}

/** `health.intervalMs` → `5000`, … for every default of every table. */
function codeDefaults(): Map<string, string> {
  const out = new Map<string, string>();
  for (const [section, value] of Object.entries(UPSTREAM_DEFAULTS)) {
    if (Array.isArray(value) || typeof value !== 'object') out.set(section, shown(value));
    else for (const [key, v] of Object.entries(value)) out.set(`${section}.${key}`, shown(v));
  }
  return out;
}

test('docs/proxy.md shows the upstream group defaults the code uses', (t) => {
  const doc = existsSync(DOC) ? readFileSync(DOC, 'utf8') : '';
  const rows = new Map([...doc.matchAll(/^\|\s*`([\w.]+)`\s*\|\s*`([^`]+)`/gm)].map((m) => [m[1]!, m[2]!]));
  const defaults = codeDefaults();
  if (![...defaults.keys()].some((key) => rows.has(key))) {
    t.skip('docs/proxy.md has no table of upstream group options yet');
    return;
  }
  for (const [key, value] of defaults)
    assert.equal(rows.get(key), value, `docs/proxy.md's default of ${key}`);
});
