/**
 * `overlay-fs commit <dir>`: the merged view as a plain directory (flatten).
 * `overlay-fs commit --into-lower N`: fold the upper into lower N and empty the upper.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Command } from '../core/command';
import { str } from '../core/command';
import { openTarget, type Target } from '../core/target';
import { CliError, usageError } from '../core/errors';
import { isAtOrUnder } from '../../paths';
import { flatten } from '../tree/flatten';
import { foldIntoLower } from '../tree/fold';
import { foldConflicts } from '../tree/fold-check';
import { formatBytes } from '../tree/progress';
import { plural } from '../core/plural';

/** Writing inside the stack would change what is being read; a non-empty target would mix trees. */
function checkDestination(t: Target, dest: string, arg: string): void {
  const { ov, layers } = t;
  for (const [what, dir] of [['the mountpoint', ov.mountpoint], ...layers.map((l) => [`layer ${l.label}`, l.root]), ['the work directory', ov.workdir]] as Array<[string, string | null]>) {
    if (dir && (isAtOrUnder(dest, dir) || isAtOrUnder(dir, dest))) throw new CliError(`${arg} overlaps ${what} (${dir}); commit into a directory outside the stack`);
  }
  let entries: string[];
  try {
    entries = fs.readdirSync(dest);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') throw new CliError(`${arg} exists and is not a directory`);
    throw err;
  }
  if (entries.length) throw new CliError(`${arg} is not empty; commit writes into a new or empty directory`);
}

function parseLowerIndex(value: string, count: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n >= count) {
    throw usageError(`--into-lower takes a lower layer's index, 0 to ${count - 1} (0 is the highest lower), not ${JSON.stringify(value)}`);
  }
  return n;
}

export const commit: Command = {
  name: 'commit',
  summary: 'write the merged view to a directory, or fold the upper into a lower layer',
  synopsis: ['overlay-fs commit <dir> [layers]', 'overlay-fs commit --into-lower N [layers]'],
  description: [
    'With <dir>: writes the merged view as one plain directory (a new or empty one outside the',
    'stack): files, directories and symlinks with their modes and times (and owners, as root).',
    'Whiteouts and opaque markers are applied, not copied. Hard links become separate files;',
    'FIFOs, sockets and device files are skipped with a warning.',
    '',
    'With --into-lower N: moves the upper\'s changes into lower layer N (0 is the highest lower)',
    'and empties the upper, leaving the merged view as it was. Refused when a layer between the',
    'upper and lower N would hide a moved entry. This writes to a lower layer: no other overlay',
    'or program should be using the stack meanwhile.',
    '',
    'On a terminal, big trees get a progress bar (entries and bytes) on stderr.',
  ].join('\n'),
  optionHelp: [['--into-lower N', 'fold the upper into lower layer N and empty the upper']],
  options: { 'into-lower': { type: 'string' } },
  layers: true,
  maxPositionals: 1,
  examples: ['overlay-fs commit ../site-flat', 'overlay-fs commit --into-lower 0'],
  async run(ctx) {
    const arg = ctx.positionals[0];
    const into = str(ctx.values, 'into-lower');
    if (arg !== undefined && into !== undefined) throw usageError('give either a directory or --into-lower N, not both');
    if (arg === undefined && into === undefined) throw usageError('commit where? give a directory, or --into-lower N');
    const t = openTarget(ctx);
    const { ov, layers } = t;
    if (arg !== undefined) {
      const dest = path.resolve(ctx.cwd, arg);
      checkDestination(t, dest, arg);
      const r = flatten(ov, dest, ctx.stderr);
      for (const s of r.skipped) ctx.warn(`skipped ${s}: Node cannot create FIFOs, sockets or device files`);
      ctx.out(`wrote ${plural(r.files, 'file')}, ${plural(r.dirs, 'directory', 'directories')} and ${plural(r.symlinks, 'symlink')} (${formatBytes(r.bytes)}) to ${dest}`);
      return 0;
    }
    if (!ov.upper) throw new CliError('the stack has no upper layer to fold');
    const n = parseLowerIndex(into!, ov.lower.length);
    const conflicts = foldConflicts(ov.upper, ov.lower.slice(0, n));
    if (conflicts.length) {
      const c = conflicts[0];
      const label = layers.find((l) => l.root === c.layer)?.label ?? c.layer;
      const more = conflicts.length > 1 ? ` (and ${conflicts.length - 1} more)` : '';
      throw new CliError(`cannot fold into lower ${n}: ${c.path} would be hidden by ${label}, which sits above it (${c.what})${more}; fold into a higher lower layer, or commit to a new directory`);
    }
    const r = foldIntoLower(ov, n, ctx.stderr);
    const target = layers.find((l) => l.lowerIndex === n)!;
    ctx.out(`folded ${plural(r.moved, 'entry', 'entries')} and ${plural(r.whiteouts, 'whiteout')} into lower ${n} (${target.label}); the upper ${layers[0].label} is empty`);
    return 0;
  },
};
