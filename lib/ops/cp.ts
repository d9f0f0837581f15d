/**
 * fs.cp over the merged view, following Node 20's own algorithm (lib/internal/fs/cp) step by
 * step, so that it checks, fails and changes things in the same order, with the same errors:
 *
 * 1. Arguments: the options, then `src`, then `dest`, validated by Node itself (`validateCp`,
 *    run synchronously before anything else, also for the callback form).
 * 2. The filter, then the stats of src and dest (bigint, to compare identities), the checks
 *    between them, and "dest is inside src" by name and by walking dest's parents.
 * 3. dest's parent made when missing, then the copy by type (directory, file or device,
 *    symlink; sockets and FIFOs refused), each directory entry checked like the top.
 *
 * Each fs step runs through the overlay's own operations; their errors name the path Node's
 * step would name. cp's own errors are SystemErrors shaped as Node's (`syscall: 'cp'`, `info`,
 * the path in the message). Paths are handled as Node handles them: a Buffer path is stat'ed,
 * then fails with Node's TypeError at the first path computation, as it does in Node.
 */
import * as os from 'os';
import * as path from 'path';
import { fileURLToPath } from 'url';
import { types } from 'util';
import type * as fs from 'fs';
import { io, type Io } from '../io';
import { withPaths } from '../errors';
import { isAtOrUnder, parsePath, parseInvalidUtf8 } from '../paths';
import { original } from '../real-fs';
import type { Target } from './target';
import { copyFile } from './copy';
import { lstat, stat, exists, readdir, readlink } from './read';
import { mkdir, symlink, unlink } from './names';
import { chmod, utimes } from './meta';

type P = string | Buffer;
type AnyStats = fs.Stats | fs.BigIntStats;

/** The options as Node's validateCpOptions leaves them, and the path values Node works with. */
export interface CpOptions {
  dereference: boolean;
  errorOnExist: boolean;
  filter?: (src: P, dest: P) => boolean | Promise<boolean>;
  force: boolean;
  mode: number;
  preserveTimestamps: boolean;
  recursive: boolean;
  verbatimSymlinks: boolean;
  readonly [RAW]: { readonly src: P; readonly dest: P };
}

const RAW = Symbol('overlay-fs.cp-paths');
const ERRNO = os.constants.errno as Record<string, number>;

/**
 * Validate cp's arguments exactly as Node does, by asking Node: its cpSync checks the options,
 * then src, then dest, and then (with a filter that declines) returns before touching any
 * file. Returns the arguments the operation runs with: the paths as Node would use them
 * (file: URLs turned into paths, Buffers kept) and the options with Node's defaults.
 */
export function validateCp(args: unknown[]): unknown[] {
  const [src, dest, options] = args;
  const plain = options !== null && typeof options === 'object' && !Array.isArray(options);
  const filter = plain ? (options as { filter?: unknown }).filter : undefined;
  const probe = plain && (filter === undefined || typeof filter === 'function')
    ? { ...(options as object), filter: () => false }
    : options === undefined ? { filter: () => false } : options;
  (original as any).cpSync(src, dest, probe);
  const given = (options ?? {}) as Partial<CpOptions>;
  const opts = {
    dereference: false, errorOnExist: false, filter: undefined, force: true, preserveTimestamps: false, recursive: false, verbatimSymlinks: false,
    ...given,
    mode: given.mode === undefined ? 0 : Number(given.mode),
    [RAW]: { src: pathValue(src), dest: pathValue(dest) },
  };
  return [src, dest, opts, ...args.slice(3)];
}

/** What Node's getValidatedPath leaves: a string or Buffer as given, a file: URL as its path. */
function pathValue(p: unknown): P {
  if (typeof p === 'string' || Buffer.isBuffer(p)) return p;
  if (types.isUint8Array(p)) return Buffer.from(p.buffer, p.byteOffset, p.byteLength);
  return fileURLToPath(p as URL);
}

/** A cp error as Node makes it (a SystemError with `info`, and errno/syscall/path over it). */
function cpError(code: string, prefix: string, info: { message: string; path: P; errno: string; code: string }): Error {
  const context = { message: info.message, path: info.path, syscall: 'cp', errno: ERRNO[info.errno], code: info.code };
  const err = new Error() as Error & Record<string, unknown>;
  (err as { code?: string }).code = code;
  Object.defineProperties(err, {
    name: { value: 'SystemError', enumerable: false, writable: true, configurable: true },
    message: { value: `${prefix}: cp returned ${info.code} (${info.message}) ${String(info.path)}`, enumerable: false, writable: true, configurable: true },
    info: { value: context, enumerable: true, writable: false, configurable: true },
    errno: { get: () => context.errno, set: (v: number) => { context.errno = v; }, enumerable: true, configurable: true },
    syscall: { get: () => context.syscall, set: (v: string) => { context.syscall = v; }, enumerable: true, configurable: true },
    path: {
      get: () => (context.path != null ? context.path.toString() : context.path),
      set: (v: unknown) => { context.path = v ? Buffer.from(String(v)) : (undefined as unknown as P); },
      enumerable: true,
      configurable: true,
    },
    toString: { value() { return `SystemError [${code}]: ${this.message}`; }, enumerable: false, writable: true, configurable: true },
  });
  Error.captureStackTrace?.(err, cpError);
  return err;
}

const subdirOfSelf = (src: P, dest: P) => cpError('ERR_FS_CP_EINVAL', 'Invalid src or dest', {
  message: `cannot copy ${String(src)} to a subdirectory of self ${String(dest)}`, path: dest, errno: 'EINVAL', code: 'EINVAL',
});

function areIdentical(a: AnyStats, b: AnyStats): boolean {
  return Boolean(b.ino && b.dev && b.ino === a.ino && b.dev === a.dev);
}

/** Node's isSrcSubdir: every component of resolved src begins resolved dest. */
function isSrcSubdir(src: P, dest: P): boolean {
  const parts = (p: P) => path.resolve(p as string).split(path.sep).filter(Boolean);
  const d = parts(dest);
  return parts(src).every((c, i) => d[i] === c);
}

interface Run {
  readonly opts: CpOptions;
  readonly sync: boolean;
  readonly stacks: Array<Target['stack']>;
  /** Every mount (from the caller's targets): a `..` walk that leaves one is placed again. */
  readonly mounts: Target['mounts'];
}

/** The Target of a path value, in whichever of the two overlays holds it. */
function at(run: Run, p: P): Target {
  // As the router parses it: a Buffer that is not UTF-8 fails EILSEQ under a mount.
  const parsed = parsePath(p) ?? parseInvalidUtf8(p);
  if (parsed === null) return { abs: String(p), shown: String(p), slash: false, stack: null };
  const stack = run.mounts ? run.mounts.find(parsed.abs) : run.stacks.find((s) => s !== null && isAtOrUnder(parsed.abs, s.mount)) ?? null;
  return { ...parsed, stack, mounts: run.mounts };
}

/** One fs step; its error names `p` (and `dest`) as Node's step would. */
function* step<T>(g: Io<T>, p: P | null, dest?: P): Io<T> {
  try {
    return yield* g;
  } catch (err) {
    throw withPaths(err, p === null ? null : String(p), dest === undefined ? undefined : String(dest));
  }
}

const code = (err: unknown) => (err as { code?: string } | null)?.code;

export function* cp(_s: Target, _d: Target, opts: CpOptions): Io<void> {
  const run: Run = { opts, sync: (yield* io.form()) === 'sync', stacks: [_s.stack, _d.stack], mounts: _s.mounts ?? _d.mounts };
  const { src, dest } = opts[RAW];
  const checked = yield* checkPaths(run, src, dest);
  if (checked === null) return;
  yield* checkParentPaths(run, src, checked.srcStat, dest);
  // checkParentDir: make dest's parent when it is missing.
  const destParent = path.dirname(dest as string);
  let parentThere: boolean;
  if (run.sync) parentThere = yield* exists(at(run, destParent));
  else {
    try {
      yield* step(stat(at(run, destParent)), destParent);
      parentThere = true;
    } catch (err) {
      if (code(err) !== 'ENOENT') throw err;
      parentThere = false;
    }
  }
  if (!parentThere) yield* step(mkdir(at(run, destParent), { recursive: true }), destParent);
  yield* copyByType(run, checked.destStat, src, dest);
}

/** The filter, the stats of both ends and the checks between them; null: filtered out. */
function* checkPaths(run: Run, src: P, dest: P): Io<{ srcStat: AnyStats; destStat: AnyStats | undefined } | null> {
  const { opts } = run;
  if (opts.filter) {
    const keep = opts.filter(src, dest);
    if (run.sync && types.isPromise(keep)) {
      const err = new TypeError(`Expected boolean to be returned from the "filter" function but got an instance of Promise.`) as TypeError & { code: string };
      err.code = 'ERR_INVALID_RETURN_VALUE';
      Object.defineProperty(err, 'toString', { value() { return `TypeError [${err.code}]: ${err.message}`; }, enumerable: false, writable: true, configurable: true });
      throw err;
    }
    if (!(yield* io.settle(keep))) return null;
  }
  const statOf = (p: P) => (opts.dereference ? stat(at(run, p), { bigint: true }) : lstat(at(run, p), { bigint: true })) as Io<AnyStats>;
  const srcStat = yield* step(statOf(src), src);
  let destStat: AnyStats | undefined;
  try {
    destStat = yield* step(statOf(dest), dest);
  } catch (err) {
    if (code(err) !== 'ENOENT') throw err;
  }
  if (destStat) {
    if (areIdentical(srcStat, destStat)) {
      throw cpError('ERR_FS_CP_EINVAL', 'Invalid src or dest', { message: 'src and dest cannot be the same', path: dest, errno: 'EINVAL', code: 'EINVAL' });
    }
    if (srcStat.isDirectory() && !destStat.isDirectory()) {
      throw cpError('ERR_FS_CP_DIR_TO_NON_DIR', 'Cannot overwrite non-directory with directory', {
        message: `cannot overwrite non-directory ${String(dest)} with directory ${String(src)}`, path: dest, errno: 'EISDIR', code: 'EISDIR',
      });
    }
    if (!srcStat.isDirectory() && destStat.isDirectory()) {
      throw cpError('ERR_FS_CP_NON_DIR_TO_DIR', 'Cannot overwrite directory with non-directory', {
        message: `cannot overwrite directory ${String(dest)} with non-directory ${String(src)}`, path: dest, errno: 'ENOTDIR', code: 'ENOTDIR',
      });
    }
  }
  if (srcStat.isDirectory() && isSrcSubdir(src, dest)) throw subdirOfSelf(src, dest);
  return { srcStat, destStat };
}

/** dest must not lie inside src through another name: walk dest's parents up to src's parent. */
function* checkParentPaths(run: Run, src: P, srcStat: AnyStats, dest: P): Io<void> {
  const srcParent = path.resolve(path.dirname(src as string));
  let cur = dest;
  for (;;) {
    const destParent = path.resolve(path.dirname(cur as string));
    if (destParent === srcParent || destParent === path.parse(destParent).root) return;
    let st: AnyStats;
    try {
      st = (yield* step(stat(at(run, destParent), { bigint: true }), destParent)) as AnyStats;
    } catch (err) {
      if (code(err) === 'ENOENT') return;
      throw err;
    }
    if (areIdentical(srcStat, st)) throw subdirOfSelf(src, dest);
    cur = destParent;
  }
}

function* copyByType(run: Run, destStat: AnyStats | undefined, src: P, dest: P): Io<void> {
  const { opts } = run;
  const srcStat = (yield* step(opts.dereference ? stat(at(run, src)) : lstat(at(run, src)), src)) as fs.Stats;
  if (srcStat.isDirectory()) {
    if (!opts.recursive) {
      throw cpError('ERR_FS_EISDIR', 'Path is a directory', {
        // Node's sync form says EINVAL here, its async form EISDIR.
        message: `${String(src)} is a directory (not copied)`, path: src, errno: run.sync ? 'EINVAL' : 'EISDIR', code: 'EISDIR',
      });
    }
    if (!destStat) {
      yield* step(mkdir(at(run, dest)), dest);
      yield* copyDir(run, src, dest);
      yield* step(chmod(at(run, dest), srcStat.mode), dest);
      return;
    }
    return yield* copyDir(run, src, dest);
  }
  if (srcStat.isFile() || srcStat.isCharacterDevice() || srcStat.isBlockDevice()) {
    if (destStat) {
      if (!opts.force) {
        if (opts.errorOnExist) {
          throw cpError('ERR_FS_CP_EEXIST', 'Target already exists', { message: `${String(dest)} already exists`, path: dest, errno: 'EEXIST', code: 'EEXIST' });
        }
        return;
      }
      yield* step(unlink(at(run, dest)), dest);
    }
    yield* step(copyFile(at(run, src), at(run, dest), opts.mode), src, dest);
    if (opts.preserveTimestamps) {
      if ((srcStat.mode & 0o200) === 0) yield* step(chmod(at(run, dest), srcStat.mode | 0o200), dest);
      const now = (yield* step(stat(at(run, src)), src)) as fs.Stats;
      yield* step(utimes(at(run, dest), now.atime, now.mtime), dest);
    }
    yield* step(chmod(at(run, dest), srcStat.mode), dest);
    return;
  }
  if (srcStat.isSymbolicLink()) return yield* copyLink(run, destStat, src, dest);
  const [errCode, prefix, what] = srcStat.isSocket()
    ? ['ERR_FS_CP_SOCKET', 'Cannot copy a socket file', 'a socket file']
    : srcStat.isFIFO()
      ? ['ERR_FS_CP_FIFO_PIPE', 'Cannot copy a FIFO pipe', 'a FIFO pipe']
      : ['ERR_FS_CP_UNKNOWN', 'Cannot copy an unknown file type', 'an unknown file type'];
  throw cpError(errCode, prefix, { message: `cannot copy ${what}: ${String(dest)}`, path: dest, errno: 'EINVAL', code: 'EINVAL' });
}

function* copyDir(run: Run, src: P, dest: P): Io<void> {
  // Node reads the directory with opendir (whose sync form names no path in its errors).
  const names = (yield* step(readdir(at(run, src)), run.sync ? null : src)) as string[];
  for (const name of names) {
    const srcItem = path.join(src as string, name);
    const destItem = path.join(dest as string, name);
    const checked = yield* checkPaths(run, srcItem, destItem);
    if (checked !== null) yield* copyByType(run, checked.destStat, srcItem, destItem);
  }
}

function* copyLink(run: Run, destStat: AnyStats | undefined, src: P, dest: P): Io<void> {
  let resolvedSrc = String(yield* step(readlink(at(run, src)), src));
  if (!run.opts.verbatimSymlinks && !path.isAbsolute(resolvedSrc)) resolvedSrc = path.resolve(path.dirname(src as string), resolvedSrc);
  if (!destStat) return yield* step(symlink(resolvedSrc, at(run, dest)), resolvedSrc, dest);
  let resolvedDest: string;
  try {
    resolvedDest = String(yield* step(readlink(at(run, dest)), dest));
  } catch (err) {
    if (code(err) === 'EINVAL' || code(err) === 'UNKNOWN') return yield* step(symlink(resolvedSrc, at(run, dest)), resolvedSrc, dest);
    throw err;
  }
  if (!path.isAbsolute(resolvedDest)) resolvedDest = path.resolve(path.dirname(dest as string), resolvedDest);
  if (isSrcSubdir(resolvedSrc, resolvedDest)) {
    throw cpError('ERR_FS_CP_EINVAL', 'Invalid src or dest', {
      message: `cannot copy ${resolvedSrc} to a subdirectory of self ${resolvedDest}`, path: dest, errno: 'EINVAL', code: 'EINVAL',
    });
  }
  // Node's sync form looks at what dest leads to here, its async form at what src leads to.
  const which = run.sync ? dest : src;
  const st = (yield* step(stat(at(run, which)), which)) as fs.Stats;
  if (st.isDirectory() && isSrcSubdir(resolvedDest, resolvedSrc)) {
    throw cpError('ERR_FS_CP_SYMLINK_TO_SUBDIRECTORY', 'Cannot overwrite symlink in subdirectory of self', {
      message: `cannot overwrite ${resolvedDest} with ${resolvedSrc}`, path: dest, errno: 'EINVAL', code: 'EINVAL',
    });
  }
  yield* step(unlink(at(run, dest)), dest);
  yield* step(symlink(resolvedSrc, at(run, dest)), resolvedSrc, dest);
}
