/**
 * The directory index: what the router knows of a real layer directory without asking the
 * file system again. One `readdir(withFileTypes)` of a directory gives every name with its type,
 * the OCI whiteouts (`.wh.x`), the kernel whiteouts (character devices 0:0, checked once with
 * lstat when the index is built) and the opaque marker; a merged lookup then costs no system
 * call, and a merged stat or readFile only the real one.
 *
 * Freshness. The overlay's own mutations update or invalidate the index as they happen: every
 * mutating request of lib/io.ts names the real paths it changes and `noteMutation` applies it
 * (see `observeIo` there). Changes made by other programs (or by this process through plain
 * fs) are found two ways:
 *  - Watching (lib/router/index-watch.ts): an indexed directory gets an inotify watch before it
 *    is read; each event names an entry, which is looked at again (one lstat) and updated in
 *    place. Events arrive when the event loop turns, so such a change shows at the next turn.
 *  - Validation, for what events cannot cover: a watched index is trusted for at most
 *    `watchedTtlMs` (the backstop for synchronous stretches that never let events in, and for
 *    lost events), an unwatched one (watching off, over `maxWatches`, or refused by the system)
 *    for at most `ttlMs` (see `freshUntil`); after that the next use lstat's the directory and
 *    compares its mtime, ctime and inode number with the ones the index was built from, and
 *    reads it again when they differ. A directory whose mtime lies within the timestamp
 *    granularity of the moment it was read ("racy": a later change in the same clock tick would
 *    leave the mtime as it was) is read again at its next check instead of being trusted on
 *    its mtime.
 * So a change behind the overlay's back shows at the next turn of the event loop, and within
 * `watchedTtlMs` (1 s) in code that does not return to it; unwatched, within `ttlMs` (50 ms).
 *
 * Memory is bounded: every index counts one plus its names against `maxEntries` (process-wide,
 * shared by every overlay; indexes are per real directory, so overlays sharing a layer share its
 * index). When the total goes over, the least recently used indexes are dropped (with the indexes
 * of their subdirectories) down to three quarters of the bound. A directory with more than a
 * quarter of the bound in names is not indexed at all (looked up by probing, as with the cache off).
 */
import type * as fs from 'fs';
import { real } from '../real-fs';
import { io, lstatOrNull, lstatNowOrNull, observeIo, type Io } from '../io';
import { OPAQUE_MARKER, WHITEOUT_PREFIX, isKernelWhiteout } from '../layers/whiteout';

/** Dirent types, as Node numbers them (fs.constants.UV_DIRENT_*), and a kernel whiteout. */
export const T_UNKNOWN = 0;
export const T_FILE = 1;
export const T_DIR = 2;
export const T_LINK = 3;
export const T_FIFO = 4;
export const T_CHAR = 6;
export const T_WHITEOUT = -1;

export interface IndexSettings {
  /** How long an unwatched index is trusted without looking at its directory again (ms). */
  ttlMs: number;
  /** The same for a watched index: the backstop for changes whose events have not arrived (ms). */
  watchedTtlMs: number;
  /** Watch indexed directories (inotify), so that changes show without waiting for a TTL. */
  watch: boolean;
  /**
   * Bound on the directories watched at once (each holds one inotify watch of the user's
   * quota); lib/router/index-watch.ts sets it from the system's quota.
   */
  maxWatches: number;
  /** Bound on the names held, over every index in the process. */
  maxEntries: number;
  /** Bound on the merged paths remembered per overlay (lib/router/resolve.ts); over it they are forgotten. */
  maxPaths: number;
}

const DEFAULTS: IndexSettings = { ttlMs: 50, watchedTtlMs: 1000, watch: true, maxWatches: 8192, maxEntries: 200_000, maxPaths: 50_000 };
const settings: IndexSettings = { ...DEFAULTS };

let serial = 0;

/** The index of one real directory. Objects are stable per path until dropped. */
export class DirIndex {
  /** The parent directory's index when it is cached (subtree invalidation walks `kids`). */
  parent: DirIndex | null = null;
  kids: Map<string, DirIndex> | null = null;
  /** Name to type (T_*), in the directory's readdir order while `ordered`; no `.wh.` names. */
  entries: Map<string, number> = new Map();
  /** Names hidden by an OCI whiteout `.wh.<name>` in this directory. */
  oci: Set<string> | null = null;
  opaque = false;
  /** `entries` is in readdir order (false after in-place updates: a listing reads it again). */
  ordered = false;
  /** The directory cannot be read (EACCES, ...): its names are looked up by probing. */
  fallback = false;
  /** The contents are valid (subject to the TTL). False: read again before use. */
  loaded = false;
  /** Dropped from the cache (holders may still read the snapshot they have). */
  dead = false;
  ino = -1;
  /** Birth time of the directory read (0 where the file system keeps none). */
  birthMs = 0;
  mtimeMs = NaN;
  ctimeMs = NaN;
  racy = true;
  checkedAt = -Infinity;
  /**
   * Releases this directory's watch (null: not watched). The directory it watches: inode number
   * and birth time (ext4 gives a new directory the number of one just deleted; the birth time
   * tells them apart, where the file system keeps one).
   */
  watch: (() => void) | null = null;
  watchIno = -1;
  watchBirth = 0;
  /** Bumped by every change noted while the index exists (an async build compares it). */
  version = 0;
  /** The operation tick that last used this index (for the LRU). */
  used = 0;
  /** 1 + names held: what counts against maxEntries. */
  size = 1;
  readonly id = ++serial;
  constructor(readonly real: string) {}
}

const byDir = new Map<string, DirIndex>();
/** Indexes created while their parent directory had none (layer roots, mostly). */
const detached = new Set<DirIndex>();
let total = 0;
/** Bumped whenever any index changes or is dropped: an answer checked at this generation still holds. */
let generation = 0;
let nowMs = 0;
let tick = 0;
let builds = 0;

/**
 * Start of a lookup: read the clock once (TTL checks compare against it). TTLs run on the
 * monotonic clock (cheaper to read than Date.now, and deaf to wall-clock steps); only the racy
 * test, which compares with file times, reads the wall clock.
 */
export function clock(): void {
  nowMs = performance.now();
  tick++;
}

/** When a check or read started: the monotonic time for its TTL, the wall time for `racy`. */
interface Moment {
  readonly mono: number;
  readonly wall: number;
}

function moment(): Moment {
  return { mono: performance.now(), wall: Date.now() };
}

/**
 * Until when (ms) an index is trusted without looking at its directory again: the end of the
 * TTL-long period of the clock in which it was checked (so never longer than its TTL). Periods,
 * not TTLs from each check: the indexes an answer depends on then expire together, and a
 * remembered answer is checked again once per period rather than each time one of its
 * (up to one per layer and level) indexes expires.
 */
export function freshUntil(idx: DirIndex): number {
  const ttl = idx.watch !== null ? settings.watchedTtlMs : settings.ttlMs;
  return ttl > 0 ? (Math.floor(idx.checkedAt / ttl) + 1) * ttl : -Infinity;
}

/** Loaded and checked within its TTL. */
function current(idx: DirIndex): boolean {
  return idx.loaded && nowMs < freshUntil(idx);
}

/** Usable without I/O: current, and not a directory looked up by probing. */
export function usable(idx: DirIndex): boolean {
  return idx.loaded && !idx.fallback && nowMs < freshUntil(idx);
}

/** The current generation (see `generation`), the clock of the running lookup, and the TTL. */
export function indexGeneration(): number {
  return generation;
}

export function clockNow(): number {
  return nowMs;
}

export function maxPaths(): number {
  return settings.maxPaths;
}

export function touch(idx: DirIndex): void {
  idx.used = tick;
}

function parentOf(p: string): string | null {
  const i = p.lastIndexOf('/');
  if (i < 0 || p.length === 1) return null;
  return i === 0 ? '/' : p.slice(0, i);
}

function baseOf(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

function link(parent: DirIndex, idx: DirIndex, name: string): void {
  (parent.kids ??= new Map()).set(name, idx);
  idx.parent = parent;
  detached.delete(idx);
}

function create(realPath: string, parent: DirIndex | undefined): DirIndex {
  const idx = new DirIndex(realPath);
  byDir.set(realPath, idx);
  total += 1;
  if (parent !== undefined) link(parent, idx, baseOf(realPath));
  else detached.add(idx);
  return idx;
}

/** The index of a real directory (created empty and unloaded when there is none). */
export function indexOf(realPath: string): DirIndex {
  const idx = byDir.get(realPath);
  if (idx !== undefined) return idx;
  const pp = parentOf(realPath);
  return create(realPath, pp === null ? undefined : byDir.get(pp));
}

/** The index of child directory `name` (real path `realPath`) of `parent`. */
export function childIndex(parent: DirIndex, name: string, realPath: string): DirIndex {
  const kid = parent.kids?.get(name);
  if (kid !== undefined && !kid.dead) return kid;
  const idx = byDir.get(realPath);
  if (idx === undefined) return create(realPath, parent.dead ? undefined : parent);
  if (idx.parent !== parent && !parent.dead) link(parent, idx, name);
  return idx;
}

/**
 * Trust an expired index again when its directory is unchanged: one lstat, made here and now
 * (synchronous in every form, as `ensure`'s always was), with no I/O request to yield. False
 * when it cannot be trusted without more (changed, racy, missing, unreadable, dropped): `ensure`
 * then looks again and reads the directory when needed.
 */
export function revalidateNow(idx: DirIndex): boolean {
  if (!idx.loaded || idx.racy || idx.fallback || idx.dead) return false;
  const t0 = performance.now();
  let st: fs.Stats | undefined;
  try {
    st = real.lstatSync(idx.real, QUIET);
  } catch {
    return false;
  }
  if (st === undefined || st.mtimeMs !== idx.mtimeMs || st.ctimeMs !== idx.ctimeMs || st.ino !== idx.ino) return false;
  idx.checkedAt = t0;
  watchUnwatched(idx, st);
  return true;
}

const QUIET = { throwIfNoEntry: false };

/** Make an index usable: validate it against its directory, or read the directory again. */
export function* ensure(idx: DirIndex): Io<void> {
  if (current(idx) || revalidateNow(idx)) return;
  const t0 = moment();
  let st: fs.Stats | null;
  try {
    // Synchronous even in async operations: see lstatNowOrNull.
    st = yield* lstatNowOrNull(idx.real);
  } catch {
    return markFallback(idx, t0, null);
  }
  if (idx.loaded && !idx.racy && st !== null && st.mtimeMs === idx.mtimeMs && st.ctimeMs === idx.ctimeMs && st.ino === idx.ino) {
    idx.checkedAt = t0.mono;
    if (!idx.fallback) watchUnwatched(idx, st);
    return;
  }
  // Single flight among concurrent async lookups of one directory.
  yield* io.once(`index:${idx.id}:${idx.real}`, () => build(idx, st, t0));
}

/** Make an index usable with its names in readdir order (for a listing). */
export function* ensureOrdered(idx: DirIndex): Io<void> {
  if (idx.loaded && !idx.ordered) idx.loaded = false;
  yield* ensure(idx);
}

/**
 * Look this directory's names up by probing: it cannot be read (then it is tried again after
 * the TTL), or it is too big to index (then it is tried again when its mtime changes).
 */
function markFallback(idx: DirIndex, t0: Moment, st: fs.Stats | null): void {
  // Its names are probed live: events would change nothing (and a huge directory read again
  // at each would cost much).
  unwatch(idx);
  idx.version++;
  generation++;
  setEntries(idx, new Map(), null);
  idx.fallback = true;
  idx.loaded = true;
  sign(idx, st, t0.wall);
  idx.checkedAt = t0.mono;
}

function sign(idx: DirIndex, st: fs.Stats | null, wall: number): void {
  idx.ino = st === null ? -1 : st.ino;
  idx.birthMs = st === null ? 0 : st.birthtimeMs;
  idx.mtimeMs = st === null ? NaN : st.mtimeMs;
  idx.ctimeMs = st === null ? NaN : st.ctimeMs;
  // A missing directory is always read again at its next check.
  idx.racy = st === null || st.mtimeMs >= wall - granularity(st) || st.ctimeMs >= wall - granularity(st);
}

function setEntries(idx: DirIndex, entries: Map<string, number>, oci: Set<string> | null): void {
  const size = 1 + entries.size + (oci === null ? 0 : oci.size);
  if (!idx.dead) total += size - idx.size;
  idx.size = size;
  idx.entries = entries;
  idx.oci = oci;
}

function typeOf(d: fs.Dirent): number {
  if (d.isFile()) return T_FILE;
  if (d.isDirectory()) return T_DIR;
  if (d.isSymbolicLink()) return T_LINK;
  if (d.isFIFO()) return T_FIFO;
  if (d.isSocket()) return 5;
  if (d.isCharacterDevice()) return T_CHAR;
  if (d.isBlockDevice()) return 7;
  return T_UNKNOWN;
}

/**
 * Timestamp granularity to allow for when deciding whether an index is racy: the kernel stamps
 * with a coarse clock (one jiffy, up to 10 ms, behind the wall clock); a file system with whole
 * seconds (FAT has 2 s) shows it in the mtime itself.
 */
function granularity(st: fs.Stats): number {
  return st.mtimeMs % 1000 === 0 ? 2000 : 20;
}

function* build(idx: DirIndex, st: fs.Stats | null, t0: Moment): Io<void> {
  const v0 = idx.version;
  builds++;
  idx.fallback = false;
  const entries = new Map<string, number>();
  let oci: Set<string> | null = null;
  let opaque = false;
  if (st !== null && st.isDirectory()) {
    // Another directory than the one indexed (replaced behind the back): the indexes below it
    // describe the old one's subdirectories, which may have gone elsewhere with their watches.
    if (idx.ino !== -1 && (st.ino !== idx.ino || st.birthtimeMs !== idx.birthMs)) dropBelow(idx);
    // Watched before it is read: a change made while it is read then has an event to come.
    if (!stillWatched(idx, st)) watchDirectory(idx, st);
    let dirents: fs.Dirent[] = [];
    try {
      dirents = yield* io.readdirTyped(idx.real);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return markFallback(idx, t0, null);
    }
    if (dirents.length > settings.maxEntries / 4) return markFallback(idx, t0, st);
    for (const d of dirents) {
      const name = d.name;
      if (name.startsWith(WHITEOUT_PREFIX)) {
        if (name === OPAQUE_MARKER) opaque = true;
        else (oci ??= new Set()).add(name.slice(WHITEOUT_PREFIX.length));
        continue;
      }
      let type = typeOf(d);
      if (type === T_CHAR) {
        let cst: fs.Stats | null;
        try {
          cst = yield* lstatOrNull(idx.real + '/' + name);
        } catch {
          return markFallback(idx, t0, null);
        }
        if (cst === null) continue; // gone meanwhile
        if (isKernelWhiteout(cst)) type = T_WHITEOUT;
      }
      entries.set(name, type);
    }
  }
  setEntries(idx, entries, oci);
  idx.opaque = opaque;
  idx.ordered = true;
  sign(idx, st, t0.wall);
  // Changed while it was being read (an async build): usable for this lookup, checked next time.
  idx.checkedAt = idx.version === v0 ? t0.mono : -Infinity;
  idx.version++; // new contents: answers derived from the old ones (path entries) are void
  generation++;
  idx.loaded = true;
  if (total > settings.maxEntries) evict();
}

// ---- watching (the watch itself: lib/router/index-watch.ts) -----------------------------------

/** Opens a watch on an indexed directory (st: its lstat); returns its release. Throws when refused. */
export type DirectoryWatcher = (idx: DirIndex, st: fs.Stats) => () => void;

let watcher: DirectoryWatcher | null = null;
let watches = 0;
/**
 * When the system last refused a watch for want of resources (ENOSPC: the user's inotify
 * quota; EMFILE: its instances): no new ones for a while. Other failures (EACCES on a
 * directory that can be searched but not read, ENOENT when it went meanwhile) concern that
 * directory alone.
 */
let refusedAt = -Infinity;
const RETRY_REFUSED_MS = 10_000;
const OUT_OF_WATCHES = new Set(['ENOSPC', 'EMFILE', 'ENFILE', 'ENOMEM']);

export function setDirectoryWatcher(w: DirectoryWatcher | null): void {
  watcher = w;
}

export function directoryWatcher(): DirectoryWatcher | null {
  return watcher;
}

function watchDirectory(idx: DirIndex, st: fs.Stats): void {
  unwatch(idx);
  if (watcher === null || !settings.watch || watches >= settings.maxWatches || idx.dead) return;
  const now = performance.now();
  if (now - refusedAt < RETRY_REFUSED_MS) return;
  try {
    idx.watch = watcher(idx, st);
  } catch (err) {
    if (OUT_OF_WATCHES.has((err as { code?: string }).code ?? '')) refusedAt = now;
    return;
  }
  idx.watchIno = st.ino;
  idx.watchBirth = st.birthtimeMs;
  watches++;
}

/**
 * An index found unchanged at its check, and not watched (it was over the bound, or a watch was
 * refused, when it was read): watch it now. A change between the check and the watch is no
 * event, but its mtime differs from the index's: the next check finds it.
 */
function watchUnwatched(idx: DirIndex, st: fs.Stats): void {
  if (idx.watch === null && settings.watch && watches < settings.maxWatches) watchDirectory(idx, st);
}

/** The directory `idx` watches is the one at its path now (not one made since in its place). */
function stillWatched(idx: DirIndex, st: fs.Stats | undefined): boolean {
  return idx.watch !== null && st !== undefined && st.isDirectory() && st.ino === idx.watchIno && st.birthtimeMs === idx.watchBirth && st.birthtimeMs > 0;
}

function unwatch(idx: DirIndex): void {
  const release = idx.watch;
  if (release === null) return;
  idx.watch = null;
  idx.watchIno = -1;
  watches--;
  release();
}

/**
 * The watcher of `idx`'s directory was renewed or ended (see lib/watch/hub.ts): when the same
 * directory is still there, watch it again at once (the index holds: its events were not
 * missed); else (replaced, moved, deleted, or the watch failed) `watchLost`.
 */
export function watchRenewed(idx: DirIndex): void {
  if (idx.dead || idx.watch === null || watcher === null) return;
  let st: fs.Stats | undefined;
  try {
    st = real.lstatSync(idx.real, QUIET);
  } catch {
    st = undefined;
  }
  if (!stillWatched(idx, st)) return watchLost(idx);
  const old = idx.watch;
  try {
    idx.watch = watcher(idx, st!);
  } catch {
    idx.watch = old;
    return watchLost(idx);
  }
  old();
}

/**
 * The watch of `idx` ended: read the directory again (and watch it again) at its next use. The
 * indexes below it go: when the directory was moved away, its subdirectories went with it and
 * their watches followed them, so nothing would report changes to the ones now at their paths
 * (a layer root has no watched parent whose event would drop them).
 */
export function watchLost(idx: DirIndex): void {
  unwatch(idx);
  if (!idx.dead) {
    invalidate(idx);
    dropBelow(idx);
  }
}

/** Forget the indexes of the directories below `idx` (not its own). */
function dropBelow(idx: DirIndex): void {
  if (idx.kids !== null) for (const kid of [...idx.kids.values()]) dropTree(kid);
  if (detached.size > 0) {
    const prefix = idx.real === '/' ? '/' : idx.real + '/';
    for (const d of [...detached]) if (d.real.startsWith(prefix)) dropTree(d);
  }
}

/** Bumped by every eviction: remembered answers (path entries) that may hold dropped indexes go. */
let epoch = 0;

export function indexEpoch(): number {
  return epoch;
}

/** Drop the least recently used indexes (never those of the running operation). */
function evict(): void {
  epoch++;
  const target = settings.maxEntries * 0.75;
  const all = [...byDir.values()].filter((i) => i.used < tick).sort((a, b) => a.used - b.used);
  for (const idx of all) {
    if (total <= target) break;
    if (!idx.dead) dropTree(idx);
  }
}

function dropTree(top: DirIndex): void {
  if (top.parent !== null && top.parent.kids?.get(baseOf(top.real)) === top) top.parent.kids.delete(baseOf(top.real));
  const todo = [top];
  while (todo.length > 0) {
    const idx = todo.pop()!;
    if (idx.dead) continue;
    idx.dead = true;
    generation++;
    idx.loaded = false;
    unwatch(idx);
    if (byDir.get(idx.real) === idx) {
      byDir.delete(idx.real);
      total -= idx.size;
    }
    detached.delete(idx);
    if (idx.kids !== null) for (const k of idx.kids.values()) todo.push(k);
  }
}

/** Forget the index of `p` and of every directory below it. */
export function dropSubtree(p: string): void {
  const idx = byDir.get(p);
  if (idx !== undefined) dropTree(idx);
  if (detached.size > 0) {
    const prefix = p === '/' ? '/' : p + '/';
    for (const d of [...detached]) if (d.real.startsWith(prefix)) dropTree(d);
  }
}

/** The directory must be read again before its index is used. */
function stale(dir: string | null): void {
  if (dir === null) return;
  const idx = byDir.get(dir);
  if (idx !== undefined) invalidate(idx);
}

function invalidate(idx: DirIndex): void {
  idx.version++;
  generation++;
  idx.loaded = false;
}

/** `p` now exists with type `type` (undefined: unknown, read the directory again). */
function added(p: string, type: number | undefined, replace: boolean): void {
  const dir = parentOf(p);
  const idx = dir === null ? undefined : byDir.get(dir);
  if (idx === undefined) return;
  idx.version++;
  generation++;
  if (!idx.loaded || idx.fallback) return;
  if (type === undefined) {
    idx.loaded = false;
    return;
  }
  const name = baseOf(p);
  if (name.startsWith(WHITEOUT_PREFIX)) {
    if (name === OPAQUE_MARKER) idx.opaque = true;
    else {
      const hidden = name.slice(WHITEOUT_PREFIX.length);
      idx.oci ??= new Set();
      if (!idx.oci.has(hidden)) {
        idx.oci.add(hidden);
        idx.size++;
        total++;
      }
    }
    return;
  }
  const had = idx.entries.get(name);
  if (had === undefined) {
    idx.entries.set(name, type);
    idx.ordered = false;
    idx.size++;
    total++;
  } else if (replace && had !== type) {
    idx.entries.set(name, type);
  }
}

/** `p` no longer exists. */
function removed(p: string): void {
  const dir = parentOf(p);
  const idx = dir === null ? undefined : byDir.get(dir);
  if (idx === undefined) return;
  idx.version++;
  generation++;
  const name = baseOf(p);
  const kid = idx.kids?.get(name);
  if (kid !== undefined) dropTree(kid);
  if (!idx.loaded || idx.fallback) return;
  if (name.startsWith(WHITEOUT_PREFIX)) {
    if (name === OPAQUE_MARKER) idx.opaque = false;
    else if (idx.oci !== null && idx.oci.delete(name.slice(WHITEOUT_PREFIX.length))) {
      idx.size--;
      total--;
    }
    return;
  }
  if (idx.entries.delete(name)) {
    idx.ordered = false;
    idx.size--;
    total--;
  }
}

/**
 * The type of an entry that just arrived at `p` (a rename's or a link's destination): one
 * lstat now, when the destination directory is indexed, instead of reading that whole
 * directory again at its next use. (The source's index may not know: a copy-up's temporary
 * comes from the work directory.)
 */
function typeNow(p: string): number | undefined {
  const dir = parentOf(p);
  const idx = dir === null ? undefined : byDir.get(dir);
  if (idx === undefined || !idx.loaded || idx.fallback) return undefined;
  let st: fs.Stats | undefined;
  try {
    st = real.lstatSync(p, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
  return st === undefined ? undefined : typeOfStats(st);
}

function typeOfStats(st: fs.Stats): number {
  if (isKernelWhiteout(st)) return T_WHITEOUT;
  if (st.isFile()) return T_FILE;
  if (st.isDirectory()) return T_DIR;
  if (st.isSymbolicLink()) return T_LINK;
  if (st.isFIFO()) return T_FIFO;
  if (st.isSocket()) return 5;
  if (st.isCharacterDevice()) return T_CHAR;
  return st.isBlockDevice() ? 7 : T_UNKNOWN;
}

/** The type the index holds for `p` (undefined when unknown). */
function typeAt(p: string): number | undefined {
  const dir = parentOf(p);
  const idx = dir === null ? undefined : byDir.get(dir);
  if (idx === undefined || !idx.loaded || idx.fallback) return undefined;
  return idx.entries.get(baseOf(p));
}

const { O_CREAT } = real.constants;

function recursiveMkdir(options: unknown): boolean {
  return options !== null && typeof options === 'object' && (options as { recursive?: boolean }).recursive === true;
}

/**
 * A mutating request finished (`err` null) or failed. Each names the real paths it changed
 * (lib/io.ts MUTATING): the parent directory's index is updated in place (a listing reads the
 * directory again for its order), a removed or moved directory's indexes are dropped with
 * everything below them, and after a failure the parents are read again.
 */
export function noteMutation(op: string, args: unknown[], err: unknown): void {
  const p = args[0];
  if (err !== null) {
    const code = (err as { code?: string }).code;
    if ((op === 'unlink' || op === 'rmdir') && code === 'ENOENT' && typeof p === 'string') return removed(p);
    for (const x of pathsOf(op, args)) {
      stale(parentOf(x));
      if (op === 'rename' || op === 'rm' || op === 'rmdir') dropSubtree(x);
    }
    return;
  }
  switch (op) {
    case 'writeFile': case 'appendFile': return added(p as string, T_FILE, false);
    case 'copyFile': return added(args[1] as string, T_FILE, false);
    case 'open':
      if (((args[1] as number) & O_CREAT) !== 0) added(p as string, T_FILE, false);
      return;
    case 'mkdir':
      if (recursiveMkdir(args[1])) {
        for (let d: string | null = p as string; d !== null; d = parentOf(d)) stale(d);
        return;
      }
      return added(p as string, T_DIR, false);
    case 'symlink': return added(args[1] as string, T_LINK, false);
    case 'mkfifo': return added(p as string, T_FIFO, false);
    case 'link': return added(args[1] as string, typeNow(args[1] as string), false);
    case 'unlink': return removed(p as string);
    case 'rmdir': case 'rm':
      removed(p as string);
      return dropSubtree(p as string);
    case 'rename': {
      const to = args[1] as string;
      removed(p as string);
      dropSubtree(p as string);
      dropSubtree(to);
      return added(to, typeNow(to), true);
    }
    default: return; // chmod, chown, utimes, truncate: no name changes
  }
}

function pathsOf(op: string, args: unknown[]): string[] {
  const out: string[] = [];
  const take = (i: number) => { if (typeof args[i] === 'string') out.push(args[i] as string); };
  if (op === 'rename') { take(0); take(1); } else if (op === 'copyFile' || op === 'symlink' || op === 'link') take(1);
  else take(0);
  return out;
}

/** A read found `p` missing: if the index says it is there, read the parent again. */
export function noteMissing(p: string): void {
  if (typeAt(p) !== undefined) stale(parentOf(p));
}

/**
 * A watcher's event from real directory `dir` (type and name as fs.watch gives them): the named
 * entry is looked at again and the index updated in place; the indexes at and below it are
 * dropped. A 'change' (contents, attributes) changes no name or type. No name (Node gives one
 * for every inotify event on Linux; lost events, like a full kernel queue, are found by the
 * check after the TTL): anything may have changed, the whole directory is read again.
 */
export function noteLayerEvent(dir: string, type: string, name: string | null): void {
  if (type !== 'rename') return;
  if (name === null || name === '' || name.includes('/')) {
    stale(dir);
    const idx = byDir.get(dir);
    if (idx !== undefined) dropBelow(idx);
    return;
  }
  const p = dir === '/' ? '/' + name : dir + '/' + name;
  let st: fs.Stats | undefined;
  try {
    st = real.lstatSync(p, QUIET);
  } catch {
    stale(dir);
    return dropSubtree(p);
  }
  // The entry's own index holds while it is the same directory, watched (a directory moved
  // into place, like the overlay's own copy-up of one, is announced after it was indexed).
  const kid = byDir.get(p);
  if (kid !== undefined && !stillWatched(kid, st)) dropSubtree(p);
  const idx = byDir.get(dir);
  if (idx !== undefined && idx.fallback) return; // its names are probed live
  if (idx === undefined || !idx.loaded) return stale(dir);
  if (st === undefined) return removed(p);
  added(p, typeOfStats(st), true);
}

/** A new overlay starts from fresh indexes of its layers. */
export function forgetLayers(roots: readonly string[]): void {
  for (const r of roots) dropSubtree(r);
}

observeIo({ mutated: noteMutation, missing: noteMissing });

// ---- tuning and figures (tests and the benchmark) ------------------------------------------

/** Change the TTL or the bound (process-wide); returns the previous settings. */
export function configureIndex(s: Partial<IndexSettings>): IndexSettings {
  const before = { ...settings };
  if (s.ttlMs !== undefined) settings.ttlMs = s.ttlMs;
  if (s.watchedTtlMs !== undefined) settings.watchedTtlMs = s.watchedTtlMs;
  if (s.maxWatches !== undefined) settings.maxWatches = s.maxWatches;
  if (s.watch !== undefined) settings.watch = s.watch;
  // Set anew: a watch the system refused is tried again at once, and indexes read unwatched are
  // read again (and watched) at their next use.
  if (s.watch !== undefined || s.maxWatches !== undefined) {
    refusedAt = -Infinity;
    if (settings.watch) for (const idx of byDir.values()) if (idx.watch === null && idx.loaded) invalidate(idx);
  }
  if (!settings.watch || watches > settings.maxWatches) for (const idx of byDir.values()) if (!settings.watch || watches > settings.maxWatches) unwatch(idx);
  if (s.maxEntries !== undefined) settings.maxEntries = s.maxEntries;
  if (s.maxPaths !== undefined) settings.maxPaths = s.maxPaths;
  epoch++;
  if (total > settings.maxEntries) {
    tick++;
    evict();
  }
  return before;
}

export function indexSettings(): IndexSettings {
  return { ...settings };
}

export interface IndexStats {
  directories: number;
  entries: number;
  /** Index reads (readdir) since the process started. */
  builds: number;
  /** Directories watched (one inotify watch each). */
  watched: number;
  /** A rough estimate of the memory held (bytes); the benchmark also measures the heap. */
  approxBytes: number;
}

export function indexStats(): IndexStats {
  let entries = 0;
  let nameBytes = 0;
  for (const idx of byDir.values()) {
    entries += idx.entries.size + (idx.oci?.size ?? 0);
    for (const name of idx.entries.keys()) nameBytes += name.length;
    nameBytes += idx.real.length;
  }
  // A Map slot ~ 3 words, a string header 16 bytes, an index object ~ 200 bytes with its maps.
  const approxBytes = byDir.size * 200 + entries * (24 + 16) + nameBytes;
  return { directories: byDir.size, entries, builds, watched: watches, approxBytes };
}

/** Forget every index (tests, the benchmark). */
export function clearIndex(): void {
  epoch++;
  for (const idx of [...byDir.values()]) dropTree(idx);
  detached.clear();
  total = 0;
}
