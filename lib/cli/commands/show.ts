/** `overlay-fs show [path] [--html out.html]`: a picture of the stack, as text or as a web page. */
import * as fs from 'fs';
import * as path from 'path';
import type { Command } from '../core/command';
import { str } from '../core/command';
import { openTarget } from '../core/target';
import { mergedPath, relOf } from '../core/merged-path';
import { CliError } from '../core/errors';
import { buildModel } from '../show/model';
import { renderText } from '../show/text';
import { renderHtml } from '../show/html';

const TEXT_ROWS = 120;

const isDir = (p: string): boolean => fs.statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
const HTML_ROWS = 600;

/** Terminal width: $COLUMNS, the terminal's own, or 100 when writing to a file or pipe. */
function columns(env: NodeJS.ProcessEnv, stdout: NodeJS.WriteStream): number {
  const fromEnv = Number(env.COLUMNS);
  if (Number.isInteger(fromEnv) && fromEnv > 20) return fromEnv;
  return stdout.isTTY && stdout.columns > 20 ? stdout.columns : 100;
}

export const show: Command = {
  name: 'show',
  summary: 'draw the stack: separate sheets, stacked, and the view from the top',
  synopsis: ['overlay-fs show [path] [--html FILE] [layers]'],
  description: [
    'Draws the stack the way the overlayfs figures do: (1) each layer as a separate sheet with',
    'its own entries, whiteouts marked ✕; (2) the sheets stacked, each name in its own column',
    'so that a name in several layers lines up; (3) the view from the top, where entries the',
    'merged view does not show (hidden by a layer above) are greyed, above the merged view.',
    'With a path, only that directory of the merged view is drawn.',
    '',
    'With --html FILE, writes the same three figures as a self-contained HTML page with inline',
    'SVG (no scripts, no external files) instead of printing them.',
  ].join('\n'),
  optionHelp: [['--html FILE', 'write the picture as an HTML/SVG page to FILE']],
  options: { html: { type: 'string' } },
  layers: true,
  maxPositionals: 1,
  examples: ['overlay-fs show', 'overlay-fs show docs --html stack.html'],
  async run(ctx) {
    const { ov, layers } = openTarget(ctx);
    const arg = ctx.positionals[0];
    const abs = mergedPath(ov.mountpoint, arg, ctx.cwd);
    const html = str(ctx.values, 'html');
    const base = relOf(ov.mountpoint, abs);
    // A deleted directory can still be drawn (greyed), so look at the layers, not the merged view.
    if (base && !layers.some((l) => isDir(path.join(l.root, base)))) {
      throw new CliError(layers.some((l) => fs.existsSync(path.join(l.root, base))) ? `${arg} is not a directory` : `${arg}: no layer has this path`);
    }
    const model = buildModel(ov, layers, base, html === undefined ? TEXT_ROWS : HTML_ROWS);
    if (html === undefined) {
      ctx.stdout.write(renderText(model, columns(ctx.env, ctx.stdout), ctx.paint));
      return 0;
    }
    const file = path.resolve(ctx.cwd, html);
    fs.writeFileSync(file, renderHtml(model));
    ctx.out(`wrote ${file} (${model.rows.length} entries in ${layers.length} layers${model.omitted ? `, ${model.omitted} more left out` : ''})`);
    return 0;
  },
};
