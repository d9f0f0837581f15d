/**
 * Where to watch one layer for one merged directory: the layer's own directory at that
 * relative path when it has one, or else its nearest existing ancestor inside the layer, so
 * that the directory is seen when it appears (a copy-up, a mkdir, an editor creating it).
 */
import type * as fs from 'fs';
import { real } from '../real-fs';
import { joinRel } from '../paths';

export interface Spot {
  /** The real directory watched. */
  readonly real: string;
  /** True when `real` is the layer's directory at the relative path itself. */
  readonly exists: boolean;
  readonly st: fs.Stats;
}

/**
 * Walk `rel` inside the layer with lstat: a symlink or a non-directory on the way stops the
 * walk, as the router never follows a layer's own links. Null when the layer root is gone.
 */
export function locate(root: string, rel: string): Spot | null {
  let st = lstat(root);
  if (!st?.isDirectory()) return null;
  let dir = root;
  for (const name of rel === '' ? [] : rel.split('/')) {
    const next = joinRel(dir, name);
    const s = lstat(next);
    if (!s?.isDirectory()) return { real: dir, exists: false, st };
    dir = next;
    st = s;
  }
  return { real: dir, exists: true, st };
}

export function sameSpot(a: Spot | null, b: Spot | null): boolean {
  if (a === null || b === null) return a === b;
  return a.real === b.real && a.exists === b.exists && a.st.ino === b.st.ino && a.st.dev === b.st.dev;
}

/** The names in a real directory (empty when it cannot be read). */
export function namesIn(dir: string): Set<string> {
  try {
    return new Set(real.readdirSync(dir) as string[]);
  } catch {
    return new Set();
  }
}

/** Whether a real entry exists (any type, links not followed). */
export function present(p: string): boolean {
  return lstat(p) !== undefined;
}

function lstat(p: string): fs.Stats | undefined {
  try {
    return real.lstatSync(p, { throwIfNoEntry: false });
  } catch {
    return undefined; // ENOTDIR, EACCES: nothing to watch there
  }
}
