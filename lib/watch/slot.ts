/** The watcher's bookkeeping: watched merged directories and, per layer, where each is watched. */
import type { Layer } from '../layers/stack';
import type { Spot } from './locate';
import type { LayerDir } from './visibility';

export interface WatchedDir {
  /** Absolute merged path, free of symlinks. */
  readonly merged: string;
  /** Relative to the mountpoint: the same relative path is looked up in every layer. */
  readonly rel: string;
  /**
   * Prefix of the filenames reported for its entries ('' for the watched directory itself),
   * or null for the parent of the watched path (only the watched name is reported there).
   */
  readonly prefix: string | null;
  /** One per layer, in stack order (top first). */
  readonly slots: Slot[];
}

/** One layer's view of a watched merged directory. */
export class Slot implements LayerDir {
  /** What is watched now (null: the layer root itself is gone). */
  spot: Spot | null = null;
  /** The names in the layer's directory as last seen (empty while it does not exist). */
  names = new Set<string>();
  /** The subscription serving `spot` (owned by LayerWatches). */
  sub: unknown = null;
  /** Its merged directory is no longer watched. */
  removed = false;

  constructor(readonly dir: WatchedDir, readonly layer: Layer, readonly target: string) {}

  get index(): number {
    return this.layer.index;
  }

  get exists(): boolean {
    return this.spot?.exists === true;
  }
}
