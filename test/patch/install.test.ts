/**
 * Installing into Node's fs (node-patching.md §4 items 1-4, 10, 12): which functions are
 * replaced, fs.promises patched in place, metadata kept, lazy accessors, pass-through of
 * outside paths with the caller's own arguments, exact restore, idempotence, the ESM facade of
 * node:fs, and several mountpoints. Every test patches in a child process.
 */
import { useScratch, json, PATCH_PRELUDE } from './scratch';

const scratch = useScratch();

// node-patching.md §1.1-1.3 and §4 item 1.
const SYNC_ONE = ['access', 'appendFile', 'chmod', 'chown', 'exists', 'lchown', 'lstat', 'lutimes', 'mkdir', 'mkdtemp', 'open', 'opendir', 'readFile', 'readdir', 'readlink', 'realpath', 'rm', 'rmdir', 'stat', 'statfs', 'truncate', 'unlink', 'utimes', 'writeFile'];
const TWO = ['copyFile', 'cp', 'link', 'rename', 'symlink'];
const OTHER = ['createReadStream', 'createWriteStream', 'watch', 'watchFile', 'unwatchFile', 'openAsBlob'];
// (fs.promises.lchmod is left alone: Node does not implement it on Linux and rejects every call.)
const PROMISES = ['access', 'appendFile', 'chmod', 'chown', 'lchown', 'lstat', 'lutimes', 'mkdir', 'mkdtemp', 'open', 'opendir', 'readFile', 'readdir', 'readlink', 'realpath', 'rm', 'rmdir', 'stat', 'statfs', 'truncate', 'unlink', 'utimes', 'watch', 'writeFile', 'copyFile', 'cp', 'link', 'rename', 'symlink'];

test('#1 every path-taking function of fs and fs.promises is replaced, and both sides of two-path calls route', () => {
  const s = scratch({ 'lower/a.txt': 'A', 'lower/d/x.txt': 'X' });
  const names = [...SYNC_ONE, ...TWO].flatMap((n) => [n, n + 'Sync']).concat(OTHER);
  const r = json(s.script(`
    const fs = require('fs');
    require('overlay-fs');
    const before = {}; for (const k of Object.keys(fs)) before[k] = fs[k];
    const beforeP = { ...fs.promises };
    ${PATCH_PRELUDE.replace("const fs = require('fs');", '')}
    const names = ${JSON.stringify(names)};
    const notReplaced = names.filter((n) => typeof before[n] !== 'function' || fs[n] === before[n]);
    const promisesNotReplaced = ${JSON.stringify(PROMISES)}.filter((n) => fs.promises[n] === beforeP[n]);
    const fdRouted = ['fchmod', 'fchmodSync', 'fchown', 'fchownSync', 'futimes', 'futimesSync'].filter((n) => fs[n] !== before[n]);
    fs.renameSync(M + '/a.txt', M + '/d/moved.txt');
    fs.copyFileSync(M + '/d/x.txt', M + '/copy.txt');
    fs.symlinkSync('../stored/verbatim', M + '/link');
    out({
      notReplaced, promisesNotReplaced, fdRouted,
      merged: fs.readdirSync(M).sort(), inD: fs.readdirSync(M + '/d').sort(),
      upper: fs.readdirSync(path.join(__dirname, 'upper')).sort(),
      lower: fs.readdirSync(path.join(__dirname, 'lower')).sort(),
      link: fs.readlinkSync(M + '/link'), linkInUpper: fs.readlinkSync(path.join(__dirname, 'upper/link')),
    });
  `));
  expect(r.notReplaced).toEqual([]);
  expect(r.promisesNotReplaced).toEqual([]);
  expect(r.fdRouted).toHaveLength(6);
  expect(r.merged).toEqual(['copy.txt', 'd', 'link']);
  expect(r.inD).toEqual(['moved.txt', 'x.txt']);
  expect(r.upper).toEqual(['.wh.a.txt', 'copy.txt', 'd', 'link']);
  expect(r.lower).toEqual(['a.txt', 'd']);
  expect(r.link).toBe('../stored/verbatim');
  expect(r.linkInUpper).toBe('../stored/verbatim');
});

test('#2 lazy accessors are read before replacing: an earlier graceful-fs clone cannot put the originals back', () => {
  const s = scratch({ 'lower/d/x.txt': 'X' });
  const r = json(s.script(`
    const gfs = require(${JSON.stringify(require.resolve('graceful-fs'))}); // clones fs while opendir/opendirSync/Dir are still lazy accessors
    ${PATCH_PRELUDE}
    const patched = fs.opendirSync;
    void gfs.opendirSync; void gfs.opendir; void gfs.Dir; // the clone's getters run now
    const dir = fs.opendirSync(M + '/d');
    const names = []; let e; while ((e = dir.readSync())) names.push(e.name); dir.closeSync();
    out({ stillPatched: fs.opendirSync === patched, names });
  `));
  expect(r).toEqual({ stillPatched: true, names: ['x.txt'] });
});

test('#3 fs.promises is patched in place: require("fs/promises") stays the same object and sees the mount', () => {
  const s = scratch({ 'lower/a.txt': 'A' });
  const r = json(s.script(`
    const fsp = require('fs/promises');
    const getter = Object.getOwnPropertyDescriptor(require('fs'), 'promises');
    ${PATCH_PRELUDE}
    (async () => {
      out({
        same: require('fs/promises') === fs.promises && fsp === fs.promises,
        getterKept: Object.getOwnPropertyDescriptor(fs, 'promises').get === getter.get,
        read: await fsp.readFile(M + '/a.txt', 'utf8'),
        stat: (await require('node:fs/promises').stat(M + '/a.txt')).size,
      });
    })();
  `));
  expect(r).toEqual({ same: true, getterKept: true, read: 'A', stat: 1 });
});

test('#4 metadata: name, length, realpath.native, promisify.custom and customPromisifyArgs survive', () => {
  const s = scratch({ 'lower/a.txt': 'hello', 'lower/real.txt': 'R' });
  s.write({});
  const r = json(s.script(`
    const util = require('util');
    const fs0 = require('fs');
    require('overlay-fs');
    const before = {}; for (const k of Object.keys(fs0)) before[k] = fs0[k];
    const beforeP = { ...fs0.promises };
    ${PATCH_PRELUDE.replace("const fs = require('fs');", 'const fs = fs0;')}
    fs.symlinkSync('real.txt', M + '/alias');
    const fns = Object.keys(before).filter((k) => typeof before[k] === 'function' && fs[k] !== before[k]);
    const badName = fns.filter((k) => fs[k].name !== before[k].name);
    const badLength = fns.filter((k) => fs[k].length !== before[k].length);
    const pfns = Object.keys(beforeP).filter((k) => fs.promises[k] !== beforeP[k]);
    const badP = pfns.filter((k) => fs.promises[k].name !== beforeP[k].name || fs.promises[k].length !== beforeP[k].length);
    const lostSymbols = Object.keys(before).filter((k) => typeof before[k] === 'function' && Object.getOwnPropertySymbols(before[k]).some((sym) => !(sym in fs[k])));
    (async () => {
      const fd = fs.openSync(M + '/a.txt', 'r');
      const readResult = await util.promisify(fs.read)(fd, Buffer.alloc(5), 0, 5, 0);
      fs.closeSync(fd);
      out({
        replaced: fns.length, badName, badLength, badP, lostSymbols,
        nativeSync: fs.realpathSync.native(M + '/alias'),
        nativeCb: await new Promise((res, rej) => fs.realpath.native(M + '/alias', (e, p) => (e ? rej(e) : res(p)))),
        nativeShape: [fs.realpathSync.native, fs.realpath.native].map((f, i) => {
          const o = [before.realpathSync.native, before.realpath.native][i];
          return f !== o && f.name === o.name && f.length === o.length;
        }),
        existsPromisified: await util.promisify(fs.exists)(M + '/a.txt'),
        readShape: Object.keys(readResult).sort(), readText: readResult.buffer.toString(),
      });
    })();
  `));
  expect(r.replaced).toBeGreaterThan(60);
  expect(r.badName).toEqual([]);
  expect(r.badLength).toEqual([]);
  expect(r.badP).toEqual([]);
  expect(r.lostSymbols).toEqual([]);
  expect(r.nativeSync).toBe(s.p('m/real.txt'));
  expect(r.nativeCb).toBe(s.p('m/real.txt'));
  expect(r.nativeShape).toEqual([true, true]);
  expect(r.existsPromisified).toBe(true);
  expect(r.readShape).toEqual(['buffer', 'bytesRead']);
  expect(r.readText).toBe('hello');
});

test('#10 outside every mountpoint, the original function gets the caller\'s own argument objects', () => {
  const s = scratch({ 'outside.txt': 'out' });
  const r = json(s.script(`
    const fs = require('fs');
    // Spies installed before overlay-fs loads become its "originals".
    const calls = { readFileSync: [], stat: [], promisesReadFile: [] };
    const real = { readFileSync: fs.readFileSync, stat: fs.stat, promisesReadFile: fs.promises.readFile };
    fs.readFileSync = function readFileSync(...a) { calls.readFileSync.push(a); return real.readFileSync.apply(this, a); };
    fs.stat = function stat(...a) { calls.stat.push(a); return real.stat.apply(this, a); };
    fs.promises.readFile = function readFile(...a) { calls.promisesReadFile.push(a); return real.promisesReadFile.apply(this, a); };
    ${PATCH_PRELUDE.replace("const fs = require('fs');", '')}
    calls.readFileSync.length = 0; // the CommonJS loader read overlay-fs's own files through it
    const file = Buffer.from(path.join(__dirname, 'outside.txt'));
    const opts = { encoding: 'utf8', flag: 'r' };
    const text = fs.readFileSync(file, opts);
    const cb = () => {
      const url = new URL('file://' + path.join(__dirname, 'outside.txt'));
      fs.promises.readFile(url, opts).then((t2) => {
        const [a] = calls.readFileSync; const [b] = calls.stat; const [c] = calls.promisesReadFile;
        out({
          text, t2, counts: [calls.readFileSync.length, calls.stat.length, calls.promisesReadFile.length],
          sameArgs: a[0] === file && a[1] === opts && a.length === 2,
          sameCb: b[1] === cb && b.length === 2 && b[0] === 'outside.txt',
          samePromiseArgs: c[0] === url && c[1] === opts,
        });
      });
    };
    fs.stat('outside.txt', cb);
  `));
  expect(r).toEqual({ text: 'out', t2: 'out', counts: [1, 1, 1], sameArgs: true, sameCb: true, samePromiseArgs: true });
});

test('#12 unpatch restores the exact original functions of fs, fs.promises and the module loader', () => {
  const s = scratch({ 'lower/a.txt': 'A', 'l2/b.txt': 'B' });
  const r = json(s.script(`
    const fs = require('fs');
    const path = require('path');
    const Module = require('module');
    const overlay = require('overlay-fs');
    const snap = () => ({
      fs: Object.fromEntries(Object.keys(fs).map((k) => [k, fs[k]])),
      p: { ...fs.promises },
      native: [fs.realpath.native, fs.realpathSync.native],
      mod: [Module._stat, Module._readPackage, Module._extensions['.js'], Module._extensions['.json'], Module._extensions['.node'], Module._resolveFilename, Module._findPath],
    });
    const before = snap();
    const un1 = overlay.patch({ mountpoint: path.join(__dirname, 'm'), upper: path.join(__dirname, 'upper'), lower: path.join(__dirname, 'lower') });
    const un2 = overlay.patch({ mountpoint: path.join(__dirname, 'n'), lower: path.join(__dirname, 'l2') });
    const during = snap();
    const changedMod = during.mod.map((f, i) => f !== before.mod[i]);
    un1();
    const afterOne = { patched: overlay.isPatched(), n: fs.readFileSync('n/b.txt', 'utf8') };
    un2(); un2(); // a second call of the same unpatch is a no-op
    const after = snap();
    const diff = (a, b) => Object.keys(a).filter((k) => a[k] !== b[k]);
    console.log(JSON.stringify({
      changedMod, afterOne, patched: overlay.isPatched(),
      fsDiff: diff(before.fs, after.fs), pDiff: diff(before.p, after.p),
      nativeSame: after.native.every((f, i) => f === before.native[i]),
      modSame: after.mod.every((f, i) => f === before.mod[i]),
      gone: !fs.existsSync('m/a.txt'),
    }));
  `));
  expect(r.changedMod).toEqual([true, true, true, false, true, true, false]);
  expect(r.afterOne).toEqual({ patched: true, n: 'B' });
  expect(r.patched).toBe(false);
  expect(r.fsDiff).toEqual([]);
  expect(r.pDiff).toEqual([]);
  expect(r.nativeSame).toBe(true);
  expect(r.modSame).toBe(true);
  expect(r.gone).toBe(true);
});

test('#12 idempotent: installing the same overlay again (or from a second copy of overlay-fs) does not wrap twice', () => {
  const s = scratch({ 'lower/a.txt': 'A' });
  const r = json(s.script(`
    ${PATCH_PRELUDE}
    const first = { read: fs.readFileSync, stat: require('module')._stat, p: fs.promises.readFile };
    // A second copy of overlay-fs (as with two versions in node_modules) shares the install.
    for (const k of Object.keys(require.cache)) if (k.includes('/dist/cjs/')) delete require.cache[k];
    const copy = require('overlay-fs');
    const un2 = copy.patch({ mountpoint: M, upper: path.join(__dirname, 'upper'), lower: [path.join(__dirname, 'lower')] });
    const again = overlay.patch({ mountpoint: M, upper: path.join(__dirname, 'upper'), lower: [path.join(__dirname, 'lower')] });
    const same = fs.readFileSync === first.read && require('module')._stat === first.stat && fs.promises.readFile === first.p;
    let busy;
    try { overlay.patch({ mountpoint: M, lower: [path.join(__dirname, 'upper')] }); } catch (err) { busy = err.code; }
    again(); un2();
    const stillOn = fs.readFileSync(M + '/a.txt', 'utf8');
    unpatch();
    out({ same, copyDiffers: copy !== overlay, busy, stillOn, off: !overlay.isPatched() && !copy.isPatched() });
  `));
  expect(r).toEqual({ same: true, copyDiffers: true, busy: 'ERR_OVERLAY_MOUNTPOINT_BUSY', stillOn: 'A', off: true });
});

test('#12 syncBuiltinESMExports: named imports of node:fs and fs/promises see the patch, and the originals after unpatch', () => {
  const s = scratch({ 'lower/a.txt': 'A' });
  const r = json(s.script(`
    import { readFileSync, existsSync } from 'node:fs';
    import * as ns from 'fs';
    import fsDefault from 'fs';
    import { readFile } from 'fs/promises';
    import overlay from 'overlay-fs';
    const M = new URL('./m', import.meta.url).pathname;
    const original = fsDefault.readFileSync;
    const unpatch = overlay.patch({ mountpoint: M, upper: new URL('./upper', import.meta.url).pathname, lower: new URL('./lower', import.meta.url).pathname });
    const during = {
      named: readFileSync(M + '/a.txt', 'utf8'), ns: ns.readFileSync(M + '/a.txt', 'utf8'),
      promises: await readFile(M + '/a.txt', 'utf8'), exists: existsSync(M + '/a.txt'),
    };
    unpatch();
    console.log(JSON.stringify({ during, restored: readFileSync === original && ns.readFileSync === original, existsAfter: existsSync(M + '/a.txt') }));
  `, { ext: '.mjs' }));
  expect(r).toEqual({ during: { named: 'A', ns: 'A', promises: 'A', exists: true }, restored: true, existsAfter: false });
});

test('several mountpoints: the longest matching mountpoint wins', () => {
  const s = scratch({ 'lower/inner/x.txt': 'outer overlay', 'lower/y.txt': 'outer y', 'l2/x.txt': 'inner overlay' });
  const r = json(s.script(`
    ${PATCH_PRELUDE}
    overlay.patch({ mountpoint: M + '/inner', lower: path.join(__dirname, 'l2') });
    out({ x: fs.readFileSync(M + '/inner/x.txt', 'utf8'), y: fs.readFileSync(M + '/y.txt', 'utf8'), inner: fs.readdirSync(M + '/inner') });
  `));
  expect(r).toEqual({ x: 'inner overlay', y: 'outer y', inner: ['x.txt'] });
});
