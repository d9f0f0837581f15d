/** The `--help` texts, built from each command's own description so they cannot drift apart. */
import { LAYER_HELP, type Command } from './command';
import type { Paint } from './colour';

function table(rows: Array<[string, string]>): string[] {
  const width = Math.min(24, Math.max(...rows.map(([f]) => f.length)) + 2);
  return rows.map(([f, t]) => `  ${f.length + 2 > width ? f + '\n' + ' '.repeat(width + 2) : f.padEnd(width)}${t}`);
}

const CONFIG_NOTE = [
  'Without layer flags, the layers come from the same place as patch() without arguments:',
  'OVERLAY_FS_CONFIG (JSON or a file), OVERLAY_FS_OPTIONS with OVERLAY_FS_MOUNTPOINT, or the',
  'nearest overlay-fs.config.json or package.json "overlay-fs" key from the current directory',
  'up. --mount alone picks one overlay from a configuration that lists several.',
];

export function commandHelp(cmd: Command, paint: Paint): string {
  const lines = [
    ...cmd.synopsis.map((s, i) => `${i === 0 ? 'Usage: ' : '       '}${paint.bold(s)}`),
    '',
    ...cmd.description.split('\n'),
  ];
  const own: Array<[string, string]> = [...(cmd.optionHelp ?? []), ['-h, --help', 'show this help']];
  lines.push('', 'Options:', ...table(own));
  if (cmd.layers) lines.push('', 'Layers:', ...table(LAYER_HELP), '', ...CONFIG_NOTE);
  if (cmd.examples?.length) lines.push('', 'Examples:', ...cmd.examples.map((e) => `  ${e}`));
  return lines.join('\n') + '\n';
}

export function mainHelp(commands: readonly Command[], paint: Paint): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [
    `Usage: ${paint.bold('overlay-fs <command> [options]')}`,
    '',
    'Work with a stack of directories the way Linux overlayfs stacks them: an upper (writable)',
    'layer over read-only lower layers, seen as one merged tree.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'Layers:',
    ...table(LAYER_HELP),
    '',
    ...CONFIG_NOTE,
    '',
    'Run `overlay-fs <command> --help` for the options of one command.',
    'Exit status: 0 success, 1 failure, 2 wrong usage.',
    '',
  ].join('\n');
}
