/**
 * Converting an upper layer between the OCI form overlay-fs writes and the kernel's form
 * (kernel-reference.md #12, #15, #17):
 *   .wh.<name> (empty file)   <->  <name> as a character device 0:0
 *   .wh..wh..opq in a dir     <->  trusted.overlay.opaque=y on the dir
 * Both directions can be re-run on a half-converted tree, so a failure halfway is undone by
 * converting back (toOciForm is also what `umount` runs on whatever the kernel wrote).
 */
import * as fs from 'fs';
import * as path from 'path';
import { OPAQUE_MARKER, whitedOutName, whiteoutName, isKernelWhiteout, WHITEOUT_PREFIX } from '../../layers/whiteout';
import { lstatOrNull } from '../tree/layer-dir';
import { runTool } from './tools';
import { setOpaque, removeOpaque, opaqueAmong } from './xattr';
import { CliError } from '../core/errors';

export interface Converted {
  whiteouts: number;
  opaque: number;
}

function directories(root: string): string[] {
  const out = [root];
  for (let i = 0; i < out.length; i++) {
    for (const d of fs.readdirSync(out[i], { withFileTypes: true })) if (d.isDirectory()) out.push(path.join(out[i], d.name));
  }
  return out;
}

function mknodWhiteout(p: string): void {
  const r = runTool('mknod', ['-m', '000', p, 'c', '0', '0']);
  if (!r.ok) throw new CliError(`mknod ${p} c 0 0 failed: ${r.error}`);
}

export function toKernelForm(upper: string): Converted {
  const opaque: string[] = [];
  const markers: string[] = [];
  let whiteouts = 0;
  for (const dir of directories(upper)) {
    for (const name of fs.readdirSync(dir)) {
      if (name === OPAQUE_MARKER) {
        opaque.push(dir);
        markers.push(path.join(dir, name));
        continue;
      }
      const target = whitedOutName(name);
      if (target === null) continue;
      const st = lstatOrNull(path.join(dir, target));
      // An entry beside its own whiteout wins over it; a directory there was not merged with
      // the lowers (the whiteout hid them), which is what opaque means.
      if (st?.isDirectory()) opaque.push(path.join(dir, target));
      else if (!st) {
        mknodWhiteout(path.join(dir, target));
        whiteouts++;
      }
      markers.push(path.join(dir, name));
    }
  }
  if (opaque.length) setOpaque(opaque);
  for (const m of markers) fs.unlinkSync(m);
  return { whiteouts, opaque: opaque.length };
}

export function toOciForm(upper: string): Converted {
  const dirs = directories(upper);
  let whiteouts = 0;
  for (const dir of dirs) {
    for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
      if (!d.isCharacterDevice()) continue;
      const p = path.join(dir, d.name);
      if (!isKernelWhiteout(fs.lstatSync(p))) continue;
      // A whiteout of a reserved `.wh.` name has no OCI form (fuse-overlayfs leaves such).
      if (!d.name.startsWith(WHITEOUT_PREFIX)) {
        fs.writeFileSync(path.join(dir, whiteoutName(d.name)), '', { flag: 'w' });
        whiteouts++;
      }
      fs.unlinkSync(p);
    }
  }
  const opaque = opaqueAmong(dirs);
  for (const dir of opaque) fs.writeFileSync(path.join(dir, OPAQUE_MARKER), '', { flag: 'w' });
  if (opaque.length) removeOpaque(opaque);
  return { whiteouts, opaque: opaque.length };
}
