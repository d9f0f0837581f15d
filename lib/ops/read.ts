/** Operations that only read: stat, access, readFile, readlink, realpath, readdir, opendir, statfs. */
import * as fs from 'fs';
import * as path from 'path';
import { io, type Io } from '../io';
import { fsError, pinPath } from '../errors';
import { locate, targetFor, type Target } from './target';
import { listMerged } from './listing';
import { lookupChild, remembered, resolve, statsOf, type Found, type Merged } from '../router/resolve';
import { MergedDir } from '../node/dir';
import { toFlags, writesData } from './flags';
import { prepareOpen } from './open';
import { original, real } from '../real-fs';
import type { Stack } from '../layers/stack';

function absolute(s: string): string {
  return path.isAbsolute(s) ? s : process.cwd() + '/' + s;
}

type StatOpts = fs.StatOptions & { throwIfNoEntry?: boolean };

function noEntryCode(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** What `throwIfNoEntry: false` quiets, as in Node: the sync forms only, ENOENT only. */
function isENOENT(err: unknown): boolean {
  return (err as { code?: string }).code === 'ENOENT';
}

/**
 * stat/lstat as the caller asked. `internal`: the overlay's own probe (exists, watchFile), any
 * form: undefined for a missing entry (ENOENT or ENOTDIR).
 */
function* statOf(t: Target, follow: boolean, options: StatOpts | undefined, syscall: string, internal = false): Io<fs.Stats | fs.BigIntStats | undefined> {
  const quiet = internal || (options?.throwIfNoEntry === false && (yield* io.form()) === 'sync');
  const noEntry = internal ? noEntryCode : isENOENT;
  let res;
  try {
    res = yield* locate(t, follow, syscall);
  } catch (err) {
    if (quiet && noEntry(err)) return undefined;
    throw err;
  }
  const bigint = options?.bigint === true ? { bigint: true } : undefined;
  if (res.kind === 'external') {
    try {
      return follow ? yield* io.stat(res.real, bigint) : yield* io.lstat(res.real, bigint);
    } catch (err) {
      if (quiet && noEntry(err)) return undefined;
      throw err;
    }
  }
  if (!res.found) {
    if (quiet) return undefined;
    throw fsError('ENOENT', syscall);
  }
  const st: any = bigint ? yield* io.lstat(res.found.real, bigint) : yield* statsOf(res.found);
  // A merged directory reports nlink 1, as the kernel's does.
  if (res.found.members.length > 1) st.nlink = bigint ? 1n : 1;
  return st;
}

export function* stat(t: Target, options?: StatOpts) { return yield* statOf(t, true, options, 'stat'); }
export function* lstat(t: Target, options?: StatOpts) { return yield* statOf(t, false, options, 'lstat'); }
/** stat, undefined for a missing entry (ENOENT, ENOTDIR) in every form: the overlay's own probe. */
export function* statOrUndefined(t: Target, options?: fs.StatOptions) { return yield* statOf(t, true, options, 'stat', true); }
/** lstat, undefined for a missing entry (ENOENT, ENOTDIR) in every form: the overlay's own probe. */
export function* lstatOrUndefined(t: Target, options?: fs.StatOptions) { return yield* statOf(t, false, options, 'lstat', true); }

export function* exists(t: Target): Io<boolean> {
  try {
    const res = yield* locate(t, true, 'access');
    // access(F_OK) on the serving entry, as Node's existsSync does: no Stats object to build.
    if (res.kind === 'external') yield* io.access(res.real, fs.constants.F_OK);
    else if (res.found === null) return false;
    else if (res.found.stats === undefined) yield* io.access(res.found.real, fs.constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

export function* access(t: Target, mode: number = fs.constants.F_OK): Io<void> {
  const res = yield* locate(t, true, 'access');
  if (res.kind === 'external') return yield* io.access(res.real, mode);
  if (!res.found) throw fsError('ENOENT', 'access');
  const wantsWrite = (mode & fs.constants.W_OK) !== 0;
  if (wantsWrite && !res.stack.upper) throw fsError('EROFS', 'access');
  if (!wantsWrite || res.found.layer.role === 'upper') return yield* io.access(res.found.real, mode);
  // A lower entry is writable through the overlay when its mode allows it (copy-up comes later):
  // ask the real file only for the other bits, and judge write permission by the mode bits.
  yield* io.access(res.found.real, mode & ~fs.constants.W_OK);
  if (!mayWrite(yield* statsOf(res.found))) throw fsError('EACCES', 'access');
}

function mayWrite(st: fs.Stats): boolean {
  const uid = process.getuid?.();
  if (uid === 0) return true;
  if (st.uid === uid) return (st.mode & 0o200) !== 0;
  if (process.getgroups?.().includes(st.gid) || st.gid === process.getgid?.()) return (st.mode & 0o020) !== 0;
  return (st.mode & 0o002) !== 0;
}

export function* readFile(t: Target, options?: unknown): Io<string | Buffer> {
  const opts = (typeof options === 'string' ? { encoding: options } : options ?? {}) as { flag?: unknown; encoding?: BufferEncoding | null };
  const flags = toFlags(opts.flag, 'r');
  if (writesData(flags) || (flags & fs.constants.O_CREAT) !== 0) {
    const opened = yield* prepareOpen(t, flags);
    const data = yield* io.readFile(opened.real, Object.assign({}, opts, { flag: opened.flags }));
    yield* opened.finish();
    return data;
  }
  const res = yield* locate(t, true, 'open');
  if (res.kind === 'external') return yield* io.readFile(res.real, options);
  if (!res.found) throw fsError('ENOENT', 'open');
  // Object.assign, not a spread: spreading a non-empty object costs ~0.5 µs in Node 20.
  return yield* io.readFile(res.found.real, Object.assign({}, opts, { flag: flags }));
}

export function* readlink(t: Target, options?: unknown): Io<string | Buffer> {
  const res = yield* locate(t, false, 'readlink');
  if (res.kind === 'external') return yield* io.readlink(res.real, options);
  if (!res.found) throw fsError('ENOENT', 'readlink');
  return yield* io.readlink(res.found.real, options);
}

function encodingOf(options: unknown): BufferEncoding | 'buffer' | undefined {
  if (typeof options === 'string') return options as BufferEncoding;
  return (options as { encoding?: BufferEncoding | 'buffer' } | undefined)?.encoding ?? undefined;
}

function encodeName(name: string, encoding: BufferEncoding | 'buffer' | undefined): string | Buffer {
  if (encoding === 'buffer') return Buffer.from(name);
  if (!encoding || encoding === 'utf8' || encoding === 'utf-8') return name;
  return Buffer.from(name).toString(encoding);
}

/** realpath: the merged path with every symlink resolved in the merged namespace. */
export function* realpath(t: Target, options: unknown, syscall: string): Io<string | Buffer> {
  // The C library's realpath walks the path one component at a time: no PATH_MAX on the input.
  if (t.fail === 'ENAMETOOLONG') t = { ...t, fail: undefined, walk: { raw: absolute(t.shown), lexical: t.abs } };
  const res = yield* locate(t, true, syscall);
  if (res.kind === 'external') return yield* io.realpath(res.real, options);
  if (!res.found) throw fsError('ENOENT', syscall);
  return encodeName(res.merged, encodingOf(options));
}

/**
 * realpath as Node's JavaScript implementation (realpathSync, realpath) does it, over the
 * merged view: lstat each prefix, and for a symlink stat it (following) then read it and
 * restart from its target. Its errors name the prefix that failed, with lstat or stat.
 */
export function* realpathJs(t: Target, options: unknown): Io<string | Buffer> {
  let p = t.abs;
  let pos = 1;
  let current = '/';
  const seen = new Map<string, string>();
  while (pos < p.length) {
    const slash = p.indexOf('/', pos);
    const previous = current;
    const part = slash === -1 ? p.slice(pos) : p.slice(pos, slash);
    const base = previous + part;
    current = base + '/';
    pos = slash === -1 ? p.length : slash + 1;
    const at = targetFor(t, base);
    let target: string | undefined;
    try {
      const st = (yield* statOf(at, false, undefined, 'lstat')) as fs.Stats;
      if (!st.isSymbolicLink()) continue;
      const id = `${st.dev}:${st.ino}`;
      target = seen.get(id);
      if (target === undefined) {
        yield* statOf(at, true, undefined, 'stat');
        target = String(yield* readlink(at));
        seen.set(id, target);
      }
    } catch (err) {
      throw pinPath(err, base);
    }
    p = path.resolve(path.resolve(previous, target), p.slice(pos));
    pos = 1;
    current = '/';
  }
  return encodeName(p, encodingOf(options));
}

interface ReaddirOpts { encoding?: BufferEncoding | 'buffer' | null; withFileTypes?: boolean; recursive?: boolean }

function* directoryAt(t: Target, syscall: string): Io<Merged | { external: string }> {
  const res = yield* locate(t, true, syscall);
  if (res.kind === 'external') return { external: res.real };
  if (!res.found) throw fsError('ENOENT', syscall);
  if (res.found.kind !== 'dir') throw fsError('ENOTDIR', syscall);
  return res;
}

/**
 * Merged entries of a directory as Dirents naming merged parent paths; recursive when asked.
 * Like Node, a recursive listing of names descends into symlinked directories too (Node
 * checks each entry with a stat that follows links); Dirent listings do not.
 */
function* direntsOf(top: Merged, t: Target, recursive: boolean, encoding: ReaddirOpts['encoding'], intoLinks = false): Io<Array<{ rel: string; dirent: fs.Dirent }>> {
  const shown = t.shown;
  const out: Array<{ rel: string; dirent: fs.Dirent }> = [];
  const queue: Array<{ found: Found; rel: string }> = [{ found: top.found!, rel: '' }];
  while (queue.length > 0) {
    const dir = queue.shift()!;
    const parentPath = dir.rel === '' ? shown : shown.replace(/\/?$/, '/') + dir.rel;
    for (const entry of yield* listMerged(dir.found.members)) {
      const d = entry.dirent as any;
      const isLink = entry.dirent.isSymbolicLink();
      const isDir = entry.dirent.isDirectory();
      d.name = encodeName(entry.name, encoding ?? undefined);
      d.parentPath = parentPath;
      d.path = parentPath;
      const rel = dir.rel === '' ? entry.name : dir.rel + '/' + entry.name;
      out.push({ rel, dirent: d });
      if (!recursive || !(isDir || (intoLinks && isLink))) continue;
      let child: Found | null = null;
      if (isDir) child = yield* lookupChild(dir.found.members, entry.name);
      else {
        try {
          // The path as Node builds it: the argument plus the entry (its links still unresolved).
          const res = yield* resolve(top.stack, t.abs + '/' + rel, true);
          child = res.kind === 'merged' ? res.found : null;
        } catch {
          child = null; // a dangling or looping link is listed, not entered
        }
      }
      if (child && child.kind === 'dir') queue.push({ found: child, rel });
    }
  }
  return out;
}

export function* readdir(t: Target, options?: unknown): Io<Array<string | Buffer | fs.Dirent>> {
  const opts: ReaddirOpts = typeof options === 'string' ? { encoding: options as BufferEncoding } : ((options ?? {}) as ReaddirOpts);
  const dir = yield* directoryAt(t, 'scandir');
  if ('external' in dir) return (yield { op: 'readdir', args: [dir.external, options] }) as Array<string>;
  const recursive = opts.recursive === true;
  const entries = yield* direntsOf(dir, t, recursive, opts.encoding, recursive && !opts.withFileTypes);
  if (opts.withFileTypes) return entries.map((e) => e.dirent);
  return entries.map((e) => encodeName(e.rel, opts.encoding ?? undefined));
}

/** opendir: a Dir over a snapshot of the merged listing taken now (like the kernel's per-open cache). */
export function* opendir(t: Target, options?: { recursive?: boolean; encoding?: BufferEncoding | 'buffer' }): Io<fs.Dir> {
  const dir = yield* directoryAt(t, 'opendir');
  if ('external' in dir) return (yield { op: 'opendir', args: [dir.external, options] }) as fs.Dir;
  const entries = yield* direntsOf(dir, t, options?.recursive === true, options?.encoding);
  return new MergedDir(t.shown, entries.map((e) => e.dirent)) as unknown as fs.Dir;
}

export function* statfs(t: Target, options?: unknown): Io<fs.StatsFs> {
  const res = yield* locate(t, true, 'statfs');
  if (res.kind === 'external') return yield* io.statfs(res.real, options);
  if (!res.found) throw fsError('ENOENT', 'statfs');
  // Like the kernel, report the upper's file system (where writes go).
  return yield* io.statfs(res.stack.upper ? res.stack.upper.root : res.found.real, options);
}

export function* openAsBlob(t: Target, options?: unknown): Io<Promise<Blob>> {
  const res = yield* locate(t, true, 'open');
  if (res.kind === 'external') return (original as any).openAsBlob(res.real, options);
  if (!res.found) throw fsError('ENOENT', 'open');
  return (original as any).openAsBlob(res.found.real, options);
}

// ---- the fast path for remembered reads -------------------------------------------------------

/** Returned by a `*Quick` function: not answered here, run the operation in full. */
export const SLOW: unique symbol = Symbol('slow');

/**
 * A `*Quick` function answers a sync read of `abs` (a string path under `stack`'s mountpoint,
 * shorter than PATH_MAX; `opt` the caller's second argument) from the router's remembered
 * answer alone and the one real call, or returns SLOW: nothing remembered or valid without
 * I/O (a path not in normal form never is: answers are remembered by normal absolute paths),
 * options it does not take, or any error (the full operation then runs, reports the error
 * with the caller's paths and tells the index what it found missing). Same results as the
 * full operation.
 */
export type Quick = (stack: Stack, abs: string, opt: unknown) => unknown;

const QUIET = { throwIfNoEntry: false };
const QUIET_BIG = { throwIfNoEntry: false, bigint: true };

function statQuickOf(stack: Stack, abs: string, o: unknown, follow: boolean): unknown {
  let quiet = false;
  let big = false;
  if (o !== undefined) {
    if (o === null || typeof o !== 'object') return SLOW;
    quiet = (o as StatOpts).throwIfNoEntry === false;
    big = (o as StatOpts).bigint === true;
  }
  const f = remembered(stack, abs, follow);
  if (f === undefined) return SLOW;
  if (f === null) return quiet ? undefined : SLOW;
  let st: any;
  try {
    st = real.lstatSync(f.real, big ? QUIET_BIG : QUIET);
  } catch {
    return SLOW;
  }
  if (st === undefined) return SLOW; // gone behind the overlay's back
  if (f.members.length > 1) st.nlink = big ? 1n : 1;
  return st;
}

export const statQuick: Quick = (stack, abs, o) => statQuickOf(stack, abs, o, true);
export const lstatQuick: Quick = (stack, abs, o) => statQuickOf(stack, abs, o, false);

export function existsQuick(stack: Stack, abs: string): boolean | typeof SLOW {
  const f = remembered(stack, abs, true);
  if (f === undefined) return SLOW;
  if (f === null) return false;
  return real.existsSync(f.real) ? true : SLOW;
}

export const accessQuick: Quick = (stack, abs, m) => {
  const mode = m !== undefined ? m : fs.constants.F_OK;
  if (typeof mode !== 'number' || (mode & ~(fs.constants.R_OK | fs.constants.X_OK)) !== 0) return SLOW;
  const f = remembered(stack, abs, true);
  if (f === undefined || f === null) return SLOW;
  try {
    real.accessSync(f.real, mode);
  } catch {
    return SLOW;
  }
  return undefined;
};

export const readFileQuick: Quick = (stack, abs, o) => {
  if (o !== undefined && typeof o !== 'string' && (o === null || typeof o !== 'object' || (o as { flag?: unknown }).flag !== undefined)) return SLOW;
  const f = remembered(stack, abs, true);
  if (f === undefined || f === null || f.kind !== 'file') return SLOW;
  try {
    return real.readFileSync(f.real, o as undefined);
  } catch {
    return SLOW;
  }
};

/**
 * The promise form's fast path: the same remembered answer, then the real call made the way
 * the full operation's async runner makes it (never synchronously). SLOW when not taken here; a promise
 * that rejects when the real call failed (the caller then runs the full operation).
 */
export type QuickAsync = (stack: Stack, abs: string, opt: unknown) => Promise<unknown> | typeof SLOW;

function statQuickAsyncOf(stack: Stack, abs: string, o: unknown, follow: boolean): Promise<unknown> | typeof SLOW {
  let big = false;
  if (o !== undefined) {
    if (o === null || typeof o !== 'object') return SLOW;
    big = (o as StatOpts).bigint === true;
  }
  const f = remembered(stack, abs, follow);
  if (f === undefined || f === null) return SLOW;
  const merged = f.members.length > 1;
  return new Promise((resolve, reject) => real.lstat(f.real, big ? BIG : PLAIN, (err: unknown, st: any) => {
    if (err) return reject(err);
    if (merged) st.nlink = big ? 1n : 1;
    resolve(st);
  }));
}

const BIG = { bigint: true };
const PLAIN = { bigint: false };

export const statQuickAsync: QuickAsync = (stack, abs, o) => statQuickAsyncOf(stack, abs, o, true);
export const lstatQuickAsync: QuickAsync = (stack, abs, o) => statQuickAsyncOf(stack, abs, o, false);

export const readFileQuickAsync: QuickAsync = (stack, abs, o) => {
  if (o !== undefined && typeof o !== 'string' && (o === null || typeof o !== 'object' || (o as { flag?: unknown }).flag !== undefined || (o as { signal?: unknown }).signal !== undefined)) return SLOW;
  const f = remembered(stack, abs, true);
  if (f === undefined || f === null || f.kind !== 'file') return SLOW;
  // The callback form, as the full operation's runner uses: faster than fs.promises.readFile in Node 20.
  return new Promise((resolve, reject) => real.readFile(f.real, o as undefined, (err: unknown, data: unknown) => (err ? reject(err) : resolve(data))));
};
