/** Operations on names: mkdir, mkdtemp, unlink, rmdir, rm, rename, link, symlink. */
import * as fs from 'fs';
import { io, lstatOrNull, unlinkIfPresent, type Io } from '../io';
import { fsError, pinPath } from '../errors';
import { locate, locateEntry, locateParent, targetFor, requireUpper, lowerEntry, dotsDirectory, settle, unsettled, type Target } from './target';
import { listMerged } from './listing';
import { lookupChild, statsOf, type Merged, type Found } from '../router/resolve';
import { copyUp, copyUpParents, tempPath, discard, publish, cloneEntry, cloneDirectory, settleTimes } from '../copyup';
import { writeWhiteout, clearWhiteout, hasWhiteout, writeOpaqueMarker, requireWhiteoutName } from '../layers/marks';
import { isReserved, isKernelWhiteout, whiteoutName, OPAQUE_MARKER } from '../layers/whiteout';
import { withUndo, type Undo } from '../undo';
import { isAtOrUnder } from '../paths';
import { reservedName } from './open';
import type { Stack } from '../layers/stack';

function modeOf(value: unknown, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'string') return parseInt(value, 8);
  return value as number;
}

// ---- mkdir ----------------------------------------------------------------------------

/**
 * A kernel-form whiteout (a 0:0 device) at `dir/name` is moved into the work directory, to be
 * put back if the operation fails (Node cannot make a device node again). An OCI whiteout
 * takes its place first, so the name stays hidden until the new entry is there (the caller
 * clears it after). Returns where the device went (to be removed once the operation is done),
 * or null when there was none.
 */
function* setAsideKernelWhiteout(stack: Stack, dir: string, name: string, undo: Undo): Io<string | null> {
  const at = dir + '/' + name;
  const st = yield* lstatOrNull(at);
  if (!st || !isKernelWhiteout(st)) return null;
  if (yield* writeWhiteout(dir, name)) undo.add(() => unlinkIfPresent(dir + '/' + whiteoutName(name)));
  const aside = yield* tempPath(stack);
  yield* publish(at, aside);
  undo.add(() => publish(aside, at));
  return aside;
}

/** Remove what an operation set aside in the work directory, once it has succeeded. */
function* dropAside(aside: string | null): Io<void> {
  if (aside === null) return;
  try { yield* io.rm(aside, { recursive: true, force: true }); } catch { /* the next start removes it */ }
}

/**
 * Put a new entry at `dir/name` in the upper with `make` (given its real path and the undo),
 * over whatever whiteout hides the name: a kernel one is set aside first (put back if a step
 * fails), an OCI one is cleared once the entry is there. A failure at any step leaves nothing.
 */
function* createOverWhiteouts(stack: Stack, dir: string, name: string, make: (at: string, undo: Undo) => Io<void>): Io<void> {
  const aside = yield* withUndo(function* (undo): Io<string | null> {
    const kernel = yield* setAsideKernelWhiteout(stack, dir, name, undo);
    yield* make(dir + '/' + name, undo);
    yield* clearWhiteout(dir, name);
    return kernel;
  });
  yield* dropAside(aside);
}

/**
 * An empty whiteout file made in the work directory, to be renamed into place as the last step
 * of an operation: its inode exists before anything visible changes (ENOSPC strikes first).
 */
function* prepareWhiteout(stack: Stack, undo: Undo): Io<string> {
  const tmp = yield* tempPath(stack);
  yield* io.writeFile(tmp, '', { flag: 'wx' });
  undo.add(() => unlinkIfPresent(tmp));
  return tmp;
}

/**
 * Make directory `name` in an upper directory; over a whiteout it is made opaque (prepared in
 * the work directory, put in place with one rename). A failure at any step leaves nothing.
 */
function* makeDirectoryIn(stack: Stack, dir: string, name: string, mode: number): Io<void> {
  const target = dir + '/' + name;
  if (!(yield* hasWhiteout(dir, name))) {
    yield* io.mkdir(target, mode);
    return;
  }
  yield* createOverWhiteouts(stack, dir, name, function* (at, undo) {
    const tmp = yield* tempPath(stack);
    yield* io.mkdir(tmp, mode);
    undo.add(() => io.rm(tmp, { recursive: true, force: true }));
    yield* writeOpaqueMarker(tmp);
    yield* publish(tmp, at);
    undo.add(() => discard(stack, at));
  });
}

function* mkdirOne(t: Target, mode: number): Io<void> {
  if (t.dots) {
    // "x/." and "x/..": the walk to x decides (ENOENT, ENOTDIR), else x is there (EEXIST).
    yield* dotsDirectory(t, 'mkdir');
    throw fsError('EEXIST', 'mkdir');
  }
  const res = yield* locateEntry(t, 'mkdir');
  if (res.kind === 'external') return yield* io.mkdir(res.real, mode) as Io<void>;
  if (res.found || res.parent === null) throw fsError('EEXIST', 'mkdir');
  if (isReserved(res.name)) throw reservedName('mkdir');
  requireUpper(res, 'mkdir');
  const dir = yield* copyUpParents(res);
  yield* makeDirectoryIn(res.stack, dir, res.name, mode);
}

/**
 * mkdir -p as Node does it (MKDirpSync): try the path; on ENOENT try its parent first; on any
 * other error look at what is there (stat, following links): a directory is fine, anything
 * else is EEXIST for the path asked for and ENOTDIR for a parent. Returns the first
 * directory created, spelled as Node spells it.
 */
function* mkdirRecursive(t: Target, mode: number): Io<string | undefined> {
  const sync = (yield* io.form()) === 'sync';
  const pending = [t.shown];
  let first: string | undefined;
  while (pending.length > 0) {
    const next = pending.pop()!;
    const target = targetFor(t, next);
    let code: string | null = null;
    try {
      yield* mkdirOne(target, mode);
    } catch (err) {
      code = (err as { code?: string }).code ?? 'EIO';
      // Node gives these up at once; EINVAL is ours (a reserved name). Others: look at what is there.
      if (['EACCES', 'ENOSPC', 'ENOTDIR', 'EPERM', 'EINVAL'].includes(code)) throw err;
    }
    if (code === null) {
      first ??= next;
      continue;
    }
    if (code === 'ENOENT') {
      const cut = next.lastIndexOf('/');
      const parent = cut < 0 ? next : next.slice(0, cut);
      if (parent !== next && parent !== '') {
        pending.push(next, parent);
        continue;
      }
      if (pending.length > 0) continue;
      code = 'EEXIST';
    }
    const st = yield* statOrError(target);
    const isDir = st.ok && st.stats.isDirectory();
    if (sync) {
      // Node's MKDirpSync reports a failed stat as the mkdir's own error.
      if (!st.ok) throw typeof (st.err as { code?: unknown })?.code === 'string' ? fsError((st.err as { code: string }).code, 'mkdir') : st.err;
      if (!isDir) throw fsError(code === 'EEXIST' && pending.length > 0 ? 'ENOTDIR' : 'EEXIST', 'mkdir');
    } else if (code === 'EEXIST' && pending.length > 0) {
      // The async form (MKDirpAsync) calls any failure on a parent ENOTDIR, naming the parent.
      if (!isDir) throw pinPath(fsError('ENOTDIR', 'mkdir'), next);
    } else {
      if (!st.ok) throw pinPath(st.err, next);
      if (!isDir) throw pinPath(fsError('EEXIST', 'mkdir'), next);
    }
  }
  return first;
}

/**
 * The stats of a path, or the error that stat gave. Tagged, not told apart with `instanceof
 * Error`: errors from Node's fs belong to another realm inside a vm context or jest's sandbox.
 */
function* statOrError(t: Target): Io<{ ok: true; stats: fs.Stats } | { ok: false; err: unknown }> {
  try {
    const res = yield* locate(t, true, 'mkdir');
    if (res.kind === 'external') return { ok: true, stats: yield* io.stat(res.real) };
    return res.found ? { ok: true, stats: yield* statsOf(res.found) } : { ok: false, err: fsError('ENOENT', 'mkdir') };
  } catch (err) {
    return { ok: false, err };
  }
}

export function* mkdir(t: Target, options?: unknown): Io<string | undefined> {
  const opts = (options !== null && typeof options === 'object' ? options : { mode: options }) as { recursive?: boolean; mode?: unknown };
  const mode = modeOf(opts.mode, 0o777);
  if (opts.recursive) return yield* mkdirRecursive(t, mode);
  yield* mkdirOne(t, mode);
  return undefined;
}

const TEMP_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

export function* mkdtemp(t: Target, options?: unknown): Io<string | Buffer> {
  if (t.fail !== undefined) throw pinPath(fsError(t.fail, 'mkdtemp'), t.shown + 'XXXXXX');
  const encoding = typeof options === 'string' ? options : (options as { encoding?: string } | undefined)?.encoding;
  for (let attempt = 0; ; attempt++) {
    let suffix = '';
    for (let i = 0; i < 6; i++) suffix += TEMP_CHARS[Math.floor(Math.random() * TEMP_CHARS.length)];
    const shown = t.shown + suffix;
    try {
      yield* mkdirOne(targetFor(t, shown), 0o700);
      return encoding === 'buffer' ? Buffer.from(shown) : shown;
    } catch (err) {
      // Node names the template, prefix + 'XXXXXX', in mkdtemp's errors.
      if ((err as { code?: string }).code !== 'EEXIST' || attempt > 100) throw pinPath(Object.assign(err as object, { syscall: 'mkdtemp' }), t.shown + 'XXXXXX');
    }
  }
}

// ---- removal --------------------------------------------------------------------------

/** The merged view of child `name` of a resolved directory, as if resolved directly. */
function* childOf(parent: Merged, name: string): Io<Merged> {
  const members = parent.found!.members;
  const node = { merged: parent.merged, rel: parent.rel, members };
  const merged = parent.merged === '/' ? '/' + name : parent.merged + '/' + name;
  const rel = parent.rel === '' ? name : parent.rel + '/' + name;
  const found = yield* lookupChild(members, name);
  return { kind: 'merged', stack: parent.stack, merged, rel, name, parent: node, chain: [...parent.chain, node], found };
}

/** Does anything below the upper show this name (so that removing it needs a whiteout)? */
function* shownBelow(res: Merged): Io<boolean> {
  const f = res.found!;
  if (f.layer.role === 'lower' || f.members.some((m) => m.layer.role === 'lower')) return true;
  return (yield* lowerEntry(res)) !== null;
}

/**
 * Write the whiteout for `name` that a removal needs, as the first step of `undo`: while the
 * upper still holds the entry it hides nothing (an upper entry is found before its whiteout is
 * looked at), so the removal becomes visible only with the step that removes the upper entry.
 */
function* whiteoutFirst(dir: string, name: string, undo: Undo): Io<void> {
  if (yield* writeWhiteout(dir, name)) undo.add(() => unlinkIfPresent(dir + '/' + whiteoutName(name)));
}

/** Remove a non-directory from the merged view. */
function* removeEntry(res: Merged): Io<void> {
  const below = yield* shownBelow(res);
  if (below) requireWhiteoutName(res.name, 'unlink'); // before anything changes
  const dir = yield* copyUpParents(res);
  const upperReal = res.found!.layer.role === 'upper' ? res.found!.real : null;
  yield* withUndo(function* (undo) {
    if (below) yield* whiteoutFirst(dir, res.name, undo);
    if (upperReal !== null) yield* io.unlink(upperReal);
  });
}

/** Remove an empty (as merged) directory from the merged view. */
function* removeDirectory(res: Merged): Io<void> {
  const below = yield* shownBelow(res);
  if (below) requireWhiteoutName(res.name, 'rmdir');
  const dir = yield* copyUpParents(res);
  yield* withUndo(function* (undo) {
    if (below) yield* whiteoutFirst(dir, res.name, undo);
    // Look at the upper itself: removing children may have copied this directory up meanwhile.
    const upperCopy = dir + '/' + res.name;
    const st = yield* lstatOrNull(upperCopy);
    if (!st || !st.isDirectory()) return;
    try {
      yield* io.rmdir(upperCopy);
    } catch (err) {
      // It still holds whiteouts or an opaque marker: move it out in one step, then delete.
      if ((err as { code?: string }).code !== 'ENOTEMPTY') throw err;
      yield* discard(res.stack, upperCopy);
    }
  });
}

export function* unlink(t: Target): Io<void> {
  if (t.dots) {
    yield* dotsDirectory(t, 'unlink'); // the walk to the last component first
    throw fsError('EISDIR', 'unlink'); // "." and ".." are directories
  }
  const res = yield* locateEntry(t, 'unlink');
  if (res.kind === 'external') return yield* io.unlink(res.real);
  requireUpper(res, 'unlink');
  if (!res.found) throw fsError('ENOENT', 'unlink');
  if (res.found.kind === 'dir') throw fsError('EISDIR', 'unlink');
  if (t.slash) throw fsError('ENOTDIR', 'unlink'); // "x/" names a directory; x is not one
  yield* removeEntry(res);
}

export function* rmdir(t: Target, options?: { recursive?: boolean }): Io<void> {
  if (options?.recursive) return yield* rm(t, { recursive: true, force: false });
  if (t.dots) {
    yield* dotsDirectory(t, 'rmdir'); // the walk to the last component first
    throw fsError(/(^|\/)\.\/*$/.test(t.shown) ? 'EINVAL' : 'ENOTEMPTY', 'rmdir'); // as rmdir(2)
  }
  const res = yield* locateEntry(t, 'rmdir');
  if (res.kind === 'external') return yield* io.rmdir(res.real);
  requireUpper(res, 'rmdir');
  const f = res.found;
  if (!f) throw fsError('ENOENT', 'rmdir');
  if (f.kind !== 'dir') throw fsError('ENOTDIR', 'rmdir');
  if (res.parent === null) throw fsError('EBUSY', 'rmdir');
  if ((yield* listMerged(f.members)).length > 0) throw fsError('ENOTEMPTY', 'rmdir');
  yield* removeDirectory(res);
}

function isDirectoryError(shown: string): Error {
  const err = new Error(`Path is a directory: rm returned EISDIR (is a directory) ${shown}`) as Error & Record<string, unknown>;
  err.name = 'SystemError';
  err.code = 'ERR_FS_EISDIR';
  err.errno = 21;
  err.syscall = 'rm';
  err.path = shown;
  err.info = { code: 'EISDIR', message: 'is a directory', path: shown, syscall: 'rm', errno: 21 };
  return err;
}

function* removeTree(res: Merged): Io<void> {
  const f = res.found!;
  if (f.kind !== 'dir') return yield* removeEntry(res);
  if (f.members.length === 1 && f.layer.role === 'upper' && !(yield* shownBelow(res))) {
    yield* discard(res.stack, f.real); // only the upper holds it: one move, then delete
    return;
  }
  for (const entry of yield* listMerged(f.members)) {
    const child = yield* childOf(res, entry.name);
    if (child.found) yield* removeTree(child);
  }
  yield* removeDirectory(res);
}

/**
 * rm, failing as Node's rm does. Node checks the path with lstat first (always in the async
 * forms; in rmSync unless both force and recursive are set), then runs rimraf, which ignores
 * its own lstat failures and fails in unlink or rmdir.
 */
export function* rm(t: Target, options?: fs.RmOptions): Io<void> {
  const force = options?.force === true;
  const recursive = options?.recursive === true;
  const checked = (yield* io.form()) === 'async' || !(force && recursive);
  const failing = checked ? 'lstat' : 'unlink';
  // "x/" where x is not a directory ("x/." names the directory x leads to: not this case).
  if (t.slash && !t.dots && (yield* rmWithSlashOnNonDirectory(t, force, recursive, checked))) return;
  let res;
  try {
    res = yield* locate(t, false, 'lstat');
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT' && (force || !checked)) return;
    throw Object.assign(err as object, { syscall: failing });
  }
  if (res.kind === 'external') return yield* io.rm(res.real, options ?? {});
  if (!res.found) {
    if (force) return;
    throw fsError('ENOENT', 'lstat');
  }
  if (res.found.kind === 'dir' && !recursive) throw isDirectoryError(t.shown);
  requireUpper(res, 'rm');
  if (res.parent === null) throw fsError('EBUSY', 'rmdir'); // Node's rm ends in rmdir of the root
  // rimraf's first rmdir of "x/." fails EINVAL, before any child goes.
  if (res.found.kind === 'dir' && t.dots && /(^|\/)\.\/*$/.test(t.shown)) throw fsError('EINVAL', 'rmdir');
  if ((res.merged === t.abs && t.walk === undefined) || res.found.kind !== 'dir') return yield* removeTree(res);
  // The path runs through symlinks or `..`, which emptying the directory may remove: finish
  // by path, as rimraf does (its rmdir then finds nothing, and that counts as done).
  for (const entry of yield* listMerged(res.found.members)) {
    // Each child by its path too: an earlier one may have been a link this path runs through.
    yield* rm(targetFor(t, t.shown.replace(/\/*$/, '/') + entry.name), { recursive: true, force: true });
  }
  try {
    yield* rmdir({ ...t, slash: false });
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOENT') throw err;
  }
}

/**
 * rm of "x/" where x is not a directory, following Node's code paths to the letter: ENOTDIR
 * and nothing removed, named after the step that fails (`failing`, see rm); for a symlink to
 * a directory, rmdir fails, which rmSync reports and the async forms ignore (a no-op success).
 * Returns true when rm is done.
 */
function* rmWithSlashOnNonDirectory(t: Target, force: boolean, recursive: boolean, checked: boolean): Io<boolean> {
  const failing = checked ? 'lstat' : 'unlink';
  let entry;
  try {
    entry = yield* locateEntry(t, 'lstat');
  } catch (err) {
    if (force && (err as { code?: string }).code === 'ENOENT') return true;
    throw Object.assign(err as object, { syscall: failing });
  }
  if (entry.kind === 'external' || !entry.found || entry.found.kind === 'dir') return false;
  if (entry.found.kind === 'symlink') {
    let target;
    try {
      target = yield* locate(t, true, 'lstat');
    } catch (err) {
      if (!checked) throw fsError('ENOTDIR', 'unlink'); // rimraf ignores its lstat failure
      if (force && (err as { code?: string }).code === 'ENOENT') return true;
      throw err;
    }
    const st = target.kind === 'external' ? yield* lstatOrNull(target.real) : target.found ? yield* statsOf(target.found) : null;
    if (!st) {
      if (force || !checked) return true;
      throw fsError('ENOENT', 'lstat');
    }
    if (st.isDirectory()) {
      if (!recursive) throw isDirectoryError(t.shown);
      if ((yield* io.form()) === 'async') return true;
      throw fsError('ENOTDIR', 'rmdir');
    }
  }
  throw fsError('ENOTDIR', failing);
}

// ---- rename -----------------------------------------------------------------------------

/**
 * Build the merged directory tree at a fresh real directory `to` (for a directory rename).
 * Entries the upper serves are hard-linked, so they keep their identity (and their other
 * links), as a real move would; lower entries are copied. Nothing visible changes meanwhile.
 */
function* materialize(found: Found, to: string): Io<void> {
  const st = yield* statsOf(found); // before reading the directory (which may touch its atime)
  yield* cloneDirectory(st, to);
  for (const entry of yield* listMerged(found.members)) {
    const child = yield* lookupChild(found.members, entry.name);
    if (!child) continue;
    const dest = to + '/' + entry.name;
    if (child.kind === 'dir') yield* materialize(child, dest);
    else if (child.layer.role === 'upper') yield* io.link(child.real, dest);
    else yield* cloneEntry(child, dest);
  }
  yield* settleTimes(st, to);
}

/**
 * Rename of a non-directory, ordered so that a crash at any point leaves the entry at its
 * source or at its destination (for a moment, at both), and a failure at any step leaves the
 * upper as it was. An upper source: its whiteout first (hidden while the entry is there), then
 * the rename. A lower source: copied up in place (invisible), renamed to the destination, then
 * the whiteout (prepared beforehand in the work directory) is renamed in.
 */
function* renameEntry(rs: Merged, rd: Merged): Io<void> {
  const f = rs.found!;
  const stack = rs.stack;
  const below = yield* shownBelow(rs);
  if (below) requireWhiteoutName(rs.name, 'rename'); // before anything changes
  const toDir = yield* copyUpParents(rd);
  const fromDir = yield* copyUpParents(rs);
  const dest = toDir + '/' + rd.name;
  yield* withUndo(function* (undo) {
    let from = f.real;
    let wh: string | null = null;
    if (f.layer.role === 'upper') {
      if (below) yield* whiteoutFirst(fromDir, rs.name, undo);
    } else {
      wh = yield* prepareWhiteout(stack, undo);
      from = yield* copyUp(rs);
      undo.add(() => unlinkIfPresent(from));
    }
    // A kernel whiteout (a device) at the destination is replaced by the rename itself.
    yield* io.rename(from, dest);
    undo.add(() => io.rename(dest, from));
    if (wh !== null) yield* publish(wh, fromDir + '/' + whiteoutName(rs.name));
    yield* clearWhiteout(toDir, rd.name);
  });
}

/**
 * Directory rename. The kernel refuses lower and merged directories with EXDEV (redirect_dir
 * off); we move the merged tree instead: a directory only the upper holds is renamed as is,
 * any other is copied as merged into the work directory and moved in one rename. Ordered like
 * renameEntry: the destination appears before the source goes, and a failure takes back every
 * step (the copy in the work directory included).
 */
function* renameDirectory(rs: Merged, rd: Merged): Io<void> {
  const f = rs.found!;
  const stack = rs.stack;
  const upper = stack.upper!;
  const below = yield* shownBelow(rs);
  if (below) requireWhiteoutName(rs.name, 'rename'); // before anything changes
  const toDir = yield* copyUpParents(rd);
  const lowerAtDest = yield* lowerEntry(rd);
  const hideDest = lowerAtDest !== null && lowerAtDest.kind === 'dir';
  const upperOnly = f.members.length === 1 && f.layer === upper;
  const fromDir = yield* copyUpParents(rs);
  const dest = toDir + '/' + rd.name;
  const leftovers = yield* withUndo(function* (undo): Io<Array<string | null>> {
    let moving = f.real;
    if (!upperOnly) {
      const tmp = yield* tempPath(stack);
      moving = tmp;
      undo.add(() => io.rm(tmp, { recursive: true, force: true }));
      yield* materialize(f, tmp);
    }
    if (hideDest) {
      yield* writeOpaqueMarker(moving);
      if (upperOnly) undo.add(() => unlinkIfPresent(moving + '/' + OPAQUE_MARKER));
    }
    // The source's whiteout: hidden while the upper holds part of the source, so written first;
    // for a source only the lowers hold, prepared in the work directory and renamed in last.
    let wh: string | null = null;
    if (below) {
      if (f.layer === upper) yield* whiteoutFirst(fromDir, rs.name, undo);
      else wh = yield* prepareWhiteout(stack, undo);
    }
    const kernel = yield* setAsideKernelWhiteout(stack, toDir, rd.name, undo);
    let aside: string | null = null;
    const destUpper = rd.found && rd.found.layer === upper ? rd.found.real : null;
    if (destUpper !== null) {
      // An upper directory at the destination, empty as merged: renamed over when it is really
      // empty (one step); one holding whiteouts is moved aside first, to be put back on failure.
      try {
        yield* io.rename(moving, dest);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
        const a = yield* tempPath(stack);
        yield* publish(destUpper, a);
        undo.add(() => publish(a, destUpper));
        aside = a;
        yield* publish(moving, dest);
      }
    } else {
      yield* publish(moving, dest);
    }
    undo.add(() => publish(dest, moving));
    if (wh !== null) yield* publish(wh, fromDir + '/' + whiteoutName(rs.name));
    if (!upperOnly && f.layer === upper) yield* discard(stack, f.real);
    yield* clearWhiteout(toDir, rd.name);
    return [kernel, aside];
  });
  for (const a of leftovers) yield* dropAside(a);
}

function* sameInode(a: Found, b: Found): Io<boolean> {
  const sa = yield* statsOf(a);
  const sb = yield* statsOf(b);
  return sa.ino === sb.ino && sa.dev === sb.dev;
}

/**
 * The walk to the directory holding a rename's last component (the directory itself for a
 * `.` or `..` end), as renameat2 does for both paths before anything else.
 */
function* renameParent(t: Target): Io<{ t: Target; mount: Stack | null }> {
  if (unsettled(t)) t = yield* settle(t, 'rename');
  const dir = t.dots ? yield* dotsDirectory(t, 'rename') : yield* locateParent(t, 'rename');
  return { t, mount: dir !== null && dir.kind === 'merged' ? dir.stack : null };
}

export function* rename(s: Target, d: Target): Io<void> {
  // Both parents are looked up, the mounts compared (EXDEV), `.`/`..` ends refused (EBUSY),
  // and only then the last components.
  const ps = yield* renameParent(s);
  const pd = yield* renameParent(d);
  if (ps.mount !== pd.mount) throw fsError('EXDEV', 'rename');
  if (s.dots || d.dots) throw fsError('EBUSY', 'rename'); // rename(2) refuses "." and ".." ends
  const rs = yield* locateEntry(ps.t, 'rename');
  const rd = yield* locateEntry(pd.t, 'rename');
  if (rs.kind === 'external' || rd.kind === 'external') {
    if (rs.kind === 'external' && rd.kind === 'external') return yield* io.rename(rs.real, rd.real);
    throw fsError('EXDEV', 'rename');
  }
  if (rs.stack !== rd.stack) throw fsError('EXDEV', 'rename');
  // The merged root's parent lies outside the overlay: like another mount, so EXDEV.
  if ((rs.parent === null) !== (rd.parent === null)) throw fsError('EXDEV', 'rename');
  if (rs.parent === null) return;
  requireUpper(rs, 'rename');
  const f = rs.found;
  if (!f) throw fsError('ENOENT', 'rename');
  const srcIsDir = f.kind === 'dir';
  if (!srcIsDir && (s.slash || d.slash)) throw fsError('ENOTDIR', 'rename');
  if (srcIsDir && rd.merged !== rs.merged && isAtOrUnder(rd.merged, rs.merged)) throw fsError('EINVAL', 'rename');
  if (rd.merged !== rs.merged && isAtOrUnder(rs.merged, rd.merged)) throw fsError('ENOTEMPTY', 'rename');
  if (rs.merged === rd.merged) return;
  const g = rd.found;
  if (g) {
    if (g.layer === f.layer && (yield* sameInode(g, f))) return; // hard links to one file
    const destIsDir = g.kind === 'dir';
    if (srcIsDir && !destIsDir) throw fsError('ENOTDIR', 'rename');
    if (!srcIsDir && destIsDir) throw fsError('EISDIR', 'rename');
    if (destIsDir && (yield* listMerged(g.members)).length > 0) throw fsError('ENOTEMPTY', 'rename');
  }
  if (isReserved(rd.name)) throw reservedName('rename');
  if (srcIsDir) yield* renameDirectory(rs, rd);
  else yield* renameEntry(rs, rd);
}

// ---- links ------------------------------------------------------------------------------

export function* link(s: Target, d: Target): Io<void> {
  // Like linkat(2): the source is looked up first, then the new name.
  const rs = yield* locate(s, false, 'link');
  if (rs.kind === 'merged' ? !rs.found : !(yield* lstatOrNull(rs.real))) throw fsError('ENOENT', 'link');
  if (d.dots) {
    yield* dotsDirectory(d, 'link');
    throw fsError('EEXIST', 'link'); // "x/." names x, which exists
  }
  const rd = yield* locateEntry(d, 'link');
  if (rs.kind === 'external' || rd.kind === 'external') {
    if (rs.kind === 'external' && rd.kind === 'external') return yield* io.link(rs.real, rd.real);
    if (rd.kind === 'merged' && (rd.found || rd.parent === null)) throw fsError('EEXIST', 'link');
    throw fsError('EXDEV', 'link');
  }
  if (rd.found || rd.parent === null) throw fsError('EEXIST', 'link');
  if (d.slash) throw fsError('ENOENT', 'link'); // a trailing slash never creates a non-directory
  if (rs.stack !== rd.stack) throw fsError('EXDEV', 'link');
  requireUpper(rd, 'link');
  if (rs.found!.kind === 'dir') throw fsError('EPERM', 'link');
  if (isReserved(rd.name)) throw reservedName('link');
  const toDir = yield* copyUpParents(rd);
  const lowerSource = rs.found!.layer.role === 'lower';
  // A refused link takes back the copy-up it made (a failed operation copies nothing up).
  yield* createOverWhiteouts(rs.stack, toDir, rd.name, function* (at, undo) {
    const from = yield* copyUp(rs);
    if (lowerSource) undo.add(() => unlinkIfPresent(from));
    yield* io.link(from, at);
    undo.add(() => unlinkIfPresent(at));
  });
}

export function* symlink(target: string | Buffer, d: Target, type?: string | null): Io<void> {
  // symlinkat(2) takes the target string first: an empty one is ENOENT before any lookup.
  if (target.length === 0) throw fsError('ENOENT', 'symlink');
  if (d.dots) {
    yield* dotsDirectory(d, 'symlink');
    throw fsError('EEXIST', 'symlink');
  }
  const rd = yield* locateEntry(d, 'symlink');
  if (rd.kind === 'external') return yield* io.symlink(target, rd.real, type);
  if (rd.found || rd.parent === null) throw fsError('EEXIST', 'symlink');
  if (d.slash) throw fsError('ENOENT', 'symlink'); // a trailing slash never creates a non-directory
  requireUpper(rd, 'symlink');
  if (isReserved(rd.name)) throw reservedName('symlink');
  const dir = yield* copyUpParents(rd);
  yield* createOverWhiteouts(rd.stack, dir, rd.name, function* (at, undo) {
    yield* io.symlink(target, at, type);
    undo.add(() => unlinkIfPresent(at));
  });
}
