/**
 * fs.promises.watch on a merged path: an async iterator of { eventType, filename } over a
 * merged watcher. Like Node's, the watcher starts on the first next() and an abort ends the
 * iteration with an AbortError. Unlike Node 20's (which keeps only the latest event while the
 * consumer is busy), events are queued, so a slow consumer misses none.
 */
import type { Target } from '../ops/target';
import { originalPromises } from '../real-fs';
import { openWatcher } from './fs-watch';
import { promiseWatchArgs } from './options';

export interface WatchEvent {
  eventType: string;
  filename: string | Buffer | null;
}

/** Node's AbortError shape: name 'AbortError', code 'ABORT_ERR', the signal's reason as cause. */
export class AbortError extends Error {
  readonly code = 'ABORT_ERR';
  constructor(cause?: unknown) {
    super('The operation was aborted', cause === undefined ? undefined : { cause });
    this.name = 'AbortError';
  }
}

export async function* watchAsync(t: Target, options?: unknown): AsyncGenerator<WatchEvent, void, undefined> {
  const o = promiseWatchArgs(options);
  const signal = o.signal;
  if (signal?.aborted) throw new AbortError(signal.reason);
  const opened = openWatcher(t, o);
  if (opened.kind === 'external') {
    yield* (originalPromises.watch as (p: string, o?: unknown) => AsyncIterable<WatchEvent>)(opened.real, options);
    return;
  }
  const w = opened.watcher;
  const queue: WatchEvent[] = [];
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const kick = () => {
    const f = wake;
    wake = null;
    f?.();
  };
  w.on('change', (eventType: string, filename: string | Buffer | null) => {
    queue.push(Object.assign(Object.create(null), { eventType, filename }));
    kick();
  });
  w.on('error', (err: Error) => {
    failure = err;
    kick();
  });
  // Closed from outside (the overlay was closed): the iteration ends after what is queued.
  let ended = false;
  w.once('close', () => {
    ended = true;
    kick();
  });
  signal?.addEventListener('abort', kick, { once: true });
  try {
    for (;;) {
      if (signal?.aborted) throw new AbortError(signal.reason);
      if (failure) throw failure;
      const next = queue.shift();
      if (next) yield next;
      else if (ended) return;
      else await new Promise<void>((r) => { wake = r; });
    }
  } finally {
    w.close();
    signal?.removeEventListener('abort', kick);
  }
}
