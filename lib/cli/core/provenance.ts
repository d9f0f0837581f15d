/**
 * "Where does this entry come from, and what does it hide?" in words, from ov.which() (the
 * engine's own answer) plus, for directories, the layers below whose entries the directory
 * hides (an opaque directory, or a directory over a lower file): which() lists only the
 * directories that merge.
 */
import * as path from 'path';
import type { WhichResult } from '../../types';
import { OPAQUE_MARKER } from '../../layers/whiteout';
import { lstatOrNull } from '../tree/layer-dir';
import { isKernelWhiteout } from '../../layers/whiteout';
import type { LayerView } from './target';
import type { Paint } from './colour';

export interface Hidden {
  readonly layer: LayerView;
  readonly realPath: string;
  readonly isDir: boolean;
}

/** Entries below the serving one that the merged view does not show at this path. */
export function hiddenBy(w: WhichResult, layers: readonly LayerView[], rel: string): Hidden[] {
  if (w.type !== 'directory') {
    return w.layers.slice(1).map((e) => ({ layer: layers[e.layer.index], realPath: e.realPath, isDir: e.type === 'directory' }));
  }
  const members = new Set(w.layers.map((e) => e.layer.index));
  const out: Hidden[] = [];
  for (const layer of layers.slice(w.layer.index + 1)) {
    if (members.has(layer.index)) continue;
    const p = path.join(layer.root, rel);
    const st = lstatOrNull(p);
    if (st && !isKernelWhiteout(st)) out.push({ layer, realPath: p, isDir: st.isDirectory() });
  }
  return out;
}

export function isOpaqueDir(realDir: string): boolean {
  return lstatOrNull(path.join(realDir, OPAQUE_MARKER)) !== null;
}

/** e.g. `upper  (hides middle/c.txt)` or `middle + lower  (merged directory)`. */
export function provenance(w: WhichResult, layers: readonly LayerView[], rel: string, paint: Paint): string {
  const top = layers[w.layer.index];
  const hidden = hiddenBy(w, layers, rel).map((h) => `${h.layer.label}/${rel}${h.isDir ? '/' : ''}`);
  let text: string;
  if (w.type === 'directory' && w.layers.length > 1) {
    text = w.layers.map((e, i) => (i === 0 ? paint.bold(layers[e.layer.index].label) : layers[e.layer.index].label)).join(' + ') + paint.dim('  (merged directory)');
  } else {
    text = paint.bold(top.label);
  }
  if (w.type === 'directory' && isOpaqueDir(w.realPath)) text += paint.dim('  (opaque)');
  if (hidden.length) text += paint.dim(`  (hides ${hidden.join(', ')})`);
  return text;
}

/**
 * Why a path is missing from the merged view although some layer has it: the highest layer
 * that deletes it (a whiteout of it or of a parent), makes a parent opaque, or puts a
 * non-directory where a parent directory would be. Null when no layer has the path at all.
 */
export function whyHidden(layers: readonly LayerView[], rel: string): { holder: LayerView; reason: string } | null {
  const parts = rel.split('/');
  const holder = layers.find((l) => lstatOrNull(path.join(l.root, rel)) !== null && !isKernelWhiteout(lstatOrNull(path.join(l.root, rel))!));
  if (!holder) return null;
  for (const layer of layers.slice(0, holder.index)) {
    for (let i = 0; i < parts.length; i++) {
      const sub = parts.slice(0, i + 1).join('/');
      const dir = path.dirname(sub) === '.' ? '' : path.dirname(sub);
      const oci = path.join(layer.root, dir, '.wh.' + parts[i]);
      if (lstatOrNull(oci)) return { holder, reason: `deleted by the whiteout ${layer.label}/${path.join(dir, '.wh.' + parts[i])}` };
      const st = lstatOrNull(path.join(layer.root, sub));
      if (st && isKernelWhiteout(st)) return { holder, reason: `deleted by the whiteout ${layer.label}/${sub} (kernel form)` };
      if (!st) break;
      if (i === parts.length - 1) break;
      if (!st.isDirectory()) return { holder, reason: `${layer.label}/${sub} is not a directory and hides everything under it` };
      if (isOpaqueDir(path.join(layer.root, sub))) return { holder, reason: `${layer.label}/${sub}/ is opaque and hides the layers below it` };
    }
  }
  return { holder, reason: 'hidden by a layer above' };
}
