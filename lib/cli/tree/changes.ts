/**
 * What the upper layer changes against the lowers, in `docker diff` terms: A (added: the lowers
 * have nothing at that path), C (changed: the upper holds its own copy of something the lowers
 * have, a copy-up or a replacement), D (deleted: a whiteout, or a lower entry hidden by an
 * opaque directory). The lowers' view is a read-only overlay of the lowers alone, so "the
 * lowers have it" follows the engine's merge rules, whiteouts in lower layers included.
 */
import * as path from 'path';
import { createOverlay } from '../../overlay';
import type { Overlay } from '../../types';
import { entryType, type EntryType } from '../../layers/stack';
import { readLayerDir, byName } from './layer-dir';
import { listMerged } from './walk';

export interface Change {
  readonly change: 'A' | 'C' | 'D';
  /** Relative to the mountpoint. */
  readonly path: string;
  /** The type in the merged view; for D, the type the lowers had. */
  readonly type: EntryType;
}

/** Parents before children, siblings by name (component-wise, unlike a plain string sort). */
export function byPath(a: string, b: string): number {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const c = byName(x[i], y[i]);
    if (c) return c;
  }
  return x.length - y.length;
}

export function upperChanges(ov: Overlay): Change[] {
  if (!ov.upper) return [];
  const upper = ov.upper;
  const lowers = createOverlay({ mountpoint: ov.mountpoint, lower: [...ov.lower] });
  const lowerType = (rel: string): EntryType | null => {
    try {
      return entryType(lowers.fs.lstatSync(path.join(ov.mountpoint, rel)));
    } catch {
      return null;
    }
  };
  const out: Change[] = [];
  const walk = (rel: string): void => {
    const raw = readLayerDir(path.join(upper, rel));
    if (!raw) return;
    const present = new Set(raw.entries.filter((e) => e.kind === 'entry').map((e) => e.name));
    for (const e of raw.entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.kind === 'whiteout') {
        // Beside an entry of the same name, or inside an opaque directory, a whiteout adds nothing.
        const lt = present.has(e.name) || raw.opaque ? null : lowerType(r);
        if (lt) out.push({ change: 'D', path: r, type: lt });
        continue;
      }
      out.push({ change: lowerType(r) ? 'C' : 'A', path: r, type: e.type });
      if (e.type === 'directory') walk(r);
    }
    if (raw.opaque && lowerType(rel) === 'directory') {
      for (const { name, type } of listMerged(lowers, path.join(ov.mountpoint, rel))) {
        if (!present.has(name)) out.push({ change: 'D', path: rel ? `${rel}/${name}` : name, type });
      }
    }
  };
  try {
    walk('');
  } finally {
    lowers.close();
  }
  return out.sort((a, b) => byPath(a.path, b.path));
}

export function isAtOrUnderRel(rel: string, base: string): boolean {
  return base === '' || rel === base || rel.startsWith(base + '/');
}
