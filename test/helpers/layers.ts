/**
 * Scratch layer stacks for the semantics tests.
 *
 * A stack is described compactly, one object per layer:
 *
 *   layers({
 *     l1: { 'd/f': 'text', 'd/sub/': null, link: { symlink: '../x' }, w: { whiteout: true } },
 *     l2: { 'd/g': 'over' },
 *     u:  { 'd/h': 'upper' },
 *   })
 *
 * Layer names follow docs/kernel-reference.md: `l1` is the BOTTOM lower layer, `l2` is above
 * it, and so on (the kernel's `lowerdir=l2:l1`); `u` is the upper. So `ov.lower` is
 * `[lN, ..., l2, l1]` (top first). The mountpoint is `<scratch>/m` and is NOT created on disk.
 *
 * Entry values:
 *   'text' | Buffer                  regular file with that content
 *   null  (or a key ending in '/')   directory
 *   { file, mode?, uid?, gid?, atime?, mtime? }
 *   { dir: true, opaque?, mode?, uid?, gid?, atime?, mtime? }
 *   { opaque: true }                 directory holding the OCI marker `.wh..wh..opq`
 *   { symlink: target, uid?, gid?, atime?, mtime? }
 *   { whiteout: true | 'kernel' }    kernel whiteout: char device 0:0 named like the entry
 *   { whiteout: 'oci' }              OCI whiteout: empty regular file `.wh.<name>`
 *   { fifo: true, mode? }
 *   { hardlink: 'other/path' }       hard link to another entry of the same layer
 * The spec may also be a function `(scratchRoot) => spec`, for links naming real paths.
 * Times are seconds (number, set with utimes, microsecond precision) or a string handed to
 * `touch -d` (e.g. '@1222222222.123456789', nanosecond precision).
 *
 * `useLayers()` registers an afterEach that (1) asserts every lower layer is unchanged
 * (content, type, mode, owner, size, mtime, ctime, nlink, link targets: see `lowerChecksums`),
 * (2) asserts that nothing was created at the mountpoint path on the real disk, and (3) removes
 * the scratch directory.
 */
import * as nodeFs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as crypto from 'crypto';
import { execFileSync } from 'child_process';
import type { Overlay, OverlayOptions } from '../../lib/types';
import { mountKernel } from './kernel-adapter';

/** OVFS_SEM_KERNEL=1: run against a real kernel overlay mount (see kernel-adapter.ts). */
export const KERNEL_MODE = process.env.OVFS_SEM_KERNEL === '1';

/** The real fs: every helper below must use this, never the overlay. */
const fs = nodeFs;

export interface Meta {
  mode?: number;
  uid?: number;
  gid?: number;
  atime?: number | string;
  mtime?: number | string;
}
export type EntrySpec =
  | string
  | Buffer
  | null
  | ({ file: string | Buffer } & Meta)
  | ({ dir: true; opaque?: boolean } & Meta)
  | ({ opaque: true } & Meta)
  | ({ symlink: string } & Meta)
  | { whiteout: true | 'kernel' | 'oci' }
  | ({ fifo: true } & Meta)
  | { hardlink: string };
export type LayerSpec = Record<string, EntrySpec>;
export interface StackSpec {
  u?: LayerSpec;
  [lower: string]: LayerSpec | undefined;
}
export interface StackOptions {
  /** No upper layer: the overlay is read-only. */
  readonly?: boolean;
  /** Pass an explicit workdir (`<scratch>/w`). Default: let the engine pick its default. */
  workdir?: boolean;
  /** Do not create the overlay (for option-validation tests). */
  noOverlay?: boolean;
  /** Extra options merged into the createOverlay() call. */
  extra?: Partial<OverlayOptions>;
}

/** Path → descriptor. 'dir' | 'file:<content>' | 'symlink:<target>' | 'whiteout' | 'chr:M:m' | 'fifo' | ... */
export type Tree = Record<string, string>;

export interface Stack {
  /** The scratch directory holding every layer. */
  root: string;
  /** The mountpoint (merged view); not on disk. */
  m: string;
  upper: string | null;
  /** Lower layer roots, top first. */
  lower: string[];
  workdir: string | null;
  /** Real root of a layer by name ('u', 'l1', ...). */
  layer(name: string): string;
  ov: Overlay;
  /** Shortcut for ov.fs. */
  fs: typeof nodeFs;
  /** Merged path: join(m, ...rel). */
  p(...rel: string[]): string;
  /** Real path inside a layer. */
  real(layerName: string, rel?: string): string;
  /** Raw recursive listing of the upper layer (on disk, no overlay logic). */
  upperTree(): Tree;
  /** Sorted raw names in the upper (directories with a trailing '/'). */
  upperNames(): string[];
  /** Raw recursive listing of any layer. */
  layerTree(name: string): Tree;
  /** Recursive listing of the merged view through ov.fs (symlinks not followed). */
  mergedTree(rel?: string): Tree;
  /** True when the upper holds the OCI whiteout for `rel` (an empty regular file `.wh.<base>`). */
  hasWhiteout(rel: string): boolean;
  /** True when the upper directory `rel` holds the OCI opaque marker. */
  isOpaque(rel: string): boolean;
  /** lstat of a real path in the upper (bigint), or null. */
  upperStat(rel: string): nodeFs.BigIntStats | null;
  /** Checksum of every entry of every lower layer. */
  lowerChecksums(): Record<string, string>;
  /** The checksums taken right after the layers were built. */
  readonly initialChecksums: Record<string, string>;
  assertLowersUnchanged(): void;
  destroy(): void;
}

export function mknodWhiteout(file: string): void {
  execFileSync('mknod', [file, 'c', '0', '0']);
}

function setTime(file: string, which: 'a' | 'm', t: number | string, isLink: boolean): void {
  if (typeof t === 'number') {
    const st = fs.lstatSync(file);
    const a = which === 'a' ? t : st.atimeMs / 1000;
    const m = which === 'm' ? t : st.mtimeMs / 1000;
    if (isLink) fs.lutimesSync(file, a, m);
    else fs.utimesSync(file, a, m);
  } else {
    execFileSync('touch', ['-h', `-${which}`, '-d', t, file]);
  }
}

/** Build one layer directory from a spec (the directory is created if needed). */
export function buildLayer(dir: string, spec: LayerSpec): void {
  fs.mkdirSync(dir, { recursive: true });
  const metas: Array<{ file: string; meta: Meta; isLink: boolean; depth: number }> = [];
  for (const [key, v] of Object.entries(spec)) {
    const rel = key.replace(/\/+$/, '');
    const file = rel === '' ? dir : path.join(dir, rel);
    const depth = rel === '' ? 0 : rel.split('/').length;
    const parent = path.dirname(file);
    if (rel !== '') fs.mkdirSync(parent, { recursive: true });
    if (v === null) {
      fs.mkdirSync(file, { recursive: true });
      continue;
    }
    if (typeof v === 'string' || Buffer.isBuffer(v)) {
      if (key.endsWith('/')) throw new Error(`layers helper: ${key} ends in '/' but has file content`);
      fs.writeFileSync(file, v);
      continue;
    }
    if ('file' in v) {
      fs.writeFileSync(file, v.file);
      metas.push({ file, meta: v, isLink: false, depth });
    } else if ('dir' in v || 'opaque' in v) {
      fs.mkdirSync(file, { recursive: true });
      if (v.opaque) fs.writeFileSync(path.join(file, '.wh..wh..opq'), '');
      metas.push({ file, meta: v, isLink: false, depth });
    } else if ('symlink' in v) {
      fs.symlinkSync(v.symlink, file);
      metas.push({ file, meta: v, isLink: true, depth });
    } else if ('whiteout' in v) {
      if (v.whiteout === 'oci') fs.writeFileSync(path.join(parent, '.wh.' + path.basename(file)), '');
      else mknodWhiteout(file);
    } else if ('fifo' in v) {
      execFileSync('mkfifo', [file]);
      metas.push({ file, meta: v, isLink: false, depth });
    } else if ('hardlink' in v) {
      fs.linkSync(path.join(dir, v.hardlink), file);
    } else {
      throw new Error(`layers helper: bad entry spec for ${key}`);
    }
  }
  // Owner and mode first (chown clears setuid, so chmod after), times last, deepest first
  // so that nothing created later bumps a directory's mtime.
  for (const { file, meta, isLink } of metas) {
    if (meta.uid !== undefined || meta.gid !== undefined) {
      fs.lchownSync(file, meta.uid ?? 0, meta.gid ?? 0);
    }
    if (meta.mode !== undefined && !isLink) fs.chmodSync(file, meta.mode);
  }
  for (const { file, meta, isLink } of [...metas].sort((a, b) => b.depth - a.depth)) {
    if (meta.atime !== undefined) setTime(file, 'a', meta.atime, isLink);
    if (meta.mtime !== undefined) setTime(file, 'm', meta.mtime, isLink);
  }
}

function describe1(file: string, st: nodeFs.Stats): string {
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink:' + fs.readlinkSync(file);
  if (st.isFile()) {
    const buf = readNoAtime(file);
    const txt = buf.toString('utf8');
    if (buf.length <= 256 && Buffer.from(txt, 'utf8').equals(buf)) return 'file:' + txt;
    return `file#${buf.length}:` + crypto.createHash('sha1').update(buf).digest('hex');
  }
  if (st.isCharacterDevice()) {
    return st.rdev === 0 ? 'whiteout' : `chr:${st.rdev}`;
  }
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  if (st.isBlockDevice()) return 'blk';
  return 'unknown';
}

/** Raw recursive listing of a real directory. */
export function realTree(dir: string): Tree {
  const out: Tree = {};
  const walk = (d: string, rel: string) => {
    for (const n of fs.readdirSync(d).sort()) {
      const f = path.join(d, n);
      const r = rel ? `${rel}/${n}` : n;
      const st = fs.lstatSync(f);
      out[r] = describe1(f, st);
      if (st.isDirectory()) walk(f, r);
    }
  };
  walk(dir, '');
  return out;
}

/** Recursive listing through any fs-like object (used on ov.fs). */
export function treeVia(xfs: typeof nodeFs, dir: string): Tree {
  const out: Tree = {};
  const walk = (d: string, rel: string) => {
    for (const n of (xfs.readdirSync(d) as string[]).slice().sort()) {
      const f = path.join(d, n);
      const r = rel ? `${rel}/${n}` : n;
      const st = xfs.lstatSync(f);
      if (st.isDirectory()) out[r] = 'dir';
      else if (st.isSymbolicLink()) out[r] = 'symlink:' + xfs.readlinkSync(f);
      else if (st.isFile()) {
        const buf = xfs.readFileSync(f);
        const txt = buf.toString('utf8');
        out[r] =
          buf.length <= 256 && Buffer.from(txt, 'utf8').equals(buf)
            ? 'file:' + txt
            : `file#${buf.length}:` + crypto.createHash('sha1').update(buf).digest('hex');
      } else if (st.isFIFO()) out[r] = 'fifo';
      else if (st.isCharacterDevice()) out[r] = 'chr';
      else out[r] = 'other';
      if (st.isDirectory()) walk(f, r);
    }
  };
  walk(dir, '');
  return out;
}

/** Read a file without touching its atime (so the checksums never disturb copy-up tests). */
function readNoAtime(f: string): Buffer {
  const fd = fs.openSync(f, fs.constants.O_RDONLY | fs.constants.O_NOATIME);
  try {
    return fs.readFileSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Fingerprint of every entry under a real directory, lstat-based (symlinks not followed). */
export function checksumTree(dir: string, prefix: string, out: Record<string, string>): void {
  const one = (f: string, r: string) => {
    const st = fs.lstatSync(f, { bigint: true });
    const parts = [
      `mode=${st.mode.toString(8)}`,
      `uid=${st.uid}`,
      `gid=${st.gid}`,
      `size=${st.size}`,
      `mtime=${st.mtimeNs}`,
      `ctime=${st.ctimeNs}`,
      `nlink=${st.nlink}`,
      `ino=${st.ino}`,
      `rdev=${st.rdev}`,
    ];
    if (st.isFile()) parts.push('sha256=' + crypto.createHash('sha256').update(readNoAtime(f)).digest('hex'));
    if (st.isSymbolicLink()) parts.push('target=' + fs.readlinkSync(f));
    out[`${prefix}:${r || '.'}`] = parts.join(' ');
    if (st.isDirectory()) {
      for (const n of fs.readdirSync(f).sort()) one(path.join(f, n), r ? `${r}/${n}` : n);
    }
  };
  one(dir, '');
}

function makeStack(specOrFn: StackSpec | ((root: string) => StackSpec), opts: StackOptions, register: (s: Stack) => void): Stack {
  // Directly in the temporary directory: a shared parent would be left behind, empty.
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ovfs-sem-'));
  const spec = typeof specOrFn === 'function' ? specOrFn(root) : specOrFn;
  const lowerNames = Object.keys(spec)
    .filter((k) => /^l\d+$/.test(k))
    .sort((a, b) => Number(b.slice(1)) - Number(a.slice(1)));
  if (lowerNames.length === 0) lowerNames.push('l1');
  for (const k of Object.keys(spec)) {
    if (k !== 'u' && !/^l\d+$/.test(k)) throw new Error(`layers helper: unknown layer name ${k}`);
  }
  if (opts.readonly && spec.u) throw new Error('layers helper: readonly stack with an upper spec');
  const layerDir = (n: string) => path.join(root, n);
  for (const n of lowerNames) buildLayer(layerDir(n), spec[n] ?? {});
  const upper = opts.readonly ? null : layerDir('u');
  if (upper) buildLayer(upper, spec.u ?? {});
  const workdir = opts.workdir ? layerDir('w') : null;
  if (workdir) fs.mkdirSync(workdir);
  const m = path.join(root, 'm');
  const lower = lowerNames.map(layerDir);

  const lowerChecksums = () => {
    const out: Record<string, string> = {};
    for (const n of lowerNames) checksumTree(layerDir(n), n, out);
    return out;
  };
  const initialChecksums = lowerChecksums();
  let ov: Overlay | null = null;
  let unmount: (() => void) | null = null;

  const stack: Stack = {
    root,
    m,
    upper,
    lower,
    workdir,
    layer: (n) => {
      if (n === 'u' && !upper) throw new Error('layers helper: no upper');
      return layerDir(n);
    },
    get ov(): Overlay {
      if (!ov) throw new Error('layers helper: overlay not created');
      return ov;
    },
    get fs(): typeof nodeFs {
      return stack.ov.fs;
    },
    p: (...rel) => path.join(m, ...rel),
    real: (n, rel = '') => path.join(layerDir(n), rel),
    upperTree: () => {
      if (!upper) throw new Error('layers helper: no upper');
      return realTree(upper);
    },
    upperNames: () => {
      const t = stack.upperTree();
      return Object.keys(t)
        .map((k) => (t[k] === 'dir' ? k + '/' : k))
        .sort();
    },
    layerTree: (n) => realTree(layerDir(n)),
    mergedTree: (rel = '') => treeVia(stack.fs, path.join(m, rel)),
    hasWhiteout: (rel) => {
      if (!upper) return false;
      const f = path.join(upper, path.dirname(rel), '.wh.' + path.basename(rel));
      try {
        const st = fs.lstatSync(f);
        return st.isFile() && st.size === 0;
      } catch {
        return false;
      }
    },
    isOpaque: (rel) => {
      if (!upper) return false;
      try {
        const st = fs.lstatSync(path.join(upper, rel, '.wh..wh..opq'));
        return st.isFile() && st.size === 0;
      } catch {
        return false;
      }
    },
    upperStat: (rel) => {
      if (!upper) return null;
      try {
        return fs.lstatSync(path.join(upper, rel), { bigint: true });
      } catch {
        return null;
      }
    },
    lowerChecksums,
    initialChecksums,
    assertLowersUnchanged: () => {
      expect(lowerChecksums()).toEqual(initialChecksums);
      // The mountpoint is virtual: nothing may ever be written at its real path.
      expect(fs.existsSync(m)).toBe(false);
    },
    destroy: () => {
      try {
        if (unmount) unmount();
      } finally {
        fs.rmSync(root, { recursive: true, force: true });
      }
    },
  };
  register(stack);
  if (!opts.noOverlay && KERNEL_MODE) {
    const k = mountKernel({ root, m, upper, lower });
    unmount = k.unmount;
    ov = k.ov;
  } else if (!opts.noOverlay) {
    const o: OverlayOptions = { mountpoint: m, lower, ...(upper ? { upper } : {}), ...(workdir ? { workdir } : {}), ...opts.extra };
    // required lazily, so that kernel mode (OVFS_SEM_KERNEL=1) works even while lib/ is broken
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const lib = require('../../lib/index') as typeof import('../../lib/index');
    ov = lib.createOverlay(o);
  }
  return stack;
}

/** spec may be a function of the scratch root (for links that name real paths). */
export type MakeStack = (spec?: StackSpec | ((root: string) => StackSpec), opts?: StackOptions) => Stack;

/**
 * Call once per test file (at top level or in a describe). Returns a factory; every stack it
 * makes is checked (lower layers unchanged) and removed after each test.
 */
export function useLayers(): MakeStack {
  const live: Stack[] = [];
  afterEach(() => {
    const stacks = live.splice(0);
    let first: unknown = null;
    for (const s of stacks) {
      try {
        s.assertLowersUnchanged();
      } catch (e) {
        first = first ?? e;
      }
    }
    for (const s of stacks) s.destroy();
    if (first) throw first;
  });
  return (spec = {}, opts = {}) => makeStack(spec, opts, (s) => live.push(s));
}

// ---------------------------------------------------------------------------------------------
// Error helpers

export type FsError = NodeJS.ErrnoException & { dest?: string };

/** Run fn, expect it to throw, return the error. */
export function thrown(fn: () => unknown): FsError {
  let result: unknown;
  try {
    result = fn();
  } catch (e) {
    return e as FsError;
  }
  throw new Error(`expected the call to fail, but it succeeded (returned ${String(result)})`);
}

/** Await p, expect it to reject, return the error. */
export async function rejected(p: Promise<unknown> | (() => Promise<unknown>)): Promise<FsError> {
  let result: unknown;
  try {
    result = await (typeof p === 'function' ? p() : p);
  } catch (e) {
    return e as FsError;
  }
  throw new Error(`expected the promise to reject, but it resolved (${String(result)})`);
}

/** Expect fn to throw an error with this code; returns the error. */
export function expectCode(fn: () => unknown, code: string): FsError {
  const e = thrown(fn);
  expect({ code: e.code, message: e.message }).toEqual({ code, message: expect.any(String) });
  return e;
}

export async function expectRejectCode(p: Promise<unknown> | (() => Promise<unknown>), code: string): Promise<FsError> {
  const e = await rejected(p);
  expect({ code: e.code, message: e.message }).toEqual({ code, message: expect.any(String) });
  return e;
}

/** Sorted names of a directory through the given fs. */
export function sortedNames(xfs: typeof nodeFs, dir: string): string[] {
  return (xfs.readdirSync(dir) as string[]).slice().sort();
}

/** Microseconds of a bigint ns time. */
export function micros(ns: bigint): bigint {
  return ns / 1000n;
}
