/**
 * EACCES / EPERM / EROFS on the upper layer. Root ignores permission bits, so these cases run
 * in a child process that drops to an unprivileged user (nobody) on layers it can read. Every
 * mutation must fail with the clear error (the one plain fs gives for the same refusal), with
 * nothing half-done: the merged view and the upper layer exactly as before, no temporary left
 * in the work directory, the lower layers unchanged.
 */
import * as fs from 'fs';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { IS_ROOT, NOBODY, common, record, scratch, cleanupAll, runWorker, report, chownTree, bindReadOnly, unmount, skip, show, scale } from './support';

jest.setTimeout(scale(60_000, 600_000));

interface Result { scenario: string; op: string; code: string; message: string; mergedChanged: string[]; upperChanged: string[]; temporaries: string[] }

let root: string;
beforeAll(() => { root = scratch('perm'); });
afterAll(() => {
  // Immutable files must lose the flag before the scratch directory can be removed.
  try { execFileSync('chattr', ['-R', '-i', root], { stdio: 'pipe' }); } catch { /* none set */ }
  cleanupAll();
});

const ALL_MUTATIONS = ['appendLower', 'appendLowerAsync', 'chmodLower', 'chmodLowerCallback', 'truncateLower', 'openLowerForWrite', 'linkLower', 'writeNew',
  'writeNewAsync', 'copyFileNew', 'unlinkLower', 'unlinkLowerAsync', 'mkdirNew', 'mkdirOverWhiteout', 'mkdirOverWhiteoutAsync', 'symlinkNew', 'renameLower',
  'renameLowerDir', 'rmLowerTree', 'rmLowerTreeAsync'];

interface Built { dir: string; l1: string; u: string; w: string; options: { mountpoint: string; upper: string; lower: string[]; workdir?: string } }

/** A small stack owned by root (lower) and by nobody (upper, work directory). */
function build(name: string, opts: { upperIn?: string; defaultWorkdir?: boolean } = {}): Built {
  const dir = path.join(root, name);
  const l1 = path.join(dir, 'l1');
  const put = (rel: string, data: string) => {
    fs.mkdirSync(path.dirname(path.join(l1, rel)), { recursive: true });
    fs.writeFileSync(path.join(l1, rel), data);
  };
  for (const f of ['f.txt', 'g.txt', 'imm.txt', 'dir/a', 'dir/b', 'dir/sub/c', 'gone/old', 'sub/f.txt', 'sub/g.txt', 'idir/y']) put(f, `lower ${f}\n`);
  const base = opts.upperIn ? path.join(dir, opts.upperIn) : dir;
  const u = path.join(base, 'u');
  const w = opts.defaultWorkdir ? path.join(base, '.u.overlay-work') : path.join(base, 'w');
  fs.mkdirSync(u, { recursive: true });
  fs.mkdirSync(w, { recursive: true });
  fs.writeFileSync(path.join(u, '.wh.gone'), '');
  fs.writeFileSync(path.join(u, 'up.txt'), 'upper\n');
  chownTree(base === dir ? u : base, NOBODY);
  chownTree(w, NOBODY);
  const options = { mountpoint: path.join(dir, 'm'), upper: u, lower: [l1], ...(opts.defaultWorkdir ? {} : { workdir: w }) };
  return { dir, l1, u, w, options };
}

interface Scenario { name: string; built: Built; ops: string[]; expect: string; finding?: string }

function check(results: Result[], scenarios: Scenario[]): { failures: string[]; ok: number } {
  const failures: string[] = [];
  let ok = 0;
  for (const r of results) {
    const sc = scenarios.find((s) => s.name === r.scenario)!;
    const where = `${r.scenario}: ${r.op}`;
    let good = true;
    const fail = (msg: string) => { failures.push(`${where}: ${msg}`); good = false; };
    if (r.code !== sc.expect) fail(`gave ${r.code} (${r.message}), expected ${sc.expect}`);
    if (r.mergedChanged?.length) fail(`merged view changed: ${r.mergedChanged.join(', ')}`);
    if (r.upperChanged?.length) fail(`upper layer changed: ${r.upperChanged.join('; ')}`);
    if (r.temporaries?.length) fail(`temporaries left: ${r.temporaries.join(', ')}`);
    if (good) ok++;
  }
  return { failures, ok };
}

async function runAsNobody(scenarios: Scenario[]): Promise<Result[]> {
  const res = await runWorker('nobody-worker.js', { uid: NOBODY, scenarios: scenarios.map((s) => ({ name: s.name, options: s.built.options, ops: s.ops })) });
  const rep = report<{ uid: number; results: Result[] }>(res);
  expect(rep.uid).toBe(NOBODY);
  return rep.results;
}

function lowersOf(scenarios: Scenario[]): string[] {
  return scenarios.map((s) => s.built.l1);
}

async function runScenarios(scenarios: Scenario[], label: string): Promise<string[]> {
  const lowers = lowersOf(scenarios);
  const sums = common.checksumDirs(lowers);
  const results = await runAsNobody(scenarios);
  expect(results.length).toBe(scenarios.reduce((n, s) => n + s.ops.length, 0));
  const { failures, ok } = check(results, scenarios);
  const lowerChanged = common.diffKeys(common.checksumDirs(lowers), sums);
  if (lowerChanged.length) failures.push(`lower layers changed: ${lowerChanged.slice(0, 5).join(', ')}`);
  record({ eaccesCases: ok, lowerChanges: lowerChanged.length ? 1 : 0 });
  show(label, failures);
  return failures;
}

const describeRoot = IS_ROOT ? describe : describe.skip;
if (!IS_ROOT) skip('EACCES/EPERM/EROFS cases: not root (needed to build layers for another user and to mount)');

describeRoot('as an unprivileged user', () => {
  test('upper directory 0500, upper subdirectory 0500, work directory 0500: EACCES, nothing half-done', async () => {
    const upper0500 = build('upper-0500');
    fs.chmodSync(upper0500.u, 0o500);
    const sub = build('sub-0500');
    fs.mkdirSync(path.join(sub.u, 'sub'));
    fs.chownSync(path.join(sub.u, 'sub'), NOBODY, NOBODY);
    fs.chmodSync(path.join(sub.u, 'sub'), 0o500);
    const work = build('work-0500');
    fs.chmodSync(work.w, 0o500);
    const scenarios: Scenario[] = [
      { name: 'upper 0500', built: upper0500, ops: ALL_MUTATIONS.filter((o) => !/^mkdirOverWhiteout/.test(o) && o !== 'renameLowerDir'), expect: 'EACCES' },
      { name: 'upper subdirectory 0500', built: sub, ops: ['appendSub', 'unlinkSub', 'writeNewSub'], expect: 'EACCES' },
      { name: 'work directory 0500', built: work, ops: ['appendLower', 'appendLowerAsync', 'chmodLower', 'truncateLower', 'openLowerForWrite', 'linkLower', 'renameLower'], expect: 'EACCES' },
    ];
    expect(await runScenarios(scenarios, 'EACCES')).toEqual([]);
  });

  test('upper on a read-only bind mount (and upper + work directory on one): EROFS, nothing half-done', async () => {
    const both = build('ro-both', { upperIn: 'rw' });
    const refused = bindReadOnly(path.join(both.dir, 'rw'));
    if (refused) return skip(`EROFS cases: ${refused}`);
    try {
      const scenarios: Scenario[] = [{ name: 'upper and work directory on a read-only bind mount', built: both, ops: ALL_MUTATIONS, expect: 'EROFS' }];
      expect(await runScenarios(scenarios, 'EROFS')).toEqual([]);
    } finally {
      unmount(path.join(both.dir, 'rw'));
    }
  });

  // FINDING R6, fixed: with only the upper bind-mounted read-only (the default work directory
  // beside it is on another mount of the same file system), copy-up failed with EXDEV (rename
  // from the work directory across mounts) instead of EROFS; createOverlay cannot tell the
  // mounts apart (same st_dev). Renames between the work directory and the upper now report
  // EXDEV as EROFS when the upper is read-only.
  test('fixed finding R6: upper alone on a read-only bind mount (default work directory beside it): EROFS, nothing half-done', async () => {
    const only = build('ro-upper', { defaultWorkdir: true });
    const refused = bindReadOnly(only.u);
    if (refused) return skip(`EROFS cases: ${refused}`);
    try {
      const scenarios: Scenario[] = [{ name: 'upper alone on a read-only bind mount', built: only, ops: ALL_MUTATIONS, expect: 'EROFS' }];
      expect(await runScenarios(scenarios, 'R6')).toEqual([]);
    } finally {
      unmount(only.u);
    }
  });

  // FINDING R3 (also under ENOSPC), fixed: mkdir over a whiteout and a directory rename left
  // their temporary in the work directory when the final step was refused; they now roll back.
  test('fixed finding R3: upper 0500: mkdir over a whiteout and a directory rename leave no temporary', async () => {
    const upper0500 = build('upper-0500-r3');
    fs.chmodSync(upper0500.u, 0o500);
    const scenarios: Scenario[] = [{ name: 'upper 0500 (R3)', built: upper0500, ops: ['mkdirOverWhiteout', 'mkdirOverWhiteoutAsync', 'renameLowerDir'], expect: 'EACCES' }];
    expect(await runScenarios(scenarios, 'R3 (EACCES)')).toEqual([]);
  });

  test('immutable upper files (chattr +i): EPERM, nothing half-done', async () => {
    const imm = build('immutable');
    fs.writeFileSync(path.join(imm.u, 'imm.txt'), 'upper imm\n');
    fs.writeFileSync(path.join(imm.u, 'solo.txt'), 'solo\n');
    fs.mkdirSync(path.join(imm.u, 'idir'));
    fs.writeFileSync(path.join(imm.u, 'idir/x'), 'x\n');
    try {
      for (const f of ['imm.txt', 'solo.txt', 'idir/x']) execFileSync('chattr', ['+i', path.join(imm.u, f)], { stdio: 'pipe' });
    } catch (e) {
      return skip(`EPERM (immutable) cases: chattr +i refused: ${(e as Error).message.split('\n')[0]}`);
    }
    const scenarios: Scenario[] = [{ name: 'immutable upper files', built: imm, ops: ['unlinkImmutable', 'writeImmutable', 'appendImmutable', 'renameImmutable'], expect: 'EPERM' }];
    expect(await runScenarios(scenarios, 'EPERM')).toEqual([]);
  });

  // FINDING R8 (fixed): the overlay's own I/O goes through graceful-fs, whose chmod/chown/lchown
  // polyfills swallow EPERM and EINVAL for non-root users: a refused chmod through ov.fs
  // reported success and changed nothing (Node's fs.chmodSync throws EPERM). The overlay now
  // uses Node's own chmod/chown/lchown (lib/real-fs.ts).
  test('fixed finding R8: chmod refused with EPERM (immutable upper file) reports EPERM, as Node does', async () => {
    const imm = build('immutable-r8');
    fs.writeFileSync(path.join(imm.u, 'solo.txt'), 'solo\n');
    try {
      execFileSync('chattr', ['+i', path.join(imm.u, 'solo.txt')], { stdio: 'pipe' });
    } catch (e) {
      return skip(`EPERM (immutable) cases: chattr +i refused: ${(e as Error).message.split('\n')[0]}`);
    }
    const scenarios: Scenario[] = [{ name: 'chmod of an immutable upper file (R8)', built: imm, ops: ['chmodImmutable'], expect: 'EPERM' }];
    expect(await runScenarios(scenarios, 'R8')).toEqual([]);
  });

  // FINDING R5, fixed: side effects were written before the step that can be refused: a refused
  // unlink of an upper file that shadows a lower one left a stray whiteout; a refused rename of a
  // lower file left its copy-up and a whiteout for the source. Each step is now taken back when
  // a later one fails (lib/undo.ts).
  test('fixed finding R5: immutable upper file shadowing a lower one: a refused unlink leaves no whiteout behind', async () => {
    const imm = build('immutable-r5');
    fs.writeFileSync(path.join(imm.u, 'imm.txt'), 'upper imm\n');
    try {
      execFileSync('chattr', ['+i', path.join(imm.u, 'imm.txt')], { stdio: 'pipe' });
    } catch (e) {
      return skip(`EPERM (immutable) cases: chattr +i refused: ${(e as Error).message.split('\n')[0]}`);
    }
    const sub = build('sub-0500-r5');
    fs.mkdirSync(path.join(sub.u, 'sub'));
    fs.chownSync(path.join(sub.u, 'sub'), NOBODY, NOBODY);
    fs.chmodSync(path.join(sub.u, 'sub'), 0o500);
    const scenarios: Scenario[] = [
      { name: 'immutable upper file over a lower one (R5)', built: imm, ops: ['unlinkImmutableOverLower'], expect: 'EPERM' },
      { name: 'rename of a lower file into an upper subdirectory 0500 (R5)', built: sub, ops: ['renameIntoSub'], expect: 'EACCES' },
    ];
    expect(await runScenarios(scenarios, 'R5')).toEqual([]);
  });

  // FINDING R7 (with R8), fixed: chown that the user may not make copied the file up first, then
  // the refusal (EPERM) was swallowed (R8). chown and lchown now apply chown(2)'s permission rule
  // before copying up, as the kernel does: EPERM, and nothing copied up.
  test('fixed finding R7: chown refused to an unprivileged user (EPERM) copies nothing up', async () => {
    const plain = build('chown');
    const scenarios: Scenario[] = [{ name: 'chown as nobody (R7)', built: plain, ops: ['chownLower'], expect: 'EPERM' }];
    expect(await runScenarios(scenarios, 'R7')).toEqual([]);
  });
});
