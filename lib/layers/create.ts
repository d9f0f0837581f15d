/** Building a layer stack from options: validation, lower protection, crash recovery. */
import type { OverlayOptions } from '../types';
import type { Stack, Layer } from './stack';
import { normalizeOptions } from '../options';
import { protectLowers, releaseLowers } from './guard';
import { real } from '../real-fs';
import { forgetLayers } from '../router/index-cache';
// Indexed directories are watched (the watch itself lives there; loaded for that alone).
import '../router/index-watch';

/** Remove temporaries left in the work directory by processes that are gone (a crash mid copy-up). */
function cleanStaleTemporaries(work: string): void {
  let names: string[];
  try { names = real.readdirSync(work); } catch { return; }
  for (const name of names) {
    const pid = Number(/^(\d+)-/.exec(name)?.[1]);
    if (!pid || pid === process.pid || alive(pid)) continue;
    try { real.rmSync(work + '/' + name, { recursive: true, force: true }); } catch { /* next start tries again */ }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}

export function createStack(options: OverlayOptions): Stack {
  const o = normalizeOptions(options);
  const layers: Layer[] = [];
  const cached = o.cache;
  if (o.upper) layers.push({ index: 0, role: 'upper', root: o.upper, cached });
  for (const root of o.lower) layers.push({ index: layers.length, role: 'lower', root, cached });
  protectLowers(o.lower);
  if (o.workdir) cleanStaleTemporaries(o.workdir);
  // A new overlay starts from fresh directory indexes of its layers.
  if (cached) forgetLayers(layers.map((l) => l.root));
  return { mount: o.mountpoint, layers, upper: layers[0].role === 'upper' ? layers[0] : null, work: o.workdir, workReady: false, cache: cached, roots: null };
}

/**
 * Release a stack: its lower roots stop being protected on its account, its watchers are
 * closed and its remembered lookups (and its layers' directory indexes) are dropped. Once only.
 */
export function releaseStack(stack: Stack): void {
  if (stack.released) return;
  stack.released = true;
  releaseLowers(stack.layers.filter((l) => l.role === 'lower').map((l) => l.root));
  const watchers = stack.watchers;
  stack.watchers = undefined;
  if (watchers) for (const w of watchers) { try { w.close(); } catch { /* closing the rest matters more */ } }
  if (stack.cache) forgetLayers(stack.layers.map((l) => l.root));
  stack.paths = undefined;
  stack.roots = null;
  stack.rootIndexes = undefined;
  stack.rootEntry = undefined;
}

/** Remember a watcher on its stack, so that closing the overlay closes it; returns the forget. */
export function trackWatcher(stack: Stack, w: { close(): void }): () => void {
  (stack.watchers ??= new Set()).add(w);
  return () => { stack.watchers?.delete(w); };
}
