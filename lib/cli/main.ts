#!/usr/bin/env node
/**
 * The `overlay-fs` command: picks the command named by the first argument, parses the rest
 * with util.parseArgs, and turns every user mistake into one line on stderr and a non-zero
 * exit status (see core/errors.ts).
 */
import { closeTargets } from './core/target';
import { parseArgs } from 'util';
import { COMMANDS, findCommand } from './commands';
import { parseCommandArgs, type Context } from './core/command';
import { commandHelp, mainHelp } from './core/help';
import { paintFor } from './core/colour';
import { describeError, usageError } from './core/errors';

function version(): string {
  // Runs as dist/cjs/cli/main.js, three levels below package.json.
  return (require('../../../package.json') as { version: string }).version;
}

async function main(argv: string[]): Promise<number> {
  const paint = paintFor(process.stdout);
  const paintErr = paintFor(process.stderr);
  // Only the command name and the global flags are parsed here; the command parses the rest.
  const { tokens } = parseArgs({ args: argv, options: { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'V' } }, strict: false, allowPositionals: true, tokens: true });
  const first = tokens[0];
  let commandName = '';
  let rest = argv;
  if (first?.kind === 'positional') {
    commandName = first.value;
    rest = argv.slice(1);
  } else if (first?.kind === 'option' && (first.name === 'help' || first.name === 'version')) {
    process.stdout.write(first.name === 'help' ? mainHelp(COMMANDS, paint) : `overlay-fs ${version()}\n`);
    return 0;
  }
  if (commandName === 'help') {
    const cmd = rest[0] === undefined ? undefined : findCommand(rest[0]);
    process.stdout.write(cmd ? commandHelp(cmd, paint) : mainHelp(COMMANDS, paint));
    return 0;
  }
  if (!commandName) {
    if (argv.length === 0) {
      process.stderr.write(mainHelp(COMMANDS, paintErr));
      return 2;
    }
    return fail('', usageError(`expected a command first, got ${argv[0]} (commands: ${COMMANDS.map((c) => c.name).join(', ')})`));
  }
  const cmd = findCommand(commandName);
  if (!cmd) return fail('', usageError(`unknown command ${JSON.stringify(commandName)} (commands: ${COMMANDS.map((c) => c.name).join(', ')})`));
  try {
    const parsed = parseCommandArgs(cmd, rest);
    if (parsed.values.help) {
      process.stdout.write(commandHelp(cmd, paint));
      return 0;
    }
    const ctx: Context = {
      command: cmd.name,
      ...parsed,
      cwd: process.cwd(),
      env: process.env,
      stdout: process.stdout,
      stderr: process.stderr,
      stdin: process.stdin,
      paint,
      paintErr,
      out: (line = '') => process.stdout.write(line + '\n'),
      warn: (line) => process.stderr.write(`overlay-fs ${cmd.name}: ${line}\n`),
    };
    return (await cmd.run(ctx)) ?? 0;
  } catch (err) {
    return fail(cmd.name, err);
  } finally {
    closeTargets();
  }
}

function fail(command: string, err: unknown): number {
  const { line, exitCode } = describeError(err);
  const paint = paintFor(process.stderr);
  const prefix = command ? `overlay-fs ${command}: ` : 'overlay-fs: ';
  if (line !== null) {
    process.stderr.write(`${prefix}${paint.red(line)}${exitCode === 2 ? paint.dim(` (see overlay-fs ${command ? command + ' ' : ''}--help)`) : ''}\n`);
  } else {
    process.stderr.write(`${prefix}internal error, please report it:\n${(err as Error)?.stack ?? String(err)}\n`);
  }
  return exitCode;
}

// A closed pipe (`overlay-fs ls -R | head`) ends the output, not the world.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.exitCode = fail('', err);
  },
);
