/**
 * What `show` draws: every name any layer has (under a directory), and for each layer what it
 * has there and whether the merged view shows it. The layers are read as they are on disk
 * (whiteouts and opaque markers decoded); visibility comes from ov.which(), the engine's own
 * answer, so the picture cannot disagree with what programs see.
 */
import * as path from 'path';
import type { Overlay } from '../../types';
import type { EntryType } from '../../layers/stack';
import type { LayerView } from '../core/target';
import { readLayerDir } from '../tree/layer-dir';
import { byPath } from '../tree/changes';

/**
 * visible   the merged view shows this entry (it serves the path, or merges into a directory)
 * shadowed  a layer above has the same name (an entry or a whiteout) and hides it
 * hidden    a layer above hides a parent (a whiteout, an opaque or a non-directory parent)
 * marker    a whiteout: it deletes the name from the layers below
 */
export type CellState = 'visible' | 'shadowed' | 'hidden' | 'marker';

export interface Cell {
  readonly kind: 'entry' | 'whiteout';
  readonly type: EntryType;
  /** A directory with the opaque marker. */
  readonly opaque: boolean;
  state: CellState;
}

export interface Row {
  /** Relative to the mountpoint. */
  readonly rel: string;
  /** Relative to the directory shown (what the picture prints). */
  readonly name: string;
  readonly depth: number;
  /** One per layer, top first; null where the layer has nothing. */
  readonly cells: Array<Cell | null>;
  /** What the merged view shows here, or null (deleted or hidden). */
  view: { type: EntryType; layer: number } | null;
}

export interface StackModel {
  readonly mountpoint: string;
  readonly base: string;
  readonly layers: readonly LayerView[];
  readonly rows: Row[];
  /** Rows left out to keep the picture readable. */
  readonly omitted: number;
}

export function buildModel(ov: Overlay, layers: readonly LayerView[], base: string, limit: number): StackModel {
  const rows = new Map<string, Row>();
  const rowAt = (rel: string): Row => {
    let r = rows.get(rel);
    if (!r) {
      const name = base ? rel.slice(base.length + 1) : rel;
      r = { rel, name, depth: name.split('/').length - 1, cells: layers.map(() => null), view: null };
      rows.set(rel, r);
    }
    return r;
  };
  for (const layer of layers) {
    const walk = (rel: string): void => {
      const raw = readLayerDir(path.join(layer.root, rel));
      if (!raw) return;
      for (const e of raw.entries) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        const row = rowAt(r);
        if (e.kind === 'whiteout') {
          if (!row.cells[layer.index]) row.cells[layer.index] = { kind: 'whiteout', type: e.type, opaque: false, state: 'marker' };
          continue;
        }
        const opaque = e.type === 'directory' && (readLayerDir(path.join(layer.root, r))?.opaque ?? false);
        row.cells[layer.index] = { kind: 'entry', type: e.type, opaque, state: 'hidden' };
        if (e.type === 'directory') walk(r);
      }
    };
    walk(base);
  }
  const all = [...rows.values()].sort((a, b) => byPath(a.rel, b.rel));
  for (const row of all) {
    const w = ov.which(path.join(ov.mountpoint, row.rel));
    row.view = w ? { type: w.type, layer: w.layer.index } : null;
    row.cells.forEach((cell, i) => {
      if (!cell || cell.kind === 'whiteout') return;
      const merged = w !== null && (w.layer.index === i || (w.type === 'directory' && cell.type === 'directory' && w.layers.some((e) => e.layer.index === i)));
      cell.state = merged ? 'visible' : row.cells.slice(0, i).some((c) => c !== null) ? 'shadowed' : 'hidden';
    });
  }
  const kept = all.slice(0, limit);
  return { mountpoint: ov.mountpoint, base, layers, rows: kept, omitted: all.length - kept.length };
}

/** How a cell's name reads in pictures: directories end in `/`, whiteouts start with ✕. */
export function cellText(row: Row, cell: Cell): string {
  if (cell.kind === 'whiteout') return `✕${row.name}`;
  return row.name + (cell.type === 'directory' ? '/' : '') + (cell.opaque ? ' (opaque)' : '');
}

export function viewText(row: Row): string {
  return row.view ? row.name + (row.view.type === 'directory' ? '/' : '') : '';
}

export function roleText(l: LayerView): string {
  return l.role === 'upper' ? 'upper (writable)' : `lower ${l.lowerIndex} (read-only)`;
}

/** Columns of a wide grid split into bands that fit `max`: lists of column indexes. */
export function bands(widths: number[], max: number, gap: number): number[][] {
  const out: number[][] = [];
  let cur: number[] = [];
  let used = 0;
  widths.forEach((w, i) => {
    if (cur.length && used + gap + w > max) {
      out.push(cur);
      cur = [];
      used = 0;
    }
    used += (cur.length ? gap : 0) + w;
    cur.push(i);
  });
  if (cur.length) out.push(cur);
  return out;
}
