/**
 * How the command reports failure. A user mistake (bad flag, missing layer, refused operation)
 * is one line on stderr and a non-zero exit, never a stack trace: the trace would only bury
 * the one sentence the user needs. Only errors that are bugs in overlay-fs keep their stack.
 */

/** A problem the user can fix; `exitCode` 2 for wrong usage (flags, arguments), usually 1 otherwise. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: number = 1) {
    super(message);
  }
}

export const usageError = (message: string): CliError => new CliError(message, 2);

/** Node's parseArgs messages are long and suggest `--` quoting; keep their first sentence. */
function parseArgsMessage(err: Error & { code?: string }): string {
  const m = /^(?:Unknown option|Option) '([^']+)'/.exec(err.message);
  // "-R, --recursive" or "--lower <value>": name the long form only.
  const name = m ? m[1].replace(/ <value>$/, '').split(', ').pop()! : '';
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && m) return `unknown option ${name}`;
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && m) {
    return /argument missing/.test(err.message) ? `option ${name} needs a value` : `option ${name} takes no value`;
  }
  if (err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const p = /Unexpected argument '([^']*)'/.exec(err.message);
    return p ? `unexpected argument ${JSON.stringify(p[1])}` : 'unexpected argument';
  }
  return err.message.split(/\.\s/)[0];
}

/** The one line to print for an error, and the exit code; `null` line means "print the stack". */
export function describeError(err: unknown): { line: string | null; exitCode: number } {
  if (err instanceof CliError) return { line: err.message, exitCode: err.exitCode };
  const e = err as (Error & { code?: unknown }) | undefined;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (code.startsWith('ERR_PARSE_ARGS_')) return { line: parseArgsMessage(e as Error & { code: string }), exitCode: 2 };
  // The engine's option errors (ERR_OVERLAY_*) and fs errors (ENOENT, EACCES, ...) are about
  // the user's directories; their messages already name the path.
  if (code.startsWith('ERR_OVERLAY_') || /^E[A-Z0-9]+$/.test(code)) {
    return { line: String(e!.message).replace(/^overlay-fs: /, ''), exitCode: 1 };
  }
  return { line: null, exitCode: 70 }; // EX_SOFTWARE: a bug, shown with its stack
}
