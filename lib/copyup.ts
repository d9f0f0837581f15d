/**
 * Copy-up: before anything changes a lower entry, an upper copy is made, atomically.
 * Data goes to a temporary name in the work directory (same file system as the upper), mode,
 * owner and times are applied, and one rename puts it in place, so a crash never leaves a
 * partial file in the merged view. Concurrent async copy-ups of one path run once.
 * Parent directories are copied first, each with its own mode, owner and times; copying a
 * directory copies only the directory.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Stack } from './layers/stack';
import { statsOf, type Merged, type Found } from './router/resolve';
import { io, lstatOrNull, type Io } from './io';
import { isKernelWhiteout } from './layers/whiteout';
import { joinRel } from './paths';
import { fsError } from './errors';

/** Asked at each copy-up, not at load: a server may load overlay-fs as root and then drop privileges. */
const isRoot = (): boolean => process.geteuid?.() === 0;
let tempCounter = 0;

/**
 * A fresh temporary path in the work directory, which is created on first use. A plain mkdir
 * first: its error is the real one (an async recursive mkdir reports ENOSPC as ENOENT); only a
 * missing parent falls back to creating the whole chain.
 */
export function* tempPath(stack: Stack): Io<string> {
  const work = stack.work!;
  if (!stack.workReady) {
    try {
      yield* io.mkdir(work, 0o700);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ENOENT') yield* io.mkdir(work, { recursive: true, mode: 0o700 });
      else if (code !== 'EEXIST') throw err;
    }
    stack.workReady = true;
  }
  return `${work}/${process.pid}-${++tempCounter}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * Rename between the work directory and the upper. When the upper alone sits on a read-only
 * mount (a bind mount of the same file system), rename(2) says EXDEV, the mounts being
 * different; what the caller needs to hear is EROFS, as for any other write there.
 */
export function* publish(from: string, to: string): Io<void> {
  try {
    yield* io.rename(from, to);
  } catch (err) {
    if ((err as { code?: string }).code !== 'EXDEV') throw err;
    for (const dir of [path.dirname(to), path.dirname(from)]) {
      try {
        yield* io.access(dir, fs.constants.W_OK);
      } catch (e) {
        if ((e as { code?: string }).code === 'EROFS') throw fsError('EROFS', 'rename');
      }
    }
    throw err;
  }
}

/**
 * Make an entry at a temporary name in the work directory with `make`, then put it at `target`
 * with one rename: a failure or a crash half-way never shows a partial entry there. The
 * temporary goes when a step fails.
 */
export function* stageAndPublish(stack: Stack, target: string, make: (tmp: string) => Io<void>): Io<void> {
  const tmp = yield* tempPath(stack);
  try {
    yield* make(tmp);
    yield* publish(tmp, target);
  } catch (err) {
    try { yield* io.rm(tmp, { force: true }); } catch { /* keep the first error */ }
    throw err;
  }
}

/** Remove a real upper entry by first moving it into the work directory (one atomic step). */
export function* discard(stack: Stack, real: string): Io<void> {
  const tmp = yield* tempPath(stack);
  yield* publish(real, tmp);
  yield* io.rm(tmp, { recursive: true, force: true });
}

/** Give `p` the owner of `st` (root only); true when it did. */
function* applyOwner(p: string, st: { readonly uid: number; readonly gid: number }, link: boolean): Io<boolean> {
  if (!isRoot()) return false; // only root may give a file away; the kernel copies owner as the mounter
  if (link) yield* io.lchown(p, st.uid, st.gid);
  else yield* io.chown(p, st.uid, st.gid);
  return true;
}

function* applyTimes(p: string, st: fs.Stats | fs.BigIntStats, link: boolean): Io<void> {
  const ns = st as Partial<fs.BigIntStats>;
  const atime = secondsOf(st.atimeMs, ns.atimeNs);
  const mtime = secondsOf(st.mtimeMs, ns.mtimeNs);
  if (link) yield* io.lutimes(p, atime, mtime);
  else yield* io.utimes(p, atime, mtime);
}

/**
 * A time as the seconds utimes takes. Node keeps microseconds, not nanoseconds: libuv cuts
 * the fraction to whole microseconds, and a double near 1.8e9 s is only good to ~0.24 µs. With
 * the nanoseconds (bigint stats) we aim at the middle of the original microsecond, so the
 * copy keeps exactly the microseconds of the original; from milliseconds, as close as they say.
 */
function secondsOf(ms: number | bigint, ns: bigint | undefined): number {
  if (typeof ns !== 'bigint') return Number(ms) / 1000;
  const us = ns / 1000n;
  return Number(us / 1000000n) + (Number(us % 1000000n) + 0.5) / 1e6;
}

function* copyUpDirectory(target: string, st: fs.Stats): Io<void> {
  try {
    yield* io.mkdir(target, st.mode & 0o7777);
  } catch (err) {
    if ((err as { code?: string }).code !== 'EEXIST') throw err;
    return; // another process or task made it
  }
  yield* applyOwner(target, st, false); // before chmod: chown clears setuid/setgid
  yield* io.chmod(target, st.mode & 0o7777);
  yield* applyTimes(target, st, false);
}

/**
 * Make the directory chain from the merged root down to `res`'s parent exist in the upper.
 * Returns the parent's real upper path.
 */
export function* copyUpParents(res: Merged): Io<string> {
  const upper = res.stack.upper!;
  const fresh: Array<{ real: string; st: fs.Stats }> = [];
  for (const dir of res.chain) {
    if (dir.members[0].layer === upper) continue;
    const real = joinRel(upper.root, dir.rel);
    const st = yield* statsOf(dir.members[0]);
    yield* io.once('dir:' + real, () => copyUpDirectory(real, st));
    fresh.push({ real, st });
  }
  // Creating a child changed each fresh parent's mtime: put the lower times back, deepest first.
  for (let i = fresh.length - 2; i >= 0; i--) yield* applyTimes(fresh[i].real, fresh[i].st, false);
  return res.parent ? joinRel(upper.root, res.parent.rel) : upper.root;
}

/** The upper path of a merged entry, copying it up first when a lower layer serves it. */
export function* copyUp(res: Merged): Io<string> {
  const found = res.found!;
  const upper = res.stack.upper!;
  if (found.layer === upper) return found.real;
  const parent = yield* copyUpParents(res);
  const target = joinRel(upper.root, res.rel);
  // Like the kernel, a copy-up leaves the parent's times as they were.
  const before = (yield* io.lstat(parent, { bigint: true })) as unknown as fs.BigIntStats;
  yield* io.once('up:' + target, () => copyUpEntry(res.stack, found, target));
  yield* applyTimes(parent, before, false);
  return target;
}

function* copyUpEntry(stack: Stack, found: Found, target: string): Io<void> {
  const existing = yield* lstatOrNull(target);
  if (existing && !isKernelWhiteout(existing)) return; // done meanwhile (another task or process)
  if (found.kind === 'dir') {
    if (existing) yield* io.unlink(target);
    yield* copyUpDirectory(target, yield* statsOf(found));
    return;
  }
  yield* stageAndPublish(stack, target, (tmp) => cloneEntry(found, tmp));
}

/**
 * Copy a lower file up with a change already applied (a write, a truncation): the copy is
 * made and changed in the work directory and published with one rename, so a failure (ENOSPC
 * half-way through the data) or a crash leaves the lower content visible, never a partial
 * file. `withData` false: the copy starts empty (the change truncates it anyway). Returns
 * false when the upper already holds the file (another task or process copied it up
 * meanwhile): the caller then changes the upper copy in place.
 */
export function* copyUpChanged(res: Merged, withData: boolean, change: (tmp: string) => Io<void>): Io<boolean> {
  const found = res.found!;
  const upper = res.stack.upper!;
  if (found.layer === upper) return false;
  const parent = yield* copyUpParents(res);
  const target = joinRel(upper.root, res.rel);
  const before = (yield* io.lstat(parent, { bigint: true })) as unknown as fs.BigIntStats;
  let mine = false;
  const stack = res.stack;
  // Under the copy-up's key: a concurrent copy-up of the same path waits for this one.
  yield* io.once('up:' + target, function* (): Io<void> {
    const existing = yield* lstatOrNull(target);
    if (existing && !isKernelWhiteout(existing)) return; // copied up meanwhile
    mine = true;
    yield* stageAndPublish(stack, target, function* (tmp) {
      yield* cloneEntry(found, tmp, withData);
      yield* change(tmp);
    });
  });
  yield* applyTimes(parent, before, false);
  return mine;
}

/**
 * Copy one non-directory entry (file or symlink) to `to`, keeping data, mode, owner where
 * permitted, and times. Not atomic by itself: callers copy to a temporary name.
 */
export function* cloneEntry(from: { readonly real: string; stats?: fs.Stats }, to: string, withData = true): Io<void> {
  // One lstat for everything: type, mode, owner, and the times to the nanosecond (read before
  // the copy reads the data and may touch the atime).
  const times = (yield* io.lstat(from.real, { bigint: true })) as unknown as fs.BigIntStats;
  const mode = Number(times.mode) & 0o7777;
  const link = times.isSymbolicLink();
  if (link) {
    yield* io.symlink(yield* io.readlink(from.real), to);
  } else if (times.isFile() && !withData) {
    yield* io.writeFile(to, '', { flag: 'wx', mode: 0o600 });
  } else if (times.isFile()) {
    // copyFile gives the copy the source's mode itself (libuv fchmod's the new file).
    yield* io.copyFile(from.real, to, fs.constants.COPYFILE_FICLONE);
  } else if (times.isFIFO()) {
    yield* io.mkfifo(to);
  } else {
    throw fsError('EPERM', 'copyfile'); // sockets and devices: Node cannot make them
  }
  const owned = yield* applyOwner(to, { uid: Number(times.uid), gid: Number(times.gid) }, link);
  // A chown clears setuid/setgid, so those are set again after it; a FIFO and an empty copy
  // are made with the umask applied, so they always need their mode.
  if (!link && (!times.isFile() || !withData || (owned && (mode & 0o6000) !== 0))) yield* io.chmod(to, mode);
  yield* applyTimes(to, times, link);
}

/** Copy a directory's attributes onto a fresh directory `to` (not its contents). */
export function* cloneDirectory(st: fs.Stats, to: string): Io<void> {
  yield* copyUpDirectory(to, st);
}

/** Re-apply a directory's times after its contents were filled in. */
export function* settleTimes(st: fs.Stats, to: string): Io<void> {
  yield* applyTimes(to, st, false);
}
