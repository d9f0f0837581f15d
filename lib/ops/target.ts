/** What every operation receives for a path argument, and how it finds what serves it. */
import type { Stack } from '../layers/stack';
import type { PathInput } from '../paths';
import { resolve, lookupChild, type Resolved, type Merged, type Found } from '../router/resolve';
import { fsError } from '../errors';
import { io, type Io } from '../io';
import * as path from 'path';
import { isAtOrUnder, parsePath } from '../paths';
import { undot, type MountTable } from '../router/dots';

export interface Target extends PathInput {
  /** The overlay whose mountpoint holds this path, or null for a path outside every mount. */
  readonly stack: Stack | null;
  /** Every mount, to place the path again once its `..` are walked (see `settle`). */
  readonly mounts?: MountTable;
}

/** Does the path need `settle` before its `abs` and `stack` can be used? */
export function unsettled(t: Target): boolean {
  return t.fail !== undefined || (t.walk !== undefined && t.walk.lexical === t.abs);
}

/**
 * The target as the kernel would reach it: fails as its `fail` says (ENAMETOOLONG, EILSEQ);
 * its `..` components are walked one by one (ENOENT, ENOTDIR on the way) and its mount found
 * again for the path they lead to. Errors carry `syscall`.
 */
export function* settle(t: Target, syscall: string): Io<Target> {
  if (t.fail !== undefined) throw fsError(t.fail, syscall);
  if (t.walk === undefined || t.walk.lexical !== t.abs) return t;
  const abs = yield* undot(t.walk.raw, { find: (p) => mountOf(t, p) }, syscall);
  return { abs, shown: t.shown, slash: t.slash, dots: t.dots, walk: undefined, fail: undefined, stack: mountOf(t, abs), mounts: t.mounts };
}

/** The overlay holding `abs`: from every mount when `t` knows them, else `t`'s own. */
function mountOf(t: Target, abs: string): Stack | null {
  if (t.mounts) return t.mounts.find(abs);
  return t.stack && isAtOrUnder(abs, t.stack.mount) ? t.stack : null;
}

export function* locate(t: Target, follow: boolean, syscall: string): Io<Resolved> {
  if (unsettled(t)) t = yield* settle(t, syscall);
  if (!t.stack) return { kind: 'external', real: t.abs };
  return yield* resolve(t.stack, t.abs, follow, t.slash, syscall);
}

/**
 * Look up the final component itself, as unlink, rmdir, rename, mkdir, link and symlink do:
 * a symlink there is not followed and a trailing slash is the operation's business.
 */
export function* locateEntry(t: Target, syscall: string): Io<Resolved> {
  if (unsettled(t)) t = yield* settle(t, syscall);
  if (!t.stack) return { kind: 'external', real: t.abs };
  const res = yield* resolve(t.stack, t.abs, false, false, syscall);
  // A symlink led out of the overlay: the parent walk there fails as the kernel's would.
  if (res.kind === 'external') yield* requireRealDirectory(path.dirname(res.real), syscall);
  return res;
}

function* requireRealDirectory(dir: string, syscall: string): Io<void> {
  let st;
  try {
    st = yield* io.stat(dir);
  } catch (err) {
    throw fsError((err as { code?: string }).code ?? 'EIO', syscall);
  }
  if (!st.isDirectory()) throw fsError('ENOTDIR', syscall);
}

/** A Target for another path string, in the same overlay when it lies under its mountpoint. */
export function targetFor(t: Target, shown: string): Target {
  const parsed = parsePath(shown)!;
  const stack = mountOf(t, parsed.abs);
  // A path spelled from one that was not UTF-8 (decoded lossily) still fails as it did.
  const fail = parsed.fail ?? (t.fail === 'EILSEQ' ? t.fail : undefined);
  return { ...parsed, fail, stack, mounts: t.mounts };
}

/**
 * The walk to the directory holding the final component, and no further (ENOENT, ENOTDIR on
 * the way): what open(2) with O_CREAT does before refusing a trailing slash with EISDIR.
 */
export function* locateParent(t: Target, syscall: string): Io<Resolved | null> {
  if (unsettled(t)) t = yield* settle(t, syscall);
  const dir = path.dirname(t.abs);
  if (dir === t.abs) return null;
  return yield* locateDirectory({ abs: dir, shown: t.shown, slash: true, dots: false, walk: undefined, fail: undefined, stack: mountOf(t, dir), mounts: t.mounts }, syscall);
}

/**
 * For a path whose final component is `.` or `..`: the directory it names, found as the
 * kernel's walk to that last component finds it (ENOENT, ENOTDIR when it cannot be).
 */
export function* dotsDirectory(t: Target, syscall: string): Io<Resolved> {
  return yield* locateDirectory(t, syscall);
}

/** `t` as a directory the walk must find (ENOENT, ENOTDIR when it cannot). */
function* locateDirectory(t: Target, syscall: string): Io<Resolved> {
  const res = yield* locate({ ...t, slash: true }, true, syscall);
  if (res.kind === 'merged' && res.found === null) throw fsError('ENOENT', syscall);
  if (res.kind === 'external') yield* requireRealDirectory(res.real, syscall);
  return res;
}

/** Throws EROFS when the overlay has no upper layer. */
export function requireUpper(res: Merged, syscall: string): void {
  if (!res.stack.upper) throw fsError('EROFS', syscall);
}

/** The entry a lower layer would show at `res` if the upper did not cover it (null if none). */
export function* lowerEntry(res: Merged): Io<Found | null> {
  if (!res.parent) return null;
  const lowers = res.parent.members.filter((m) => m.layer.role === 'lower');
  return lowers.length === 0 ? null : yield* lookupChild(lowers, res.name);
}

export function isDir(found: Found | null): boolean {
  return found !== null && found.kind === 'dir';
}
