/** Finding OCI-form markers (`.wh.*` files) in a layer, which the kernel would show as files. */
import * as fs from 'fs';
import * as path from 'path';
import { WHITEOUT_PREFIX } from '../../layers/whiteout';

/** The first `.wh.*` entry under `root` (depth first), or null when the layer has none. */
export function firstOciMarker(root: string): string | null {
  const stack = [root];
  while (stack.length) {
    const dir = stack.pop()!;
    let dirents: fs.Dirent[];
    try {
      dirents = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const d of dirents) {
      const p = path.join(dir, d.name);
      if (d.name.startsWith(WHITEOUT_PREFIX)) return p;
      if (d.isDirectory()) stack.push(p);
    }
  }
  return null;
}
