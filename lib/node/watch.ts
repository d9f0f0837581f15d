/**
 * Watching merged paths. watchFile polls the merged stat, so it reports what the merged view
 * shows. watch() watches the serving real path (the composite watcher over every layer is
 * issue #5's work).
 */
import { EventEmitter } from 'events';
import type * as fs from 'fs';

type Listener = (curr: fs.Stats, prev: fs.Stats) => void;

export class MergedStatWatcher extends EventEmitter {
  #timer: NodeJS.Timeout | null = null;
  #prev: fs.Stats | null = null;
  #busy = false;

  constructor(private readonly statNow: () => Promise<fs.Stats>, interval: number, persistent: boolean) {
    super();
    this.statNow().then((st) => { this.#prev = st; }, () => undefined);
    this.#timer = setInterval(() => this.#poll(), interval);
    if (!persistent) this.#timer.unref();
  }

  #poll(): void {
    if (this.#busy) return;
    this.#busy = true;
    this.statNow().then((curr) => {
      this.#busy = false;
      const prev = this.#prev;
      this.#prev = curr;
      if (prev && changed(prev, curr)) this.emit('change', curr, prev);
    }, () => { this.#busy = false; });
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.emit('stop');
  }
  ref(): this { this.#timer?.ref(); return this; }
  unref(): this { this.#timer?.unref(); return this; }
}

function changed(a: fs.Stats, b: fs.Stats): boolean {
  return a.mtimeMs !== b.mtimeMs || a.ctimeMs !== b.ctimeMs || a.size !== b.size || a.ino !== b.ino
    || a.mode !== b.mode || a.nlink !== b.nlink;
}

/** One watcher per merged path; listeners are added to it, as Node's watchFile does. */
const watchers = new Map<string, MergedStatWatcher>();

export function watchFileMerged(key: string, statNow: () => Promise<fs.Stats>, options: { interval?: number; persistent?: boolean }, listener: Listener): MergedStatWatcher {
  let w = watchers.get(key);
  if (!w) {
    w = new MergedStatWatcher(statNow, options.interval ?? 5007, options.persistent !== false);
    watchers.set(key, w);
  }
  w.on('change', listener);
  return w;
}

export function unwatchFileMerged(key: string, listener?: Listener): boolean {
  const w = watchers.get(key);
  if (!w) return false;
  if (listener) w.removeListener('change', listener);
  else w.removeAllListeners('change');
  if (w.listenerCount('change') === 0) {
    w.stop();
    watchers.delete(key);
  }
  return true;
}
