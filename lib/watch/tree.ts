/**
 * The merged directories a watcher needs: one directory, or (recursive) a merged directory and
 * every merged directory below it, found with the merged listing (whiteouts and opaque
 * directories applied) so that shadowed layer subtrees are never watched. Symlinks to
 * directories are not descended into, as with Node's recursive watch.
 */
import type { Member, Stack } from '../layers/stack';
import { runSync } from '../io';
import { resolve, lookupChild } from '../router/resolve';
import { listMerged } from '../ops/listing';

export interface MergedDir {
  /** Absolute merged path, free of symlinks. */
  readonly merged: string;
  readonly members: Member[];
}

/** The merge stack of a merged directory now; [] when it is not (or no longer) a directory. */
export function membersOf(stack: Stack, merged: string): Member[] {
  try {
    const res = runSync(resolve(stack, merged, false));
    if (res.kind !== 'merged' || !res.found || res.found.kind !== 'dir') return [];
    return res.found.members;
  } catch {
    return [];
  }
}

/** Whether the merged view has an entry (of any type) at `merged`. */
export function entryExists(stack: Stack, merged: string): boolean {
  try {
    const res = runSync(resolve(stack, merged, false));
    return res.kind === 'external' || res.found !== null;
  } catch {
    return false;
  }
}

/** The merged directory at `merged`, or null when it is not one. */
export function mergedDir(stack: Stack, merged: string): MergedDir | null {
  const members = membersOf(stack, merged);
  return members.length > 0 ? { merged, members } : null;
}

export interface Visit {
  readonly dir: MergedDir;
  /** Path relative to the walk's start ('' for the start). */
  readonly rel: string;
  /** Names of the directory's merged entries. */
  readonly names: string[];
}

/** Depth-first over a merged directory and the merged directories below it. */
export function* walkMerged(start: MergedDir): Generator<Visit> {
  const todo: Array<{ dir: MergedDir; rel: string }> = [{ dir: start, rel: '' }];
  while (todo.length > 0) {
    const { dir, rel } = todo.pop()!;
    let entries;
    try {
      entries = runSync(listMerged(dir.members));
    } catch {
      continue; // vanished while walking: the event that removed it is on its way
    }
    yield { dir, rel, names: entries.map((e) => e.name) };
    for (const e of entries) {
      if (!e.dirent.isDirectory()) continue;
      const found = runSync(lookupChild(dir.members, e.name));
      if (!found || found.kind !== 'dir') continue;
      const merged = dir.merged === '/' ? '/' + e.name : dir.merged + '/' + e.name;
      todo.push({ dir: { merged, members: found.members }, rel: rel === '' ? e.name : rel + '/' + e.name });
    }
  }
}
