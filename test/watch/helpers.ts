/**
 * Watch tests: real layer directories, real watchers, and waiting on events with a timeout.
 *
 * `useWatchStack()` builds a scratch stack per test (l1 bottom lower, optional l2, upper u;
 * mountpoint m not on disk) and, after each test, closes every watcher it handed out and
 * removes the scratch directory. Tests change layer directories directly with the real fs
 * (what an editor or another program does) or through `ov.fs`.
 *
 * `record(watcher)` logs the merged events. `log.next(pred)` resolves with the first event
 * after the current mark that matches, or rejects after 3 s listing what was seen. For
 * "nothing is reported" the test makes the shadowed change, then a visible control change,
 * waits for the control event and then a fixed settle window, and only then checks: inotify
 * delivers events in order and the watcher decides them in order, so a wrongly reported
 * shadowed change would have arrived by then and the check can fail.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { EventEmitter } from 'events';
import { buildLayer, type LayerSpec } from '../helpers/layers';
import { createOverlay } from '../../lib/index';
import type { Overlay } from '../../lib/types';

export const TIMEOUT_MS = 3000;
/** After the control event: well above the 50 ms coalescing window. */
export const SETTLE_MS = 300;

export interface WatchStack {
  root: string;
  m: string;
  ov: Overlay;
  /** Real path inside a layer ('u', 'l1', 'l2'). */
  real(layer: string, rel?: string): string;
  /** Merged path. */
  p(rel?: string): string;
  /** Keep a watcher (or anything with close()) to be closed after the test. */
  track<T extends { close(): unknown }>(w: T): T;
}

export interface StackSpec {
  u?: LayerSpec;
  l1?: LayerSpec;
  l2?: LayerSpec;
  /** The overlay's `cache` option (default: the overlay's default). */
  cache?: boolean;
}

export function useWatchStack(): (spec: StackSpec) => WatchStack {
  const live: Array<{ root: string; closers: Array<{ close(): unknown }> }> = [];
  afterEach(async () => {
    for (const s of live.splice(0)) {
      for (const c of s.closers) c.close();
      fs.rmSync(s.root, { recursive: true, force: true });
    }
    // Node closes watcher handles asynchronously: let them go before the next test counts.
    await turns();
  });
  return (spec) => {
    const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ovfs-watch-')));
    const lowers = spec.l2 ? ['l2', 'l1'] : ['l1'];
    for (const n of lowers) buildLayer(path.join(root, n), spec[n as 'l1' | 'l2'] ?? {});
    buildLayer(path.join(root, 'u'), spec.u ?? {});
    const m = path.join(root, 'm');
    const ov = createOverlay({
      mountpoint: m, upper: path.join(root, 'u'), lower: lowers.map((n) => path.join(root, n)),
      ...(spec.cache === undefined ? {} : { cache: spec.cache }),
    });
    const entry = { root, closers: [] as Array<{ close(): unknown }> };
    live.push(entry);
    return {
      root, m, ov,
      real: (layer, rel = '') => path.join(root, layer, rel),
      p: (rel = '') => path.join(m, rel),
      track: (w) => { entry.closers.push(w); return w; },
    };
  };
}

export interface Event {
  type: string;
  filename: string;
}

export interface EventLog {
  readonly events: Event[];
  /** Events from now on are what next() and since() look at. */
  mark(): void;
  since(): Event[];
  /** The first event after the mark matching `pred` (default: any); rejects after TIMEOUT_MS. */
  next(pred?: (e: Event) => boolean, what?: string): Promise<Event>;
}

export function record(w: EventEmitter): EventLog {
  const events: Event[] = [];
  let markAt = 0;
  const waiters = new Set<() => void>();
  w.on('change', (type: string, filename: string | Buffer) => {
    events.push({ type, filename: String(filename) });
    for (const f of [...waiters]) f();
  });
  const log: EventLog = {
    events,
    mark: () => { markAt = events.length; },
    since: () => events.slice(markAt),
    next: (pred = () => true, what = 'the expected event') => new Promise((resolve, reject) => {
      const check = () => {
        const hit = events.slice(markAt).find(pred);
        if (!hit) return false;
        cleanup();
        resolve(hit);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${TIMEOUT_MS} ms waiting for ${what}; saw ${JSON.stringify(events.slice(markAt))}`));
      }, TIMEOUT_MS);
      const cleanup = () => { clearTimeout(timer); waiters.delete(onEvent); };
      const onEvent = () => { check(); };
      if (!check()) waiters.add(onEvent);
    }),
  };
  return log;
}

export const named = (filename: string) => (e: Event) => e.filename === filename;

export function settle(ms = SETTLE_MS): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Make `change` (which must not be reported for `silent`), then `control` (which must be
 * reported as `controlName`); resolve with what was reported for `silent` meanwhile.
 */
export async function reportedDuring(log: EventLog, silent: string, change: () => void, control: () => void, controlName: string): Promise<Event[]> {
  log.mark();
  change();
  control();
  await log.next(named(controlName), `the control event for ${controlName}`);
  await settle();
  return log.since().filter((e) => e.filename === silent);
}

/** Active native watcher handles (FSEventWrap) and timers, as Node counts them. */
export function handles(): { watchers: number; timers: number } {
  const info = process.getActiveResourcesInfo();
  return { watchers: info.filter((r) => r === 'FSEventWrap').length, timers: info.filter((r) => r === 'Timeout').length };
}

/** Node closes watcher handles asynchronously: wait until 'close' has been emitted and a turn has passed. */
export async function closed(w: EventEmitter & { close(): void }): Promise<void> {
  const done = new Promise<void>((r) => w.once('close', () => r()));
  w.close();
  await done;
  await turns();
}

/** `p`, or a rejection naming `what` after TIMEOUT_MS (the timer is cleared either way). */
export function within<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${TIMEOUT_MS} ms waiting for ${what}`)), TIMEOUT_MS);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** A few turns of the event loop (closing handles finish within one). */
export async function turns(n = 2): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

export function write(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}
