/**
 * The overlay's own real I/O: a private snapshot of Node's fs taken when this module first
 * loads, before any patch, made EMFILE-safe with graceful-fs's `gracefulify` on the snapshot.
 *
 * Why a snapshot: the overlay must never route its own I/O through a patched fs, and must not
 * load the shared graceful-fs instance (which clones fs at require time) before a patch is
 * installed, or every tool sharing that instance (webpack, jest, fs-extra) would be blind to
 * the overlay. We load graceful-fs privately and drop it from the require cache again.
 */
import fs = require('fs');

type AnyFn = (...args: any[]) => any;
export type RealFs = Record<string, any> & typeof fs;

function snapshotFs(): RealFs {
  // Node 20 defines opendir/opendirSync/Dir as lazy accessors: read them so that the
  // snapshot (and any later clone) holds plain values.
  void fs.opendir; void fs.opendirSync; void fs.Dir;
  const snap: Record<string, unknown> = {};
  for (const key of Object.getOwnPropertyNames(fs)) {
    if (key === 'promises') continue;
    const desc = Object.getOwnPropertyDescriptor(fs, key)!;
    if ('value' in desc) snap[key] = desc.value;
    else Object.defineProperty(snap, key, desc);
  }
  return snap as RealFs;
}

function loadPrivateGracefulify(): ((target: object) => object) | null {
  try { require.resolve('graceful-fs'); } catch { return null; }
  const before = new Set(Object.keys(require.cache));
  const gfs = require('graceful-fs') as { gracefulify?: (o: object) => object };
  // Forget every module this load added, so the next require('graceful-fs') clones fs anew.
  for (const key of Object.keys(require.cache)) if (!before.has(key)) delete require.cache[key];
  return typeof gfs.gracefulify === 'function' ? gfs.gracefulify : null;
}

export const real: RealFs = snapshotFs();
/** fs.promises functions, copied separately: the live `fs.promises` is patched in place. */
export const realPromises: Record<string, AnyFn> & typeof fs.promises = { ...fs.promises } as any;
/** The untouched originals, for pass-through of calls that do not touch a mount. */
export const original: RealFs = snapshotFs();
export const originalPromises: Record<string, AnyFn> = { ...fs.promises } as any;

const gracefulify = loadPrivateGracefulify();
if (gracefulify) gracefulify(real);
// graceful-fs's chmod/chown polyfills swallow EPERM and EINVAL for non-root users, so that a
// refused change would report success: the overlay uses Node's own functions for these.
for (const name of ['chmod', 'fchmod', 'lchmod', 'chown', 'fchown', 'lchown']) {
  for (const key of [name, name + 'Sync']) if (key in original) real[key] = original[key];
}
