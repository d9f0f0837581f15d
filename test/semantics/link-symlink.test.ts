/**
 * Hard links (#48) and symlinks (#49). Symlink targets are stored as written; a relative target
 * resolves inside the merged view (against the link's merged directory), an absolute target from
 * the real root (re-entering the overlay when it points under the mountpoint). Loops give ELOOP
 * after 40 links (checked on a real mount: a chain of 40 resolves, 41 gives ELOOP).
 */
import * as nodeFs from 'fs';
import * as path from 'path';
import { useLayers, expectCode, sortedNames, type LayerSpec } from '../helpers/layers';

const layers = useLayers();

describe('#48 link()', () => {
  test('link of a lower file copies it up and makes a real upper link', () => {
    const s = layers({ l1: { s: 's' } });
    s.fs.linkSync(s.p('s'), s.p('s2'));
    expect(s.fs.statSync(s.p('s')).nlink).toBe(2);
    expect(s.fs.statSync(s.p('s2')).nlink).toBe(2);
    s.fs.writeFileSync(s.p('s2'), 'XX');
    expect(s.fs.readFileSync(s.p('s'), 'utf8')).toBe('XX');
    expect(s.upperTree()).toEqual({ s: 'file:XX', s2: 'file:XX' });
    expect(s.upperStat('s')!.ino).toBe(s.upperStat('s2')!.ino);
  });

  test('link into another lower dir copies up both parent chains', () => {
    const s = layers({ l1: { 'a/s': 's', 'b/keep': 'k' } });
    s.fs.linkSync(s.p('a/s'), s.p('b/s'));
    expect(s.upperNames()).toEqual(['a/', 'a/s', 'b/', 'b/s']);
    expect(sortedNames(s.fs, s.p('b'))).toEqual(['keep', 's']);
  });

  test('errors: directory EPERM, missing source ENOENT, existing target EEXIST', () => {
    const s = layers({ l1: { s: 's', 'd/x': 'x', t: 't' }, l2: { gone: { whiteout: true } } });
    expectCode(() => s.fs.linkSync(s.p('d'), s.p('d2')), 'EPERM');
    expectCode(() => s.fs.linkSync(s.p('nope'), s.p('x')), 'ENOENT');
    expectCode(() => s.fs.linkSync(s.p('gone'), s.p('x')), 'ENOENT');
    expectCode(() => s.fs.linkSync(s.p('s'), s.p('d') + '/'), 'EEXIST');
    expectCode(() => s.fs.linkSync(s.p('s'), s.p('t')), 'EEXIST');
    expectCode(() => s.fs.linkSync(s.p('s'), s.p('s')), 'EEXIST');
    expectCode(() => s.fs.linkSync(s.p('s'), s.p('nodir/x')), 'ENOENT');
    expect(s.upperTree()).toEqual({});
  });

  test('linking a symlink links the link itself, not its target', () => {
    const s = layers({ l1: { x: 'X', sl: { symlink: 'x' }, dangling: { symlink: 'nowhere' } } });
    s.fs.linkSync(s.p('sl'), s.p('sl2'));
    s.fs.linkSync(s.p('dangling'), s.p('dangling2'));
    expect(s.fs.lstatSync(s.p('sl2')).isSymbolicLink()).toBe(true);
    expect(s.fs.readlinkSync(s.p('sl2'))).toBe('x');
    expect(s.fs.readlinkSync(s.p('dangling2'))).toBe('nowhere');
    expect(s.fs.readFileSync(s.p('sl2'), 'utf8')).toBe('X');
  });

  test('link after unlink, and after rename, of the source name', () => {
    const s = layers({ l1: { a: 'A', b: 'B' } });
    s.fs.unlinkSync(s.p('a'));
    expectCode(() => s.fs.linkSync(s.p('a'), s.p('a2')), 'ENOENT');
    s.fs.renameSync(s.p('b'), s.p('b2'));
    s.fs.linkSync(s.p('b2'), s.p('b3'));
    expect(s.fs.readFileSync(s.p('b3'), 'utf8')).toBe('B');
    expect(sortedNames(s.fs, s.m)).toEqual(['b2', 'b3']);
  });
});

describe('#49 symlinks', () => {
  test('readlink gives the raw target; relative targets resolve in the merged view', () => {
    const s = layers({
      l1: { x: 'LOWER-x', 'd/rel': { symlink: '../x' }, 'd/sub/y': 'y' },
      l2: { 'd/rel2': { symlink: 'sub/y' }, 'd/rel3': { symlink: '../other/z' } },
      u: { x: 'UPPER-x', 'other/z': 'Z-upper-only' },
    });
    expect(s.fs.readlinkSync(s.p('d/rel'))).toBe('../x');
    expect(s.fs.readFileSync(s.p('d/rel'), 'utf8')).toBe('UPPER-x');
    expect(s.fs.readFileSync(s.p('d/rel2'), 'utf8')).toBe('y');
    expect(s.fs.readFileSync(s.p('d/rel3'), 'utf8')).toBe('Z-upper-only');
    expect(s.fs.statSync(s.p('d/rel')).size).toBe('UPPER-x'.length);
    expect(s.fs.lstatSync(s.p('d/rel')).isSymbolicLink()).toBe(true);
  });

  test('absolute targets resolve from the real root: into a layer bypasses the overlay', () => {
    const s = layers((root) => ({
      l1: {
        x: 'LOWER-x',
        'd/abs_layer': { symlink: path.join(root, 'l1', 'x') },
        'd/abs_missing': { symlink: path.join(root, 'does-not-exist') },
        'd/abs_m': { symlink: path.join(root, 'm', 'x') },
      },
      u: { x: 'UPPER-x' },
    }));
    expect(s.fs.readlinkSync(s.p('d/abs_layer'))).toBe(s.real('l1', 'x'));
    expect(s.fs.readFileSync(s.p('d/abs_layer'), 'utf8')).toBe('LOWER-x');
    expectCode(() => s.fs.readFileSync(s.p('d/abs_missing')), 'ENOENT');
    // an absolute target under the mountpoint re-enters the overlay
    expect(s.fs.readFileSync(s.p('d/abs_m'), 'utf8')).toBe('UPPER-x');
    expect(s.fs.realpathSync(s.p('d/abs_m'))).toBe(s.p('x'));
    expect(s.fs.realpathSync(s.p('d/abs_layer'))).toBe(s.real('l1', 'x'));
  });

  test('symlink() with an absolute target under the mountpoint stores it as written', () => {
    const s = layers({ l1: { x: 'LOWER-x', 'd/': null }, u: { x: 'UPPER-x' } });
    s.fs.symlinkSync(s.p('x'), s.p('d/abs_m'));
    expect(s.fs.readlinkSync(s.p('d/abs_m'))).toBe(s.p('x'));
    expect(s.fs.readFileSync(s.p('d/abs_m'), 'utf8')).toBe('UPPER-x');
    expect(s.upperTree()['d/abs_m']).toBe('symlink:' + s.p('x'));
    s.fs.writeFileSync(s.p('d/abs_m'), 'NEW');
    expect(s.upperTree()['x']).toBe('file:NEW');
  });

  test('a relative target climbing above the mountpoint leaves the overlay at its parent', () => {
    const s = layers({ l1: { 'd/out': { symlink: '../../outside.txt' } } });
    nodeFs.writeFileSync(path.join(s.root, 'outside.txt'), 'real outside');
    expect(s.fs.readFileSync(s.p('d/out'), 'utf8')).toBe('real outside');
    expect(s.fs.realpathSync(s.p('d/out'))).toBe(path.join(s.root, 'outside.txt'));
  });

  test('realpath returns merged paths', () => {
    const s = layers({ l1: { x: 'x', 'd/rel': { symlink: '../x' }, 'd/sub/': null, dl: { symlink: 'd/sub' } } });
    expect(s.fs.realpathSync(s.p('d/rel'))).toBe(s.p('x'));
    expect(s.fs.realpathSync.native(s.p('d/rel'))).toBe(s.p('x'));
    expect(s.fs.realpathSync(s.p('dl'))).toBe(s.p('d/sub'));
    expect(s.fs.realpathSync(s.p('dl/../x'))).toBe(s.p('x'));
    expect(s.fs.realpathSync(s.m)).toBe(s.m);
  });

  test('a symlink to a directory: listing and creating through it use the merged target', () => {
    const s = layers({ l1: { 'dd/r': 'r', dirlink: { symlink: 'dd' } }, l2: { 'dd/r2': 'r2' } });
    expect(sortedNames(s.fs, s.p('dirlink'))).toEqual(['r', 'r2']);
    s.fs.writeFileSync(s.p('dirlink/new'), 'n');
    expect(s.upperTree()).toEqual({ dd: 'dir', 'dd/new': 'file:n' });
    expect(sortedNames(s.fs, s.p('dd'))).toEqual(['new', 'r', 'r2']);
  });

  test('symlink loops give ELOOP', () => {
    const s = layers({ l1: { loop1: { symlink: 'loop2' }, loop2: { symlink: 'loop1' }, self: { symlink: 'self' }, 'd/up': { symlink: '../d/up' } } });
    expectCode(() => s.fs.statSync(s.p('loop1')), 'ELOOP');
    expectCode(() => s.fs.readFileSync(s.p('self')), 'ELOOP');
    expectCode(() => s.fs.openSync(s.p('d/up'), 'r'), 'ELOOP');
    expectCode(() => s.fs.writeFileSync(s.p('loop2'), 'x'), 'ELOOP');
    expectCode(() => s.fs.statSync(s.p('loop1/x')), 'ELOOP');
    expect(s.fs.lstatSync(s.p('loop1')).isSymbolicLink()).toBe(true);
    expect(s.upperTree()).toEqual({});
  });

  test('40 links are followed, the 41st is ELOOP', () => {
    const chain = (n: number, prefix: string): LayerSpec => {
      const out: LayerSpec = {};
      for (let i = 0; i < n; i++) out[`${prefix}${i}`] = { symlink: i === n - 1 ? 'f' : `${prefix}${i + 1}` };
      return out;
    };
    const s = layers({ l1: { f: 'F', ...chain(40, 'a'), ...chain(41, 'b') } });
    expect(s.fs.readFileSync(s.p('a0'), 'utf8')).toBe('F');
    expectCode(() => s.fs.readFileSync(s.p('b0')), 'ELOOP');
  });

  test('a dangling link followed by open w creates the target in the upper', () => {
    const s = layers({ l1: { dangle: { symlink: 'nowhere' }, 'd/dl': { symlink: '../sub/made' }, 'sub/': null } });
    s.fs.writeFileSync(s.p('dangle'), 'data');
    expect(s.fs.readFileSync(s.p('nowhere'), 'utf8')).toBe('data');
    expect(s.fs.readlinkSync(s.p('dangle'))).toBe('nowhere');
    s.fs.writeFileSync(s.p('d/dl'), 'deep');
    expect(s.upperTree()).toEqual({ nowhere: 'file:data', sub: 'dir', 'sub/made': 'file:deep' });
  });

  test('O_CREAT|O_EXCL through a dangling link is EEXIST', () => {
    const s = layers({ l1: { dangle: { symlink: 'nowhere' } } });
    expectCode(() => s.fs.openSync(s.p('dangle'), 'wx'), 'EEXIST');
    expect(s.upperTree()).toEqual({});
  });

  test('a write through a link lands on the merged target; the link is not copied up', () => {
    const s = layers({ l1: { x: 'LOWER-x', 'd/rel': { symlink: '../x' } } });
    s.fs.writeFileSync(s.p('d/rel'), 'NEW');
    expect(s.fs.readFileSync(s.p('x'), 'utf8')).toBe('NEW');
    expect(s.upperTree()).toEqual({ x: 'file:NEW' });
  });

  test('chmod through a link changes the target, lchown copies up the link itself', () => {
    const s = layers({ l1: { x: { file: 'x', mode: 0o644 }, 'd/ln': { symlink: '../x' } } });
    s.fs.chmodSync(s.p('d/ln'), 0o600);
    expect(s.upperTree()).toEqual({ x: 'file:x' });
    s.fs.lchownSync(s.p('d/ln'), 5, 5);
    expect(s.upperTree()).toEqual({ x: 'file:x', d: 'dir', 'd/ln': 'symlink:../x' });
    const l = s.upperStat('d/ln')!;
    expect([Number(l.uid), Number(l.gid)]).toEqual([5, 5]);
    expect(s.fs.lstatSync(s.p('d/ln')).uid).toBe(5);
    expect(s.fs.statSync(s.p('d/ln')).mode & 0o7777).toBe(0o600);
  });

  test('symlink() stores the target text as written', () => {
    const s = layers({ l1: { 'd/': null } });
    s.fs.symlinkSync('target2', s.p('newlink'));
    s.fs.symlinkSync('../../outside/../x', s.p('d/odd'));
    expect(s.fs.readlinkSync(s.p('newlink'))).toBe('target2');
    expect(s.upperTree()).toEqual({ newlink: 'symlink:target2', d: 'dir', 'd/odd': 'symlink:../../outside/../x' });
    expectCode(() => s.fs.symlinkSync('x', s.p('d')), 'EEXIST');
  });

  test('readlink of a non-link is EINVAL, of a missing name ENOENT', () => {
    const s = layers({ l1: { f: 'f', 'd/': null } });
    expectCode(() => s.fs.readlinkSync(s.p('f')), 'EINVAL');
    expectCode(() => s.fs.readlinkSync(s.p('d')), 'EINVAL');
    expectCode(() => s.fs.readlinkSync(s.p('nope')), 'ENOENT');
  });
});
