/**
 * Asking before destroying work. Only a person at a terminal can answer, so without a
 * terminal on stdin the caller must refuse (and point at --yes) rather than guess.
 */
import * as readline from 'readline';
import type { Context } from './command';

export function canAsk(ctx: Context): boolean {
  return ctx.stdin.isTTY === true;
}

/** Prompt on stderr (stdout may be piped); true only for an explicit yes. */
export function confirm(ctx: Context, question: string): Promise<boolean> {
  return new Promise((resolve) => {
    const rl = readline.createInterface({ input: ctx.stdin, output: ctx.stderr, terminal: true });
    let answered = false;
    rl.question(`${question} [y/N] `, (answer) => {
      answered = true;
      rl.close();
      resolve(/^\s*y(es)?\s*$/i.test(answer));
    });
    rl.on('close', () => {
      if (!answered) {
        ctx.stderr.write('\n');
        resolve(false);
      }
    });
  });
}
