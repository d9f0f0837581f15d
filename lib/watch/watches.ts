/**
 * The Node watchers behind one merged watcher: each slot (a layer's directory for a watched
 * merged directory) is attached to the hub's watcher on its spot, and moved when a layer
 * event shows that its directory appeared, vanished or was replaced. A real directory shared
 * by several slots (an ancestor watched for several missing directories, the parent of the
 * watched path) is subscribed once.
 */
import * as path from 'path';
import type { Layer } from '../layers/stack';
import { joinRel } from '../paths';
import { subscribe, refreshClient, type HubClient } from './hub';
import { locate, sameSpot, namesIn, present, type Spot } from './locate';
import { TargetIndex } from './target-index';
import { Slot, type WatchedDir } from './slot';

export interface WatchesOwner {
  readonly persistent: boolean;
  /**
   * Whether a slot cares about an entry name at all. The parent of a watched file cares about
   * one name only; asking first keeps a directory of many watched files (chokidar watches
   * each) from costing an lstat and a name list per file watcher and event.
   */
  wants(slot: Slot, name: string): boolean;
  /** A layer directory reported a change to its entry `name`. */
  entry(slot: Slot, type: string, name: string): void;
  /** A slot's directory appeared, vanished or was replaced: these of its names may have changed. */
  names(slot: Slot, names: Iterable<string>): void;
  failed(err: Error): void;
}

interface Sub {
  readonly key: string;
  readonly real: string;
  readonly client: HubClient;
  readonly slots: Set<Slot>;
  release(): void;
}

export class LayerWatches {
  readonly #subs = new Map<string, Sub>();
  readonly #index = new TargetIndex<Slot>();
  #closed = false;

  constructor(private readonly owner: WatchesOwner) {}

  /** Watch every layer for a merged directory. Throws when a Node watcher cannot be opened. */
  add(dir: WatchedDir, layers: readonly Layer[]): void {
    for (const layer of layers) {
      const slot = new Slot(dir, layer, joinRel(layer.root, dir.rel));
      dir.slots.push(slot);
      this.#index.add(slot, layer.root, slot.target);
      this.#place(slot);
    }
  }

  remove(dir: WatchedDir): void {
    for (const slot of dir.slots) {
      slot.removed = true;
      this.#index.remove(slot, slot.layer.root, slot.target);
      this.#unlink(slot);
    }
    dir.slots.length = 0;
  }

  close(): void {
    this.#closed = true;
    for (const sub of this.#subs.values()) sub.release();
    this.#subs.clear();
  }

  /** Re-apply ref/unref to the Node watchers after the owner's `persistent` changed. */
  refresh(): void {
    for (const sub of this.#subs.values()) refreshClient(sub.client);
  }

  /** Distinct real directories subscribed. */
  get size(): number {
    return this.#subs.size;
  }

  #place(slot: Slot): void {
    slot.sub = null;
    for (let attempt = 0; ; attempt++) {
      const spot = locate(slot.layer.root, slot.dir.rel);
      slot.spot = spot;
      slot.names = new Set();
      if (!spot) return;
      try {
        this.#attach(slot, spot);
        break;
      } catch (err) {
        slot.spot = null;
        // Removed between the lstat and the watch: look again.
        if (attempt < 3 && isVanished(err)) continue;
        throw err;
      }
    }
    // Listed after the watcher is in place, so nothing created in between goes unseen.
    const spot = slot.spot as Spot | null;
    if (spot?.exists) slot.names = new Set([...namesIn(spot.real)].filter((n) => this.owner.wants(slot, n)));
  }

  #attach(slot: Slot, spot: Spot): void {
    const key = `${spot.st.dev}:${spot.st.ino}:${spot.real}`;
    let sub = this.#subs.get(key);
    if (!sub) sub = this.#subscribe(key, spot);
    sub.slots.add(slot);
    slot.sub = sub;
  }

  #subscribe(key: string, spot: Spot): Sub {
    const owner = this.owner;
    let sub: Sub | null = null;
    const client: HubClient = {
      get persistent() { return owner.persistent; },
      event: (type, name) => { if (sub) this.#event(sub, type, name); },
      recheck: (err) => { if (sub) this.#recheck(sub, err); },
    };
    const release = subscribe(spot.real, spot.st, client);
    let released = false;
    sub = {
      key, real: spot.real, client, slots: new Set(),
      release: () => {
        if (released) return;
        released = true;
        if (this.#subs.get(key) === sub) this.#subs.delete(key);
        release();
      },
    };
    this.#subs.set(key, sub);
    return sub;
  }

  #unlink(slot: Slot): void {
    const sub = slot.sub as Sub | null;
    slot.sub = null;
    if (!sub) return;
    sub.slots.delete(slot);
    if (sub.slots.size === 0) sub.release();
  }

  #event(sub: Sub, type: string, name: string | null): void {
    if (this.#closed) return;
    for (const slot of [...sub.slots]) if (slot.exists && !slot.removed) this.#entry(slot, type, name);
    // Whatever is at or under real path `name` may have appeared, vanished or been replaced.
    const moved = name === null ? [...sub.slots] : this.#index.at(joinRel(sub.real, name));
    for (const slot of moved) this.#relocate(slot, false);
  }

  #entry(slot: Slot, type: string, name: string | null): void {
    const dir = slot.spot!.real;
    if (name === null) return this.owner.names(slot, slot.names);
    if (!this.owner.wants(slot, name)) return;
    const here = present(joinRel(dir, name));
    // inotify names the watched directory itself by its base name; the parent's watcher
    // reports that change as an entry of the parent, and the hub handles its removal.
    if (!here && !slot.names.has(name) && name === path.basename(dir)) return;
    if (here) slot.names.add(name);
    else slot.names.delete(name);
    this.owner.entry(slot, type, name);
  }

  /** The hub's watcher for this subscription is gone or renewed: every slot on it looks again. */
  #recheck(sub: Sub, err?: Error): void {
    if (this.#closed) return;
    if (err) this.owner.failed(err);
    if (this.#subs.get(sub.key) === sub) this.#subs.delete(sub.key);
    for (const slot of [...sub.slots]) this.#relocate(slot, true);
    sub.release();
  }

  /** Locate a slot's directory again; report the names that came or went with it. */
  #relocate(slot: Slot, force: boolean): void {
    if (slot.removed) return;
    const before = slot.spot;
    const beforeNames = slot.names;
    if (!force && sameSpot(before, locate(slot.layer.root, slot.dir.rel))) return;
    const oldSub = slot.sub as Sub | null;
    try {
      this.#place(slot); // the new subscription first: a shared real directory stays watched
    } catch (err) {
      this.owner.failed(err as Error);
    }
    if (oldSub && oldSub !== slot.sub) {
      oldSub.slots.delete(slot);
      if (oldSub.slots.size === 0) oldSub.release();
    }
    const after = slot.spot;
    if (before?.exists && after?.exists && sameSpot(before, after)) {
      const changed = [...beforeNames].filter((n) => !slot.names.has(n));
      for (const n of slot.names) if (!beforeNames.has(n)) changed.push(n);
      if (changed.length > 0) this.owner.names(slot, changed);
      return;
    }
    if (before?.exists) this.owner.names(slot, beforeNames);
    if (after?.exists) this.owner.names(slot, slot.names);
  }
}

function isVanished(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
