/**
 * What every command file exports, and the argument parsing they share (Node's util.parseArgs:
 * the options here are few and flat, so a parsing library would not earn its place).
 */
import { parseArgs } from 'util';
import type { Paint } from './colour';
import { usageError } from './errors';

export type OptionSpec = { type: 'string' | 'boolean'; short?: string; multiple?: boolean };
export type Options = Record<string, OptionSpec>;
export type Values = Record<string, string | boolean | string[] | boolean[] | undefined>;

export interface Context {
  readonly command: string;
  readonly values: Values;
  readonly positionals: string[];
  /** What came after `--` (only `run` takes it). */
  readonly rest: string[];
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  readonly stdin: NodeJS.ReadStream;
  /** Colours for stdout and for stderr (each decided by its own stream). */
  readonly paint: Paint;
  readonly paintErr: Paint;
  out(line?: string): void;
  /** A note on stderr, prefixed with the command's name. */
  warn(line: string): void;
}

export interface Command {
  readonly name: string;
  /** One line for `overlay-fs --help`. */
  readonly summary: string;
  /** `overlay-fs <name> ...` synopsis lines. */
  readonly synopsis: string[];
  /** Paragraphs of explanation for `--help`. */
  readonly description: string;
  /** [flags as shown, explanation] pairs for `--help`. */
  readonly optionHelp?: Array<[string, string]>;
  readonly options?: Options;
  /** Whether the layer options (--mount, --upper, --lower, --workdir, --config) apply. */
  readonly layers: boolean;
  readonly maxPositionals: number;
  /** Takes a command after `--`. */
  readonly takesRest?: boolean;
  readonly examples?: string[];
  run(ctx: Context): Promise<number | void>;
}

export const LAYER_OPTIONS: Options = {
  mount: { type: 'string' },
  upper: { type: 'string' },
  lower: { type: 'string', multiple: true },
  workdir: { type: 'string' },
  config: { type: 'string' },
};

export const LAYER_HELP: Array<[string, string]> = [
  ['--mount DIR', 'the merged directory (the mountpoint; it need not exist)'],
  ['--upper DIR', 'the writable top layer (leave it out for a read-only stack)'],
  ['--lower DIR', 'a read-only layer; repeat it, highest first (like lowerdir=)'],
  ['--workdir DIR', 'the copy-up work directory (default: .<upper name>.overlay-work beside the upper)'],
  ['--config FILE', 'read the layers from this JSON file (or package.json "overlay-fs" key)'],
];

export interface Parsed {
  values: Values;
  positionals: string[];
  rest: string[];
}

export function parseCommandArgs(cmd: Command, args: string[]): Parsed {
  let rest: string[] = [];
  let own = args;
  if (cmd.takesRest) {
    const at = args.indexOf('--');
    if (at >= 0) {
      own = args.slice(0, at);
      rest = args.slice(at + 1);
    }
  }
  const options: Options = { ...(cmd.layers ? LAYER_OPTIONS : {}), ...cmd.options, help: { type: 'boolean', short: 'h' } };
  const { values, positionals } = parseArgs({ args: own, options, allowPositionals: true, strict: true });
  if (!values.help && positionals.length > cmd.maxPositionals) {
    throw usageError(`unexpected argument ${JSON.stringify(positionals[cmd.maxPositionals])}`);
  }
  return { values: values as Values, positionals, rest };
}

export function str(values: Values, key: string): string | undefined {
  const v = values[key];
  return typeof v === 'string' ? v : undefined;
}

export function flag(values: Values, key: string): boolean {
  return values[key] === true;
}
