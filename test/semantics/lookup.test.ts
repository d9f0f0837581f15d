/**
 * Lookup: kernel-reference #1-#6 (stacking, directory-only merging, files over directories and
 * directories over files, merged-directory attributes, path-walk errors).
 * Layer names: l1 is the bottom lower, l2 above it, u the upper (see test/helpers/layers.ts).
 */
import * as path from 'path';
import { useLayers, expectCode, sortedNames } from '../helpers/layers';

const layers = useLayers();

describe('#1 stacking: the highest positive layer wins', () => {
  test('upper beats every lower', () => {
    const s = layers({ l1: { 'c.txt': 'l1' }, l2: { 'c.txt': 'l2' }, u: { 'c.txt': 'u' } });
    expect(s.fs.readFileSync(s.p('c.txt'), 'utf8')).toBe('u');
  });

  test('without an upper entry the leftmost (highest) lower wins', () => {
    const s = layers({ l1: { 'c.txt': 'l1' }, l2: { 'c.txt': 'l2' } });
    expect(s.fs.readFileSync(s.p('c.txt'), 'utf8')).toBe('l2');
  });

  test('three lowers: order is lower[0] (top) ... lower[n-1] (bottom)', () => {
    const s = layers({ l1: { a: 'l1', b: 'l1', c: 'l1' }, l2: { a: 'l2', b: 'l2' }, l3: { a: 'l3' } });
    expect(s.ov.lower).toEqual([s.real('l3'), s.real('l2'), s.real('l1')]);
    expect(s.fs.readFileSync(s.p('a'), 'utf8')).toBe('l3');
    expect(s.fs.readFileSync(s.p('b'), 'utf8')).toBe('l2');
    expect(s.fs.readFileSync(s.p('c'), 'utf8')).toBe('l1');
  });

  test('a name present only in the bottom layer is found', () => {
    const s = layers({ l1: { 'deep/er/f': 'bottom' }, l2: { other: 'x' }, u: { more: 'y' } });
    expect(s.fs.readFileSync(s.p('deep/er/f'), 'utf8')).toBe('bottom');
  });

  test('a whiteout is not positive: the name is missing, not served from below', () => {
    const s = layers({ l1: { a: 'l1' }, l2: { a: { whiteout: true } } });
    expectCode(() => s.fs.statSync(s.p('a')), 'ENOENT');
    expectCode(() => s.fs.readFileSync(s.p('a')), 'ENOENT');
  });

  test('which() reports the serving layer and the shadowed entries, top first', () => {
    const s = layers({ l1: { 'c.txt': 'l1' }, l2: { 'c.txt': 'l2' }, u: { 'c.txt': 'u' } });
    const w = s.ov.which(s.p('c.txt'));
    expect(w).not.toBeNull();
    expect(w!.path).toBe(s.p('c.txt'));
    expect(w!.layer.role).toBe('upper');
    expect(w!.layer.index).toBe(0);
    expect(w!.realPath).toBe(s.real('u', 'c.txt'));
    expect(w!.type).toBe('file');
    expect(w!.layers.map((e) => e.realPath)).toEqual([
      s.real('u', 'c.txt'),
      s.real('l2', 'c.txt'),
      s.real('l1', 'c.txt'),
    ]);
    expect(w!.layers.map((e) => e.layer.role)).toEqual(['upper', 'lower', 'lower']);
  });

  test('which() of a lower-only entry and of a missing name', () => {
    const s = layers({ l1: { 'd/f': 'x' }, l2: { g: { symlink: 'd/f' } } });
    const w = s.ov.which(s.p('d/f'));
    expect(w!.layer.role).toBe('lower');
    expect(w!.layer.root).toBe(s.real('l1'));
    expect(w!.layer.index).toBe(2); // upper 0, l2 1, l1 2
    const g = s.ov.which(s.p('g'));
    expect(g!.type).toBe('symlink'); // symlinks not followed
    expect(g!.realPath).toBe(s.real('l2', 'g'));
    expect(s.ov.which(s.p('nope'))).toBeNull();
    expect(s.ov.which(s.p('d/nope'))).toBeNull();
  });
});

describe('#2 only directories merge', () => {
  test('same-named directories in u, l2 and l1 merge', () => {
    const s = layers({ l1: { 'C/c1': '1' }, l2: { 'C/c2': '2' }, u: { 'C/cu': 'u' } });
    expect(sortedNames(s.fs, s.p('C'))).toEqual(['c1', 'c2', 'cu']);
    expect(s.fs.readFileSync(s.p('C/c1'), 'utf8')).toBe('1');
    expect(s.fs.readFileSync(s.p('C/c2'), 'utf8')).toBe('2');
    expect(s.fs.readFileSync(s.p('C/cu'), 'utf8')).toBe('u');
    const w = s.ov.which(s.p('C'));
    expect(w!.type).toBe('directory');
    expect(w!.layers.map((e) => e.realPath)).toEqual([s.real('u', 'C'), s.real('l2', 'C'), s.real('l1', 'C')]);
  });

  test('a file in a middle layer cuts the merge off: the directory below is ignored', () => {
    const s = layers({ l1: { 'D/d1': '1' }, l2: { D: 'file-in-l2' }, u: { 'D/du': 'u' } });
    expect(s.fs.statSync(s.p('D')).isDirectory()).toBe(true);
    expect(sortedNames(s.fs, s.p('D'))).toEqual(['du']);
    expectCode(() => s.fs.statSync(s.p('D/d1')), 'ENOENT');
    expect(s.ov.which(s.p('D'))!.layers.map((e) => e.realPath)).toEqual([s.real('u', 'D')]);
  });

  test('nested directories merge at every level', () => {
    const s = layers({ l1: { 'a/b/c/low': 'l' }, l2: { 'a/b/mid': 'm' }, u: { 'a/b/c/up': 'u' } });
    expect(sortedNames(s.fs, s.p('a/b'))).toEqual(['c', 'mid']);
    expect(sortedNames(s.fs, s.p('a/b/c'))).toEqual(['low', 'up']);
  });
});

describe('#3 a non-directory above a directory hides the whole subtree', () => {
  test('upper file over lower dir: read gives the file, paths through it ENOTDIR', () => {
    const s = layers({ l1: { 'A/f': 'inner' }, u: { A: 'fileA' } });
    expect(s.fs.readFileSync(s.p('A'), 'utf8')).toBe('fileA');
    expect(s.fs.statSync(s.p('A')).isFile()).toBe(true);
    expectCode(() => s.fs.readFileSync(s.p('A/f')), 'ENOTDIR');
    expectCode(() => s.fs.statSync(s.p('A/f')), 'ENOTDIR');
    expectCode(() => s.fs.readdirSync(s.p('A')), 'ENOTDIR');
  });

  test('unlinking the file leaves a whiteout and the lower directory stays hidden', () => {
    const s = layers({ l1: { 'A/f': 'inner' }, u: { A: 'fileA' } });
    s.fs.unlinkSync(s.p('A'));
    expectCode(() => s.fs.statSync(s.p('A')), 'ENOENT');
    expectCode(() => s.fs.statSync(s.p('A/f')), 'ENOENT');
    expect(sortedNames(s.fs, s.m)).toEqual([]);
    expect(s.upperTree()).toEqual({ '.wh.A': 'file:' });
  });

  test('a lower symlink over a lower directory also ends the merge', () => {
    const s = layers({ l1: { 'S/f': 'inner', t: 'target' }, l2: { S: { symlink: 't' } } });
    expect(s.fs.lstatSync(s.p('S')).isSymbolicLink()).toBe(true);
    expect(s.fs.readFileSync(s.p('S'), 'utf8')).toBe('target');
    expectCode(() => s.fs.statSync(s.p('S/f')), 'ENOTDIR');
  });
});

describe('#4 a directory above a file is shown unmerged', () => {
  test('upper dir over lower file lists only its own entries; rmdir needs it empty', () => {
    const s = layers({ l1: { B: 'lowerfile' }, u: { 'B/g': 'g' } });
    expect(s.fs.statSync(s.p('B')).isDirectory()).toBe(true);
    expect(sortedNames(s.fs, s.p('B'))).toEqual(['g']);
    expectCode(() => s.fs.rmdirSync(s.p('B')), 'ENOTEMPTY');
  });

  test('removing it leaves a whiteout because a lower file sits under the name', () => {
    const s = layers({ l1: { B: 'lowerfile' }, u: { 'B/g': 'g' } });
    s.fs.unlinkSync(s.p('B/g'));
    s.fs.rmdirSync(s.p('B'));
    expectCode(() => s.fs.statSync(s.p('B')), 'ENOENT');
    expectCode(() => s.fs.readFileSync(s.p('B')), 'ENOENT');
    expect(s.upperTree()).toEqual({ '.wh.B': 'file:' });
  });

  test('the same holds between two lowers, without an upper', () => {
    const s = layers({ l1: { F: 'lowerfile' }, l2: { 'F/f2': 'f2' } }, { readonly: true });
    expect(s.fs.statSync(s.p('F')).isDirectory()).toBe(true);
    expect(sortedNames(s.fs, s.p('F'))).toEqual(['f2']);
    expect(s.ov.which(s.p('F'))!.layers.map((e) => e.realPath)).toEqual([s.real('l2', 'F')]);
  });
});

describe('#5 a merged directory shows its topmost member attributes only', () => {
  test('mode, owner and mtime come from the upper member', () => {
    const s = layers({
      l1: { d: { dir: true, mode: 0o755, uid: 11, gid: 12, mtime: 1000000000 }, 'd/a': 'a' },
      l2: { d: { dir: true, mode: 0o750, uid: 21, gid: 22, mtime: 1100000000 }, 'd/b': 'b' },
      u: { d: { dir: true, mode: 0o711, uid: 31, gid: 32, mtime: 1200000000 }, 'd/c': 'c' },
    });
    const st = s.fs.statSync(s.p('d'));
    expect(st.mode & 0o7777).toBe(0o711);
    expect([st.uid, st.gid]).toEqual([31, 32]);
    expect(st.mtimeMs).toBe(1200000000 * 1000);
  });

  test('without an upper member the highest lower member provides them', () => {
    const s = layers({
      l1: { d: { dir: true, mode: 0o755, uid: 11, gid: 12, mtime: 1000000000 }, 'd/a': 'a' },
      l2: { d: { dir: true, mode: 0o700, uid: 21, gid: 22, mtime: 1100000000 }, 'd/b': 'b' },
    });
    const st = s.fs.statSync(s.p('d'));
    expect(st.mode & 0o7777).toBe(0o700);
    expect([st.uid, st.gid]).toEqual([21, 22]);
    expect(st.mtimeMs).toBe(1100000000 * 1000);
  });

  test('a merged dir reports nlink 1; a single-layer dir its real nlink', () => {
    const s = layers({ l1: { 'mrg/x/': null, 'only/s1/': null, 'only/s2/': null }, u: { 'mrg/y/': null } });
    expect(s.fs.statSync(s.p('mrg')).nlink).toBe(1);
    expect(s.fs.statSync(s.p('only')).nlink).toBe(4); // ., .., s1, s2 -> 2 + 2 subdirs
  });
});

describe('#6 path-walk errors', () => {
  test('trailing slash on a non-directory: ENOTDIR for every operation', () => {
    const s = layers({ l1: { a: 'a' } });
    expectCode(() => s.fs.rmdirSync(s.p('a')), 'ENOTDIR');
    expectCode(() => s.fs.rmdirSync(s.p('a') + '/'), 'ENOTDIR');
    expectCode(() => s.fs.unlinkSync(s.p('a') + '/'), 'ENOTDIR');
    expectCode(() => s.fs.statSync(s.p('a') + '/'), 'ENOTDIR');
    expectCode(() => s.fs.lstatSync(s.p('a') + '/'), 'ENOTDIR');
    expectCode(() => s.fs.openSync(s.p('a') + '/', 'r'), 'ENOTDIR');
    expectCode(() => s.fs.readFileSync(s.p('a') + '/'), 'ENOTDIR');
    expect(s.upperTree()).toEqual({});
  });

  test('missing parent ENOENT, non-directory parent ENOTDIR', () => {
    const s = layers({ l1: { f: 'f' } });
    expectCode(() => s.fs.mkdirSync(s.p('nope/sub')), 'ENOENT');
    expectCode(() => s.fs.mkdirSync(s.p('f/sub')), 'ENOTDIR');
    expectCode(() => s.fs.writeFileSync(s.p('nope/new'), 'x'), 'ENOENT');
    expectCode(() => s.fs.writeFileSync(s.p('f/new'), 'x'), 'ENOTDIR');
    expectCode(() => s.fs.readdirSync(s.p('f')), 'ENOTDIR');
    expect(s.upperTree()).toEqual({});
  });

  test('a whited-out parent gives ENOENT, in the upper and in a middle layer', () => {
    const s = layers({
      l1: { 'wd/f': 'f', 'wd2/g': 'g' },
      l2: { wd: { whiteout: true } },
      u: { wd2: { whiteout: 'oci' } },
    });
    expectCode(() => s.fs.statSync(s.p('wd/f')), 'ENOENT');
    expectCode(() => s.fs.statSync(s.p('wd2/g')), 'ENOENT');
    expectCode(() => s.fs.writeFileSync(s.p('wd/new'), 'x'), 'ENOENT');
    expectCode(() => s.fs.mkdirSync(s.p('wd2/new')), 'ENOENT');
  });

  test('dot-dot inside the merged view walks the merged namespace', () => {
    const s = layers({ l1: { 'd/x': 'x', top: 'T' }, u: { 'e/y': 'y' } });
    expect(s.fs.readFileSync(s.p('d') + '/../top', 'utf8')).toBe('T');
    expect(s.fs.readFileSync(s.p('e') + '/../d/x', 'utf8')).toBe('x');
    expect(s.fs.readFileSync(s.p('d') + '/./x', 'utf8')).toBe('x');
    expect(sortedNames(s.fs, s.p('d') + '/..')).toEqual(['d', 'e', 'top']);
  });

  test('the mountpoint itself is the merged root', () => {
    const s = layers({ l1: { a: 'a' }, u: { b: 'b' } });
    expect(s.fs.statSync(s.m).isDirectory()).toBe(true);
    expect(s.fs.existsSync(s.m)).toBe(true);
    expect(sortedNames(s.fs, s.m)).toEqual(['a', 'b']);
    expect(sortedNames(s.fs, s.m + '/')).toEqual(['a', 'b']);
  });

  test('paths outside the mountpoint pass through untouched', () => {
    const s = layers({ l1: { a: 'a' } });
    const outside = path.join(s.root, 'outside.txt');
    s.fs.writeFileSync(outside, 'real');
    expect(s.fs.readFileSync(outside, 'utf8')).toBe('real');
    // a sibling whose name merely starts with the mountpoint's name is not under it
    const sibling = s.m + '2';
    s.fs.mkdirSync(sibling);
    expect(sortedNames(s.fs, sibling)).toEqual([]);
    expect(s.upperTree()).toEqual({});
    s.fs.rmdirSync(sibling);
  });
});
