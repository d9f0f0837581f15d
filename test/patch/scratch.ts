/**
 * Scratch trees and child Node processes for the global-patch tests. The patch changes the
 * process-wide fs and module loader, so every test that installs it runs in a child process
 * (`process.execPath`), never in the jest worker.
 *
 * A scratch tree lives under os.tmpdir() and holds:
 *   lower/, upper/          the layers (files given as 'lower/a.js': 'text')
 *   m                       the mountpoint: NOT created on disk, so anything that reaches the
 *                           disk without the patch fails with ENOENT
 *   node_modules/overlay-fs a symlink to this repository, so `-r overlay-fs/register` and
 *                           `require('overlay-fs')` resolve from the scratch directory the
 *                           way they do in a user's project (through package.json "exports")
 * `useScratch()` removes every tree after each test.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const ROOT = path.resolve(__dirname, '..', '..');

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Extra environment (merged over a copy without NODE_OPTIONS and OVERLAY_FS_*). */
  env?: Record<string, string | undefined>;
  cwd?: string;
}

export interface Scratch {
  readonly dir: string;
  readonly mount: string;
  readonly lower: string;
  readonly upper: string;
  /** Absolute path inside the scratch directory. */
  p(rel: string): string;
  /** Write files, keyed by path relative to the scratch directory. */
  write(files: Record<string, string | Buffer>): void;
  read(rel: string): string;
  exists(rel: string): boolean;
  /** The standard config: mountpoint m, upper upper, lower lower. */
  config(extra?: object): void;
  /** Run `node ...args` in the scratch directory. */
  run(args: string[], options?: RunOptions): RunResult;
  /** Write `code` to a script file (outside the layers) and run it after `preArgs`. */
  script(code: string, options?: RunOptions & { ext?: '.js' | '.cjs' | '.mjs'; preArgs?: string[] }): RunResult;
}

export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS;
  for (const k of Object.keys(env)) if (k.startsWith('OVERLAY_FS_')) delete env[k];
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export function runNode(args: string[], cwd: string, options: RunOptions = {}): RunResult {
  const r = spawnSync(process.execPath, args, { cwd: options.cwd ?? cwd, env: cleanEnv(options.env), encoding: 'utf8', timeout: 60000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The JSON a child printed on its last stdout line; a failed child fails the test with its stderr. */
export function json<T = any>(r: RunResult): T {
  if (r.status !== 0) throw new Error(`child exited with ${r.status}\n--- stderr ---\n${r.stderr}\n--- stdout ---\n${r.stdout}`);
  const lines = r.stdout.trim().split('\n');
  try {
    return JSON.parse(lines[lines.length - 1]);
  } catch {
    throw new Error(`child printed no JSON\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`);
  }
}

let counter = 0;

export function makeScratch(files: Record<string, string | Buffer> = {}): Scratch {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'overlay-fs-patch-')));
  fs.mkdirSync(path.join(dir, 'lower'));
  fs.mkdirSync(path.join(dir, 'upper'));
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(ROOT, path.join(dir, 'node_modules', 'overlay-fs'));
  const p = (rel: string) => path.join(dir, rel);
  const s: Scratch = {
    dir,
    mount: p('m'),
    lower: p('lower'),
    upper: p('upper'),
    p,
    write(more) {
      for (const [rel, content] of Object.entries(more)) {
        fs.mkdirSync(path.dirname(p(rel)), { recursive: true });
        fs.writeFileSync(p(rel), content);
      }
    },
    read: (rel) => fs.readFileSync(p(rel), 'utf8'),
    exists: (rel) => fs.existsSync(p(rel)),
    config(extra = {}) {
      s.write({ 'overlay-fs.config.json': JSON.stringify({ mountpoint: 'm', upper: 'upper', lower: ['lower'], ...extra }) });
    },
    run: (args, options) => runNode(args, dir, options),
    script(code, options = {}) {
      const file = p(`script-${++counter}${options.ext ?? '.js'}`);
      fs.writeFileSync(file, code);
      return runNode([...(options.preArgs ?? []), file], dir, options);
    },
  };
  s.write(files);
  live.push(dir);
  return s;
}

const live: string[] = [];

/** Remove every scratch tree after each test of the calling file. */
export function useScratch(): (files?: Record<string, string | Buffer>) => Scratch {
  afterEach(() => {
    for (const dir of live.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });
  return makeScratch;
}

/** Prelude for scripts that patch explicitly: the standard overlay of a scratch tree. */
export const PATCH_PRELUDE = `
const fs = require('fs');
const path = require('path');
const overlay = require('overlay-fs');
const M = path.join(__dirname, 'm');
const unpatch = overlay.patch({ mountpoint: M, upper: path.join(__dirname, 'upper'), lower: [path.join(__dirname, 'lower')] });
const out = (v) => console.log(JSON.stringify(v));
`;
