/**
 * The router's directory index (lib/router/index-cache.ts) learns of changes made behind the
 * overlay's back from the layer watchers: every event is applied to the index of the
 * directory it comes from before any subscriber (a merged watcher's listeners, who then read
 * through the overlay) hears of it, so they see the layers as they are now.
 */
import { noteLayerEvent } from '../router/index-cache';

export function layerChanged(dir: string, type: string, name: string | null): void {
  noteLayerEvent(dir, type, name);
}
