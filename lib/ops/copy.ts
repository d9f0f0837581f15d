/** copyFile and cp over the merged view. */
import * as fs from 'fs';
import * as path from 'path';
import { io, lstatOrNull, type Io } from '../io';
import { fsError } from '../errors';
import { locate, locateEntry, requireUpper, type Target } from './target';
import { copyUpParents } from '../copyup';
import { statsOf } from '../router/resolve';
import { clearWhiteout, clearKernelWhiteout } from '../layers/marks';
import { isReserved } from '../layers/whiteout';
import { reservedName, truncate, writeFile } from './open';
import { lstat, stat, readdir, readlink } from './read';
import { mkdir, symlink, unlink } from './names';
import { chmod, utimes } from './meta';

/**
 * copyFile as libuv does it: open the source (its errors first), open the destination for
 * writing with O_CREAT (and O_EXCL), then copy. A source directory fails only at the copy,
 * with EISDIR, after which libuv removes the destination, even one that existed before.
 */
export function* copyFile(s: Target, d: Target, mode = 0): Io<void> {
  const rs = yield* locate(s, true, 'copyfile');
  if (rs.kind === 'merged' && !rs.found) throw fsError('ENOENT', 'copyfile');
  const from = rs.kind === 'external' ? rs.real : rs.found!.real;
  const srcStat = rs.kind === 'external' ? yield* statAs(from, 'copyfile') : yield* statsOf(rs.found!);
  const srcIsDir = srcStat.isDirectory();
  const exclusive = (mode & fs.constants.COPYFILE_EXCL) !== 0;
  if (d.slash) {
    yield* locateEntry(d, 'copyfile');
    throw fsError('EISDIR', 'copyfile');
  }
  const rd = yield* locate(d, !exclusive, 'copyfile');
  // What the destination name leads to (through a symlink, perhaps out of the overlay).
  const through: Target = rd.kind === 'external'
    ? { ...d, stack: null, abs: rd.real, slash: false }
    : { ...d, abs: rd.merged, slash: false };
  const destStat = rd.kind === 'external' ? yield* lstatOrNull(rd.real) : rd.found ? yield* statsOf(rd.found) : null;
  if (destStat) {
    if (exclusive) throw fsError('EEXIST', 'copyfile');
    if (destStat.isDirectory()) throw fsError('EISDIR', 'copyfile');
  }
  if (rd.kind === 'merged' && destStat !== null && (destStat.isCharacterDevice() || destStat.isBlockDevice())) {
    // libuv opens the device (no copy-up: it holds no data), truncates it (a device refuses:
    // EINVAL), then removes the destination name, ignoring whether that worked.
    if (rd.stack.upper) {
      try { yield* unlink(d); } catch { /* as libuv */ }
    }
    throw fsError('EINVAL', 'copyfile');
  }
  if (rd.kind === 'merged') {
    if (rd.parent === null) throw fsError('EISDIR', 'copyfile');
    requireUpper(rd, 'copyfile');
    if (isReserved(rd.name)) throw reservedName('copyfile');
  }
  if (srcIsDir) {
    // libuv opened (creating) what the name leads to, truncated it (other hard links see
    // that), gave it the source's mode, failed to copy a directory, then removed the name.
    if (destStat) yield* truncate(through, 0);
    else if (through.abs !== d.abs) yield* writeFile(through, '', { mode: srcStat.mode & 0o7777 });
    if (destStat || through.abs !== d.abs) {
      yield* chmod(through, srcStat.mode & 0o7777);
      yield* unlink(d);
    }
    throw fsError('EISDIR', 'copyfile');
  }
  if (rd.kind === 'external') return yield* io.copyFile(from, rd.real, mode);
  const dir = yield* copyUpParents(rd);
  yield* clearKernelWhiteout(dir, rd.name);
  // The upper copy is a new file: never clone-force (FICLONE_FORCE) across layers' file systems.
  yield* io.copyFile(from, dir + '/' + rd.name, mode & ~fs.constants.COPYFILE_FICLONE_FORCE);
  yield* clearWhiteout(dir, rd.name);
}

/** stat of an outside path, failing as the operation `syscall` would. */
function* statAs(p: string, syscall: string): Io<fs.Stats> {
  try {
    return yield* io.stat(p);
  } catch (err) {
    throw fsError((err as { code?: string }).code ?? 'EIO', syscall);
  }
}

interface CpOptions {
  dereference?: boolean;
  errorOnExist?: boolean;
  filter?: (src: string, dest: string) => boolean | Promise<boolean>;
  force?: boolean;
  mode?: number;
  preserveTimestamps?: boolean;
  recursive?: boolean;
  verbatimSymlinks?: boolean;
}

function cpError(code: string, message: string, shown: string): Error {
  const err = new Error(`${message}`) as Error & Record<string, unknown>;
  err.name = 'SystemError';
  err.code = code;
  err.path = shown;
  return err;
}

function child(t: Target, name: string): Target {
  return { stack: t.stack, abs: t.abs + '/' + name, shown: path.join(t.shown, name), slash: false };
}

/** fs.cp: a recursive copy written over the merged operations, so both ends may be merged. */
export function* cp(s: Target, d: Target, options?: CpOptions): Io<void> {
  const opts: CpOptions = { force: true, ...options };
  const srcStat = (opts.dereference ? yield* stat(s) : yield* lstat(s)) as fs.Stats;
  if (srcStat.isDirectory() && !opts.recursive) {
    throw cpError('ERR_FS_EISDIR', `Recursive option is required to copy a directory: cp returned EISDIR (${s.shown} is a directory (not copied))`, s.shown);
  }
  if (srcStat.isDirectory() && (d.abs === s.abs || d.abs.startsWith(s.abs + '/'))) {
    throw cpError('ERR_FS_CP_EINVAL', `Invalid src or dest: cp returned EINVAL (cannot copy ${s.shown} to a subdirectory of self ${d.shown})`, s.shown);
  }
  yield* cpEntry(s, d, srcStat, opts);
}

function* cpEntry(s: Target, d: Target, srcStat: fs.Stats, opts: CpOptions): Io<void> {
  if (opts.filter && !(yield* io.settle(opts.filter(s.shown, d.shown)))) return;
  const destStat = (yield* lstat(d, { throwIfNoEntry: false })) as fs.Stats | undefined;
  if (srcStat.isDirectory()) {
    if (destStat && !destStat.isDirectory()) {
      throw cpError('ERR_FS_CP_DIR_TO_NON_DIR', `Cannot overwrite non-directory with directory: cp returned EISDIR (cannot overwrite non-directory ${d.shown} with directory ${s.shown})`, d.shown);
    }
    if (!destStat) yield* mkdir(d, { mode: srcStat.mode & 0o7777 });
    for (const name of (yield* readdir(s)) as string[]) {
      const from = child(s, name);
      const st = (opts.dereference ? yield* stat(from) : yield* lstat(from)) as fs.Stats;
      yield* cpEntry(from, child(d, name), st, opts);
    }
    if (!destStat) yield* chmod(d, srcStat.mode & 0o7777);
  } else {
    if (destStat) {
      if (destStat.isDirectory()) {
        throw cpError('ERR_FS_CP_NON_DIR_TO_DIR', `Cannot overwrite directory with non-directory: cp returned EISDIR (cannot overwrite directory ${d.shown} with non-directory ${s.shown})`, d.shown);
      }
      if (!opts.force) {
        if (opts.errorOnExist) throw cpError('ERR_FS_CP_EEXIST', `Target already exists: cp returned EEXIST (${d.shown} already exists)`, d.shown);
        return;
      }
    }
    if (srcStat.isSymbolicLink()) {
      let target = (yield* readlink(s)) as string;
      if (!opts.verbatimSymlinks && !path.isAbsolute(target)) target = path.resolve(path.dirname(s.abs), target);
      if (destStat) yield* unlink(d);
      yield* symlink(target, d);
      return;
    }
    if (destStat) yield* unlink(d);
    yield* copyFile(s, d, opts.mode ?? 0);
  }
  if (opts.preserveTimestamps) yield* utimes(d, srcStat.atime, srcStat.mtime);
}
