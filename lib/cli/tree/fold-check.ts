/**
 * Whether folding the upper into lower N keeps the merged view the same. The upper sits above
 * every lower; after the fold its entries sit in lower N, below lower 0..N-1. Anything those
 * layers have at an upper path (an entry, a whiteout) or above it (an opaque directory) would
 * then hide the folded entry, so it is a conflict. Folding into lower 0 never conflicts.
 */
import * as path from 'path';
import { readLayerDir, lstatOrNull } from './layer-dir';
import { isKernelWhiteout, whiteoutName } from '../../layers/whiteout';
import { isOpaqueDir } from '../core/provenance';

export interface Conflict {
  /** Relative to the layer roots. */
  readonly path: string;
  /** The in-between layer root that would hide it. */
  readonly layer: string;
  readonly what: string;
}

/** What `root` has at `rel`, as it matters for hiding: null, 'directory', 'opaque', 'whiteout', 'entry'. */
function presence(root: string, rel: string): 'directory' | 'opaque' | 'whiteout' | 'entry' | null {
  const p = path.join(root, rel);
  if (lstatOrNull(path.join(path.dirname(p), whiteoutName(path.basename(p))))) return 'whiteout';
  const st = lstatOrNull(p);
  if (!st) return null;
  if (isKernelWhiteout(st)) return 'whiteout';
  if (st.isDirectory()) return isOpaqueDir(p) ? 'opaque' : 'directory';
  return 'entry';
}

export function foldConflicts(upper: string, between: readonly string[]): Conflict[] {
  const out: Conflict[] = [];
  const visit = (rel: string, ancestors: string[]): void => {
    const raw = readLayerDir(path.join(upper, rel));
    if (!raw) return;
    for (const e of raw.entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      const upperOpaque = e.kind === 'entry' && e.type === 'directory' && isOpaqueDir(path.join(upper, r));
      for (const b of between) {
        const blocked = ancestors.find((a) => presence(b, a) === 'opaque');
        if (blocked !== undefined) {
          out.push({ path: r, layer: b, what: `${blocked}/ is opaque there` });
          continue;
        }
        const has = presence(b, r);
        if (has === null) continue;
        // Two plain directories merge in any order; everything else hides what is below it.
        if (e.kind === 'entry' && e.type === 'directory' && !upperOpaque && has === 'directory') continue;
        out.push({ path: r, layer: b, what: has === 'whiteout' ? `it has a whiteout for ${r}` : `it has ${r}` });
      }
      if (e.kind === 'entry' && e.type === 'directory') visit(r, [...ancestors, r]);
    }
  };
  if (between.length) visit('', []);
  return out;
}
