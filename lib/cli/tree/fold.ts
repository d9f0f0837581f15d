/**
 * `commit --into-lower N`: move the upper's changes into lower N and empty the upper, so that
 * the merged view stays the same (fold-check.ts refuses when it would not). Per upper entry,
 * top down:
 *   whiteout        delete the entry in lower N; keep a whiteout there only if a layer below
 *                   lower N still has the name
 *   directory       merge into lower N's directory (replacing a non-directory); an opaque
 *                   upper directory replaces lower N's directory wholesale
 *   anything else   replaces lower N's entry (moved with rename: same file system, atomic)
 * The upper is emptied at the end. Not atomic as a whole: an interrupted fold leaves some
 * entries moved; running it again finishes the job.
 */
import * as fs from 'fs';
import * as path from 'path';
import { createOverlay } from '../../overlay';
import type { Overlay } from '../../types';
import { entryType, type EntryType } from '../../layers/stack';
import { OPAQUE_MARKER, whiteoutName, isKernelWhiteout } from '../../layers/whiteout';
import { readLayerDir, lstatOrNull } from './layer-dir';
import { copyEntry, applyMeta } from './copy-entry';
import { Progress } from './progress';

export interface FoldResult {
  moved: number;
  whiteouts: number;
}

function removeAny(p: string): void {
  fs.rmSync(p, { recursive: true, force: true });
}

function moveEntry(from: string, to: string): void {
  try {
    fs.renameSync(from, to);
  } catch (err) {
    if ((err as { code?: string }).code !== 'EXDEV') throw err;
    if (!copyEntry(from, to)) throw Object.assign(new Error(`cannot move special file ${from} across file systems`), { code: 'EXDEV' });
    fs.unlinkSync(from);
  }
}

function countUpper(dir: string): number {
  let n = 0;
  for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
    n++;
    if (d.isDirectory()) n += countUpper(path.join(dir, d.name));
  }
  return n;
}

export function foldIntoLower(ov: Overlay, n: number, stderr: NodeJS.WriteStream): FoldResult {
  const upper = ov.upper!;
  const target = ov.lower[n];
  const below = ov.lower.slice(n + 1);
  const belowOv = below.length ? createOverlay({ mountpoint: ov.mountpoint, lower: [...below] }) : null;
  const belowType = (rel: string): EntryType | null => {
    if (!belowOv) return null;
    try {
      return entryType(belowOv.fs.lstatSync(path.join(ov.mountpoint, rel)));
    } catch {
      return null;
    }
  };
  const progress = new Progress(stderr, { count: countUpper(upper), bytes: 0 }, 'folding');
  const result: FoldResult = { moved: 0, whiteouts: 0 };

  const fold = (rel: string, opaque: boolean): void => {
    const tdir = path.join(target, rel);
    if (opaque) {
      // An opaque upper directory hides everything below it: lower N's old contents go, and
      // the layers below lower N stay hidden through an opaque marker of its own.
      for (const name of fs.readdirSync(tdir)) removeAny(path.join(tdir, name));
      if (belowType(rel) === 'directory') fs.writeFileSync(path.join(tdir, OPAQUE_MARKER), '');
    }
    const raw = readLayerDir(path.join(upper, rel))!;
    const present = new Set(raw.entries.filter((e) => e.kind === 'entry').map((e) => e.name));
    for (const e of raw.entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      const from = path.join(upper, r);
      const to = path.join(tdir, e.name);
      const toWhiteout = path.join(tdir, whiteoutName(e.name));
      progress.tick();
      if (e.kind === 'whiteout') {
        if (present.has(e.name)) continue; // the entry beside it wins
        removeAny(to);
        if (belowType(r) !== null) {
          fs.writeFileSync(toWhiteout, '');
          result.whiteouts++;
        } else removeAny(toWhiteout);
        continue;
      }
      const toSt = lstatOrNull(to);
      const hadWhiteout = lstatOrNull(toWhiteout) !== null || (toSt !== null && isKernelWhiteout(toSt));
      removeAny(toWhiteout);
      if (e.type !== 'directory') {
        removeAny(to);
        moveEntry(from, to);
        result.moved++;
        continue;
      }
      if (toSt && !toSt.isDirectory()) removeAny(to);
      if (!toSt || !toSt.isDirectory()) fs.mkdirSync(to);
      const upperOpaque = readLayerDir(from)!.opaque;
      // lower N used to delete this name: the layers below must stay hidden under the new directory.
      if (hadWhiteout && !upperOpaque && belowType(r) === 'directory') fs.writeFileSync(path.join(to, OPAQUE_MARKER), '');
      fold(r, upperOpaque);
      applyMeta(to, fs.lstatSync(from));
      result.moved++;
    }
  };
  try {
    fold('', readLayerDir(upper)!.opaque);
  } finally {
    belowOv?.close();
  }
  for (const name of fs.readdirSync(upper)) removeAny(path.join(upper, name));
  progress.done();
  return result;
}
