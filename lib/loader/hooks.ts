/**
 * The module customization hooks registered with module.register() (see register.ts). They
 * run on Node's hooks thread, which has its own fs: `initialize` installs the same overlays
 * there (idempotently: a -r preload may already have done it in this thread), so that the
 * hooks read through the merged view.
 */
import { patchOverlays } from '../patch-config';
import { mountpoints } from '../patch';
import { createResolveHook } from './resolve';
import { createLoadHook } from './load';
import type { OverlayOptions } from '../types';

export interface HooksData {
  overlays?: OverlayOptions[];
}

export function initialize(data: HooksData | undefined): void {
  if (data?.overlays?.length) patchOverlays(data.overlays.map((options) => ({ options })));
}

export const resolve = createResolveHook(mountpoints);
export const load = createLoadHook(mountpoints);
