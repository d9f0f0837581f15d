/** `overlay-fs explain`: the `mount -t overlay` command that builds the same stack in the kernel. */
import type { Command } from '../core/command';
import { openTarget } from '../core/target';
import { mountCommand, shellWord } from '../kernel/quote';
import { firstOciMarker } from '../tree/oci-scan';

export const explain: Command = {
  name: 'explain',
  summary: 'print the equivalent `mount -t overlay ...` command',
  synopsis: ['overlay-fs explain [layers]'],
  description: [
    'Prints the kernel mount command for the same stack, on one line of stdout, with absolute',
    'paths: lowerdir lists the lower layers highest first, upperdir is the upper layer, and',
    'workdir the work directory (the kernel needs it on the same file system as the upper).',
    'Running it needs root. Notes on what the kernel would do differently go to stderr: the',
    'kernel does not understand the OCI whiteouts (.wh.*) that overlay-fs writes, which',
    '`overlay-fs mount` converts for it.',
  ].join('\n'),
  layers: true,
  maxPositionals: 0,
  examples: ['overlay-fs explain', 'sudo sh -c "$(overlay-fs explain)"'],
  async run(ctx) {
    const { ov, layers } = openTarget(ctx);
    ctx.out(mountCommand(ov, ov.mountpoint).map(shellWord).join(' '));
    if (!ov.upper && ov.lower.length < 2) ctx.warn('note: the kernel needs at least two lowerdir for a read-only mount (no upperdir)');
    for (const l of layers) {
      const marker = firstOciMarker(l.root);
      if (!marker) continue;
      ctx.warn(
        l.role === 'upper'
          ? `note: the upper has OCI whiteouts (${marker}), which the kernel shows as plain files; \`overlay-fs mount\` converts them to kernel whiteouts first, and back on umount`
          : `note: lower layer ${l.label} has OCI whiteouts (${marker}), which the kernel shows as plain files`,
      );
    }
    return 0;
  },
};
