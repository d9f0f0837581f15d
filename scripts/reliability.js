#!/usr/bin/env node
'use strict';
/**
 * npm run test:reliability [-- --long] [-- --seed S] [-- --no-build] [-- --show] [-- <jest args>]
 *
 * Runs the reliability suite (test/reliability/*.test.ts: crashes, ENOSPC, EACCES/EPERM/EROFS,
 * EMFILE, concurrency, changes behind the overlay's back, fuzzed paths, symlinks out of the
 * layers, malformed layers, options and configuration) and prints the figures.
 *
 *   (default)   the CI slice: the same fixed-seed slice `npm test` runs
 *   --long      the release run: hundreds of kills, thousands of fuzzed sequences (~20 min)
 *   --seed S    another seed (every case derives its randomness from it; failures print it)
 *   --show      print what the known-finding tests found
 *   --no-build  skip `npm run build` (the child processes load dist/)
 *
 * Exit status: jest's, or 1 when a lower layer changed or a partial file was seen.
 */
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.join(__dirname, '..');
const args = process.argv.slice(2);
const take = (flag) => {
  const i = args.indexOf(flag);
  if (i < 0) return null;
  args.splice(i, 1);
  return true;
};
const takeValue = (flag) => {
  const i = args.indexOf(flag);
  if (i < 0) return null;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
if (take('--help') || take('-h')) {
  process.stdout.write(fs.readFileSync(__filename, 'utf8').split('\n').slice(2, 17).map((l) => l.replace(/^ \* ?/, '')).join('\n') + '\n');
  process.exit(0);
}
const long = take('--long');
const show = take('--show');
const noBuild = take('--no-build');
const seed = takeValue('--seed');

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ovfs-rel-run-'));
const statsFile = path.join(work, 'figures.jsonl');
const jsonFile = path.join(work, 'jest.json');
const env = { ...process.env, OVFS_REL_STATS: statsFile };
if (long) env.OVFS_REL_LONG = '1';
if (seed !== null) env.OVFS_REL_SEED = String(Number(seed) >>> 0);
if (show) env.OVFS_REL_SHOW = '1';
const effectiveSeed = env.OVFS_REL_SEED ?? '20251128 (default)';

if (!noBuild) {
  const b = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (b.status !== 0) process.exit(b.status ?? 1);
}

// A private copy of dist/ for the child processes (inside node_modules so that its own
// dependencies resolve): a rebuild during the run must not change the code under test.
const distCopy = path.join(root, 'node_modules', '.cache', 'overlay-fs-reliability', `dist-${process.pid}`);
fs.rmSync(distCopy, { recursive: true, force: true });
fs.cpSync(path.join(root, 'dist'), distCopy, { recursive: true });
env.OVFS_REL_DIST = path.join(distCopy, 'cjs', 'index.js');

const started = Date.now();
const jest = spawnSync(process.execPath, [require.resolve('jest/bin/jest', { paths: [root] }), '--runInBand', '--json', `--outputFile=${jsonFile}`, 'test/reliability', ...args], { cwd: root, env, stdio: 'inherit' });
const seconds = Math.round((Date.now() - started) / 1000);

const figures = {};
const skipped = [];
if (fs.existsSync(statsFile)) {
  for (const line of fs.readFileSync(statsFile, 'utf8').split('\n').filter(Boolean)) {
    const rec = JSON.parse(line);
    for (const [k, v] of Object.entries(rec)) {
      if (k === 'test') continue;
      if (k === 'skipped') skipped.push(...v);
      else figures[k] = (figures[k] ?? 0) + v;
    }
  }
}
let results = null;
try { results = JSON.parse(fs.readFileSync(jsonFile, 'utf8')); } catch { /* jest did not write it */ }
// A finding is open while its test is still marked `test.failing` in the source (and passes,
// i.e. still finds the fault); a fixed one is a plain test and no longer counted.
const { isMarkedFailing } = require(path.join(root, 'test', 'reliability', 'workers', 'common.js'));
const knownOpen = [];
if (results) {
  for (const file of results.testResults) {
    let source = '';
    try { source = fs.readFileSync(file.name, 'utf8'); } catch { /* counted as not marked */ }
    for (const t of file.assertionResults) {
      const m = /^known finding (R\d+)/.exec(t.title);
      if (m && t.status === 'passed' && isMarkedFailing(source, t.title)) knownOpen.push(m[1]);
    }
  }
}
fs.rmSync(work, { recursive: true, force: true });
fs.rmSync(distCopy, { recursive: true, force: true });

const f = (k) => figures[k] ?? 0;
const rows = [
  ['kills survived (SIGKILL mid-operation)', `${f('kills')}  (${f('killsWithTemporary')} while a copy-up temporary existed; ${f('lostEntries')} renames lost their entry)`],
  ['ENOSPC cases (tmpfs upper)', f('enospcCases')],
  ['EACCES/EPERM/EROFS cases (as nobody)', f('eaccesCases')],
  ['EMFILE cases (ulimit -n 64)', f('emfileCases')],
  ['concurrent writers', `${f('concurrentWriters')}  (${f('lostAppendsAcrossProcesses')} appends lost to the documented cross-process copy-up race)`],
  ['fuzzed inputs tried', f('fuzzedInputs')],
  ['changes behind the overlay\'s back', f('behindBackChanges')],
  ['symlink / malformed-layer / option cases', `${f('symlinkCases')} / ${f('malformedCases')} / ${f('optionCases')}`],
  ['lower-layer changes (must be 0)', f('lowerChanges')],
  ['partial files (must be 0)', `${f('partialFiles')}${f('known_partialFiles') ? `  (and ${f('known_partialFiles')} seen by known-finding tests)` : ''}`],
  ['leftover temporaries', `${f('leftoverTemporaries')}${f('known_leftoverTemporaries') ? `  (and ${f('known_leftoverTemporaries')} seen by known-finding tests)` : ''}`],
];
const out = [];
out.push('');
out.push(`overlay-fs reliability: ${long ? 'long (release) run' : 'CI slice'}, seed ${effectiveSeed}, node ${process.version}, ${seconds} s`);
if (results) out.push(`jest: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${results.numPendingTests} skipped, in ${results.numTotalTestSuites} files`);
for (const [k, v] of rows) out.push(`  ${k.padEnd(44)} ${v}`);
out.push(`  known engine findings still open: ${knownOpen.length ? [...new Set(knownOpen)].sort((a, b) => a.slice(1) - b.slice(1)).join(', ') : 'none'}  (tests marked test.failing in test/reliability/)`);
for (const s of new Set(skipped)) out.push(`  skipped: ${s}`);
const broken = f('lowerChanges') > 0 || f('partialFiles') > 0;
const status = jest.status !== 0 ? jest.status ?? 1 : broken ? 1 : 0;
out.push(status === 0 ? 'RESULT: PASS' : `RESULT: FAIL${broken ? ' (a lower layer changed or a partial file was seen)' : ''}`);
process.stdout.write(out.join('\n') + '\n');
process.exit(status);
