/**
 * bench/lib/svg-chart.ts: the SVG is well-formed XML, bars are proportional to their values, and
 * every piece of text (a target's name, a title) is escaped.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { type BenchResults, barChart, benchChart, escapeXml, LAYOUT } from '../../bench/lib/svg-chart.ts';

/**
 * A strict well-formedness check of the XML subset the writer emits: one root element, tags
 * balanced and properly nested, attributes quoted and unique, no `<` or bare `&` in text or in an
 * attribute, only the five predefined entities and numeric references.
 */
function assertWellFormed(xml: string): void {
  const stack: string[] = [];
  let roots = 0;
  let i = 0;
  const entity = /^&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/;
  const checkText = (text: string, where: string): void => {
    for (let j = text.indexOf('&'); j !== -1; j = text.indexOf('&', j + 1)) {
      assert.ok(entity.test(text.slice(j)), `bare & in ${where}: ${text.slice(j, j + 12)}`);
    }
    assert.ok(!text.includes('<'), `< in ${where}`);
  };
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = lt === -1 ? xml.slice(i) : xml.slice(i, lt);
    if (stack.length === 0) assert.equal(text.trim(), '', `text outside the root: ${text.slice(0, 20)}`);
    else checkText(text, 'text');
    if (lt === -1) break;
    const gt = xml.indexOf('>', lt);
    assert.ok(gt !== -1, 'unterminated tag');
    const tag = xml.slice(lt + 1, gt);
    i = gt + 1;
    if (tag.startsWith('/')) {
      const name = tag.slice(1).trim();
      assert.equal(stack.pop(), name, `</${name}> closes the wrong element`);
      continue;
    }
    const selfClosing = tag.endsWith('/');
    const m = /^([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_:][\w.:-]*="[^"]*")*)\s*\/?$/.exec(tag);
    assert.ok(m, `malformed tag <${tag}>`);
    const names = [...m[2]!.matchAll(/([A-Za-z_:][\w.:-]*)="([^"]*)"/g)].map((a) => {
      checkText(a[2]!, `attribute ${a[1]}`);
      return a[1]!;
    });
    assert.equal(new Set(names).size, names.length, `repeated attribute in <${tag}>`);
    if (stack.length === 0) roots++;
    if (!selfClosing) stack.push(m[1]!);
  }
  assert.deepEqual(stack, [], 'unclosed elements');
  assert.equal(roots, 1, 'one root element');
}

function bars(svg: string): { width: number; value: number; hi: boolean }[] {
  return [...svg.matchAll(/<rect class="bar( hi)?" [^>]*width="([\d.]+)"[^>]*data-value="([\d.]+)"/g)].map(
    (m) => ({
      hi: m[1] !== undefined,
      width: Number(m[2]),
      value: Number(m[3]),
    }),
  );
}

test('the chart is well-formed XML with one bar per value, proportional to it', () => {
  const values = [16.13, 21.88, 24.88, 77.25, 0];
  const svg = barChart({
    title: 'api',
    unit: 'µs',
    bars: values.map((value, i) => ({ label: `t${i}`, value, note: `${i}×`, highlight: i === 0 })),
  });
  assertWellFormed(svg);
  const drawn = bars(svg);
  assert.deepEqual(
    drawn.map((b) => b.value),
    values,
  );
  // The longest bar fills the width; every other is in proportion (to the rounding of 0.01 px).
  assert.equal(Math.max(...drawn.map((b) => b.width)), LAYOUT.barMax);
  for (const b of drawn)
    assert.ok(Math.abs(b.width - (b.value / 77.25) * LAYOUT.barMax) < 0.01, JSON.stringify(b));
  assert.deepEqual(
    drawn.map((b) => b.hi),
    [true, false, false, false, false],
  );
  assert.match(svg, />16\.13 µs<tspan class="note"> · 0×<\/tspan>/);
});

test('labels, titles and notes are escaped; characters XML forbids are dropped', () => {
  const evil = `<script>alert("x")</script> & 'q' \u0001\u0000]]>`;
  const svg = barChart({
    title: evil,
    subtitle: evil,
    bars: [{ label: evil, value: 1, note: evil }],
  });
  assertWellFormed(svg);
  assert.ok(!svg.includes('<script'), svg);
  assert.ok(!svg.includes('\u0000') && !svg.includes('\u0001'));
  assert.ok(svg.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &apos;q&apos;'));
  assert.equal(escapeXml('a&b<c>"d\'\uFFFE'), 'a&amp;b&lt;c&gt;&quot;d&apos;');
});

test('values that cannot be drawn are refused, an all-zero chart draws empty bars', () => {
  for (const value of [Number.NaN, Number.POSITIVE_INFINITY, -1]) {
    assert.throws(() => barChart({ title: 't', bars: [{ label: 'a', value }] }), RangeError);
  }
  const svg = barChart({ title: 't', bars: [{ label: 'a', value: 0 }] });
  assertWellFormed(svg);
  assert.deepEqual(
    bars(svg).map((b) => b.width),
    [0],
  );
});

const results: BenchResults = {
  scenario: 'hello',
  rounds: 5,
  requests: 20000,
  baseline: 'node:http',
  subject: 'strata',
  date: '2026-12-04T22:10:00.000Z',
  rows: [
    { name: 'node:http', cpu: 20, rps: 40000, vsBaseline: 1 },
    { name: 'strata', cpu: 12.5, rps: 60000, vsBaseline: 0.625 },
    { name: 'express', cpu: 45, rps: 15000, vsBaseline: 2.25 },
  ],
};

test('a bench run becomes a chart of CPU per request with the ratio to the baseline', () => {
  const svg = benchChart(results);
  assertWellFormed(svg);
  assert.deepEqual(
    bars(svg).map((b) => [b.value, b.hi]),
    [
      [20, false],
      [12.5, true],
      [45, false],
    ],
  );
  assert.match(svg, /12\.50 µs<tspan class="note"> · 0\.63× node:http<\/tspan>/);
  assert.match(svg, /20\.00 µs<tspan class="note"> · baseline<\/tspan>/);
  assert.match(svg, /median of 5 rounds × 20000 requests; ratio to node:http .*2026-12-04/);
  // A file written before the harness recorded its baseline: the row at ratio 1 is it.
  const { baseline: _b, subject: _s, ...old } = results;
  assert.match(benchChart(old), /ratio to node:http/);
  assert.throws(() => benchChart({ ...results, rows: [] }), TypeError);
});

test('bench/chart.ts writes the chart of a results file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-chart-'));
  try {
    await writeFile(join(dir, 'r.json'), JSON.stringify(results));
    const { stdout } = await promisify(execFile)(process.execPath, [
      join(import.meta.dirname, '..', '..', 'bench', 'chart.ts'),
      join(dir, 'r.json'),
      join(dir, 'out.svg'),
      '--title',
      'hello & co',
    ]);
    assert.match(stdout, /3 targets of hello/);
    const svg = await readFile(join(dir, 'out.svg'), 'utf8');
    assertWellFormed(svg);
    assert.match(svg, /<title>hello &amp; co<\/title>/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
