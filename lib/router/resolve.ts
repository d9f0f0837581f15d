/**
 * The router: walks a merged path component by component over the layer stack and answers
 * which layer serves it. Only directories merge; a whiteout, an opaque directory or a
 * non-directory stops the merge. Symlinks are resolved in the merged namespace, never inside
 * a layer path: a relative target against the link's merged directory, an absolute one from
 * the real root (re-entering the overlay when it points under the mountpoint).
 */
import * as path from 'path';
import type { Stack, Member, Layer } from '../layers/stack';
import { isReserved, whiteoutName, isKernelWhiteout, OPAQUE_MARKER } from '../layers/whiteout';
import { io, lstatOrNull, type Io } from '../io';
import { fsError } from '../errors';
import { isAtOrUnder, relativeTo } from '../paths';
import type * as fs from 'fs';

const MAX_LINKS = 40;

/** What serves a merged name: the topmost entry, and for a directory every merging member. */
export interface Found {
  readonly layer: Layer;
  readonly real: string;
  readonly st: fs.Stats;
  /** For a directory, the merge stack top first (members[0] is the serving one); else []. */
  readonly members: Member[];
}

/** A merged directory on the way to a resolved path. */
export interface DirNode {
  readonly merged: string;
  readonly rel: string;
  readonly members: Member[];
}

export interface Merged {
  readonly kind: 'merged';
  readonly stack: Stack;
  /** Final merged path (after following symlinks). */
  readonly merged: string;
  readonly rel: string;
  readonly name: string;
  /** The parent directory (null for the merged root). */
  readonly parent: DirNode | null;
  /** The merged directories from the root down to the parent. */
  readonly chain: DirNode[];
  readonly found: Found | null;
}

export interface External {
  readonly kind: 'external';
  /** A real path outside every layer view: a symlink led out of the mount. */
  readonly real: string;
}

export type Resolved = Merged | External;

export function* isOpaque(dir: string): Io<boolean> {
  return (yield* lstatOrNull(dir + '/' + OPAQUE_MARKER)) !== null;
}

/** Look `name` up in a merged directory given by its members. */
export function* lookupChild(members: readonly Member[], name: string): Io<Found | null> {
  if (isReserved(name)) return null;
  let found: { layer: Layer; real: string; st: fs.Stats; members: Member[] } | null = null;
  for (const m of members) {
    const real = m.real + '/' + name;
    const st = yield* lstatOrNull(real);
    if (st === null) {
      if ((yield* lstatOrNull(m.real + '/' + whiteoutName(name))) !== null) break;
      continue;
    }
    if (isKernelWhiteout(st)) break;
    if (found === null) {
      found = { layer: m.layer, real, st, members: [] };
      if (!st.isDirectory()) break;
    } else if (!st.isDirectory()) break;
    found.members.push({ layer: m.layer, real, st });
    if (yield* isOpaque(real)) break;
  }
  return found;
}

/** The merged root's members: every layer root, down to the first opaque one. */
export function* rootMembers(stack: Stack, fresh = false): Io<Member[]> {
  if (stack.roots && !fresh) return stack.roots;
  const members: Member[] = [];
  for (const layer of stack.layers) {
    const st = yield* io.stat(layer.root);
    members.push({ layer, real: layer.root, st });
    if (yield* isOpaque(layer.root)) break;
  }
  stack.roots = members;
  return members;
}

/** A symlink's target as a new absolute path: relative targets are taken in the merged namespace. */
function linkTarget(dirMerged: string, target: string): string {
  return path.resolve(dirMerged, target);
}

/**
 * Resolve `abs` (absolute) in the overlay. The final component is followed when it is a
 * symlink and `follow` is set (or `slash`: a trailing slash always follows).
 * Throws ENOENT/ENOTDIR for a missing or non-directory parent, ELOOP for too many links,
 * ENOTDIR when `slash` is set and the result exists but is not a directory.
 */
export function* resolve(stack: Stack, abs: string, follow: boolean, slash = false, syscall = 'stat'): Io<Resolved> {
  let hops = 0;
  let current = abs;
  for (;;) {
    if (!isAtOrUnder(current, stack.mount)) return { kind: 'external', real: current };
    const rel = relativeTo(current, stack.mount);
    const parts = rel === '' ? [] : rel.split('/');
    let dir: DirNode = { merged: stack.mount, rel: '', members: yield* rootMembers(stack, parts.length === 0) };
    if (parts.length === 0) {
      const top = dir.members[0];
      return {
        kind: 'merged', stack, merged: stack.mount, rel: '', name: '', parent: null, chain: [],
        found: { layer: top.layer, real: top.real, st: top.st, members: dir.members },
      };
    }
    const chain: DirNode[] = [];
    let restart: string | null = null;
    for (let i = 0; i < parts.length; i++) {
      const name = parts[i];
      const last = i === parts.length - 1;
      const found = yield* lookupChild(dir.members, name);
      const merged = dir.merged === '/' ? '/' + name : dir.merged + '/' + name;
      if (found && found.st.isSymbolicLink() && (!last || follow || slash)) {
        if (++hops > MAX_LINKS) throw fsError('ELOOP', syscall);
        const target = String(yield* io.readlink(found.real));
        const rest = parts.slice(i + 1).join('/');
        const base = linkTarget(dir.merged, target);
        restart = rest === '' ? base : path.resolve(base, rest);
        break;
      }
      chain.push(dir);
      if (last) {
        if (found && slash && !found.st.isDirectory()) throw fsError('ENOTDIR', syscall);
        return { kind: 'merged', stack, merged, rel: relativeTo(merged, stack.mount), name, parent: dir, chain, found };
      }
      if (!found) throw fsError('ENOENT', syscall);
      if (!found.st.isDirectory()) throw fsError('ENOTDIR', syscall);
      dir = { merged, rel: relativeTo(merged, stack.mount), members: found.members };
    }
    current = restart!;
  }
}
