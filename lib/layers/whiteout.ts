/**
 * The on-disk codec for deletions and opaque directories.
 *
 * We write the OCI image-layer form: a deleted name `x` is an empty file `.wh.x`; an opaque
 * directory holds an empty file `.wh..wh..opq`. We also read the kernel's form in any layer:
 * a character device 0:0 is a whiteout. Names starting with `.wh.` are reserved.
 */
import type * as fs from 'fs';

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';

export function isReserved(name: string): boolean {
  return name.startsWith(WHITEOUT_PREFIX);
}

export function whiteoutName(name: string): string {
  return WHITEOUT_PREFIX + name;
}

/** NAME_MAX on Linux: the longest name, in bytes. */
export const NAME_MAX = 255;

/** True when `name` (one component) is longer than NAME_MAX bytes. */
export function nameTooLong(name: string): boolean {
  // UTF-8 takes at most 3 bytes per UTF-16 unit: 85 units never exceed 255 bytes.
  return name.length > 85 && Buffer.byteLength(name) > NAME_MAX;
}

/**
 * True when the OCI whiteout `.wh.<name>` fits in NAME_MAX. For names of 252 to 255 bytes it
 * does not: no such whiteout can exist (so there is none to look for), and none can be written.
 */
export function hasWhiteoutName(name: string): boolean {
  return name.length <= 63 || Buffer.byteLength(name) + WHITEOUT_PREFIX.length <= NAME_MAX;
}

/** The name an OCI whiteout entry hides, or null if `name` is not one (the opaque marker is not). */
export function whitedOutName(name: string): string | null {
  if (!name.startsWith(WHITEOUT_PREFIX) || name === OPAQUE_MARKER) return null;
  return name.slice(WHITEOUT_PREFIX.length);
}

/** The kernel's whiteout: a character device with device number 0:0. */
export function isKernelWhiteout(st: fs.Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}
