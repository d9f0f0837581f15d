/**
 * fs.watch on a merged path: resolve it once (symlinks followed, as inotify follows them),
 * then a merged watcher over the layers, or Node's own watcher when a symlink led out of the
 * overlay. Errors look like Node's (`watch` syscall, the path as given, `filename`).
 */
import * as path from 'path';
import type * as fs from 'fs';
import { original } from '../real-fs';
import { runSync } from '../io';
import type { Resolved } from '../router/resolve';
import { fsError, withPaths } from '../errors';
import { locate, type Target } from '../ops/target';
import { MergedWatcher } from './composite';
import { trackWatcher } from '../layers/create';
import { watchArgs, type WatchOptions } from './options';

type Opened = { kind: 'merged'; watcher: MergedWatcher } | { kind: 'external'; real: string };

export function watch(t: Target, options: unknown, listener: unknown): MergedWatcher | fs.FSWatcher {
  const args = watchArgs(options, listener);
  const opened = openWatcher(t, args.options);
  // Outside the overlay Node does all of it, with the caller's own arguments.
  if (opened.kind === 'external') return (original.watch as (...a: unknown[]) => fs.FSWatcher)(opened.real, options, listener);
  const w = opened.watcher;
  if (args.listener) w.on('change', args.listener);
  const signal = args.options.signal;
  if (signal) {
    if (signal.aborted) process.nextTick(() => w.close());
    else {
      const onAbort = () => w.close();
      signal.addEventListener('abort', onAbort, { once: true });
      w.once('close', () => signal.removeEventListener('abort', onAbort));
    }
  }
  return w;
}

/** Resolve a merged path and start watching it (the promise form shares this). */
export function openWatcher(t: Target, options: WatchOptions): Opened {
  let res: Resolved;
  try {
    // As every operation reaches its path: `fail` (EILSEQ, ENAMETOOLONG), `..` walked, the mount found again.
    res = runSync(locate(t, true, 'watch'));
    if (res.kind === 'merged' && !res.found) throw fsError('ENOENT', 'watch');
  } catch (err) {
    throw watchError(err, t.shown);
  }
  if (res.kind === 'external') return { kind: 'external', real: res.real };
  try {
    const watcher = new MergedWatcher({
      stack: res.stack,
      merged: res.merged,
      isDir: res.found!.kind === 'dir',
      selfName: path.basename(t.abs),
      recursive: options.recursive,
      persistent: options.persistent,
      encoding: options.encoding,
    });
    // Closing the overlay closes its watchers.
    watcher.once('close', trackWatcher(res.stack, watcher));
    return { kind: 'merged', watcher };
  } catch (err) {
    // A layer directory could not be watched (ENOSPC: the inotify limit, EACCES).
    throw watchError(err, t.shown);
  }
}

function watchError(err: unknown, shown: string): unknown {
  const e = withPaths(err, shown, undefined) as { path?: string; filename?: string; syscall?: string };
  if (e && typeof e === 'object' && e.syscall === 'watch' && e.path === shown) e.filename = shown;
  return e;
}
