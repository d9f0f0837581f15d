/**
 * The last line of defence for "lower layers are never written": every mutating real call is
 * checked against the lower roots of every live overlay (until it is closed), whatever path
 * led to it (a bug, or a symlink planted in a layer that points into another lower).
 */
import { isAtOrUnder } from '../paths';
import { fsError } from '../errors';

const lowerRoots = new Map<string, number>();

export function protectLowers(roots: readonly string[]): void {
  for (const r of roots) lowerRoots.set(r, (lowerRoots.get(r) ?? 0) + 1);
}

/** An overlay closed: its lower roots are no longer protected on its account (counted). */
export function releaseLowers(roots: readonly string[]): void {
  for (const r of roots) {
    const n = (lowerRoots.get(r) ?? 0) - 1;
    if (n > 0) lowerRoots.set(r, n);
    else lowerRoots.delete(r);
  }
}

export function guardWrite(realPath: string, syscall: string): void {
  if (typeof realPath !== 'string') return;
  for (const root of lowerRoots.keys()) {
    if (isAtOrUnder(realPath, root)) throw fsError('EROFS', syscall);
  }
}
