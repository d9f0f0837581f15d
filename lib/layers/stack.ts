/** The stack of real directories behind one overlay. */
import type * as fs from 'fs';
import type { DirIndex } from '../router/index-cache';
import type { PathEntry } from '../router/resolve';

export interface Layer {
  /** 0 is the top of the stack (the upper when there is one). */
  readonly index: number;
  readonly role: 'upper' | 'lower';
  /** Absolute real path of the layer's root directory. */
  readonly root: string;
  /** Lookups in this layer use the directory index (lib/router/index-cache.ts); false: probing. */
  readonly cached: boolean;
}

/** One overlay's configuration, as the router and operations see it. */
export interface Stack {
  /** Absolute merged root. */
  readonly mount: string;
  /** Every layer, top first. */
  readonly layers: readonly Layer[];
  readonly upper: Layer | null;
  /** Work directory for atomic copy-up (on the upper's file system), or null when read-only. */
  readonly work: string | null;
  /** Set once the work directory is known to exist. */
  workReady: boolean;
  /** Lookups use the directory index (the `cache` option). */
  readonly cache: boolean;
  /**
   * The merged root's members, kept between calls: layer roots do not come and go. Without
   * the cache, whether a root is opaque is looked at again on every lookup (and the roots
   * stat'ed again when the root itself is what a call asks about); with it, the roots'
   * indexes say (within their TTL).
   */
  roots: Member[] | null;
  /** With the cache: the index of each layer root, by layer position. */
  rootIndexes?: DirIndex[];
  /** With the cache: the merged root's entry (null: not to be remembered), and remembered paths. */
  rootEntry?: PathEntry | null;
  paths?: Map<string, PathEntry>;
  pathsEpoch?: number;
  /** Set by `releaseStack` (the overlay was closed, or its patch removed). */
  released?: boolean;
  /** Watchers opened on this overlay's merged view, closed with it. */
  watchers?: Set<{ close(): void }>;
}

/** A directory of one layer that takes part in a merged directory. */
export interface Member {
  readonly layer: Layer;
  readonly real: string;
  /** Its lstat, when the lookup that found it made one (cache off); read it with `statsOf`. */
  readonly stats?: fs.Stats;
  /** Its directory index, when known (a hint: checked for being dropped before use). */
  idx?: DirIndex;
}

export type EntryType = 'file' | 'directory' | 'symlink' | 'fifo' | 'socket' | 'char-device' | 'block-device';

export function entryType(st: fs.Stats | fs.Dirent): EntryType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice()) return 'char-device';
  return 'block-device';
}
