/** `overlay-fs which <path>`: which layer serves a merged path, and every layer that has it. */
import type { Command } from '../core/command';
import { openTarget } from '../core/target';
import { mergedPath, relOf, shown } from '../core/merged-path';
import { hiddenBy, whyHidden } from '../core/provenance';
import { padEnd } from '../core/colour';
import { CliError, usageError } from '../core/errors';

export const which: Command = {
  name: 'which',
  summary: 'which layer serves a path, and every layer that has it',
  synopsis: ['overlay-fs which <path> [layers]'],
  description: [
    'Answers "where does this come from?": the layer whose entry the merged view shows, then',
    'every other layer that has an entry at the same path. "serves" is the entry you see;',
    '"merged" is another directory whose entries are merged in; "hidden" is an entry of a',
    'lower layer that the one above hides. A path that is not in the merged view is an error,',
    'and the message says which layer deleted or hid it.',
  ].join('\n'),
  layers: true,
  maxPositionals: 1,
  examples: ['overlay-fs which config/app.json'],
  async run(ctx) {
    const arg = ctx.positionals[0];
    if (arg === undefined) throw usageError('which path? give one, as in: overlay-fs which <path>');
    const { ov, layers } = openTarget(ctx);
    const abs = mergedPath(ov.mountpoint, arg, ctx.cwd);
    const rel = relOf(ov.mountpoint, abs);
    const w = ov.which(abs);
    if (!w) {
      const why = rel ? whyHidden(layers, rel) : null;
      throw new CliError(`${shown(rel)}: not in the merged view${why ? ` (${why.holder.label} has it; ${why.reason})` : ''}`);
    }
    const p = ctx.paint;
    const rows: Array<[string, string, string]> = [];
    w.layers.forEach((e, i) => rows.push([i === 0 ? 'serves' : w.type === 'directory' ? 'merged' : 'hidden', layers[e.layer.index].label, e.realPath]));
    if (w.type === 'directory') for (const h of hiddenBy(w, layers, rel)) rows.push(['hidden', h.layer.label, h.realPath]);
    const top = layers[w.layer.index];
    ctx.out(`${p.bold(shown(rel))}: ${w.type}, served by ${p.bold(top.label)}${w.type === 'directory' && w.layers.length > 1 ? ` (merged with ${w.layers.length - 1} more)` : ''}`);
    const labelWidth = Math.max(...rows.map((r) => r[1].length)) + 2;
    for (const [what, label, real] of rows) {
      const line = `  ${what.padEnd(8)}${padEnd(label, labelWidth)}${real}`;
      ctx.out(what === 'hidden' ? p.dim(line) : what === 'serves' ? p.green(line) : line);
    }
    return 0;
  },
};
