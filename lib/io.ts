/**
 * Each operation is written once, as a generator that yields primitive I/O requests.
 * `runSync` answers them with the real `*Sync` functions, `runAsync` with the real callback
 * functions (graceful-fs protects those from EMFILE). The callback and promise forms of the
 * public API share `runAsync`.
 */
import type * as fs from 'fs';
import { real, realPromises } from './real-fs';
import { execFile, execFileSync } from 'child_process';
import { guardWrite } from './layers/guard';

export interface IoRequest { op: string; args: unknown[] }
export type Io<T> = Generator<IoRequest, T, unknown>;

/** How the async runner answers `open`: with a number (fs.open) or a FileHandle (fs.promises.open). */
export interface RunMode { handles: boolean }

function* request<T>(op: string, args: unknown[]): Io<T> {
  return (yield { op, args }) as T;
}

/**
 * Mutating requests name the real path(s) they change; each is checked against the lower
 * layers, and each change is reported to the observer (the router's directory index).
 */
const MUTATING: Record<string, number[]> = {
  mkdir: [0], rmdir: [0], rm: [0], unlink: [0], rename: [0, 1], copyFile: [1], writeFile: [0],
  appendFile: [0], chmod: [0], chown: [0], lchown: [0], utimes: [0], lutimes: [0], symlink: [1],
  link: [1], truncate: [0],
};

/** Reads that fail with ENOENT/ENOTDIR on args[0] tell the observer that the path is gone. */
const READS: Record<string, true> = { lstat: true, stat: true, readFile: true, readlink: true, access: true, readdir: true, open: true };

/** Who hears of the real changes and misses requests cause (lib/router/index-cache.ts). */
export interface IoObserver {
  /** A mutating request (MUTATING, open, mkfifo) finished: `err` is null, or it failed. */
  mutated(op: string, args: unknown[], err: unknown): void;
  /** A read found the real path missing. */
  missing(p: string): void;
}

let observer: IoObserver | null = null;

export function observeIo(o: IoObserver | null): void {
  observer = o;
}

function note(op: string, args: unknown[], err: unknown): void {
  if (observer === null) return;
  if (MUTATING[op] !== undefined || op === 'mkfifo' || op === 'open') observer.mutated(op, args, err);
  if (err !== null && READS[op] === true && typeof args[0] === 'string') {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') observer.missing(args[0]);
  }
}

export function runSync<T>(gen: Io<T>): T {
  let step = gen.next();
  while (!step.done) {
    const { op, args } = step.value;
    let result: unknown;
    try {
      result = callSync(op, args);
    } catch (err) {
      step = gen.throw(err);
      continue;
    }
    step = gen.next(result);
  }
  return step.value;
}

export async function runAsync<T>(gen: Io<T>, mode: RunMode = { handles: false }): Promise<T> {
  let step = gen.next();
  while (!step.done) {
    const { op, args } = step.value;
    let result: unknown;
    try {
      result = await callAsync(op, args, mode);
    } catch (err) {
      step = gen.throw(err);
      continue;
    }
    step = gen.next(result);
  }
  return step.value;
}

function checkWrite(op: string, args: unknown[]): void {
  const which = MUTATING[op];
  if (op === 'writeFile' || op === 'appendFile') guardData(args[0], op);
  else if (which) for (const i of which) guardWrite(args[i] as string, op);
  else if (op === 'open') guardOpen(args);
}

function guardOpen(args: unknown[]): void {
  const flags = args[1] as number;
  const { O_CREAT, O_TRUNC } = require('fs').constants;
  if ((flags & (O_CREAT | O_TRUNC | 3)) !== 0) guardData(args[0], 'open');
}

/**
 * Writing data to a path: refused in a lower layer, except to a FIFO or device there, which
 * changes no file (the kernel allows it; O_CREAT opens the existing node, O_TRUNC is ignored).
 */
function guardData(p: unknown, syscall: string): void {
  try {
    guardWrite(p as string, syscall);
  } catch (err) {
    if (!isSpecialFile(p as string)) throw err;
  }
}

function isSpecialFile(p: string): boolean {
  const st = real.lstatSync(p, { throwIfNoEntry: false });
  return st !== undefined && !st.isFile() && !st.isDirectory() && !st.isSymbolicLink();
}

/** The name of each request's *Sync function, made once (a fresh `op + 'Sync'` per call is costly). */
const SYNC_NAME: Record<string, string> = Object.create(null);

function callSync(op: string, args: unknown[]): unknown {
  if (op === '$form') return 'sync';
  if (op === 'mkfifo') {
    guardWrite(args[0] as string, 'mknod');
    try {
      execFileSync('mkfifo', [args[0] as string], { stdio: 'ignore' });
    } catch (err) {
      note(op, args, err);
      throw err;
    }
    note(op, args, null);
    return undefined;
  }
  // A quiet probe: no Error object is built for a missing entry (that costs ~20x the lstat).
  if (op === '$probe') {
    const st = real.lstatSync(args[0] as string, { throwIfNoEntry: false });
    if (st !== undefined) return st;
    if (observer !== null) observer.missing(args[0] as string);
    return null;
  }
  if (op === '$probeNow') return probeNow(args[0] as string);
  if (op === '$once') return runSync((args[1] as () => Io<unknown>)());
  if (op === '$await') return args[0];
  checkWrite(op, args);
  let result: unknown;
  try {
    result = (real as any)[SYNC_NAME[op] ??= op + 'Sync'](...args);
  } catch (err) {
    note(op, args, err);
    throw err;
  }
  if (MUTATING[op] !== undefined || op === 'open') note(op, args, null);
  return result;
}

const inFlight = new Map<string, Promise<unknown>>();

function callAsync(op: string, args: unknown[], mode: RunMode): Promise<unknown> {
  if (op === '$once') {
    // Single flight: concurrent async callers with the same key share one run.
    const key = args[0] as string;
    let p = inFlight.get(key);
    if (!p) {
      p = runAsync((args[1] as () => Io<unknown>)(), mode).finally(() => inFlight.delete(key));
      inFlight.set(key, p);
    }
    return p;
  }
  if (op === '$await') return Promise.resolve(args[0]);
  if (op === '$form') return Promise.resolve('async');
  if (op === '$probeNow') {
    try {
      return Promise.resolve(probeNow(args[0] as string));
    } catch (err) {
      return Promise.reject(err);
    }
  }
  if (op === 'mkfifo') {
    guardWrite(args[0] as string, 'mknod');
    return new Promise((resolve, reject) => execFile('mkfifo', [args[0] as string], (err) => {
      note(op, args, err ?? null);
      if (err) reject(err);
      else resolve(undefined);
    }));
  }
  if (op === '$probe') {
    return new Promise((resolve, reject) => real.lstat(args[0] as string, (err, st) => {
      if (!err) resolve(st);
      else if (err.code === 'ENOENT' || err.code === 'ENOTDIR') {
        if (observer !== null) observer.missing(args[0] as string);
        resolve(null);
      } else reject(err);
    }));
  }
  checkWrite(op, args);
  if (op === 'open' && mode.handles) {
    return realPromises.open(...(args as [string, number, number])).then(
      (fh: unknown) => { note(op, args, null); return fh; },
      (err: unknown) => { note(op, args, err); throw err; },
    );
  }
  const noted = MUTATING[op] !== undefined || op === 'open';
  return new Promise((resolve, reject) => {
    (real as any)[op](...args, (err: unknown, value: unknown) => {
      if (err) {
        note(op, args, err);
        reject(err);
      } else {
        if (noted) note(op, args, null);
        resolve(value);
      }
    });
  });
}

// Typed requests. Each is one real system-level call.
export const io = {
  lstat: (p: string, o?: fs.StatOptions) => request<fs.Stats>('lstat', o ? [p, o] : [p]),
  stat: (p: string, o?: fs.StatOptions) => request<fs.Stats>('stat', o ? [p, o] : [p]),
  access: (p: string, mode?: number) => request<void>('access', [p, mode]),
  readdirTyped: (p: string) => request<fs.Dirent[]>('readdir', [p, { withFileTypes: true }]),
  readlink: (p: string, o?: unknown) => request<string | Buffer>('readlink', o === undefined ? [p] : [p, o]),
  realpath: (p: string, o?: unknown) => request<string | Buffer>('realpath', o === undefined ? [p] : [p, o]),
  readFile: (p: string | number, o?: unknown) => request<string | Buffer>('readFile', [p, o]),
  writeFile: (p: string, data: unknown, o?: unknown) => request<void>('writeFile', [p, data, o]),
  mkdir: (p: string, mode?: number | fs.MakeDirectoryOptions) => request<string | undefined>('mkdir', [p, mode]),
  rmdir: (p: string) => request<void>('rmdir', [p]),
  rm: (p: string, o: fs.RmOptions) => request<void>('rm', [p, o]),
  unlink: (p: string) => request<void>('unlink', [p]),
  rename: (a: string, b: string) => request<void>('rename', [a, b]),
  copyFile: (a: string, b: string, mode = 0) => request<void>('copyFile', [a, b, mode]),
  symlink: (target: string | Buffer, p: string, type?: string | null) => request<void>('symlink', [target, p, type]),
  link: (a: string, b: string) => request<void>('link', [a, b]),
  chmod: (p: string, mode: fs.Mode) => request<void>('chmod', [p, mode]),
  chown: (p: string, uid: number, gid: number) => request<void>('chown', [p, uid, gid]),
  lchown: (p: string, uid: number, gid: number) => request<void>('lchown', [p, uid, gid]),
  utimes: (p: string, a: fs.TimeLike, m: fs.TimeLike) => request<void>('utimes', [p, a, m]),
  lutimes: (p: string, a: fs.TimeLike, m: fs.TimeLike) => request<void>('lutimes', [p, a, m]),
  truncate: (p: string, len?: number) => request<void>('truncate', [p, len]),
  open: (p: string, flags: number, mode?: fs.Mode) => request<number | fs.promises.FileHandle>('open', [p, flags, mode ?? 0o666]),
  close: (fd: number) => request<void>('close', [fd]),
  fstat: (fd: number) => request<fs.Stats>('fstat', [fd]),
  statfs: (p: string, o?: unknown) => request<fs.StatsFs>('statfs', o === undefined ? [p] : [p, o]),
  /** Make a FIFO (Node has no mkfifo; the coreutils command does it). */
  mkfifo: (p: string) => request<void>('mkfifo', [p]),
  /** Run `make()` once per key among concurrent async callers (copy-up of one path). */
  once: <T>(key: string, make: () => Io<T>) => request<T>('$once', [key, make]),
  /** Which runner runs this operation; for the few places where Node's sync and async forms differ. */
  form: () => request<'sync' | 'async'>('$form', []),
  /** Wait for a value that may be a promise (a user filter in cp); sync forms get it as is. */
  settle: <T>(value: T | Promise<T>) => request<T>('$await', [value]),
};

/** lstat that answers null for a missing entry (ENOENT/ENOTDIR) instead of throwing. */
export function lstatOrNull(p: string): Io<fs.Stats | null> {
  return request<fs.Stats | null>('$probe', [p]);
}

/**
 * lstatOrNull answered synchronously by both runners. For checking a directory the operation
 * has just used (its inode is in the kernel's cache, about a microsecond): a thread-pool round
 * trip per directory would cost 20 to 50 times more in the callback and promise forms.
 */
export function lstatNowOrNull(p: string): Io<fs.Stats | null> {
  return request<fs.Stats | null>('$probeNow', [p]);
}

function probeNow(p: string): fs.Stats | null {
  let st: fs.Stats | undefined;
  try {
    st = real.lstatSync(p, { throwIfNoEntry: false });
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOTDIR') throw err;
  }
  if (st !== undefined) return st;
  if (observer !== null) observer.missing(p);
  return null;
}

/** Remove a file if it is there. */
export function* unlinkIfPresent(p: string): Io<boolean> {
  try {
    yield* io.unlink(p);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return false;
    throw err;
  }
}
