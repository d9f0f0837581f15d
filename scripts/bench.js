#!/usr/bin/env node
'use strict';
// `npm run bench`: how much slower is ov.fs than plain fs?
//
// Generates a three-layer tree in a scratch directory (bottom and middle lower layers plus an
// upper with overrides and whiteouts), builds a flattened copy of the merged tree with plain fs
// (the merge is computed here, from the layer directories), then times each workload on both
// sides in the same run: ov.fs on the merged view, plain fs on the flattened copy. Rounds are
// interleaved (the side that goes first alternates); the figure per side is the median over the
// rounds; ratio = overlay / plain.
//
// Usage: node scripts/bench.js [--quick] [--json] [--rounds N] [--keep]
//   --quick     a small tree and 3 rounds: a smoke test that takes seconds
//   --json      print JSON on stdout instead of a table
//   --rounds N  timed rounds per workload (default 7, or 3 with --quick)
//   --keep      leave the scratch directory on disk and print where it is
//
// Timing figures are reported, never judged: no threshold makes this script fail. It exits 1
// only when the overlay gave wrong answers (the merged view differs from the flattened copy, a
// lower layer changed, a copy-up lost data) or a workload threw.

const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');

// ---- options -----------------------------------------------------------------------------

const argv = process.argv.slice(2);
function flagValue(name) {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}
if (argv.includes('--help') || argv.includes('-h')) {
  process.stdout.write('Usage: node scripts/bench.js [--quick] [--json] [--rounds N] [--keep]\n');
  process.exit(0);
}
const QUICK = argv.includes('--quick');
const JSON_OUT = argv.includes('--json');
const KEEP = argv.includes('--keep');
const ROUNDS = Number(flagValue('--rounds')) || (QUICK ? 3 : 7);

const SIZE = QUICK
  ? { dirs: 60, files: 600, maxDepth: 6, sample: 200, copy4k: 10, copy1m: 2, create: 50 }
  : { dirs: 500, files: 5000, maxDepth: 6, sample: 1000, copy4k: 40, copy1m: 4, create: 200 };

let createOverlay;
try {
  ({ createOverlay } = require('../dist/cjs/index.js'));
} catch (err) {
  process.stderr.write(
    `overlay-fs is not built yet (${err.code || err.message}). Run \`npm run build\` (or \`npm install\`) first.\n`,
  );
  process.exit(2);
}

// A closed pipe (`npm run demo | head`) is not an error worth a stack trace.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode || 0);
  throw err;
});

const progress = (msg) => {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${msg}`);
};

// ---- deterministic random numbers ----------------------------------------------------------

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = mulberry32(20240918);
const randInt = (n) => Math.floor(rand() * n);
const pick = (arr) => arr[randInt(arr.length)];
/** k distinct elements of arr, in a deterministic random order. */
function sample(arr, k) {
  const a = arr.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = randInt(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a.slice(0, Math.min(k, a.length));
}
/** n items taken from arr, cycling through it (arr must not be empty). */
const cycle = (arr, n) => Array.from({ length: n }, (_, i) => arr[i % arr.length]);

function text(label, size) {
  const line = `${label} ${'lorem ipsum dolor sit amet '.repeat(4)}\n`;
  return line.repeat(Math.ceil(size / line.length)).slice(0, size);
}

// ---- tree generation -------------------------------------------------------------------------

const join = (a, b) => (a ? `${a}/${b}` : b);
const depthOf = (rel) => (rel ? rel.split('/').length : 0);
const dirOf = (rel) => (rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '');
const baseOf = (rel) => rel.slice(rel.lastIndexOf('/') + 1);

function writeFile(root, rel, data) {
  const p = path.join(root, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, data);
}

/**
 * bottom: SIZE.files files in SIZE.dirs directories, up to maxDepth deep.
 * middle: overrides ~10% of the bottom files, adds ~5% new files and a few new directories.
 * upper:  overrides ~2% of the files, adds ~1%, whiteouts for ~1% of the files and two whole
 *         directories, and one opaque directory.
 */
function generate(scratch) {
  const L = { upper: path.join(scratch, 'upper'), middle: path.join(scratch, 'middle'), bottom: path.join(scratch, 'bottom') };
  for (const d of Object.values(L)) fs.mkdirSync(d, { recursive: true });
  const stats = { bottom: { dirs: 0, files: 0 }, middle: { overrides: 0, newFiles: 0, newDirs: 0 }, upper: { overrides: 0, newFiles: 0, whiteouts: 0, opaqueDirs: 0 } };

  // bottom
  const dirs = [''];
  for (let i = 1; i <= SIZE.dirs; i++) {
    const parents = dirs.filter((d) => depthOf(d) < SIZE.maxDepth);
    const rel = join(pick(parents), `d${i}`);
    dirs.push(rel);
    fs.mkdirSync(path.join(L.bottom, rel), { recursive: true });
  }
  stats.bottom.dirs = dirs.length - 1;
  const bottomFiles = [];
  for (let i = 0; i < SIZE.files; i++) {
    const rel = join(pick(dirs), `f${i}.txt`);
    bottomFiles.push(rel);
    writeFile(L.bottom, rel, text(`bottom ${rel}`, 64 + randInt(2000)));
  }
  stats.bottom.files = bottomFiles.length;

  // middle
  for (const rel of sample(bottomFiles, Math.round(bottomFiles.length * 0.1))) {
    writeFile(L.middle, rel, text(`middle ${rel}`, 64 + randInt(2000)));
    stats.middle.overrides++;
  }
  const middleDirs = [];
  for (let i = 0; i < Math.max(2, Math.round(SIZE.dirs * 0.02)); i++) {
    const rel = join(pick(dirs.filter((d) => depthOf(d) < SIZE.maxDepth)), `m-dir${i}`);
    middleDirs.push(rel);
    fs.mkdirSync(path.join(L.middle, rel), { recursive: true });
    stats.middle.newDirs++;
  }
  const middleNew = [];
  for (let i = 0; i < Math.round(bottomFiles.length * 0.05); i++) {
    const rel = join(pick(rand() < 0.8 ? dirs : middleDirs), `m${i}.txt`);
    middleNew.push(rel);
    writeFile(L.middle, rel, text(`middle ${rel}`, 64 + randInt(2000)));
    stats.middle.newFiles++;
  }

  // upper: whiteouts first, so that no override lands under a whited-out directory
  const allFiles = bottomFiles.concat(middleNew);
  const deepDirs = dirs.filter((d) => depthOf(d) >= 2);
  const related = (a, b) => a === b || a.startsWith(b + '/') || b.startsWith(a + '/');
  const whiteoutDirs = [];
  for (const d of sample(deepDirs, deepDirs.length)) {
    if (whiteoutDirs.length === 2) break;
    if (!whiteoutDirs.some((w) => related(w, d))) whiteoutDirs.push(d);
  }
  const opaqueDir = sample(dirs.filter((d) => depthOf(d) >= 1 && !whiteoutDirs.some((w) => related(w, d))), 1)[0];
  const blocked = (rel) =>
    whiteoutDirs.concat(opaqueDir ? [opaqueDir] : []).some((w) => rel === w || rel.startsWith(w + '/'));
  const free = allFiles.filter((f) => !blocked(f));
  const whiteoutFiles = sample(free, Math.round(allFiles.length * 0.01));
  const wo = new Set(whiteoutFiles);
  for (const rel of whiteoutFiles.concat(whiteoutDirs)) {
    writeFile(L.upper, join(dirOf(rel), `.wh.${baseOf(rel)}`), '');
    stats.upper.whiteouts++;
  }
  if (opaqueDir) {
    writeFile(L.upper, join(opaqueDir, '.wh..wh..opq'), '');
    writeFile(L.upper, join(opaqueDir, 'only-this.txt'), text(`upper ${opaqueDir}/only-this.txt`, 200));
    stats.upper.opaqueDirs++;
  }
  for (const rel of sample(free.filter((f) => !wo.has(f)), Math.round(allFiles.length * 0.02))) {
    writeFile(L.upper, rel, text(`upper ${rel}`, 64 + randInt(2000)));
    stats.upper.overrides++;
  }
  for (let i = 0; i < Math.round(allFiles.length * 0.01); i++) {
    const d = pick(dirs);
    if (blocked(d)) continue;
    writeFile(L.upper, join(d, `u${i}.txt`), text(`upper u${i}`, 64 + randInt(2000)));
    stats.upper.newFiles++;
  }
  return { L, stats, whiteoutPaths: whiteoutFiles.concat(whiteoutDirs) };
}

// ---- the reference merge, with plain fs ------------------------------------------------------

/**
 * Copy the merged view of `sources` (real directories that merge here, top first, each tagged
 * with its layer index) into `out`. Highest layer wins; `.wh.x` hides x in the layers below;
 * `.wh..wh..opq` hides everything below; a non-directory ends a directory's merge.
 * Returns { files: [{rel, layer}], dirs: [{rel, layers}] }.
 */
function flatten(sources, out, rel = '', acc = { files: [], dirs: [] }) {
  fs.mkdirSync(path.join(out, rel), { recursive: true });
  const entries = new Map(); // name -> { dir: bool, srcs: [{real, layer}], closed }
  const hidden = new Set();
  for (const src of sources) {
    let list;
    try {
      list = fs.readdirSync(src.real, { withFileTypes: true });
    } catch {
      continue;
    }
    let opaque = false;
    const whiteouts = [];
    for (const d of list) {
      if (d.name === '.wh..wh..opq') opaque = true;
      else if (d.name.startsWith('.wh.')) whiteouts.push(d.name.slice(4));
    }
    for (const d of list) {
      if (d.name.startsWith('.wh.') || hidden.has(d.name)) continue;
      const real = path.join(src.real, d.name);
      const e = entries.get(d.name);
      if (!e) entries.set(d.name, { dir: d.isDirectory(), srcs: [{ real, layer: src.layer }], closed: !d.isDirectory() });
      else if (e.closed) continue;
      else if (d.isDirectory()) e.srcs.push({ real, layer: src.layer });
      else e.closed = true;
    }
    for (const w of whiteouts) hidden.add(w);
    if (opaque) break;
  }
  for (const [name, e] of [...entries].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const r = join(rel, name);
    if (e.dir) {
      acc.dirs.push({ rel: r, layers: e.srcs.map((s) => s.layer) });
      flatten(e.srcs, out, r, acc);
    } else {
      fs.copyFileSync(e.srcs[0].real, path.join(out, r));
      acc.files.push({ rel: r, layer: e.srcs[0].layer });
    }
  }
  return acc;
}

// ---- workloads ---------------------------------------------------------------------------------

function walk(fsx, dir) {
  let bytes = 0;
  for (const d of fsx.readdirSync(dir, { withFileTypes: true })) {
    const p = `${dir}/${d.name}`;
    fsx.statSync(p);
    if (d.isDirectory()) bytes += walk(fsx, p);
    else bytes += fsx.readFileSync(p).length;
  }
  return bytes;
}

/** Full listing with content hashes, for the correctness check (not timed). */
function snapshot(fsx, dir, rel = '', acc = new Map()) {
  for (const d of fsx.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = join(rel, d.name);
    if (d.isDirectory()) {
      acc.set(r + '/', 'dir');
      snapshot(fsx, dir, r, acc);
    } else {
      acc.set(r, crypto.createHash('sha256').update(fsx.readFileSync(path.join(dir, r))).digest('hex'));
    }
  }
  return acc;
}

function hashTree(root) {
  const h = crypto.createHash('sha256');
  (function rec(dir) {
    for (const name of fs.readdirSync(dir).sort()) {
      const p = path.join(dir, name);
      const st = fs.lstatSync(p);
      h.update(`${path.relative(root, p)}\0${st.mode}\0${st.mtimeMs}\0`);
      if (st.isDirectory()) rec(p);
      else h.update(fs.readFileSync(p));
    }
  })(root);
  return h.digest('hex');
}

/**
 * A workload: `ops` operations per timed run; `run(side, round)` does them all, where side is
 * { fs, root } for either the overlay or the flattened copy. `round` is -1 for the warm-up.
 */
function workloads(ctx) {
  const { files, dirs, whiteoutPaths } = ctx.merged;
  const N = SIZE.sample;
  const byLayer = (i) => files.filter((f) => f.layer === i).map((f) => f.rel);
  const bottomHits = cycle(sample(byLayer(2), N), N);
  const topHits = cycle(sample(byLayer(0), N), N);
  const misses = cycle(
    sample(whiteoutPaths, Math.floor(N / 2)).concat(
      sample(dirs.map((d) => d.rel), N).map((d, i) => join(d, `missing-${i}.txt`)),
    ),
    N,
  );
  const exists = cycle(sample(files.map((f) => f.rel), N / 2).concat(misses.slice(0, N / 2)), N);
  const reads = cycle(sample(files.map((f) => f.rel), N / 2), N / 2);
  const mergedDirs = sample(dirs.filter((d) => d.layers.length > 1).map((d) => d.rel), Math.min(200, N / 5));
  const asyncStat = reads.slice(0, N / 2);
  const asyncRead = reads.slice(0, N / 4);
  const createDir = mergedDirs[0] || '';

  const sync = (list, f) => (side) => {
    for (const rel of list) f(side.fs, `${side.root}/${rel}`);
  };
  const promised = (list, f) => async (side) => {
    for (const rel of list) await f(side.fs, `${side.root}/${rel}`);
  };
  /** Each run gets its own fresh items: `make(side, round)` names them. */
  const copyUp = (set, count) => (side, round) => {
    const r = round + 1;
    for (let i = 0; i < count; i++) {
      if (side.kind === 'overlay') ctx.cov.fs.appendFileSync(`${ctx.cmount}/${set}/r${r}-${i}`, 'x');
      else fs.copyFileSync(`${ctx.csrc}/${set}/r${r}-${i}`, `${ctx.cout}/${set}-r${r}-${i}`);
    }
  };

  return [
    { key: 'statSync.bottom', name: 'statSync, file in the bottom layer', ops: bottomHits.length, run: sync(bottomHits, (f, p) => f.statSync(p)) },
    { key: 'statSync.top', name: 'statSync, file in the upper layer', ops: topHits.length, run: sync(topHits, (f, p) => f.statSync(p)) },
    { key: 'statSync.miss', name: 'statSync, missing (half whited out)', ops: misses.length, run: sync(misses, (f, p) => f.statSync(p, { throwIfNoEntry: false })) },
    { key: 'existsSync', name: 'existsSync, half hits', ops: exists.length, run: sync(exists, (f, p) => f.existsSync(p)) },
    { key: 'readFileSync', name: 'readFileSync, small files', ops: reads.length, run: sync(reads, (f, p) => f.readFileSync(p)) },
    { key: 'readdirSync', name: 'readdirSync, merged dirs', ops: mergedDirs.length, run: sync(mergedDirs, (f, p) => f.readdirSync(p)) },
    { key: 'readdirSync.withFileTypes', name: 'readdirSync withFileTypes, merged dirs', ops: mergedDirs.length, run: sync(mergedDirs, (f, p) => f.readdirSync(p, { withFileTypes: true })) },
    { key: 'walk', name: `full walk (readdir+stat+readFile, ${files.length} files), per walk`, ops: 1, run: (side) => walk(side.fs, side.root) },
    { key: 'promises.stat', name: 'fs.promises.stat, sequential', ops: asyncStat.length, run: promised(asyncStat, (f, p) => f.promises.stat(p)) },
    { key: 'promises.readFile', name: 'fs.promises.readFile, sequential', ops: asyncRead.length, run: promised(asyncRead, (f, p) => f.promises.readFile(p)) },
    { key: 'copyUp.4k', name: 'first write to a lower 4 KiB file (copy-up)', ops: SIZE.copy4k, run: copyUp('k4', SIZE.copy4k), note: 'plain side: copyFileSync of a 4 KiB file' },
    { key: 'copyUp.1m', name: 'first write to a lower 1 MiB file (copy-up)', ops: SIZE.copy1m, run: copyUp('m1', SIZE.copy1m), note: 'plain side: copyFileSync of a 1 MiB file' },
    {
      key: 'create',
      name: 'writeFileSync, new file in a merged dir',
      ops: SIZE.create,
      run: (side, round) => {
        for (let i = 0; i < SIZE.create; i++) side.fs.writeFileSync(`${side.root}/${join(createDir, `new-r${round + 1}-${i}.txt`)}`, 'hello\n');
      },
    },
  ];
}

// ---- timing ------------------------------------------------------------------------------------

function median(xs) {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function timeOnce(w, side, round) {
  const t0 = process.hrtime.bigint();
  const r = w.run(side, round);
  if (r && typeof r.then === 'function') await r;
  return Number(process.hrtime.bigint() - t0) / 1e3; // µs
}

async function measure(w, sides) {
  const rounds = ROUNDS;
  // Warm-up (not timed): JIT, caches and the overlay's directory index on both sides.
  await timeOnce(w, sides.plain, -1);
  await timeOnce(w, sides.overlay, -1);
  const t = { plain: [], overlay: [] };
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 ? ['overlay', 'plain'] : ['plain', 'overlay'];
    for (const k of order) t[k].push((await timeOnce(w, sides[k], r)) / w.ops);
  }
  const plain = median(t.plain);
  const overlay = median(t.overlay);
  return { plainUsPerOp: plain, overlayUsPerOp: overlay, ratio: overlay / plain, rounds };
}

// ---- main ---------------------------------------------------------------------------------------

async function run(scratch) {
  const problems = [];
  progress('generating the layer tree...');
  const { L, stats, whiteoutPaths } = generate(scratch);
  progress('flattening the merged tree with plain fs...');
  const flat = path.join(scratch, 'flat');
  const merged = flatten(
    [
      { real: L.upper, layer: 0 },
      { real: L.middle, layer: 1 },
      { real: L.bottom, layer: 2 },
    ],
    flat,
  );
  merged.whiteoutPaths = whiteoutPaths;

  // The copy-up workloads get an overlay of their own, so that their big source files do not
  // weigh on the walk: clower holds the files to copy up, csrc the same sizes for plain fs.
  const clower = path.join(scratch, 'copy-lower');
  const csrc = path.join(scratch, 'copy-plain-src');
  const cout = path.join(scratch, 'copy-plain-out');
  fs.mkdirSync(cout, { recursive: true });
  const sizes = { k4: [4096, SIZE.copy4k], m1: [1 << 20, SIZE.copy1m] };
  for (const [set, [bytes, count]] of Object.entries(sizes)) {
    const data = Buffer.from(text(set, bytes));
    for (const root of [clower, csrc]) {
      fs.mkdirSync(path.join(root, set), { recursive: true });
      for (let r = 0; r <= ROUNDS; r++) for (let i = 0; i < count; i++) fs.writeFileSync(path.join(root, set, `r${r}-${i}`), data);
    }
  }

  const lowersBefore = [L.middle, L.bottom, clower].map(hashTree);

  const mount = path.join(scratch, 'merged');
  const cmount = path.join(scratch, 'copy-merged');
  const cupper = path.join(scratch, 'copy-upper');
  fs.mkdirSync(cupper, { recursive: true });
  const ov = createOverlay({ mountpoint: mount, upper: L.upper, lower: [L.middle, L.bottom] });
  const cov = createOverlay({ mountpoint: cmount, upper: cupper, lower: [clower] });

  // Correctness first (not timed): the merged view must equal the flattened copy.
  progress('checking the merged view against the flattened copy...');
  let viewMatches = false;
  try {
    const a = snapshot(ov.fs, mount);
    const b = snapshot(fs, flat);
    const diffs = [];
    for (const [k, v] of b) if (a.get(k) !== v) diffs.push(`${k}: overlay ${a.has(k) ? 'has other content' : 'is missing it'}`);
    for (const k of a.keys()) if (!b.has(k)) diffs.push(`${k}: only in the overlay`);
    viewMatches = diffs.length === 0;
    if (!viewMatches) problems.push(`merged view differs from the flattened copy in ${diffs.length} entries, e.g. ${diffs.slice(0, 5).join('; ')}`);
  } catch (err) {
    problems.push(`walking the merged view threw: ${err.message}`);
  }

  const ctx = { merged, cov, cmount, csrc, cout };
  const sides = {
    plain: { kind: 'plain', fs, root: flat },
    overlay: { kind: 'overlay', fs: ov.fs, root: mount },
  };
  const results = [];
  for (const w of workloads(ctx)) {
    progress(`timing: ${w.name}...`);
    const row = { key: w.key, name: w.name, ops: w.ops };
    if (w.note) row.note = w.note;
    try {
      Object.assign(row, await measure(w, sides));
    } catch (err) {
      row.error = `${err.code ? err.code + ': ' : ''}${err.message}`;
      problems.push(`${w.key} threw: ${row.error}`);
    }
    results.push(row);
  }
  progress('');

  // Correctness after the mutations: copy-ups kept the data, the lowers did not change.
  let copyUpOk = true;
  try {
    for (const set of Object.keys(sizes)) {
      const p = `${cmount}/${set}/r1-0`;
      const expected = Buffer.concat([fs.readFileSync(path.join(clower, set, 'r1-0')), Buffer.from('x')]);
      if (!cov.fs.readFileSync(p).equals(expected)) {
        copyUpOk = false;
        problems.push(`${set}/r1-0 after appendFileSync(p, 'x') does not read as the lower data plus 'x'`);
      }
    }
  } catch (err) {
    copyUpOk = false;
    problems.push(`checking copy-up results threw: ${err.message}`);
  }
  const lowersUnchanged = [L.middle, L.bottom, clower].map(hashTree).every((h, i) => h === lowersBefore[i]);
  if (!lowersUnchanged) problems.push('a lower layer changed');

  return {
    tool: 'overlay-fs bench',
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    quick: QUICK,
    rounds: ROUNDS,
    tree: {
      layers: stats,
      merged: { files: merged.files.length, dirs: merged.dirs.length, mergedDirs: merged.dirs.filter((d) => d.layers.length > 1).length },
    },
    checks: { mergedViewMatchesFlatCopy: viewMatches, copyUpKeepsData: copyUpOk, lowersUnchanged },
    problems,
    workloads: results,
  };
}

function fmtUs(x) {
  if (!Number.isFinite(x)) return '-';
  return x < 10 ? x.toFixed(2) : x < 1000 ? x.toFixed(1) : x.toFixed(0);
}

function table(report) {
  const lines = [];
  const t = report.tree;
  lines.push(`overlay-fs bench: ov.fs on the merged view vs plain fs on a flattened copy (${report.node}, ${report.platform})`);
  lines.push(
    `tree: bottom ${t.layers.bottom.files} files in ${t.layers.bottom.dirs} dirs; middle +${t.layers.middle.overrides} overrides, ` +
      `+${t.layers.middle.newFiles} files; upper +${t.layers.upper.overrides} overrides, +${t.layers.upper.newFiles} files, ` +
      `${t.layers.upper.whiteouts} whiteouts, ${t.layers.upper.opaqueDirs} opaque dir; merged: ${t.merged.files} files, ${t.merged.dirs} dirs`,
  );
  lines.push(`${report.rounds} interleaved rounds per workload, median per side; ratio = overlay / plain`);
  lines.push('');
  const rows = [['workload', 'plain (µs/op)', 'overlay (µs/op)', 'ratio']];
  for (const w of report.workloads) {
    if (w.error) rows.push([w.name, '-', '-', `error: ${w.error}`]);
    else rows.push([w.name, fmtUs(w.plainUsPerOp), fmtUs(w.overlayUsPerOp), w.ratio.toFixed(2)]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const fmt = (r) => `| ${r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join(' | ')} |`;
  lines.push(fmt(rows[0]));
  lines.push(`|${widths.map((w, c) => (c === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|')}|`);
  for (const r of rows.slice(1)) lines.push(fmt(r));
  lines.push('');
  lines.push('copy-up rows: the plain side is copyFileSync of a file of the same size.');
  const c = report.checks;
  lines.push(
    `checks: merged view = flattened copy: ${c.mergedViewMatchesFlatCopy ? 'yes' : 'NO'}; ` +
      `copy-up keeps data: ${c.copyUpKeepsData ? 'yes' : 'NO'}; lower layers unchanged: ${c.lowersUnchanged ? 'yes' : 'NO'}`,
  );
  for (const p of report.problems) lines.push(`PROBLEM: ${p}`);
  return lines.join('\n') + '\n';
}

const scratch = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'overlay-fs-bench-')));
const cleanup = () => {
  if (!KEEP) fs.rmSync(scratch, { recursive: true, force: true });
};
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

run(scratch)
  .then((report) => {
    process.stdout.write(JSON_OUT ? JSON.stringify(report, null, 2) + '\n' : table(report));
    if (KEEP) process.stderr.write(`kept the scratch directory: ${scratch}\n`);
    process.exitCode = report.problems.length ? 1 : 0;
  })
  .catch((err) => {
    process.stderr.write(`bench failed: ${err && err.stack ? err.stack : err}\n`);
    process.exitCode = 1;
  })
  .finally(cleanup);
