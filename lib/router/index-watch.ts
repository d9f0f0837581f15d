/**
 * Watching indexed directories: each layer directory the index holds subscribes to the shared
 * watcher hub (lib/watch/hub.ts, one inotify watch per directory in this thread), so that a
 * change made behind the overlay's back is applied to the index when its event arrives instead
 * of being found by a check after a TTL. The hub applies events to the index itself (through
 * lib/watch/freshness.ts) for every subscriber, merged watchers included; an index subscription
 * only keeps the watch open, without keeping the process alive.
 */
import { subscribe } from '../watch/hub';
import { setDirectoryWatcher, watchRenewed } from './index-cache';

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
