/**
 * `overlay-fs run [layers] -- <command...>`: runs a command with the overlay preloaded into
 * every Node process it starts. The preload travels in NODE_OPTIONS (so `npm run`, child
 * processes and workers get it too) and the layers in OVERLAY_FS_CONFIG, both read by
 * overlay-fs/register (lib/register.ts, lib/config.ts). Non-Node programs see the bare layers.
 */
import { spawn } from 'child_process';
import * as os from 'os';
import * as path from 'path';
import * as fs from 'fs';
import { pathToFileURL } from 'url';
import type { Command } from '../core/command';
import { str } from '../core/command';
import { configuredOverlays } from '../core/target';
import { CliError, usageError } from '../core/errors';
import { createOverlay } from '../../overlay';

/** A NODE_OPTIONS word: Node splits on spaces and understands double quotes with \ escapes. */
function nodeOptionWord(s: string): string {
  return /[\s"\\]/.test(s) ? `"${s.replace(/[\\"]/g, (c) => '\\' + c)}"` : s;
}

/** -r for CommonJS (and workers), --import for ES modules; the register entries dedupe. */
function preloadOptions(): string[] {
  // This file runs as dist/cjs/cli/commands/run.js.
  const cjs = path.resolve(__dirname, '..', '..', 'register.js');
  const esm = path.resolve(__dirname, '..', '..', '..', 'esm', 'register.mjs');
  const opts = ['--require', nodeOptionWord(cjs)];
  if (fs.existsSync(esm)) opts.push('--import', nodeOptionWord(pathToFileURL(esm).href));
  return opts;
}

export const run: Command = {
  name: 'run',
  summary: 'run a command with the overlay preloaded into every Node process it starts',
  synopsis: ['overlay-fs run [layers] -- <command> [args...]'],
  description: [
    'Runs the command with NODE_OPTIONS set to preload overlay-fs/register and the layers',
    'passed in OVERLAY_FS_CONFIG, so the command and every Node process it starts (npm',
    'scripts, child processes, workers) see the merged view at the mountpoint. Programs that',
    'are not Node (and native tools such as esbuild) do not: use `overlay-fs mount` for them.',
    'The exit status is the command\'s own.',
  ].join('\n'),
  layers: true,
  maxPositionals: Infinity,
  takesRest: true,
  examples: [
    'overlay-fs run --mount site --upper site.local --lower theme --lower base -- node server.js',
    'overlay-fs run -- npm test          # layers from overlay-fs.config.json',
  ],
  async run(ctx) {
    if (ctx.positionals.length) throw usageError(`put the command after --, as in: overlay-fs run [layers] -- ${ctx.positionals.join(' ')}`);
    if (ctx.rest.length === 0) throw usageError('nothing to run: put the command after --, as in: overlay-fs run [layers] -- node app.js');
    let overlays = configuredOverlays(ctx);
    const selected = str(ctx.values, 'mount');
    if (selected !== undefined && overlays.length > 1) overlays = overlays.filter((o) => o.options.mountpoint === path.resolve(ctx.cwd, selected));
    if (overlays.length === 0) throw new CliError(`no configured overlay has the mountpoint ${path.resolve(ctx.cwd, selected!)}`);
    // Check the layers here, so a mistake is one line from us rather than a failed preload.
    for (const o of overlays) createOverlay(o.options).close();
    const env: NodeJS.ProcessEnv = { ...ctx.env };
    delete env.OVERLAY_FS_OPTIONS;
    delete env.OVERLAY_FS_MOUNTPOINT;
    env.OVERLAY_FS_CONFIG = JSON.stringify(overlays.map((o) => o.options));
    env.NODE_OPTIONS = [env.NODE_OPTIONS ?? '', ...preloadOptions()].join(' ').trim();
    return await runChild(ctx.rest, env, ctx.cwd);
  },
};

function runChild(argv: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: 'inherit', env, cwd });
    // Ctrl-C reaches the whole process group; a signal sent to us alone is passed on.
    const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
    const handlers: Array<[NodeJS.Signals, () => void]> = [
      ['SIGINT', () => {}],
      ['SIGTERM', forward('SIGTERM')],
      ['SIGHUP', forward('SIGHUP')],
    ];
    for (const [sig, h] of handlers) process.on(sig, h);
    const done = () => handlers.forEach(([sig, h]) => process.removeListener(sig, h));
    child.on('error', (err: NodeJS.ErrnoException) => {
      done();
      if (err.code === 'ENOENT') reject(new CliError(`command not found: ${argv[0]}`, 127)); // as a shell does
      else reject(err);
    });
    child.on('exit', (code, signal) => {
      done();
      if (signal) {
        // Die of the same signal, so a shell sees what happened to the command.
        process.kill(process.pid, signal);
        resolve(128 + (os.constants.signals[signal] ?? 0));
      } else resolve(code ?? 1);
    });
  });
}
