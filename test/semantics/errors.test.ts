/**
 * Errors and path forms. Errors raised through the overlay must look exactly like Node's own
 * errors for the same operation on a plain directory holding the merged content ("the mirror"),
 * with the caller's merged path in err.path / err.dest / err.message, never a layer path.
 * Relative paths are reported as given. Buffer and file: URL paths work. Invalid arguments fail
 * exactly as Node fails. Option validation throws errors with `ERR_OVERLAY_*` codes that name
 * the offending path.
 */
import * as nodeFs from 'fs';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { createOverlay } from '../../lib/index';
import { useLayers, buildLayer, thrown, rejected, sortedNames, type Stack, type FsError, type LayerSpec } from '../helpers/layers';

const layers = useLayers();

const L1: LayerSpec = { f: 'file', 'd/x': 'x', 'e/': null, ln: { symlink: 'f' }, dangling: { symlink: 'nowhere' } };
const U: LayerSpec = { 'd/y': 'y', g: 'g' };

/** A stack plus a plain directory `<root>/mirror/m` holding the same merged content. */
function withMirror(): { s: Stack; mirrorRoot: string; mirror: string } {
  const s = layers({ l1: L1, u: U });
  const mirrorRoot = path.join(s.root, 'mirror');
  const mirror = path.join(mirrorRoot, 'm');
  buildLayer(mirror, { ...L1, ...U });
  return { s, mirrorRoot, mirror };
}

function shape(e: FsError | undefined, from?: string, to?: string) {
  if (!e) return e;
  const fix = (v: unknown) => (typeof v === 'string' && from && to ? v.split(from).join(to) : v);
  return { name: e.name, code: e.code, errno: e.errno, syscall: e.syscall, path: fix(e.path), dest: fix(e.dest), message: fix(e.message) };
}

function expectNoLayerPath(s: Stack, e: FsError) {
  for (const layerRoot of [s.real('u'), s.real('l1')]) {
    for (const v of [e.path, e.dest, e.message]) {
      if (typeof v === 'string') expect(v).not.toContain(layerRoot);
    }
  }
}

type SyncOp = [string, (fs: typeof nodeFs, m: string) => unknown];
const syncOps: SyncOp[] = [
  ['stat missing', (fs, m) => fs.statSync(m + '/nope')],
  ['lstat missing', (fs, m) => fs.lstatSync(m + '/d/nope')],
  ['stat through a file', (fs, m) => fs.statSync(m + '/f/x')],
  ['stat with trailing slash on a file', (fs, m) => fs.statSync(m + '/f/')],
  ['open missing', (fs, m) => fs.openSync(m + '/nope', 'r')],
  ['open dir for writing', (fs, m) => fs.openSync(m + '/d', 'r+')],
  ['open wx existing', (fs, m) => fs.openSync(m + '/d/x', 'wx')],
  ['readFile missing', (fs, m) => fs.readFileSync(m + '/d/nope')],
  ['readFile of a directory', (fs, m) => fs.readFileSync(m + '/d')],
  ['readdir missing', (fs, m) => fs.readdirSync(m + '/nope')],
  ['readdir of a file', (fs, m) => fs.readdirSync(m + '/f')],
  ['rmdir non-empty', (fs, m) => fs.rmdirSync(m + '/d')],
  ['rmdir of a file', (fs, m) => fs.rmdirSync(m + '/f')],
  ['unlink of a dir', (fs, m) => fs.unlinkSync(m + '/e')],
  ['unlink missing', (fs, m) => fs.unlinkSync(m + '/nope')],
  ['mkdir existing', (fs, m) => fs.mkdirSync(m + '/d')],
  ['mkdir under a missing parent', (fs, m) => fs.mkdirSync(m + '/nope/sub')],
  ['rename missing source', (fs, m) => fs.renameSync(m + '/nope', m + '/d/new')],
  ['rename dir onto file', (fs, m) => fs.renameSync(m + '/e', m + '/f')],
  ['rename file onto non-empty dir', (fs, m) => fs.renameSync(m + '/f', m + '/d')],
  ['link onto existing', (fs, m) => fs.linkSync(m + '/f', m + '/g')],
  ['link missing source', (fs, m) => fs.linkSync(m + '/nope', m + '/h')],
  ['symlink onto existing', (fs, m) => fs.symlinkSync('target', m + '/g')],
  ['readlink of a file', (fs, m) => fs.readlinkSync(m + '/f')],
  ['chmod missing', (fs, m) => fs.chmodSync(m + '/nope', 0o600)],
  ['chown missing', (fs, m) => fs.chownSync(m + '/nope', 1, 1)],
  ['utimes missing', (fs, m) => fs.utimesSync(m + '/nope', 1, 1)],
  ['truncate of a dir', (fs, m) => fs.truncateSync(m + '/d', 0)],
  ['copyFile missing source', (fs, m) => fs.copyFileSync(m + '/nope', m + '/c')],
  ['copyFile COPYFILE_EXCL onto existing', (fs, m) => fs.copyFileSync(m + '/f', m + '/g', fs.constants.COPYFILE_EXCL)],
  ['access missing', (fs, m) => fs.accessSync(m + '/nope')],
  ['realpath missing (deep)', (fs, m) => fs.realpathSync(m + '/d/nope/deeper')],
  ['realpath of a dangling link', (fs, m) => fs.realpathSync(m + '/dangling')],
  ['realpath.native missing', (fs, m) => fs.realpathSync.native(m + '/d/nope')],
  ['mkdtemp under a missing parent', (fs, m) => fs.mkdtempSync(m + '/nope/t-')],
  ['rm missing', (fs, m) => fs.rmSync(m + '/nope')],
  ['rm of a dir without recursive', (fs, m) => fs.rmSync(m + '/d')],
];

describe('errors look like Node errors on the merged path', () => {
  test.each(syncOps)('sync: %s', (_name, op) => {
    const { s, mirror } = withMirror();
    const want = thrown(() => op(nodeFs, mirror));
    const got = thrown(() => op(s.fs, s.m));
    expect(shape(got)).toEqual(shape(want, mirror, s.m));
    expectNoLayerPath(s, got);
  });

  const asyncOps: Array<[string, (fs: typeof nodeFs, m: string) => Promise<unknown>]> = [
    ['promises.stat missing', (fs, m) => fs.promises.stat(m + '/nope')],
    ['promises.open missing', (fs, m) => fs.promises.open(m + '/d/nope', 'r')],
    ['promises.readFile of a directory', (fs, m) => fs.promises.readFile(m + '/d')],
    ['promises.rename missing source', (fs, m) => fs.promises.rename(m + '/nope', m + '/zz')],
    ['promises.link onto existing', (fs, m) => fs.promises.link(m + '/f', m + '/g')],
    ['promises.mkdir existing', (fs, m) => fs.promises.mkdir(m + '/d')],
    ['promises.readdir of a file', (fs, m) => fs.promises.readdir(m + '/f')],
    ['promises.realpath missing', (fs, m) => fs.promises.realpath(m + '/d/nope')],
    ['callback stat missing', (fs, m) => new Promise((res, rej) => fs.stat(m + '/nope', (e, v) => (e ? rej(e) : res(v))))],
    ['callback rename missing source', (fs, m) => new Promise<void>((res, rej) => fs.rename(m + '/nope', m + '/zz', (e) => (e ? rej(e) : res())))],
    ['callback rmdir non-empty', (fs, m) => new Promise<void>((res, rej) => fs.rmdir(m + '/d', (e) => (e ? rej(e) : res())))],
    ['callback readFile missing', (fs, m) => new Promise((res, rej) => fs.readFile(m + '/nope', (e, v) => (e ? rej(e) : res(v))))],
    ['createReadStream missing', (fs, m) =>
      new Promise((res, rej) => {
        const rs = fs.createReadStream(m + '/nope');
        rs.on('error', rej).on('end', () => res(undefined));
        rs.resume();
      })],
  ];

  test.each(asyncOps)('async: %s', async (_name, op) => {
    const { s, mirror } = withMirror();
    const want = await rejected(() => op(nodeFs, mirror));
    const got = await rejected(() => op(s.fs, s.m));
    expect(shape(got)).toEqual(shape(want, mirror, s.m));
    expectNoLayerPath(s, got);
  });

  // Node 20's own opendir error names no path ("ENOENT: no such file or directory, opendir").
  // Matching that, or adding the merged path, are both acceptable; a layer path is not.
  test('opendir of a missing dir: ENOENT, and no layer path', () => {
    const s = layers({ l1: { a: 'a' } });
    const e = thrown(() => s.fs.opendirSync(s.p('nope')));
    expect({ code: e.code, syscall: e.syscall, errno: e.errno }).toEqual({ code: 'ENOENT', syscall: 'opendir', errno: -2 });
    expect([undefined, s.p('nope')]).toContain(e.path);
    expect(['ENOENT: no such file or directory, opendir', `ENOENT: no such file or directory, opendir '${s.p('nope')}'`]).toContain(e.message);
  });

  test('an explicit check of the format: stat, open, rename', () => {
    const s = layers({ l1: { a: 'a' } });
    const e1 = thrown(() => s.fs.statSync(s.p('nope')));
    expect(e1).toMatchObject({ code: 'ENOENT', syscall: 'stat', path: s.p('nope'), errno: -2 });
    expect(e1.message).toBe(`ENOENT: no such file or directory, stat '${s.p('nope')}'`);
    const e2 = thrown(() => s.fs.openSync(s.p('a/x'), 'r'));
    expect(e2.message).toBe(`ENOTDIR: not a directory, open '${s.p('a/x')}'`);
    const e3 = thrown(() => s.fs.renameSync(s.p('nope'), s.p('zz')));
    expect(e3).toMatchObject({ path: s.p('nope'), dest: s.p('zz') });
    expect(e3.message).toBe(`ENOENT: no such file or directory, rename '${s.p('nope')}' -> '${s.p('zz')}'`);
    expect(Object.prototype.toString.call(e1)).toBe('[object Error]');
  });
});

describe('relative paths are reported as given', () => {
  const relOps: SyncOp[] = [
    ['stat', (fs) => fs.statSync('m/nope')],
    ['open', (fs) => fs.openSync('./m/d/nope', 'r')],
    ['rename', (fs) => fs.renameSync('m/nope', 'm/zz')],
    ['mkdir', (fs) => fs.mkdirSync('m/d')],
    ['readdir', (fs) => fs.readdirSync('m/f')],
    ['dot-dot', (fs) => fs.statSync('m/d/../nope')],
  ];
  test.each(relOps)('%s', (_name, op) => {
    const { s, mirrorRoot } = withMirror();
    const cwd = process.cwd();
    let want: FsError, got: FsError;
    try {
      process.chdir(mirrorRoot);
      want = thrown(() => op(nodeFs, ''));
      process.chdir(s.root);
      got = thrown(() => op(s.fs, ''));
    } finally {
      process.chdir(cwd);
    }
    expect(shape(got)).toEqual(shape(want));
    expect(got.path).toMatch(/^(\.\/)?m\//);
  });

  test('relative paths under the mountpoint are routed through the overlay', () => {
    const s = layers({ l1: { 'd/x': 'lower' }, u: { 'd/y': 'upper' } });
    const cwd = process.cwd();
    try {
      process.chdir(s.root);
      expect(sortedNames(s.fs, 'm/d')).toEqual(['x', 'y']);
      s.fs.writeFileSync('m/d/z', 'new');
    } finally {
      process.chdir(cwd);
    }
    expect(s.upperTree()['d/z']).toBe('file:new');
  });
});

describe('Buffer and file: URL paths', () => {
  test('reads and writes through Buffer paths', () => {
    const s = layers({ l1: { 'd/x': 'lower' }, u: { 'd/y': 'upper' } });
    expect(s.fs.readFileSync(Buffer.from(s.p('d/x')), 'utf8')).toBe('lower');
    expect((s.fs.readdirSync(Buffer.from(s.p('d'))) as string[]).sort()).toEqual(['x', 'y']);
    s.fs.writeFileSync(Buffer.from(s.p('d/b')), 'buf');
    s.fs.renameSync(Buffer.from(s.p('d/x')), Buffer.from(s.p('d/x2')));
    expect(s.upperTree()).toEqual({ d: 'dir', 'd/.wh.x': 'file:', 'd/b': 'file:buf', 'd/x2': 'file:lower', 'd/y': 'file:upper' });
  });

  test('reads and writes through file: URLs', () => {
    const s = layers({ l1: { 'd/x': 'lower' } });
    expect(s.fs.readFileSync(pathToFileURL(s.p('d/x')), 'utf8')).toBe('lower');
    expect(s.fs.statSync(pathToFileURL(s.p('d'))).isDirectory()).toBe(true);
    s.fs.writeFileSync(pathToFileURL(s.p('d/u')), 'url');
    s.fs.mkdirSync(pathToFileURL(s.p('nd')));
    expect(s.upperTree()).toEqual({ d: 'dir', 'd/u': 'file:url', nd: 'dir' });
  });

  test('errors for Buffer and URL paths carry the merged path as a string', () => {
    const { s, mirror } = withMirror();
    for (const mk of [(p: string) => Buffer.from(p), (p: string) => pathToFileURL(p)]) {
      const want = thrown(() => nodeFs.statSync(mk(mirror + '/nope')));
      const got = thrown(() => s.fs.statSync(mk(s.m + '/nope')));
      expect(shape(got)).toEqual(shape(want, mirror, s.m));
      expect(got.path).toBe(s.p('nope'));
    }
  });
});

describe('invalid arguments fail exactly as Node fails', () => {
  const bad: Array<[string, (fs: typeof nodeFs, m: string) => unknown]> = [
    ['NUL byte in a path', (fs, m) => fs.statSync(m + '/a\0b')],
    ['NUL byte in a Buffer path', (fs, m) => fs.readFileSync(Buffer.from(m + '/a\0b'))],
    ['NUL byte in the second path of rename', (fs, m) => fs.renameSync(m + '/f', m + '/x\0')],
    ['file URL with a host', (fs, m) => fs.statSync(new URL('file://host' + m + '/f'))],
    ['file URL with an encoded slash', (fs, m) => fs.statSync(new URL('file://' + m + '/a%2Fb'))],
    ['bad open flags', (fs, m) => fs.openSync(m + '/f', 'bogus')],
    ['a number as path', (fs) => fs.statSync(123 as unknown as string)],
    ['undefined path under the callback API', (fs) => fs.stat(undefined as unknown as string, () => undefined)],
  ];

  test.each(bad)('%s', (_name, op) => {
    const s = layers({ l1: { f: 'f' } });
    const want = thrown(() => op(nodeFs, s.m));
    const got = thrown(() => op(s.fs, s.m));
    expect({ code: got.code, name: got.name, message: got.message }).toEqual({ code: want.code, name: want.name, message: want.message });
    expect(s.upperTree()).toEqual({});
  });

  test('NUL byte: ERR_INVALID_ARG_VALUE thrown synchronously by callback APIs, rejected by promises', async () => {
    const s = layers({ l1: { f: 'f' } });
    const p = s.p('a\0b');
    let called = false;
    const e = thrown(() => s.fs.stat(p, () => (called = true)));
    expect(e.code).toBe('ERR_INVALID_ARG_VALUE');
    const r = await rejected(s.fs.promises.stat(p));
    expect(r.code).toBe('ERR_INVALID_ARG_VALUE');
    await new Promise((res) => setTimeout(res, 20));
    expect(called).toBe(false);
  });
});

describe('outputs name merged paths, never layer paths', () => {
  test('realpath (all four forms) of a lower entry', async () => {
    const s = layers({ l1: { 'd/x': 'x', ln: { symlink: 'd/x' } } });
    expect(s.fs.realpathSync(s.p('ln'))).toBe(s.p('d/x'));
    expect(s.fs.realpathSync.native(s.p('d/x'))).toBe(s.p('d/x'));
    expect(await s.fs.promises.realpath(s.p('ln'))).toBe(s.p('d/x'));
    const cb = await new Promise<string>((res, rej) => s.fs.realpath(s.p('ln'), (e, v) => (e ? rej(e) : res(v))));
    expect(cb).toBe(s.p('d/x'));
    const cbn = await new Promise<string>((res, rej) => s.fs.realpath.native(s.p('ln'), (e, v) => (e ? rej(e) : res(v))));
    expect(cbn).toBe(s.p('d/x'));
  });

  test('mkdtemp and recursive mkdir return merged paths', async () => {
    const s = layers({ l1: { 'd/': null } });
    const t = s.fs.mkdtempSync(s.p('d/t-'));
    expect(path.dirname(t)).toBe(s.p('d'));
    expect(path.basename(t)).toMatch(/^t-.{6}$/);
    expect(s.fs.statSync(t).isDirectory()).toBe(true);
    expect(s.fs.mkdirSync(s.p('d/a/b/c'), { recursive: true })).toBe(s.p('d/a'));
    expect(await s.fs.promises.mkdtemp(s.p('pt-'))).toMatch(new RegExp('^' + s.m.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '/pt-'));
  });

  test('Dir.path, Dirent.parentPath and stream .path', async () => {
    const s = layers({ l1: { 'd/x': 'x' } });
    const dir = await s.fs.promises.opendir(s.p('d'));
    const ents = [];
    for await (const e of dir) ents.push(e);
    expect(dir.path).toBe(s.p('d'));
    expect(ents.map((e) => [e.name, e.parentPath])).toEqual([['x', s.p('d')]]);
    const rs = s.fs.createReadStream(s.p('d/x'));
    expect(rs.path).toBe(s.p('d/x'));
    await new Promise<void>((res) => rs.on('close', () => res()).resume());
  });
});

describe('option validation', () => {
  function expectOptionError(fn: () => unknown, mentions: string) {
    const e = thrown(fn);
    expect(Object.prototype.toString.call(e)).toBe('[object Error]');
    expect(String(e.code)).toMatch(/^ERR_OVERLAY_/);
    expect(e.message).toContain(mentions);
  }

  test('a missing lower directory', () => {
    const s = layers({ l1: { a: 'a' } }, { noOverlay: true });
    const missing = path.join(s.root, 'nope');
    expectOptionError(() => createOverlay({ mountpoint: s.m, upper: s.real('u'), lower: [s.real('l1'), missing] }), missing);
  });

  test('a lower that is a file', () => {
    const s = layers({ l1: { a: 'a' } }, { noOverlay: true });
    expectOptionError(() => createOverlay({ mountpoint: s.m, upper: s.real('u'), lower: [s.real('l1', 'a')] }), s.real('l1', 'a'));
  });

  test('a missing upper directory', () => {
    const s = layers({ l1: { a: 'a' } }, { noOverlay: true });
    const missing = path.join(s.root, 'no-upper');
    expectOptionError(() => createOverlay({ mountpoint: s.m, upper: missing, lower: [s.real('l1')] }), missing);
  });

  test('an upper that is a file', () => {
    const s = layers({ l1: { a: 'a' }, u: { file: 'x' } }, { noOverlay: true });
    expectOptionError(() => createOverlay({ mountpoint: s.m, upper: s.real('u', 'file'), lower: [s.real('l1')] }), s.real('u', 'file'));
  });

  test('the same lower directory twice', () => {
    const s = layers({ l1: { a: 'a' }, l2: { b: 'b' } }, { noOverlay: true });
    expectOptionError(
      () => createOverlay({ mountpoint: s.m, upper: s.real('u'), lower: [s.real('l2'), s.real('l1'), s.real('l1') + '/'] }),
      s.real('l1'),
    );
  });

  test('the upper equal to a lower', () => {
    const s = layers({ l1: { a: 'a' } }, { noOverlay: true });
    expectOptionError(() => createOverlay({ mountpoint: s.m, upper: s.real('l1'), lower: [s.real('l1')] }), s.real('l1'));
  });

  test('the upper inside a lower', () => {
    const s = layers({ l1: { a: 'a', 'inner/': null } }, { noOverlay: true });
    expectOptionError(() => createOverlay({ mountpoint: s.m, upper: s.real('l1', 'inner'), lower: [s.real('l1')] }), s.real('l1', 'inner'));
  });

  test('a lower inside the upper', () => {
    const s = layers({ l1: { a: 'a' }, u: { 'inner/': null } }, { noOverlay: true });
    expectOptionError(() => createOverlay({ mountpoint: s.m, upper: s.real('u'), lower: [s.real('u', 'inner')] }), s.real('u', 'inner'));
  });

  test('an empty lower list', () => {
    const s = layers({ l1: { a: 'a' } }, { noOverlay: true });
    const e = thrown(() => createOverlay({ mountpoint: s.m, upper: s.real('u'), lower: [] }));
    expect(String(e.code)).toMatch(/^ERR_OVERLAY_/);
    expect(e.message).toMatch(/lower/);
  });

  test('relative, Buffer and URL option paths are resolved to absolute strings', () => {
    const s = layers({ l1: { a: 'a' }, l2: { b: 'b' } }, { noOverlay: true });
    const cwd = process.cwd();
    let ov;
    try {
      process.chdir(s.root);
      ov = createOverlay({ mountpoint: 'm', upper: Buffer.from('u'), lower: [pathToFileURL(s.real('l2')), 'l1'] });
    } finally {
      process.chdir(cwd);
    }
    expect(ov.mountpoint).toBe(s.m);
    expect(ov.upper).toBe(s.real('u'));
    expect(ov.lower).toEqual([s.real('l2'), s.real('l1')]);
    expect(sortedNames(ov.fs, s.m)).toEqual(['a', 'b']);
  });

  test('the default workdir sits beside the upper', () => {
    const s = layers({ l1: { a: 'a' } });
    expect(s.ov.workdir).toBe(path.join(s.root, '.u.overlay-work'));
    s.fs.writeFileSync(s.p('a'), 'changed');
    expect(s.upperTree()).toEqual({ a: 'file:changed' });
  });
});
