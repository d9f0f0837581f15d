/**
 * fs.watchFile on a merged path: polls the merged stat, so it reports what the merged view
 * shows (an override created, a whiteout, a copy-up all change the merged stat) whichever
 * layer serves the file. One poller per merged path; listeners are added to it, as Node's
 * watchFile does.
 */
import { EventEmitter } from 'events';
import type * as fs from 'fs';
import { original } from '../real-fs';
import { runAsync, type Io } from '../io';
import * as read from '../ops/read';
import type { Target } from '../ops/target';
import { trackWatcher } from '../layers/create';

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

/** What Node reports for a missing file: every field zero. */
function zeroStats(): fs.Stats {
  const st = Object.create((original.Stats as any).prototype);
  for (const k of ['dev', 'mode', 'nlink', 'uid', 'gid', 'rdev', 'blksize', 'ino', 'size', 'blocks', 'atimeMs', 'mtimeMs', 'ctimeMs', 'birthtimeMs']) st[k] = 0;
  for (const k of ['atime', 'mtime', 'ctime', 'birthtime']) st[k] = new Date(0);
  return st;
}

const watchers = new Map<string, MergedStatWatcher>();

export function watchFile(t: Target, options: unknown, listener: unknown): MergedStatWatcher {
  if (typeof options === 'function') {
    listener = options;
    options = {};
  }
  if (typeof listener !== 'function') {
    const err = new TypeError(`The "listener" argument must be of type function. Received ${listener === undefined ? 'undefined' : typeof listener}`) as TypeError & { code: string };
    err.code = 'ERR_INVALID_ARG_TYPE';
    throw err;
  }
  const o = (options ?? {}) as { interval?: number; persistent?: boolean };
  let w = watchers.get(t.abs);
  if (!w) {
    const statNow = () => runAsync(read.statOrUndefined(t) as Io<fs.Stats | undefined>).then((st) => st ?? zeroStats());
    w = new MergedStatWatcher(statNow, o.interval ?? 5007, o.persistent !== false);
    watchers.set(t.abs, w);
    // Closing the overlay stops its pollers.
    const poller = w;
    // (A path whose `..` lead out of the mount has no stack: nothing to close it with.)
    if (t.stack) {
      const forget = trackWatcher(t.stack, { close: () => { poller.removeAllListeners('change'); poller.stop(); if (watchers.get(t.abs) === poller) watchers.delete(t.abs); } });
      poller.once('stop', forget);
    }
  }
  w.on('change', listener as Listener);
  return w;
}

export function unwatchFile(t: Target, listener?: unknown): void {
  const w = watchers.get(t.abs);
  if (!w) return;
  if (typeof listener === 'function') w.removeListener('change', listener as Listener);
  else w.removeAllListeners('change');
  if (w.listenerCount('change') === 0) {
    w.stop();
    watchers.delete(t.abs);
  }
}
