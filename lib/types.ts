/** Public types of overlay-fs. */
import type * as nodeFs from 'fs';

export type PathArg = string | Buffer | URL;

export interface OverlayOptions {
  /** Where the merged view appears. Need not exist on disk; may be one of the layers. */
  mountpoint: PathArg;
  /** The writable top layer. Without it the overlay is read-only (EROFS). */
  upper?: PathArg | null;
  /** Read-only layers, highest first (like the kernel's `lowerdir=top:...:bottom`). */
  lower: PathArg[] | PathArg;
  /**
   * Private directory for atomic copy-up; must be on the upper's file system.
   * Default: `.<basename(upper)>.overlay-work` beside the upper directory.
   */
  workdir?: PathArg;
  /**
   * Keep an index of each layer directory's names in memory (default true), so that a merged
   * lookup costs no system call. The overlay's own changes show at once; changes made to the
   * layer directories by anything else show within 50 ms. `false`: every lookup asks the file
   * system (changes behind the overlay's back show at once, at the cost of speed).
   */
  cache?: boolean;
}

export type EntryType = 'file' | 'directory' | 'symlink' | 'fifo' | 'socket' | 'char-device' | 'block-device';

export interface LayerInfo {
  /** Position in the stack: 0 is the top (the upper when there is one). */
  index: number;
  role: 'upper' | 'lower';
  /** The layer's real root directory. */
  root: string;
}

export interface LayerEntry {
  layer: LayerInfo;
  /** Real path of the entry inside that layer. */
  realPath: string;
  type: EntryType;
}

export interface WhichResult extends LayerEntry {
  /** The merged path asked about (absolute). */
  path: string;
  /**
   * Every layer that has an entry at this path that the merge rules can see, top first;
   * the first is the serving one. For a directory, the directories that merge into it;
   * for anything else, the serving entry followed by the entries it shadows.
   */
  layers: LayerEntry[];
}

export interface Overlay {
  readonly mountpoint: string;
  readonly upper: string | null;
  readonly lower: readonly string[];
  readonly workdir: string | null;
  /** Node's fs API: paths at or under `mountpoint` see the merged view, other paths are untouched. */
  readonly fs: typeof nodeFs;
  /** Which layer serves merged path `p` (symlinks not followed), or null when it does not exist. */
  which(p: PathArg): WhichResult | null;
  /**
   * Install this overlay into Node's global fs (and module loading), so that unmodified code
   * sees the merged view under `mountpoint`. Returns the function that removes it again.
   */
  patch(): () => void;
  /**
   * Release the overlay: remove the patches it installed, close its watchers, forget its
   * directory index, and stop protecting its lower directories on its account (another live
   * overlay that uses them still protects them). Afterwards every use of the overlay (a path
   * under its mountpoint through `fs`, `which`, `patch`) throws an error with code
   * `ERR_OVERLAY_CLOSED`. Calling it again does nothing.
   */
  close(): void;
  /** Whether `close()` was called. */
  readonly closed: boolean;
}
