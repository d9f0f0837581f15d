#!/usr/bin/env node
'use strict';
// `npm run bench`: how much slower is ov.fs than plain fs (and than the kernel's overlayfs)?
//
// Generates a three-layer tree in a scratch directory (bottom and middle lower layers plus an
// upper with overrides and whiteouts), builds a flattened copy of the merged tree with plain fs
// (the merge is computed here, from the layer directories), then times each workload on every
// side in the same run: ov.fs on the merged view, plain fs on the flattened copy, and (where
// `mount -t overlay` works: Linux, root) plain fs on a kernel overlay mount of the same layers.
// Rounds are interleaved (the side that goes first rotates); the figure per side is the median
// over the rounds; ratio = side / plain. Then the same full walk over the same files spread
// across 1, 2, 4, 8, 16 and 32 layers, and the memory the directory index takes for the tree.
//
// Usage: node scripts/bench.js [--quick] [--json] [--rounds N] [--keep] [--no-cache] [--no-kernel] [--engine PATH]
//   --quick      a small tree and 3 rounds: a smoke test that takes seconds
//   --json       print JSON on stdout instead of a table
//   --rounds N   timed rounds per workload (default 7, or 3 with --quick)
//   --keep       leave the scratch directory on disk and print where it is
//   --no-cache   the overlay with `cache: false` (every lookup asks the file system)
//   --no-kernel  skip the kernel overlay reference column
//   --engine P   the module exporting createOverlay (default dist/cjs/index.js; e.g. an older build)
//
// Timing figures are reported, never judged by the exit status: the targets of the issue are
// printed beside them. It exits 1 only when the overlay gave wrong answers (a merged view differs
// from the flattened copy, a lower layer changed, a copy-up lost data) or a workload threw.

const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

// ---- options -----------------------------------------------------------------------------

const argv = process.argv.slice(2);
function flagValue(name) {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}
if (argv.includes('--help') || argv.includes('-h')) {
  process.stdout.write('Usage: node scripts/bench.js [--quick] [--json] [--rounds N] [--keep] [--no-cache] [--no-kernel] [--engine PATH]\n');
  process.exit(0);
}
const QUICK = argv.includes('--quick');
const JSON_OUT = argv.includes('--json');
const KEEP = argv.includes('--keep');
const NO_CACHE = argv.includes('--no-cache');
const NO_KERNEL = argv.includes('--no-kernel');
const ROUNDS = Number(flagValue('--rounds')) || (QUICK ? 3 : 7);
const ENGINE = path.resolve(flagValue('--engine') || path.join(__dirname, '..', 'dist', 'cjs', 'index.js'));
const LAYER_COUNTS = [1, 2, 4, 8, 16, 32];

const SIZE = QUICK
  ? { dirs: 60, files: 600, maxDepth: 6, sample: 200, copy4k: 10, copy1m: 2, create: 50 }
  : { dirs: 500, files: 5000, maxDepth: 6, sample: 1000, copy4k: 40, copy1m: 4, create: 200 };

/** The issue's targets (median ratio against plain fs), printed beside the figures. */
const TARGETS = {
  'statSync.bottom': 1.15, 'statSync.top': 1.15, existsSync: 1.15, readFileSync: 1.15,
  'promises.stat': 1.15, 'promises.readFile': 1.15, 'statSync.miss': 1.3,
  readdirSync: 1.5, 'readdirSync.withFileTypes': 1.5, walk: 1.2, 'copyUp.1m': 1.3,
};
const LAYER_GROWTH_TARGET = 1.2;
const MEMORY_TARGET_MB = 10;

let createOverlay;
try {
  ({ createOverlay } = require(ENGINE));
} catch (err) {
  process.stderr.write(
    `overlay-fs is not built yet (${err.code || err.message}). Run \`npm run build\` (or \`npm install\`) first.\n`,
  );
  process.exit(2);
}
/** The engine's directory index module, for the memory figures (absent in builds without one). */
let indexCache = null;
try {
  indexCache = require(path.join(path.dirname(ENGINE), 'router', 'index-cache.js'));
} catch {
  indexCache = null;
}
const overlayOptions = (o) => (NO_CACHE ? { ...o, cache: false } : o);

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

// ---- the kernel's overlayfs, for reference -------------------------------------------------------

const mounts = [];

/** Can this process mount an overlay (Linux, root, python3 for whiteout devices and xattrs)? */
function kernelAvailable(scratch) {
  if (NO_KERNEL) return { ok: false, reason: '--no-kernel' };
  if (process.platform !== 'linux') return { ok: false, reason: `not Linux (${process.platform})` };
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return { ok: false, reason: 'not root' };
  const py = spawnSync('python3', ['-c', 'import os; print(hasattr(os, "setxattr"))'], { encoding: 'utf8' });
  if (py.status !== 0 || !/True/.test(py.stdout)) return { ok: false, reason: 'python3 with os.setxattr not available' };
  const dir = path.join(scratch, 'kernel-probe');
  for (const d of ['l1', 'l2', 'u', 'w', 'm']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  fs.writeFileSync(path.join(dir, 'l1', 'f'), 'x');
  try {
    mountOverlay([`${dir}/l2`, `${dir}/l1`], `${dir}/u`, `${dir}/w`, `${dir}/m`);
    const ok = fs.readFileSync(`${dir}/m/f`, 'utf8') === 'x';
    return ok ? { ok: true, reason: '' } : { ok: false, reason: 'the overlay mount does not show the lower file' };
  } catch (err) {
    return { ok: false, reason: `mount -t overlay refused: ${err.message}` };
  } finally {
    umount(`${dir}/m`);
  }
}

function mountOverlay(lowers, upper, work, mnt) {
  fs.mkdirSync(mnt, { recursive: true });
  const opts = `lowerdir=${lowers.join(':')}${upper ? `,upperdir=${upper},workdir=${work}` : ''}`;
  const r = spawnSync('mount', ['-t', 'overlay', 'overlay', '-o', opts, mnt], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error((r.stderr || String(r.error)).trim());
  mounts.push(mnt);
}

function umount(mnt) {
  const i = mounts.indexOf(mnt);
  if (i < 0) return;
  let r = spawnSync('umount', [mnt], { encoding: 'utf8' });
  if (r.status !== 0) r = spawnSync('umount', ['-l', mnt], { encoding: 'utf8' });
  if (r.status === 0 || /not mounted/.test(r.stderr || '')) mounts.splice(i, 1);
}

function umountAll() {
  for (const m of mounts.slice().reverse()) umount(m);
}

/**
 * Copies of layer directories in the kernel's form: `.wh.x` becomes a 0:0 character device
 * named x, `.wh..wh..opq` the trusted.overlay.opaque xattr of its directory.
 */
function kernelForm(pairs) {
  const specials = [];
  for (const [from, to] of pairs) {
    const r = spawnSync('cp', ['-a', from, to], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cp -a ${from} ${to}: ${r.stderr}`);
    (function rec(dir) {
      for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, d.name);
        if (d.name === '.wh..wh..opq') { fs.rmSync(p); specials.push(['opq', dir]); }
        else if (d.name.startsWith('.wh.')) { fs.rmSync(p); specials.push(['wh', path.join(dir, d.name.slice(4))]); }
        else if (d.isDirectory()) rec(p);
      }
    })(to);
  }
  const py = `
import os, sys, json, stat
for kind, p in json.load(sys.stdin):
    if kind == 'wh':
        os.mknod(p, stat.S_IFCHR | 0o000, os.makedev(0, 0))
    else:
        os.setxattr(p, 'trusted.overlay.opaque', b'y', follow_symlinks=False)
`;
  if (specials.length) {
    const r = spawnSync('python3', ['-c', py], { input: JSON.stringify(specials), encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`python3 (mknod/setxattr) failed: ${r.stderr}`);
  }
}

// ---- workloads ---------------------------------------------------------------------------------

/**
 * A workload: `ops` operations per timed run; `run(side, round)` does them all, where side is
 * { kind, fs, root } for the overlay, the flattened copy or the kernel mount. `round` is -1 for
 * the warm-up.
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
  /** Each run gets its own fresh items: round r uses the files r<r>-*. */
  const copyUp = (set, count) => (side, round) => {
    const r = round + 1;
    for (let i = 0; i < count; i++) {
      if (side.kind === 'overlay') ctx.cov.fs.appendFileSync(`${ctx.cmount}/${set}/r${r}-${i}`, 'x');
      else if (side.kind === 'kernel') fs.appendFileSync(`${ctx.kcmount}/${set}/r${r}-${i}`, 'x');
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
    { once: true, key: 'copyUp.4k', name: 'first write to a lower 4 KiB file (copy-up)', ops: SIZE.copy4k, run: copyUp('k4', SIZE.copy4k), note: 'plain side: copyFileSync of a 4 KiB file' },
    { once: true, key: 'copyUp.1m', name: 'first write to a lower 1 MiB file (copy-up)', ops: SIZE.copy1m, run: copyUp('m1', SIZE.copy1m), note: 'plain side: copyFileSync of a 1 MiB file' },
    {
      key: 'create',
      once: true,
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

async function timeOnce(run, side, round) {
  const t0 = process.hrtime.bigint();
  const r = run(side, round);
  if (r && typeof r.then === 'function') await r;
  return Number(process.hrtime.bigint() - t0) / 1e3; // µs
}

/** Warm-up per workload and side: at least this many untimed runs, and this much time. */
const WARM_RUNS = 3;
const WARM_MS = QUICK ? 50 : 300;

/**
 * Time `run` on each side, interleaved: warm-up runs (not timed: JIT, caches, the overlay's
 * directory index), at least WARM_RUNS and, for repeatable workloads, until each side has
 * spent WARM_MS in them (so that the optimising compiler has settled on both sides before the
 * first timed round); then ROUNDS rounds, the side that goes first rotating. Median µs per op.
 * `once`: a workload whose runs consume their items (copy-up, create): only WARM_RUNS warm-ups.
 */
async function measure(run, ops, sides, once = false) {
  const keys = Object.keys(sides);
  const spent = Object.fromEntries(keys.map((k) => [k, 0]));
  for (let i = 0; i < WARM_RUNS || (!once && i < 500 && keys.some((k) => spent[k] < WARM_MS * 1e3)); i++) {
    for (const k of keys) spent[k] += await timeOnce(run, sides[k], -1);
  }
  const t = Object.fromEntries(keys.map((k) => [k, []]));
  for (let r = 0; r < ROUNDS; r++) {
    const order = keys.slice(r % keys.length).concat(keys.slice(0, r % keys.length));
    if (Math.floor(r / keys.length) % 2) order.reverse();
    for (const k of order) t[k].push((await timeOnce(run, sides[k], r)) / ops);
  }
  return Object.fromEntries(keys.map((k) => [k, median(t[k])]));
}

// ---- the same walk over 1 to 32 layers ------------------------------------------------------------

/**
 * Spread the flattened tree's files over `n` layers (hard links, so no data is copied): each
 * file goes to one layer, and one in ten also has a shadowed copy in a lower one; directories
 * exist in every layer that has something below them. The merged view is the flattened tree.
 */
function spreadLayers(flat, merged, dir, n) {
  const rnd = mulberry32(1000 + n);
  const layers = Array.from({ length: n }, (_, i) => path.join(dir, `L${i}`));
  for (const l of layers) fs.mkdirSync(l, { recursive: true });
  for (const d of merged.dirs) fs.mkdirSync(path.join(layers[Math.floor(rnd() * n)], d.rel), { recursive: true });
  for (const f of merged.files) {
    const i = Math.floor(rnd() * n);
    const put = (layer) => {
      const to = path.join(layers[layer], f.rel);
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.linkSync(path.join(flat, f.rel), to);
    };
    put(i);
    if (i < n - 1 && rnd() < 0.1) put(i + 1 + Math.floor(rnd() * (n - 1 - i)));
  }
  return layers;
}

async function layerScaling(scratch, flat, merged, kernel, problems) {
  const rows = [];
  const flatSnap = snapshot(fs, flat);
  for (const n of LAYER_COUNTS) {
    progress(`layers: ${n}...`);
    const dir = path.join(scratch, `stack-${n}`);
    const layers = spreadLayers(flat, merged, dir, n);
    const mount = path.join(dir, 'merged');
    const ov = createOverlay(overlayOptions({ mountpoint: mount, lower: layers }));
    const row = { layers: n };
    try {
      const a = snapshot(ov.fs, mount);
      const same = a.size === flatSnap.size && [...flatSnap].every(([k, v]) => a.get(k) === v);
      row.viewMatches = same;
      if (!same) problems.push(`${n} layers: the merged view differs from the flattened copy`);
      const sides = { plain: { kind: 'plain', fs, root: flat }, overlay: { kind: 'overlay', fs: ov.fs, root: mount } };
      if (kernel) {
        // The kernel needs an upper (or two lowers): an empty one changes nothing.
        fs.mkdirSync(`${dir}/ku`, { recursive: true });
        fs.mkdirSync(`${dir}/kw`, { recursive: true });
        mountOverlay(layers, `${dir}/ku`, `${dir}/kw`, `${dir}/kernel`);
        sides.kernel = { kind: 'kernel', fs, root: `${dir}/kernel` };
      }
      try {
        const t = await measure((side) => walk(side.fs, side.root), 1, sides);
        row.plainUsPerWalk = t.plain;
        row.overlayUsPerWalk = t.overlay;
        row.ratio = t.overlay / t.plain;
        if (kernel) {
          row.kernelUsPerWalk = t.kernel;
          row.kernelRatio = t.kernel / t.plain;
        }
      } finally {
        if (kernel) umount(`${dir}/kernel`);
      }
    } catch (err) {
      row.error = `${err.code ? err.code + ': ' : ''}${err.message}`;
      problems.push(`${n} layers threw: ${row.error}`);
    } finally {
      // Its indexes (and their watches) go with it; older engines have no close().
      if (typeof ov.close === 'function') ov.close();
    }
    rows.push(row);
  }
  const base = rows.find((r) => r.layers === 1 && r.ratio);
  for (const r of rows) if (base && r.ratio) r.growth = r.ratio / base.ratio;
  return rows;
}

// ---- memory of the directory index ------------------------------------------------------------------

function gcFunction() {
  try {
    require('v8').setFlagsFromString('--expose-gc');
    return require('vm').runInNewContext('gc');
  } catch {
    return null;
  }
}

/**
 * The heap the directory index (and the remembered paths) take after one full walk of the
 * merged tree from cold: heap used after minus before, each after a full collection.
 */
function measureMemory(ov, mount, others) {
  if (!indexCache || NO_CACHE) return { available: false, reason: NO_CACHE ? '--no-cache' : 'this engine has no directory index' };
  const gc = gcFunction();
  if (!gc) return { available: false, reason: 'no gc() (v8 flags refused)' };
  indexCache.clearIndex();
  // Every overlay forgets its remembered paths at its next lookup after clearIndex(): do one.
  for (const o of others) o.fs.existsSync(path.join(o.mountpoint, 'no such name'));
  const settle = () => { for (let i = 0; i < 3; i++) gc(); return process.memoryUsage().heapUsed; };
  const before = settle();
  walk(ov.fs, mount);
  const after = settle();
  const st = indexCache.indexStats();
  return {
    available: true,
    heapBytes: after - before,
    directories: st.directories,
    entries: st.entries,
    estimateBytes: st.approxBytes,
    bound: indexCache.indexSettings().maxEntries,
    ttlMs: indexCache.indexSettings().ttlMs,
    // Engines with watched indexes (absent in older builds run with --engine).
    watched: st.watched,
    watchedTtlMs: indexCache.indexSettings().watchedTtlMs,
  };
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
  // A pristine copy (hard links) for the layer-count walks: the workloads below add files to `flat`.
  const flatL = path.join(scratch, 'flat-layers');
  fs.mkdirSync(flatL);
  for (const d of merged.dirs) fs.mkdirSync(path.join(flatL, d.rel), { recursive: true });
  for (const f of merged.files) fs.linkSync(path.join(flat, f.rel), path.join(flatL, f.rel));

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

  // The kernel reference: kernel-form copies of the same layers, mounted (unmounted in finally).
  const avail = kernelAvailable(scratch);
  const kernel = { available: avail.ok, reason: avail.reason };
  let kmount = null;
  let kcmount = null;
  if (avail.ok) {
    progress('mounting the kernel overlay reference...');
    try {
      const K = path.join(scratch, 'kernel');
      fs.mkdirSync(K);
      kernelForm([[L.upper, `${K}/upper`], [L.middle, `${K}/middle`], [L.bottom, `${K}/bottom`], [clower, `${K}/copy-lower`]]);
      for (const d of ['work', 'copy-upper', 'copy-work']) fs.mkdirSync(`${K}/${d}`);
      kmount = `${K}/merged`;
      kcmount = `${K}/copy-merged`;
      mountOverlay([`${K}/middle`, `${K}/bottom`], `${K}/upper`, `${K}/work`, kmount);
      mountOverlay([`${K}/copy-lower`], `${K}/copy-upper`, `${K}/copy-work`, kcmount);
    } catch (err) {
      kernel.available = false;
      kernel.reason = `could not set up: ${err.message}`;
      umountAll();
      kmount = kcmount = null;
    }
  }

  const lowersBefore = [L.middle, L.bottom, clower].map(hashTree);

  const mount = path.join(scratch, 'merged');
  const cmount = path.join(scratch, 'copy-merged');
  const cupper = path.join(scratch, 'copy-upper');
  fs.mkdirSync(cupper, { recursive: true });
  const ov = createOverlay(overlayOptions({ mountpoint: mount, upper: L.upper, lower: [L.middle, L.bottom] }));
  const cov = createOverlay(overlayOptions({ mountpoint: cmount, upper: cupper, lower: [clower] }));

  // Correctness first (not timed): the merged view must equal the flattened copy.
  progress('checking the merged view against the flattened copy...');
  let viewMatches = false;
  const flatSnap = snapshot(fs, flat);
  const compare = (a) => {
    const diffs = [];
    for (const [k, v] of flatSnap) if (a.get(k) !== v) diffs.push(`${k}: ${a.has(k) ? 'has other content' : 'is missing'}`);
    for (const k of a.keys()) if (!flatSnap.has(k)) diffs.push(`${k}: is extra`);
    return diffs;
  };
  try {
    const diffs = compare(snapshot(ov.fs, mount));
    viewMatches = diffs.length === 0;
    if (!viewMatches) problems.push(`merged view differs from the flattened copy in ${diffs.length} entries, e.g. ${diffs.slice(0, 5).join('; ')}`);
  } catch (err) {
    problems.push(`walking the merged view threw: ${err.message}`);
  }
  if (kmount) {
    const diffs = compare(snapshot(fs, kmount));
    kernel.viewMatches = diffs.length === 0;
    if (diffs.length) kernel.viewDiffers = diffs.slice(0, 5);
  }

  const ctx = { merged, cov, cmount, csrc, cout, kcmount };
  const sides = {
    plain: { kind: 'plain', fs, root: flat },
    overlay: { kind: 'overlay', fs: ov.fs, root: mount },
  };
  if (kmount) sides.kernel = { kind: 'kernel', fs, root: kmount };
  const results = [];
  for (const w of workloads(ctx)) {
    progress(`timing: ${w.name}...`);
    const row = { key: w.key, name: w.name, ops: w.ops };
    if (w.note) row.note = w.note;
    if (TARGETS[w.key] !== undefined) row.target = TARGETS[w.key];
    try {
      const t = await measure(w.run, w.ops, sides, w.once === true);
      Object.assign(row, { plainUsPerOp: t.plain, overlayUsPerOp: t.overlay, ratio: t.overlay / t.plain, rounds: ROUNDS });
      if (row.target !== undefined) row.met = row.ratio <= row.target;
      if (t.kernel !== undefined) Object.assign(row, { kernelUsPerOp: t.kernel, kernelRatio: t.kernel / t.plain });
    } catch (err) {
      row.error = `${err.code ? err.code + ': ' : ''}${err.message}`;
      problems.push(`${w.key} threw: ${row.error}`);
    }
    results.push(row);
  }

  progress('measuring the index memory...');
  const memory = measureMemory(ov, mount, [ov, cov]);
  if (memory.available) memory.met = memory.heapBytes < MEMORY_TARGET_MB * 1024 * 1024;
  if (kmount) { umount(kmount); umount(kcmount); }

  const layers = await layerScaling(scratch, flatL, merged, kernel.available, problems);
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
  const last = layers[layers.length - 1];

  return {
    tool: 'overlay-fs bench',
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: `${os.cpus().length} x ${os.cpus()[0] ? os.cpus()[0].model.trim() : 'unknown'}`,
    engine: path.relative(process.cwd(), ENGINE) || ENGINE,
    cache: NO_CACHE ? false : indexCache ? true : null,
    quick: QUICK,
    rounds: ROUNDS,
    tree: {
      layers: stats,
      merged: { files: merged.files.length, dirs: merged.dirs.length, mergedDirs: merged.dirs.filter((d) => d.layers.length > 1).length },
    },
    checks: { mergedViewMatchesFlatCopy: viewMatches, copyUpKeepsData: copyUpOk, lowersUnchanged, layerViewsMatch: layers.every((r) => r.viewMatches === true) },
    problems,
    kernel,
    workloads: results,
    layers: { rows: layers, growth32: last && last.growth, target: LAYER_GROWTH_TARGET, met: last && last.growth !== undefined ? last.growth <= LAYER_GROWTH_TARGET : undefined },
    memory: { ...memory, targetMB: MEMORY_TARGET_MB },
  };
}

function fmtUs(x) {
  if (!Number.isFinite(x)) return '-';
  return x < 10 ? x.toFixed(2) : x < 1000 ? x.toFixed(1) : x.toFixed(0);
}

function fmtTable(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const fmt = (r) => `| ${r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join(' | ')} |`;
  const out = [fmt(rows[0]), `|${widths.map((w, c) => (c === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|')}|`];
  for (const r of rows.slice(1)) out.push(fmt(r));
  return out;
}

function table(report) {
  const lines = [];
  const t = report.tree;
  const k = report.kernel;
  lines.push(`overlay-fs bench: ov.fs on the merged view vs plain fs on a flattened copy (${report.node}, ${report.platform}, ${report.cpus})`);
  lines.push(
    `tree: bottom ${t.layers.bottom.files} files in ${t.layers.bottom.dirs} dirs; middle +${t.layers.middle.overrides} overrides, ` +
      `+${t.layers.middle.newFiles} files; upper +${t.layers.upper.overrides} overrides, +${t.layers.upper.newFiles} files, ` +
      `${t.layers.upper.whiteouts} whiteouts, ${t.layers.upper.opaqueDirs} opaque dir; merged: ${t.merged.files} files, ${t.merged.dirs} dirs`,
  );
  const index = report.cache === null ? 'none (an engine without one)' : report.cache ? 'on' : 'off (--no-cache)';
  lines.push(`engine: ${report.engine}, directory index ${index}; kernel overlay reference: ${k.available ? 'yes' : `no (${k.reason})`}`);
  lines.push(`${report.rounds} interleaved rounds per workload after a warm-up (at least ${WARM_RUNS} runs and ${WARM_MS} ms per side), median per side; ratio = side / plain`);
  lines.push('');
  const kcol = k.available;
  const head = ['workload', 'plain µs/op', 'overlay µs/op', 'ratio', 'target'];
  if (kcol) head.push('kernel µs/op', 'kernel ratio');
  const rows = [head];
  for (const w of report.workloads) {
    if (w.error) { rows.push([w.name, '-', '-', `error: ${w.error}`, '', ...(kcol ? ['', ''] : [])]); continue; }
    const target = w.target === undefined ? '' : `≤ ${w.target.toFixed(2)} ${w.met ? 'met' : 'NOT met'}`;
    const row = [w.name, fmtUs(w.plainUsPerOp), fmtUs(w.overlayUsPerOp), w.ratio.toFixed(2), target];
    if (kcol) row.push(fmtUs(w.kernelUsPerOp), w.kernelRatio === undefined ? '-' : w.kernelRatio.toFixed(2));
    rows.push(row);
  }
  lines.push(...fmtTable(rows));
  lines.push('');
  lines.push('copy-up rows: the plain side is copyFileSync of a file of the same size.');
  lines.push('');
  lines.push(`the full walk over the same ${t.merged.files} files spread across N layers (each file in one layer, one in ten shadowed below):`);
  const lrows = [['layers', 'plain µs/walk', 'overlay µs/walk', 'ratio', 'vs 1 layer', ...(kcol ? ['kernel µs/walk', 'kernel ratio'] : [])]];
  for (const r of report.layers.rows) {
    if (r.error) { lrows.push([String(r.layers), '-', '-', `error: ${r.error}`, '', ...(kcol ? ['', ''] : [])]); continue; }
    const row = [String(r.layers), fmtUs(r.plainUsPerWalk), fmtUs(r.overlayUsPerWalk), r.ratio.toFixed(2), r.growth === undefined ? '-' : r.growth.toFixed(2)];
    if (kcol) row.push(fmtUs(r.kernelUsPerWalk), r.kernelRatio === undefined ? '-' : r.kernelRatio.toFixed(2));
    lrows.push(row);
  }
  lines.push(...fmtTable(lrows));
  const L = report.layers;
  if (L.growth32 !== undefined) lines.push(`growth from 1 to 32 layers: ${L.growth32.toFixed(2)}x (target ≤ ${L.target.toFixed(2)}: ${L.met ? 'met' : 'NOT met'})`);
  lines.push('');
  const m = report.memory;
  if (m.available) {
    const mb = (b) => (b / (1024 * 1024)).toFixed(2);
    lines.push(
      `index memory after one full walk from cold: ${mb(m.heapBytes)} MB of heap (${m.directories} directories, ${m.entries} names; ` +
        `index estimate ${mb(m.estimateBytes)} MB; target < ${m.targetMB} MB: ${m.met ? 'met' : 'NOT met'}); bound ${m.bound} names, TTL ${m.ttlMs} ms` +
        (m.watched === undefined ? '' : `; ${m.watched} directories watched (checked after ${m.watchedTtlMs} ms)`),
    );
  } else lines.push(`index memory: not measured (${m.reason})`);
  const c = report.checks;
  lines.push(
    `checks: merged view = flattened copy: ${c.mergedViewMatchesFlatCopy ? 'yes' : 'NO'}; ` +
      `copy-up keeps data: ${c.copyUpKeepsData ? 'yes' : 'NO'}; lower layers unchanged: ${c.lowersUnchanged ? 'yes' : 'NO'}; ` +
      `1..32-layer views = flattened copy: ${c.layerViewsMatch ? 'yes' : 'NO'}` +
      (k.available ? `; kernel view = flattened copy: ${k.viewMatches ? 'yes' : 'NO'}` : ''),
  );
  for (const p of report.problems) lines.push(`PROBLEM: ${p}`);
  return lines.join('\n') + '\n';
}

const scratch = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'overlay-fs-bench-')));
const cleanup = () => {
  umountAll();
  if (!KEEP) fs.rmSync(scratch, { recursive: true, force: true });
};
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    cleanup();
    process.exit(130);
  });
}

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
