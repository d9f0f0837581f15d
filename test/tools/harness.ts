/**
 * Harness for the real-tool tests: each tool runs twice, as a child Node process.
 *
 * 1. Baseline: the merged tree, flattened (computed here from the inline file maps, without
 *    overlay-fs), is written as a plain directory at `<scratch>/app`, and the tool runs on it.
 * 2. That directory is renamed away, so `<scratch>/app` no longer exists on disk, and the tool
 *    runs again on the same path, now the overlay's mountpoint, with
 *    `node -r overlay-fs/register` (and `--import overlay-fs/register` where the tool loads
 *    ES modules) and `OVERLAY_FS_CONFIG`. Nothing can reach the merged tree except through
 *    the patch.
 *
 * Because both runs see the same absolute paths, their outputs (stdout, stderr, every file
 * of the resulting tree, HTTP responses) are compared byte for byte, with no path rewriting.
 * After the overlay run the merged tree is recomputed from the layers on disk (again without
 * overlay-fs: `.wh.` files are whiteouts) and compared with the baseline tree after its run;
 * the lower layers must be byte-identical to what was written, so every output is in the upper.
 *
 * Scratch layout (under os.tmpdir(), removed by `dispose()`):
 *   app/                    baseline directory, later the (non-existent) mountpoint
 *   flat/                   the baseline directory after its run (renamed from app/)
 *   layers/upper, layers/<lower names>, layers/.upper.overlay-work
 *   node_modules/           symlinks: overlay-fs -> this repository (so `overlay-fs/register`
 *                           resolves through package.json "exports" as in a user's project),
 *                           and any tool the scripts require by name
 *   *.cjs / *.mjs           driver scripts, outside the layers
 */
import { spawn, type ChildProcess } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const REPO = path.resolve(__dirname, '..', '..');
export const NODE_MODULES = path.join(REPO, 'node_modules');
/** Every generated file and directory gets this mtime, so both runs see the same times (ETags, caches). */
export const FIXED_TIME = new Date('2024-05-01T12:00:00Z');

/** Relative path -> content; `null` in a layer above the bottom is a whiteout of that path. */
export type FileMap = Record<string, string | null>;
export interface LayerSpec {
  /** Upper (writable) layer. */
  upper: FileMap;
  /** Lower layers, top first, like the `lower` option. Keys are layer names. */
  lower: Array<[name: string, files: FileMap]>;
}

const WH = '.wh.';
const OPAQUE = '.wh..wh..opq';

/** The merged view of `layers` (bottom first), with overlayfs rules, computed without overlay-fs. */
export function mergeMaps(bottomFirst: FileMap[]): Record<string, string> {
  const merged: Record<string, string> = {};
  const drop = (rel: string, selfToo: boolean) => {
    for (const k of Object.keys(merged)) if ((selfToo && k === rel) || k.startsWith(rel + '/')) delete merged[k];
  };
  for (const layer of bottomFirst) {
    // Opaque directories and whiteouts hide lower content first, then this layer's files land.
    for (const [rel, content] of Object.entries(layer)) {
      const base = path.posix.basename(rel);
      const dir = path.posix.dirname(rel);
      if (base === OPAQUE) drop(dir === '.' ? '' : dir, false);
      else if (content === null) drop(rel, true);
      else if (base.startsWith(WH)) drop(path.posix.join(dir, base.slice(WH.length)), true);
    }
    for (const [rel, content] of Object.entries(layer)) {
      const base = path.posix.basename(rel);
      if (content === null || base.startsWith(WH)) continue;
      // A file replaces a directory of the same name below (and vice versa).
      drop(rel, false);
      for (let d = path.posix.dirname(rel); d !== '.'; d = path.posix.dirname(d)) delete merged[d];
      merged[rel] = content;
    }
  }
  return merged;
}

function writeTree(root: string, files: Record<string, string>): void {
  fs.mkdirSync(root, { recursive: true });
  const dirs = new Set<string>([root]);
  for (const [rel, content] of Object.entries(files)) {
    const abs = path.join(root, rel);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, content);
    fs.utimesSync(abs, FIXED_TIME, FIXED_TIME);
    for (let d = path.dirname(abs); d.length >= root.length; d = path.dirname(d)) dirs.add(d);
  }
  for (const d of dirs) fs.utimesSync(d, FIXED_TIME, FIXED_TIME);
}

/** Files of a real directory, relative path -> content (utf8). Symlinks are reported as `-> target`. */
export function readTree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const abs = path.join(dir, e.name);
      const rel = path.relative(root, abs).split(path.sep).join('/');
      if (e.isDirectory()) walk(abs);
      else if (e.isSymbolicLink()) out[rel] = `-> ${fs.readlinkSync(abs)}`;
      else out[rel] = fs.readFileSync(abs, 'utf8');
    }
  };
  if (fs.existsSync(root)) walk(root);
  return sortKeys(out);
}

/** A layer directory read back as a FileMap (`.wh.x` files become `x: null`, opaque markers stay). */
function readLayer(root: string): FileMap {
  const files: FileMap = {};
  for (const [rel, content] of Object.entries(readTree(root))) {
    const base = path.posix.basename(rel);
    if (base !== OPAQUE && base.startsWith(WH)) files[path.posix.join(path.posix.dirname(rel), base.slice(WH.length))] = null;
    else files[rel] = content;
  }
  return files;
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Type, mode, mtime and content hash of every entry: a lower layer must not change at all. */
export function fingerprint(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const abs = path.join(dir, name);
      const st = fs.lstatSync(abs);
      const rel = path.relative(root, abs);
      if (st.isDirectory()) {
        out[rel + '/'] = `dir ${st.mode.toString(8)} ${st.mtimeMs}`;
        walk(abs);
      } else {
        const hash = st.isFile() ? crypto.createHash('sha256').update(fs.readFileSync(abs)).digest('hex') : fs.readlinkSync(abs);
        out[rel] = `${st.isFile() ? 'file' : 'link'} ${st.mode.toString(8)} ${st.size} ${st.mtimeMs} ${hash}`;
      }
    }
  };
  walk(root);
  return out;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface NodeRun {
  /** Arguments after `node` (and after the preload flags in the overlay run). */
  args: string[];
  /** Extra environment. */
  env?: Record<string, string>;
  /**
   * Load the ESM hooks too (`--import overlay-fs/register`), for tools that `import()` files
   * under the mountpoint; 'only' preloads with `--import` alone (no `-r`).
   */
  esm?: boolean | 'only';
  timeoutMs?: number;
}

const children = new Set<ChildProcess>();

/** Kill every child still running (called by dispose and after each test file). */
export function killChildren(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children.clear();
}

export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS;
  for (const k of Object.keys(env)) if (k.startsWith('OVERLAY_FS_') || k.startsWith('JEST_')) delete env[k];
  // Keep tools' output free of colours and timing-dependent fluff.
  env.NO_COLOR = '1';
  env.FORCE_COLOR = '0';
  return { ...env, ...extra };
}

/** Spawn `node ...args`; resolves when it exits (killed after timeoutMs). */
export function spawnNode(args: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      children.delete(child);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export interface Started {
  child: ChildProcess;
  /** The first stdout line (a server prints its address there). */
  firstLine: string;
  output(): { stdout: string; stderr: string };
  /** Kill it and wait for it to be gone. */
  stop(): Promise<void>;
}

/** Spawn a long-running `node ...args` and wait for its first line of stdout. */
export function startNode(args: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs = 15_000): Promise<Started> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    let done = false;
    const exited = new Promise<void>((r) => child.on('close', () => { children.delete(child); r(); }));
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    };
    const fail = (why: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      void stop().then(() => reject(new Error(`${why}\nstdout: ${stdout}\nstderr: ${stderr}`)));
    };
    const timer = setTimeout(() => fail(`node ${args.join(' ')} printed no line within ${timeoutMs} ms`), timeoutMs);
    child.stderr!.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.stdout!.setEncoding('utf8').on('data', (d) => {
      stdout += d;
      const nl = stdout.indexOf('\n');
      if (!done && nl >= 0) {
        done = true;
        clearTimeout(timer);
        resolve({ child, firstLine: stdout.slice(0, nl), output: () => ({ stdout, stderr }), stop });
      }
    });
    child.on('error', (err) => fail(String(err)));
    child.on('close', (code) => fail(`node ${args.join(' ')} exited (${code}) before printing a line`));
  });
}

export interface OverlayConfig {
  mountpoint: string;
  upper: string;
  lower: string[];
}

export class ToolScratch {
  readonly root: string;
  /** The baseline directory, and later the mountpoint (absent from disk then). */
  readonly app: string;
  readonly flat: string;
  readonly upper: string;
  readonly lowers: string[];
  private readonly spec: LayerSpec;
  private lowerPrints: Array<Record<string, string>> = [];
  private phase: 'new' | 'baseline' | 'overlay' = 'new';

  constructor(label: string, spec: LayerSpec, links: string[] = []) {
    if (!fs.existsSync(path.join(REPO, 'dist', 'cjs', 'register.js'))) {
      throw new Error('dist/cjs/register.js is missing: run `npm run build` first (npm test does)');
    }
    this.spec = spec;
    this.root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `ovfs-tool-${label}-`)));
    this.app = path.join(this.root, 'app');
    this.flat = path.join(this.root, 'flat');
    this.upper = path.join(this.root, 'layers', 'upper');
    this.lowers = spec.lower.map(([name]) => path.join(this.root, 'layers', name));
    const nm = path.join(this.root, 'node_modules');
    fs.mkdirSync(nm);
    fs.symlinkSync(REPO, path.join(nm, 'overlay-fs'), 'dir');
    for (const name of links) {
      fs.mkdirSync(path.dirname(path.join(nm, name)), { recursive: true });
      fs.symlinkSync(path.join(NODE_MODULES, name), path.join(nm, name), 'dir');
    }
  }

  /** The merged tree as it should be before any tool runs. */
  merged(): Record<string, string> {
    return mergeMaps([...this.spec.lower.map(([, f]) => f).reverse(), this.spec.upper]);
  }

  config(): OverlayConfig {
    return { mountpoint: this.app, upper: this.upper, lower: this.lowers };
  }

  /** Write a driver script outside the layers; returns its absolute path. */
  script(name: string, code: string): string {
    const file = path.join(this.root, name);
    fs.writeFileSync(file, code);
    return file;
  }

  /** Write the flattened merged tree at app/ and the layers. */
  setup(): void {
    writeTree(this.app, this.merged());
    const writeLayer = (dir: string, files: FileMap) => {
      const real: Record<string, string> = {};
      for (const [rel, content] of Object.entries(files)) {
        if (content === null) real[path.posix.join(path.posix.dirname(rel), WH + path.posix.basename(rel))] = '';
        else real[rel] = content;
      }
      writeTree(dir, real);
    };
    writeLayer(this.upper, this.spec.upper);
    this.spec.lower.forEach(([, files], i) => writeLayer(this.lowers[i], files));
    this.lowerPrints = this.lowers.map(fingerprint);
    this.phase = 'baseline';
  }

  /** Run node on the plain directory (no overlay-fs anywhere). */
  baseline(run: NodeRun): Promise<RunResult> {
    if (this.phase !== 'baseline') throw new Error('baseline() runs after setup() and before overlay()');
    return spawnNode(run.args, this.root, cleanEnv(run.env), run.timeoutMs);
  }

  /** Move the plain directory away: from now on app/ exists only through the patch. */
  retireBaseline(): void {
    if (this.phase === 'baseline') {
      fs.renameSync(this.app, this.flat);
      this.phase = 'overlay';
    }
  }

  /** The node flags that bring the overlay into a child process. */
  preloadArgs(esm: boolean | 'only' = false): string[] {
    if (esm === 'only') return ['--import', 'overlay-fs/register'];
    return esm ? ['-r', 'overlay-fs/register', '--import', 'overlay-fs/register'] : ['-r', 'overlay-fs/register'];
  }

  overlayEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return cleanEnv({ ...extra, OVERLAY_FS_CONFIG: JSON.stringify(this.config()) });
  }

  /** Run node with the overlay preloaded; app/ must not exist on disk. */
  async overlay(run: NodeRun): Promise<RunResult> {
    this.retireBaseline();
    this.assertMountVirtual();
    const result = await spawnNode([...this.preloadArgs(run.esm), ...run.args], this.root, this.overlayEnv(run.env), run.timeoutMs);
    this.assertMountVirtual();
    return result;
  }

  assertMountVirtual(): void {
    if (fs.existsSync(this.app)) throw new Error(`${this.app} exists on disk: the overlay run would not prove anything`);
  }

  /** The baseline directory after its run (relative path -> content). */
  baselineTree(): Record<string, string> {
    return readTree(this.phase === 'baseline' ? this.app : this.flat);
  }

  /** The merged tree after the overlay run, recomputed from the layers on disk without overlay-fs. */
  overlayTree(): Record<string, string> {
    return sortKeys(mergeMaps([...this.lowers.map(readLayer).reverse(), readLayer(this.upper)]));
  }

  /** Files of the upper layer (whiteouts as `.wh.` names). */
  upperTree(): Record<string, string> {
    return readTree(this.upper);
  }

  /** Every lower layer is exactly as written by setup(). */
  lowersUnchanged(): boolean {
    return this.lowers.every((dir, i) => JSON.stringify(fingerprint(dir)) === JSON.stringify(this.lowerPrints[i]));
  }

  /** Names of the files the tool created or changed, relative to app/, from the baseline run. */
  changedByBaseline(): string[] {
    const before = this.merged();
    const after = this.baselineTree();
    return Object.keys(after).filter((k) => before[k] !== after[k]).sort();
  }

  dispose(): void {
    killChildren();
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/** Standard assertions after both runs: same result, same tree, outputs in the upper only. */
export function expectSameOutcome(s: ToolScratch, base: RunResult, over: RunResult): void {
  expect({ code: over.code, signal: over.signal, stdout: over.stdout, stderr: over.stderr }).toEqual({
    code: base.code,
    signal: base.signal,
    stdout: base.stdout,
    stderr: base.stderr,
  });
  expect(s.overlayTree()).toEqual(s.baselineTree());
  expect(s.lowersUnchanged()).toBe(true);
  // Everything the tool wrote is a file of the upper layer.
  const upper = s.upperTree();
  const after = s.baselineTree();
  for (const rel of s.changedByBaseline()) {
    expect([rel, upper[rel]]).toEqual([rel, after[rel]]);
  }
}
