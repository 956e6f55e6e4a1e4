/**
 * A bench run's results as an SVG bar chart (CPU µs per request per target, with the ratio to the
 * baseline), for the docs:
 *
 *   node bench/chart.ts bench/results/hello-….json docs/img/bench-hello.svg [--title "…"]
 *   npm run bench -- chart bench/results/hello-….json docs/img/bench-hello.svg
 *
 * `npm run bench -- hello --svg docs/img/bench-hello.svg` writes the chart of the run it makes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type BenchResults, benchChart } from './lib/svg-chart.ts';

const argv = process.argv.slice(2);
if (argv[0] === 'chart') argv.shift(); // through bench/run.ts
const { values, positionals } = parseArgs({
  args: argv,
  options: { title: { type: 'string' }, subject: { type: 'string' } },
  allowPositionals: true,
});
const [input, output] = positionals;
if (input === undefined || output === undefined) {
  console.error('Usage: node bench/chart.ts <results.json> <out.svg> [--title TEXT] [--subject NAME]');
  process.exit(2);
}
const results = JSON.parse(readFileSync(input, 'utf8')) as BenchResults;
writeFileSync(
  output,
  benchChart(results, {
    ...(values.title === undefined ? {} : { title: values.title }),
    ...(values.subject === undefined ? {} : { subject: values.subject }),
  }),
);
console.log(`chart: ${output} (${results.rows.length} targets of ${results.scenario})`);
