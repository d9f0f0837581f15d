/**
 * `overlay-fs umount <mountpoint>`: unmounts what `overlay-fs mount` mounted and brings the
 * upper back to the OCI form, including the whiteouts and opaque directories the kernel (or
 * fuse-overlayfs) wrote while it was mounted.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Command } from '../core/command';
import { CliError, usageError } from '../core/errors';
import { mountAt } from '../kernel/mountinfo';
import { loadRecord, dropRecord, type MountRecord } from '../kernel/records';
import { toOciForm } from '../kernel/convert';
import { onPath, runTool } from '../kernel/tools';
import { plural } from '../core/plural';

function unmount(r: MountRecord): void {
  const tries: Array<[string, string[]]> =
    r.engine === 'fuse-overlayfs'
      ? [['fusermount3', ['-u', r.mountpoint]], ['fusermount', ['-u', r.mountpoint]], ['umount', [r.mountpoint]]]
      : [['umount', [r.mountpoint]]];
  let last = '';
  for (const [cmd, args] of tries) {
    if (!onPath(cmd)) continue;
    const res = runTool(cmd, args);
    if (res.ok) return;
    last = `${cmd}: ${res.error}`;
    if (/busy/i.test(res.error)) break;
  }
  throw new CliError(`could not unmount ${r.mountpoint} (${last || 'no umount program found'}); the upper stays in kernel form until \`overlay-fs umount\` succeeds`);
}

/** Remove what the engine added to the work directory (the kernel's work/ and index/). */
function cleanWorkdir(r: MountRecord): void {
  if (!r.workdir || !fs.existsSync(r.workdir)) return;
  for (const name of fs.readdirSync(r.workdir)) {
    // overlay-fs's own copy-up temporaries are named <pid>-...: not ours to remove.
    if (r.workBefore.includes(name) || /^\d+-/.test(name)) continue;
    fs.rmSync(path.join(r.workdir, name), { recursive: true, force: true });
  }
}

export const umount: Command = {
  name: 'umount',
  summary: 'unmount what `overlay-fs mount` mounted; the upper goes back to OCI form',
  synopsis: ['overlay-fs umount <mountpoint>'],
  description: [
    'Unmounts a stack mounted by `overlay-fs mount`, then converts the upper layer back to the',
    'OCI form overlay-fs reads and writes (whiteouts made through the mount included), removes',
    'the kernel\'s scratch directories from the work directory, and removes the mountpoint if',
    '`mount` created it. Mounts made by other means are left alone.',
  ].join('\n'),
  layers: false,
  maxPositionals: 1,
  examples: ['sudo overlay-fs umount site'],
  async run(ctx) {
    const arg = ctx.positionals[0];
    if (arg === undefined) throw usageError('umount what? give the mountpoint, as in: overlay-fs umount <mountpoint>');
    const given = path.resolve(ctx.cwd, arg);
    const mp = fs.existsSync(given) ? fs.realpathSync(given) : given;
    const r = loadRecord(mp);
    const mounted = mountAt(mp);
    if (!r) {
      if (mounted) throw new CliError(`${arg} was not mounted by \`overlay-fs mount\` (it is a ${mounted.fstype} mount); leaving it alone`);
      throw new CliError(`${arg} is not mounted`);
    }
    if (mounted) unmount(r);
    else ctx.warn(`${arg} was already unmounted; restoring the upper's OCI form`);
    const c = r.upper ? toOciForm(r.upper) : { whiteouts: 0, opaque: 0 };
    cleanWorkdir(r);
    if (r.createdMountpoint) {
      try {
        fs.rmdirSync(mp);
      } catch { /* not empty or gone: leave it */ }
    }
    dropRecord(mp);
    ctx.out(`unmounted ${mp}${r.upper ? `; upper back in OCI form (${plural(c.whiteouts, 'whiteout')}, ${plural(c.opaque, 'opaque directory', 'opaque directories')})` : ''}`);
    return 0;
  },
};
