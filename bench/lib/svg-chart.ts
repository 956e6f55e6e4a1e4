/**
 * A horizontal bar chart as a standalone SVG, for the docs: CPU µs per request of each target of
 * a bench run, with its ratio to the baseline. No dependency; text is escaped, numbers are
 * checked, so a target's name cannot break the document.
 */

export interface Bar {
  label: string;
  value: number;
  /** Printed after the value: `0.73× node:http`. */
  note?: string;
  /** Drawn in the accent colour (the subject of the run, strata). */
  highlight?: boolean;
}

export interface BarChart {
  title: string;
  subtitle?: string;
  /** The unit printed after each value: `µs`. */
  unit?: string;
  bars: Bar[];
  /** Digits after the point for the values. Default 2. */
  digits?: number;
}

/** The chart's geometry, exported for the tests. */
export const LAYOUT = {
  width: 760,
  labelWidth: 190,
  barMax: 350,
  barHeight: 20,
  gap: 10,
  top: 64,
  bottom: 16,
};

export function escapeXml(text: string): string {
  return (
    text
      // Characters XML 1.0 does not allow at all (C0 controls but tab, newline, return; lone
      // surrogates; U+FFFE/U+FFFF) are dropped, the five special ones escaped.
      .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  );
}

const fmt = (n: number): string => String(Math.round(n * 100) / 100);

/** Renders the chart. Bars are proportional to their values (the longest fills `barMax`). */
export function barChart(chart: BarChart): string {
  const { width, labelWidth, barMax, barHeight, gap, top, bottom } = LAYOUT;
  for (const bar of chart.bars) {
    if (!Number.isFinite(bar.value) || bar.value < 0) {
      throw new RangeError(`bar "${bar.label}": value must be a finite number ≥ 0, got ${bar.value}`);
    }
  }
  const digits = chart.digits ?? 2;
  const max = Math.max(0, ...chart.bars.map((b) => b.value));
  const height = top + chart.bars.length * (barHeight + gap) + bottom;
  const unit = chart.unit === undefined ? '' : ` ${chart.unit}`;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(chart.title)}">`,
    `<title>${escapeXml(chart.title)}</title>`,
    '<style>',
    'text { font: 13px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; fill: #1f2328; }',
    '.title { font-size: 16px; font-weight: 600; }',
    '.sub, .note { fill: #59636e; }',
    '.bar { fill: #8c959f; }',
    '.bar.hi { fill: #0969da; }',
    '.bg { fill: #ffffff; }',
    '@media (prefers-color-scheme: dark) {',
    '  text { fill: #e6edf3; }',
    '  .sub, .note { fill: #9198a1; }',
    '  .bar { fill: #6e7681; }',
    '  .bar.hi { fill: #4493f8; }',
    '  .bg { fill: #0d1117; }',
    '}',
    '</style>',
    `<rect class="bg" x="0" y="0" width="${width}" height="${height}" rx="6"/>`,
    `<text class="title" x="16" y="26">${escapeXml(chart.title)}</text>`,
  );
  if (chart.subtitle !== undefined) {
    out.push(`<text class="sub" x="16" y="46">${escapeXml(chart.subtitle)}</text>`);
  }
  chart.bars.forEach((bar, i) => {
    const y = top + i * (barHeight + gap);
    const w = max === 0 ? 0 : (bar.value / max) * barMax;
    const mid = y + barHeight / 2 + 4.5;
    const label = escapeXml(bar.label);
    out.push(
      `<text x="${labelWidth - 10}" y="${fmt(mid)}" text-anchor="end">${label}</text>`,
      `<rect class="bar${bar.highlight === true ? ' hi' : ''}" x="${labelWidth}" y="${y}" width="${fmt(w)}" height="${barHeight}" rx="3" data-value="${bar.value}"><title>${label}: ${bar.value.toFixed(digits)}${escapeXml(unit)}</title></rect>`,
      `<text x="${fmt(labelWidth + w + 8)}" y="${fmt(mid)}">${bar.value.toFixed(digits)}${escapeXml(unit)}${
        bar.note === undefined ? '' : `<tspan class="note"> · ${escapeXml(bar.note)}</tspan>`
      }</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** What bench/lib/harness.ts writes to bench/results/<scenario>-<time>.json. */
export interface BenchResults {
  scenario: string;
  rounds: number;
  requests: number;
  connections?: number;
  /** Written since the chart; older files lack them (the baseline is then the row at ratio 1). */
  baseline?: string;
  subject?: string;
  date?: string;
  rows: { name: string; cpu: number; rps: number; vsBaseline: number; subjectVs?: number }[];
}

/** The chart of a bench run: CPU µs per request per target, each with its ratio to the baseline. */
export function benchChart(
  results: BenchResults,
  options: { title?: string; subject?: string } = {},
): string {
  if (!Array.isArray(results.rows) || results.rows.length === 0) {
    throw new TypeError(`bench results for "${results.scenario}" have no rows`);
  }
  const baseline = results.baseline ?? results.rows.find((r) => r.vsBaseline === 1)?.name ?? 'baseline';
  const subject = options.subject ?? results.subject ?? 'strata';
  const when = results.date === undefined ? '' : `, ${results.date.slice(0, 10)}`;
  return barChart({
    title: options.title ?? `${results.scenario}: server CPU per request (lower is better)`,
    subtitle: `median of ${results.rounds} rounds × ${results.requests} requests; ratio to ${baseline} = median of per-round ratios${when}`,
    unit: 'µs',
    bars: results.rows.map((r) => ({
      label: r.name,
      value: r.cpu,
      note: r.name === baseline ? 'baseline' : `${r.vsBaseline.toFixed(2)}× ${baseline}`,
      highlight: r.name === subject,
    })),
  });
}
