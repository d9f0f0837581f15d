/**
 * Read-only overlay (no upper): kernel-reference #53. Every change gives EROFS with the
 * kernel's precedence (EEXIST still wins for mkdir of an existing name; EROFS wins over ENOENT
 * for unlink of a missing name). The expected codes of the extra rows were observed on a real
 * read-only overlay mount (lowerdir=l2:l1) with Node 20's fs.
 * Node has no setxattr: #53's `setx` row is replaced by chown (the same "any change" rule).
 */
import * as nodeFs from 'fs';
import { useLayers, expectCode, thrown, sortedNames, type Stack } from '../helpers/layers';

const layers = useLayers();
const C = nodeFs.constants;
const spec = { l1: { a: 'a', 'd/x': 'x', 'e/': null, sl0: { symlink: 'a' } }, l2: { b: 'b' } };

type Row = [string, string, (s: Stack) => unknown];

const rows19: Row[] = [
  ['open a O_WRONLY', 'EROFS', (s) => s.fs.openSync(s.p('a'), C.O_WRONLY)],
  ['open a O_RDWR', 'EROFS', (s) => s.fs.openSync(s.p('a'), C.O_RDWR)],
  ['open a O_RDONLY|O_TRUNC', 'EROFS', (s) => s.fs.openSync(s.p('a'), C.O_RDONLY | C.O_TRUNC)],
  ['open new O_WRONLY|O_CREAT', 'EROFS', (s) => s.fs.openSync(s.p('new'), C.O_WRONLY | C.O_CREAT)],
  ['open a O_RDONLY|O_CREAT', 'OK', (s) => s.fs.closeSync(s.fs.openSync(s.p('a'), C.O_RDONLY | C.O_CREAT))],
  ['open new O_RDONLY|O_CREAT', 'EROFS', (s) => s.fs.openSync(s.p('new'), C.O_RDONLY | C.O_CREAT)],
  ['mkdir nd', 'EROFS', (s) => s.fs.mkdirSync(s.p('nd'))],
  ['mkdir d (exists)', 'EEXIST', (s) => s.fs.mkdirSync(s.p('d'))],
  ['rmdir d', 'EROFS', (s) => s.fs.rmdirSync(s.p('d'))],
  ['unlink a', 'EROFS', (s) => s.fs.unlinkSync(s.p('a'))],
  ['unlink zz (missing)', 'EROFS', (s) => s.fs.unlinkSync(s.p('zz'))],
  ['rename a a2', 'EROFS', (s) => s.fs.renameSync(s.p('a'), s.p('a2'))],
  ['chmod a', 'EROFS', (s) => s.fs.chmodSync(s.p('a'), 0o600)],
  ['utimes a', 'EROFS', (s) => s.fs.utimesSync(s.p('a'), 1, 1)],
  ['truncate a', 'EROFS', (s) => s.fs.truncateSync(s.p('a'), 0)],
  ['link a a3', 'EROFS', (s) => s.fs.linkSync(s.p('a'), s.p('a3'))],
  ['symlink x sl', 'EROFS', (s) => s.fs.symlinkSync('x', s.p('sl'))],
  ['chown a (for setxattr)', 'EROFS', (s) => s.fs.chownSync(s.p('a'), 1, 1)],
  ['access a W_OK', 'EROFS', (s) => s.fs.accessSync(s.p('a'), C.W_OK)],
];

const extraRows: Row[] = [
  ['rmdir of an empty dir', 'EROFS', (s) => s.fs.rmdirSync(s.p('e'))],
  ['rmdir of a missing name', 'EROFS', (s) => s.fs.rmdirSync(s.p('zz'))],
  ['unlink under a missing parent', 'ENOENT', (s) => s.fs.unlinkSync(s.p('nope/zz'))],
  ['rename of a missing source', 'EROFS', (s) => s.fs.renameSync(s.p('zz'), s.p('a2'))],
  ['chmod of a missing name', 'ENOENT', (s) => s.fs.chmodSync(s.p('zz'), 0o600)],
  ['lchown of a symlink', 'EROFS', (s) => s.fs.lchownSync(s.p('sl0'), 1, 1)],
  ['lutimes of a symlink', 'EROFS', (s) => s.fs.lutimesSync(s.p('sl0'), 1, 1)],
  ['link onto an existing name', 'EEXIST', (s) => s.fs.linkSync(s.p('a'), s.p('b'))],
  ['symlink onto an existing name', 'EEXIST', (s) => s.fs.symlinkSync('x', s.p('a'))],
  ['open wx of an existing file', 'EEXIST', (s) => s.fs.openSync(s.p('a'), 'wx')],
  ['open O_WRONLY of a missing file', 'ENOENT', (s) => s.fs.openSync(s.p('zz'), C.O_WRONLY)],
  ['open a directory O_WRONLY', 'EISDIR', (s) => s.fs.openSync(s.p('d'), C.O_WRONLY)],
  ['mkdir through a file', 'ENOTDIR', (s) => s.fs.mkdirSync(s.p('a/x'))],
  ['writeFile', 'EROFS', (s) => s.fs.writeFileSync(s.p('a'), 'z')],
  ['appendFile', 'EROFS', (s) => s.fs.appendFileSync(s.p('a'), 'z')],
  ['copyFile', 'EROFS', (s) => s.fs.copyFileSync(s.p('a'), s.p('c'))],
  ['mkdtemp', 'EROFS', (s) => s.fs.mkdtempSync(s.p('t-'))],
  ['rm -r', 'EROFS', (s) => s.fs.rmSync(s.p('d'), { recursive: true })],
  ['fchmod on a read-only fd', 'EROFS', (s) => withFd(s, (fd) => s.fs.fchmodSync(fd, 0o600))],
  ['futimes on a read-only fd', 'EROFS', (s) => withFd(s, (fd) => s.fs.futimesSync(fd, 1, 1))],
  ['fchown on a read-only fd', 'EROFS', (s) => withFd(s, (fd) => s.fs.fchownSync(fd, 1, 1))],
  ['access R_OK', 'OK', (s) => s.fs.accessSync(s.p('a'), C.R_OK)],
  ['mkdir -p of an existing dir', 'OK', (s) => s.fs.mkdirSync(s.p('d'), { recursive: true })],
];

function withFd(s: Stack, fn: (fd: number) => void): void {
  const fd = s.fs.openSync(s.p('a'), 'r');
  try {
    fn(fd);
  } finally {
    s.fs.closeSync(fd);
  }
}

function check(row: Row): void {
  const [, code, op] = row;
  const s = layers(spec, { readonly: true });
  if (code === 'OK') op(s);
  else expectCode(() => op(s), code);
  // nothing changed in the merged view either
  expect(s.mergedTree()).toEqual({ a: 'file:a', b: 'file:b', d: 'dir', 'd/x': 'file:x', e: 'dir', sl0: 'symlink:a' });
}

describe('#53 the 19 operations of the reference', () => {
  test.each(rows19)('%s → %s', (...row) => check(row as Row));
});

describe('#53 more operations, codes observed on a real read-only mount', () => {
  test.each(extraRows)('%s → %s', (...row) => check(row as Row));
});

describe('read-only overlay basics', () => {
  test('reads and listings work; ov.upper and ov.workdir are null', () => {
    const s = layers(spec, { readonly: true });
    expect(s.ov.upper).toBeNull();
    expect(s.ov.workdir).toBeNull();
    expect(s.fs.readFileSync(s.p('a'), 'utf8')).toBe('a');
    expect(sortedNames(s.fs, s.m)).toEqual(['a', 'b', 'd', 'e', 'sl0']);
    expect(s.fs.readFileSync(s.p('sl0'), 'utf8')).toBe('a');
    expect(s.fs.statSync(s.p('d')).isDirectory()).toBe(true);
  });

  test('promise and callback forms reject with EROFS too', async () => {
    const s = layers(spec, { readonly: true });
    await expect(s.fs.promises.writeFile(s.p('n'), 'x')).rejects.toMatchObject({ code: 'EROFS' });
    await expect(s.fs.promises.unlink(s.p('a'))).rejects.toMatchObject({ code: 'EROFS' });
    const e = await new Promise<NodeJS.ErrnoException | null>((res) => s.fs.mkdir(s.p('nd'), (err) => res(err)));
    expect(e).toMatchObject({ code: 'EROFS' });
    const fh = await s.fs.promises.open(s.p('a'), 'r');
    try {
      await expect(fh.chmod(0o600)).rejects.toMatchObject({ code: 'EROFS' });
    } finally {
      await fh.close();
    }
  });

  test('EROFS errors carry the merged path', () => {
    const s = layers(spec, { readonly: true });
    const e = thrown(() => s.fs.unlinkSync(s.p('a')));
    expect(e.code).toBe('EROFS');
    expect(e.path).toBe(s.p('a'));
    expect(e.message).toContain(s.p('a'));
  });

  test('a single lower layer without an upper is a valid read-only overlay', () => {
    const s = layers({ l1: { f: 'one' } }, { readonly: true });
    expect(s.fs.readFileSync(s.p('f'), 'utf8')).toBe('one');
    expectCode(() => s.fs.writeFileSync(s.p('f'), 'x'), 'EROFS');
  });
});
