/** `overlay-fs reset [path] [--yes]`: discard the upper's changes, all of them or under a path. */
import * as fs from 'fs';
import * as path from 'path';
import type { Command, Context } from '../core/command';
import { flag } from '../core/command';
import { openTarget, type LayerView } from '../core/target';
import { mergedPath, relOf, shown } from '../core/merged-path';
import { canAsk, confirm } from '../core/confirm';
import { CliError } from '../core/errors';
import { plural } from '../core/plural';
import { whyHidden } from '../core/provenance';
import { upperChanges, isAtOrUnderRel } from '../tree/changes';
import { lstatOrNull, readLayerDir } from '../tree/layer-dir';
import { whiteoutName } from '../../layers/whiteout';
import { createOverlay } from '../../overlay';
import type { Overlay } from '../../types';

/** What the upper holds for `rel`: the entry itself and a whiteout of its name. */
function upperPaths(upper: string, rel: string): string[] {
  if (rel === '') return fs.readdirSync(upper).map((n) => path.join(upper, n));
  const own = path.join(upper, rel);
  const wh = path.join(upper, path.dirname(rel), whiteoutName(path.basename(rel)));
  return [own, wh].filter((p) => lstatOrNull(p) !== null);
}

/**
 * After a reset, a parent directory may be left in the upper only because something under it
 * was copied up. Remove it while it is empty, not opaque, and the same as the lowers' directory
 * in mode and owner (its times necessarily differ), so `diff` stops reporting it.
 */
function pruneParents(ov: Overlay, rel: string): void {
  const lowers = createOverlay({ mountpoint: ov.mountpoint, lower: [...ov.lower] });
  try {
    pruneWith(lowers, ov, rel);
  } finally {
    lowers.close();
  }
}

function pruneWith(lowers: Overlay, ov: Overlay, rel: string): void {
  for (let dir = path.dirname(rel); dir !== '.' && dir !== ''; dir = path.dirname(dir)) {
    const real = path.join(ov.upper!, dir);
    const raw = readLayerDir(real);
    if (!raw || raw.opaque || raw.entries.length) return;
    let lower: fs.Stats;
    try {
      lower = lowers.fs.lstatSync(path.join(ov.mountpoint, dir));
    } catch {
      return;
    }
    const st = fs.lstatSync(real);
    if (!lower.isDirectory() || lower.mode !== st.mode || lower.uid !== st.uid || lower.gid !== st.gid) return;
    fs.rmdirSync(real);
  }
}

/** A path can stay hidden by a change above it (a deleted or opaque parent): say which. */
function stillHidden(ctx: Context, ov: Overlay, layers: readonly LayerView[], rel: string): void {
  if (!rel || ov.which(path.join(ov.mountpoint, rel)) !== null) return;
  const why = whyHidden(layers, rel);
  if (why) ctx.warn(`note: ${shown(rel)} is still not in the merged view: ${why.reason}; reset that path to bring it back`);
}

export const reset: Command = {
  name: 'reset',
  summary: 'discard the upper layer\'s changes (all, or under a path)',
  synopsis: ['overlay-fs reset [path] [--yes] [layers]'],
  description: [
    'Discards changes: removes what the upper layer holds at and under the path (the whole',
    'upper without one), copies and whiteouts alike, so the lower layers show through again.',
    'It asks for confirmation on a terminal; elsewhere it refuses unless --yes is given.',
  ].join('\n'),
  optionHelp: [['-y, --yes', 'do not ask; needed when stdin is not a terminal']],
  options: { yes: { type: 'boolean', short: 'y' } },
  layers: true,
  maxPositionals: 1,
  examples: ['overlay-fs reset --yes', 'overlay-fs reset config/app.json'],
  async run(ctx) {
    const { ov, layers } = openTarget(ctx);
    if (!ov.upper) throw new CliError('the stack has no upper layer, so there is nothing to reset');
    const arg = ctx.positionals[0];
    const rel = relOf(ov.mountpoint, mergedPath(ov.mountpoint, arg, ctx.cwd));
    const targets = upperPaths(ov.upper, rel);
    const where = rel ? ` under ${rel}` : '';
    if (targets.length === 0) {
      ctx.out(`nothing to reset${where}: the upper layer has no changes there`);
      stillHidden(ctx, ov, layers, rel);
      return 0;
    }
    const count = upperChanges(ov).filter((c) => isAtOrUnderRel(c.path, rel)).length;
    const what = `${plural(count, 'change')}${where} in ${layers[0].label}`;
    if (!flag(ctx.values, 'yes')) {
      if (!canAsk(ctx)) throw new CliError(`refusing to discard ${what} without confirmation (stdin is not a terminal); pass --yes`);
      if (!(await confirm(ctx, `Discard ${what}?`))) {
        ctx.out('nothing discarded');
        return 1;
      }
    }
    for (const p of targets) fs.rmSync(p, { recursive: true, force: true });
    if (rel) pruneParents(ov, rel);
    ctx.out(`discarded ${what}`);
    stillHidden(ctx, ov, layers, rel);
    return 0;
  },
};
