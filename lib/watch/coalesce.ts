/**
 * Coalescing: layer events are collected per (merged directory, name) for a fixed window
 * that starts with the first event, then decided and reported once. One save often raises
 * several inotify events (truncate, write, attribute), and one merged change can touch several
 * layers at once (a copy-up creates the upper entry while a whiteout goes away); the merged
 * view reports one event per name per window. A fixed window, not a sliding debounce, bounds
 * the latency under a continuous stream of writes.
 */

export const COALESCE_MS = 50;

export interface Change {
  /** Layer indexes the events came from. */
  readonly layers: Set<number>;
  /** 'rename' when any of the events was one (existence or identity may have changed). */
  type: 'rename' | 'change';
}

export class Coalescer<D> {
  #pending = new Map<D, Map<string, Change>>();
  #timer: NodeJS.Timeout | null = null;

  constructor(private readonly flush: (batch: Map<D, Map<string, Change>>) => void, private readonly windowMs = COALESCE_MS) {}

  add(dir: D, name: string, layer: number, type: string): void {
    let names = this.#pending.get(dir);
    if (!names) this.#pending.set(dir, (names = new Map()));
    let change = names.get(name);
    if (!change) names.set(name, (change = { layers: new Set(), type: 'change' }));
    change.layers.add(layer);
    if (type !== 'change') change.type = 'rename';
    if (!this.#timer) {
      this.#timer = setTimeout(() => this.#fire(), this.windowMs);
      // The Node watchers keep a persistent watcher's process alive; the window never should.
      this.#timer.unref();
    }
  }

  cancel(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#pending = new Map();
  }

  #fire(): void {
    this.#timer = null;
    const batch = this.#pending;
    this.#pending = new Map();
    this.flush(batch);
  }
}
