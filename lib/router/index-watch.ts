/**
 * Watching indexed directories: each layer directory the index holds subscribes to the shared
 * watcher hub (lib/watch/hub.ts, one inotify watch per directory in this thread), so that a
 * change made behind the overlay's back is applied to the index when its event arrives instead
 * of being found by a check after a TTL. The hub applies events to the index itself (through
 * lib/watch/freshness.ts) for every subscriber, merged watchers included; an index subscription
 * only keeps the watch open, without keeping the process alive.
 */
import { subscribe } from '../watch/hub';
import { real } from '../real-fs';
import { configureIndex, setDirectoryWatcher, watchRenewed } from './index-cache';

/**
 * How many directories the index may watch: a quarter of the user's inotify quota (shared by
 * every process of the user: editors, dev servers, the merged watchers), at most 65,536. Over
 * it, indexes are checked after their TTL instead.
 */
function defaultMaxWatches(): number {
  try {
    const quota = Number(real.readFileSync('/proc/sys/fs/inotify/max_user_watches', 'utf8'));
    if (quota > 0) return Math.min(65_536, Math.floor(quota / 4));
  } catch {
    // not Linux, or no /proc
  }
  return 2048;
}

configureIndex({ maxWatches: defaultMaxWatches() });

setDirectoryWatcher((idx, st) => {
  let release: (() => void) | null = null;
  release = subscribe(idx.real, st, {
    persistent: false,
    index: true,
    event() { /* applied by the hub (freshness.ts) */ },
    recheck() {
      // Renewed (an event on the directory itself), replaced, moved, deleted or failed.
      if (idx.watch === release) watchRenewed(idx);
      else release?.();
    },
  });
  return release;
});
