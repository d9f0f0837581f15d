/** The stack of real directories behind one overlay. */
import type * as fs from 'fs';

export interface Layer {
  /** 0 is the top of the stack (the upper when there is one). */
  readonly index: number;
  readonly role: 'upper' | 'lower';
  /** Absolute real path of the layer's root directory. */
  readonly root: string;
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
  /**
   * The merged root's members, kept between calls: layer roots do not come and go. Their
   * stats are refreshed whenever the root itself is what a call asks about.
   */
  roots: Member[] | null;
}

/** A directory of one layer that takes part in a merged directory. */
export interface Member {
  readonly layer: Layer;
  readonly real: string;
  readonly st: fs.Stats;
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
