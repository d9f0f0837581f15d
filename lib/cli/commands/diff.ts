/** `overlay-fs diff [--json]`: the upper's changes against the lowers, like `docker diff`. */
import type { Command } from '../core/command';
import { flag } from '../core/command';
import { openTarget } from '../core/target';
import { upperChanges } from '../tree/changes';

export const diff: Command = {
  name: 'diff',
  summary: 'what the upper layer changes: A added, C changed (copied up), D deleted',
  synopsis: ['overlay-fs diff [--json] [layers]'],
  description: [
    'Lists what the upper layer changes against the lower layers, one path per line (relative',
    'to the mountpoint), like `docker diff`:',
    '  A  added: the lower layers have nothing at this path',
    '  C  changed: the upper has its own copy (copied up, replaced, or a directory with changes)',
    '  D  deleted: a whiteout, or a lower entry hidden by an opaque directory',
  ].join('\n'),
  optionHelp: [['--json', 'print a JSON array of {"change", "path", "type"} instead']],
  options: { json: { type: 'boolean' } },
  layers: true,
  maxPositionals: 0,
  examples: ['overlay-fs diff', 'overlay-fs diff --json | jq -r \'.[] | select(.change == "D") | .path\''],
  async run(ctx) {
    const { ov } = openTarget(ctx);
    if (!ov.upper) ctx.warn('the stack has no upper layer, so nothing can have changed');
    const changes = upperChanges(ov);
    if (flag(ctx.values, 'json')) {
      ctx.out(JSON.stringify(changes, null, 2));
      return 0;
    }
    const p = ctx.paint;
    const colour = { A: p.green, C: p.yellow, D: p.red };
    for (const c of changes) ctx.out(colour[c.change](`${c.change} ${c.path}${c.type === 'directory' ? '/' : ''}`));
    return 0;
  },
};
