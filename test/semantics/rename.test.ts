/**
 * rename: kernel-reference #41-#46, plus directory rename of lower and merged directories.
 * Deliberate difference (#44): the kernel answers EXDEV for lower/merged directories with
 * redirect_dir off; overlay-fs performs the rename, and the result must be exactly the merged
 * tree moved, with the old lower entries staying hidden at the old name.
 * Node has no renameat2, so RENAME_NOREPLACE/EXCHANGE/WHITEOUT (#43) are not reachable.
 */
import { useLayers, expectCode, sortedNames, type Stack, type StackSpec } from '../helpers/layers';

const layers = useLayers();

describe('#41 renaming a file', () => {
  test('a lower source is copied up under the new name and a whiteout takes the old one', () => {
    const s = layers({ l1: { a: { file: 'A', mode: 0o640, mtime: 1000000000 } } });
    s.fs.renameSync(s.p('a'), s.p('a2'));
    expect(s.fs.readFileSync(s.p('a2'), 'utf8')).toBe('A');
    expectCode(() => s.fs.statSync(s.p('a')), 'ENOENT');
    expect(s.upperTree()).toEqual({ '.wh.a': 'file:', a2: 'file:A' });
    const st = s.fs.statSync(s.p('a2'));
    expect([st.mode & 0o7777, st.mtimeMs]).toEqual([0o640, 1000000000000]);
  });

  test('an upper source that shadows a lower file leaves a whiteout', () => {
    const s = layers({ l1: { s: 'low' }, u: { s: 'up' } });
    s.fs.renameSync(s.p('s'), s.p('s2'));
    expectCode(() => s.fs.statSync(s.p('s')), 'ENOENT');
    expect(s.fs.readFileSync(s.p('s2'), 'utf8')).toBe('up');
    expect(s.upperTree()).toEqual({ '.wh.s': 'file:', s2: 'file:up' });
  });

  test('an upper-only source moves with no whiteout', () => {
    const s = layers({ l1: { other: 'o' }, u: { c: 'c' } });
    s.fs.renameSync(s.p('c'), s.p('c2'));
    expect(s.upperTree()).toEqual({ c2: 'file:c' });
  });

  test('between two lower-only dirs: both parents copied up', () => {
    const s = layers({ l1: { 'ld/inner': 'in', 'ld2/keep': 'k' } });
    s.fs.renameSync(s.p('ld/inner'), s.p('ld2/moved'));
    expect(s.upperTree()).toEqual({ ld: 'dir', 'ld/.wh.inner': 'file:', ld2: 'dir', 'ld2/moved': 'file:in' });
    expect(sortedNames(s.fs, s.p('ld'))).toEqual([]);
    expect(sortedNames(s.fs, s.p('ld2'))).toEqual(['keep', 'moved']);
  });

  test('a lower symlink is renamed as a link, target text unchanged', () => {
    const s = layers({ l1: { t: 'T', 'd/ln': { symlink: '../t' } } });
    s.fs.renameSync(s.p('d/ln'), s.p('d/ln2'));
    expect(s.fs.readlinkSync(s.p('d/ln2'))).toBe('../t');
    expect(s.fs.readFileSync(s.p('d/ln2'), 'utf8')).toBe('T');
    expect(s.upperTree()).toEqual({ d: 'dir', 'd/.wh.ln': 'file:', 'd/ln2': 'symlink:../t' });
  });

  test('rename and back', () => {
    const s = layers({ l1: { f: 'F' } });
    s.fs.renameSync(s.p('f'), s.p('g'));
    s.fs.renameSync(s.p('g'), s.p('f'));
    expect(sortedNames(s.fs, s.m)).toEqual(['f']);
    expect(s.fs.readFileSync(s.p('f'), 'utf8')).toBe('F');
    expect(s.upperTree()).toEqual({ f: 'file:F' });
  });

  test('a lower hardlink renamed keeps the other name intact', () => {
    const s = layers({ l1: { h1: 'h', h2: { hardlink: 'h1' } } });
    s.fs.renameSync(s.p('h1'), s.p('h3'));
    expect(s.fs.readFileSync(s.p('h3'), 'utf8')).toBe('h');
    expect(s.fs.readFileSync(s.p('h2'), 'utf8')).toBe('h');
    expect(sortedNames(s.fs, s.m)).toEqual(['h2', 'h3']);
  });
});

describe('#42 renaming over an existing target', () => {
  test('upper-only source over a lower target: no whiteout needed anywhere', () => {
    const s = layers({ l1: { t: 'low-t' }, u: { o: 'up-o' } });
    s.fs.renameSync(s.p('o'), s.p('t'));
    expect(s.fs.readFileSync(s.p('t'), 'utf8')).toBe('up-o');
    expectCode(() => s.fs.statSync(s.p('o')), 'ENOENT');
    expect(s.upperTree()).toEqual({ t: 'file:up-o' });
  });

  test('lower source over an upper target', () => {
    const s = layers({ l1: { p: 'low-p' }, u: { o: 'up-o' } });
    s.fs.renameSync(s.p('p'), s.p('o'));
    expect(s.fs.readFileSync(s.p('o'), 'utf8')).toBe('low-p');
    expect(s.upperTree()).toEqual({ '.wh.p': 'file:', o: 'file:low-p' });
  });

  test('lower source over a lower target', () => {
    const s = layers({ l1: { p: 'low-p', t: 'low-t' } });
    s.fs.renameSync(s.p('p'), s.p('t'));
    expect(s.fs.readFileSync(s.p('t'), 'utf8')).toBe('low-p');
    expect(sortedNames(s.fs, s.m)).toEqual(['t']);
    expect(s.upperTree()).toEqual({ '.wh.p': 'file:', t: 'file:low-p' });
  });

  test('over a whited-out name: the whiteout is replaced', () => {
    const s = layers({ l1: { w: 'w', c: 'c' } });
    s.fs.unlinkSync(s.p('w'));
    s.fs.renameSync(s.p('c'), s.p('w'));
    expect(s.fs.readFileSync(s.p('w'), 'utf8')).toBe('c');
    expect(s.upperTree()).toEqual({ '.wh.c': 'file:', w: 'file:c' });
  });
});

describe('#43 edge cases', () => {
  test('rename onto itself is OK and changes nothing', () => {
    const s = layers({ l1: { a: 'a' }, u: { b: 'b' } });
    s.fs.renameSync(s.p('a'), s.p('a'));
    s.fs.renameSync(s.p('b'), s.p('b'));
    expect(s.upperTree()).toEqual({ b: 'file:b' });
    expect(sortedNames(s.fs, s.m)).toEqual(['a', 'b']);
  });

  test('rename of a missing or whited-out source is ENOENT and changes nothing', () => {
    const s = layers({ l1: { gone: 'g' }, u: { gone: { whiteout: 'oci' } } });
    expectCode(() => s.fs.renameSync(s.p('nonexist'), s.p('zz')), 'ENOENT');
    expectCode(() => s.fs.renameSync(s.p('gone'), s.p('zz')), 'ENOENT');
    expect(s.upperTree()).toEqual({ '.wh.gone': 'file:' });
  });

  test('renaming two hardlinked names of one upper file onto each other is a no-op', () => {
    const s = layers({ l1: { x: 'x' } });
    s.fs.linkSync(s.p('x'), s.p('y'));
    s.fs.renameSync(s.p('x'), s.p('y'));
    expect(sortedNames(s.fs, s.m)).toEqual(['x', 'y']);
  });
});

/** Merged tree of a directory, plus mode and (non-dir) mtime in µs of every entry (symlinks not followed). */
function richTree(s: Stack, rel: string): Record<string, string> {
  const out: Record<string, string> = {};
  const t = s.mergedTree(rel);
  for (const [k, v] of Object.entries(t)) {
    const st = s.fs.lstatSync(s.p(rel, k), { bigint: true });
    // microseconds: copy-up keeps times to the microsecond, not the nanosecond (documented)
    out[k] = `${v} mode=${(st.mode & 0o7777n).toString(8)}` + (st.isDirectory() ? '' : ` mtime_us=${st.mtimeNs / 1000n}`);
  }
  return out;
}

describe('#44 (deliberate difference) renaming lower and merged directories works', () => {
  const popSpec: StackSpec = {
    l1: {
      ld: { dir: true, mode: 0o750 },
      'ld/g': { file: 'g', mode: 0o600, mtime: 1000000000 },
      'ld/sub/s': 's',
      'ld/sub/deeper/t': 't',
      'ld/sub/ln': { symlink: 'deeper/t' },
      'ld/hidden': 'should stay hidden',
      'ld/gone': 'whited out in l2',
    },
    l2: { 'ld/mid': 'm', 'ld/gone': { whiteout: true } },
    u: { 'ld/up': 'u', 'ld/hidden': { whiteout: 'oci' } },
  };

  test('a merged populated dir renamed in place gives exactly the moved merged tree', () => {
    const s = layers(popSpec);
    const before = richTree(s, 'ld');
    const mode = s.fs.statSync(s.p('ld')).mode;
    expect(Object.keys(before).sort()).toEqual(['g', 'mid', 'sub', 'sub/deeper', 'sub/deeper/t', 'sub/ln', 'sub/s', 'up']);
    s.fs.renameSync(s.p('ld'), s.p('ld_new'));
    expect(richTree(s, 'ld_new')).toEqual(before);
    expect(s.fs.statSync(s.p('ld_new')).mode).toBe(mode);
    expectCode(() => s.fs.statSync(s.p('ld')), 'ENOENT');
    expectCode(() => s.fs.statSync(s.p('ld/g')), 'ENOENT');
    expect(sortedNames(s.fs, s.m)).toEqual(['ld_new']);
    expect(s.hasWhiteout('ld')).toBe(true);
    expect(s.fs.readFileSync(s.p('ld_new/sub/ln'), 'utf8')).toBe('t');
    expectCode(() => s.fs.statSync(s.p('ld_new/hidden')), 'ENOENT');
    expectCode(() => s.fs.statSync(s.p('ld_new/gone')), 'ENOENT');
  });

  test('the old name, re-created, shows none of the old lower entries', () => {
    const s = layers(popSpec);
    s.fs.renameSync(s.p('ld'), s.p('ld_new'));
    s.fs.mkdirSync(s.p('ld'));
    expect(sortedNames(s.fs, s.p('ld'))).toEqual([]);
    expectCode(() => s.fs.statSync(s.p('ld/sub')), 'ENOENT');
    s.fs.mkdirSync(s.p('ld/sub'));
    expect(sortedNames(s.fs, s.p('ld/sub'))).toEqual([]);
  });

  test('a lower-only dir moved into another lower dir', () => {
    const s = layers({ l1: { 'ld/sub/a': 'a', 'ld/sub/b/c': 'c', 'ld/keep': 'k', 'dst/x': 'x' } });
    const before = richTree(s, 'ld/sub');
    s.fs.renameSync(s.p('ld/sub'), s.p('dst/sub2'));
    expect(richTree(s, 'dst/sub2')).toEqual(before);
    expect(sortedNames(s.fs, s.p('ld'))).toEqual(['keep']);
    expect(sortedNames(s.fs, s.p('dst'))).toEqual(['sub2', 'x']);
    expect(s.hasWhiteout('ld/sub')).toBe(true);
  });

  test('a merged dir moved under a different lower parent', () => {
    const s = layers({ l1: { 'mrg/lf': 'l', 'other/o': 'o' }, u: { 'mrg/uf': 'u' } });
    s.fs.renameSync(s.p('mrg'), s.p('other/mv'));
    expect(s.mergedTree('other/mv')).toEqual({ lf: 'file:l', uf: 'file:u' });
    expectCode(() => s.fs.statSync(s.p('mrg')), 'ENOENT');
    expect(sortedNames(s.fs, s.m)).toEqual(['other']);
  });

  test('an empty lower dir', () => {
    const s = layers({ l1: { 'emptyl/': null } });
    s.fs.renameSync(s.p('emptyl'), s.p('emptyl2'));
    expect(sortedNames(s.fs, s.m)).toEqual(['emptyl2']);
    expect(sortedNames(s.fs, s.p('emptyl2'))).toEqual([]);
  });

  test('a dir whose lower part sits under a middle-layer opaque dir keeps the hidden part hidden', () => {
    const s = layers({ l1: { 'od/hidden': 'h' }, l2: { od: { opaque: true }, 'od/vis': 'v' } });
    s.fs.renameSync(s.p('od'), s.p('od2'));
    expect(s.mergedTree('od2')).toEqual({ vis: 'file:v' });
  });

  test('rename there and back, then edit inside', () => {
    const s = layers(popSpec);
    const before = s.mergedTree('ld');
    s.fs.renameSync(s.p('ld'), s.p('tmp'));
    s.fs.renameSync(s.p('tmp'), s.p('ld'));
    expect(s.mergedTree('ld')).toEqual(before);
    expect(sortedNames(s.fs, s.m)).toEqual(['ld']);
    s.fs.unlinkSync(s.p('ld/g'));
    s.fs.writeFileSync(s.p('ld/sub/new'), 'n');
    expect(sortedNames(s.fs, s.p('ld'))).toEqual(['mid', 'sub', 'up']);
    expect(sortedNames(s.fs, s.p('ld/sub'))).toEqual(['deeper', 'ln', 'new', 's']);
  });

  test('the moved tree is writable and deletable like any other', () => {
    const s = layers(popSpec);
    s.fs.renameSync(s.p('ld'), s.p('mv'));
    s.fs.writeFileSync(s.p('mv/g'), 'G2');
    s.fs.unlinkSync(s.p('mv/mid'));
    expect(s.fs.readFileSync(s.p('mv/g'), 'utf8')).toBe('G2');
    s.fs.rmSync(s.p('mv'), { recursive: true });
    expect(sortedNames(s.fs, s.m)).toEqual([]);
  });

  test('a lower dir renamed over an empty lower dir replaces it', () => {
    const s = layers({ l1: { 'ld/a': 'a', 'emptyl/': null } });
    s.fs.renameSync(s.p('ld'), s.p('emptyl'));
    expect(s.mergedTree()).toEqual({ emptyl: 'dir', 'emptyl/a': 'file:a' });
  });

  test('a lower dir renamed over a dir with visible entries is ENOTEMPTY, nothing changed', () => {
    const s = layers({ l1: { 'ld/a': 'a', 'popl/p': 'p' } });
    expectCode(() => s.fs.renameSync(s.p('ld'), s.p('popl')), 'ENOTEMPTY');
    expect(s.upperTree()).toEqual({});
    expect(s.mergedTree()).toEqual({ ld: 'dir', 'ld/a': 'file:a', popl: 'dir', 'popl/p': 'file:p' });
  });

  test('a lower dir renamed over a lower dir emptied through the overlay: old entries stay hidden', () => {
    const s = layers({ l1: { 'ld/a': 'a', 'popl/p': 'p', 'popl/q/r': 'r' } });
    s.fs.rmSync(s.p('popl/p'));
    s.fs.rmSync(s.p('popl/q'), { recursive: true });
    s.fs.renameSync(s.p('ld'), s.p('popl'));
    expect(s.mergedTree()).toEqual({ popl: 'dir', 'popl/a': 'file:a' });
  });

  test('a lower dir into its own subtree is EINVAL', () => {
    const s = layers({ l1: { 'ld/sub/x': 'x' } });
    expectCode(() => s.fs.renameSync(s.p('ld'), s.p('ld/sub/ld')), 'EINVAL');
    expect(s.upperTree()).toEqual({});
  });
});

describe('#45 a pure-upper dir renamed over a lower dir', () => {
  test('over a dir with visible entries: ENOTEMPTY', () => {
    const s = layers({ l1: { 'popl/p': 'p' }, u: { 'ud/x': 'x' } });
    expectCode(() => s.fs.renameSync(s.p('ud'), s.p('popl')), 'ENOTEMPTY');
    expect(s.upperTree()).toEqual({ ud: 'dir', 'ud/x': 'file:x' });
  });

  test('over an empty lower dir: OK', () => {
    const s = layers({ l1: { 'emptyl/': null }, u: { 'ud/x': 'x' } });
    s.fs.renameSync(s.p('ud'), s.p('emptyl'));
    expect(s.mergedTree()).toEqual({ emptyl: 'dir', 'emptyl/x': 'file:x' });
  });

  test('over a lower dir emptied through the overlay: the old lower entries stay hidden', () => {
    const s = layers({ l1: { 'popl/p': 'p' }, u: { 'ue/y': 'y' } });
    s.fs.unlinkSync(s.p('popl/p'));
    s.fs.renameSync(s.p('ue'), s.p('popl'));
    expect(s.mergedTree()).toEqual({ popl: 'dir', 'popl/y': 'file:y' });
    expectCode(() => s.fs.statSync(s.p('popl/p')), 'ENOENT');
  });

  test('over a removed lower dir: its old children stay hidden', () => {
    const s = layers({ l1: { 'pop/b': 'b', 'pop/c/d': 'd' } });
    s.fs.rmSync(s.p('pop'), { recursive: true });
    s.fs.mkdirSync(s.p('new'));
    s.fs.writeFileSync(s.p('new/b2'), 'x');
    s.fs.renameSync(s.p('new'), s.p('pop'));
    expectCode(() => s.fs.statSync(s.p('pop/b')), 'ENOENT');
    expect(s.mergedTree()).toEqual({ pop: 'dir', 'pop/b2': 'file:x' });
  });

  test('a new populated dir over a removed merged dir with the same child names', () => {
    const s = layers({ l1: { 'm1/a': 'low-a', 'm1/b': 'low-b' }, u: { 'm1/c': 'up-c' } });
    s.fs.rmSync(s.p('m1'), { recursive: true });
    s.fs.mkdirSync(s.p('n1'));
    s.fs.writeFileSync(s.p('n1/a'), 'new-a');
    s.fs.renameSync(s.p('n1'), s.p('m1'));
    expect(s.mergedTree()).toEqual({ m1: 'dir', 'm1/a': 'file:new-a' });
  });

  test('over a merged populated dir: ENOTEMPTY', () => {
    const s = layers({ l1: { 'mrg/lf': 'l' }, u: { 'mrg/uf': 'u', 'ue/': null } });
    expectCode(() => s.fs.renameSync(s.p('ue'), s.p('mrg')), 'ENOTEMPTY');
  });

  test('a plain upper dir renamed to a new name moves with no whiteout', () => {
    const s = layers({ l1: { other: 'o' }, u: { 'ud/x': 'x' } });
    s.fs.renameSync(s.p('ud'), s.p('ud2'));
    expect(s.upperTree()).toEqual({ ud2: 'dir', 'ud2/x': 'file:x' });
  });
});

describe('#46 type and ancestry errors (ordinary VFS rules), nothing copied up', () => {
  const spec: StackSpec = { l1: { c: 'c', 'ue/': null, 'x/nested': 'n', f: 'f', 'dd/inner/': null } };

  test.each([
    ['dir onto file', 'ENOTDIR', 'ue', 'c'],
    ['file onto dir', 'EISDIR', 'c', 'ue'],
    ['dir into its own subtree', 'EINVAL', 'dd', 'dd/inner/z'],
    ['file onto its parent dir', 'ENOTEMPTY', 'x/nested', 'x'],
    ['file onto dir/..', 'EBUSY', 'f', 'x/..'],
    ['file onto itself with a trailing slash', 'ENOTDIR', 'c', 'c/'],
    ['file from a trailing-slash source', 'ENOTDIR', 'c/', 'c2'],
    ['missing parent of the target', 'ENOENT', 'c', 'nope/c'],
    ['file parent of the target', 'ENOTDIR', 'c', 'f/c'],
  ])('%s → %s', (_what, code, from, to) => {
    const s = layers(spec);
    const raw = (rel: string) => s.m + '/' + rel; // keep trailing slashes and '..' as written
    expectCode(() => s.fs.renameSync(raw(from), raw(to)), code);
    expect(s.upperTree()).toEqual({});
  });
});
