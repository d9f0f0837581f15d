/**
 * overlay-fs: Linux overlayfs semantics for Node.js, without a kernel mount.
 * Sources by concept: router/ (path walk), layers/ (whiteout codec, stack, guard),
 * copyup.ts, ops/ (each operation once), node/ (the fs-shaped adapter), options.ts.
 */
export { createOverlay } from './overlay';
export { patch, isPatched } from './patch';
export { OverlayError } from './errors';
export type { Overlay, OverlayOptions, WhichResult, LayerInfo, LayerEntry, EntryType, PathArg } from './types';
