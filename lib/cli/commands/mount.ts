/**
 * `overlay-fs mount <mountpoint>`: the same stack as a real mount, for programs that cannot see
 * a JS patch (native tools: esbuild, swc, Vite's bundler). With the kernel's overlayfs the
 * upper is converted to kernel whiteouts first (the kernel ignores OCI ones) and back by
 * `overlay-fs umount`; fuse-overlayfs reads the OCI form as it is.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Command, Context } from '../core/command';
import { str } from '../core/command';
import { openTarget, type Target } from '../core/target';
import { CliError, usageError } from '../core/errors';
import { chooseEngine } from '../kernel/engine';
import { mountAt } from '../kernel/mountinfo';
import { saveRecord, loadRecord, dropRecord, type Engine, type MountRecord } from '../kernel/records';
import { overlayOptions, mountCommand } from '../kernel/quote';
import { toKernelForm, toOciForm } from '../kernel/convert';
import { xattrTool, MISSING_XATTR_TOOL } from '../kernel/xattr';
import { runTool } from '../kernel/tools';
import { firstOciMarker } from '../tree/oci-scan';

/** An existing, empty, unmounted directory (made when missing); true when we made it. */
function prepareMountpoint(mp: string, arg: string): boolean {
  let st: fs.Stats;
  try {
    st = fs.statSync(mp);
  } catch {
    fs.mkdirSync(mp, { recursive: true });
    return true;
  }
  if (!st.isDirectory()) throw new CliError(`mountpoint ${arg} is not a directory`);
  const on = mountAt(fs.realpathSync(mp));
  if (on) throw new CliError(`${arg} is already a mountpoint (${on.fstype}); unmount it first`);
  if (fs.readdirSync(mp).length) throw new CliError(`mountpoint ${arg} is not empty; mount only on an empty directory, so nothing there is hidden by the mount`);
  return false;
}

function kernelChecks(t: Target): void {
  const { ov, layers } = t;
  if (!ov.upper && ov.lower.length < 2) {
    throw new CliError('the kernel cannot mount a single lower layer without an upper (it needs at least two lowerdir); add --upper or another --lower');
  }
  for (const l of layers) {
    if (l.role !== 'lower') continue;
    const marker = firstOciMarker(l.root);
    if (marker) {
      throw new CliError(`lower layer ${l.label} holds OCI whiteouts (${marker}) that the kernel would show as files, and lower layers are never converted; use --engine fuse-overlayfs, or flatten the stack with \`overlay-fs commit\``);
    }
  }
  if (ov.upper && !xattrTool()) throw new CliError(MISSING_XATTR_TOOL);
}

function mountWith(engine: Engine, t: Target, mp: string): void {
  const { ov } = t;
  if (engine === 'fuse-overlayfs') {
    const r = runTool('fuse-overlayfs', ['-o', overlayOptions(ov), mp]);
    if (!r.ok) throw new CliError(`fuse-overlayfs failed: ${r.error}`);
    return;
  }
  if (ov.upper) {
    try {
      toKernelForm(ov.upper);
    } catch (err) {
      toOciForm(ov.upper); // both directions can be re-run on a half-converted tree
      throw err;
    }
  }
  const [cmd, ...args] = mountCommand(ov, mp);
  const r = runTool(cmd, args);
  if (!r.ok) {
    if (ov.upper) toOciForm(ov.upper);
    throw new CliError(`mount -t overlay failed: ${r.error} (\`dmesg | tail\` may say why)`);
  }
}

export const mount: Command = {
  name: 'mount',
  summary: 'mount the stack for real (kernel overlayfs as root, or fuse-overlayfs)',
  synopsis: ['overlay-fs mount <mountpoint> [--engine auto|kernel|fuse-overlayfs] [layers]'],
  description: [
    'Mounts the stack at <mountpoint> (an empty directory, created when missing) so that every',
    'program sees the merged view, native tools included. As root this uses the kernel\'s',
    'overlayfs: the OCI whiteouts in the upper (.wh.<name>, .wh..wh..opq) are converted to the',
    'kernel\'s form (0:0 character devices, the trusted.overlay.opaque xattr) before mounting,',
    'and back by `overlay-fs umount`. Without root it uses fuse-overlayfs when installed.',
    'Lower layers are never converted, so the kernel refuses a lower that holds OCI whiteouts.',
    'While mounted, change the stack through the mountpoint only.',
  ].join('\n'),
  optionHelp: [['--engine NAME', 'auto (default), kernel or fuse-overlayfs']],
  options: { engine: { type: 'string' } },
  layers: true,
  maxPositionals: 1,
  examples: ['sudo overlay-fs mount site && esbuild site/app.ts --bundle && sudo overlay-fs umount site'],
  async run(ctx: Context) {
    const arg = ctx.positionals[0];
    if (arg === undefined) throw usageError('mount where? give the mountpoint, as in: overlay-fs mount <mountpoint>');
    const mp = path.resolve(ctx.cwd, arg);
    const engine = chooseEngine(str(ctx.values, 'engine'));
    const t = openTarget(ctx, { mountpoint: mp });
    const known = fs.existsSync(mp) ? fs.realpathSync(mp) : mp;
    if (loadRecord(known) && mountAt(known)) throw new CliError(`${arg} is already mounted by overlay-fs; run \`overlay-fs umount ${arg}\` first`);
    if (engine === 'kernel') kernelChecks(t);
    const { ov } = t;
    if (ov.workdir) fs.mkdirSync(ov.workdir, { recursive: true });
    const workBefore = ov.workdir ? fs.readdirSync(ov.workdir) : [];
    const created = prepareMountpoint(mp, arg);
    // The mount table lists real paths; keep the record under the same name umount will look up.
    const real = fs.realpathSync(mp);
    const record: MountRecord = { engine, mountpoint: real, upper: ov.upper, lower: [...ov.lower], workdir: ov.workdir, createdMountpoint: created, workBefore };
    // Recorded first: a mount that umount could not undo must not exist, even for a moment.
    saveRecord(record);
    try {
      mountWith(engine, t, real);
    } catch (err) {
      dropRecord(real);
      if (created) fs.rmdirSync(mp);
      throw err;
    }
    ctx.out(`mounted the stack at ${mp} with ${engine === 'kernel' ? "the kernel's overlayfs" : 'fuse-overlayfs'}; undo with: overlay-fs umount ${arg}`);
    return 0;
  },
};
