/**
 * The stack as a self-contained HTML page with three inline SVG figures (no scripts, fonts or
 * files from elsewhere): the layers as separate sheets, the sheets stacked, and the view from
 * the top with what the merged view does not show greyed. Every drawn name carries
 * data-figure, data-layer, data-path and data-state, so tools (and our tests, in Chromium)
 * can check the picture against the layers.
 */
import { bands, cellText, viewText, roleText, type StackModel, type Row, type Cell } from './model';

const FONT = 13;
const CW = 8.2; // width of one monospace character at 13px, rounded up
const LINE = 20;
const PAD = 12;
const MAXW = 1040; // fits a laptop screen; wider stacks wrap into bands
const FILLS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#9c755f', '#ff9da7'];
export const GREY = '#a0a0a0';
const INK = '#1a1a1a';
const RED = '#c0392b';

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const fillOf = (i: number): string => FILLS[i % FILLS.length];
const textW = (s: string): number => [...s].length * CW;

interface Text {
  x: number;
  y: number;
  text: string;
  fill: string;
  data: Record<string, string | number>;
  weight?: string;
}

function text(t: Text): string {
  const data = Object.entries(t.data).map(([k, v]) => ` data-${k}="${esc(String(v))}"`).join('');
  return `<text x="${t.x.toFixed(1)}" y="${t.y.toFixed(1)}" fill="${t.fill}"${t.weight ? ` font-weight="${t.weight}"` : ''}${data}>${esc(t.text)}</text>`;
}

function svg(width: number, height: number, body: string[], title: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${esc(title)}" width="${Math.ceil(width)}" height="${Math.ceil(height)}" viewBox="0 0 ${Math.ceil(width)} ${Math.ceil(height)}" font-family="'DejaVu Sans Mono', Menlo, Consolas, monospace" font-size="${FONT}">\n${body.join('\n')}\n</svg>`;
}

function stateFill(row: Row, i: number): string {
  const c = row.cells[i]!;
  return c.kind === 'whiteout' ? RED : c.state === 'visible' ? INK : GREY;
}

/** A name in a tree listing: the last component, `/` for directories, ✕ for whiteouts. */
function leafText(r: Row, c: Cell): string {
  const leaf = r.name.split('/').pop()! + (c.kind === 'entry' && c.type === 'directory' ? '/' : '') + (c.opaque ? ' (opaque)' : '');
  return c.kind === 'whiteout' ? `✕ ${leaf}` : leaf;
}

/** Figure 1: one sheet per layer, side by side, listing that layer's own entries as a tree. */
function figureSheets(m: StackModel): string {
  const body: string[] = [];
  let x = PAD;
  let y = PAD;
  let rowH = 0;
  let width = 0;
  for (const l of m.layers) {
    const items = m.rows.filter((r) => r.cells[l.index]);
    const w = Math.max(180, textW(roleText(l)) + 2 * PAD, ...items.map((r) => (2 * r.depth) * CW + textW(leafText(r, r.cells[l.index]!)) + 2 * PAD));
    const h = 52 + Math.max(1, items.length) * LINE + PAD;
    if (x > PAD && x + w > MAXW) {
      x = PAD;
      y += rowH + 2 * PAD;
      rowH = 0;
    }
    body.push(`<rect class="sheet" data-figure="1" data-layer="${l.index}" x="${x}" y="${y}" width="${w.toFixed(1)}" height="${h}" rx="8" fill="${fillOf(l.index)}" fill-opacity="0.22" stroke="${fillOf(l.index)}" stroke-width="2"/>`);
    body.push(text({ x: x + PAD, y: y + 22, text: l.label, fill: INK, weight: 'bold', data: { figure: 1, layer: l.index, role: 'title' } }));
    body.push(text({ x: x + PAD, y: y + 40, text: roleText(l), fill: '#555', data: { figure: 1, layer: l.index, role: 'subtitle' } }));
    items.forEach((r, k) => {
      const c = r.cells[l.index]!;
      // Indent by position: SVG collapses leading spaces.
      body.push(text({ x: x + PAD + r.depth * 2 * CW, y: y + 62 + k * LINE, text: leafText(r, c), fill: c.kind === 'whiteout' ? RED : INK, data: { figure: 1, layer: l.index, path: r.rel, state: c.state } }));
    });
    if (!items.length) body.push(text({ x: x + PAD, y: y + 62, text: '(empty)', fill: GREY, data: { figure: 1, layer: l.index, role: 'empty' } }));
    x += w + 2 * PAD;
    rowH = Math.max(rowH, h);
    width = Math.max(width, x);
  }
  return svg(width, y + rowH + PAD, body, 'The layers as separate sheets');
}

function columns(m: StackModel, withView: boolean): number[] {
  return m.rows.map((r) => Math.max(...m.layers.map((l) => (r.cells[l.index] ? textW(cellText(r, r.cells[l.index]!)) : 0)), withView ? textW(viewText(r)) : 0) + 2 * PAD);
}

const LABEL_W = 170;

/** Figure 2: the sheets as slanted planes, top layer drawn last (on top), names in aligned columns. */
function figureStacked(m: StackModel): string {
  const cols = columns(m, false);
  const SKEW = 36;
  const H = 40;
  const STEP = 52;
  const body: string[] = [];
  let y = PAD;
  let width = 0;
  for (const band of bands(cols, MAXW - LABEL_W - SKEW, 0)) {
    const inner = band.reduce((s, i) => s + cols[i], 0) + PAD;
    const sheetsTop = y;
    // Bottom sheet first: later sheets paint over earlier ones, like plastic laid on top.
    for (const l of [...m.layers].reverse()) {
      const top = sheetsTop + l.index * STEP;
      const x0 = LABEL_W;
      const pts = [[x0 + SKEW, top], [x0 + SKEW + inner, top], [x0 + inner, top + H], [x0, top + H]].map((p) => p.join(',')).join(' ');
      body.push(`<polygon class="sheet" data-figure="2" data-layer="${l.index}" points="${pts}" fill="${fillOf(l.index)}" fill-opacity="0.3" stroke="${fillOf(l.index)}" stroke-width="2"/>`);
      body.push(text({ x: PAD, y: top + H / 2 + 5, text: l.label, fill: INK, weight: 'bold', data: { figure: 2, layer: l.index, role: 'label' } }));
      let cx = x0 + SKEW / 2 + PAD;
      for (const i of band) {
        const r = m.rows[i];
        const c = r.cells[l.index];
        if (c) body.push(text({ x: cx, y: top + H / 2 + 5, text: cellText(r, c), fill: c.kind === 'whiteout' ? RED : INK, data: { figure: 2, layer: l.index, path: r.rel, state: c.state } }));
        cx += cols[i];
      }
    }
    width = Math.max(width, LABEL_W + SKEW + inner + PAD);
    y = sheetsTop + (m.layers.length - 1) * STEP + H + 2 * PAD;
  }
  return svg(width, y, body, 'The layers stacked');
}

/** Figure 3: looking down through the stack: shadowed names grey, the merged view underneath. */
function figureView(m: StackModel): string {
  const cols = columns(m, true);
  const body: string[] = [];
  const ROW = 30;
  let y = PAD;
  let width = 0;
  for (const band of bands(cols, MAXW - LABEL_W, 0)) {
    const inner = band.reduce((s, i) => s + cols[i], 0);
    m.layers.forEach((l, k) => {
      const top = y + k * ROW;
      body.push(`<rect class="sheet" data-figure="3" data-layer="${l.index}" x="${LABEL_W}" y="${top}" width="${inner}" height="${ROW - 4}" rx="4" fill="${fillOf(l.index)}" fill-opacity="0.14"/>`);
      body.push(text({ x: PAD, y: top + 18, text: l.label, fill: INK, weight: 'bold', data: { figure: 3, layer: l.index, role: 'label' } }));
      let cx = LABEL_W + PAD;
      for (const i of band) {
        const r = m.rows[i];
        const c = r.cells[l.index];
        if (c) body.push(text({ x: cx, y: top + 18, text: cellText(r, c), fill: stateFill(r, l.index), data: { figure: 3, layer: l.index, path: r.rel, state: c.state } }));
        cx += cols[i];
      }
    });
    const vy = y + m.layers.length * ROW + 8;
    body.push(`<line x1="${LABEL_W}" y1="${vy - 6}" x2="${LABEL_W + inner}" y2="${vy - 6}" stroke="${INK}" stroke-width="2"/>`);
    body.push(text({ x: PAD, y: vy + 18, text: 'view', fill: INK, weight: 'bold', data: { figure: 3, layer: 'view', role: 'label' } }));
    let cx = LABEL_W + PAD;
    for (const i of band) {
      const r = m.rows[i];
      if (r.view) {
        body.push(text({ x: cx, y: vy + 18, text: viewText(r), fill: INK, weight: 'bold', data: { figure: 3, layer: 'view', path: r.rel, state: 'view', 'served-by': r.view.layer } }));
        body.push(`<rect data-figure="3" data-role="served-by" data-path="${esc(r.rel)}" x="${cx}" y="${vy + 23}" width="${textW(viewText(r)).toFixed(1)}" height="3" fill="${fillOf(r.view.layer)}"/>`);
      }
      cx += cols[i];
    }
    width = Math.max(width, LABEL_W + inner + PAD);
    y = vy + ROW + 2 * PAD;
  }
  return svg(width, y, body, 'The view from the top');
}

export function renderHtml(m: StackModel): string {
  const where = m.base ? `${m.mountpoint}/${m.base}` : m.mountpoint;
  const layerList = m.layers
    .map((l) => `<li><span class="swatch" style="background:${fillOf(l.index)}"></span><b>${esc(l.label)}</b> — ${esc(roleText(l))}: <code>${esc(l.root)}</code></li>`)
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>overlay-fs show: ${esc(where)}</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; color: ${INK}; margin: 24px; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
code { font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; font-size: 13px; }
ul { list-style: none; padding: 0; } .swatch { display: inline-block; width: 12px; height: 12px; margin-right: 6px; border-radius: 2px; }
svg { display: block; max-width: none; } .legend { color: #444; }
</style>
</head>
<body>
<h1>overlay-fs show: <code>${esc(where)}</code></h1>
<p>The stack, top first. Like sheets of clear plastic on an overhead projector, a name in a higher layer hides the same name below it; a whiteout (✕) deletes it.</p>
<ul>
${layerList}
</ul>
<h2>1. The layers, each a separate sheet</h2>
${figureSheets(m)}
<h2>2. The sheets stacked</h2>
${figureStacked(m)}
<h2>3. The view from the top</h2>
${figureView(m)}
<p class="legend"><span style="color:${GREY}">grey</span>: hidden by a layer above · <span style="color:${RED}">✕ name</span>: whiteout · <b>view</b>: what the mountpoint shows, underlined in the colour of the layer that serves it.</p>
${m.omitted ? `<p>… and ${m.omitted} more entries not drawn; draw a subdirectory with <code>overlay-fs show &lt;path&gt; --html FILE</code>.</p>` : ''}
</body>
</html>
`;
}
