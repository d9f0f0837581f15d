/** copyFile over the merged view (cp: cp.ts). */
import * as fs from 'fs';
import { io, lstatOrNull, type Io } from '../io';
import { fsError } from '../errors';
import { locate, locateParent, dotsDirectory, requireUpper, type Target } from './target';
import { copyUpParents, copyUpChanged, stageAndPublish } from '../copyup';
import { statsOf } from '../router/resolve';
import { clearWhiteout } from '../layers/marks';
import { isReserved } from '../layers/whiteout';
import { reservedName, truncate, writeFile } from './open';
import { unlink } from './names';
import { chmod } from './meta';

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
    // As open(2) with O_CREAT: "x/." is x itself (EEXIST with O_EXCL); "x/" is refused once
    // the walk to x's directory succeeded.
    if (d.dots) {
      yield* dotsDirectory(d, 'copyfile');
      throw fsError(exclusive ? 'EEXIST' : 'EISDIR', 'copyfile');
    }
    yield* locateParent(d, 'copyfile');
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
  // The upper copy is a new file: never clone-force (FICLONE_FORCE) across layers' file systems.
  const copyMode = mode & ~fs.constants.COPYFILE_FICLONE_FORCE;
  if (rd.found && rd.found.layer === rd.stack.upper) {
    // An upper file is overwritten in place, as on plain fs (its other hard links see the copy).
    yield* io.copyFile(from, rd.found.real, copyMode);
    return;
  }
  if (rd.found && rd.found.kind === 'file') {
    // A lower file: libuv opens it for writing (a copy-up, which keeps its owner and leaves the
    // parent's times), truncates it, copies and gives it the source's mode. Made on the copy in
    // the work directory and published with one rename (see copyUpChanged).
    if (yield* copyUpChanged(rd, false, (tmp) => io.copyFile(from, tmp, copyMode))) return;
    // The upper holds it meanwhile (another task or process): overwritten in place.
    yield* io.copyFile(from, dir + '/' + rd.name, copyMode);
    return;
  }
  // A new upper file: copied in the work directory and put in place with one rename, so a
  // failure or a crash half-way through the data never shows a partial file over the lower
  // one (the rename also replaces a kernel whiteout at the name).
  yield* stageAndPublish(rd.stack, dir + '/' + rd.name, (tmp) => io.copyFile(from, tmp, copyMode));
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
