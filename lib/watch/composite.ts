/**
 * The merged watcher: an FSWatcher-shaped object over every layer directory that contributes
 * to a merged path. Layer events are collected per merged name for a short window
 * (coalesce.ts), then each is decided against the merged view as it is now (visibility.ts):
 * changes that a higher layer shadows are dropped, whiteouts and opaque markers are turned
 * into the merged names they hide or reveal. Filenames are merged names only, relative to the
 * watched directory (or the watched name itself for a file), as Node reports them.
 *
 * A watched directory is watched in every layer (bound: layers × (watched merged directories
 * + 1 for the parent of the watched path)); in recursive mode every merged directory below it
 * too, added and dropped as merged directories appear and go.
 */
import { EventEmitter } from 'events';
import * as path from 'path';
import type { Stack } from '../layers/stack';
import { whitedOutName, OPAQUE_MARKER } from '../layers/whiteout';
import { relativeTo } from '../paths';
import { Coalescer, type Change } from './coalesce';
import { LayerWatches } from './watches';
import type { Slot, WatchedDir } from './slot';
import { shows, flippedByOpaque } from './visibility';
import { membersOf, mergedDir, entryExists, walkMerged, type MergedDir } from './tree';
import { encodeName } from './options';

export interface MergedWatchSpec {
  readonly stack: Stack;
  /** The watched merged path, symlinks resolved. */
  readonly merged: string;
  readonly isDir: boolean;
  /** The filename reported for the watched path itself: the base name of the path as given. */
  readonly selfName: string;
  readonly recursive: boolean;
  readonly persistent: boolean;
  readonly encoding: string;
}

type Report = [type: string, filename: string];

export class MergedWatcher extends EventEmitter {
  readonly #spec: MergedWatchSpec;
  readonly #dirs = new Map<string, WatchedDir>();
  /** The parent of the watched path: reports the watched name itself. */
  #parent: WatchedDir | null = null;
  readonly #watches: LayerWatches;
  readonly #coalescer: Coalescer<WatchedDir>;
  #persistent: boolean;
  #closed = false;
  /** For a watched directory: what its parent shows for it (reported only when this changes). */
  #rootKind: 'dir' | 'other' | 'none' = 'dir';

  constructor(spec: MergedWatchSpec) {
    super();
    this.#spec = spec;
    this.#persistent = spec.persistent;
    const self = this;
    this.#watches = new LayerWatches({
      get persistent() { return self.#persistent; },
      wants: (slot, name) => this.#wants(slot, name),
      entry: (slot, type, name) => this.#enqueue(slot, name, type),
      names: (slot, names) => { for (const n of names) this.#enqueue(slot, n, 'rename'); },
      failed: (err) => this.#fail(err),
    });
    this.#coalescer = new Coalescer((batch) => this.#flush(batch));
    try {
      this.#start();
    } catch (err) {
      this.#watches.close();
      throw err;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#coalescer.cancel();
    this.#watches.close();
    this.#dirs.clear();
    this.#parent = null;
    process.nextTick(() => this.emit('close'));
  }

  ref(): this {
    this.#persistent = true;
    this.#watches.refresh();
    return this;
  }

  unref(): this {
    this.#persistent = false;
    this.#watches.refresh();
    return this;
  }

  /** Real directories watched (each is one shared Node watcher). */
  get watchedDirectories(): number {
    return this.#watches.size;
  }

  #start(): void {
    const { stack, merged, isDir, recursive } = this.#spec;
    if (merged !== stack.mount) this.#parent = this.#addDir(path.dirname(merged), null);
    if (!isDir) return;
    const start = recursive ? mergedDir(stack, merged) : null;
    if (start) this.#addTree(start, '', null);
    else this.#addDir(merged, '');
  }

  #addDir(merged: string, prefix: string | null): WatchedDir {
    const dir: WatchedDir = { merged, rel: relativeTo(merged, this.#spec.stack.mount), prefix, slots: [] };
    if (prefix !== null) this.#dirs.set(merged, dir);
    this.#watches.add(dir, this.#spec.stack.layers);
    return dir;
  }

  /** Watch a merged directory and the merged directories below it; `out` gets their entries. */
  #addTree(start: MergedDir, prefix: string, out: Report[] | null): void {
    for (const visit of walkMerged(start)) {
      if (this.#dirs.has(visit.dir.merged)) continue;
      const p = join(prefix, visit.rel);
      this.#addDir(visit.dir.merged, p);
      if (out) for (const n of visit.names) out.push(['rename', join(p, n)]);
    }
  }

  #drop(merged: string, keep: string | null = null): void {
    for (const [key, dir] of this.#dirs) {
      if (key === keep) continue;
      if (key === merged || key.startsWith(merged === '/' ? '/' : merged + '/')) {
        this.#watches.remove(dir);
        this.#dirs.delete(key);
      }
    }
  }

  /** In the parent of the watched path only the watched name matters (its whiteout, the opaque marker). */
  #wants(slot: Slot, name: string): boolean {
    if (slot.dir.prefix !== null) return true;
    const key = whitedOutName(name) ?? name;
    return key === OPAQUE_MARKER || key === path.basename(this.#spec.merged);
  }

  #enqueue(slot: Slot, name: string, type: string): void {
    if (this.#closed || !this.#wants(slot, name)) return;
    // A whiteout created or removed is a change of the name it hides; the opaque marker stays
    // a key of its own (reserved, so no merged name collides with it).
    const hidden = whitedOutName(name);
    this.#coalescer.add(slot.dir, hidden ?? name, slot.layer.index, hidden === null ? type : 'rename');
  }

  #flush(batch: Map<WatchedDir, Map<string, Change>>): void {
    if (this.#closed) return;
    const out: Report[] = [];
    try {
      for (const [dir, changes] of batch) {
        if (dir !== this.#parent && this.#dirs.get(dir.merged) !== dir) continue;
        const members = membersOf(this.#spec.stack, dir.merged);
        const slotOf = (index: number) => dir.slots.find((s) => s.layer.index === index)!;
        for (const [name, change] of changes) {
          if (name === OPAQUE_MARKER) {
            const flipped = new Set<string>();
            for (const l of change.layers) for (const n of flippedByOpaque(members, slotOf(l), dir.slots)) flipped.add(n);
            for (const n of flipped) this.#report(dir, n, 'rename', out);
          } else if ([...change.layers].some((l) => shows(members, slotOf(l), name))) {
            this.#report(dir, name, change.type, out);
          }
        }
      }
    } catch (err) {
      this.#fail(err as Error);
    }
    for (const [type, filename] of out) {
      if (this.#closed) return;
      this.emit('change', type, encodeName(filename, this.#spec.encoding));
    }
  }

  #report(dir: WatchedDir, name: string, type: string, out: Report[]): void {
    if (dir === this.#parent) {
      if (name !== path.basename(this.#spec.merged)) return;
      if (this.#spec.isDir) {
        // A watched directory's contents are reported as its entries; its own name only when
        // it stops being (or becomes again) a directory in the merged view, not when an upper
        // directory merely starts to take part in it.
        const kind = rootKind(this.#spec.stack, this.#spec.merged);
        if (kind === this.#rootKind) return;
        this.#rootKind = kind;
        if (this.#spec.recursive) this.#resyncRoot();
      }
      out.push([type, this.#spec.selfName]);
      return;
    }
    const rel = join(dir.prefix!, name);
    out.push([type, rel]);
    // Only a 'rename' can make a name become or stop being a directory.
    if (this.#spec.recursive && type === 'rename') this.#restructure(dir, name, rel, out);
  }

  /** Recursive mode: a name that is (now) a merged directory is watched, one that is not is dropped. */
  #restructure(dir: WatchedDir, name: string, rel: string, out: Report[]): void {
    const merged = dir.merged === '/' ? '/' + name : dir.merged + '/' + name;
    const sub = mergedDir(this.#spec.stack, merged);
    if (!sub) return this.#drop(merged);
    // Its entries are reported too: they may predate the watchers just put in place.
    if (!this.#dirs.has(merged)) this.#addTree(sub, rel, out);
  }

  /** The watched directory itself changed in its parent (whited out, back again): watch what it holds now. */
  #resyncRoot(): void {
    const root = this.#spec.merged;
    const start = mergedDir(this.#spec.stack, root);
    if (!start) return this.#drop(root, root);
    const seen = new Set<string>();
    for (const visit of walkMerged(start)) seen.add(visit.dir.merged);
    for (const key of [...this.#dirs.keys()]) if (!seen.has(key)) this.#drop(key);
    this.#addTree(start, '', null);
  }

  #fail(err: Error): void {
    // Never inside a Node watcher's dispatch: an 'error' without a listener throws, as Node's does.
    process.nextTick(() => { if (!this.#closed) this.emit('error', err); });
  }
}

function rootKind(stack: Stack, merged: string): 'dir' | 'other' | 'none' {
  if (mergedDir(stack, merged)) return 'dir';
  return entryExists(stack, merged) ? 'other' : 'none';
}

function join(prefix: string, rel: string): string {
  if (prefix === '') return rel;
  return rel === '' ? prefix : prefix + '/' + rel;
}
