'use strict';
/**
 * Plain-JS helpers shared by the reliability tests (TypeScript, in the jest process) and their
 * child processes (workers that load dist/cjs). Nothing here uses the overlay unless it is
 * handed an fs object.
 */
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

// The built library the child processes load; scripts/reliability.js points this at a private
// copy, so that a rebuild of dist/ during a long run does not change the code under test.
const DIST = process.env.OVFS_REL_DIST || path.join(__dirname, '..', '..', '..', 'dist', 'cjs', 'index.js');

function sha1(buf) {
  return crypto.createHash('sha1').update(buf).digest('hex');
}

/** Deterministic pseudo-random bytes (xorshift32), distinct per seed. */
function content(seed, size) {
  const buf = Buffer.allocUnsafe(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  let i = 0;
  for (; i + 4 <= size; i += 4) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    buf.writeUInt32LE(x, i);
  }
  for (; i < size; i++) buf[i] = i & 0xff;
  return buf;
}

/** Describe one entry as seen through `xfs` (lstat-based). */
function describeVia(xfs, p, st) {
  const mode = (st.mode & 0o7777).toString(8);
  if (st.isDirectory()) return `dir:${mode}`;
  if (st.isSymbolicLink()) return 'symlink:' + xfs.readlinkSync(p);
  if (st.isFile()) {
    const buf = xfs.readFileSync(p);
    return `file:${buf.length}:${sha1(buf)}:${mode}`;
  }
  if (st.isFIFO()) return 'fifo';
  if (st.isCharacterDevice()) return `chr:${st.rdev}`;
  return 'other';
}

/**
 * Recursive listing through any fs-like object (ov.fs or plain fs): relative path ->
 * descriptor. Mode is included, times and inode numbers are not.
 */
function treeVia(xfs, dir) {
  const out = {};
  const walk = (d, rel) => {
    for (const n of xfs.readdirSync(d).map(String).sort()) {
      const f = d + '/' + n;
      const r = rel ? `${rel}/${n}` : n;
      const st = xfs.lstatSync(f);
      out[r] = describeVia(xfs, f, st);
      if (st.isDirectory()) walk(f, r);
    }
  };
  walk(dir, '');
  return out;
}

/** Async variant (promise API), for workloads that must not block. */
async function treeViaAsync(xfs, dir) {
  const out = {};
  const walk = async (d, rel) => {
    const names = (await xfs.promises.readdir(d)).map(String).sort();
    await Promise.all(names.map(async (n) => {
      const f = d + '/' + n;
      const r = rel ? `${rel}/${n}` : n;
      const st = await xfs.promises.lstat(f);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) { out[r] = `dir:${mode}`; await walk(f, r); }
      else if (st.isSymbolicLink()) out[r] = 'symlink:' + (await xfs.promises.readlink(f));
      else if (st.isFile()) { const b = await xfs.promises.readFile(f); out[r] = `file:${b.length}:${sha1(b)}:${mode}`; }
      else out[r] = 'other';
    }));
  };
  await walk(dir, '');
  return sortKeys(out);
}

function sortKeys(o) {
  const out = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k];
  return out;
}

/** Raw recursive listing of a real directory (every name, whiteouts included). */
function realTree(dir) {
  const out = {};
  let top;
  try { top = fs.readdirSync(dir); } catch (e) { if (e.code === 'ENOENT') return out; throw e; }
  const walk = (d, rel, names) => {
    for (const n of names.sort()) {
      const f = d + '/' + n;
      const r = rel ? `${rel}/${n}` : n;
      const st = fs.lstatSync(f);
      out[r] = describeVia(fs, f, st);
      if (st.isDirectory()) walk(f, r, fs.readdirSync(f));
    }
  };
  walk(dir, '', top);
  return out;
}

/** Read without touching atime (so checksumming never disturbs the layers). */
function readNoAtime(f) {
  let fd;
  try { fd = fs.openSync(f, fs.constants.O_RDONLY | fs.constants.O_NOATIME); } catch { fd = fs.openSync(f, 'r'); }
  try { return fs.readFileSync(fd); } finally { fs.closeSync(fd); }
}

/**
 * Fingerprint of every entry under each directory: type, mode, owner, size, mtime, ctime,
 * nlink, inode, rdev, sha256 of data, link target. Any write to a layer changes it.
 */
function checksumDirs(dirs) {
  const out = {};
  for (const dir of dirs) {
    const one = (f, r) => {
      const st = fs.lstatSync(f, { bigint: true });
      const parts = [`mode=${st.mode.toString(8)}`, `uid=${st.uid}`, `gid=${st.gid}`, `size=${st.size}`,
        `mtime=${st.mtimeNs}`, `ctime=${st.ctimeNs}`, `nlink=${st.nlink}`, `ino=${st.ino}`, `rdev=${st.rdev}`];
      if (st.isFile()) {
        try { parts.push('sha256=' + crypto.createHash('sha256').update(readNoAtime(f)).digest('hex')); } catch (e) { parts.push('unreadable=' + e.code); }
      }
      if (st.isSymbolicLink()) parts.push('target=' + fs.readlinkSync(f));
      out[`${dir}:${r || '.'}`] = parts.join(' ');
      if (st.isDirectory()) {
        let names;
        try { names = fs.readdirSync(f); } catch (e) { out[`${dir}:${r || '.'}`] += ' unlistable=' + e.code; return; }
        for (const n of names.sort()) one(path.join(f, n), r ? `${r}/${n}` : n);
      }
    };
    one(dir, '');
  }
  return out;
}

/** Keys whose values differ between two flat maps (missing counts as a difference). */
function diffKeys(a, b) {
  const out = [];
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) if (a[k] !== b[k]) out.push(k);
  return out.sort();
}

/** Names in a work directory that look like the overlay's temporaries (`<pid>-<n>-<rand>`). */
function temporaries(workdir) {
  try { return fs.readdirSync(workdir).filter((n) => /^\d+-/.test(n)); } catch { return []; }
}

/** The error shape compared between the overlay and plain fs. */
function errShape(e) {
  if (!e || typeof e !== 'object') return { thrown: String(e) };
  return { name: e.name, code: e.code, syscall: e.syscall };
}

/**
 * The titles a test file still marks `test.failing(...)` (its open known findings), as regular
 * expressions matching the end of a test's name; a `${...}` in a template title matches
 * anything. A known-finding test that became a plain `test(...)` (fixed) is not among them.
 */
function failingTitles(source) {
  const out = [];
  const re = /\btest\.failing\(\s*(['"`])((?:\\.|(?!\1)[^\\])*)\1/g;
  let m;
  while ((m = re.exec(source)) !== null) {
    const parts = m[2].split(m[1] === '`' ? /\$\{[^}]*\}/ : /(?!)/).map((p) => p.replace(/\\(.)/g, '$1').replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    out.push(new RegExp(parts.join('.*?') + '$'));
  }
  return out;
}

/** Is the test named `name` (in the file whose source is given) still marked failing? */
function isMarkedFailing(source, name) {
  return failingTitles(source).some((re) => re.test(name));
}

module.exports = { DIST, sha1, content, treeVia, treeViaAsync, realTree, checksumDirs, diffKeys, temporaries, errShape, sortKeys, failingTitles, isMarkedFailing };
