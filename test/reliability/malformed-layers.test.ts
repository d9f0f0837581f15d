/**
 * Malformed layer contents, and the behaviour overlay-fs defines for them (README, Guarantees):
 *
 * - Any entry named `.wh.<name>` (file, directory, symlink, device) is a whiteout for <name> in
 *   the layers below it, and `.wh..wh..opq` of any type makes its directory opaque. Such names
 *   are never listed and never found, whatever they hold.
 * - A character device with a device number other than 0:0 is not a whiteout: it is an ordinary
 *   device entry (listed, read and written as the device, hiding a same-named entry below it like
 *   any non-directory). Removing it writes a whiteout; changing its metadata fails with EPERM
 *   (Node cannot create a device node to copy it up).
 * - A file of a layer that the process cannot read fails to read (and to copy up) with EACCES,
 *   as on plain fs. A directory of any layer that the process cannot search makes every lookup
 *   and listing in the merged directory it belongs to fail with EACCES, even for a name a
 *   higher layer serves: the merge cannot be computed without it (is it opaque? what does it
 *   hide?), and nothing is skipped silently. Nothing is written in either case.
 */
import * as fs from 'fs';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { createOverlay } from '../../lib/index';
import type { Overlay } from '../../lib/types';
import { IS_ROOT, NOBODY, common, record, scratch, cleanupAll, runWorker, report, chownTree, skip, show } from './support';
import { useLayers, sortedNames } from '../helpers/layers';

let root: string;
beforeAll(() => { root = scratch('malformed'); });
afterAll(cleanupAll);

let n = 0;
function stack(build: (l1: string, l2: string, u: string) => void): { ov: Overlay; m: string; l1: string; l2: string; u: string; check: () => void } {
  const dir = path.join(root, `s${n++}`);
  const [l1, l2, u] = ['l1', 'l2', 'u'].map((x) => path.join(dir, x));
  for (const d of [l1, l2, u]) fs.mkdirSync(d, { recursive: true });
  build(l1, l2, u);
  const sums = common.checksumDirs([l1, l2]);
  const ov = createOverlay({ mountpoint: path.join(dir, 'm'), upper: u, lower: [l2, l1], workdir: path.join(dir, 'w') });
  return { ov, m: ov.mountpoint, l1, l2, u, check: () => expect(common.diffKeys(common.checksumDirs([l1, l2]), sums)).toEqual([]) };
}

const code = (f: () => unknown) => { try { f(); return 'ok'; } catch (e) { return (e as { code?: string }).code; } };

// These two use the semantics suites' layer builder, which also checks after each test that the
// lowers are unchanged and that nothing appeared at the mountpoint on the real disk.
const layers = useLayers();

test('a whiteout that is a directory (or a symlink, or a non-empty file) hides the name below it, and is never shown', () => {
  const s = layers({
    l1: { a: 'lower a', b: 'lower b', c: 'lower c', d: 'lower d' },
    l2: { '.wh.a/junk': 'junk', '.wh.b': { symlink: 'nowhere' }, '.wh.c': 'not empty' },
  });
  expect(sortedNames(s.fs, s.m)).toEqual(['d']);
  for (const x of ['a', 'b', 'c', '.wh.a', '.wh.a/junk', '.wh.b', '.wh.c']) expect(code(() => s.fs.statSync(s.p(x)))).toBe('ENOENT');
  // Creating the hidden name puts it in the upper; the marker below keeps hiding the lower one.
  s.fs.writeFileSync(s.p('a'), 'new a');
  expect(s.fs.readFileSync(s.p('a'), 'utf8')).toBe('new a');
  s.fs.unlinkSync(s.p('a'));
  expect(code(() => s.fs.statSync(s.p('a')))).toBe('ENOENT');
  record({ malformedCases: 11 });
});

test('an opaque marker that is a directory makes its directory opaque; rm -r and rmdir still work', () => {
  const s = layers({
    l1: { 'od/low': 'low', 'od2/low': 'low' },
    u: { 'od/.wh..wh..opq/junk': 'junk', 'od/up': 'up', 'od2/.wh..wh..opq/': null },
  });
  expect(s.fs.readdirSync(s.p('od'))).toEqual(['up']);
  expect(s.fs.readdirSync(s.p('od2'))).toEqual([]);
  expect(code(() => s.fs.statSync(s.p('od/low')))).toBe('ENOENT');
  s.fs.rmdirSync(s.p('od2')); // empty as merged
  s.fs.rmSync(s.p('od'), { recursive: true });
  expect(sortedNames(s.fs, s.m)).toEqual([]);
  record({ malformedCases: 5 });
});

test('a character device that is not 0:0 is an ordinary device entry, not a whiteout', () => {
  if (!IS_ROOT) return skip('device-node cases: mknod needs root');
  const s = stack((l1, l2) => {
    fs.writeFileSync(path.join(l1, 'null'), 'lower file under the device');
    execFileSync('mknod', [path.join(l2, 'null'), 'c', '1', '3']);
    execFileSync('mknod', [path.join(l2, 'zero'), 'c', '1', '5']);
  });
  expect((s.ov.fs.readdirSync(s.m) as string[]).sort()).toEqual(['null', 'zero']);
  const st = s.ov.fs.lstatSync(`${s.m}/null`);
  expect(st.isCharacterDevice()).toBe(true);
  expect(s.ov.which(`${s.m}/null`)!.type).toBe('char-device');
  expect(s.ov.fs.readFileSync(`${s.m}/null`, 'utf8')).toBe(''); // the device, not the lower file below
  const fd = s.ov.fs.openSync(`${s.m}/zero`, 'r');
  const buf = Buffer.alloc(4, 9);
  s.ov.fs.readSync(fd, buf, 0, 4, null);
  s.ov.fs.closeSync(fd);
  expect([...buf]).toEqual([0, 0, 0, 0]);
  const wfd = s.ov.fs.openSync(`${s.m}/null`, 'r+'); // writing a device writes the device, as the kernel does
  s.ov.fs.writeSync(wfd, 'discarded');
  s.ov.fs.closeSync(wfd);
  expect(code(() => s.ov.fs.chmodSync(`${s.m}/null`, 0o600))).toBe('EPERM');
  s.ov.fs.unlinkSync(`${s.m}/zero`);
  expect(s.ov.fs.readdirSync(s.m)).toEqual(['null']);
  expect(fs.existsSync(path.join(s.u, '.wh.zero'))).toBe(true);
  s.check();
  record({ malformedCases: 8 });
});

// FINDING R18 (fixed): writeFile/appendFile, and open with 'w' (O_TRUNC), of a device node
// served by a lower layer failed with EROFS (the write guard saw a write into a lower), while
// open 'r+' + write reached the device, as the kernel does for every form. The write guard now
// lets data be written to a FIFO or device in a lower (no file there changes). copyFile onto a
// device gives what Node gives on plain fs: EINVAL (libuv truncates the device it opened), and
// the destination name is removed (here: a whiteout), the lower device itself untouched.
test('fixed finding R18: writeFile, appendFile and open with w of a device node in a lower layer write the device, like open r+ does', () => {
  if (!IS_ROOT) return skip('device-node cases: mknod needs root');
  const s = stack((_l1, l2) => execFileSync('mknod', [path.join(l2, 'null'), 'c', '1', '3']));
  record({ malformedCases: 3 });
  expect([
    code(() => s.ov.fs.writeFileSync(`${s.m}/null`, 'discarded')),
    code(() => s.ov.fs.appendFileSync(`${s.m}/null`, 'discarded')),
    code(() => s.ov.fs.closeSync(s.ov.fs.openSync(`${s.m}/null`, 'w'))),
  ]).toEqual(['ok', 'ok', 'ok']);
  expect(s.ov.which(`${s.m}/null`)!.layer.role).toBe('lower'); // no copy-up of a device
  expect(s.ov.fs.lstatSync(`${s.m}/null`).isCharacterDevice()).toBe(true);
  expect(fs.readdirSync(s.u)).toEqual([]);
  s.check();
});

test('fixed finding R18: copyFile onto a device node in a lower layer fails as Node does on plain fs, and copies nothing up', async () => {
  if (!IS_ROOT) return skip('device-node cases: mknod needs root');
  const plain = path.join(root, `plain${n++}`);
  fs.mkdirSync(plain);
  fs.writeFileSync(path.join(plain, 'src'), 'data');
  const results: Array<{ form: string; overlay: unknown; node: unknown }> = [];
  for (const form of ['sync', 'callback', 'promise', 'excl'] as const) {
    const s = stack((_l1, l2, u) => {
      execFileSync('mknod', [path.join(l2, 'null'), 'c', '1', '3']);
      fs.writeFileSync(path.join(u, 'src'), 'data');
    });
    execFileSync('mknod', [path.join(plain, 'null'), 'c', '1', '3']);
    const outcome = async (xfs: typeof fs, dir: string) => {
      let err: { code?: string; syscall?: string } | null = null;
      const [src, dst] = [`${dir}/src`, `${dir}/null`];
      try {
        if (form === 'sync') xfs.copyFileSync(src, dst);
        else if (form === 'excl') xfs.copyFileSync(src, dst, fs.constants.COPYFILE_EXCL);
        else if (form === 'promise') await xfs.promises.copyFile(src, dst);
        else await new Promise<void>((res, rej) => xfs.copyFile(src, dst, (e) => (e ? rej(e) : res())));
      } catch (e) {
        err = e as { code?: string; syscall?: string };
      }
      const st = xfs.statSync(dst, { throwIfNoEntry: false });
      return { code: err?.code, syscall: err?.syscall, after: st === undefined ? 'gone' : st.isCharacterDevice() ? 'device' : 'other' };
    };
    results.push({ form, overlay: await outcome(s.ov.fs, s.m), node: await outcome(fs, plain) });
    fs.rmSync(path.join(plain, 'null'), { force: true });
    s.check();
    expect(fs.readdirSync(s.u).filter((x) => x !== 'src' && !x.startsWith('.wh.'))).toEqual([]);
  }
  record({ malformedCases: results.length });
  expect(results.map((r) => ({ form: r.form, result: r.overlay }))).toEqual(results.map((r) => ({ form: r.form, result: r.node })));
});

// FINDING R19, fixed: creating a name whose whiteout in the UPPER is a directory created the
// file, then failed with EISDIR when it tried to unlink the marker: the call reported an error
// but its change was made. The marker is now removed whatever its type: the call succeeds.
test('fixed finding R19: creating a name whose upper whiteout is a directory either succeeds or changes nothing', () => {
  const s = stack((l1, _l2, u) => {
    fs.writeFileSync(path.join(l1, 'y'), 'lower y');
    fs.mkdirSync(path.join(u, '.wh.y'));
  });
  record({ malformedCases: 1 });
  const before = common.realTree(s.u);
  const c = code(() => s.ov.fs.writeFileSync(`${s.m}/y`, 'new y'));
  if (c === 'ok') expect(s.ov.fs.readFileSync(`${s.m}/y`, 'utf8')).toBe('new y');
  else expect(common.realTree(s.u)).toEqual(before);
});

test('unreadable layer directories and files: EACCES, for the whole merged directory, nothing written', async () => {
  if (!IS_ROOT) return skip('unreadable-layer cases: need root to build layers for another user');
  const dir = path.join(root, 'unreadable');
  const [l1, l2, u, w] = ['l1', 'l2', 'u', 'w'].map((x) => path.join(dir, x));
  for (const d of [l1, l2, u, w]) fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(l1, 'f.txt'), 'f');
  fs.mkdirSync(path.join(l1, 'locked'));
  fs.writeFileSync(path.join(l1, 'locked/inner.txt'), 'inner');
  fs.writeFileSync(path.join(l1, 'secret.txt'), 'secret');
  fs.mkdirSync(path.join(u, 'locked'));
  fs.writeFileSync(path.join(u, 'locked/up.txt'), 'up');
  chownTree(u, NOBODY);
  chownTree(w, NOBODY);
  fs.chmodSync(path.join(l1, 'locked'), 0o000);
  fs.chmodSync(path.join(l1, 'secret.txt'), 0o600);
  fs.chmodSync(l2, 0o311); // searchable, not listable
  const sums = common.checksumDirs([l1, l2]);
  const options = { mountpoint: path.join(dir, 'm'), upper: u, lower: [l2, l1], workdir: w };
  const res = await runWorker('nobody-worker.js', { uid: NOBODY, scenarios: [{ name: 'unreadable', options, ops: ['readdirRoot', 'statInUnreadable', 'readdirUnreadable', 'readUnreadableFile', 'appendUnreadableFile', 'statShadowedByUpper'] }] });
  const rep = report<{ results: Array<{ op: string; code: string; upperChanged: string[]; temporaries: string[] }> }>(res);
  const got = Object.fromEntries(rep.results.map((r) => [r.op, r.code]));
  show('unreadable', rep.results.map((r) => JSON.stringify(r)));
  expect(got).toEqual({
    readdirRoot: 'EACCES', // lower[0]'s root cannot be listed
    statInUnreadable: 'EACCES',
    readdirUnreadable: 'EACCES',
    readUnreadableFile: 'EACCES',
    appendUnreadableFile: 'EACCES',
    statShadowedByUpper: 'EACCES', // the merged directory cannot be computed without its unreadable lower part
  });
  for (const r of rep.results) {
    expect(r.upperChanged).toEqual([]);
    expect(r.temporaries).toEqual([]);
  }
  expect(common.diffKeys(common.checksumDirs([l1, l2]), sums)).toEqual([]);
  record({ malformedCases: rep.results.length, eaccesCases: rep.results.filter((r) => r.code === 'EACCES').length });
});
