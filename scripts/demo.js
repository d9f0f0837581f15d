#!/usr/bin/env node
'use strict';
// `npm run demo`: the example of the seed post (three stacked directories, c.txt in two of
// them) run through overlay-fs, printed as a short terminal session.
//
// Usage: node scripts/demo.js [--keep]
//   --keep   leave the scratch directory on disk and print where it is
//
// Exit status: 0 when everything behaved as an overlay should, 1 when the lower layers
// changed or the merged view showed something unexpected, 2 when the build is missing.

const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.join(__dirname, '..');
const FIXTURE = path.join(ROOT, 'fixtures', 'seed');
const LAYER_NAMES = ['upper', 'middle', 'lower']; // top first, as in the seed post

const args = process.argv.slice(2);
const KEEP = args.includes('--keep');
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write('Usage: node scripts/demo.js [--keep]\n');
  process.exit(0);
}

let createOverlay;
try {
  ({ createOverlay } = require('../dist/cjs/index.js'));
} catch (err) {
  process.stderr.write(
    `overlay-fs is not built yet (${err.code || err.message}). Run \`npm run build\` (or \`npm install\`) first.\n`,
  );
  process.exit(2);
}

// ---- output helpers --------------------------------------------------------------------

const useColour = Boolean(process.stdout.isTTY) && process.env.NO_COLOR === undefined;
const paint = (code) => (s) => (useColour ? `\x1b[${code}m${s}\x1b[0m` : String(s));
const bold = paint('1');
const dim = paint('2');
const green = paint('32');
const yellow = paint('33');
const red = paint('31');
const cyan = paint('36');

// A closed pipe (`npm run demo | head`) is not an error worth a stack trace.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode || 0);
  throw err;
});

const out = (line = '') => process.stdout.write(line + '\n');
/** A shell-like command line, with what the demo really calls as a comment. */
const cmd = (shell, call) => {
  out();
  out(`${bold('$ ' + shell)}${call ? '   ' + dim('# ' + call) : ''}`);
};
const note = (line) => out(dim('  ' + line));
const pad = (s, n) => s + ' '.repeat(Math.max(1, n - s.length));
/** File content, indented, without a doubled final newline. */
const show = (text) => out(text.replace(/\n$/, '').replace(/^/gm, '  '));

const problems = [];
function expect(ok, message) {
  if (!ok) {
    problems.push(message);
    out(red(`  UNEXPECTED: ${message}`));
  }
  return ok;
}

// ---- plain-fs helpers (never go through the overlay) ------------------------------------

function copyTree(src, dst) {
  fs.mkdirSync(dst, { recursive: true });
  for (const d of fs.readdirSync(src, { withFileTypes: true })) {
    const s = path.join(src, d.name);
    const t = path.join(dst, d.name);
    if (d.isDirectory()) copyTree(s, t);
    else fs.copyFileSync(s, t);
  }
}

/** Every entry under dir, as sorted relative paths (directories end with '/'). */
function rawTree(dir, rel = '') {
  const res = [];
  const names = fs.readdirSync(path.join(dir, rel)).sort();
  for (const name of names) {
    const r = rel ? `${rel}/${name}` : name;
    if (fs.lstatSync(path.join(dir, r)).isDirectory()) {
      res.push(r + '/');
      res.push(...rawTree(dir, r));
    } else {
      res.push(r);
    }
  }
  return res;
}

function sha256(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** sha256 of every file in the lower layers, keyed by "layer/relative/path". */
function hashLowers(scratch) {
  const sums = new Map();
  for (const layer of LAYER_NAMES.slice(1)) {
    for (const rel of rawTree(path.join(scratch, layer))) {
      if (!rel.endsWith('/')) sums.set(`${layer}/${rel}`, sha256(path.join(scratch, layer, rel)));
    }
  }
  return sums;
}

// ---- the demo ------------------------------------------------------------------------------

function main(scratch) {
  copyTree(FIXTURE, scratch);
  const dirs = Object.fromEntries(LAYER_NAMES.map((n) => [n, path.join(scratch, n)]));
  const mountpoint = path.join(scratch, 'merged');
  const initialUpper = new Set(rawTree(dirs.upper));
  const before = hashLowers(scratch);

  const ov = createOverlay({ mountpoint, upper: dirs.upper, lower: [dirs.middle, dirs.lower] });
  const m = (rel) => path.join(mountpoint, rel);
  /** The short layer name (upper, middle, lower) of a layer root. */
  const nameOf = (root) => LAYER_NAMES.find((n) => dirs[n] === root) || root;
  const layerRel = (entry) => path.relative(scratch, entry.realPath);

  out(bold('overlay-fs demo') + ` ${dim('(scratch directory: ' + scratch + ')')}`);
  out();
  out('Three ordinary directories, stacked like sheets of clear plastic (top first):');
  out(`  ${cyan(pad('upper/', 10))}writable top layer: every change lands here`);
  out(`  ${cyan(pad('middle/', 10))}lower[0], read-only`);
  out(`  ${cyan(pad('lower/', 10))}lower[1], read-only`);
  out(`The merged view is ${cyan('merged/')}. It is not a real directory: only ov.fs can see it.`);
  out();
  out(bold("> const ov = createOverlay({ mountpoint: 'merged', upper: 'upper', lower: ['middle', 'lower'] })"));
  note('(JavaScript; the kernel would need: mount -t overlay overlay -o lowerdir=middle:lower,upperdir=upper,workdir=work merged)');

  /** Recursive merged listing, each entry labelled with the layer(s) it comes from. */
  function listMerged() {
    const rows = [];
    (function walk(rel) {
      const names = ov.fs.readdirSync(rel ? m(rel) : mountpoint).sort();
      for (const name of names) {
        const r = rel ? `${rel}/${name}` : name;
        const w = ov.which(m(r));
        if (!w) {
          rows.push([r, red('(listed, but ov.which says it does not exist)')]);
          expect(false, `readdir lists ${r} but which() returns null`);
          continue;
        }
        if (w.type === 'directory') {
          const from = w.layers.map((e) => nameOf(e.layer.root));
          rows.push([r + '/', from.length > 1 ? `${from.join(' + ')}  (merged directory)` : from[0]]);
          walk(r);
        } else {
          const hidden = w.layers.slice(1).map(layerRel);
          rows.push([r, nameOf(w.layer.root) + (hidden.length ? dim(`  (hides ${hidden.join(', ')})`) : '')]);
        }
      }
    })('');
    const width = Math.max(...rows.map(([n]) => n.length)) + 3;
    for (const [n, from] of rows) out(`  ${pad(n, width)}${from}`);
    return rows.map(([n]) => n);
  }

  cmd('ls -R merged', 'ov.fs.readdirSync + ov.which for every entry');
  const first = listMerged();
  expect(
    ['a.txt', 'b.txt', 'c.txt', 'd.txt', 'docs/', 'e.txt'].every((n) => first.includes(n)),
    'the merged listing should hold a.txt, b.txt, c.txt, d.txt, docs/ and e.txt',
  );

  // 1. The top layer wins.
  cmd('cat merged/c.txt', "ov.fs.readFileSync('merged/c.txt', 'utf8')");
  const c = ov.fs.readFileSync(m('c.txt'), 'utf8');
  show(c);
  const wc = ov.which(m('c.txt'));
  if (expect(wc && wc.layer.role === 'upper', 'c.txt should be served from the upper layer')) {
    out(green('  → c.txt is served from the upper layer') + dim(` (${layerRel(wc)}); middle/c.txt is still there, underneath`));
  }
  expect(c === fs.readFileSync(path.join(dirs.upper, 'c.txt'), 'utf8'), 'c.txt should read as upper/c.txt');

  // 2. Copy-up on the first write to a lower file.
  const line = 'a line appended through the overlay\n';
  const aBefore = ov.fs.readFileSync(m('a.txt'), 'utf8');
  cmd(`echo '${line.trim()}' >> merged/a.txt`, "ov.fs.appendFileSync('merged/a.txt', ...)");
  ov.fs.appendFileSync(m('a.txt'), line);
  cmd('cat merged/a.txt');
  const a = ov.fs.readFileSync(m('a.txt'), 'utf8');
  show(a);
  const wa = ov.which(m('a.txt'));
  expect(a === aBefore + line, 'a.txt should hold its old content plus the appended line');
  if (expect(wa && wa.layer.role === 'upper', 'a.txt should be served from the upper after the append')) {
    out(green('  → a.txt was copied up') + dim(`: it is now served from ${layerRel(wa)}; lower/a.txt keeps the old text`));
  }

  // 3. Deleting a lower file leaves a whiteout.
  cmd('rm merged/b.txt', "ov.fs.unlinkSync('merged/b.txt')");
  ov.fs.unlinkSync(m('b.txt'));
  const wh = path.join(dirs.upper, '.wh.b.txt');
  expect(!ov.fs.existsSync(m('b.txt')), 'b.txt should be gone from the merged view');
  if (expect(fs.existsSync(wh) && fs.statSync(wh).size === 0, 'upper/.wh.b.txt should exist and be empty')) {
    out(green('  → b.txt is gone from the merged view') + dim('; lower/ is read-only, so the overlay wrote a whiteout: upper/.wh.b.txt'));
  }

  cmd('ls -R merged', 'the merged view again');
  const second = listMerged();
  expect(!second.includes('b.txt'), 'b.txt should not be listed after the delete');
  expect(second.every((n) => !n.split('/').pop().startsWith('.wh.')), 'no .wh. name should ever be listed');

  // 4. What really landed in the upper directory.
  cmd('ls -AR upper', 'plain fs: the upper directory as it is on disk');
  const upperNow = rawTree(dirs.upper);
  const width = Math.max(...upperNow.map((n) => n.length)) + 3;
  for (const rel of upperNow) {
    const base = rel.replace(/\/$/, '').split('/').pop();
    let why;
    if (base === '.wh..wh..opq') why = yellow('opaque marker: this directory hides everything below it');
    else if (base.startsWith('.wh.')) {
      why = yellow(`whiteout (empty file): hides ${base.slice(4)} of the lower layers`);
    } else if (initialUpper.has(rel)) why = 'was in upper/ from the start';
    else if (['middle', 'lower'].some((l) => fs.existsSync(path.join(scratch, l, rel)))) {
      why = 'copied up from a lower layer, then changed';
    } else why = 'created through the overlay';
    out(`  ${pad(rel, width)}${why}`);
  }
  const workdir = ov.workdir || path.join(scratch, '.upper.overlay-work');
  if (fs.existsSync(workdir)) {
    note(`(copy-up goes through the work directory ${path.relative(scratch, workdir)}/ beside upper/, then one rename)`);
  }

  // 5. The lower layers did not change.
  cmd('sha256sum middle/** lower/**', 'plain fs: every lower file, before createOverlay and now');
  const after = hashLowers(scratch);
  const keys = [...new Set([...before.keys(), ...after.keys()])].sort();
  const kw = Math.max(...keys.map((k) => k.length)) + 3;
  out(dim(`  ${pad('', kw)}${pad('before', 14)}now`));
  let unchanged = true;
  for (const k of keys) {
    const b = before.get(k);
    const n = after.get(k);
    const same = b === n;
    if (!same) unchanged = false;
    const short = (h) => (h ? h.slice(0, 12) : '(missing)   ');
    out(`  ${pad(k, kw)}${short(b)}  ${short(n)}  ${same ? green('same') : red('CHANGED')}`);
  }
  out();
  if (unchanged) out(bold('Lower layers unchanged: ') + green('yes'));
  else {
    out(bold('Lower layers unchanged: ') + red('NO'));
    problems.push('the lower layers changed');
  }
}

// realpath: the overlay reports resolved layer roots (macOS's /tmp is a symlink, for one).
const scratch = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'overlay-fs-demo-')));
let status = 0;
try {
  main(scratch);
  if (problems.length) {
    out();
    out(red(`${problems.length} unexpected result(s):`));
    for (const p of problems) out(red(`  - ${p}`));
    status = 1;
  }
} catch (err) {
  process.stderr.write(`\ndemo failed: ${err && err.stack ? err.stack : err}\n`);
  status = 1;
} finally {
  if (KEEP) out(dim(`\n(kept the scratch directory: ${scratch})`));
  else fs.rmSync(scratch, { recursive: true, force: true });
}
process.exitCode = status;
