// @ts-check
'use strict';
/**
 * Differential test of overlay-fs against the Linux kernel's overlayfs.
 *
 * One "case" = a seed. From the seed we generate (a) three layer trees (upper `u`, middle lower
 * `l2`, bottom lower `l1`) over the tiny name alphabet a b c d, nested up to 3 deep, so that
 * files, directories, symlinks, whiteouts and opaque directories collide across the layers, and
 * (b) a sequence of fs operations on relative paths over the same alphabet. Both are pure
 * functions of the seed (the ops never look at results), so `--seed S --cases 1` reproduces a
 * case exactly. The trees are built twice:
 *   K (kernel): whiteouts = char device 0:0, opaque = xattr trusted.overlay.opaque=y, mounted with
 *               `mount -t overlay overlay -o lowerdir=K/l2:K/l1,upperdir=K/u,workdir=K/w K/m`
 *               and driven with Node's plain `fs` on K/m/<rel>;
 *   E (engine): whiteouts = char device 0:0 too (the engine reads the kernel form in any layer;
 *               option whiteoutForm 'oci' | 'mixed' uses `.wh.<name>` files instead), opaque =
 *               an empty `.wh..wh..opq` file, wrapped with createOverlay({ mountpoint: E/m, upper:
 *               E/u, lower: [E/l2, E/l1], workdir: E/w }) (E/m does not exist on disk) and driven
 *               through `ov.fs` on E/m/<rel>.
 * Every op runs on both sides with the same form (sync / promise / callback); the outcomes
 * (normalised value, or error `code`) must be equal. After the sequence the merged trees are
 * walked and compared, and the lower layers of both sides must be unchanged (checksums of
 * content + lstat fields taken right after the build). Engine errors must never mention a layer
 * path (E/u, E/l1, E/l2, E/w) in `path`, `dest` or `message`.
 * Self-check mode builds the kernel form twice and mounts both: it must give 0 mismatches, which
 * proves that generation, execution and normalisation are deterministic.
 *
 * Deliberate or unavoidable differences, each handled explicitly:
 *  1. Directory rename. With redirect_dir off (the default) the kernel answers EXDEV for a lower or
 *     merged source directory (#44); the engine renames it. On EXDEV for a directory source the
 *     harness does on the kernel side what mv(1) does, as a move of the merged tree: if the
 *     destination is a non-empty directory the expected answer is ENOTEMPTY (what rename(2) says
 *     and what moving the merged tree must give), nothing is done; otherwise an existing (empty)
 *     destination directory is removed, the tree is recreated at the destination (directories
 *     with mkdir + chmod, files with link(2) so that content, mode and hardlink identity move
 *     exactly as a real rename would keep them, symlinks with symlink(readlink)) and the source is
 *     removed with rm -r. The engine must then have succeeded (or failed with that ENOTEMPTY), and
 *     the trees are compared as usual. (In self-check mode both kernel sides get this treatment.)
 *  2. Not compared: st_dev, st_ino, times (atime/mtime/ctime/birthtime), nlink and size of
 *     directories (merged dirs report nlink 1 in the kernel; dir sizes are ext4 block counts of
 *     differently formatted upper dirs), readdir order (lists are sorted), xattrs.
 *  3. Upper directories are never compared with each other (OCI `.wh.` files vs 0:0 devices and
 *     xattrs); only the merged views are.
 *  4. Stray whiteouts: the kernel lists a whiteout that sits in a non-merged directory (#10, a
 *     state the kernel never creates itself); the engine hides it. The tree generator therefore
 *     only keeps a whiteout when its directory is merged with at least one lower layer.
 *  5. Names starting with `.wh.` are reserved in the engine (the kernel allows them, #19): the
 *     alphabet never produces them.
 *  6. A descriptor opened before a copy-up keeps reading the lower data in the engine (#39): not
 *     exercised, each `open` op opens, writes, reads, fstats and closes in one step.
 *  7. Symlink targets are relative and never climb above the mount when created; a later rename
 *     can make one escape. The kernel and engine scratch dirs have the same shape (K and E are
 *     both <case>/<side>/x/x/x) so an escaping target resolves to a same-shaped, private place on
 *     each side, and realpath results outside the mount are reported relative to K or E.
 *  8. readdir({ recursive: true }) in Node 20 follows symlinks to directories, so symlink cycles make
 *     its listing grow exponentially (seconds to minutes). Before such an op the harness sizes the
 *     symlink-following listing on the kernel side with a budget (RECURSIVE_BUDGET entries); over
 *     budget, the op is skipped on both sides and marked in the trace.
 *  9. Error details: only `code` is part of the outcome. `syscall`, `path`, `dest` and `message`
 *     (with the mount prefix mapped) are compared as warnings; `strictErrors` makes them
 *     mismatches.
 */

const fs = require('fs');
const os = require('os');
const path = require('path');
const crypto = require('crypto');
const { spawnSync } = require('child_process');

/* ------------------------------------------------------------------ PRNG */

/** mulberry32: small, fast, deterministic 32-bit PRNG. @param {number} seed */
function mulberry32(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Derive a sub-stream seed. @param {number} seed @param {number} stream */
function subSeed(seed, stream) {
  let h = (seed ^ Math.imul(stream + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

class Rng {
  /** @param {number} seed */
  constructor(seed) {
    this.next = mulberry32(seed);
  }
  /** @param {number} n */
  int(n) {
    return Math.floor(this.next() * n);
  }
  /** @param {number} p */
  chance(p) {
    return this.next() < p;
  }
  /** @template T @param {readonly T[]} arr @returns {T} */
  pick(arr) {
    return arr[this.int(arr.length)];
  }
  /** @template {string} K @param {Record<K, number>} weights @returns {K} */
  weighted(weights) {
    const keys = /** @type {K[]} */ (Object.keys(weights));
    let total = 0;
    for (const k of keys) total += weights[k];
    let r = this.next() * total;
    for (const k of keys) {
      r -= weights[k];
      if (r < 0) return k;
    }
    return keys[keys.length - 1];
  }
}

/* ------------------------------------------------------------------ types */

/**
 * @typedef {'l1' | 'l2' | 'u'} LayerName
 * @typedef {{ path: string, kind: 'file', content: string, mode: number }
 *   | { path: string, kind: 'dir', mode: number, opaque: boolean }
 *   | { path: string, kind: 'symlink', target: string }
 *   | { path: string, kind: 'whiteout', oci?: boolean }} TreeEntry
 * @typedef {Record<LayerName, TreeEntry[]>} TreeSpec
 * @typedef {'sync' | 'promise' | 'callback'} Form
 * @typedef {{ k: string, form: Form, p: string, [key: string]: any }} Op
 * @typedef {{ seed: number, tree: TreeSpec, ops: Op[] }} CaseInput
 * @typedef {{ ok: true, value?: any } | { ok: false, code: string, stack?: string }} Outcome
 * @typedef {{ syscall?: string, path?: string, dest?: string, message?: string }} ErrDetail
 * @typedef {{ outcome: Outcome, detail?: ErrDetail, leak?: string, emulated?: string }} ExecResult
 * @typedef {{ name: string, kind: 'kernel' | 'engine', fs: any, root: string, base: string,
 *   layers: Record<'l1' | 'l2' | 'u' | 'w', string>, ov?: any }} Side
 * @typedef {{ kind: string, seed: number, signature: string, opIndex?: number, op?: Op,
 *   kernel?: any, engine?: any, message?: string, stack?: string, diffs?: any[] }} Mismatch
 * @typedef {{ seed: number, opsRun: number, mismatches: Mismatch[], warnings: Mismatch[],
 *   trace: Array<{ kernel: string, engine: string, emulated?: string }>, ms: number }} CaseResult
 */

const NAMES = ['a', 'b', 'c', 'd'];
const LAYERS = /** @type {const} */ (['l1', 'l2', 'u']); // bottom to top
const MAX_TREE_DEPTH = 3;
const OPQ = '.wh..wh..opq';

/* ------------------------------------------------------------------ tree generation */

/**
 * Generate the three layer trees of a case.
 * @param {number} seed
 * @param {{ whiteoutForm?: 'kernel' | 'oci' | 'mixed' }} [opts]
 * @returns {TreeSpec}
 */
function genTree(seed, opts = {}) {
  const rng = new Rng(subSeed(seed, 1));
  /** @type {TreeSpec} */
  const tree = { l1: [], l2: [], u: [] };
  const absentByDepth = [0, 0.25, 0.45, 0.6];
  /**
   * @param {string} rel
   * @param {number} depth depth of the children being generated (1 = top level)
   * @param {LayerName[]} dirLayers layers where `rel` is a real directory
   */
  function fill(rel, depth, dirLayers) {
    for (const name of NAMES) {
      const p = rel ? `${rel}/${name}` : name;
      /** @type {LayerName[]} */
      const sub = [];
      for (const L of LAYERS) {
        if (!dirLayers.includes(L)) continue;
        if (rng.chance(absentByDepth[depth])) continue;
        const kind =
          L === 'l1'
            ? rng.weighted({ file: 40, dir: 45, symlink: 15 })
            : rng.weighted({ file: 30, dir: 40, symlink: 12, whiteout: 18 });
        if (kind === 'file') {
          const extra = rng.chance(0.1) ? '' : `${L}:${p}` + 'x'.repeat(rng.int(6));
          tree[L].push({ path: p, kind: 'file', content: extra, mode: rng.pick([0o644, 0o644, 0o644, 0o600, 0o755, 0o444]) });
        } else if (kind === 'dir') {
          const opaque = L !== 'l1' && rng.chance(0.2);
          tree[L].push({ path: p, kind: 'dir', mode: rng.pick([0o755, 0o755, 0o755, 0o700, 0o775]), opaque });
          sub.push(L);
        } else if (kind === 'symlink') {
          tree[L].push({ path: p, kind: 'symlink', target: genTarget(rng, p) });
        } else {
          const form = opts.whiteoutForm || 'kernel';
          const oci = form === 'oci' || (form === 'mixed' && rng.chance(0.5));
          tree[L].push({ path: p, kind: 'whiteout', oci });
        }
      }
      if (sub.length && depth < MAX_TREE_DEPTH) fill(p, depth + 1, sub);
    }
  }
  fill('', 1, ['l1', 'l2', 'u']);
  return dropStrayWhiteouts(tree);
}

/**
 * A relative symlink target for a link at `linkPath` that does not climb above the mount.
 * @param {Rng} rng @param {string} linkPath
 */
function genTarget(rng, linkPath) {
  const parentDepth = linkPath.split('/').length - 1;
  const up = rng.int(parentDepth + 1);
  const ups = '../'.repeat(up);
  if (up > 0 && rng.chance(0.06)) return ups.slice(0, -1); // '..' or '../..': a link to an ancestor
  const n = rng.chance(0.7) ? 1 : 2;
  const tail = [];
  for (let i = 0; i < n; i++) tail.push(rng.pick(NAMES));
  return ups + tail.join('/');
}

/**
 * Look `name` up in a directory whose merge stack is `stack` (top first), by the kernel's rules:
 * a whiteout ends the search, an opaque dir ends the merge, a non-directory hides everything
 * below it. Returns null when the name is not visible.
 * @param {TreeSpec} tree @param {LayerName[]} stack @param {string} p
 * @returns {{ type: 'file' | 'dir' | 'symlink', stack: LayerName[] } | null}
 */
function lookupSpec(tree, stack, p) {
  /** @type {LayerName[]} */
  const dirs = [];
  for (const L of stack) {
    const e = tree[L].find((x) => x.path === p);
    if (!e) continue;
    if (e.kind === 'whiteout') break;
    if (e.kind !== 'dir') {
      if (!dirs.length) return { type: e.kind, stack: [L] };
      break;
    }
    dirs.push(L);
    if (e.opaque) break;
  }
  return dirs.length ? { type: 'dir', stack: dirs } : null;
}

/**
 * The kernel's merge stack (top first) of directory `rel`, or null if `rel` is not a visible
 * directory.
 * @param {TreeSpec} tree @param {string} rel
 * @returns {LayerName[] | null}
 */
function mergeStack(tree, rel) {
  /** @type {LayerName[]} */
  let stack = ['u', 'l2', 'l1'];
  if (!rel) return stack;
  const parts = rel.split('/');
  for (let i = 0; i < parts.length; i++) {
    const r = lookupSpec(tree, stack, parts.slice(0, i + 1).join('/'));
    if (!r || r.type !== 'dir') return null;
    stack = r.stack;
  }
  return stack;
}

/**
 * The merged view the kernel should show for a tree spec (path -> type), used to draw op paths.
 * @param {TreeSpec} tree
 * @returns {Map<string, 'file' | 'dir' | 'symlink'>}
 */
function mergedView(tree) {
  /** @type {Map<string, 'file' | 'dir' | 'symlink'>} */
  const out = new Map();
  /** @param {string} rel @param {LayerName[]} stack */
  function visit(rel, stack) {
    const names = new Set();
    for (const L of stack) {
      for (const e of tree[L]) {
        const parent = e.path.includes('/') ? e.path.slice(0, e.path.lastIndexOf('/')) : '';
        if (parent === rel) names.add(e.path.slice(parent ? parent.length + 1 : 0));
      }
    }
    for (const name of [...names].sort()) {
      const p = rel ? `${rel}/${name}` : name;
      const r = lookupSpec(tree, stack, p);
      if (!r) continue;
      out.set(p, r.type);
      if (r.type === 'dir') visit(p, r.stack);
    }
  }
  visit('', ['u', 'l2', 'l1']);
  return out;
}

/**
 * Remove whiteouts that would sit in a non-merged directory (difference 4).
 * @param {TreeSpec} tree
 */
function dropStrayWhiteouts(tree) {
  for (const L of LAYERS) {
    tree[L] = tree[L].filter((e) => {
      if (e.kind !== 'whiteout') return true;
      const parent = e.path.includes('/') ? e.path.slice(0, e.path.lastIndexOf('/')) : '';
      const st = mergeStack(tree, parent);
      if (!st || !st.includes(L)) return true; // hidden dir: harmless, never visible
      return st.length >= 2;
    });
  }
  return tree;
}

/** All paths named anywhere in the tree (for op path generation). @param {TreeSpec} tree */
function treePaths(tree) {
  const s = new Set();
  for (const L of LAYERS) for (const e of tree[L]) s.add(e.path);
  return [...s].sort();
}

/**
 * Remove an entry and everything under it from one layer (used by the minimiser).
 * @param {TreeSpec} tree @param {LayerName} L @param {string} p
 * @returns {TreeSpec}
 */
function treeWithout(tree, L, p) {
  const copy = /** @type {TreeSpec} */ (JSON.parse(JSON.stringify(tree)));
  copy[L] = copy[L].filter((e) => e.path !== p && !e.path.startsWith(p + '/'));
  return copy;
}

/* ------------------------------------------------------------------ building layers */

/**
 * Create one side's layer directories and fill them. Whiteouts in kernel form and opaque xattrs
 * are returned as "specials" to be made by one python3 call (Node has no mknod/setxattr).
 * @param {TreeSpec} tree
 * @param {string} base   side directory (holds l1 l2 u w [m])
 * @param {'kernel' | 'engine'} flavor
 * @param {Array<[string, string]>} specials  out: ['wh', path] | ['opq', path]
 */
function buildSide(tree, base, flavor, specials) {
  for (const d of ['l1', 'l2', 'u', 'w']) fs.mkdirSync(path.join(base, d), { recursive: true });
  if (flavor === 'kernel') fs.mkdirSync(path.join(base, 'm'));
  for (const d of ['l1', 'l2', 'u', 'w', ...(flavor === 'kernel' ? ['m'] : [])]) fs.chmodSync(path.join(base, d), 0o755);
  /** @type {Array<[string, number]>} */
  const dirModes = [];
  for (const L of LAYERS) {
    for (const e of tree[L]) {
      const p = path.join(base, L, e.path);
      if (e.kind === 'dir') {
        fs.mkdirSync(p);
        dirModes.push([p, e.mode]);
        if (e.opaque) {
          if (flavor === 'kernel') specials.push(['opq', p]);
          else fs.writeFileSync(path.join(p, OPQ), '');
        }
      } else if (e.kind === 'file') {
        fs.writeFileSync(p, e.content);
        fs.chmodSync(p, e.mode);
      } else if (e.kind === 'symlink') {
        fs.symlinkSync(e.target, p);
      } else if (e.kind === 'whiteout') {
        if (flavor === 'engine' && e.oci) fs.writeFileSync(path.join(path.dirname(p), '.wh.' + path.basename(p)), '');
        else specials.push(['wh', p]);
      }
    }
  }
  for (const [p, mode] of dirModes) fs.chmodSync(p, mode);
}

const PY_SPECIALS = `
import os, sys, json, stat
for kind, p in json.load(sys.stdin):
    if kind == 'wh':
        os.mknod(p, stat.S_IFCHR | 0o000, os.makedev(0, 0))
    elif kind == 'opq':
        os.setxattr(p, 'trusted.overlay.opaque', b'y', follow_symlinks=False)
`;

/** @param {Array<[string, string]>} specials */
function makeSpecials(specials) {
  if (!specials.length) return;
  const r = spawnSync('python3', ['-c', PY_SPECIALS], { input: JSON.stringify(specials), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python3 (mknod/setxattr) failed: ${r.error || r.stderr}`);
}

/* ------------------------------------------------------------------ mounts */

/** @param {number} ms */
function sleepSync(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Mount the kernel overlay of side dir `k` on k/m. @param {string} k */
function mountOverlay(k) {
  const r = spawnSync(
    'mount',
    ['-t', 'overlay', 'overlay', '-o', `lowerdir=${k}/l2:${k}/l1,upperdir=${k}/u,workdir=${k}/w`, `${k}/m`],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`mount -t overlay failed: ${(r.stderr || String(r.error)).trim()}`);
}

/** @param {string} mnt */
function umountPath(mnt) {
  for (let i = 0; i < 10; i++) {
    const r = spawnSync('umount', [mnt], { encoding: 'utf8' });
    if (r.status === 0) return true;
    if (/not mounted|no mount point/i.test(r.stderr || '')) return true;
    sleepSync(50 * (i + 1));
  }
  const r = spawnSync('umount', ['-l', mnt], { encoding: 'utf8' });
  return r.status === 0;
}

/** Mount points at or under `dir`, deepest first. @param {string} dir */
function mountsUnder(dir) {
  let text = '';
  try {
    text = fs.readFileSync('/proc/self/mounts', 'utf8');
  } catch {
    return [];
  }
  /** @type {string[]} */
  const out = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length < 2) continue;
    const mp = f[1].replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
    if (mp === dir || mp.startsWith(dir + '/')) out.push(mp);
  }
  return out.sort((a, b) => b.length - a.length);
}

/** Unmount everything under `dir` and delete it. Never throws. @param {string} dir */
function cleanupDir(dir) {
  try {
    for (const mp of mountsUnder(dir)) umountPath(mp);
    if (mountsUnder(dir).length) return false; // never rm -rf through a live mount
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Can we run the kernel side here? Root, python3, and a tiny `mount -t overlay` must work.
 * @returns {{ ok: boolean, reason: string }}
 */
function kernelOverlayAvailable() {
  if (process.platform !== 'linux') return { ok: false, reason: `not Linux (${process.platform})` };
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return { ok: false, reason: `not root (uid ${process.getuid()})` };
  const py = spawnSync('python3', ['-c', 'import os; print(hasattr(os, "setxattr"))'], { encoding: 'utf8' });
  if (py.status !== 0 || !/True/.test(py.stdout)) return { ok: false, reason: 'python3 with os.setxattr not available (needed for whiteouts and opaque xattrs)' };
  let dir = '';
  try {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kernel-diff-probe-'));
    for (const d of ['l1', 'l2', 'u', 'w', 'm']) fs.mkdirSync(path.join(dir, d));
    fs.writeFileSync(path.join(dir, 'l1', 'f'), 'x');
    mountOverlay(dir);
    const ok = fs.readFileSync(path.join(dir, 'm', 'f'), 'utf8') === 'x';
    return ok ? { ok: true, reason: '' } : { ok: false, reason: 'overlay mount does not show the lower file' };
  } catch (e) {
    return { ok: false, reason: `mount -t overlay refused: ${/** @type {Error} */ (e).message}` };
  } finally {
    if (dir) cleanupDir(dir);
  }
}

/* ------------------------------------------------------------------ op generation */

const OP_WEIGHTS = {
  stat: 6, lstat: 6, readFile: 6, readdir: 7, readlink: 3, realpath: 4, access: 3, exists: 3,
  writeFile: 8, appendFile: 4, open: 7, truncate: 3, unlink: 6, rmdir: 5, rm: 4, mkdir: 7,
  rename: 11, link: 3, symlink: 4, copyFile: 4, chmod: 3, utimes: 2, lutimes: 1,
};
const MUTATING = new Set(['writeFile', 'appendFile', 'open', 'truncate', 'unlink', 'rmdir', 'rm', 'mkdir', 'rename', 'link', 'symlink', 'copyFile', 'chmod', 'utimes', 'lutimes']);

/**
 * Generate the op sequence of a case; depends only on the seed, the count and the tree.
 * @param {number} seed @param {number} count @param {TreeSpec} tree
 * @returns {Op[]}
 */
function genOps(seed, count, tree) {
  const rng = new Rng(subSeed(seed, 2));
  const known = treePaths(tree);
  const view = mergedView(tree);
  /** @type {Record<'file' | 'dir' | 'symlink', string[]>} */
  const pools = { file: [], dir: [''], symlink: [] };
  for (const [p, t] of view) pools[t].push(p);
  /** @type {string[]} */
  const recent = [];
  const depthW = { 1: 35, 2: 40, 3: 20, 4: 5 };
  /** @param {string} x */
  function remember(x) {
    if (!x) return;
    recent.push(x);
    if (recent.length > 12) recent.shift();
  }
  /** @param {'any' | 'file' | 'dir' | 'symlink' | 'new'} want */
  function rawPath(want) {
    const r = rng.next();
    if (r < 0.03) return '';
    if (want === 'new') {
      // a fresh name in a (probably) existing directory
      const parent = rng.pick(pools.dir);
      return parent ? `${parent}/${rng.pick(NAMES)}` : rng.pick(NAMES);
    }
    if (want !== 'any' && r < 0.45) {
      const pool = pools[want].filter((x) => x);
      if (pool.length) return rng.pick(pool);
    }
    if (r < 0.65 && recent.length) return rng.pick(recent);
    if (r < 0.8 && known.length) return rng.pick(known);
    const d = Number(rng.weighted(depthW));
    const parts = [];
    for (let i = 0; i < d; i++) parts.push(rng.pick(NAMES));
    return parts.join('/');
  }
  /**
   * @param {'any' | 'file' | 'dir' | 'symlink' | 'new'} [want]
   * @param {number} [slash] probability of a trailing slash
   */
  function p(want = 'any', slash = 0.08) {
    const x = rawPath(want);
    remember(x);
    return x && rng.chance(slash) ? x + '/' : x;
  }
  /** @param {string} x @param {'file' | 'dir' | 'symlink'} t */
  function created(x, t) {
    const c = x.replace(/\/+$/, '');
    if (c && !pools[t].includes(c)) pools[t].push(c);
  }
  /** a destination near `src` (same parent) or anywhere @param {string} src */
  function dest(src) {
    const s = src.replace(/\/$/, '');
    if (s && rng.chance(0.4)) {
      const parent = s.includes('/') ? s.slice(0, s.lastIndexOf('/') + 1) : '';
      const x = parent + rng.pick(NAMES);
      remember(x);
      return rng.chance(0.06) ? x + '/' : x;
    }
    return p(rng.chance(0.5) ? 'new' : 'any', 0.06);
  }
  /** @returns {Form} */
  function form() {
    return rng.weighted({ sync: 45, promise: 40, callback: 15 });
  }
  /** @param {number} i */
  function data(i) {
    return `o${i}:` + 'yz'.repeat(rng.int(4)) + (rng.chance(0.3) ? '\n' : '');
  }
  /** @type {Op[]} */
  const ops = [];
  for (let i = 0; i < count; i++) {
    const k = rng.weighted(OP_WEIGHTS);
    /** @type {Op} */
    let op;
    switch (k) {
      case 'readdir': {
        const variant = rng.weighted({ names: 60, types: 20, recursive: 8, opendir: 12 });
        op = { k, form: form(), p: p('dir'), variant };
        if (variant === 'opendir' && op.form === 'callback') op.form = 'promise';
        break;
      }
      case 'realpath':
        op = { k, form: form(), p: p(), native: rng.chance(0.4) };
        break;
      case 'access':
        op = { k, form: form(), p: p(), mode: rng.pick([fs.constants.F_OK, fs.constants.R_OK, fs.constants.W_OK, fs.constants.X_OK, fs.constants.R_OK | fs.constants.W_OK]) };
        break;
      case 'exists':
        op = { k, form: rng.chance(0.7) ? 'sync' : 'callback', p: p() };
        break;
      case 'writeFile':
        op = { k, form: form(), p: p(rng.pick(['new', 'file', 'any'])), data: data(i), flag: rng.chance(0.12) ? rng.pick(['wx', 'a', 'w']) : undefined };
        created(op.p, 'file');
        break;
      case 'appendFile':
        op = { k, form: form(), p: p(rng.pick(['new', 'file', 'file'])), data: data(i) };
        created(op.p, 'file');
        break;
      case 'open':
        op = { k, form: form(), p: p(rng.pick(['new', 'file', 'file', 'any'])), flag: rng.pick(['r', 'r+', 'w', 'wx', 'a', 'a+']), data: data(i) };
        break;
      case 'truncate':
        op = { k, form: form(), p: p(rng.pick(['file', 'any'])), len: rng.int(12) };
        break;
      case 'readFile':
        op = { k, form: form(), p: p(rng.pick(['file', 'any'])) };
        break;
      case 'readlink':
        op = { k, form: form(), p: p(rng.pick(['symlink', 'symlink', 'any'])) };
        break;
      case 'unlink':
        op = { k, form: form(), p: p(rng.pick(['file', 'symlink', 'any'])) };
        break;
      case 'rmdir':
        op = { k, form: form(), p: p(rng.pick(['dir', 'dir', 'any'])) };
        break;
      case 'rm':
        op = { k, form: form(), p: p(rng.pick(['dir', 'any'])), recursive: rng.chance(0.8), force: rng.chance(0.3) };
        break;
      case 'mkdir':
        op = { k, form: form(), p: p(rng.pick(['new', 'new', 'any'])), recursive: rng.chance(0.35), mode: rng.chance(0.2) ? 0o700 : undefined };
        created(op.p, 'dir');
        break;
      case 'rename': {
        const src = p(rng.pick(['dir', 'dir', 'file', 'symlink', 'any']));
        op = { k, form: form(), p: src, q: dest(src) };
        break;
      }
      case 'link': {
        const src = p(rng.pick(['file', 'file', 'symlink', 'any']));
        op = { k, form: form(), p: src, q: dest(src) };
        created(op.q, 'file');
        break;
      }
      case 'copyFile': {
        const src = p(rng.pick(['file', 'file', 'symlink', 'any']));
        op = { k, form: form(), p: src, q: dest(src), excl: rng.chance(0.3) };
        created(op.q, 'file');
        break;
      }
      case 'symlink': {
        const at = p(rng.pick(['new', 'new', 'any']), 0.03);
        op = { k, form: form(), p: at, target: genTarget(rng, at.replace(/\/$/, '') || 'a') };
        created(op.p, 'symlink');
        break;
      }
      case 'chmod':
        op = { k, form: form(), p: p(), mode: rng.pick([0o644, 0o600, 0o755, 0o700, 0o444, 0o555, 0o640, 0o750]) };
        break;
      default:
        op = { k, form: form(), p: p() };
    }
    ops.push(op);
  }
  return ops;
}

/**
 * The full input of a case from its seed.
 * @param {number} seed @param {number} nOps
 * @param {{ whiteoutForm?: 'kernel' | 'oci' | 'mixed' }} [opts]
 * @returns {CaseInput}
 */
function makeCase(seed, nOps, opts = {}) {
  const tree = genTree(seed, opts);
  return { seed, tree, ops: genOps(seed, nOps, tree) };
}

/* ------------------------------------------------------------------ executing ops */

/** @param {Side} side @param {string} rel */
function abs(side, rel) {
  return rel ? `${side.root}/${rel}` : side.root;
}

/**
 * Map a path returned by fs back to something comparable across sides.
 * @param {Side} side @param {any} p
 */
function relPath(side, p) {
  if (typeof p !== 'string') return p;
  if (p === side.root) return '.';
  if (p.startsWith(side.root + '/')) return p.slice(side.root.length + 1);
  if (p === side.base) return '<base>';
  if (p.startsWith(side.base + '/')) return '<base>/' + p.slice(side.base.length + 1);
  return '<abs>' + p;
}

/** @param {fs.Stats | fs.Dirent} st */
function typeOf(st) {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'chardev';
  if (st.isBlockDevice()) return 'blockdev';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  return 'unknown';
}

/** @param {fs.Stats} st */
function normStat(st) {
  const type = typeOf(st);
  /** @type {Record<string, any>} */
  const o = { type, mode: st.mode & 0o7777 };
  if (type !== 'dir') o.size = st.size;
  if (type === 'file') o.nlink = st.nlink;
  return o;
}

/**
 * Call fs function `name` in the given form.
 * @param {any} f @param {string} name @param {Form} form @param {...any} args
 */
function call(f, name, form, ...args) {
  if (form === 'sync') return f[name + 'Sync'](...args);
  if (form === 'promise') return f.promises[name](...args);
  return new Promise((resolve, reject) => {
    f[name](...args, (/** @type {any} */ err, /** @type {any} */ val) => (err ? reject(err) : resolve(val)));
  });
}

/**
 * open + write/read + fstat + close in one form.
 * @param {any} f @param {Form} form @param {string} p @param {Op} op
 */
async function openOp(f, form, p, op) {
  const writes = op.flag !== 'r';
  const reads = op.flag === 'r' || op.flag === 'r+' || op.flag === 'a+';
  /** @type {Record<string, any>} */
  const out = {};
  if (form === 'sync') {
    const fd = f.openSync(p, op.flag);
    try {
      if (writes) out.wrote = f.writeSync(fd, op.data);
      if (reads) {
        const buf = Buffer.alloc(256);
        const n = f.readSync(fd, buf, 0, 256, 0);
        out.read = buf.toString('utf8', 0, n);
      }
      out.stat = normStat(f.fstatSync(fd));
    } finally {
      f.closeSync(fd);
    }
    return out;
  }
  if (form === 'promise') {
    const fh = await f.promises.open(p, op.flag);
    try {
      if (writes) out.wrote = (await fh.write(op.data)).bytesWritten;
      if (reads) {
        const buf = Buffer.alloc(256);
        const r = await fh.read(buf, 0, 256, 0);
        out.read = buf.toString('utf8', 0, r.bytesRead);
      }
      out.stat = normStat(await fh.stat());
    } finally {
      await fh.close();
    }
    return out;
  }
  /** @type {(name: string, ...args: any[]) => Promise<any>} */
  const cb = (name, ...args) =>
    new Promise((resolve, reject) => f[name](...args, (/** @type {any} */ e, /** @type {any} */ v) => (e ? reject(e) : resolve(v))));
  const fd = await cb('open', p, op.flag);
  try {
    if (writes) out.wrote = await cb('write', fd, op.data);
    if (reads) {
      const buf = Buffer.alloc(256);
      const n = await cb('read', fd, buf, 0, 256, 0);
      out.read = buf.toString('utf8', 0, n);
    }
    out.stat = normStat(await cb('fstat', fd));
  } finally {
    await cb('close', fd);
  }
  return out;
}

/**
 * Run one op on one side and return its raw value (or throw its error).
 * @param {Side} side @param {Op} op
 */
async function runRaw(side, op) {
  const f = side.fs;
  const P = abs(side, op.p);
  const Q = op.q !== undefined ? abs(side, op.q) : '';
  const form = op.form;
  switch (op.k) {
    case 'stat':
    case 'lstat':
      return normStat(await call(f, op.k, form, P));
    case 'readFile':
      return await call(f, 'readFile', form, P, 'utf8');
    case 'readdir': {
      if (op.variant === 'opendir') {
        /** @type {string[]} */
        const names = [];
        if (form === 'sync') {
          const dir = f.opendirSync(P);
          try {
            let d;
            while ((d = dir.readSync()) !== null) names.push(`${d.name}:${typeOf(d)}`);
          } finally {
            dir.closeSync();
          }
        } else {
          const dir = await f.promises.opendir(P);
          for await (const d of dir) names.push(`${d.name}:${typeOf(d)}`);
        }
        return names.sort();
      }
      if (op.variant === 'types') {
        /** @type {fs.Dirent[]} */
        const ents = await call(f, 'readdir', form, P, { withFileTypes: true });
        return ents.map((d) => `${d.name}:${typeOf(d)}`).sort();
      }
      if (op.variant === 'recursive') return (await call(f, 'readdir', form, P, { recursive: true })).slice().sort();
      return (await call(f, 'readdir', form, P)).slice().sort();
    }
    case 'readlink':
      return await call(f, 'readlink', form, P);
    case 'realpath': {
      let r;
      if (form === 'promise') r = await f.promises.realpath(P);
      else if (form === 'sync') r = op.native ? f.realpathSync.native(P) : f.realpathSync(P);
      else {
        const fn = op.native ? f.realpath.native : f.realpath;
        r = await new Promise((resolve, reject) => fn(P, (/** @type {any} */ e, /** @type {any} */ v) => (e ? reject(e) : resolve(v))));
      }
      return relPath(side, r);
    }
    case 'access':
      return await call(f, 'access', form, P, op.mode);
    case 'exists':
      if (form === 'sync') return f.existsSync(P);
      return await new Promise((resolve) => f.exists(P, resolve));
    case 'writeFile':
      return await call(f, 'writeFile', form, P, op.data, op.flag ? { flag: op.flag } : undefined);
    case 'appendFile':
      return await call(f, 'appendFile', form, P, op.data);
    case 'open':
      return await openOp(f, form, P, op);
    case 'truncate':
      return await call(f, 'truncate', form, P, op.len);
    case 'unlink':
    case 'rmdir':
      return await call(f, op.k, form, P);
    case 'rm':
      return await call(f, 'rm', form, P, { recursive: op.recursive, force: op.force });
    case 'mkdir': {
      /** @type {Record<string, any>} */
      const o = { recursive: op.recursive };
      if (op.mode !== undefined) o.mode = op.mode;
      return relPath(side, await call(f, 'mkdir', form, P, o));
    }
    case 'rename':
    case 'link':
      return await call(f, op.k, form, P, Q);
    case 'copyFile':
      return await call(f, 'copyFile', form, P, Q, op.excl ? fs.constants.COPYFILE_EXCL : 0);
    case 'symlink':
      return await call(f, 'symlink', form, op.target, P);
    case 'chmod':
      return await call(f, 'chmod', form, P, op.mode);
    case 'utimes':
    case 'lutimes':
      return await call(f, op.k, form, P, 1000000, 2000000);
    default:
      throw new Error(`harness: unknown op ${op.k}`);
  }
}

/**
 * @param {Promise<any>} promise @param {number} ms
 * @returns {Promise<any>}
 */
function withTimeout(promise, ms) {
  /** @type {NodeJS.Timeout | undefined} */
  let t;
  const timeout = new Promise((_, reject) => {
    t = setTimeout(() => reject(Object.assign(new Error(`harness: operation did not settle within ${ms} ms`), { harnessTimeout: true })), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(t));
}

/** @param {Side} side @param {string} s */
function mapMessage(side, s) {
  return s.split(side.root).join('<m>').split(side.base).join('<base>');
}

/**
 * Layer paths of the engine side that must never show up in anything it returns.
 * @param {Side} side @param {any} value
 */
function findLeak(side, value) {
  if (side.kind !== 'engine') return undefined;
  const s = typeof value === 'string' ? value : JSON.stringify(value) || '';
  for (const L of /** @type {const} */ (['u', 'l1', 'l2', 'w'])) {
    const d = side.layers[L];
    if (s === d || s.includes(d + '/') || s.includes(d + "'") || s.endsWith(d)) return d;
  }
  return undefined;
}

/**
 * Run one op on one side and normalise the outcome.
 * @param {Side} side @param {Op} op @param {number} timeoutMs
 * @returns {Promise<ExecResult>}
 */
async function execOp(side, op, timeoutMs) {
  try {
    const value = await withTimeout(runRaw(side, op), timeoutMs);
    /** @type {ExecResult} */
    const r = { outcome: value === undefined ? { ok: true } : { ok: true, value } };
    const leak = findLeak(side, value);
    if (leak) r.leak = `value ${JSON.stringify(value)} contains layer path ${leak}`;
    return r;
  } catch (err) {
    const e = /** @type {any} */ (err);
    if (e && e.harnessTimeout) throw e;
    const code = e && typeof e.code === 'string' ? e.code : `NOCODE(${(e && e.name) || typeof e}: ${e && e.message})`;
    /** @type {ExecResult} */
    const r = { outcome: { ok: false, code } };
    if (!(e && typeof e.code === 'string') && e && e.stack) r.outcome = { ok: false, code, stack: String(e.stack) };
    if (e && typeof e === 'object') {
      r.detail = {
        syscall: e.syscall,
        path: e.path !== undefined ? relPath(side, String(e.path)) : undefined,
        dest: e.dest !== undefined ? relPath(side, String(e.dest)) : undefined,
        message: typeof e.message === 'string' ? mapMessage(side, e.message) : undefined,
      };
      for (const field of ['path', 'dest', 'message']) {
        const leak = e[field] !== undefined ? findLeak(side, String(e[field])) : undefined;
        if (leak) {
          r.leak = `error ${field} ${JSON.stringify(String(e[field]))} contains layer path ${leak}`;
          break;
        }
      }
    }
    return r;
  }
}

const RECURSIVE_BUDGET = 400;

/**
 * Would Node's recursive readdir of `op.p` on this (kernel) side stay within the budget?
 * Mirrors its traversal: every entry counts, directories and symlinks to directories are entered.
 * @param {Side} side @param {Op} op
 */
function recursiveListingFits(side, op) {
  let count = 0;
  /** @param {string} dir @param {number} depth */
  const walk = (dir, depth) => {
    /** @type {fs.Dirent[]} */
    let ents;
    try {
      ents = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return true;
    }
    for (const d of ents) {
      if (++count > RECURSIVE_BUDGET) return false;
      const p = `${dir}/${d.name}`;
      let isDir = d.isDirectory();
      if (d.isSymbolicLink()) {
        try {
          isDir = fs.statSync(p).isDirectory();
        } catch {
          isDir = false;
        }
      }
      if (isDir && depth < 64 && !walk(p, depth + 1)) return false;
    }
    return true;
  };
  return walk(abs(side, op.p), 0);
}

/* ------------------------------------------------------------------ EXDEV: mv on the kernel side */

/**
 * If a kernel side answered EXDEV to renaming a directory, do what mv(1) does (difference 1) and
 * return the outcome the engine must match.
 * @param {Side} side @param {Op} op @param {ExecResult} res
 * @returns {ExecResult}
 */
function resolveExdev(side, op, res) {
  if (side.kind !== 'kernel' || op.k !== 'rename' || res.outcome.ok || res.outcome.code !== 'EXDEV') return res;
  const f = fs;
  const srcRel = op.p.replace(/\/+$/, '');
  const dstRel = String(op.q).replace(/\/+$/, '');
  // The mount root itself lives on the parent file system: renaming it, or onto it, is a
  // cross-mount rename (EXDEV from the VFS), not overlayfs's directory-rename EXDEV.
  if (!srcRel || !dstRel) return res;
  const src = abs(side, srcRel);
  const dst = abs(side, dstRel);
  const st = f.lstatSync(src);
  if (!st.isDirectory()) return res; // EXDEV for a non-directory is a real outcome, compare it
  /** @type {fs.Stats | undefined} */
  let dstSt;
  try {
    dstSt = f.lstatSync(dst);
  } catch {
    dstSt = undefined;
  }
  if (dstSt && dstSt.isDirectory() && f.readdirSync(dst).length > 0) {
    return { outcome: { ok: false, code: 'ENOTEMPTY' }, emulated: 'EXDEV; destination is a non-empty directory: rename(2) gives ENOTEMPTY' };
  }
  if (dstSt) f.rmdirSync(dst);
  moveTree(src, dst);
  f.rmSync(src, { recursive: true });
  return { outcome: { ok: true }, emulated: 'EXDEV; moved the merged tree like mv(1)' };
}

/** @param {string} src @param {string} dst */
function moveTree(src, dst) {
  const st = fs.lstatSync(src);
  if (st.isDirectory()) {
    fs.mkdirSync(dst);
    for (const name of fs.readdirSync(src).sort()) moveTree(`${src}/${name}`, `${dst}/${name}`);
    fs.chmodSync(dst, st.mode & 0o7777);
  } else if (st.isSymbolicLink()) {
    fs.symlinkSync(fs.readlinkSync(src), dst);
  } else if (st.isFile()) {
    fs.linkSync(src, dst);
  } else {
    throw new Error(`harness: cannot move ${typeOf(st)} ${src}`);
  }
}

/* ------------------------------------------------------------------ tree walks */

/**
 * Walk the merged view of a side through its fs (plain fs for kernel, ov.fs for the engine).
 * @param {Side} side
 * @returns {Record<string, any>}
 */
function walkMerged(side) {
  const f = side.fs;
  /** @type {Record<string, any>} */
  const out = {};
  out['.'] = { type: 'dir', mode: f.lstatSync(side.root).mode & 0o7777 };
  /** @param {string} rel @param {number} depth */
  function walk(rel, depth) {
    const dir = abs(side, rel);
    /** @type {string[]} */
    let names;
    try {
      names = f.readdirSync(dir).slice().sort();
    } catch (e) {
      out[(rel || '.') + '/<readdir>'] = { error: /** @type {any} */ (e).code || String(e) };
      return;
    }
    for (const name of names) {
      const r = rel ? `${rel}/${name}` : name;
      const p = `${dir}/${name}`;
      let st;
      try {
        st = f.lstatSync(p);
      } catch (e) {
        out[r] = { listedButLstat: /** @type {any} */ (e).code || String(e) };
        continue;
      }
      const type = typeOf(st);
      /** @type {Record<string, any>} */
      const ent = { type };
      if (type === 'file') {
        ent.mode = st.mode & 0o7777;
        ent.nlink = st.nlink;
        try {
          ent.content = f.readFileSync(p, 'utf8');
        } catch (e) {
          ent.content = { error: /** @type {any} */ (e).code };
        }
      } else if (type === 'dir') {
        ent.mode = st.mode & 0o7777;
      } else if (type === 'symlink') {
        try {
          ent.target = f.readlinkSync(p);
        } catch (e) {
          ent.target = { error: /** @type {any} */ (e).code };
        }
      }
      out[r] = ent;
      if (type === 'dir' && depth < 12) walk(r, depth + 1);
    }
  }
  walk('', 0);
  return out;
}

/**
 * @param {Record<string, any>} k @param {Record<string, any>} e
 * @returns {Array<{ path: string, kernel: any, engine: any }>}
 */
function diffTrees(k, e) {
  const keys = [...new Set([...Object.keys(k), ...Object.keys(e)])].sort();
  const diffs = [];
  for (const key of keys) {
    const a = JSON.stringify(k[key]);
    const b = JSON.stringify(e[key]);
    if (a !== b) diffs.push({ path: key, kernel: k[key], engine: e[key] });
  }
  return diffs;
}

/** @param {{ kernel: any, engine: any }} d */
function diffKind(d) {
  if (d.kernel === undefined) return 'extra-in-engine';
  if (d.engine === undefined) return 'missing-in-engine';
  if (d.kernel.type !== d.engine.type) return `type(${d.kernel.type}->${d.engine.type})`;
  const fields = Object.keys({ ...d.kernel, ...d.engine }).filter((f) => JSON.stringify(d.kernel[f]) !== JSON.stringify(d.engine[f]));
  return `${d.kernel.type}:${fields.join('+')}`;
}

/**
 * Snapshot of a real layer directory (plain fs, no following): content hashes and lstat fields.
 * @param {string} dir
 * @returns {Record<string, string>}
 */
function snapshotLayer(dir) {
  /** @type {Record<string, string>} */
  const out = {};
  /** @param {string} rel */
  function walk(rel) {
    const p = rel ? `${dir}/${rel}` : dir;
    const st = fs.lstatSync(p);
    let extra = '';
    if (st.isFile()) extra = crypto.createHash('sha1').update(fs.readFileSync(p)).digest('hex');
    else if (st.isSymbolicLink()) extra = '-> ' + fs.readlinkSync(p);
    out[rel || '.'] = [
      st.mode.toString(8), st.uid, st.gid, st.isDirectory() ? '-' : st.size, st.nlink, st.ino,
      st.rdev, st.mtimeMs, st.ctimeMs, extra,
    ].join(' ');
    if (st.isDirectory()) for (const n of fs.readdirSync(p).sort()) walk(rel ? `${rel}/${n}` : n);
  }
  walk('');
  return out;
}

/* ------------------------------------------------------------------ running a case */

/**
 * @typedef {{
 *   scratchRoot: string,
 *   createOverlay?: (opts: any) => any,
 *   selfCheck?: boolean,
 *   opTimeoutMs?: number,
 *   treeCheck?: 'end' | 'each',
 *   strictErrors?: boolean,
 *   caseDirName?: string,
 *   onProgress?: (opIndex: number) => void,
 * }} RunOptions
 */

/** @param {Outcome} o */
function outcomeKey(o) {
  return o.ok ? JSON.stringify({ ok: true, value: o.value }) : JSON.stringify({ ok: false, code: o.code });
}

/**
 * A case-independent description of how two successful values differ (for grouping).
 * @param {any} k @param {any} e
 */
function valueDiff(k, e) {
  if (Array.isArray(k) && Array.isArray(e)) {
    const ks = new Set(k.map(String));
    const es = new Set(e.map(String));
    const extra = e.filter((x) => !ks.has(String(x))).length;
    const missing = k.filter((x) => !es.has(String(x))).length;
    const typeOnly = extra && missing && k.length === e.length && k.every((x, i) => String(x).split(':')[0] === String(e[i]).split(':')[0]);
    if (typeOnly) return 'entry types differ';
    return [extra ? 'engine lists extra entries' : '', missing ? 'engine lacks entries' : '', !extra && !missing ? 'duplicates' : ''].filter(Boolean).join(' and ');
  }
  if (k && e && typeof k === 'object' && typeof e === 'object') {
    const fields = Object.keys({ ...k, ...e }).filter((f) => JSON.stringify(k[f]) !== JSON.stringify(e[f]));
    return `${fields.join('+')} differ`;
  }
  if (typeof k === 'string' && typeof e === 'string') return k.includes('/') || e.includes('/') || k === '.' ? 'path differs' : 'text differs';
  return `${typeof k} vs ${typeof e}`;
}

/** @param {Outcome} o */
function shortOutcome(o) {
  return o.ok ? 'ok' : o.code.startsWith('NOCODE') ? 'THROW' : o.code;
}

/**
 * Run one case: build, mount, run the ops on both sides, compare, clean up.
 * @param {CaseInput} input @param {RunOptions} opts
 * @returns {Promise<CaseResult>}
 */
async function runCase(input, opts) {
  const t0 = Date.now();
  const { seed, tree, ops } = input;
  const selfCheck = !!opts.selfCheck;
  const timeoutMs = opts.opTimeoutMs || 10000;
  /** @type {Mismatch[]} */
  const mismatches = [];
  /** @type {Mismatch[]} */
  const warnings = [];
  const caseDir = path.join(opts.scratchRoot, opts.caseDirName || `case-${seed}`);
  const K = path.join(caseDir, 'k', 'x', 'x', 'x');
  const E = path.join(caseDir, 'e', 'x', 'x', 'x');
  /** @type {Side[]} */
  const sides = [];
  let opsRun = 0;
  /** @type {Array<{ kernel: string, engine: string, emulated?: string }>} per-op outcomes */
  const trace = [];
  /** @type {any} */
  let ov;
  try {
    fs.mkdirSync(caseDir, { recursive: false });
    /** @type {Array<[string, string]>} */
    const specials = [];
    buildSide(tree, K, 'kernel', specials);
    buildSide(tree, E, selfCheck ? 'kernel' : 'engine', specials);
    makeSpecials(specials);
    const lowerBefore = {
      kl1: snapshotLayer(`${K}/l1`), kl2: snapshotLayer(`${K}/l2`),
      el1: snapshotLayer(`${E}/l1`), el2: snapshotLayer(`${E}/l2`),
    };
    mountOverlay(K);
    const kSide = /** @type {Side} */ ({ name: 'kernel', kind: 'kernel', fs, root: `${K}/m`, base: K, layers: { l1: `${K}/l1`, l2: `${K}/l2`, u: `${K}/u`, w: `${K}/w` } });
    /** @type {Side} */
    let eSide;
    if (selfCheck) {
      mountOverlay(E);
      eSide = { name: 'kernel2', kind: 'kernel', fs, root: `${E}/m`, base: E, layers: { l1: `${E}/l1`, l2: `${E}/l2`, u: `${E}/u`, w: `${E}/w` } };
    } else {
      if (!opts.createOverlay) throw new Error('harness: createOverlay is required unless selfCheck');
      ov = opts.createOverlay({ mountpoint: `${E}/m`, upper: `${E}/u`, lower: [`${E}/l2`, `${E}/l1`], workdir: `${E}/w` });
      eSide = { name: 'engine', kind: 'engine', fs: ov.fs, root: `${E}/m`, base: E, layers: { l1: `${E}/l1`, l2: `${E}/l2`, u: `${E}/u`, w: `${E}/w` }, ov };
    }
    sides.push(kSide, eSide);

    /** @param {string} kind @param {number} i @param {Op} op @param {Partial<Mismatch>} extra */
    const push = (kind, i, op, extra) => mismatches.push(/** @type {Mismatch} */ ({ kind, seed, opIndex: i, op, ...extra }));

    /** @param {number} i @param {Op | undefined} after */
    const compareTrees = (i, after) => {
      let kt;
      let et;
      try {
        kt = walkMerged(kSide);
      } catch (e) {
        push('harness', i, /** @type {Op} */ (after), { signature: 'harness: walking the kernel tree failed', stack: String(/** @type {any} */ (e).stack) });
        return false;
      }
      try {
        et = walkMerged(eSide);
      } catch (e) {
        const x = /** @type {any} */ (e);
        push('tree', i, /** @type {Op} */ (after), { signature: `tree walk threw ${x && x.code ? x.code : 'THROW'}`, stack: String(x && x.stack) });
        return false;
      }
      const diffs = diffTrees(kt, et);
      if (diffs.length) {
        const kinds = [...new Set(diffs.map(diffKind))].sort();
        const sig = after ? `tree after ${after.k}: ${kinds.join(', ')}` : `final tree: ${kinds.join(', ')}`;
        push('tree', i, /** @type {Op} */ (after), { signature: sig, diffs: diffs.slice(0, 20) });
        return false;
      }
      return true;
    };

    for (let i = 0; i < ops.length; i++) {
      const op = ops[i];
      if (opts.onProgress) opts.onProgress(i);
      if (op.k === 'readdir' && op.variant === 'recursive' && !recursiveListingFits(kSide, op)) {
        trace.push({ kernel: 'skipped', engine: 'skipped', emulated: `not run: Node's symlink-following listing exceeds ${RECURSIVE_BUDGET} entries` });
        continue;
      }
      /** @type {ExecResult} */
      let kr;
      /** @type {ExecResult} */
      let er;
      try {
        kr = await execOp(kSide, op, timeoutMs);
      } catch (e) {
        push('harness', i, op, { signature: `harness: kernel ${op.k} timed out`, stack: String(/** @type {any} */ (e).stack) });
        break;
      }
      try {
        er = await execOp(eSide, op, timeoutMs);
      } catch (e) {
        push('hang', i, op, { signature: `hang: ${op.k} [${op.form}] did not settle in ${timeoutMs} ms`, kernel: kr.outcome });
        break;
      }
      opsRun++;
      try {
        kr = resolveExdev(kSide, op, kr);
        er = resolveExdev(eSide, op, er);
      } catch (e) {
        push('harness', i, op, { signature: 'harness: EXDEV emulation failed', stack: String(/** @type {any} */ (e).stack) });
        break;
      }
      trace.push({ kernel: shortOutcome(kr.outcome), engine: shortOutcome(er.outcome), ...(kr.emulated ? { emulated: kr.emulated } : {}) });
      if (er.leak) {
        push('leak', i, op, { signature: `leak: ${op.k} ${er.leak.split(' ')[0]}`, kernel: kr.outcome, engine: er.outcome, message: er.leak });
        break;
      }
      if (outcomeKey(kr.outcome) !== outcomeKey(er.outcome)) {
        const st = !er.outcome.ok && er.outcome.stack ? er.outcome.stack : undefined;
        push('op', i, op, {
          signature: `${op.k}: kernel ${shortOutcome(kr.outcome)}, engine ${shortOutcome(er.outcome)}${kr.outcome.ok && er.outcome.ok ? ` (${valueDiff(kr.outcome.value, er.outcome.value)})` : ''}`,
          kernel: { ...kr.outcome, ...(kr.emulated ? { emulated: kr.emulated } : {}) },
          engine: er.outcome,
          stack: st,
        });
        break;
      }
      if (!kr.outcome.ok && kr.detail && er.detail && !kr.emulated) {
        /** @type {string[]} */
        const fields = [];
        for (const f of /** @type {const} */ (['syscall', 'path', 'dest', 'message'])) {
          if (kr.detail[f] !== er.detail[f]) fields.push(f);
        }
        if (fields.length) {
          const w = /** @type {Mismatch} */ ({
            kind: 'error-detail', seed, opIndex: i, op,
            signature: `error detail: ${op.k} ${kr.outcome.code} differs in ${fields.join('+')}`,
            kernel: kr.detail, engine: er.detail,
          });
          if (opts.strictErrors) {
            mismatches.push(w);
            break;
          }
          warnings.push(w);
        }
      }
      if (opts.treeCheck === 'each' && MUTATING.has(op.k) && !compareTrees(i, op)) break;
    }
    if (!mismatches.length) compareTrees(ops.length, undefined);

    // The lower layers must be untouched on both sides.
    const lowerAfter = {
      kl1: snapshotLayer(`${K}/l1`), kl2: snapshotLayer(`${K}/l2`),
      el1: snapshotLayer(`${E}/l1`), el2: snapshotLayer(`${E}/l2`),
    };
    for (const key of /** @type {const} */ (['kl1', 'kl2', 'el1', 'el2'])) {
      const before = lowerBefore[key];
      const after = lowerAfter[key];
      const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
      const changed = names.filter((n) => before[n] !== after[n]).map((n) => ({ path: n, kernel: before[n], engine: after[n] }));
      if (changed.length) {
        const who = key.startsWith('k') ? (selfCheck ? 'kernel' : 'kernel (!)') : selfCheck ? 'kernel2' : 'engine';
        mismatches.unshift({
          kind: 'lower', seed, signature: `lower layer ${key.slice(1)} modified by ${who}`,
          message: 'fields: mode uid gid size nlink ino rdev mtimeMs ctimeMs sha1|target', diffs: changed.slice(0, 20),
        });
      }
    }
    if (!selfCheck && fs.existsSync(`${E}/m`)) {
      warnings.push({ kind: 'mountpoint', seed, signature: 'engine created its mountpoint directory on disk' });
    }
  } catch (e) {
    mismatches.push({ kind: 'harness', seed, signature: `harness error: ${/** @type {any} */ (e).message}`, stack: String(/** @type {any} */ (e).stack) });
  } finally {
    for (const name of ['close', 'dispose', 'destroy']) {
      if (ov && typeof ov[name] === 'function') {
        try {
          await ov[name]();
        } catch {
          /* ignore */
        }
        break;
      }
    }
    for (const s of sides) if (s.kind === 'kernel') umountPath(s.root);
    if (!cleanupDir(caseDir)) {
      mismatches.push({ kind: 'harness', seed, signature: `harness: could not clean up ${caseDir}` });
    }
  }
  return { seed, opsRun, mismatches, warnings, trace, ms: Date.now() - t0 };
}

/* ------------------------------------------------------------------ minimising */

/**
 * Shrink a failing case (ops, then tree entries) while its first mismatch keeps the same
 * signature. Uses per-op tree checks so a divergence is caught at the op that causes it.
 * @param {CaseInput} input @param {RunOptions} opts @param {{ maxRuns?: number }} [limits]
 * @returns {Promise<{ input: CaseInput, result: CaseResult, signature: string, runs: number } | null>}
 */
async function minimizeCase(input, opts, limits = {}) {
  const maxRuns = limits.maxRuns || 400;
  const ropts = { ...opts, treeCheck: /** @type {'each'} */ ('each') };
  let runs = 0;
  /** @param {CaseInput} c */
  const first = async (c) => {
    runs++;
    const r = await runCase(c, ropts);
    const m = r.mismatches.find((x) => x.kind !== 'harness') || null;
    return { r, m };
  };
  let { r: best, m } = await first(input);
  if (!m) return null;
  const signature = m.signature;
  let cur = { ...input, ops: m.opIndex !== undefined && m.kind !== 'lower' ? input.ops.slice(0, m.opIndex + 1) : input.ops };
  /** @param {CaseInput} c */
  const stillFails = async (c) => {
    if (runs >= maxRuns) return false;
    const { r, m: mm } = await first(c);
    if (mm && mm.signature === signature) {
      best = r;
      return mm;
    }
    return false;
  };
  let progress = true;
  while (progress && runs < maxRuns) {
    progress = false;
    for (let i = cur.ops.length - 1; i >= 0 && runs < maxRuns; i--) {
      if (cur.ops.length === 1) break;
      const cand = { ...cur, ops: cur.ops.filter((_, j) => j !== i) };
      const mm = await stillFails(cand);
      if (mm) {
        cur = { ...cand, ops: mm.opIndex !== undefined && mm.kind !== 'lower' ? cand.ops.slice(0, mm.opIndex + 1) : cand.ops };
        progress = true;
      }
    }
    for (const L of LAYERS) {
      for (let i = cur.tree[L].length - 1; i >= 0 && runs < maxRuns; i--) {
        const e = cur.tree[L][i];
        if (!e) continue;
        const cand = { ...cur, tree: treeWithout(cur.tree, L, e.path) };
        if (await stillFails(cand)) {
          cur = cand;
          progress = true;
        }
      }
    }
  }
  return { input: cur, result: best, signature, runs };
}

/* ------------------------------------------------------------------ formatting */

/** @param {number} m */
const oct = (m) => '0o' + m.toString(8);

/** Render an op as (almost) the JS call that was made. @param {Op} op */
function formatOp(op) {
  const q = JSON.stringify;
  /** @type {string[]} */
  let args;
  switch (op.k) {
    case 'readFile': args = [q(op.p), "'utf8'"]; break;
    case 'readdir':
      if (op.variant === 'opendir') return `${op.form === 'sync' ? 'opendirSync' : 'promises.opendir'}(${q(op.p)}) + read all`;
      args = [q(op.p), ...(op.variant === 'types' ? ['{withFileTypes:true}'] : op.variant === 'recursive' ? ['{recursive:true}'] : [])];
      break;
    case 'realpath': return `${op.form === 'sync' ? 'realpathSync' : op.form === 'promise' ? 'promises.realpath' : 'realpath'}${op.native && op.form !== 'promise' ? '.native' : ''}(${q(op.p)})`;
    case 'access': args = [q(op.p), String(op.mode)]; break;
    case 'exists': return `${op.form === 'sync' ? 'existsSync' : 'exists'}(${q(op.p)})`;
    case 'writeFile': args = [q(op.p), q(op.data), ...(op.flag ? [`{flag:${q(op.flag)}}`] : [])]; break;
    case 'appendFile': args = [q(op.p), q(op.data)]; break;
    case 'open': return `${op.form === 'sync' ? 'openSync' : op.form === 'promise' ? 'promises.open' : 'open'}(${q(op.p)}, ${q(op.flag)})${op.flag !== 'r' ? ` write(${q(op.data)})` : ''}${['r', 'r+', 'a+'].includes(op.flag) ? ' read(256 @0)' : ''} fstat close`;
    case 'truncate': args = [q(op.p), String(op.len)]; break;
    case 'rm': args = [q(op.p), `{recursive:${op.recursive},force:${op.force}}`]; break;
    case 'mkdir': args = [q(op.p), `{recursive:${op.recursive}${op.mode !== undefined ? `,mode:${oct(op.mode)}` : ''}}`]; break;
    case 'rename': case 'link': args = [q(op.p), q(op.q)]; break;
    case 'copyFile': args = [q(op.p), q(op.q), ...(op.excl ? ['COPYFILE_EXCL'] : [])]; break;
    case 'symlink': args = [q(op.target), q(op.p)]; break;
    case 'chmod': args = [q(op.p), oct(op.mode)]; break;
    case 'utimes': case 'lutimes': args = [q(op.p), '1000000', '2000000']; break;
    default: args = [q(op.p)];
  }
  const name = op.form === 'sync' ? `${op.k}Sync` : op.form === 'promise' ? `promises.${op.k}` : `${op.k}(cb)`;
  return `${name}(${args.join(', ')})`;
}

/**
 * The layer trees as a shell script (kernel form), run in an empty directory.
 * @param {TreeSpec} tree
 */
function formatTree(tree) {
  const lines = [];
  const sq = (/** @type {string} */ s) => `'${s.replace(/'/g, `'\\''`)}'`;
  for (const L of LAYERS) {
    for (const e of tree[L]) {
      const p = `${L}/${e.path}`;
      if (e.kind === 'dir') lines.push(`mkdir ${p} && chmod ${e.mode.toString(8)} ${p}${e.opaque ? `  && setfattr -n trusted.overlay.opaque -v y ${p}   # engine side: touch ${p}/${OPQ}` : ''}`);
      else if (e.kind === 'file') lines.push(`printf %s ${sq(e.content)} > ${p} && chmod ${e.mode.toString(8)} ${p}`);
      else if (e.kind === 'symlink') lines.push(`ln -s ${sq(e.target)} ${p}`);
      else lines.push(`mknod ${p} c 0 0${e.oci ? `   # engine side: touch ${L}/${path.posix.dirname(e.path) === '.' ? '' : path.posix.dirname(e.path) + '/'}.wh.${path.posix.basename(e.path)}` : ''}`);
    }
  }
  return lines.length ? lines.join('\n') : '# (all layers empty)';
}

/** @param {any} v @param {number} [max] */
function fmtVal(v, max = 600) {
  const s = JSON.stringify(v);
  if (s === undefined || s.length <= max) return s;
  const n = Array.isArray(v) ? ` (${v.length} items)` : Array.isArray(v && v.value) ? ` (${v.value.length} items)` : '';
  return `${s.slice(0, max)}...${n}`;
}

/**
 * A readable, reproducible report of one mismatch.
 * @param {Mismatch} m @param {CaseInput} input
 * @param {{ repro?: string, showTree?: boolean, trace?: CaseResult['trace'] }} [o]
 */
function formatMismatch(m, input, o = {}) {
  const out = [];
  out.push(`seed ${m.seed}: ${m.signature}${o.repro ? `\n  reproduce: ${o.repro}` : ''}`);
  if (o.showTree !== false) {
    out.push('  layers (mkdir -p l1 l2 u w m; kernel: mount -t overlay overlay -o lowerdir=l2:l1,upperdir=u,workdir=w m):');
    out.push(formatTree(input.tree).split('\n').map((l) => '    ' + l).join('\n'));
  }
  const last = m.opIndex !== undefined ? Math.min(m.opIndex, input.ops.length - 1) : input.ops.length - 1;
  out.push('  ops:');
  for (let i = 0; i <= last; i++) {
    const t = o.trace && o.trace[i];
    const res = t ? (t.kernel === t.engine ? `  -> ${t.kernel}` : `  -> kernel ${t.kernel}, engine ${t.engine}`) + (t.emulated ? (t.emulated.startsWith('EXDEV; ') ? ` (kernel EXDEV, ${t.emulated.slice(7)})` : ` (${t.emulated})`) : '') : '';
    out.push(`    [${i}] ${formatOp(input.ops[i])}${res}`);
  }
  if (m.kernel !== undefined || m.engine !== undefined) {
    out.push(`  kernel: ${fmtVal(m.kernel)}`);
    out.push(`  engine: ${fmtVal(m.engine)}`);
  }
  if (m.message) out.push(`  ${m.message}`);
  if (m.diffs) {
    for (const d of m.diffs.slice(0, 12)) out.push(`  ${d.path}: kernel ${fmtVal(d.kernel)} | engine ${fmtVal(d.engine)}`);
    if (m.diffs.length > 12) out.push(`  ... ${m.diffs.length - 12} more`);
  }
  if (m.stack) out.push('  stack:\n' + String(m.stack).split('\n').slice(0, 12).map((l) => '    ' + l).join('\n'));
  return out.join('\n');
}

module.exports = {
  NAMES,
  mulberry32,
  subSeed,
  Rng,
  genTree,
  genOps,
  makeCase,
  mergeStack,
  mergedView,
  treeWithout,
  buildSide,
  makeSpecials,
  mountOverlay,
  umountPath,
  mountsUnder,
  cleanupDir,
  kernelOverlayAvailable,
  execOp,
  resolveExdev,
  walkMerged,
  diffTrees,
  snapshotLayer,
  runCase,
  minimizeCase,
  formatOp,
  formatTree,
  formatMismatch,
  shortOutcome,
};
