/**
 * unlink / rmdir: kernel-reference #25-#30, with OCI whiteouts (`.wh.<name>`) in the upper.
 * Refused operations never copy anything up (checked against a real mount: ENOENT, ENOTEMPTY,
 * EISDIR and ENOTDIR leave the upper empty).
 */
import { useLayers, expectCode, sortedNames } from '../helpers/layers';

const layers = useLayers();

describe('#25 unlink', () => {
  test('lower-only → whiteout; upper shadowing lower → whiteout; upper-only → gone; again → ENOENT', () => {
    const s = layers({ l1: { a: 'a', b: 'b' }, u: { b: 'bu', z: 'z' } });
    s.fs.unlinkSync(s.p('a'));
    s.fs.unlinkSync(s.p('b'));
    s.fs.unlinkSync(s.p('z'));
    expectCode(() => s.fs.unlinkSync(s.p('a')), 'ENOENT');
    expect(s.upperTree()).toEqual({ '.wh.a': 'file:', '.wh.b': 'file:' });
    expect(sortedNames(s.fs, s.m)).toEqual([]);
  });

  test('the parent chain is copied up first, keeping mode, owner and mtime of untouched parents', () => {
    const s = layers({
      l1: {
        p: { dir: true, mode: 0o750, uid: 7, gid: 8, mtime: 1100000000 },
        'p/q': { dir: true, mode: 0o711, uid: 9, gid: 10, mtime: 1000000000 },
        'p/q/f': 'f',
        'p/q/g': 'g',
      },
    });
    s.fs.unlinkSync(s.p('p/q/f'));
    expect(s.upperTree()).toEqual({ p: 'dir', 'p/q': 'dir', 'p/q/.wh.f': 'file:' });
    const p = s.upperStat('p')!;
    expect([Number(p.mode & 0o7777n), Number(p.uid), Number(p.gid)]).toEqual([0o750, 7, 8]);
    expect(p.mtimeMs).toBe(1100000000000n);
    const q = s.upperStat('p/q')!;
    expect([Number(q.mode & 0o7777n), Number(q.uid), Number(q.gid)]).toEqual([0o711, 9, 10]);
    expect(sortedNames(s.fs, s.p('p/q'))).toEqual(['g']);
  });

  test('unlink of a missing name, or under a missing parent, copies nothing up', () => {
    const s = layers({ l1: { 'p/q/f': 'f' } });
    expectCode(() => s.fs.unlinkSync(s.p('p/q/nope')), 'ENOENT');
    expectCode(() => s.fs.unlinkSync(s.p('p/nope/x')), 'ENOENT');
    expect(s.upperTree()).toEqual({});
  });

  test('unlink of a symlink removes the link, not its target', () => {
    const s = layers({ l1: { t: 'target', 'd/ln': { symlink: '../t' } } });
    s.fs.unlinkSync(s.p('d/ln'));
    expect(s.fs.readFileSync(s.p('t'), 'utf8')).toBe('target');
    expectCode(() => s.fs.lstatSync(s.p('d/ln')), 'ENOENT');
    expect(s.upperTree()).toEqual({ d: 'dir', 'd/.wh.ln': 'file:' });
  });

  test('an fd opened before unlink still reads the data', () => {
    const s = layers({ l1: { g: 'still here' } });
    const fd = s.fs.openSync(s.p('g'), 'r');
    try {
      s.fs.unlinkSync(s.p('g'));
      const buf = Buffer.alloc(10);
      expect(s.fs.readSync(fd, buf, 0, 10, 0)).toBe(10);
      expect(buf.toString()).toBe('still here');
    } finally {
      s.fs.closeSync(fd);
    }
    expect(s.hasWhiteout('g')).toBe(true);
  });
});

describe('#26 type errors', () => {
  test('unlink of a directory is EISDIR, rmdir of a file ENOTDIR, nothing copied up', () => {
    const s = layers({ l1: { 'd/x': 'x', a: 'a' }, l2: { 'e/': null } });
    expectCode(() => s.fs.unlinkSync(s.p('d')), 'EISDIR');
    expectCode(() => s.fs.unlinkSync(s.p('e')), 'EISDIR');
    expectCode(() => s.fs.rmdirSync(s.p('a')), 'ENOTDIR');
    expect(s.upperTree()).toEqual({});
  });

  test('rmdir of a symlink to a directory is ENOTDIR', () => {
    const s = layers({ l1: { 'd/x': 'x', dl: { symlink: 'd' } } });
    expectCode(() => s.fs.rmdirSync(s.p('dl')), 'ENOTDIR');
    expect(s.upperTree()).toEqual({});
  });
});

describe('#27 rmdir of a merged or lower dir: emptiness judged on the merged view', () => {
  test('the full sequence ENOTEMPTY OK ENOTEMPTY ENOTEMPTY OK OK OK leaves one whiteout', () => {
    const s = layers({ l1: { 'full/x': 'x', 'full/sub/y': 'y' } });
    expectCode(() => s.fs.rmdirSync(s.p('full')), 'ENOTEMPTY');
    expect(s.upperTree()).toEqual({});
    s.fs.unlinkSync(s.p('full/x'));
    expectCode(() => s.fs.rmdirSync(s.p('full')), 'ENOTEMPTY');
    expectCode(() => s.fs.rmdirSync(s.p('full/sub')), 'ENOTEMPTY');
    s.fs.unlinkSync(s.p('full/sub/y'));
    s.fs.rmdirSync(s.p('full/sub'));
    s.fs.rmdirSync(s.p('full'));
    expect(s.upperTree()).toEqual({ '.wh.full': 'file:' });
    expectCode(() => s.fs.statSync(s.p('full')), 'ENOENT');
  });

  test('a merged dir: upper and lower parts emptied, then one whiteout remains', () => {
    const s = layers({ l1: { 'md/lx': 'l' }, l2: { 'md/mx': 'm' }, u: { 'md/ux': 'u' } });
    for (const n of ['lx', 'mx']) {
      expectCode(() => s.fs.rmdirSync(s.p('md')), 'ENOTEMPTY');
      s.fs.unlinkSync(s.p('md', n));
    }
    expectCode(() => s.fs.rmdirSync(s.p('md')), 'ENOTEMPTY');
    s.fs.unlinkSync(s.p('md/ux'));
    s.fs.rmdirSync(s.p('md'));
    expect(s.upperTree()).toEqual({ '.wh.md': 'file:' });
    expect(sortedNames(s.fs, s.m)).toEqual([]);
  });

  test('entries hidden by whiteouts in a middle layer do not count', () => {
    const s = layers({ l1: { 'hd/x': 'x', 'hd/y': 'y' }, l2: { 'hd/x': { whiteout: true }, 'hd/y': { whiteout: 'oci' } } });
    expect(sortedNames(s.fs, s.p('hd'))).toEqual([]);
    s.fs.rmdirSync(s.p('hd'));
    expect(s.upperTree()).toEqual({ '.wh.hd': 'file:' });
  });

  test('entries hidden by a lower opaque dir do not count', () => {
    const s = layers({ l1: { 'od/x': 'x' }, l2: { od: { opaque: true } } });
    s.fs.rmdirSync(s.p('od'));
    expectCode(() => s.fs.statSync(s.p('od')), 'ENOENT');
    expect(s.upperTree()).toEqual({ '.wh.od': 'file:' });
  });

  test('rm -r of a populated lower tree leaves exactly one whiteout', () => {
    const s = layers({ l1: { 'tree/a/b/c': 'c', 'tree/a/d': 'd', 'tree/e': 'e', keep: 'k' }, l2: { 'tree/a/f': 'f' } });
    s.fs.rmSync(s.p('tree'), { recursive: true });
    expectCode(() => s.fs.statSync(s.p('tree')), 'ENOENT');
    expect(sortedNames(s.fs, s.m)).toEqual(['keep']);
    expect(s.upperTree()).toEqual({ '.wh.tree': 'file:' });
  });
});

describe('#28 rmdir of an empty lower-only dir', () => {
  test('leaves a whiteout and no upper directory; trailing slash accepted', () => {
    const s = layers({ l1: { 'd/': null, 'e/': null } });
    s.fs.rmdirSync(s.p('e') + '/');
    s.fs.rmdirSync(s.p('d'));
    expectCode(() => s.fs.statSync(s.p('d')), 'ENOENT');
    expectCode(() => s.fs.rmdirSync(s.p('d')), 'ENOENT');
    expect(s.upperTree()).toEqual({ '.wh.d': 'file:', '.wh.e': 'file:' });
  });

  test('in a nested lower dir the parent chain is copied up', () => {
    const s = layers({ l1: { 'a/b/empty/': null, 'a/b/keep': 'k' } });
    s.fs.rmdirSync(s.p('a/b/empty'));
    expect(s.upperTree()).toEqual({ a: 'dir', 'a/b': 'dir', 'a/b/.wh.empty': 'file:' });
    expect(sortedNames(s.fs, s.p('a/b'))).toEqual(['keep']);
  });
});

describe('#29 rmdir of an upper-only dir', () => {
  test('plain rmdir: ENOTEMPTY while it has entries, no whiteout afterwards', () => {
    const s = layers({ l1: { other: 'o' }, u: { 'own/f': 'f' } });
    expectCode(() => s.fs.rmdirSync(s.p('own')), 'ENOTEMPTY');
    s.fs.unlinkSync(s.p('own/f'));
    s.fs.rmdirSync(s.p('own'));
    expect(s.upperTree()).toEqual({});
  });

  test('an opaque upper dir over a populated lower dir is removable once its upper part is empty', () => {
    const s = layers({ l1: { 'od2/x': 'x' }, u: { od2: { opaque: true } } });
    expect(sortedNames(s.fs, s.p('od2'))).toEqual([]);
    s.fs.rmdirSync(s.p('od2'));
    expectCode(() => s.fs.statSync(s.p('od2')), 'ENOENT');
    expect(s.upperTree()).toEqual({ '.wh.od2': 'file:' });
  });

  test('a directory created through the overlay is removed without trace', () => {
    const s = layers({ l1: { a: 'a' } });
    s.fs.mkdirSync(s.p('n1/n2'), { recursive: true });
    s.fs.rmdirSync(s.p('n1/n2'));
    s.fs.rmdirSync(s.p('n1'));
    expect(s.upperTree()).toEqual({});
  });
});

describe('#30 stray whiteouts', () => {
  test('a stray whiteout in a lower-only dir does not block rmdir once the dir is empty', () => {
    const s = layers({ l2: { 'only/x': { whiteout: true }, 'only/y': 'y' } });
    s.fs.unlinkSync(s.p('only/y'));
    s.fs.rmdirSync(s.p('only'));
    expectCode(() => s.fs.statSync(s.p('only')), 'ENOENT');
    expect(s.upperTree()).toEqual({ '.wh.only': 'file:' });
  });

  // The kernel lists a stray whiteout in a pure-upper dir and refuses rmdir with ENOTEMPTY
  // (#30). overlay-fs hides stray whiteouts (kernel-reference section 4), so the dir looks
  // empty and rmdir must agree with readdir.
  test('a stray whiteout in a pure-upper dir is hidden, and rmdir agrees with readdir', () => {
    const s = layers({ l1: { other: 'o' }, u: { 'uonly/wx': { whiteout: true }, 'uonly2/q': { whiteout: 'oci' } } });
    expect(sortedNames(s.fs, s.p('uonly'))).toEqual([]);
    expect(sortedNames(s.fs, s.p('uonly2'))).toEqual([]);
    s.fs.rmdirSync(s.p('uonly'));
    s.fs.rmdirSync(s.p('uonly2'));
    expect(s.upperTree()).toEqual({});
  });
});
