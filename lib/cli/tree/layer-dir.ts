/**
 * One real directory of one layer, decoded: its entries, its whiteouts (OCI `.wh.<name>` files
 * and kernel 0:0 character devices) and whether it is opaque (`.wh..wh..opq`). This is how the
 * commands look at a layer as it is on disk, under the merged view.
 */
import * as fs from 'fs';
import { OPAQUE_MARKER, whitedOutName, isKernelWhiteout } from '../../layers/whiteout';
import { entryType, type EntryType } from '../../layers/stack';

export interface RawEntry {
  readonly name: string;
  /** `whiteout`: this layer deletes `name` from the layers below. */
  readonly kind: 'entry' | 'whiteout';
  /** For an entry, its type; for a whiteout, the form it is stored in. */
  readonly type: EntryType;
  readonly form?: 'oci' | 'kernel';
}

export interface RawDir {
  readonly entries: RawEntry[];
  readonly opaque: boolean;
}

export const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Read one layer directory; null when it does not exist or is not a directory. */
export function readLayerDir(dir: string): RawDir | null {
  let dirents: fs.Dirent[];
  try {
    dirents = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return null;
  }
  let opaque = false;
  const entries: RawEntry[] = [];
  for (const d of dirents) {
    if (d.name === OPAQUE_MARKER) {
      opaque = true;
      continue;
    }
    const target = whitedOutName(d.name);
    if (target !== null) {
      entries.push({ name: target, kind: 'whiteout', type: 'file', form: 'oci' });
    } else if (d.isCharacterDevice() && isKernelWhiteout(fs.lstatSync(dir + '/' + d.name))) {
      entries.push({ name: d.name, kind: 'whiteout', type: 'char-device', form: 'kernel' });
    } else {
      entries.push({ name: d.name, kind: 'entry', type: entryType(d) });
    }
  }
  // A name can carry both an entry and an OCI whiteout; the entry first, then the whiteout.
  entries.sort((a, b) => byName(a.name, b.name) || (a.kind === b.kind ? 0 : a.kind === 'entry' ? -1 : 1));
  return { entries, opaque };
}

export function lstatOrNull(p: string): fs.Stats | null {
  try {
    return fs.lstatSync(p);
  } catch {
    return null;
  }
}
