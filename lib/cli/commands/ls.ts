/** `overlay-fs ls [path] [--layers] [-R]`: the merged listing, optionally with provenance. */
import * as path from 'path';
import type { Command, Context } from '../core/command';
import { flag } from '../core/command';
import { openTarget } from '../core/target';
import { mergedPath, relOf } from '../core/merged-path';
import { provenance } from '../core/provenance';
import { padEnd } from '../core/colour';
import { CliError } from '../core/errors';
import { walkMerged } from '../tree/walk';
import { entryType, type EntryType } from '../../layers/stack';
import type { Overlay } from '../../types';

/** Directories end in `/`, symlinks show their target, as `ls -F` and `ls -l` would. */
function decorate(ctx: Context, ov: Overlay, name: string, type: EntryType, abs: string): string {
  const p = ctx.paint;
  if (type === 'directory') return p.blue(p.bold(name + '/'));
  if (type !== 'symlink') return name;
  let to = '?';
  try {
    to = ov.fs.readlinkSync(abs, 'utf8');
  } catch { /* shown as ? */ }
  return `${p.cyan(name)} -> ${to}`;
}

export const ls: Command = {
  name: 'ls',
  summary: 'list the merged view; --layers shows which layer each entry comes from',
  synopsis: ['overlay-fs ls [path] [--layers] [-R] [layers]'],
  description: [
    'Lists a directory of the merged view (the mountpoint by default), sorted by name.',
    'With --layers, each entry is followed by the layer that serves it and the entries of',
    'lower layers it hides; a merged directory names every layer that contributes to it.',
    'A relative path is taken from the current directory when that is under the mountpoint,',
    'and from the mountpoint otherwise.',
  ].join('\n'),
  optionHelp: [
    ['--layers', 'show the serving layer of each entry and what it hides'],
    ['-R, --recursive', 'list subdirectories too (paths relative to the listed directory)'],
  ],
  options: { layers: { type: 'boolean' }, recursive: { type: 'boolean', short: 'R' } },
  layers: true,
  maxPositionals: 1,
  examples: ['overlay-fs ls --layers -R', 'overlay-fs ls docs --layers --config overlay-fs.config.json'],
  async run(ctx) {
    const { ov, layers } = openTarget(ctx);
    const arg = ctx.positionals[0];
    const abs = mergedPath(ov.mountpoint, arg, ctx.cwd);
    let type: EntryType;
    try {
      type = entryType(ov.fs.lstatSync(abs));
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new CliError(`${arg}: not in the merged view (no such file or directory)`);
      throw err;
    }
    const rows: Array<{ name: string; abs: string; type: EntryType }> =
      type === 'directory'
        ? [...walkMerged(ov, abs, flag(ctx.values, 'recursive'))].map((e) => ({ name: e.rel, abs: e.abs, type: e.type }))
        : [{ name: arg ?? path.basename(abs), abs, type }];
    if (!flag(ctx.values, 'layers')) {
      for (const r of rows) ctx.out(decorate(ctx, ov, r.name, r.type, r.abs));
      return 0;
    }
    const width = Math.min(48, Math.max(0, ...rows.map((r) => r.name.length + (r.type === 'directory' ? 1 : 0)))) + 3;
    for (const r of rows) {
      const w = ov.which(r.abs);
      const where = w ? provenance(w, layers, relOf(ov.mountpoint, r.abs), ctx.paint) : '?';
      ctx.out(padEnd(decorate(ctx, ov, r.name, r.type === 'symlink' ? 'file' : r.type, r.abs), width) + where);
    }
    return 0;
  },
};
