/**
 * `show`: the text picture, and the HTML/SVG page rendered in headless Chromium, where what is
 * drawn (text nodes, their colour and position, the sheets' pixels) must match the layers.
 * Skips the Chromium part, saying why, where chromium is not installed.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { seed, removeScratches, demoChanges, expectOneLineError, type Scratch } from './cli';
import { decodePng } from './png';

let s: Scratch;
beforeAll(() => {
  s = seed();
  demoChanges(s);
});
afterAll(removeScratches);

describe('text', () => {
  let out: string;
  beforeAll(() => {
    const r = s.run(['show', ...s.flags], { env: { COLUMNS: '200' } });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    out = r.stdout;
  });

  test('three figures: separate sheets, stacked, the view from the top', () => {
    expect(out).toMatch(/1\. The layers, each a separate sheet[\s\S]*2\. The sheets stacked[\s\S]*3\. The view from the top/);
    expect(out).not.toContain('\x1b[');
  });

  test('figure 1: each sheet holds its own layer\'s entries, whiteouts marked', () => {
    const fig1 = out.split('2. The sheets stacked')[0];
    const row = fig1.split('\n').find((l) => l.includes('✕ b.txt'))!;
    expect(row).toMatch(/│ ✕ b\.txt\s+│\s+│ d\.txt\s+│\s+│ b\.txt\s+│/);
    expect(fig1).toMatch(/┌─ upper ─+┐\s+┌─ middle ─+┐\s+┌─ lower ─+┐/);
  });

  test('figures 2 and 3: names line up in columns; hidden ones in parentheses; the view below', () => {
    const fig3 = out.split('3. The view from the top')[1].split('\n');
    const line = (label: string) => fig3.find((l) => l.startsWith(label + ' '))!;
    const col = (label: string, text: string) => line(label).indexOf(text);
    // c.txt: upper's shown, middle's hidden, in the same column as the view's c.txt.
    expect(col('upper', 'c.txt')).toBe(col('view', 'c.txt'));
    expect(col('middle', '(c.txt)')).toBe(col('upper', 'c.txt'));
    expect(line('lower')).toContain('(a.txt)');
    expect(line('lower')).toContain('(docs/install.txt)');
    expect(line('view')).not.toContain('b.txt');
    expect(line('view').split(/[│\s]+/).filter(Boolean)).toEqual(['view', 'a.txt', 'c.txt', 'd.txt', 'docs/', 'docs/new.md', 'e.txt', 'extra/', 'extra/x.txt']);
  });

  test('a narrow terminal wraps the stack into bands; a path draws one directory', () => {
    const narrow = s.run(['show', ...s.flags], { env: { COLUMNS: '60' } }).stdout;
    // Every line but the title (which names the mountpoint) fits.
    expect(narrow.split('\n').slice(1).filter((l) => [...l].length > 60)).toEqual([]);
    const docs = s.run(['show', 'docs', ...s.flags]).stdout;
    expect(docs).toContain('new.md');
    expect(docs).not.toContain('a.txt');
    expectOneLineError(s.run(['show', 'nope', ...s.flags]), 'show', /nope: no layer has this path/);
    expectOneLineError(s.run(['show', 'a.txt', ...s.flags]), 'show', /a\.txt is not a directory/);
    // Under a replaced (opaque) directory, what the lowers hold is still drawn, greyed.
    const deleted = s.run(['show', 'docs', '--mount', 'merged', '--upper', 'upper', '--lower', 'middle', '--lower', 'lower']);
    expect(deleted.stdout).toContain('(usage.txt)');
  });
});

function findChromium(): string | null {
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
    if (r.status === 0) return r.stdout.trim();
  }
  return null;
}

const chromium = findChromium();
if (!chromium) console.log('test/cli/show.test.ts: HTML picture not checked in a browser: chromium is not installed (apt-get install chromium)');

function runChromium(args: string[]): string {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'overlay-fs-cli-chromium-'));
  try {
    const r = spawnSync(chromium!, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', `--user-data-dir=${profile}`, ...args], { encoding: 'utf8', timeout: 60000, maxBuffer: 32 * 1024 * 1024 });
    if (r.status !== 0) throw new Error(`chromium exited ${r.status}: ${r.stderr}`);
    return r.stdout;
  } finally {
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

interface Drawn {
  figure: string;
  layer: string;
  path: string | null;
  state: string | null;
  role: string | null;
  text: string;
  fill: string;
  box: { x: number; y: number; w: number; h: number };
}

// Added to a copy of the page: reports what Chromium laid out, into the DOM that --dump-dom prints.
const PROBE = `<script>
const box = (e) => { const r = e.getBoundingClientRect(); return { x: r.x, y: r.y, w: r.width, h: r.height }; };
const texts = [...document.querySelectorAll('svg text')].map((e) => ({ figure: e.dataset.figure, layer: e.dataset.layer, path: e.dataset.path ?? null, state: e.dataset.state ?? null, role: e.dataset.role ?? null, text: e.textContent, fill: getComputedStyle(e).fill, box: box(e) }));
const sheets = [...document.querySelectorAll('svg .sheet')].map((e) => ({ figure: e.dataset.figure, layer: e.dataset.layer, box: box(e) }));
const svgs = [...document.querySelectorAll('svg')].map(box);
const pre = document.createElement('pre');
pre.id = 'probe';
pre.textContent = JSON.stringify({ texts, sheets, svgs });
document.body.appendChild(pre);
</script>`;

(chromium ? describe : describe.skip)('HTML in headless Chromium', () => {
  let page: string;
  let drawn: { texts: Drawn[]; sheets: Array<{ figure: string; layer: string; box: Drawn['box'] }>; svgs: Array<Drawn['box']> };
  beforeAll(() => {
    page = s.p('stack.html');
    const r = s.run(['show', '--html', 'stack.html', ...s.flags]);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    const html = fs.readFileSync(page, 'utf8');
    fs.writeFileSync(s.p('probe.html'), html.replace('</body>', `${PROBE}</body>`));
    const dom = runChromium(['--window-size=1200,1600', '--dump-dom', `file://${s.p('probe.html')}`]);
    const json = /<pre id="probe">([\s\S]*?)<\/pre>/.exec(dom)![1].replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
    drawn = JSON.parse(json);
  }, 60000);

  test('the page is self-contained: no scripts, no external resources', () => {
    const html = fs.readFileSync(page, 'utf8');
    expect(html).not.toMatch(/<script|<link|<img|src=|href=|@import|url\(/i);
    expect(html).toContain('<svg');
  });

  test('figure 3 draws each layer\'s entries in the state the layers give them', () => {
    const state = (layer: number, p: string) => drawn.texts.find((t) => t.figure === '3' && t.layer === String(layer) && t.path === p)?.state;
    expect(state(0, 'a.txt')).toBe('visible');
    expect(state(2, 'a.txt')).toBe('shadowed');
    expect(state(0, 'b.txt')).toBe('marker');
    expect(state(2, 'b.txt')).toBe('shadowed');
    expect(state(1, 'c.txt')).toBe('shadowed');
    expect(state(1, 'd.txt')).toBe('visible');
    expect(state(1, 'docs')).toBe('shadowed');
    expect(state(1, 'docs/usage.txt')).toBe('hidden');
    expect(state(2, 'docs/install.txt')).toBe('hidden');
    const view = drawn.texts.filter((t) => t.figure === '3' && t.layer === 'view' && t.path).map((t) => t.text);
    expect(view).toEqual(['a.txt', 'c.txt', 'd.txt', 'docs/', 'docs/new.md', 'e.txt', 'extra/', 'extra/x.txt']);
  });

  test('shadowed and hidden entries are drawn grey, visible ones dark', () => {
    for (const t of drawn.texts.filter((t) => t.figure === '3' && t.state)) {
      if (t.state === 'shadowed' || t.state === 'hidden') expect({ t: t.text, fill: t.fill }).toEqual({ t: t.text, fill: 'rgb(160, 160, 160)' });
      if (t.state === 'visible' || t.state === 'view') expect({ t: t.text, fill: t.fill }).toEqual({ t: t.text, fill: 'rgb(26, 26, 26)' });
    }
  });

  test('every layer\'s sheet holds its own names, in every figure; no two names overlap', () => {
    const layers = ['upper', 'middle', 'lower'];
    for (const fig of ['1', '2', '3']) {
      const names = drawn.texts.filter((t) => t.figure === fig && t.path && t.layer !== 'view');
      // Figure 1 lists each layer's own entries, so every entry of every layer is drawn once.
      if (fig === '1') expect(names.map((n) => `${layers[Number(n.layer)]}:${n.path}`).sort()).toEqual(expectedEntries().sort());
      for (const n of names) {
        // A wide stack wraps into bands, each with its own sheets: one of them must hold the name.
        const cy = n.box.y + n.box.h / 2;
        const inside = drawn.sheets
          .filter((sh) => sh.figure === fig && sh.layer === n.layer)
          .some(({ box: b }) => cy > b.y && cy < b.y + b.h && n.box.x >= b.x && n.box.x + n.box.w <= b.x + b.w);
        expect({ fig, n: n.text, inside }).toEqual({ fig, n: n.text, inside: true });
      }
      const all = drawn.texts.filter((t) => t.figure === fig && t.text);
      for (let i = 0; i < all.length; i++) {
        for (let j = i + 1; j < all.length; j++) {
          const [a, b] = [all[i].box, all[j].box];
          const overlap = a.x < b.x + b.w - 1 && b.x < a.x + a.w - 1 && a.y < b.y + b.h - 1 && b.y < a.y + a.h - 1;
          expect({ fig, a: all[i].text, b: all[j].text, overlap }).toEqual({ fig, a: all[i].text, b: all[j].text, overlap: false });
        }
      }
    }
  });

  test('a screenshot shows the sheets in their colours', () => {
    const shot = s.p('shot.png');
    runChromium(['--window-size=1200,1600', `--screenshot=${shot}`, `file://${page}`]);
    const img = decodePng(fs.readFileSync(shot));
    // #4e79a7 (upper), #f28e2b (middle), #59a14f (lower) at 22% over white, sampled in a
    // bottom corner of each figure-1 sheet, where no text is drawn.
    const expected: Array<[number, number, number]> = [[216, 226, 236], [252, 231, 212], [219, 236, 216]];
    for (let layer = 0; layer < 3; layer++) {
      const b = drawn.sheets.find((sh) => sh.figure === '1' && sh.layer === String(layer))!.box;
      const px = img.pixel(Math.round(b.x + 12), Math.round(b.y + b.h - 8));
      px.forEach((v, i) => expect({ layer, channel: i, near: Math.abs(v - expected[layer][i]) <= 4 }).toEqual({ layer, channel: i, near: true }));
    }
  }, 60000);
});

/** `<layer>:<path>` for every entry and whiteout on disk, read with plain fs. */
function expectedEntries(): string[] {
  const out: string[] = [];
  for (const layer of ['upper', 'middle', 'lower']) {
    const walk = (rel: string) => {
      for (const name of fs.readdirSync(path.join(s.p(layer), rel))) {
        if (name === '.wh..wh..opq') continue;
        const r = rel ? `${rel}/${name}` : name;
        out.push(`${layer}:${r.replace(/(^|\/)\.wh\./, '$1')}`);
        if (fs.lstatSync(path.join(s.p(layer), r)).isDirectory()) walk(r);
      }
    };
    walk('');
  }
  return out;
}
