/**
 * The router's directory index (lib/router/index-cache.ts) learns of changes made behind the
 * overlay's back by checking a directory again once its TTL has passed. A watcher knows at
 * once: every layer event drops the index of the directory it names (with the indexes below
 * it), so the watcher's own decisions, and whatever its listeners read through the overlay
 * after an event, see the layers as they are now rather than as they were up to a TTL ago.
 */
import { dropSubtree } from '../router/index-cache';

export function layerChanged(dir: string): void {
  dropSubtree(dir);
}
