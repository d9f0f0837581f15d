/**
 * Copy-up: kernel-reference #31-#34, #37, #38. Every trigger and non-trigger is checked by
 * looking at the raw upper directory. Preservation: data, type, mode, uid/gid, atime/mtime to
 * the microsecond (overlay-semantics.md: microseconds, not nanoseconds), parents first with
 * their own mode/owner/mtime. Descriptors and FileHandles opened read-only on a lower file must
 * never change that file (the lower-layer checksum check runs after every test).
 */
import { useLayers, expectCode, expectRejectCode, micros, sortedNames, type StackSpec } from '../helpers/layers';
import * as nodeFs from 'fs';

const layers = useLayers();
const C = nodeFs.constants;

/** The kernel-reference `cuprep` fixture. */
const F_ATIME = '@1111111111.654321987';
const F_MTIME = '@1222222222.123456789';
const cuprep: StackSpec = {
  l1: {
    p: { dir: true, mode: 0o700, uid: 1234, gid: 2345, mtime: 1100000000, atime: 1100000000 },
    'p/q': { dir: true, mode: 0o751, uid: 1234, gid: 2345, mtime: 1000000000, atime: 1000000000 },
    'p/q/f': { file: '0123456789', mode: 0o640, uid: 1234, gid: 2345, atime: F_ATIME, mtime: F_MTIME },
    'p/q/other': 'other',
  },
};
const COPIED = ['p/', 'p/q/', 'p/q/f'];

describe('#31 copy-up triggers (each on a fresh overlay)', () => {
  const triggers: Array<[string, (s: ReturnType<typeof layers>, f: string) => void | Promise<void>]> = [
    ['open O_WRONLY', (s, f) => s.fs.closeSync(s.fs.openSync(f, C.O_WRONLY))],
    ['open O_RDWR', (s, f) => s.fs.closeSync(s.fs.openSync(f, C.O_RDWR))],
    ['open O_WRONLY|O_APPEND', (s, f) => s.fs.closeSync(s.fs.openSync(f, C.O_WRONLY | C.O_APPEND))],
    ["open 'r+'", (s, f) => s.fs.closeSync(s.fs.openSync(f, 'r+'))],
    ["open 'a'", (s, f) => s.fs.closeSync(s.fs.openSync(f, 'a'))],
    ['open O_RDONLY|O_TRUNC', (s, f) => s.fs.closeSync(s.fs.openSync(f, C.O_RDONLY | C.O_TRUNC))],
    ['truncate', (s, f) => s.fs.truncateSync(f, 3)],
    ['chmod', (s, f) => s.fs.chmodSync(f, 0o600)],
    ['chown', (s, f) => s.fs.chownSync(f, 55, 66)],
    ['lchown', (s, f) => s.fs.lchownSync(f, 55, 66)],
    ['utimes', (s, f) => s.fs.utimesSync(f, 1000, 2000)],
    ['lutimes', (s, f) => s.fs.lutimesSync(f, 1000, 2000)],
    ['appendFile', (s, f) => s.fs.appendFileSync(f, '+')],
    ['writeFile', (s, f) => s.fs.writeFileSync(f, 'new')],
    ['promises.open r+', async (s, f) => (await s.fs.promises.open(f, 'r+')).close()],
    ['promises.chmod', (s, f) => s.fs.promises.chmod(f, 0o600)],
    ['createWriteStream r+', (s, f) =>
      new Promise<void>((res, rej) => {
        const ws = s.fs.createWriteStream(f, { flags: 'r+' });
        ws.on('error', rej);
        ws.end('AB', () => res());
      })],
  ];

  test.each(triggers)('%s copies up the file and its parent chain', async (_name, op) => {
    const s = layers(cuprep);
    await op(s, s.p('p/q/f'));
    expect(s.upperNames()).toEqual(COPIED);
  });

  test('link copies up the source (and makes a real upper link)', () => {
    const s = layers(cuprep);
    s.fs.linkSync(s.p('p/q/f'), s.p('p/q/f2'));
    expect(s.upperNames()).toEqual(['p/', 'p/q/', 'p/q/f', 'p/q/f2']);
    expect(s.upperStat('p/q/f')!.ino).toBe(s.upperStat('p/q/f2')!.ino);
  });

  test('rename copies up the source under the new name', () => {
    const s = layers(cuprep);
    s.fs.renameSync(s.p('p/q/f'), s.p('p/q/g'));
    expect(s.upperNames()).toEqual(['p/', 'p/q/', 'p/q/.wh.f', 'p/q/g']);
    expect(s.fs.readFileSync(s.p('p/q/g'), 'utf8')).toBe('0123456789');
  });

  test('creating an entry copies up the parent chain only', () => {
    const s = layers(cuprep);
    s.fs.writeFileSync(s.p('p/q/new'), 'n');
    expect(s.upperNames()).toEqual(['p/', 'p/q/', 'p/q/new']);
    s.fs.mkdirSync(s.p('p/q/nd'));
    expect(s.upperNames()).toEqual(['p/', 'p/q/', 'p/q/nd/', 'p/q/new']);
  });

  test('chmod / utimes / chown of a directory copy up that directory only', () => {
    for (const op of ['chmod', 'utimes', 'chown'] as const) {
      const s = layers(cuprep);
      if (op === 'chmod') s.fs.chmodSync(s.p('p/q'), 0o700);
      if (op === 'utimes') s.fs.utimesSync(s.p('p/q'), 1234567890, 1234567890);
      if (op === 'chown') s.fs.chownSync(s.p('p/q'), 1, 1);
      expect({ op, names: s.upperNames() }).toEqual({ op, names: ['p/', 'p/q/'] });
      expect(sortedNames(s.fs, s.p('p/q'))).toEqual(['f', 'other']);
    }
  });

  test('the change lands on the upper copy and is what the merged view shows', () => {
    const s = layers(cuprep);
    s.fs.chmodSync(s.p('p/q/f'), 0o604);
    s.fs.chownSync(s.p('p/q/f'), 55, 66);
    s.fs.utimesSync(s.p('p/q/f'), 1000, 2000);
    const st = s.fs.statSync(s.p('p/q/f'));
    expect([st.mode & 0o7777, st.uid, st.gid, st.atimeMs, st.mtimeMs]).toEqual([0o604, 55, 66, 1000000, 2000000]);
    const u = s.upperStat('p/q/f')!;
    expect([Number(u.mode & 0o7777n), Number(u.uid), Number(u.gid)]).toEqual([0o604, 55, 66]);
  });

  test('truncate keeps the head and zero-fills when growing', () => {
    const s = layers({ l1: { f: 'abcdef', g: 'xy' } });
    s.fs.truncateSync(s.p('f'), 3);
    s.fs.truncateSync(s.p('g'), 5);
    expect(s.fs.readFileSync(s.p('f'), 'utf8')).toBe('abc');
    expect(s.fs.readFileSync(s.p('g'))).toEqual(Buffer.from([0x78, 0x79, 0, 0, 0]));
    expect(s.upperTree()).toEqual({ f: 'file:abc', g: 'file:xy\u0000\u0000\u0000' });
  });

  test('writes through an fd land in the upper, the lower keeps its data', () => {
    const s = layers({ l1: { d: null, 'd/f': 'original' } });
    const fd = s.fs.openSync(s.p('d/f'), 'r+');
    s.fs.writeSync(fd, 'NEW');
    s.fs.closeSync(fd);
    expect(s.fs.readFileSync(s.p('d/f'), 'utf8')).toBe('NEWginal');
    expect(s.upperTree()).toEqual({ d: 'dir', 'd/f': 'file:NEWginal' });
  });

  test('chmod of a lower FIFO copies it up as a FIFO (#59)', () => {
    const s = layers({ l1: { fifo: { fifo: true, mode: 0o644 } } });
    s.fs.chmodSync(s.p('fifo'), 0o600);
    expect(s.upperTree()).toEqual({ fifo: 'fifo' });
    expect(Number(s.upperStat('fifo')!.mode & 0o7777n)).toBe(0o600);
  });
});

describe('#31 non-triggers: the upper stays empty', () => {
  const nonTriggers: Array<[string, (s: ReturnType<typeof layers>) => unknown]> = [
    ['open O_RDONLY', (s) => s.fs.closeSync(s.fs.openSync(s.p('p/q/f'), C.O_RDONLY))],
    ['open O_RDONLY|O_CREAT of an existing file', (s) => s.fs.closeSync(s.fs.openSync(s.p('p/q/f'), C.O_RDONLY | C.O_CREAT))],
    ['open O_RDONLY|O_APPEND', (s) => s.fs.closeSync(s.fs.openSync(s.p('p/q/f'), C.O_RDONLY | C.O_APPEND))],
    ['readFile', (s) => s.fs.readFileSync(s.p('p/q/f'))],
    ['read through an fd', (s) => {
      const fd = s.fs.openSync(s.p('p/q/f'), 'r');
      s.fs.readSync(fd, Buffer.alloc(4), 0, 4, 2);
      s.fs.fstatSync(fd);
      s.fs.closeSync(fd);
    }],
    ['stat / lstat / exists', (s) => [s.fs.statSync(s.p('p/q/f')), s.fs.lstatSync(s.p('p/q')), s.fs.existsSync(s.p('p/q/f'))]],
    ['access R_OK and W_OK (root)', (s) => {
      s.fs.accessSync(s.p('p/q/f'), C.R_OK);
      s.fs.accessSync(s.p('p/q/f'), C.W_OK);
      s.fs.accessSync(s.p('p/q'), C.W_OK | C.X_OK);
    }],
    ['readlink / realpath', (s) => [s.fs.readlinkSync(s.p('p/q/ln')), s.fs.realpathSync(s.p('p/q/ln'))]],
    ['readdir / opendir', (s) => {
      s.fs.readdirSync(s.p('p/q'));
      s.fs.opendirSync(s.p('p')).closeSync();
    }],
    ['createReadStream', (s) =>
      new Promise<void>((res, rej) => {
        const rs = s.fs.createReadStream(s.p('p/q/f'));
        rs.on('error', rej).on('close', () => res());
        rs.resume();
      })],
    ['promises readFile / stat / FileHandle read', async (s) => {
      await s.fs.promises.readFile(s.p('p/q/f'));
      await s.fs.promises.stat(s.p('p/q'));
      const fh = await s.fs.promises.open(s.p('p/q/f'), 'r');
      await fh.read(Buffer.alloc(3), 0, 3, 0);
      await fh.stat();
      await fh.close();
    }],
    ['open a FIFO for writing', (s) => s.fs.closeSync(s.fs.openSync(s.p('fifo'), C.O_RDWR))],
  ];
  const spec: StackSpec = { l1: { ...cuprep.l1, 'p/q/ln': { symlink: 'f' }, fifo: { fifo: true } } };

  test.each(nonTriggers)('%s', async (_name, op) => {
    const s = layers(spec);
    await op(s);
    expect(s.upperTree()).toEqual({});
  });

  const refused: Array<[string, string, (s: ReturnType<typeof layers>) => unknown]> = [
    ['open O_CREAT|O_EXCL of an existing file', 'EEXIST', (s) => s.fs.openSync(s.p('p/q/f'), 'wx')],
    ['open O_TRUNC of a missing file', 'ENOENT', (s) => s.fs.openSync(s.p('p/q/nope'), C.O_RDONLY | C.O_TRUNC)],
    ['mkdir of an existing name', 'EEXIST', (s) => s.fs.mkdirSync(s.p('p/q/f'))],
    ['rmdir of a non-empty dir', 'ENOTEMPTY', (s) => s.fs.rmdirSync(s.p('p/q'))],
    ['unlink of a missing name', 'ENOENT', (s) => s.fs.unlinkSync(s.p('p/q/nope'))],
    ['rename of a missing source', 'ENOENT', (s) => s.fs.renameSync(s.p('p/q/nope'), s.p('p/q/zz'))],
    ['link onto an existing name', 'EEXIST', (s) => s.fs.linkSync(s.p('p/q/f'), s.p('p/q/other'))],
    ['link of a directory', 'EPERM', (s) => s.fs.linkSync(s.p('p/q'), s.p('p/q2'))],
    ['symlink onto an existing name', 'EEXIST', (s) => s.fs.symlinkSync('x', s.p('p/q/f'))],
    ['open a directory for writing', 'EISDIR', (s) => s.fs.openSync(s.p('p/q'), 'r+')],
    ['truncate a directory', 'EISDIR', (s) => s.fs.truncateSync(s.p('p/q'), 0)],
    ['chmod of a missing name', 'ENOENT', (s) => s.fs.chmodSync(s.p('p/q/nope'), 0o600)],
    ['utimes through a file', 'ENOTDIR', (s) => s.fs.utimesSync(s.p('p/q/f/x'), 1, 1)],
    ['ftruncate on a read-only fd', 'EINVAL', (s) => {
      const fd = s.fs.openSync(s.p('p/q/f'), 'r');
      try {
        s.fs.ftruncateSync(fd, 0);
      } finally {
        s.fs.closeSync(fd);
      }
    }],
  ];

  test.each(refused)('refused: %s (%s) copies nothing up', (_name, code, op) => {
    const s = layers(spec);
    expectCode(() => op(s), code);
    expect(s.upperTree()).toEqual({});
  });

  test('rename onto itself changes nothing (#43)', () => {
    const s = layers(spec);
    s.fs.renameSync(s.p('p/q/f'), s.p('p/q/f'));
    expect(s.upperTree()).toEqual({});
    expect(s.fs.readFileSync(s.p('p/q/f'), 'utf8')).toBe('0123456789');
  });
});

describe('#32 copy-up happens at open time', () => {
  test('a file opened for writing but never written keeps the lower size and mtime', () => {
    const s = layers(cuprep);
    s.fs.closeSync(s.fs.openSync(s.p('p/q/f'), C.O_WRONLY));
    const u = s.upperStat('p/q/f')!;
    expect(u.size).toBe(10n);
    expect(micros(u.mtimeNs)).toBe(1222222222123456n);
  });

  test('the copy exists in the upper before anything is written', () => {
    const s = layers(cuprep);
    const fd = s.fs.openSync(s.p('p/q/f'), C.O_WRONLY);
    try {
      expect(s.upperNames()).toEqual(COPIED);
      expect(s.upperTree()['p/q/f']).toBe('file:0123456789');
    } finally {
      s.fs.closeSync(fd);
    }
  });

  test('O_RDONLY|O_TRUNC truncates: size 0 with a new mtime', () => {
    const s = layers(cuprep);
    const before = Date.now();
    s.fs.closeSync(s.fs.openSync(s.p('p/q/f'), C.O_RDONLY | C.O_TRUNC));
    const u = s.upperStat('p/q/f')!;
    expect(u.size).toBe(0n);
    expect(Number(u.mtimeMs)).toBeGreaterThanOrEqual(before - 2000);
    expect(s.fs.readFileSync(s.p('p/q/f'), 'utf8')).toBe('');
  });
});

describe('#33 what copy-up keeps', () => {
  test('data, mode, uid/gid, atime and mtime (to the microsecond) of the file', () => {
    const s = layers(cuprep);
    s.fs.closeSync(s.fs.openSync(s.p('p/q/f'), C.O_RDWR));
    const u = s.upperStat('p/q/f')!;
    expect(s.upperTree()['p/q/f']).toBe('file:0123456789');
    expect(u.isFile()).toBe(true);
    expect(Number(u.mode & 0o7777n)).toBe(0o640);
    expect([Number(u.uid), Number(u.gid)]).toEqual([1234, 2345]);
    expect(micros(u.atimeNs)).toBe(1111111111654321n);
    expect(micros(u.mtimeNs)).toBe(1222222222123456n);
    // and the merged stat agrees
    const st = s.fs.statSync(s.p('p/q/f'), { bigint: true });
    expect(micros(st.mtimeNs)).toBe(1222222222123456n);
    expect(Number(st.mode & 0o7777n)).toBe(0o640);
  });

  test('parent directories are copied with their own mode, owner and mtime', () => {
    const s = layers(cuprep);
    s.fs.closeSync(s.fs.openSync(s.p('p/q/f'), C.O_RDWR));
    const p = s.upperStat('p')!;
    const q = s.upperStat('p/q')!;
    expect([Number(p.mode & 0o7777n), Number(p.uid), Number(p.gid), p.mtimeMs]).toEqual([0o700, 1234, 2345, 1100000000000n]);
    expect([Number(q.mode & 0o7777n), Number(q.uid), Number(q.gid), q.mtimeMs]).toEqual([0o751, 1234, 2345, 1000000000000n]);
  });

  test('a parent mtime changes when an entry is added through the overlay, not its ancestors', () => {
    const s = layers(cuprep);
    s.fs.writeFileSync(s.p('p/q/new'), 'n');
    expect(s.upperStat('p')!.mtimeMs).toBe(1100000000000n);
    expect(s.upperStat('p/q')!.mtimeMs).not.toBe(1000000000000n);
  });

  test('copyFile onto a lower file keeps its owner and its parent times, as the copy-up before the write does', () => {
    const s = layers(cuprep);
    const srcMode = Number(s.fs.statSync(s.p('p/q/other'), { bigint: true }).mode & 0o7777n);
    s.fs.copyFileSync(s.p('p/q/other'), s.p('p/q/f'));
    const u = s.upperStat('p/q/f')!;
    // libuv opens the existing file (the copy-up keeps owner), truncates it, writes, and gives it the source's mode.
    expect([s.upperTree()['p/q/f'], Number(u.mode & 0o7777n), Number(u.uid), Number(u.gid)]).toEqual(['file:other', srcMode, 1234, 2345]);
    expect(s.upperStat('p/q')!.mtimeMs).toBe(1000000000000n);
  });

  test('setuid/setgid bits survive a copy-up triggered by root', () => {
    const s = layers({ l1: { f: { file: 'x', mode: 0o4755 }, g: { file: 'y', mode: 0o2750, uid: 3, gid: 4 } } });
    s.fs.utimesSync(s.p('f'), 5, 5);
    s.fs.utimesSync(s.p('g'), 5, 5);
    expect(Number(s.upperStat('f')!.mode & 0o7777n)).toBe(0o4755);
    expect(Number(s.upperStat('g')!.mode & 0o7777n)).toBe(0o2750);
  });

  test('a symlink is copied up as a symlink with the same target (lchown)', () => {
    const s = layers({ l1: { t: 'target', 'd/ln': { symlink: '../t', mtime: 1000000000 } } });
    s.fs.lchownSync(s.p('d/ln'), 5, 6);
    expect(s.upperTree()).toEqual({ d: 'dir', 'd/ln': 'symlink:../t' });
    const u = s.upperStat('d/ln')!;
    expect([Number(u.uid), Number(u.gid)]).toEqual([5, 6]);
    expect(s.fs.readFileSync(s.p('d/ln'), 'utf8')).toBe('target');
  });

  test('binary and larger files are copied byte for byte', () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff;
    const s = layers({ l1: { 'd/big': big } });
    s.fs.appendFileSync(s.p('d/big'), Buffer.from([1, 2, 3]));
    const got = s.fs.readFileSync(s.p('d/big'));
    expect(got.length).toBe(big.length + 3);
    expect(got.subarray(0, big.length).equals(big)).toBe(true);
  });
});

describe('#34 copying up a directory copies only the directory', () => {
  test('chmod of a lower dir: listing unchanged, upper dir empty and not opaque, owner kept, nlink 1', () => {
    const s = layers({ l1: { d: { dir: true, mode: 0o750, uid: 33, gid: 44 }, 'd/sub/': null, 'd/a': 'a' } });
    expect(s.fs.statSync(s.p('d')).nlink).toBe(3);
    s.fs.chmodSync(s.p('d'), 0o700);
    expect(sortedNames(s.fs, s.p('d'))).toEqual(['a', 'sub']);
    expect(s.upperTree()).toEqual({ d: 'dir' });
    const u = s.upperStat('d')!;
    expect([Number(u.mode & 0o7777n), Number(u.uid), Number(u.gid)]).toEqual([0o700, 33, 44]);
    expect(s.fs.statSync(s.p('d')).nlink).toBe(1);
    expect(s.fs.statSync(s.p('d')).mode & 0o7777).toBe(0o700);
  });

  test('utimes of a lower dir copies it up with the new times', () => {
    const s = layers({ l1: { 'd/a': 'a' } });
    s.fs.utimesSync(s.p('d'), 1234567890, 1234567890);
    expect(s.upperTree()).toEqual({ d: 'dir' });
    expect(s.fs.statSync(s.p('d')).mtimeMs).toBe(1234567890000);
  });
});

describe('#37 metadata changes through a read-only descriptor copy up, never touching the lower file', () => {
  const spec: StackSpec = { l1: { 'd/f': { file: 'data', mode: 0o644, mtime: 1000000000 } } };

  test('fchmod on an O_RDONLY fd', () => {
    const s = layers(spec);
    const fd = s.fs.openSync(s.p('d/f'), 'r');
    try {
      s.fs.fchmodSync(fd, 0o600);
    } finally {
      s.fs.closeSync(fd);
    }
    expect(s.upperNames()).toEqual(['d/', 'd/f']);
    expect(Number(s.upperStat('d/f')!.mode & 0o7777n)).toBe(0o600);
    expect(s.fs.statSync(s.p('d/f')).mode & 0o7777).toBe(0o600);
  });

  test('futimes on an O_RDONLY fd', () => {
    const s = layers(spec);
    const fd = s.fs.openSync(s.p('d/f'), 'r');
    try {
      s.fs.futimesSync(fd, 2000, 3000);
    } finally {
      s.fs.closeSync(fd);
    }
    expect(s.upperStat('d/f')!.mtimeMs).toBe(3000000n);
    expect(s.fs.statSync(s.p('d/f')).mtimeMs).toBe(3000000);
  });

  test('fchown on an O_RDONLY fd', () => {
    const s = layers(spec);
    const fd = s.fs.openSync(s.p('d/f'), 'r');
    try {
      s.fs.fchownSync(fd, 77, 88);
    } finally {
      s.fs.closeSync(fd);
    }
    const u = s.upperStat('d/f')!;
    expect([Number(u.uid), Number(u.gid)]).toEqual([77, 88]);
    expect(s.fs.readFileSync(s.p('d/f'), 'utf8')).toBe('data');
  });

  test('ftruncate on an O_RDONLY fd is EINVAL and copies nothing up', () => {
    const s = layers(spec);
    const fd = s.fs.openSync(s.p('d/f'), 'r');
    try {
      expectCode(() => s.fs.ftruncateSync(fd, 0), 'EINVAL');
    } finally {
      s.fs.closeSync(fd);
    }
    expect(s.upperTree()).toEqual({});
  });

  test('callback forms: fchmod / futimes on an O_RDONLY fd', async () => {
    const s = layers(spec);
    const fd = s.fs.openSync(s.p('d/f'), 'r');
    try {
      await new Promise<void>((res, rej) => s.fs.fchmod(fd, 0o640, (e) => (e ? rej(e) : res())));
      await new Promise<void>((res, rej) => s.fs.futimes(fd, 5, 6, (e) => (e ? rej(e) : res())));
    } finally {
      s.fs.closeSync(fd);
    }
    const u = s.upperStat('d/f')!;
    expect(Number(u.mode & 0o7777n)).toBe(0o640);
    expect(u.mtimeMs).toBe(6000n);
  });

  test('FileHandle opened read-only: chmod, utimes, chown copy up; truncate is EINVAL', async () => {
    const s = layers(spec);
    const fh = await s.fs.promises.open(s.p('d/f'), 'r');
    try {
      await fh.chmod(0o604);
      await fh.utimes(2000, 3000);
      await fh.chown(9, 10);
      await expectRejectCode(fh.truncate(0), 'EINVAL');
      expect((await fh.readFile()).toString()).toBe('data');
    } finally {
      await fh.close();
    }
    const u = s.upperStat('d/f')!;
    expect([Number(u.mode & 0o7777n), Number(u.uid), Number(u.gid), u.mtimeMs]).toEqual([0o604, 9, 10, 3000000n]);
    expect(s.upperTree()['d/f']).toBe('file:data');
  });

  test('FileHandle opened read-write: truncate and write land in the upper', async () => {
    const s = layers(spec);
    const fh = await s.fs.promises.open(s.p('d/f'), 'r+');
    try {
      await fh.truncate(2);
      await fh.write('XY', 2);
    } finally {
      await fh.close();
    }
    expect(s.upperTree()['d/f']).toBe('file:daXY');
  });

  test('ftruncate through a writable fd applies to the upper copy', () => {
    const s = layers(spec);
    const fd = s.fs.openSync(s.p('d/f'), 'r+');
    try {
      s.fs.ftruncateSync(fd, 1);
      s.fs.fchmodSync(fd, 0o600);
    } finally {
      s.fs.closeSync(fd);
    }
    expect(s.upperTree()['d/f']).toBe('file:d');
    expect(Number(s.upperStat('d/f')!.mode & 0o7777n)).toBe(0o600);
  });
});

describe('copy-up mechanics', () => {
  test('concurrent copy-ups of one file happen once: no append is lost', async () => {
    const s = layers({ l1: { 'd/f': 'start:' } });
    await Promise.all(Array.from({ length: 20 }, () => s.fs.promises.appendFile(s.p('d/f'), 'x')));
    expect(s.fs.readFileSync(s.p('d/f'), 'utf8')).toBe('start:' + 'x'.repeat(20));
    expect(s.upperTree()).toEqual({ d: 'dir', 'd/f': 'file:start:' + 'x'.repeat(20) });
  });

  test('concurrent callback appends and chmods on one lower file', async () => {
    const s = layers({ l1: { f: { file: '', mode: 0o644 } } });
    const ops: Array<Promise<void>> = [];
    for (let i = 0; i < 10; i++) {
      ops.push(new Promise((res, rej) => s.fs.appendFile(s.p('f'), String(i % 10), (e) => (e ? rej(e) : res()))));
      ops.push(new Promise((res, rej) => s.fs.chmod(s.p('f'), 0o640, (e) => (e ? rej(e) : res()))));
    }
    await Promise.all(ops);
    const got = s.fs.readFileSync(s.p('f'), 'utf8');
    expect(got.split('').sort().join('')).toBe('0123456789');
    expect(s.fs.statSync(s.p('f')).mode & 0o7777).toBe(0o640);
  });

  test('an explicit workdir is used and reported', () => {
    const s = layers({ l1: { 'd/f': 'x' } }, { workdir: true });
    expect(s.ov.workdir).toBe(s.workdir);
    s.fs.appendFileSync(s.p('d/f'), 'y');
    expect(s.upperTree()).toEqual({ d: 'dir', 'd/f': 'file:xy' });
  });

  test('copyFile between the merged view and outside paths works both ways', () => {
    const s = layers({ l1: { 'd/f': 'lower' } });
    const outside = s.root + '/outside.txt';
    s.fs.copyFileSync(s.p('d/f'), outside);
    expect(nodeFs.readFileSync(outside, 'utf8')).toBe('lower');
    nodeFs.writeFileSync(outside, 'from outside');
    s.fs.copyFileSync(outside, s.p('d/f'));
    expect(s.fs.readFileSync(s.p('d/f'), 'utf8')).toBe('from outside');
    expect(s.upperTree()).toEqual({ d: 'dir', 'd/f': 'file:from outside' });
  });
});

describe('#38 lower hardlinks break on copy-up', () => {
  test('writing one name leaves the other with the old data', () => {
    const s = layers({ l1: { h1: 'h\n', h2: { hardlink: 'h1' } } });
    expect(s.fs.statSync(s.p('h1')).nlink).toBe(2);
    s.fs.writeFileSync(s.p('h1'), 'CHANGED');
    expect(s.fs.readFileSync(s.p('h1'), 'utf8')).toBe('CHANGED');
    expect(s.fs.readFileSync(s.p('h2'), 'utf8')).toBe('h\n');
    expect(s.fs.statSync(s.p('h1')).nlink).toBe(1);
    expect(s.fs.statSync(s.p('h2')).nlink).toBe(2);
    expect(s.upperTree()).toEqual({ h1: 'file:CHANGED' });
  });

  test('chmod of one name does not change the other', () => {
    const s = layers({ l1: { h1: { file: 'h', mode: 0o644 }, 'd/h2': { hardlink: 'h1' } } });
    s.fs.chmodSync(s.p('d/h2'), 0o600);
    expect(s.fs.statSync(s.p('d/h2')).mode & 0o7777).toBe(0o600);
    expect(s.fs.statSync(s.p('h1')).mode & 0o7777).toBe(0o644);
    expect(s.upperNames()).toEqual(['d/', 'd/h2']);
  });
});
