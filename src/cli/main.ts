import { CliError, usageError } from './errors.ts';
import { runInit } from './init-command.ts';
import { runServe, SERVE_USAGE } from './serve-command.ts';

const USAGE = `Usage: strata <command> [options]

Commands:
  serve <module>   serve an app (run \`strata serve --help\` for options)
  init [dir]       write a new app into an empty directory (\`strata init --help\`)
`;

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE}\n${SERVE_USAGE}`);
    return;
  }
  if (command === 'init') return runInit(rest);
  if (command !== 'serve') throw usageError(`Unknown command "${command}"`);
  await runServe(rest);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof CliError) {
    process.stderr.write(`strata: ${err.message} [${err.code}]\n`);
    process.exit(err.exitCode);
  }
  process.stderr.write(`strata: ${(err as Error)?.stack ?? err}\n`);
  process.exit(1);
});
