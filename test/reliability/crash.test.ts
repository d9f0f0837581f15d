/**
 * Crash mid-operation. A child process runs a seeded sequence of operations through an
 * overlay (copy-ups of several-MiB lower files, renames of files and of lower, merged and
 * upper directories, rm -r of merged trees, mkdir over whiteouts, links, unlinks) and is
 * killed with SIGKILL at a random moment. After every kill a fresh overlay on the same layers
 * must show, for every path, the state before the interrupted operation or the state after
 * it (taken from an uninterrupted reference run of the same sequence): never a partial file,
 * never a change to a path the operation was not changing, never a renamed entry in neither
 * place. The fresh overlay removes the dead child's temporaries, and the lower layers are
 * byte-identical (checksums) after every kill.
 */
import * as fs from 'fs';
import * as path from 'path';
import { spawn } from 'child_process';
import { createOverlay } from '../../lib/index';
import { LONG, SEED, scale, common, record, rng, scratch, cleanupAll, WORKERS, show } from './support';

interface Op { op: string; p: string; to?: string; form?: string; [k: string]: unknown }
// eslint-disable-next-line @typescript-eslint/no-require-imports
const crashOps = require('./workers/crash-ops.js') as {
  buildLowers(root: string, bigScale?: number): string[];
  buildUpper(u: string): void;
  opGroups(): Op[][];
  runOp(xfs: typeof fs, m: string, o: Op, form: string): Promise<unknown>;
};

const SEQUENCES = scale(3, 16);
const KILLS_PER_SEQUENCE = scale(10, 32);
jest.setTimeout(scale(100_000, 3_600_000));

let root: string;
let lowers: string[];
let lowerSums: Record<string, string>;
const FORMS = ['sync', 'sync', 'promise', 'callback'];

beforeAll(() => {
  root = scratch('crash');
  lowers = crashOps.buildLowers(root);
  lowerSums = common.checksumDirs(lowers);
});
afterAll(cleanupAll);

const opts = () => ({ mountpoint: path.join(root, 'm'), upper: path.join(root, 'u'), lower: lowers, workdir: path.join(root, 'w') });

function resetUpper(): void {
  crashOps.buildUpper(path.join(root, 'u'));
  fs.rmSync(path.join(root, 'w'), { recursive: true, force: true });
}

function sequence(seed: number): Op[] {
  const r = rng(seed);
  return r.shuffle(crashOps.opGroups()).flat().map((o) => ({ ...o, form: r.pick(FORMS) }));
}

/** Uninterrupted run: the merged tree before the first and after every operation, and timings. */
async function reference(seq: Op[]): Promise<{ snaps: Array<Record<string, string>>; ms: number[] }> {
  resetUpper();
  const o = opts();
  const ov = createOverlay(o);
  const snaps = [common.treeVia(ov.fs, o.mountpoint)];
  const ms: number[] = [];
  for (const op of seq) {
    const t0 = process.hrtime.bigint();
    await crashOps.runOp(ov.fs, o.mountpoint, op, op.form!);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    snaps.push(common.treeVia(ov.fs, o.mountpoint));
  }
  return { snaps, ms };
}

interface KillResult { killed: boolean; finished: boolean; inflight: number | null; done: number; temporaries: number; code: number | null; stderr: string; calls: number[] }

interface KillPlan {
  /** Random kill by the parent: after `delay` ms counted from `R` (byTime) or from `B targetOp`. */
  random?: { byTime: boolean; targetOp: number; delay: number };
  /** Systematic kill by the child itself, just before this mutating fs call. */
  killAt?: { op: number; call: number };
  /** Only count the mutating calls of each operation (no kill). */
  count?: boolean;
}

function runChild(seq: Op[], plan: KillPlan): Promise<KillResult> {
  resetUpper();
  const payload = { options: opts(), ops: seq, killAt: plan.killAt, count: plan.count };
  const child = spawn(process.execPath, [path.join(WORKERS, 'crash-worker.js'), JSON.stringify(payload)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let buf = '';
  let stderr = '';
  const lines: string[] = [];
  let armed = false;
  const kill = () => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); };
  const arm = () => {
    if (armed || !plan.random) return;
    armed = true;
    if (plan.random.delay < 1) setImmediate(kill);
    else setTimeout(kill, plan.random.delay);
  };
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      lines.push(line);
      if (plan.random?.byTime && line === 'R') arm();
      if (plan.random && !plan.random.byTime && line === `B ${plan.random.targetOp}`) arm();
    }
  });
  child.stderr.on('data', (d: Buffer) => { stderr += d; });
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      let lastB = -1;
      let lastE = -1;
      const calls: number[] = [];
      for (const l of lines) {
        const [k, n, c] = l.split(' ');
        if (k === 'B') lastB = Number(n);
        if (k === 'E') lastE = Number(n);
        if (k === 'C') calls[Number(n)] = Number(c);
      }
      resolve({
        killed: signal === 'SIGKILL' && !lines.includes('D'),
        finished: lines.includes('D'),
        inflight: lastB > lastE ? lastB : null,
        done: lastE,
        temporaries: common.temporaries(path.join(root, 'w')).length,
        code,
        stderr,
        calls,
      });
    });
  });
}

interface Tally { kills: number; withTemporary: number; partial: number; leftovers: number; lowerChanges: number; lost: number; failures: string[]; lostFailures: string[] }
const tally = (): Tally => ({ kills: 0, withTemporary: 0, partial: 0, leftovers: 0, lowerChanges: 0, lost: 0, failures: [], lostFailures: [] });

/** Everything that must hold after a kill, checked through a fresh overlay on the same layers. */
function checkAfterKill(t: Tally, res: KillResult, seq: Op[], snaps: Array<Record<string, string>>, where: string): void {
  if (!res.killed) {
    if (!res.finished) t.failures.push(`${where}: the child failed on its own (exit ${res.code}): ${res.stderr.slice(0, 500)}`);
    return; // finished before the kill landed: not counted as a kill
  }
  const o = opts();
  t.kills++;
  if (res.temporaries > 0) t.withTemporary++;
  // Recovery: a fresh overlay on the same layers removes the dead child's temporaries.
  const ov = createOverlay(o);
  const left = common.temporaries(o.workdir);
  if (left.length > 0) {
    t.leftovers++;
    t.failures.push(`${where}: temporaries left in the work directory after the next start: ${left.join(', ')}`);
  }
  const actual = common.treeVia(ov.fs, o.mountpoint);
  const i = res.inflight;
  const before = snaps[i === null ? res.done + 1 : i];
  const after = snaps[i === null ? res.done + 1 : i + 1];
  const opName = i === null ? 'between operations' : `during ${JSON.stringify(seq[i])}`;
  for (const p of common.diffKeys(actual, before)) {
    if (actual[p] === after[p]) continue;
    const isPartial = actual[p]?.startsWith('file:') && (before[p]?.startsWith('file:') || after[p]?.startsWith('file:'));
    if (isPartial) t.partial++;
    t.failures.push(`${where} ${opName}: ${p} is ${actual[p] ?? 'absent'}; before ${before[p] ?? 'absent'}, after ${after[p] ?? 'absent'}${isPartial ? ' (partial file)' : ''}`);
  }
  // A rename in flight must leave the entry at its source or its destination.
  if (i !== null && seq[i].op === 'rename') {
    const { p, to } = seq[i];
    const has = (x: string) => Object.keys(actual).some((k2) => under(k2, x));
    if (!has(p) && !has(to!)) {
      t.lost++;
      t.lostFailures.push(`${where} ${opName}: the renamed entry is in neither place (lost)`);
    }
  }
  const strays = Object.keys(common.realTree(o.upper)).filter((n) => /(^|\/)\d+-\d+-[a-z0-9]+$/.test(n));
  if (strays.length) t.failures.push(`${where}: temporaries in the upper layer: ${strays.join(', ')}`);
  const changed = common.diffKeys(common.checksumDirs(lowers), lowerSums);
  if (changed.length) {
    t.lowerChanges++;
    t.failures.push(`${where}: lower layers changed: ${changed.slice(0, 5).join(', ')}`);
  }
}

function recordTally(t: Tally): void {
  record({ kills: t.kills, killsWithTemporary: t.withTemporary, partialFiles: t.partial, leftoverTemporaries: t.leftovers, lowerChanges: t.lowerChanges, lostEntries: t.lost });
}

function under(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir + '/');
}

test(`SIGKILL at random moments: every path before-or-after, no partial file, no leftover temporary, lowers unchanged (${SEQUENCES}x${KILLS_PER_SEQUENCE} kills, seed ${SEED})`, async () => {
  const t = tally();
  for (let s = 0; s < SEQUENCES; s++) {
    const seqSeed = (SEED + 7919 * s) >>> 0;
    const seq = sequence(seqSeed);
    const { snaps, ms } = await reference(seq);
    const total = ms.reduce((a, b) => a + b, 0);
    const r = rng(seqSeed ^ 0x5eed);
    for (let k = 0; k < KILLS_PER_SEQUENCE; k++) {
      // Half the kills land at a uniformly random time, half at a random point inside a random operation.
      const byTime = r.next() < 0.5;
      const targetOp = r.int(seq.length);
      const delay = byTime ? r.next() * total * 1.1 : r.next() * ms[targetOp] * 1.2;
      const res = await runChild(seq, { random: { byTime, targetOp, delay } });
      checkAfterKill(t, res, seq, snaps, `seed ${seqSeed} kill #${k}`);
    }
  }
  recordTally(t);
  // eslint-disable-next-line no-console
  if (LONG) console.log(`crash (random): ${t.kills} kills survived the checks, ${t.withTemporary} landed while a temporary existed, ${t.lost} renames lost their entry`);
  expect(t.failures).toEqual([]);
  expect(t.kills).toBeGreaterThanOrEqual(Math.floor(SEQUENCES * KILLS_PER_SEQUENCE * 0.5));
});

/**
 * Systematic crash points: the child kills itself just before its n-th mutating fs call
 * inside operation i (long mode: every n of every operation of three sequences; CI: the last
 * three calls and one random call of each rename, rm -r and mkdir of one sequence).
 */
const systematic = tally();
let systematicRan = false;
async function runSystematic(): Promise<Tally> {
  if (systematicRan) return systematic;
  systematicRan = true;
  const sequences = scale(1, 3);
  const ciOps = new Set(['rename', 'rm', 'mkdir']);
  const r = rng(SEED ^ 0xc0ffee);
  for (let s = 0; s < sequences; s++) {
    const seqSeed = (SEED + 104729 * (s + 1)) >>> 0;
    const seq = sequence(seqSeed).map((o) => ({ ...o, form: 'sync' }));
    const { snaps } = await reference(seq);
    const counted = await runChild(seq, { count: true });
    expect(counted.finished).toBe(true);
    for (let i = 0; i < seq.length; i++) {
      if (!LONG && !ciOps.has(seq[i].op)) continue;
      const n = counted.calls[i];
      // CI: the last three calls (where an operation commits) and one at random; long: all.
      const points = LONG ? Array.from({ length: n }, (_, k) => k + 1) : [...new Set([n - 2, n - 1, n, 1 + r.int(n)])].filter((c) => c >= 1);
      for (const call of points) {
        const res = await runChild(seq, { killAt: { op: i, call } });
        checkAfterKill(systematic, res, seq, snaps, `seed ${seqSeed} op ${i} before mutating call ${call}/${n}`);
      }
    }
  }
  recordTally(systematic);
  return systematic;
}

test('SIGKILL before every mutating fs call of an operation: every path before-or-after, no partial file, no leftover temporary, lowers unchanged', async () => {
  const t = await runSystematic();
  // eslint-disable-next-line no-console
  if (LONG) console.log(`crash (systematic): ${t.kills} crash points checked`);
  expect(t.failures).toEqual([]);
  expect(t.kills).toBeGreaterThan(0);
});

// FINDING R1, fixed: a directory rename wrote the whiteout
// for the source before the materialized copy was renamed into place; a crash between the two
// lost the directory from the merged view. Renames now put the destination in place first and
// hide the source last (a whiteout is written first only where the upper entry still hides it).
test('fixed finding R1: a rename killed at any point leaves the entry at its source or its destination (never lost)', async () => {
  const t = await runSystematic();
  show('R1', t.lostFailures);
  expect(t.lostFailures).toEqual([]);
});
