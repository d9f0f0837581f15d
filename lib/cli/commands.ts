/** The commands, in the order `overlay-fs --help` lists them. */
import type { Command } from './core/command';
import { run } from './commands/run';
import { ls } from './commands/ls';
import { which } from './commands/which';
import { diff } from './commands/diff';
import { commit } from './commands/commit';
import { reset } from './commands/reset';
import { mount } from './commands/mount';
import { umount } from './commands/umount';
import { explain } from './commands/explain';
import { show } from './commands/show';

export const COMMANDS: readonly Command[] = [run, ls, which, diff, commit, reset, mount, umount, explain, show];

export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}
