/** createOverlay: the public object tying a layer stack to a Node-shaped fs. */
import type { Overlay, OverlayOptions, PathArg, WhichResult, LayerInfo, LayerEntry } from './types';
import type { Stack, Layer } from './layers/stack';
import { entryType } from './layers/stack';
import { createStack, releaseStack } from './layers/create';
import { OverlayError } from './errors';
import { patchStack } from './patch';
import { buildFs } from './node/api';
import { parsePath, isAtOrUnder, joinRel } from './paths';
import { runSync, lstatOrNull } from './io';
import { resolve, statsOf } from './router/resolve';
import { isKernelWhiteout } from './layers/whiteout';

function info(layer: Layer): LayerInfo {
  return { index: layer.index, role: layer.role, root: layer.root };
}

export function createOverlay(options: OverlayOptions): Overlay {
  const stack = createStack(options);
  let closed = false;
  const unpatches = new Set<() => void>();
  const closedError = () => new OverlayError('ERR_OVERLAY_CLOSED', `overlay-fs: the overlay at ${stack.mount} was closed`);
  const fs = buildFs({
    find: (abs) => {
      if (!isAtOrUnder(abs, stack.mount)) return null;
      if (closed) throw closedError();
      return stack;
    },
  });

  function which(p: PathArg): WhichResult | null {
    if (closed) throw closedError();
    const parsed = parsePath(p);
    if (!parsed || !isAtOrUnder(parsed.abs, stack.mount)) return null;
    let res;
    try {
      res = runSync(resolve(stack, parsed.abs, false));
    } catch {
      return null;
    }
    if (res.kind === 'external' || !res.found) return null;
    const f = res.found;
    let st;
    try {
      st = runSync(statsOf(f));
    } catch {
      return null; // removed behind the overlay's back since it was indexed
    }
    const serving: LayerEntry = { layer: info(f.layer), realPath: f.real, type: entryType(st) };
    const layers: LayerEntry[] = f.kind === 'dir'
      ? f.members.map((m) => ({ layer: info(m.layer), realPath: m.real, type: 'directory' as const }))
      : [serving, ...shadowed(stack, f.layer, res.rel)];
    return { path: res.merged, ...serving, layers };
  }

  return {
    mountpoint: stack.mount,
    upper: stack.upper?.root ?? null,
    lower: stack.layers.filter((l) => l.role === 'lower').map((l) => l.root),
    workdir: stack.work,
    fs,
    which,
    patch: () => {
      if (closed) throw closedError();
      const unpatch = patchStack(stack);
      const remove = (): void => {
        unpatches.delete(remove);
        unpatch();
      };
      unpatches.add(remove);
      return remove;
    },
    close: () => {
      if (closed) return;
      closed = true;
      for (const remove of [...unpatches]) remove();
      releaseStack(stack);
    },
    get closed() { return closed; },
  };
}

/** Entries at the same relative path in the layers below the serving one (what it shadows). */
function shadowed(stack: Stack, serving: Layer, rel: string): LayerEntry[] {
  const out: LayerEntry[] = [];
  for (const layer of stack.layers.slice(serving.index + 1)) {
    const p = joinRel(layer.root, rel);
    const st = runSync(lstatOrNull(p));
    if (st && !isKernelWhiteout(st)) out.push({ layer: info(layer), realPath: p, type: entryType(st) });
  }
  return out;
}
