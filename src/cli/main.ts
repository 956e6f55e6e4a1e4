import { CliError, usageError } from './errors.ts';
import { runInit } from './init-command.ts';
import { runServe, SERVE_USAGE } from './serve-command.ts';
import { didYouMean, ownVersion } from './usage.ts';

const COMMANDS = ['serve', 'init', 'help'] as const;

const USAGE = `Usage: strata <command> [options]

Commands:
  serve <module>   serve an app (run \`strata serve --help\` for options)
  init [dir]       write a new app into an empty directory (\`strata init --help\`)

  strata --version prints the version; strata --help prints this help.
`;

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  // Bare `strata` is a mistake (nothing was asked): the help goes to stderr, with status 2.
  if (command === undefined) {
    process.stderr.write(`${USAGE}\n${SERVE_USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE}\n${SERVE_USAGE}`);
    return;
  }
  if (command === '--version' || command === '-v' || command === 'version') {
    process.stdout.write(`${ownVersion()}\n`);
    return;
  }
  if (command === 'init') return runInit(rest);
  if (command !== 'serve') {
    const hint = command.startsWith('-')
      ? didYouMean(command.replace(/^-+/, ''), ['help', 'version'], '--')
      : didYouMean(command, COMMANDS);
    throw usageError(
      !command.startsWith('-')
        ? `Unknown command "${command}"${hint}`
        : hint !== ''
          ? `Unknown option "${command}"${hint}`
          : `Unknown option "${command}": a command comes first, as in \`strata serve app.ts ${command}\``,
    );
  }
  await runServe(rest);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof CliError) {
    // A load error's report (the source line, the caret, a hint) reads on after its first line.
    const [first, ...rest] = err.message.split('\n');
    const text =
      err.code === 'STRATA_ERR_MODULE_LOAD' && rest.length > 0
        ? `${first} [${err.code}]\n${rest.join('\n')}`
        : `${err.message} [${err.code}]`;
    process.stderr.write(`strata: ${text}\n`);
    process.exit(err.exitCode);
  }
  process.stderr.write(`strata: ${(err as Error)?.stack ?? err}\n`);
  process.exit(1);
});
