/**
 * The stack as text, in the three figures of the seed post: the layers as separate sheets,
 * the sheets stacked (each name in its own column, so a name in several layers lines up),
 * and the view from the top, where what the merged view does not show is greyed: dim on a
 * colour terminal, in parentheses without colour.
 */
import type { Paint } from '../core/colour';
import { padEnd, visibleLength } from '../core/colour';
import { bands, cellText, viewText, roleText, type StackModel, type Row, type Cell } from './model';

const GAP = 2;

function sheets(m: StackModel, width: number, p: Paint): string[] {
  const boxes = m.layers.map((l) => {
    const body: string[] = [];
    for (const row of m.rows) {
      const cell = row.cells[l.index];
      if (!cell) continue;
      const indent = '  '.repeat(row.depth);
      const leaf = row.name.split('/').pop()!;
      body.push(indent + (cell.kind === 'whiteout' ? p.red(`✕ ${leaf}`) : leaf + (cell.type === 'directory' ? '/' : '') + (cell.opaque ? p.dim(' (opaque)') : '')));
    }
    if (!body.length) body.push(p.dim('(empty)'));
    const inner = Math.max(visibleLength(l.label) + 3, roleText(l).length, ...body.map(visibleLength));
    const top = `┌─ ${p.bold(l.label)} ${'─'.repeat(inner - visibleLength(l.label) - 1)}┐`;
    const lines = [top, ...body.map((b) => `│ ${padEnd(b, inner)} │`), `└${'─'.repeat(inner + 2)}┘`, `  ${p.dim(roleText(l))}`];
    return { lines, width: inner + 4 };
  });
  const out: string[] = [];
  for (const band of bands(boxes.map((b) => b.width), width, GAP)) {
    const height = Math.max(...band.map((i) => boxes[i].lines.length));
    for (let y = 0; y < height; y++) out.push(band.map((i) => padEnd(boxes[i].lines[y] ?? '', boxes[i].width)).join(' '.repeat(GAP)).trimEnd());
    out.push('');
  }
  return out;
}

function dimmed(text: string, cell: Cell, p: Paint): string {
  if (cell.kind === 'whiteout') return p.red(text);
  if (cell.state === 'visible') return text;
  return p.enabled ? p.dim(text) : `(${text})`;
}

/** Figures 2 and 3: one sheet per line, names in aligned columns, split into bands. */
function grid(m: StackModel, width: number, p: Paint, view: boolean): string[] {
  const label = Math.max(4, ...m.layers.map((l) => l.label.length));
  const cellOf = (row: Row, i: number): string => {
    const c = row.cells[i];
    if (!c) return '';
    return view ? dimmed(cellText(row, c), c, p) : c.kind === 'whiteout' ? p.red(cellText(row, c)) : cellText(row, c);
  };
  const cols = m.rows.map((row) => Math.max(...m.layers.map((l) => visibleLength(cellOf(row, l.index))), view ? viewText(row).length : 0));
  const out: string[] = [];
  for (const band of bands(cols, Math.max(20, width - label - 6), GAP)) {
    const inner = band.reduce((s, i) => s + cols[i], 0) + GAP * (band.length - 1);
    const rule = (l: string, r: string, c = '─') => `${' '.repeat(label + 2)}${l}${c.repeat(inner + 2)}${r}`;
    const line = (name: string, cells: string[]) => `${padEnd(name, label)}  │ ${band.map((i, k) => padEnd(cells[k], cols[i])).join(' '.repeat(GAP))} │`;
    out.push(rule('┌', '┐'));
    m.layers.forEach((l, k) => {
      if (k) out.push(rule('├', '┤'));
      out.push(line(p.bold(l.label), band.map((i) => cellOf(m.rows[i], l.index))));
    });
    if (view) {
      out.push(rule('╞', '╡', '═'));
      out.push(line(p.bold('view'), band.map((i) => p.green(viewText(m.rows[i])))));
    }
    out.push(rule('└', '┘'), '');
  }
  return out;
}

export function renderText(m: StackModel, width: number, p: Paint): string {
  const where = m.base ? `${m.mountpoint}/${m.base}` : m.mountpoint;
  const lines = [
    `${p.bold('overlay-fs show')}: ${where}`,
    '',
    p.bold('1. The layers, each a separate sheet (top first)'),
    '',
    ...sheets(m, width, p),
    p.bold('2. The sheets stacked (names line up in columns)'),
    '',
    ...grid(m, width, p, false),
    p.bold('3. The view from the top, and the merged view'),
    '',
    ...grid(m, width, p, true),
    `${p.enabled ? p.dim('grey  ') : '(name)'}  hidden by a layer above`,
    `${p.red('✕name ')}  a whiteout: deletes the name below`,
    `${p.green('view  ')}  what the mountpoint shows`,
  ];
  if (m.omitted) lines.push(`… and ${m.omitted} more entries not drawn; show a subdirectory with: overlay-fs show <path>`);
  return lines.join('\n') + '\n';
}
