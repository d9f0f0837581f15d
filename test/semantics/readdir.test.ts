/**
 * readdir: kernel-reference #7 (merging), #10 (non-merged directories), #14 (whiteouts in any
 * layer). Order is not part of the contract (#8): names are compared sorted.
 * Deliberate difference (overlay-semantics.md, kernel-reference section 4): stray whiteouts in
 * a non-merged directory are hidden, where the kernel lists them as c????????? entries (#10).
 */
import { useLayers, expectCode, sortedNames } from '../helpers/layers';

const layers = useLayers();

describe('#7 merging', () => {
  test('union over the stack, duplicates removed, whiteouts and what they hide dropped', () => {
    const s = layers({
      l1: { 'd/a': '1', 'd/c.txt': '1', 'd/hidden': '1', 'd/y': '1' },
      l2: { 'd/b': '2', 'd/c.txt': '2', 'd/hidden': { whiteout: true } },
      u: { 'd/z': 'u', 'd/c.txt': 'u', 'd/y': { whiteout: 'oci' } },
    });
    expect(sortedNames(s.fs, s.p('d'))).toEqual(['a', 'b', 'c.txt', 'z']);
  });

  test('the merged root lists the union of the layer roots', () => {
    const s = layers({ l1: { a: '1', 'dir/': null }, l2: { b: '2', dir: null }, u: { c: 'u', a: 'u' } });
    expect(sortedNames(s.fs, s.m)).toEqual(['a', 'b', 'c', 'dir']);
  });

  test('an opaque directory in the upper ends the stack', () => {
    const s = layers({ l1: { 'od/f': 'low', 'od/sub/deep': 'x' }, u: { od: { opaque: true }, 'od/h': 'h' } });
    expect(sortedNames(s.fs, s.p('od'))).toEqual(['h']);
    expectCode(() => s.fs.statSync(s.p('od/f')), 'ENOENT');
    expectCode(() => s.fs.readdirSync(s.p('od/sub')), 'ENOENT');
  });

  test('an opaque directory in a middle layer ends the stack', () => {
    const s = layers({ l1: { 'E/e1': '1' }, l2: { E: { opaque: true }, 'E/e2': '2' }, u: { 'E/eu': 'u' } });
    expect(sortedNames(s.fs, s.p('E'))).toEqual(['e2', 'eu']);
  });

  test('a non-directory in a middle layer ends the stack', () => {
    const s = layers({ l1: { 'D/d1': '1' }, l2: { D: 'file' }, u: { 'D/du': 'u' } });
    expect(sortedNames(s.fs, s.p('D'))).toEqual(['du']);
  });

  test('reserved .wh. names are never listed, in any layer', () => {
    const s = layers({
      l1: { 'd/a': '1', 'd/.wh.gone': '' },
      l2: { 'd/.wh..wh..opq.not-marker': '', 'd/b': '2' },
      u: { 'd/c': 'u', 'd/.wh.b': '' },
    });
    expect(sortedNames(s.fs, s.p('d'))).toEqual(['a', 'c']);
  });

  test('withFileTypes: types come from the providing layer, names and parentPath are merged', () => {
    const s = layers({
      l1: { 'd/file': 'f', 'd/sub/': null, 'd/link': { symlink: 'file' }, 'd/p': { fifo: true } },
      l2: { 'd/sub2/': null },
      u: { 'd/ufile': 'u' },
    });
    const ents = s.fs.readdirSync(s.p('d'), { withFileTypes: true });
    const got = ents
      .map((e) => [e.name, e.isFile() ? 'file' : e.isDirectory() ? 'dir' : e.isSymbolicLink() ? 'link' : e.isFIFO() ? 'fifo' : '?'])
      .sort((a, b) => (a[0] < b[0] ? -1 : 1));
    expect(got).toEqual([
      ['file', 'file'],
      ['link', 'link'],
      ['p', 'fifo'],
      ['sub', 'dir'],
      ['sub2', 'dir'],
      ['ufile', 'file'],
    ]);
    for (const e of ents) expect(e.parentPath).toBe(s.p('d'));
  });

  test('Buffer encoding returns Buffers of the merged names', () => {
    const s = layers({ l1: { 'd/a': '1' }, u: { 'd/b': 'u' } });
    const out = s.fs.readdirSync(s.p('d'), { encoding: 'buffer' });
    expect(out.every((b) => Buffer.isBuffer(b))).toBe(true);
    expect(out.map((b) => b.toString()).sort()).toEqual(['a', 'b']);
  });

  test('recursive readdir walks the merged tree', () => {
    const s = layers({
      l1: { 'd/a/x': '1', 'd/a/gone': '1', 'd/b/': null },
      l2: { 'd/a/y': '2', 'd/c': '2' },
      u: { 'd/a/gone': { whiteout: 'oci' }, 'd/b/z': 'u' },
    });
    const out = (s.fs.readdirSync(s.p('d'), { recursive: true }) as string[]).slice().sort();
    expect(out).toEqual(['a', 'a/x', 'a/y', 'b', 'b/z', 'c']);
  });

  test('opendir iterates the same merged names', () => {
    const s = layers({ l1: { 'd/a': '1', 'd/w': '1' }, l2: { 'd/b': '2', 'd/w': { whiteout: true } }, u: { 'd/c': 'u' } });
    const dir = s.fs.opendirSync(s.p('d'));
    const names: string[] = [];
    try {
      for (let e = dir.readSync(); e; e = dir.readSync()) names.push(e.name);
    } finally {
      dir.closeSync();
    }
    expect(names.sort()).toEqual(['a', 'b', 'c']);
    expect(dir.path).toBe(s.p('d'));
  });

  test('promise readdir and callback readdir see every layer', async () => {
    const s = layers({ l1: { 'd/a': '1' }, l2: { 'd/b': '2' }, u: { 'd/c': 'u' } });
    expect((await s.fs.promises.readdir(s.p('d'))).sort()).toEqual(['a', 'b', 'c']);
    const cb = await new Promise<string[]>((res, rej) => s.fs.readdir(s.p('d'), (e, n) => (e ? rej(e) : res(n))));
    expect(cb.sort()).toEqual(['a', 'b', 'c']);
  });

  test('listing reflects creates and deletes made through the overlay', () => {
    const s = layers({ l1: { 'd/a': '1', 'd/b': '1' }, u: { 'd/c': 'u' } });
    s.fs.writeFileSync(s.p('d/new'), 'n');
    s.fs.unlinkSync(s.p('d/a'));
    s.fs.unlinkSync(s.p('d/c'));
    expect(sortedNames(s.fs, s.p('d'))).toEqual(['b', 'new']);
  });

  test('readdir of a file is ENOTDIR and of a missing name ENOENT', () => {
    const s = layers({ l1: { f: 'x' }, l2: { gone: { whiteout: true } } });
    expectCode(() => s.fs.readdirSync(s.p('f')), 'ENOTDIR');
    expectCode(() => s.fs.readdirSync(s.p('nope')), 'ENOENT');
    expectCode(() => s.fs.readdirSync(s.p('gone')), 'ENOENT');
  });
});

describe('#10 non-merged directories', () => {
  test('a lower-only or upper-only dir lists its real entries', () => {
    const s = layers({ l2: { 'only/y': '1', 'only/sub/': null }, u: { 'uonly/z': 'u' } });
    expect(sortedNames(s.fs, s.p('only'))).toEqual(['sub', 'y']);
    expect(sortedNames(s.fs, s.p('uonly'))).toEqual(['z']);
  });

  test('stray kernel whiteouts in non-merged dirs are hidden and lstat gives ENOENT', () => {
    const s = layers({
      l2: { 'only/x': { whiteout: true }, 'only/y': '1' },
      u: { 'uonly/wx': { whiteout: true }, 'uonly/z': 'u' },
    });
    expect(sortedNames(s.fs, s.p('only'))).toEqual(['y']);
    expect(sortedNames(s.fs, s.p('uonly'))).toEqual(['z']);
    expectCode(() => s.fs.lstatSync(s.p('only/x')), 'ENOENT');
    expectCode(() => s.fs.lstatSync(s.p('uonly/wx')), 'ENOENT');
  });

  test('stray OCI whiteouts in non-merged dirs are hidden too', () => {
    const s = layers({ l1: { 'only/q': { whiteout: 'oci' }, 'only/r': '1' }, u: { 'uonly/q': { whiteout: 'oci' }, 'uonly/s': 'u' } });
    expect(sortedNames(s.fs, s.p('only'))).toEqual(['r']);
    expect(sortedNames(s.fs, s.p('uonly'))).toEqual(['s']);
  });
});

describe('#14 a whiteout in any layer hides the name in every layer below it', () => {
  test('kernel whiteout in a middle layer', () => {
    const s = layers({ l1: { 'd5/f': 'f', 'd5/g': 'g' }, l2: { 'd5/f': { whiteout: true } } });
    expect(sortedNames(s.fs, s.p('d5'))).toEqual(['g']);
    expectCode(() => s.fs.statSync(s.p('d5/f')), 'ENOENT');
  });

  test('OCI whiteout in a middle layer', () => {
    const s = layers({ l1: { 'd5/f': 'f', 'd5/g': 'g' }, l2: { 'd5/f': { whiteout: 'oci' } } });
    expect(sortedNames(s.fs, s.p('d5'))).toEqual(['g']);
    expectCode(() => s.fs.statSync(s.p('d5/f')), 'ENOENT');
  });

  test('a whiteout only hides layers below it, never the ones above', () => {
    const s = layers({ l1: { 'd/f': 'l1' }, l2: { 'd/f': { whiteout: true } }, l3: { 'd/f': 'l3' } });
    expect(sortedNames(s.fs, s.p('d'))).toEqual(['f']);
    expect(s.fs.readFileSync(s.p('d/f'), 'utf8')).toBe('l3');
  });

  test('a whiteout of a directory hides its whole lower subtree', () => {
    const s = layers({ l1: { 'top/sub/x': 'x', other: 'o' }, l2: { top: { whiteout: true } } });
    expect(sortedNames(s.fs, s.m)).toEqual(['other']);
    expectCode(() => s.fs.readdirSync(s.p('top/sub')), 'ENOENT');
  });

  test('a whiteout in the lowest layer has nothing to hide and is not listed', () => {
    const s = layers({ l1: { 'd/w': { whiteout: true }, 'd/a': 'a', 'e/w2': { whiteout: true } }, u: { 'd/x': 'x' } });
    expect(sortedNames(s.fs, s.p('d'))).toEqual(['a', 'x']);
    expect(sortedNames(s.fs, s.p('e'))).toEqual([]);
    expectCode(() => s.fs.statSync(s.p('d/w')), 'ENOENT');
    expectCode(() => s.fs.statSync(s.p('e/w2')), 'ENOENT');
  });
});
