/**
 * Whiteouts and opaque directories: kernel-reference #12-#19 and #21-#24, adapted to the OCI
 * on-disk format that overlay-fs writes in its upper layer: a deleted name `x` becomes an empty
 * regular file `.wh.x`, an opaque directory holds an empty `.wh..wh..opq`. Both that form and
 * the kernel form (char device 0:0) are read in every layer. Names starting with `.wh.` are
 * reserved: lookup ENOENT, create/rename onto EINVAL with a message saying "reserved".
 */
import { useLayers, expectCode, sortedNames, thrown } from '../helpers/layers';

const layers = useLayers();

describe('#12 the whiteout written in the upper is an OCI .wh. file', () => {
  test('unlinking lower files writes empty regular .wh.<name> files, never devices', () => {
    const s = layers({ l1: { a: 'a', b: 'b', 'full/x': 'x' } });
    s.fs.unlinkSync(s.p('a'));
    s.fs.unlinkSync(s.p('b'));
    s.fs.unlinkSync(s.p('full/x'));
    expect(s.upperTree()).toEqual({
      '.wh.a': 'file:',
      '.wh.b': 'file:',
      full: 'dir',
      'full/.wh.x': 'file:',
    });
    expect(s.hasWhiteout('a') && s.hasWhiteout('b') && s.hasWhiteout('full/x')).toBe(true);
    expect(sortedNames(s.fs, s.m)).toEqual(['full']);
    expect(sortedNames(s.fs, s.p('full'))).toEqual([]);
  });
});

describe('#13 a whiteout is written only where a lower layer would show the name', () => {
  test('an upper-only file is simply deleted', () => {
    const s = layers({ l1: { other: 'o' }, u: { z: 'z' } });
    s.fs.unlinkSync(s.p('z'));
    expect(s.upperTree()).toEqual({});
  });

  test('a name already hidden by a middle-layer kernel whiteout needs no whiteout', () => {
    const s = layers({ l1: { X: 'low' }, l2: { X: { whiteout: true } }, u: { X: 'up' } });
    s.fs.unlinkSync(s.p('X'));
    expect(s.upperTree()).toEqual({});
    expectCode(() => s.fs.statSync(s.p('X')), 'ENOENT');
  });

  test('a name already hidden by a middle-layer OCI whiteout needs no whiteout', () => {
    const s = layers({ l1: { X: 'low' }, l2: { X: { whiteout: 'oci' } }, u: { X: 'up' } });
    s.fs.unlinkSync(s.p('X'));
    expect(s.upperTree()).toEqual({});
    expectCode(() => s.fs.statSync(s.p('X')), 'ENOENT');
  });

  test('nothing needs a whiteout inside an opaque upper dir', () => {
    const s = layers({ l1: { 'od/f': 'low' }, u: { od: { opaque: true }, 'od/f': 'up' } });
    s.fs.unlinkSync(s.p('od/f'));
    expect(s.upperTree()).toEqual({ od: 'dir', 'od/.wh..wh..opq': 'file:' });
    expect(sortedNames(s.fs, s.p('od'))).toEqual([]);
  });

  test('removing a name from a lower opaque dir keeps the layers below it hidden', () => {
    const s = layers({ l1: { 'od/f': 'l1' }, l2: { od: { opaque: true }, 'od/g': 'l2' } });
    s.fs.unlinkSync(s.p('od/g'));
    expect(sortedNames(s.fs, s.p('od'))).toEqual([]);
    expectCode(() => s.fs.statSync(s.p('od/f')), 'ENOENT');
    expectCode(() => s.fs.statSync(s.p('od/g')), 'ENOENT');
    expect(s.upperTree()['od']).toBe('dir');
  });
});

describe('#14/#15 whiteouts and opaque dirs read from any layer', () => {
  test('a kernel whiteout in the upper hides lower files', () => {
    const s = layers({ l1: { 'd/f': 'f', 'd/g': 'g' }, u: { 'd/f': { whiteout: true } } });
    expect(sortedNames(s.fs, s.p('d'))).toEqual(['g']);
    expectCode(() => s.fs.readFileSync(s.p('d/f')), 'ENOENT');
    expect(s.ov.which(s.p('d/f'))).toBeNull();
  });

  test('an opaque upper dir hides everything below it, at every depth', () => {
    const s = layers({
      l1: { 'd3/f': 'f', 'd3/sub/x': 'x' },
      l2: { 'd3/sub/y': 'y' },
      u: { d3: { opaque: true }, 'd3/h': 'h' },
    });
    expect(sortedNames(s.fs, s.p('d3'))).toEqual(['h']);
    expectCode(() => s.fs.statSync(s.p('d3/sub')), 'ENOENT');
    expectCode(() => s.fs.statSync(s.p('d3/sub/x')), 'ENOENT');
    expect(s.ov.which(s.p('d3'))!.layers.map((e) => e.realPath)).toEqual([s.real('u', 'd3')]);
  });

  test('an opaque middle-layer dir hides the layers below it but merges with those above', () => {
    const s = layers({ l1: { 'E/e1': '1' }, l2: { E: { opaque: true }, 'E/e2': '2' }, u: { 'E/eu': 'u' } });
    expect(sortedNames(s.fs, s.p('E'))).toEqual(['e2', 'eu']);
    expectCode(() => s.fs.statSync(s.p('E/e1')), 'ENOENT');
  });
});

describe('#17/#18 OCI whiteouts in lower layers (the kernel would ignore them; we honour them)', () => {
  test('.wh.<name> in a lower hides the name below and is itself invisible', () => {
    const s = layers({ l1: { 'd2/f': 'f', 'd2/g': 'g' }, l2: { 'd2/f': { whiteout: 'oci' } } });
    expect(sortedNames(s.fs, s.p('d2'))).toEqual(['g']);
    expectCode(() => s.fs.statSync(s.p('d2/f')), 'ENOENT');
    expectCode(() => s.fs.statSync(s.p('d2/.wh.f')), 'ENOENT');
  });

  test('.wh..wh..opq in a lower hides every child from the layers below', () => {
    const s = layers({ l1: { 'd2/f': 'f', 'd2/g': 'g' }, l2: { 'd2/.wh..wh..opq': '', 'd2/.wh.f': '' } });
    expect(sortedNames(s.fs, s.p('d2'))).toEqual([]);
    expectCode(() => s.fs.statSync(s.p('d2/g')), 'ENOENT');
  });

  test('the opaque marker does not hide its own layer entries', () => {
    const s = layers({ l1: { 'd/b': 'b' }, l2: { d: { opaque: true }, 'd/a': 'a' } });
    expect(sortedNames(s.fs, s.p('d'))).toEqual(['a']);
  });

  test('a .wh. entry never hides a sibling in its own layer', () => {
    const s = layers({ l1: { 'd/f': 'l1' }, l2: { 'd/.wh.f': '', 'd/f': 'l2' } });
    expect(sortedNames(s.fs, s.p('d'))).toEqual(['f']);
    expect(s.fs.readFileSync(s.p('d/f'), 'utf8')).toBe('l2');
  });

  test('a .wh. file in the bottom layer shows nothing', () => {
    const s = layers({ l1: { '.wh.y': '', a: 'a' } });
    expect(sortedNames(s.fs, s.m)).toEqual(['a']);
    expectCode(() => s.fs.statSync(s.p('.wh.y')), 'ENOENT');
    expectCode(() => s.fs.statSync(s.p('y')), 'ENOENT');
  });
});

describe('#19 .wh. names are reserved', () => {
  const reserved = ['.wh.foo', '.wh..wh..opq'];

  test('lookup of a reserved name is ENOENT, even where a file of that name exists', () => {
    const s = layers({ l1: { a: 'a', 'd/x': 'x' }, u: { a: { whiteout: 'oci' }, 'd/.wh..wh..opq': '' } });
    for (const n of ['.wh.a', 'd/.wh..wh..opq', '.wh.nothing']) {
      expectCode(() => s.fs.statSync(s.p(n)), 'ENOENT');
      expectCode(() => s.fs.lstatSync(s.p(n)), 'ENOENT');
      expectCode(() => s.fs.readFileSync(s.p(n)), 'ENOENT');
      expect(s.fs.existsSync(s.p(n))).toBe(false);
      expect(s.ov.which(s.p(n))).toBeNull();
    }
    expectCode(() => s.fs.unlinkSync(s.p('.wh.a')), 'ENOENT');
    expect(s.upperTree()).toEqual({ '.wh.a': 'file:', d: 'dir', 'd/.wh..wh..opq': 'file:' });
  });

  test.each(reserved)('creating %s fails with EINVAL and says the name is reserved', (name) => {
    const s = layers({ l1: { 'd/x': 'x', src: 's' } });
    const attempts: Array<[string, () => unknown]> = [
      ['open wx', () => s.fs.openSync(s.p(name), 'wx')],
      ['open w', () => s.fs.openSync(s.p('d', name), 'w')],
      ['writeFile', () => s.fs.writeFileSync(s.p(name), 'x')],
      ['appendFile', () => s.fs.appendFileSync(s.p('d', name), 'x')],
      ['mkdir', () => s.fs.mkdirSync(s.p(name))],
      ['mkdir recursive', () => s.fs.mkdirSync(s.p('d', name, 'deeper'), { recursive: true })],
      ['symlink', () => s.fs.symlinkSync('x', s.p('d', name))],
      ['link', () => s.fs.linkSync(s.p('src'), s.p(name))],
      ['copyFile', () => s.fs.copyFileSync(s.p('src'), s.p('d', name))],
      ['rename file', () => s.fs.renameSync(s.p('src'), s.p(name))],
      ['rename dir', () => s.fs.renameSync(s.p('d'), s.p(name))],
    ];
    for (const [what, fn] of attempts) {
      const e = thrown(fn);
      expect({ what, code: e.code }).toEqual({ what, code: 'EINVAL' });
      expect(e.message).toMatch(/reserved/i);
    }
    expect(s.upperTree()).toEqual({});
    expect(sortedNames(s.fs, s.m)).toEqual(['d', 'src']);
  });

  test('promise and callback forms refuse reserved names too', async () => {
    const s = layers({ l1: { a: 'a' } });
    await expect(s.fs.promises.writeFile(s.p('.wh.p'), 'x')).rejects.toMatchObject({ code: 'EINVAL' });
    const cbErr = await new Promise<NodeJS.ErrnoException | null>((res) => s.fs.mkdir(s.p('.wh.c'), (e) => res(e)));
    expect(cbErr).toMatchObject({ code: 'EINVAL' });
    expect(s.upperTree()).toEqual({});
  });

  test('names that merely contain .wh. are ordinary', () => {
    const s = layers({ l1: { 'x.wh.y': 'low' } });
    s.fs.writeFileSync(s.p('a.wh.b'), 'new');
    s.fs.mkdirSync(s.p('wh.dir'));
    expect(sortedNames(s.fs, s.m)).toEqual(['a.wh.b', 'wh.dir', 'x.wh.y']);
    expect(s.fs.readFileSync(s.p('x.wh.y'), 'utf8')).toBe('low');
  });
});

describe('#21 creating a non-directory over a whiteout replaces it', () => {
  test('open w over a whiteout makes a fresh empty file; no .wh. left', () => {
    const s = layers({ l1: { f: 'lower data' } });
    s.fs.unlinkSync(s.p('f'));
    expect(s.hasWhiteout('f')).toBe(true);
    s.fs.closeSync(s.fs.openSync(s.p('f'), 'w'));
    expect(s.fs.readFileSync(s.p('f'), 'utf8')).toBe('');
    expect(s.upperTree()).toEqual({ f: 'file:' });
  });

  test('writeFile over a whiteout', () => {
    const s = layers({ l1: { 'd/f': 'lower data' } });
    s.fs.unlinkSync(s.p('d/f'));
    s.fs.writeFileSync(s.p('d/f'), 'new');
    expect(s.fs.readFileSync(s.p('d/f'), 'utf8')).toBe('new');
    expect(s.upperTree()).toEqual({ d: 'dir', 'd/f': 'file:new' });
  });

  test('symlink over a whiteout', () => {
    const s = layers({ l1: { 'd/rel': { symlink: 'target1' } } });
    s.fs.unlinkSync(s.p('d/rel'));
    s.fs.symlinkSync('target2', s.p('d/rel'));
    expect(s.fs.readlinkSync(s.p('d/rel'))).toBe('target2');
    expect(s.upperTree()).toEqual({ d: 'dir', 'd/rel': 'symlink:target2' });
  });

  test('link over a whiteout', () => {
    const s = layers({ l1: { f: 'old', s: 'src' } });
    s.fs.unlinkSync(s.p('f'));
    s.fs.linkSync(s.p('s'), s.p('f'));
    expect(s.fs.readFileSync(s.p('f'), 'utf8')).toBe('src');
    expect(s.upperTree()).toEqual({ f: 'file:src', s: 'file:src' });
  });

  test('creating over a kernel-form whiteout already in the upper', () => {
    const s = layers({ l1: { f: 'lower' }, u: { f: { whiteout: true } } });
    expectCode(() => s.fs.statSync(s.p('f')), 'ENOENT');
    s.fs.writeFileSync(s.p('f'), 'new');
    expect(s.fs.readFileSync(s.p('f'), 'utf8')).toBe('new');
    expect(s.upperTree()).toEqual({ f: 'file:new' });
  });
});

describe('#22 mkdir over a whiteout makes an opaque directory', () => {
  test('re-created directory is empty: the old lower entries stay hidden', () => {
    const s = layers({ l1: { 'd/x': 'x', 'd/y': 'y' } });
    s.fs.unlinkSync(s.p('d/x'));
    s.fs.unlinkSync(s.p('d/y'));
    s.fs.rmdirSync(s.p('d'));
    s.fs.mkdirSync(s.p('d'));
    expect(sortedNames(s.fs, s.p('d'))).toEqual([]);
    expectCode(() => s.fs.statSync(s.p('d/x')), 'ENOENT');
    expect(s.upperTree()).toEqual({ d: 'dir', 'd/.wh..wh..opq': 'file:' });
  });

  test('even when the whited-out object was a file', () => {
    const s = layers({ l1: { h: 'file' } });
    s.fs.unlinkSync(s.p('h'));
    s.fs.mkdirSync(s.p('h'));
    expect(s.fs.statSync(s.p('h')).isDirectory()).toBe(true);
    expect(sortedNames(s.fs, s.p('h'))).toEqual([]);
    expect(s.isOpaque('h')).toBe(true);
    expect(s.hasWhiteout('h')).toBe(false);
  });

  test('over a kernel whiteout in the upper, and after removing a populated lower tree', () => {
    const s = layers({ l1: { 'k/x': 'x', 'r/sub/deep': 'd' }, u: { k: { whiteout: true } } });
    s.fs.mkdirSync(s.p('k'));
    expect(sortedNames(s.fs, s.p('k'))).toEqual([]);
    expect(s.isOpaque('k')).toBe(true);
    s.fs.rmSync(s.p('r'), { recursive: true });
    s.fs.mkdirSync(s.p('r'));
    expect(sortedNames(s.fs, s.p('r'))).toEqual([]);
    s.fs.mkdirSync(s.p('r/sub'));
    expect(sortedNames(s.fs, s.p('r/sub'))).toEqual([]);
  });

  test('mkdir of a brand-new name is not opaque', () => {
    const s = layers({ l1: { a: 'a' } });
    s.fs.mkdirSync(s.p('fresh'));
    expect(s.upperTree()).toEqual({ fresh: 'dir' });
  });
});

describe('#23 remove, recreate, fill, remove again', () => {
  test('sequence OK OK ENOTEMPTY OK OK ENOENT and a whiteout again', () => {
    const s = layers({ l1: { 'd/x': 'x' } });
    s.fs.unlinkSync(s.p('d/x'));
    s.fs.rmdirSync(s.p('d'));
    s.fs.mkdirSync(s.p('d'));
    s.fs.closeSync(s.fs.openSync(s.p('d/new'), 'w'));
    expectCode(() => s.fs.rmdirSync(s.p('d')), 'ENOTEMPTY');
    s.fs.unlinkSync(s.p('d/new'));
    s.fs.rmdirSync(s.p('d'));
    expectCode(() => s.fs.statSync(s.p('d')), 'ENOENT');
    expect(s.upperTree()).toEqual({ '.wh.d': 'file:' });
    expect(sortedNames(s.fs, s.m)).toEqual([]);
  });
});

describe('#24 EEXIST on names that exist in any layer (and no copy-up)', () => {
  test('mkdir, exclusive create, link and symlink onto lower names', () => {
    const s = layers({ l1: { 'd/in': 'i', f: 'f', s: 's' }, l2: { h2: 'h2' } });
    expectCode(() => s.fs.mkdirSync(s.p('d')), 'EEXIST');
    expectCode(() => s.fs.mkdirSync(s.p('f')), 'EEXIST');
    expectCode(() => s.fs.openSync(s.p('f'), 'wx'), 'EEXIST');
    const C = s.fs.constants;
    expectCode(() => s.fs.openSync(s.p('d'), C.O_RDONLY | C.O_CREAT | C.O_EXCL), 'EEXIST');
    expectCode(() => s.fs.linkSync(s.p('s'), s.p('h2')), 'EEXIST');
    expectCode(() => s.fs.symlinkSync('anything', s.p('h2')), 'EEXIST');
    expectCode(() => s.fs.mkdirSync(s.p('d/in')), 'EEXIST');
    expect(s.upperTree()).toEqual({});
  });

  test('a name is free again after it was whited out', () => {
    const s = layers({ l1: { f: 'f' } });
    s.fs.unlinkSync(s.p('f'));
    const fd = s.fs.openSync(s.p('f'), 'wx');
    s.fs.closeSync(fd);
    expect(s.upperTree()).toEqual({ f: 'file:' });
  });
});
