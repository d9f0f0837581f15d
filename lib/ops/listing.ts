/** The merged listing of a directory: the union over its merge stack, whiteouts applied. */
import type * as fs from 'fs';
import type { Member, Layer } from '../layers/stack';
import { io, lstatOrNull, type Io } from '../io';
import { whitedOutName, isKernelWhiteout, WHITEOUT_PREFIX } from '../layers/whiteout';

export interface Listed {
  readonly name: string;
  /** The serving layer's own Dirent (its type is the entry's type). */
  readonly dirent: fs.Dirent;
  readonly layer: Layer;
  readonly real: string;
}

/**
 * Top layer's names first in its own order, then each lower layer's new names. A whiteout
 * hides a name in the layers below its own, never a sibling in its own layer.
 */
export function* listMerged(members: readonly Member[]): Io<Listed[]> {
  const seen = new Set<string>();
  const hidden = new Set<string>();
  const out: Listed[] = [];
  for (const m of members) {
    const dirents = yield* io.readdirTyped(m.real);
    const whiteouts: string[] = [];
    for (const d of dirents) {
      const name = d.name;
      if (name.startsWith(WHITEOUT_PREFIX)) {
        const target = whitedOutName(name);
        if (target !== null) whiteouts.push(target);
        continue;
      }
      if (d.isCharacterDevice()) {
        const st = yield* lstatOrNull(m.real + '/' + name);
        if (st === null || isKernelWhiteout(st)) { whiteouts.push(name); continue; }
      }
      if (seen.has(name) || hidden.has(name)) continue;
      seen.add(name);
      out.push({ name, dirent: d, layer: m.layer, real: m.real + '/' + name });
    }
    for (const w of whiteouts) hidden.add(w);
  }
  return out;
}
