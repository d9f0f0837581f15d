/**
 * Running the built `overlay-fs` command (dist/cjs/cli/main.js, as `npm test` builds it) in
 * child processes on scratch copies of the seed layers under os.tmpdir().
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const ROOT = path.resolve(__dirname, '..', '..');
export const MAIN = path.join(ROOT, 'dist', 'cjs', 'cli', 'main.js');
const SEED = path.join(ROOT, 'fixtures', 'seed');

export interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd: string;
  env?: Record<string, string | undefined>;
  input?: string;
}

/** The environment of a plain, non-interactive shell: no inherited overlay or colour settings. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('OVERLAY_FS_') || ['NODE_OPTIONS', 'NO_COLOR', 'FORCE_COLOR', 'COLUMNS'].includes(k)) delete env[k];
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export function cli(args: string[], o: RunOptions): Result {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: o.cwd, env: cleanEnv(o.env), input: o.input ?? '', encoding: 'utf8', timeout: 30000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const sh = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Run under a pseudo-terminal (util-linux `script`), as a person at a terminal would: stdin,
 * stdout and stderr are all the terminal, so their output arrives merged, with \r\n endings.
 */
export function tty(args: string[], o: RunOptions): { status: number | null; output: string } {
  const command = [process.execPath, MAIN, ...args].map(sh).join(' ');
  const r = spawnSync('script', ['-qec', command, '/dev/null'], { cwd: o.cwd, env: cleanEnv({ TERM: 'xterm', ...o.env }), input: o.input ?? '', encoding: 'utf8', timeout: 30000 });
  return { status: r.status, output: (r.stdout ?? '').replace(/\r\n/g, '\n') };
}

export const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;

export interface Scratch {
  readonly dir: string;
  /** --mount merged --upper upper --lower middle --lower lower */
  readonly flags: string[];
  p(rel: string): string;
  write(files: Record<string, string>): void;
  run(args: string[], o?: Partial<RunOptions>): Result;
  remove(): void;
}

const made: Scratch[] = [];

/** A copy of fixtures/seed (upper, middle, lower) in a new temporary directory. */
export function seed(): Scratch {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'overlay-fs-cli-')));
  fs.cpSync(SEED, dir, { recursive: true });
  const p = (rel: string) => path.join(dir, rel);
  const s: Scratch = {
    dir,
    flags: ['--mount', 'merged', '--upper', 'upper', '--lower', 'middle', '--lower', 'lower'],
    p,
    write(files) {
      for (const [rel, text] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(p(rel)), { recursive: true });
        fs.writeFileSync(p(rel), text);
      }
    },
    run: (args, o = {}) => cli(args, { cwd: dir, ...o }),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
  made.push(s);
  return s;
}

export function removeScratches(): void {
  for (const s of made.splice(0)) s.remove();
}

/** A tree as a map: relative path -> 'dir', 'link:<target>', or the file's text. */
export type Tree = Record<string, string>;

export function treeOf(fsApi: typeof fs, root: string): Tree {
  const out: Tree = {};
  const walk = (dir: string, rel: string) => {
    for (const d of (fsApi.readdirSync(dir, { withFileTypes: true }) as fs.Dirent[]).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      const abs = path.join(dir, d.name);
      if (d.isDirectory()) {
        out[r] = 'dir';
        walk(abs, r);
      } else if (d.isSymbolicLink()) out[r] = 'link:' + fsApi.readlinkSync(abs);
      else if (d.isFile()) out[r] = fsApi.readFileSync(abs, 'utf8');
      else out[r] = 'special';
    }
  };
  walk(root, '');
  return out;
}

/** The merged view as overlay-fs (the built engine) sees it. */
export function mergedTree(s: Scratch, layers = { upper: 'upper', lower: ['middle', 'lower'] }): Tree {
  const { createOverlay } = require(path.join(ROOT, 'dist', 'cjs', 'index.js')) as typeof import('../../lib/index');
  const ov = createOverlay({ mountpoint: s.p('merged'), upper: layers.upper ? s.p(layers.upper) : null, lower: layers.lower.map(s.p) });
  return treeOf(ov.fs as typeof fs, s.p('merged'));
}

/** Changes made through overlay-fs (not through the command), as a program would make them. */
export function changeThroughOverlay(s: Scratch, change: (ofs: typeof fs, m: (rel: string) => string) => void): void {
  const { createOverlay } = require(path.join(ROOT, 'dist', 'cjs', 'index.js')) as typeof import('../../lib/index');
  const ov = createOverlay({ mountpoint: s.p('merged'), upper: s.p('upper'), lower: [s.p('middle'), s.p('lower')] });
  change(ov.fs as typeof fs, (rel) => path.join(s.p('merged'), rel));
}

/**
 * The demo's changes plus a replaced directory: a.txt copied up, b.txt deleted (whiteout),
 * docs/ deleted and made again (opaque), and a new directory with a file.
 */
export function demoChanges(s: Scratch): void {
  changeThroughOverlay(s, (ofs, m) => {
    ofs.appendFileSync(m('a.txt'), 'a line appended through the overlay\n');
    ofs.unlinkSync(m('b.txt'));
    ofs.rmSync(m('docs'), { recursive: true });
    ofs.mkdirSync(m('docs'));
    ofs.writeFileSync(m('docs/new.md'), 'new\n');
    ofs.mkdirSync(m('extra'));
    ofs.writeFileSync(m('extra/x.txt'), 'x\n');
  });
}

/** The one line a user mistake must produce: `overlay-fs <cmd>: ...`, no stack trace. */
export function expectOneLineError(r: Result, command: string, pattern: RegExp, status = 1): void {
  expect({ status: r.status, stdout: r.stdout }).toEqual({ status, stdout: '' });
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^overlay-fs ${command}: `));
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}
