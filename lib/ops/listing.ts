/** The merged listing of a directory: the union over its merge stack, whiteouts applied. */
import type * as fs from 'fs';
import type { Member, Layer } from '../layers/stack';
import { io, lstatOrNull, type Io } from '../io';
import { whitedOutName, isKernelWhiteout, WHITEOUT_PREFIX } from '../layers/whiteout';
import { clock, ensureOrdered, indexOf, touch, usable, T_WHITEOUT } from '../router/index-cache';
import { real } from '../real-fs';

const Dirent = real.Dirent as unknown as new (name: string, type: number, path: string) => fs.Dirent;

export interface Listed {
  readonly name: string;
  /** The serving layer's own Dirent (its type is the entry's type). */
  readonly dirent: fs.Dirent;
  readonly layer: Layer;
  readonly real: string;
}

/**
 * The union of the merge stack's entries, in the kernel's order (reference #8): the lowest
 * layer's names in its raw order (a name a higher layer overrides takes the lowest one's
 * place), then the top layer's remaining names, then each middle layer's, top down. Each
 * entry comes from its serving (highest) layer. A whiteout hides a name in the layers below
 * its own, never a sibling in its own layer.
 */
export function* listMerged(members: readonly Member[]): Io<Listed[]> {
  const serving = new Map<string, Listed>();
  const hidden = new Set<string>();
  const rawNames: string[][] = [];
  const cached = members.length > 0 && members[0].layer.cached;
  if (cached) clock();
  for (const m of members) {
    const whiteouts: string[] = [];
    const names: string[] = [];
    if (cached) {
      // From the directory's index, in its readdir order (read again after in-place updates).
      let idx = m.idx;
      if (idx === undefined || idx.dead) idx = m.idx = indexOf(m.real);
      if (!(idx.ordered && usable(idx))) yield* ensureOrdered(idx);
      touch(idx);
      if (!idx.fallback) {
        for (const [name, type] of idx.entries) {
          if (type === T_WHITEOUT) { whiteouts.push(name); continue; }
          names.push(name);
          if (serving.has(name) || hidden.has(name)) continue;
          serving.set(name, { name, dirent: new Dirent(name, type, m.real), layer: m.layer, real: m.real + '/' + name });
        }
        if (idx.oci !== null) for (const w of idx.oci) whiteouts.push(w);
        rawNames.push(names);
        for (const w of whiteouts) hidden.add(w);
        continue;
      }
    }
    const dirents = yield* io.readdirTyped(m.real);
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
      names.push(name);
      if (serving.has(name) || hidden.has(name)) continue;
      serving.set(name, { name, dirent: d, layer: m.layer, real: m.real + '/' + name });
    }
    rawNames.push(names);
    for (const w of whiteouts) hidden.add(w);
  }
  const out: Listed[] = [];
  const take = (names: string[]) => {
    for (const name of names) {
      const entry = serving.get(name);
      if (entry) { out.push(entry); serving.delete(name); }
    }
  };
  take(rawNames[rawNames.length - 1]);
  for (let i = 0; i < rawNames.length - 1; i++) take(rawNames[i]);
  return out;
}
