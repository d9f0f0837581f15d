/**
 * Shared machinery of the reliability suite (test/reliability/*.test.ts).
 *
 * Mode: the CI slice by default (runs inside `npm test`, fixed seed, a few dozen of each
 * case); `OVFS_REL_LONG=1` for the release run (`npm run test:reliability -- --long`).
 * Seed: `OVFS_REL_SEED` (default below), so a failing run can be replayed exactly.
 * Figures: each test adds its counts to the JSON-lines file named by `OVFS_REL_STATS`, which
 * `scripts/reliability.js` sums into the printed summary.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync, spawn } from 'child_process';

export const LONG = process.env.OVFS_REL_LONG === '1';
export const SEED = Number(process.env.OVFS_REL_SEED ?? 20251128) >>> 0;
export const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;
/** The unprivileged user the permission cases run as (nobody). */
export const NOBODY = 65534;

/** Pick the CI or the long figure. */
export function scale<T>(ci: T, long: T): T {
  return LONG ? long : ci;
}

export interface Common {
  DIST: string;
  sha1(b: Buffer): string;
  content(seed: number, size: number): Buffer;
  treeVia(xfs: typeof fs, dir: string): Record<string, string>;
  treeViaAsync(xfs: typeof fs, dir: string): Promise<Record<string, string>>;
  realTree(dir: string): Record<string, string>;
  checksumDirs(dirs: string[]): Record<string, string>;
  diffKeys(a: Record<string, string>, b: Record<string, string>): string[];
  temporaries(workdir: string): string[];
  errShape(e: unknown): { name?: string; code?: string; syscall?: string; thrown?: string };
  sortKeys<T extends Record<string, unknown>>(o: T): T;
  failingTitles(source: string): RegExp[];
  isMarkedFailing(source: string, name: string): boolean;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const common = require('./workers/common.js') as Common;
export const WORKERS = path.join(__dirname, 'workers');

// ---- figures ---------------------------------------------------------------------------

export interface Figures {
  kills?: number;
  killsWithTemporary?: number;
  enospcCases?: number;
  eaccesCases?: number;
  emfileCases?: number;
  concurrentWriters?: number;
  fuzzedInputs?: number;
  behindBackChanges?: number;
  symlinkCases?: number;
  malformedCases?: number;
  optionCases?: number;
  lowerChanges?: number;
  partialFiles?: number;
  leftoverTemporaries?: number;
  lostEntries?: number;
  lostAppendsAcrossProcesses?: number;
  skipped?: string[];
}

const KEPT_APART = new Set(['lowerChanges', 'partialFiles', 'leftoverTemporaries', 'lostEntries']);

/** Add to the run's figures (no-op unless OVFS_REL_STATS names a file). */
export function record(figures: Figures): void {
  const file = process.env.OVFS_REL_STATS;
  if (!file) return;
  const test = expect.getState().currentTestName ?? path.basename(expect.getState().testPath ?? '');
  // What a known-finding test sees is evidence for that finding, not a new failure: kept apart,
  // while the test is still marked failing (once fixed, its figures count like any other's).
  const out: Record<string, unknown> = {};
  const testPath = expect.getState().testPath;
  const known = /known finding R\d+/.test(test) && (!testPath || common.isMarkedFailing(fs.readFileSync(testPath, 'utf8'), test));
  for (const [k, v] of Object.entries(figures)) out[known && KEPT_APART.has(k) ? `known_${k}` : k] = v;
  fs.appendFileSync(file, JSON.stringify({ test, ...out }) + '\n');
}

/** Print why a case did not run, and count it in the summary. */
export function skip(reason: string): void {
  // eslint-disable-next-line no-console
  console.warn(`reliability: skipped: ${reason}`);
  record({ skipped: [reason] });
}

// ---- randomness ------------------------------------------------------------------------

/** mulberry32: a small seeded generator, one per case so cases replay independently. */
export function rng(seed: number): { next(): number; int(n: number): number; pick<T>(a: readonly T[]): T; shuffle<T>(a: T[]): T[] } {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return {
    next,
    int,
    pick: (a) => a[int(a.length)],
    shuffle: (a) => {
      for (let i = a.length - 1; i > 0; i--) {
        const j = int(i + 1);
        [a[i], a[j]] = [a[j], a[i]];
      }
      return a;
    },
  };
}

// ---- scratch directories and mounts ------------------------------------------------------

const scratches = new Set<string>();
const mounts: string[] = [];

/** A fresh scratch directory `/tmp/ovfs-rel-<name>-XXXXXX`, readable by every user (0755). */
export function scratch(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ovfs-rel-${name}-`));
  fs.chmodSync(dir, 0o755);
  scratches.add(dir);
  return dir;
}

export function removeScratch(dir: string): void {
  unmountUnder(dir);
  fs.rmSync(dir, { recursive: true, force: true });
  scratches.delete(dir);
}

function mounted(dir: string): boolean {
  try {
    return fs.readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === dir);
  } catch {
    return false;
  }
}

export function unmount(dir: string): void {
  for (let i = 0; i < 5 && mounted(dir); i++) {
    try {
      execFileSync('umount', [dir], { stdio: 'pipe' });
    } catch {
      try { execFileSync('umount', ['-l', dir], { stdio: 'pipe' }); } catch { /* try again */ }
    }
  }
  const k = mounts.indexOf(dir);
  if (k >= 0) mounts.splice(k, 1);
}

function unmountUnder(dir: string): void {
  for (const m of [...mounts].reverse()) if (m === dir || m.startsWith(dir + '/')) unmount(m);
}

/** Run `mount` with these arguments; returns null on success or the reason it was refused. */
export function tryMount(args: string[], dir: string): string | null {
  if (!IS_ROOT) return 'not root: mount needs root';
  try {
    execFileSync('mount', args, { stdio: 'pipe' });
    mounts.push(dir);
    return null;
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    return `mount ${args.join(' ')} refused: ${(e.stderr?.toString() || e.message).trim()}`;
  }
}

/** Mount a tmpfs of `size` (e.g. '2m') and at most `inodes` inodes at `dir`. */
export function mountTmpfs(dir: string, size: string, inodes?: number): string | null {
  fs.mkdirSync(dir, { recursive: true });
  const opts = `size=${size}` + (inodes ? `,nr_inodes=${inodes}` : '') + ',mode=0755';
  return tryMount(['-t', 'tmpfs', '-o', opts, 'tmpfs', dir], dir);
}

/** Make `dir` a read-only bind mount of itself (root cannot write there either). */
export function bindReadOnly(dir: string): string | null {
  const r = tryMount(['--bind', dir, dir], dir);
  if (r) return r;
  try {
    execFileSync('mount', ['-o', 'remount,ro,bind', dir], { stdio: 'pipe' });
    return null;
  } catch (err) {
    unmount(dir);
    return `remount,ro,bind refused: ${(err as Error).message}`;
  }
}

/** Safety net for a test file: every mount and scratch directory it made goes. */
export function cleanupAll(): void {
  for (const m of [...mounts].reverse()) unmount(m);
  for (const d of [...scratches]) removeScratch(d);
}

// ---- child processes -------------------------------------------------------------------

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run a worker script with node (optionally under a shell prefix such as `ulimit -n 64`). */
export function runWorker(script: string, args: unknown, opts: { shellPrefix?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<ChildResult> {
  const file = path.join(WORKERS, script);
  const payload = JSON.stringify(args);
  const cmd = opts.shellPrefix
    ? spawn('bash', ['-c', `${opts.shellPrefix} && exec "$0" "$1" "$2"`, process.execPath, file, payload], { env: opts.env ?? process.env })
    : spawn(process.execPath, [file, payload], { env: opts.env ?? process.env });
  let stdout = '';
  let stderr = '';
  cmd.stdout.on('data', (d) => { stdout += d; });
  cmd.stderr.on('data', (d) => { stderr += d; });
  return new Promise((resolve) => {
    const timer = setTimeout(() => cmd.kill('SIGKILL'), opts.timeoutMs ?? 120000);
    cmd.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** The last JSON line a worker printed (its report). */
export function report<T>(r: ChildResult): T {
  const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (!line) throw new Error(`worker printed no report (exit ${r.code}, signal ${r.signal})\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return JSON.parse(line) as T;
}

/** Give a whole tree to a user (for the unprivileged cases). */
export function chownTree(dir: string, uid: number, gid = uid): void {
  execFileSync('chown', ['-R', `${uid}:${gid}`, dir]);
}

/** With OVFS_REL_SHOW=1, print the failures a test found (handy for the known-finding tests). */
export function show(label: string, failures: string[]): void {
  // eslint-disable-next-line no-console
  if (process.env.OVFS_REL_SHOW === '1' && failures.length) console.log(`${label}:\n  ${failures.join('\n  ')}`);
}

/**
 * How long a change made directly in a layer (or by another process) may take to show through
 * the overlay: the directory index's TTL (README "Performance", 50 ms by default). With the
 * cache off (`cache: false`) it is 0: the very next call sees the change.
 */
export const DOCUMENTED_LATENCY_MS = 50;

/**
 * Run `check`; while it fails, retry until an attempt that started after `latencyMs` has failed
 * too (a slow first attempt never hides a stale answer, nor lets a fresh one be refused).
 */
export async function within(check: () => unknown | Promise<unknown>, latencyMs = DOCUMENTED_LATENCY_MS): Promise<void> {
  const deadline = Date.now() + latencyMs;
  for (;;) {
    const began = Date.now();
    try {
      await check();
      return;
    } catch (e) {
      if (began >= deadline) throw e;
      await new Promise((r) => setTimeout(r, Math.min(5, Math.max(0, deadline - Date.now()) + 1)));
    }
  }
}
