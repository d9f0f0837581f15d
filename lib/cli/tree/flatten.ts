/**
 * `commit <dir>`: the merged view written out as one plain directory. The listing comes from
 * ov.fs and each entry's data from the real file that serves it (ov.which), so the copy is
 * what a program sees through the overlay, made with the kernel's copy_file_range.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Overlay } from '../../types';
import { walkMerged } from './walk';
import { copyEntry, applyMeta } from './copy-entry';
import { Progress } from './progress';

export interface FlattenResult {
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
  skipped: string[];
}

interface Item {
  rel: string;
  real: string;
  st: fs.Stats;
}

export function flatten(ov: Overlay, dest: string, stderr: NodeJS.WriteStream): FlattenResult {
  const items: Item[] = [];
  let bytes = 0;
  for (const e of walkMerged(ov, ov.mountpoint)) {
    const w = ov.which(e.abs);
    if (!w) continue; // removed while we walked
    const st = fs.lstatSync(w.realPath);
    items.push({ rel: e.rel, real: w.realPath, st });
    if (st.isFile()) bytes += st.size;
  }
  const progress = new Progress(stderr, { count: items.length, bytes }, 'writing');
  const result: FlattenResult = { files: 0, dirs: 0, symlinks: 0, bytes: 0, skipped: [] };
  fs.mkdirSync(dest, { recursive: true });
  const dirs: Item[] = [];
  for (const it of items) {
    const to = path.join(dest, it.rel);
    if (it.st.isDirectory()) {
      // Owner-writable until its children are in; the real mode is applied at the end.
      fs.mkdirSync(to, { mode: 0o700 });
      dirs.push(it);
      result.dirs++;
    } else if (copyEntry(it.real, to, it.st)) {
      if (it.st.isFile()) {
        result.files++;
        result.bytes += it.st.size;
      } else result.symlinks++;
    } else result.skipped.push(it.rel);
    progress.tick(it.st.isFile() ? it.st.size : 0);
  }
  // Deepest first, so setting a parent's times is not undone by its children.
  for (const d of dirs.reverse()) applyMeta(path.join(dest, d.rel), d.st);
  progress.done();
  return result;
}
