/**
 * The router: walks a merged path component by component over the layer stack and answers
 * which layer serves it. Only directories merge; a whiteout, an opaque directory or a
 * non-directory stops the merge. Symlinks are resolved in the merged namespace, never inside
 * a layer path: a relative target against the link's merged directory, an absolute one from
 * the real root (re-entering the overlay when it points under the mountpoint).
 *
 * With the cache (the default) each layer directory's names come from its index
 * (index-cache.ts) and a walk makes no system call while the indexes are fresh; resolutions
 * are also remembered per merged path (PathEntry), each with the indexes and versions it was
 * read from, so a repeated lookup is one map lookup and a validity check. Without the cache,
 * every layer is probed with lstat at every component. Both give the same answers.
 */
import * as path from 'path';
import type { Stack, Member, Layer } from '../layers/stack';
import { isReserved, nameTooLong, isKernelWhiteout, OPAQUE_MARKER } from '../layers/whiteout';
import { io, lstatOrNull, type Io } from '../io';
import { fsError } from '../errors';
import { isAtOrUnder, relativeTo } from '../paths';
import { hasOciWhiteout } from '../layers/marks';
import {
  clock, usable, touch, ensure, revalidateNow, indexOf, childIndex, indexEpoch, indexGeneration, clockNow, freshUntil, maxPaths, type DirIndex,
  T_FILE, T_DIR, T_LINK, T_WHITEOUT,
} from './index-cache';
import type * as fs from 'fs';

const MAX_LINKS = 40;

/** What an entry is, as far as routing cares; real Stats come from `statsOf` when needed. */
export type EntryKind = 'dir' | 'file' | 'symlink' | 'other';

/** What serves a merged name: the topmost entry, and for a directory every merging member. */
export interface Found {
  readonly layer: Layer;
  readonly real: string;
  readonly kind: EntryKind;
  /** For a directory, the merge stack top first (members[0] is the serving one); else []. */
  readonly members: Member[];
  /** Its lstat, when the lookup made one (cache off); read it with `statsOf`. */
  readonly stats?: fs.Stats;
}

/**
 * The real Stats (lstat) of a found entry or member: the one the lookup made when it made one
 * (cache off), else one lstat now.
 */
export function* statsOf(entry: { readonly real: string; readonly stats?: fs.Stats }): Io<fs.Stats> {
  if (entry.stats !== undefined) return entry.stats;
  // Not kept on the entry: with the cache, found entries are shared between operations.
  return (yield { op: 'lstat', args: [entry.real] }) as fs.Stats; // io.lstat, one generator less
}

export function kindOfStats(st: fs.Stats): EntryKind {
  if (st.isDirectory()) return 'dir';
  if (st.isFile()) return 'file';
  if (st.isSymbolicLink()) return 'symlink';
  return 'other';
}

function kindOfType(t: number): EntryKind {
  return t === T_DIR ? 'dir' : t === T_FILE ? 'file' : t === T_LINK ? 'symlink' : 'other';
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

// ---- without the cache: probing ---------------------------------------------------------------

function* probeChild(members: readonly Member[], name: string): Io<Found | null> {
  let found: { layer: Layer; real: string; kind: EntryKind; stats: fs.Stats; members: Member[] } | null = null;
  for (const m of members) {
    const real = m.real + '/' + name;
    const st = yield* lstatOrNull(real);
    if (st === null) {
      if (yield* hasOciWhiteout(m.real, name)) break;
      continue;
    }
    if (isKernelWhiteout(st)) break;
    if (found === null) {
      found = { layer: m.layer, real, kind: kindOfStats(st), stats: st, members: [] };
      if (!st.isDirectory()) break;
    } else if (!st.isDirectory()) break;
    found.members.push({ layer: m.layer, real, stats: st });
    if (yield* isOpaque(real)) break;
  }
  return found;
}

// ---- with the cache: the directory index ------------------------------------------------------

/** The members of every non-directory (shared: never added to). */
const NO_MEMBERS = Object.freeze([]) as unknown as Member[];

const NO_DEPS: readonly DirIndex[] = Object.freeze([]);
const NO_VERSIONS: readonly number[] = Object.freeze([]);

/** Returned by the synchronous lookup when some index needs I/O first. */
const NEED_IO = Symbol('need-io');

/** The indexes (and their versions) an answer was read from; `ok` false: not to be remembered. */
interface Deps {
  readonly idx: DirIndex[];
  readonly ver: number[];
  ok: boolean;
}

function memberIndex(m: Member): DirIndex {
  let idx = m.idx;
  if (idx === undefined || idx.dead) {
    idx = indexOf(m.real);
    m.idx = idx;
  }
  return idx;
}

/**
 * Look `name` up from fresh indexes alone (no I/O): the answer, or NEED_IO when an index is
 * missing, stale or of a directory that must be probed.
 */
function lookupIndexed(members: readonly Member[], name: string, deps: Deps | null): Found | null | typeof NEED_IO {
  let found: { layer: Layer; real: string; kind: EntryKind; members: Member[] } | null = null;
  for (let i = 0; i < members.length; i++) {
    const m = members[i];
    const idx = m.idx;
    if (idx === undefined || idx.dead || !usable(idx)) return NEED_IO;
    touch(idx);
    if (deps !== null) { deps.idx.push(idx); deps.ver.push(idx.version); }
    const t = idx.entries.get(name);
    if (t === undefined) {
      if (idx.oci !== null && idx.oci.has(name)) break;
      continue;
    }
    if (t === T_WHITEOUT) break;
    if (t !== T_DIR) {
      if (found === null) found = { layer: m.layer, real: m.real + '/' + name, kind: kindOfType(t), members: NO_MEMBERS };
      break;
    }
    const kid = idx.kids === null ? undefined : idx.kids.get(name);
    if (kid === undefined || kid.dead || !usable(kid)) return NEED_IO;
    touch(kid);
    if (deps !== null) { deps.idx.push(kid); deps.ver.push(kid.version); }
    // The kid's own path string: flat and already hashed, unlike a fresh concatenation.
    if (found === null) found = { layer: m.layer, real: kid.real, kind: 'dir', members: [] };
    found.members.push({ layer: m.layer, real: kid.real, idx: kid });
    if (kid.opaque) break;
  }
  return found;
}

/** The same lookup, reading or validating indexes as needed (and probing unreadable ones). */
function* lookupWithIo(members: readonly Member[], name: string, deps: Deps | null): Io<Found | null> {
  let found: { layer: Layer; real: string; kind: EntryKind; members: Member[] } | null = null;
  for (const m of members) {
    const idx = memberIndex(m);
    if (!usable(idx)) yield* ensure(idx);
    touch(idx);
    if (deps !== null) { deps.idx.push(idx); deps.ver.push(idx.version); }
    let t: number | undefined;
    if (idx.fallback) {
      if (deps !== null) deps.ok = false;
      const st = yield* lstatOrNull(m.real + '/' + name);
      if (st === null) {
        if (yield* hasOciWhiteout(m.real, name)) break;
        continue;
      }
      t = isKernelWhiteout(st) ? T_WHITEOUT : st.isDirectory() ? T_DIR : st.isFile() ? T_FILE : st.isSymbolicLink() ? T_LINK : 0;
    } else {
      t = idx.entries.get(name);
      if (t === undefined) {
        if (idx.oci !== null && idx.oci.has(name)) break;
        continue;
      }
    }
    if (t === T_WHITEOUT) break;
    if (t !== T_DIR) {
      if (found === null) found = { layer: m.layer, real: m.real + '/' + name, kind: kindOfType(t), members: NO_MEMBERS };
      break;
    }
    const kid = childIndex(idx, name, m.real + '/' + name);
    if (!usable(kid)) yield* ensure(kid);
    touch(kid);
    if (deps !== null) { deps.idx.push(kid); deps.ver.push(kid.version); }
    if (found === null) found = { layer: m.layer, real: kid.real, kind: 'dir', members: [] };
    found.members.push({ layer: m.layer, real: kid.real, idx: kid });
    if (kid.fallback) {
      if (deps !== null) deps.ok = false;
      if (yield* isOpaque(kid.real)) break;
    } else if (kid.opaque) break;
  }
  return found;
}

/** Look `name` up in a merged directory given by its members. */
export function* lookupChild(members: readonly Member[], name: string): Io<Found | null> {
  if (isReserved(name)) return null;
  if (members.length === 0 || !members[0].layer.cached) return yield* probeChild(members, name);
  clock();
  const quick = lookupIndexed(members, name, null);
  if (quick !== NEED_IO) return quick;
  return yield* lookupWithIo(members, name, null);
}

/** The merged root's members: every layer root, down to the first opaque one. */
export function* rootMembers(stack: Stack, fresh = false): Io<Member[]> {
  if (stack.cache) {
    const quick = rootsIndexed(stack);
    if (quick !== null) return quick;
    return yield* rootsWithIo(stack);
  }
  const kept = stack.roots;
  if (kept !== null && !fresh) {
    // Without the cache every lookup asks the file system: an opaque marker added to or removed
    // from a layer root by hand counts at once. The roots' own stats are kept (roots stay).
    let n = 0;
    for (const layer of stack.layers) {
      n++;
      if (yield* isOpaque(layer.root)) break;
    }
    if (n === kept.length) return kept;
  }
  const members: Member[] = [];
  for (const layer of stack.layers) {
    const st = yield* io.stat(layer.root);
    members.push({ layer, real: layer.root, stats: st });
    if (yield* isOpaque(layer.root)) break;
  }
  stack.roots = members;
  return members;
}

function rootIndex(stack: Stack, i: number): DirIndex {
  const roots = stack.rootIndexes ??= [];
  let idx = roots[i];
  if (idx === undefined || idx.dead) {
    idx = indexOf(stack.layers[i].root);
    roots[i] = idx;
  }
  return idx;
}

/** The root members from fresh indexes (null when one needs I/O); the same array while unchanged. */
function rootsIndexed(stack: Stack): Member[] | null {
  const layers = stack.layers;
  let n = 0;
  for (let i = 0; i < layers.length; i++) {
    const idx = rootIndex(stack, i);
    if (!usable(idx)) return null;
    touch(idx);
    n = i + 1;
    if (idx.opaque) break;
  }
  return sameRoots(stack, n) ? stack.roots! : newRoots(stack, n, true);
}

function* rootsWithIo(stack: Stack): Io<Member[]> {
  let n = 0;
  let readable = true;
  for (let i = 0; i < stack.layers.length; i++) {
    const idx = rootIndex(stack, i);
    yield* ensure(idx);
    touch(idx);
    n = i + 1;
    if (idx.fallback) readable = false;
    if (idx.fallback ? yield* isOpaque(idx.real) : idx.opaque) break;
  }
  return sameRoots(stack, n) && readable ? stack.roots! : newRoots(stack, n, readable);
}

function sameRoots(stack: Stack, n: number): boolean {
  const roots = stack.roots;
  const entry = stack.rootEntry;
  if (roots === null || roots.length !== n || entry === undefined || entry === null) return false;
  for (let i = 0; i < n; i++) {
    const idx = stack.rootIndexes![i];
    if (roots[i].idx !== idx || entry.ver[i] !== idx.version) return false;
  }
  return true;
}

function newRoots(stack: Stack, n: number, remember: boolean): Member[] {
  const idxs = stack.rootIndexes!;
  const members: Member[] = [];
  for (let i = 0; i < n; i++) members.push({ layer: stack.layers[i], real: stack.layers[i].root, idx: idxs[i] });
  stack.roots = members;
  const top = members[0];
  stack.rootEntry = remember
    ? {
      parent: null, rel: '', name: '', found: { layer: top.layer, real: top.real, kind: 'dir', members },
      deps: idxs.slice(0, n), ver: idxs.slice(0, n).map((x) => x.version),
    }
    : null;
  return members;
}

/** A symlink's target as a new absolute path: relative targets are taken in the merged namespace. */
function linkTarget(dirMerged: string, target: string): string {
  return path.resolve(dirMerged, target);
}

// ---- remembered resolutions ------------------------------------------------------------------------

/**
 * The resolution of one merged path, its final component not followed (like a dentry): what
 * serves it, and the indexes (with their versions) the answer was read from. Valid while those
 * are unchanged and fresh, and so is its parent directory's entry. Kept per overlay by path
 * (with the cache on), so that a repeated lookup costs one map lookup and a few checks.
 */
export interface PathEntry {
  readonly parent: PathEntry | null;
  readonly rel: string;
  readonly name: string;
  readonly found: Found | null;
  readonly deps: readonly DirIndex[];
  readonly ver: readonly number[];
  /** Checked valid at index generation `gen`, with every index on the way fresh until `until`. */
  gen?: number;
  until?: number;
}

const VALID = 0;
const EXPIRED = 1; // unchanged as far as known, but some index is past its TTL
const INVALID = 2;

function check(e: PathEntry): number {
  // Nothing changed anywhere since it was last found valid, and no index has expired since.
  const now = clockNow();
  if (e.gen === indexGeneration() && now < e.until!) return VALID;
  let state = VALID;
  let until = Infinity;
  for (let x: PathEntry | null = e; x !== null; x = x.parent) {
    const deps = x.deps;
    const ver = x.ver;
    for (let i = 0; i < deps.length; i++) {
      const d = deps[i];
      if (d.version !== ver[i] || d.dead) return INVALID;
      if (!usable(d)) state = EXPIRED;
      else {
        touch(d);
        const u = freshUntil(d);
        if (u < until) until = u;
      }
    }
  }
  if (state === VALID) {
    e.gen = indexGeneration();
    e.until = until;
  }
  return state;
}

/** Validate an expired entry's indexes against their directories; true when none changed. */
function* revalidate(e: PathEntry): Io<boolean> {
  for (let x: PathEntry | null = e; x !== null; x = x.parent) {
    for (const d of x.deps) if (!usable(d) && !d.fallback) yield* ensure(d);
  }
  return check(e) === VALID;
}

function pathsOf(stack: Stack): Map<string, PathEntry> {
  const epoch = indexEpoch();
  let paths = stack.paths;
  if (paths === undefined || stack.pathsEpoch !== epoch || paths.size > maxPaths()) {
    paths = new Map();
    stack.paths = paths;
    stack.pathsEpoch = epoch;
  }
  return paths;
}

/**
 * A directory on the walk, its paths spelled out only when asked (reads never ask; copy-up
 * and the name operations do).
 */
class WalkNode implements DirNode {
  constructor(private readonly mount: string, readonly rel: string, readonly members: Member[]) {}
  get merged(): string {
    const rel = this.rel;
    return rel === '' ? this.mount : this.mount === '/' ? '/' + rel : this.mount + '/' + rel;
  }
}

/** A resolved merged path whose parent and chain are built from its entries only when asked. */
class Walked implements Merged {
  readonly kind = 'merged' as const;
  #chain: DirNode[] | undefined;
  constructor(readonly stack: Stack, readonly merged: string, private readonly entry: PathEntry) {}
  get rel(): string { return this.entry.rel; }
  get name(): string { return this.entry.name; }
  get found(): Found | null { return this.entry.found; }
  get chain(): DirNode[] {
    if (this.#chain === undefined) {
      const chain: DirNode[] = [];
      for (let x = this.entry.parent; x !== null; x = x.parent) chain.push(new WalkNode(this.stack.mount, x.rel, x.found!.members));
      this.#chain = chain.reverse();
    }
    return this.#chain;
  }
  get parent(): DirNode | null {
    const chain = this.chain;
    return chain.length === 0 ? null : chain[chain.length - 1];
  }
}

/**
 * Resolve `abs` (absolute) in the overlay. The final component is followed when it is a
 * symlink and `follow` is set (or `slash`: a trailing slash always follows).
 * Throws ENOENT/ENOTDIR for a missing or non-directory parent, ELOOP for too many links,
 * ENOTDIR when `slash` is set and the result exists but is not a directory.
 */
export function* resolve(stack: Stack, abs: string, follow: boolean, slash = false, syscall = 'stat'): Io<Resolved> {
  const cached = stack.cache;
  let paths: Map<string, PathEntry> | null = null;
  if (cached) {
    clock();
    paths = pathsOf(stack);
    const e = paths.get(abs);
    if (e !== undefined) {
      const f = e.found;
      const state = check(e);
      if (state !== INVALID && (f === null || f.kind !== 'symlink' || !(follow || slash)) && !(slash && f !== null && f.kind !== 'dir')) {
        if (state === VALID || (yield* revalidate(e))) return new Walked(stack, abs, e);
      }
    }
  }
  let hops = 0;
  let current = abs;
  for (;;) {
    if (!isAtOrUnder(current, stack.mount)) return { kind: 'external', real: current };
    const rel = relativeTo(current, stack.mount);
    const roots = yield* rootMembers(stack, rel === '');
    // Entries are kept (in `paths`) only while every answer on the way came from indexes.
    let keep = paths !== null && stack.rootEntry !== undefined && stack.rootEntry !== null;
    let entry: PathEntry = keep ? stack.rootEntry! : {
      parent: null, rel: '', name: '',
      found: { layer: roots[0].layer, real: roots[0].real, kind: 'dir', stats: roots[0].stats, members: roots }, deps: NO_DEPS, ver: NO_VERSIONS,
    };
    if (rel === '') return new Walked(stack, current, entry);
    const parts = rel.split('/');
    const base = current.length - rel.length;
    let members = roots;
    let start = 0;
    let relEnd = -1;
    if (keep) {
      // Start from the deepest remembered directory on the way (usually the parent), so that
      // entries share their ancestors and a new name costs one lookup.
      let end = current.length;
      for (let i = parts.length - 1; i >= 1; i--) {
        end -= parts[i].length + 1;
        const e = paths!.get(current.slice(0, end));
        if (e === undefined) continue;
        const state = check(e);
        if (state === INVALID || (state === EXPIRED && !(yield* revalidate(e)))) continue;
        if (e.found !== null && e.found.kind === 'dir') {
          entry = e;
          members = e.found.members;
          start = i;
          relEnd = end - base;
        }
        break; // a non-directory on the way: the walk from the root meets it (and follows or fails)
      }
    }
    let restart: string | null = null;
    for (let i = start; i < parts.length; i++) {
      const name = parts[i];
      const last = i === parts.length - 1;
      relEnd += name.length + 1;
      let found: Found | null;
      // Like a file system's lookup: a name over NAME_MAX bytes is refused once its directory is found.
      if (nameTooLong(name)) throw fsError('ENAMETOOLONG', syscall);
      const deps: Deps | null = keep ? { idx: [], ver: [], ok: true } : null;
      if (isReserved(name)) found = null;
      else if (!cached) found = yield* probeChild(members, name);
      else {
        const quick = lookupIndexed(members, name, deps);
        if (quick !== NEED_IO) found = quick;
        else {
          if (deps !== null) { deps.idx.length = 0; deps.ver.length = 0; }
          found = yield* lookupWithIo(members, name, deps);
        }
      }
      entry = {
        parent: entry, rel: last ? rel : rel.slice(0, relEnd), name, found,
        // Exact-size copies: a pushed-to array keeps room for 17.
        deps: deps === null ? NO_DEPS : deps.idx.slice(), ver: deps === null ? NO_VERSIONS : deps.ver.slice(),
      };
      if (keep) {
        if (deps!.ok) paths!.set(last ? current : current.slice(0, base + relEnd), entry);
        else keep = false;
      }
      if (found !== null && found.kind === 'symlink' && (!last || follow || slash)) {
        if (++hops > MAX_LINKS) throw fsError('ELOOP', syscall);
        const target = String(yield* io.readlink(found.real));
        const rest = parts.slice(i + 1).join('/');
        const dirRel = entry.parent!.rel;
        const dirMerged = dirRel === '' ? stack.mount : stack.mount === '/' ? '/' + dirRel : stack.mount + '/' + dirRel;
        const to = linkTarget(dirMerged, target);
        restart = rest === '' ? to : path.resolve(to, rest);
        break;
      }
      if (last) {
        if (found !== null && slash && found.kind !== 'dir') throw fsError('ENOTDIR', syscall);
        return new Walked(stack, current, entry);
      }
      if (found === null) throw fsError('ENOENT', syscall);
      if (found.kind !== 'dir') throw fsError('ENOTDIR', syscall);
      members = found.members;
    }
    current = restart!;
  }
}

/**
 * The remembered answer for `abs` (under the mountpoint; a path not in normal absolute form is
 * never remembered, so it finds nothing) when it holds right now without any I/O: every index it was read from unchanged and within its TTL. Undefined
 * when the full `resolve` is needed (nothing remembered, something to validate, a symlink to
 * follow). The Node adapter's fast path for repeated reads (lib/ops/read.ts `*Quick`).
 */
export function remembered(stack: Stack, abs: string, follow: boolean): Found | null | undefined {
  if (!stack.cache) return undefined;
  const paths = stack.paths;
  if (paths === undefined || stack.pathsEpoch !== indexEpoch()) return undefined;
  const e = paths.get(abs);
  if (e === undefined) return undefined;
  const f = e.found;
  if (follow && f !== null && f.kind === 'symlink') return undefined;
  clock();
  const state = check(e);
  if (state === VALID) return f;
  if (state === INVALID) return undefined;
  // Expired: trust the indexes again where their directories are unchanged (no I/O request).
  for (let x: PathEntry | null = e; x !== null; x = x.parent) {
    for (const d of x.deps) if (!usable(d) && !revalidateNow(d)) return undefined;
  }
  return check(e) === VALID ? f : undefined;
}
