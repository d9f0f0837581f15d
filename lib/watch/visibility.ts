/**
 * Does a change made in one layer show in the merged view? Decided after the fact, from the
 * layers as they are now: a change in layer L to name x of a merged directory shows unless a
 * member directory above L has an entry or a whiteout for x (it shadows x), or L's own
 * directory exists but is cut off from the merge (an opaque directory or a whiteout above).
 * Removals count too: when L's entry is gone, what shows now comes from below L.
 */
import type { Member } from '../layers/stack';
import { whiteoutName, whitedOutName, OPAQUE_MARKER } from '../layers/whiteout';
import { present } from './locate';
import { joinRel } from '../paths';

/** What the watcher knows of one layer's directory for a merged directory. */
export interface LayerDir {
  readonly index: number;
  /** The layer's directory at the merged directory's path exists (as a real directory). */
  readonly exists: boolean;
  /** Its names as last seen. */
  readonly names: ReadonlySet<string>;
}

/** A member's directory decides `name`: it has the entry (of any type) or a whiteout for it. */
function decides(dir: string, name: string): boolean {
  return present(joinRel(dir, name)) || present(joinRel(dir, whiteoutName(name)));
}

function cutOff(members: readonly Member[], layer: LayerDir): boolean {
  return layer.exists && !members.some((m) => m.layer.index === layer.index);
}

/** Whether a change to `name` in `layer` shows through `members` (the merge stack, top first). */
export function shows(members: readonly Member[], layer: LayerDir, name: string): boolean {
  if (cutOff(members, layer)) return false;
  return !members.some((m) => m.layer.index < layer.index && decides(m.real, name));
}

/**
 * The names whose visibility an opaque marker created or removed in `layer` flips: names of
 * the layers below it that nothing at or above it decides.
 */
export function flippedByOpaque(members: readonly Member[], layer: LayerDir, below: readonly LayerDir[]): string[] {
  if (cutOff(members, layer)) return [];
  const names = new Set<string>();
  for (const d of below) {
    if (d.index <= layer.index || !d.exists) continue;
    for (const n of d.names) {
      if (n === OPAQUE_MARKER) continue;
      names.add(whitedOutName(n) ?? n);
    }
  }
  const above = members.filter((m) => m.layer.index <= layer.index);
  return [...names].filter((n) => !above.some((m) => decides(m.real, n)));
}
