/**
 * One Node watcher per real directory, shared by every merged watcher in this thread.
 *
 * Why shared: chokidar and similar tools call fs.watch once per file and once per directory,
 * and a merged file watcher watches its parent directory in every layer; without sharing, a
 * directory of N watched files would hold N × layers native handles. Subscribers are counted:
 * the Node watcher closes with its last subscriber, and is ref'd while any subscriber is
 * persistent. Node watchers are only ever opened on real layer directories, with the fs
 * snapshot, so a patched fs never routes them back into an overlay.
 */
import type * as fs from 'fs';
import { original, real } from '../real-fs';
import { layerChanged } from './freshness';

export interface HubClient {
  /** Read on every ref/unref decision (a merged watcher's ref()/unref() changes it). */
  readonly persistent: boolean;
  /** The directory index's own subscription (lib/router/index-watch.ts), not a merged watcher's. */
  readonly index?: boolean;
  event(eventType: string, name: string | null): void;
  /**
   * The directory was replaced, moved or deleted, or its Node watcher failed: the client must
   * locate its directories again and subscribe anew (then release this subscription).
   */
  recheck(err?: Error): void;
}

interface Entry {
  readonly dir: string;
  readonly base: string;
  readonly ino: number;
  readonly dev: number;
  /** Birth time: ext4 gives a new directory the inode number of one just deleted. */
  readonly birth: number;
  watcher: fs.FSWatcher;
  readonly clients: Set<HubClient>;
}

const entries = new Map<string, Entry>();

/** Subscribe to a real directory (st: its lstat, to tell a replaced directory apart). */
export function subscribe(dir: string, st: fs.Stats, client: HubClient): () => void {
  let entry = entries.get(dir);
  if (entry && !isWatchedBy(entry, st)) {
    retire(entry);
    entry = undefined;
  }
  if (!entry) {
    entry = open(dir, st, new Set());
    entries.set(dir, entry);
  }
  entry.clients.add(client);
  refresh(entry);
  const mine = entry;
  return () => release(mine, client);
}

/** Re-apply ref/unref after a client's `persistent` changed. */
export function refreshClient(client: HubClient): void {
  for (const entry of entries.values()) if (entry.clients.has(client)) refresh(entry);
}

/** Number of Node watchers open for merged watchers (for tests and the documented bound). */
export function openWatchers(): number {
  let n = 0;
  for (const entry of entries.values()) {
    for (const c of entry.clients) {
      if (c.index !== true) {
        n++;
        break;
      }
    }
  }
  return n;
}

function open(dir: string, st: fs.Stats, clients: Set<HubClient>): Entry {
  const watcher = (original.watch as typeof fs.watch)(dir, { persistent: true, encoding: 'utf8' });
  const entry: Entry = { dir, base: dir.slice(dir.lastIndexOf('/') + 1), ino: st.ino, dev: st.dev, birth: st.birthtimeMs, watcher, clients };
  watcher.on('change', (type: string, name: string | null) => dispatch(entry, type, name));
  // Node has closed its handle after an error: every client looks again.
  watcher.on('error', (err: Error) => {
    if (entries.get(dir) === entry) entries.delete(dir);
    notify(entry, err);
  });
  return entry;
}

function release(entry: Entry, client: HubClient): void {
  entry.clients.delete(client);
  if (entry.clients.size > 0) return refresh(entry);
  if (entries.get(entry.dir) === entry) entries.delete(entry.dir);
  entry.watcher.close();
}

function refresh(entry: Entry): void {
  let persistent = false;
  for (const c of entry.clients) if (c.persistent) persistent = true;
  if (persistent) entry.watcher.ref();
  else entry.watcher.unref();
}

function dispatch(entry: Entry, type: string, name: string | null): void {
  if (entries.get(entry.dir) !== entry) return;
  layerChanged(entry.dir, type, name);
  for (const c of [...entry.clients]) c.event(type, name);
  const st = lstat(entry.dir);
  if (!st || !st.isDirectory() || !isWatchedBy(entry, st)) return retire(entry);
  // inotify names the watched directory itself (moved, deleted, maybe recreated with the same
  // inode number) by its base name. When no child has that name, watch the path afresh: the
  // new watcher is opened before the old one closes, so no event falls between them.
  if (type === 'rename' && name === entry.base && !lstat(entry.dir + '/' + name)) renew(entry, st);
}

/**
 * The directory `st` describes is the one `entry` watches: same device, inode number and birth
 * time. The inode number alone does not tell a directory made again in place of a deleted one
 * (the renewal by base name in dispatch misses it when an entry bears that name too).
 */
function isWatchedBy(entry: Entry, st: fs.Stats): boolean {
  return st.ino === entry.ino && st.dev === entry.dev && st.birthtimeMs === entry.birth;
}

/** The directory is gone or replaced: close its watcher and let the clients look again. */
function retire(entry: Entry): void {
  if (entries.get(entry.dir) === entry) entries.delete(entry.dir);
  entry.watcher.close();
  notify(entry);
}

/**
 * Open a new watcher on the same path before the old one closes (no event falls between
 * them); the clients move over from recheck(), and the old watcher closes with its last one.
 */
function renew(entry: Entry, st: fs.Stats): void {
  const fresh = open(entry.dir, st, new Set());
  entries.set(entry.dir, fresh);
  notify(entry, undefined, () => {
    if (fresh.clients.size === 0 && entries.get(entry.dir) === fresh) {
      entries.delete(entry.dir);
      fresh.watcher.close();
    }
  });
}

function notify(entry: Entry, err?: Error, after?: () => void): void {
  const clients = [...entry.clients];
  // Not inside subscribe() or a dispatch loop. Node drains the tick queue after each watcher
  // callback, so clients have resubscribed before the next inotify event is delivered.
  process.nextTick(() => {
    for (const c of clients) c.recheck(err);
    after?.();
  });
}

function lstat(p: string): fs.Stats | undefined {
  try {
    return real.lstatSync(p, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}
