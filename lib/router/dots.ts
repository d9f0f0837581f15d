/**
 * `..` as the kernel takes it. A path's `..` components are not cancelled lexically
 * (`x/..` is not `.`): each one goes to the parent of the directory that the path so far
 * names, after following its symlinks, and fails when that is missing (ENOENT) or not a
 * directory (ENOTDIR). Under a mountpoint the walk happens in the merged namespace; outside
 * every mountpoint, on the real disk.
 */
import * as path from 'path';
import type { Stack } from '../layers/stack';
import { io, type Io } from '../io';
import { fsError } from '../errors';
import { resolve } from './resolve';

export { PATH_MAX, pathTooLong, hasDotDot } from '../paths';

/** Finds the overlay whose mountpoint holds an absolute path (the longest mountpoint wins). */
export interface MountTable {
  find(abs: string): Stack | null;
}

/**
 * Walk `raw` (absolute; may hold `.`, `..` and repeated slashes) as the kernel does and return
 * the path it names, free of `.` and `..` components. Errors carry `syscall`.
 */
export function* undot(raw: string, mounts: MountTable, syscall: string): Io<string> {
  const parts = raw.split('/');
  let cur = '';
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (part === '' || part === '.') continue;
    if (part !== '..') cur += '/' + part;
    else if (cur !== '') { // "/.." is "/"
      cur = yield* parentOf(cur, mounts, syscall);
      if (cur === '/') cur = '';
    }
  }
  return cur === '' ? '/' : cur;
}

/** The parent of the directory `dir` names (symlinks followed). */
function* parentOf(dir: string, mounts: MountTable, syscall: string): Io<string> {
  let real = dir;
  const stack = mounts.find(dir);
  if (stack !== null) {
    const res = yield* resolve(stack, dir, true, true, syscall); // a non-directory: ENOTDIR
    if (res.kind === 'merged') {
      if (res.found === null) throw fsError('ENOENT', syscall);
      return path.dirname(res.merged);
    }
    real = res.real; // a symlink led out of the overlay
  }
  let st;
  try {
    real = String(yield* io.realpath(real));
    st = yield* io.stat(real);
  } catch (err) {
    throw fsError((err as { code?: string }).code ?? 'EIO', syscall);
  }
  if (!st.isDirectory()) throw fsError('ENOTDIR', syscall);
  return path.dirname(real);
}
