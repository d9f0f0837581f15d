/** Depth-first walks of the merged view, in name order, through ov.fs (the engine's answer). */
import * as path from 'path';
import type * as fs from 'fs';
import type { Overlay } from '../../types';
import { entryType, type EntryType } from '../../layers/stack';
import { byName } from './layer-dir';

export interface MergedEntry {
  /** Path relative to the directory the walk started at. */
  readonly rel: string;
  readonly abs: string;
  readonly type: EntryType;
  readonly depth: number;
}

export function listMerged(ov: Overlay, dir: string): Array<{ name: string; type: EntryType }> {
  const dirents = ov.fs.readdirSync(dir, { withFileTypes: true }) as fs.Dirent[];
  return dirents.map((d) => ({ name: d.name, type: entryType(d) })).sort((a, b) => byName(a.name, b.name));
}

/** Every entry under `dir` (not `dir` itself), parents before children. */
export function* walkMerged(ov: Overlay, dir: string, recursive = true, rel = '', depth = 0): Generator<MergedEntry> {
  for (const { name, type } of listMerged(ov, dir)) {
    const abs = path.join(dir, name);
    const r = rel ? `${rel}/${name}` : name;
    yield { rel: r, abs, type, depth };
    if (recursive && type === 'directory') yield* walkMerged(ov, abs, true, r, depth + 1);
  }
}
