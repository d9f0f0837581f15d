/**
 * The global patch serving the merged view (node-patching.md §4 items 5, 6, 8, 9, 11): the
 * operations Node does natively or order-dependently (recursive readdir, opendir, cp and rm
 * whether or not Node loaded its cp/rimraf helpers first, statfs, openAsBlob, watchFile),
 * streams, merged paths in every output, path forms, and the async shape. Child processes.
 */
import { useScratch, json, PATCH_PRELUDE } from './scratch';

const scratch = useScratch();

const TREE = {
  'lower/a.txt': 'A',
  'lower/d/x.txt': 'X',
  'lower/d/gone.txt': 'G',
  'lower/d/sub/y.txt': 'Y',
  'lower/opaque/old.txt': 'old',
  'upper/d/.wh.gone.txt': '',
  'upper/d/u.txt': 'U',
  'upper/opaque/.wh..wh..opq': '',
  'upper/opaque/new.txt': 'new',
  'outside/o.txt': 'O',
};

describe('#5 operations implemented over the merged view', () => {
  test('readdir recursive (whiteouts and opaque directories honoured), opendir, statfs, openAsBlob, watchFile', () => {
    const s = scratch(TREE);
    const r = json(s.script(`
      ${PATCH_PRELUDE}
      (async () => {
        const rec = fs.readdirSync(M, { recursive: true }).sort();
        const recP = (await fs.promises.readdir(M, { recursive: true })).sort();
        const dir = await fs.promises.opendir(M + '/d');
        const viaDir = []; for await (const e of dir) viaDir.push(e.name);
        const blob = await fs.openAsBlob(M + '/d/u.txt');
        const sf = fs.statfsSync(M + '/d');
        const changes = await new Promise((resolve) => {
          const seen = [];
          fs.watchFile(M + '/a.txt', { interval: 20 }, (cur, prev) => {
            seen.push([prev.size, cur.size]);
            fs.unwatchFile(M + '/a.txt');
            resolve(seen);
          });
          setTimeout(() => fs.appendFileSync(M + '/a.txt', 'more'), 60);
        });
        out({ rec, same: JSON.stringify(rec) === JSON.stringify(recP), viaDir: viaDir.sort(), blob: await blob.text(), statfs: typeof sf.bsize, changes });
      })();
    `));
    expect(r.rec).toEqual(['a.txt', 'd', 'd/sub', 'd/sub/y.txt', 'd/u.txt', 'd/x.txt', 'opaque', 'opaque/new.txt']);
    expect(r.same).toBe(true);
    expect(r.viaDir).toEqual(['sub', 'u.txt', 'x.txt']);
    expect(r.blob).toBe('U');
    expect(r.statfs).toBe('number');
    expect(r.changes).toEqual([[1, 5]]);
  });

  test.each([
    ['cold (Node loads its cp/rimraf helpers after the patch)', ''],
    ['warm (Node loaded its cp/rimraf helpers before the patch)', `
      const fs0 = require('fs'), os = require('os'), p0 = require('path');
      const t = fs0.mkdtempSync(p0.join(os.tmpdir(), 'ovfs-warm-'));
      fs0.writeFileSync(t + '/f', 'x'); fs0.cpSync(t, t + '-copy', { recursive: true });
      fs0.rmSync(t + '-copy', { recursive: true }); fs0.rmSync(t, { recursive: true });
      require('fs').promises.cp; // and the promise forms
    `],
  ])('cp and rm of merged trees: %s', (_what, warmup) => {
    const s = scratch(TREE);
    const r = json(s.script(`
      ${warmup}
      ${PATCH_PRELUDE}
      (async () => {
        fs.cpSync(M + '/d', path.join(__dirname, 'copied'), { recursive: true });
        await fs.promises.cp(M + '/opaque', M + '/opaque2', { recursive: true });
        fs.rmSync(M + '/d', { recursive: true });
        await fs.promises.rm(M + '/opaque', { recursive: true });
        const walk = (d) => fs.readdirSync(d, { recursive: true }).sort();
        out({
          copied: walk(path.join(__dirname, 'copied')), merged: walk(M),
          upper: walk(path.join(__dirname, 'upper')), lower: walk(path.join(__dirname, 'lower')),
        });
      })();
    `));
    expect(r.copied).toEqual(['sub', 'sub/y.txt', 'u.txt', 'x.txt']);
    expect(r.merged).toEqual(['a.txt', 'opaque2', 'opaque2/new.txt']);
    expect(r.upper).toEqual(['.wh.d', '.wh.opaque', 'opaque2', 'opaque2/new.txt']);
    expect(r.lower).toEqual(['a.txt', 'd', 'd/gone.txt', 'd/sub', 'd/sub/y.txt', 'd/x.txt', 'opaque', 'opaque/old.txt']);
  });
});

test('#6 streams route, show the merged path, and honour the `fs` option', () => {
  const s = scratch(TREE);
  const r = json(s.script(`
    ${PATCH_PRELUDE}
    const collect = (st) => new Promise((res, rej) => { let t = ''; st.on('data', (c) => (t += c)); st.on('end', () => res(t)); st.on('error', rej); });
    (async () => {
      const rs = fs.createReadStream(M + '/d/x.txt', { encoding: 'utf8' });
      const viaClass = new fs.ReadStream(M + '/a.txt', { encoding: 'utf8' });
      const ws = fs.createWriteStream(M + '/written.txt');
      await new Promise((res) => ws.end('W', res));
      const opened = [];
      const custom = { ...fs, open: (p, ...rest) => { opened.push(String(p)); return fs.open(p, ...rest); } };
      const withFs = fs.createReadStream(M + '/d/u.txt', { fs: custom, encoding: 'utf8' });
      out({
        rs: await collect(rs), rsPath: rs.path, viaClass: await collect(viaClass), wsPath: ws.path,
        written: fs.readFileSync(path.join(__dirname, 'upper/written.txt'), 'utf8'),
        withFs: await collect(withFs), opened,
      });
    })();
  `));
  expect(r).toEqual({
    rs: 'X', rsPath: s.p('m/d/x.txt'), viaClass: 'A', wsPath: s.p('m/written.txt'), written: 'W',
    withFs: 'U', opened: [s.p('m/d/u.txt')],
  });
});

test('#8 outputs name merged paths: realpath (4 forms), mkdtemp, mkdir -p, Dirent, Dir, errors', () => {
  const s = scratch(TREE);
  const r = json(s.script(`
    ${PATCH_PRELUDE}
    fs.symlinkSync('d/x.txt', M + '/link');
    const err = (fn) => { try { fn(); } catch (e) { return { code: e.code, errno: e.errno, syscall: e.syscall, path: e.path, dest: e.dest, message: e.message }; } };
    (async () => {
      const entries = fs.readdirSync(M + '/d', { withFileTypes: true, recursive: true }).map((e) => [e.name, e.parentPath, e.path]).sort();
      out({
        realpaths: [
          fs.realpathSync(M + '/link'), fs.realpathSync.native(M + '/link'),
          await new Promise((res) => fs.realpath(M + '/link', (e, p) => res(p))), await fs.promises.realpath(M + '/link'),
        ],
        mkdtemp: fs.mkdtempSync(M + '/tmp-').startsWith(M + '/tmp-'),
        mkdirP: fs.mkdirSync(M + '/p/q/r', { recursive: true }),
        entries,
        dirPath: fs.opendirSync(M + '/d').path,
        enoent: err(() => fs.readFileSync(M + '/nope')),
        rename: err(() => fs.renameSync(M + '/nope', M + '/other')),
        rel: err(() => fs.statSync('m/nope')),
      });
    })();
  `));
  expect(r.realpaths).toEqual(Array(4).fill(s.p('m/d/x.txt')));
  expect(r.mkdtemp).toBe(true);
  expect(r.mkdirP).toBe(s.p('m/p'));
  expect(r.entries).toEqual([
    ['sub', s.p('m/d'), s.p('m/d')],
    ['u.txt', s.p('m/d'), s.p('m/d')],
    ['x.txt', s.p('m/d'), s.p('m/d')],
    ['y.txt', s.p('m/d/sub'), s.p('m/d/sub')],
  ]);
  expect(r.dirPath).toBe(s.p('m/d'));
  expect(r.enoent).toEqual({ code: 'ENOENT', errno: -2, syscall: 'open', path: s.p('m/nope'), message: `ENOENT: no such file or directory, open '${s.p('m/nope')}'` });
  expect(r.rename).toMatchObject({ code: 'ENOENT', syscall: 'rename', path: s.p('m/nope'), dest: s.p('m/other'), message: `ENOENT: no such file or directory, rename '${s.p('m/nope')}' -> '${s.p('m/other')}'` });
  expect(r.rel).toMatchObject({ code: 'ENOENT', path: 'm/nope' });
  expect(JSON.stringify(r)).not.toContain(s.p('lower'));
  expect(JSON.stringify(r)).not.toContain(s.p('upper'));
});

test('#9 path forms: Buffer, file: URL, relative to the cwd at call time, "..", trailing slash, invalid input', () => {
  const s = scratch(TREE);
  const r = json(s.script(`
    ${PATCH_PRELUDE}
    const err = (fn) => { try { fn(); return 'no error'; } catch (e) { return e.code; } };
    const forms = {
      buffer: fs.readFileSync(Buffer.from(M + '/a.txt'), 'utf8'),
      url: fs.readFileSync(new URL('file://' + M + '/d/x.txt'), 'utf8'),
      relative: fs.readFileSync('m/a.txt', 'utf8'),
      entersMount: fs.readFileSync(path.join(__dirname, 'outside/../m/d/x.txt'), 'utf8'),
      bufferDir: fs.readdirSync(Buffer.from(M + '/d'), { encoding: 'buffer' }).map((b) => Buffer.isBuffer(b) && b.toString()).sort(),
    };
    process.chdir(path.join(__dirname, 'outside'));
    forms.afterChdir = fs.existsSync('../m/a.txt');
    const invalid = {
      trailingSlash: err(() => fs.readFileSync(M + '/a.txt/')),
      nul: err(() => fs.readFile(M + '/a\\0.txt', () => {})),
      urlHost: err(() => fs.readFileSync(new URL('file://host' + M + '/a.txt'))),
      urlSlash: err(() => fs.readFileSync(new URL('file://' + M + '/d%2Fx.txt'))),
    };
    fs.promises.readFile(M + '/a\\0.txt').catch((e) => out({ forms, invalid, promiseRejects: e.code }));
  `));
  expect(r.forms).toEqual({ buffer: 'A', url: 'X', relative: 'A', entersMount: 'X', bufferDir: ['sub', 'u.txt', 'x.txt'], afterChdir: true });
  expect(r.invalid).toEqual({ trailingSlash: 'ENOTDIR', nul: 'ERR_INVALID_ARG_VALUE', urlHost: 'ERR_INVALID_FILE_URL_HOST', urlSlash: 'ERR_INVALID_FILE_URL_PATH' });
  expect(r.promiseRejects).toBe('ERR_INVALID_ARG_VALUE');
});

// A path that resolves outside every mount but walks through one on the way: handed to Node
// untouched, the kernel would walk `m/d/..` physically and fail (the mountpoint is not on disk).
test('#9 a path that goes through the mount and leaves it with ".." reaches the outside file', () => {
  const s = scratch(TREE);
  const r = json(s.script(`
    ${PATCH_PRELUDE}
    out(fs.readFileSync(M + '/d/../../outside/o.txt', 'utf8'));
  `));
  expect(r).toBe('O');
});

test('#11 async shape: callbacks are always asynchronous, promises reject, existsSync never throws', () => {
  const s = scratch(TREE);
  const r = json(s.script(`
    ${PATCH_PRELUDE}
    const order = [];
    fs.stat(M + '/a.txt', () => order.push('stat callback'));
    fs.readFile(M + '/nope', (e) => order.push('error callback ' + e.code));
    order.push('after the calls');
    let syncThrow = false, rejected;
    const p = fs.promises.stat(M + '/nope').catch((e) => { rejected = e.code; });
    const exists = [fs.existsSync(M + '/a.txt'), fs.existsSync(M + '/nope'), fs.existsSync(M + '/a.txt/x'), fs.existsSync({}), fs.existsSync(M + '/d\\0')];
    fs.exists(M + '/d', (...args) => order.push('exists callback ' + JSON.stringify(args)));
    setTimeout(() => p.then(() => out({ order, rejected, exists })), 50);
  `));
  expect(r.order[0]).toBe('after the calls');
  expect(r.order.slice(1).sort()).toEqual(['error callback ENOENT', 'exists callback [true]', 'stat callback']);
  expect(r.rejected).toBe('ENOENT');
  expect(r.exists).toEqual([true, false, false, false, false]);
});
