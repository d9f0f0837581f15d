/**
 * A narrow, Node-20-specific repair for `--import overlay-fs/register` used without `-r`.
 *
 * When ESM imports a CommonJS module, Node's translator lexes the module for its export names
 * and, for `module.exports = require('./x')`, reads `./x` too, with a `readFileSync` it took
 * from fs when the translator first loaded. With `-r`, the patch is in place before that; with
 * `--import` alone, the translator loads first (to run the preload itself), its copy cannot
 * see the mount, and the import fails with ENOENT. That copy reads through the fs binding,
 * which is looked up at call time, so the binding's readFileUtf8 is wrapped here: only for
 * paths under a mountpoint, only when the caller is the translator. Everything else (the
 * overlay's own real I/O included) goes straight to the original.
 */
import { isAtOrUnder } from '../paths';

const INSTALLED = Symbol.for('overlay-fs.translator-read');

export function routeTranslatorReads(mountpoints: () => readonly string[], readMerged: (p: string) => string): void {
  const g = globalThis as Record<symbol, unknown>;
  if (g[INSTALLED]) return;
  let binding: Record<string, unknown>;
  try {
    binding = (process as unknown as { binding(name: string): Record<string, unknown> }).binding('fs');
  } catch {
    return;
  }
  const original = binding.readFileUtf8;
  if (typeof original !== 'function') return;
  g[INSTALLED] = true;
  // Set while the merged read runs: its own reads of layer files (which may lie under the
  // mountpoint of an in-place overlay) must reach the disk.
  let busy = false;
  binding.readFileUtf8 = function readFileUtf8(this: unknown, p: unknown, flags: unknown) {
    if (!busy && typeof p === 'string' && mountpoints().some((m) => isAtOrUnder(p, m)) && /node:internal\/modules\/esm\/translators/.test(new Error().stack ?? '')) {
      busy = true;
      try {
        return readMerged(p);
      } finally {
        busy = false;
      }
    }
    return original.call(this, p, flags);
  };
}
