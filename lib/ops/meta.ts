/** Metadata changes: chmod, chown, lchown, utimes, lutimes, and their descriptor forms. */
import type * as fs from 'fs';
import { io, type Io } from '../io';
import { fsError } from '../errors';
import { locate, requireUpper, type Target } from './target';
import { copyUp } from '../copyup';
import { resolve, statsOf, type Found } from '../router/resolve';
import { lookupFd } from '../node/fds';

type Check = (found: Found, syscall: string) => Io<void>;

/**
 * Copy up what `t` names (a directory copies only itself), then apply the change to the upper.
 * `check` refuses a change the caller may not make before anything is copied up, as the
 * kernel checks permission before its copy-up.
 */
function* changeMeta(t: Target, follow: boolean, syscall: string, apply: (real: string) => Io<void>, check?: Check): Io<void> {
  const res = yield* locate(t, follow, syscall);
  if (res.kind === 'external') return yield* apply(res.real);
  if (!res.found) throw fsError('ENOENT', syscall);
  requireUpper(res, syscall);
  if (check && res.found.layer.role === 'lower') yield* check(res.found, syscall);
  yield* apply(yield* copyUp(res));
}

/**
 * chown(2)'s permission rule: root may give any owner and group; anyone else must own the
 * file, may only name its present owner, and may only set its present group or a group they
 * belong to. EPERM otherwise.
 */
function mayChown(uid: number, gid: number): Check {
  return function* (found, syscall) {
    const euid = process.geteuid?.();
    if (euid === undefined || euid === 0) return;
    if (uid === -1 && gid === -1) return; // changes nothing: allowed to anyone
    const st = yield* statsOf(found);
    const groups = [process.getegid?.(), ...(process.getgroups?.() ?? [])];
    const uidOk = uid === -1 || uid === st.uid;
    const gidOk = gid === -1 || gid === st.gid || groups.includes(gid);
    if (st.uid !== euid || !uidOk || !gidOk) throw fsError('EPERM', syscall);
  };
}

export function* chmod(t: Target, mode: fs.Mode): Io<void> {
  yield* changeMeta(t, true, 'chmod', (p) => io.chmod(p, mode));
}
export function* chown(t: Target, uid: number, gid: number): Io<void> {
  yield* changeMeta(t, true, 'chown', (p) => io.chown(p, uid, gid), mayChown(uid, gid));
}
export function* lchown(t: Target, uid: number, gid: number): Io<void> {
  yield* changeMeta(t, false, 'lchown', (p) => io.lchown(p, uid, gid), mayChown(uid, gid));
}
export function* utimes(t: Target, atime: fs.TimeLike, mtime: fs.TimeLike): Io<void> {
  yield* changeMeta(t, true, 'utime', (p) => io.utimes(p, atime, mtime));
}
export function* lutimes(t: Target, atime: fs.TimeLike, mtime: fs.TimeLike): Io<void> {
  yield* changeMeta(t, false, 'lutime', (p) => io.lutimes(p, atime, mtime));
}

/**
 * A metadata change through a descriptor the overlay opened on a lower file: copy up the
 * merged path and change the upper copy, so the lower file is never touched.
 */
function* changeThroughFd(fd: number, syscall: string, apply: (real: string) => Io<void>): Io<void> {
  const file = lookupFd(fd)!;
  if (!file.stack.upper) throw fsError('EROFS', syscall);
  const res = yield* resolve(file.stack, file.merged, false, false, syscall);
  if (res.kind === 'external' || !res.found) throw fsError('ENOENT', syscall);
  yield* apply(yield* copyUp(res));
}

export function* fchmod(fd: number, mode: fs.Mode): Io<void> {
  yield* changeThroughFd(fd, 'fchmod', (p) => io.chmod(p, mode));
}
export function* fchown(fd: number, uid: number, gid: number): Io<void> {
  yield* changeThroughFd(fd, 'fchown', (p) => io.chown(p, uid, gid));
}
export function* futimes(fd: number, atime: fs.TimeLike, mtime: fs.TimeLike): Io<void> {
  yield* changeThroughFd(fd, 'futime', (p) => io.utimes(p, atime, mtime));
}
