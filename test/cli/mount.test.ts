/**
 * `mount` / `umount` with a real kernel overlay (root here and in CI): the kernel's merged
 * view must equal overlay-fs's, changes made through the mount must come back in OCI form,
 * and nothing may stay mounted. Skips with the reason where the kernel refuses to mount.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { seed, removeScratches, demoChanges, mergedTree, treeOf, expectOneLineError, cli, MAIN, type Scratch, type Tree } from './cli';

/** Can this machine mount a kernel overlay? Tried once, on a throwaway tree. */
function probe(): string | null {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (process.getuid?.() !== 0) return `not root (uid ${process.getuid?.()})`;
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'overlay-fs-cli-probe-'));
  try {
    for (const sub of ['l', 'u', 'w', 'm']) fs.mkdirSync(path.join(d, sub));
    const r = spawnSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${d}/l,upperdir=${d}/u,workdir=${d}/w`, `${d}/m`], { encoding: 'utf8' });
    if (r.status !== 0) return `mount -t overlay refused: ${(r.stderr || String(r.error)).trim()}`;
    spawnSync('umount', [`${d}/m`]);
    return null;
  } finally {
    fs.rmSync(d, { recursive: true, force: true });
  }
}

const why = probe();
if (why) console.log(`test/cli/mount.test.ts: kernel overlay tests skipped: ${why}`);
const kernel = why ? test.skip : test;
const onPath = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const fuse = !why && onPath('fuse-overlayfs') && fs.existsSync('/dev/fuse') ? test : test.skip;
if (!onPath('fuse-overlayfs')) console.log('test/cli/mount.test.ts: fuse-overlayfs test skipped: fuse-overlayfs is not installed');

const mounted = (): string[] => fs.readFileSync('/proc/self/mounts', 'utf8').split('\n').filter((l) => l.includes('overlay-fs-cli-'));

/** Every entry of the upper that is not plain OCI form: devices, or opaque xattrs. */
function kernelFormLeft(dir: string): string[] {
  const out: string[] = [];
  const dirs: string[] = [];
  const walk = (d: string) => {
    dirs.push(d);
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isCharacterDevice()) out.push(`device ${p}`);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  const py = spawnSync('python3', ['-c', 'import os,sys,json\nprint(json.dumps([d for d in json.load(sys.stdin) if "trusted.overlay.opaque" in os.listxattr(d)]))'], { input: JSON.stringify(dirs), encoding: 'utf8' });
  if (py.status === 0) out.push(...(JSON.parse(py.stdout) as string[]).map((d) => `opaque xattr ${d}`));
  return out;
}

afterAll(() => {
  // Never leave a mount behind, whatever failed: unmount before the scratch trees go.
  for (const line of mounted()) spawnSync('umount', ['-l', line.split(' ')[1]]);
  removeScratches();
});

/** Mount with the command, run `check` on the mounted tree, and always unmount with the command. */
function withMount(s: Scratch, args: string[], check: (mnt: string) => void): void {
  const r = s.run(['mount', ...args, 'mnt', '--upper', 'upper', '--lower', 'middle', '--lower', 'lower']);
  expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
  try {
    check(s.p('mnt'));
  } finally {
    const u = s.run(['umount', 'mnt']);
    expect({ status: u.status, stderr: u.stderr }).toEqual({ status: 0, stderr: '' });
  }
}

function mountRoundTrip(s: Scratch, args: string[]): void {
  demoChanges(s); // upper: a copy-up, .wh.b.txt, an opaque docs/, a new directory
  const expected = mergedTree(s);
  let throughKernel: Tree = {};
  withMount(s, args, (mnt) => {
    expect(mounted().some((l) => l.includes(mnt))).toBe(true);
    expect(treeOf(fs, mnt)).toEqual(expected);
    // Change it through the mount: the kernel writes its own whiteouts and opaque xattrs.
    fs.unlinkSync(path.join(mnt, 'd.txt'));
    fs.rmSync(path.join(mnt, 'extra'), { recursive: true });
    fs.mkdirSync(path.join(mnt, 'extra'));
    fs.writeFileSync(path.join(mnt, 'extra', 'y.txt'), 'y\n');
    fs.writeFileSync(path.join(mnt, 'new.txt'), 'new\n');
    throughKernel = treeOf(fs, mnt);
  });
  expect(mounted()).toEqual([]);
  expect(fs.existsSync(s.p('mnt'))).toBe(false); // mount made it, umount removed it
  // Back in OCI form: the kernel's deletions are .wh. files again, and overlay-fs sees what the kernel showed.
  expect(kernelFormLeft(s.p('upper'))).toEqual([]);
  expect(fs.readFileSync(s.p('upper/.wh.d.txt'), 'utf8')).toBe('');
  expect(fs.existsSync(s.p('upper/.wh.b.txt'))).toBe(true);
  expect(fs.existsSync(s.p('upper/docs/.wh..wh..opq'))).toBe(true);
  expect(mergedTree(s)).toEqual(throughKernel);
  expect(throughKernel['d.txt']).toBeUndefined();
  expect(throughKernel['extra/y.txt']).toBe('y\n');
}

kernel('kernel overlay: same merged view as overlay-fs, and the upper back in OCI form after umount', () => {
  const s = seed();
  mountRoundTrip(s, []);
  // The kernel's work/ scratch directory is gone from the work directory.
  expect(fs.readdirSync(s.p('.upper.overlay-work'))).toEqual([]);
});

kernel('kernel overlay with python3 for the xattrs (no setfattr on PATH)', () => {
  const s = seed();
  // A PATH holding only what the python3 route needs.
  const bin = s.p('bin');
  fs.mkdirSync(bin);
  const python = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim();
  for (const [name, target] of [['python3', python], ['mount', '/usr/bin/mount'], ['umount', '/usr/bin/umount'], ['mknod', '/usr/bin/mknod']]) {
    if (!fs.existsSync(target)) return console.log(`python3 route not tested: ${target} is missing`);
    fs.symlinkSync(target, path.join(bin, name));
  }
  const env = { PATH: bin };
  demoChanges(s);
  const expected = mergedTree(s);
  const r = s.run(['mount', 'mnt', '--upper', 'upper', '--lower', 'middle', '--lower', 'lower'], { env });
  expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
  try {
    expect(treeOf(fs, s.p('mnt'))).toEqual(expected);
  } finally {
    expect(s.run(['umount', 'mnt'], { env }).status).toBe(0);
  }
  expect(kernelFormLeft(s.p('upper'))).toEqual([]);
  expect(mergedTree(s)).toEqual(expected);
});

fuse('fuse-overlayfs: the same round trip with --engine fuse-overlayfs', () => {
  mountRoundTrip(seed(), ['--engine', 'fuse-overlayfs']);
});

kernel('refused: a non-empty mountpoint, a missing layer, an OCI lower, a second mount; nothing converted', () => {
  const s = seed();
  demoChanges(s);
  s.write({ 'full/x': 'x' });
  const flags = ['--upper', 'upper', '--lower', 'middle', '--lower', 'lower'];
  expectOneLineError(s.run(['mount', 'full', ...flags]), 'mount', /mountpoint full is not empty/);
  expect(fs.existsSync(s.p('upper/.wh.b.txt'))).toBe(true);
  expectOneLineError(s.run(['mount', 'mnt', '--upper', 'upper', '--lower', 'gone']), 'mount', /--lower gone: no such directory/);
  expectOneLineError(s.run(['mount', 'mnt', '--lower', 'upper', '--lower', 'lower']), 'mount', /lower layer upper holds OCI whiteouts/);
  expectOneLineError(s.run(['mount', ...flags]), 'mount', /mount where\?/, 2);
  expect(fs.existsSync(s.p('mnt'))).toBe(false);
  withMount(s, [], () => {
    expectOneLineError(s.run(['mount', 'mnt', ...flags]), 'mount', /already (mounted by overlay-fs|a mountpoint)/);
  });
  expect(mounted()).toEqual([]);
});

kernel('a mount the kernel refuses leaves the upper in OCI form and nothing behind', () => {
  const s = seed();
  demoChanges(s);
  const before = treeOf(fs, s.p('upper'));
  // A `mount` that fails the way the kernel does, first on PATH: the conversion has happened by then.
  fs.mkdirSync(s.p('fakebin'));
  fs.writeFileSync(s.p('fakebin/mount'), '#!/bin/sh\necho "mount: wrong fs type, bad option, bad superblock on overlay." >&2\nexit 32\n', { mode: 0o755 });
  const env = { PATH: `${s.p('fakebin')}:${process.env.PATH}` };
  const r = s.run(['mount', 'mnt', '--upper', 'upper', '--lower', 'middle', '--lower', 'lower'], { env });
  expectOneLineError(r, 'mount', /mount -t overlay failed: mount: wrong fs type.*dmesg/);
  expect(treeOf(fs, s.p('upper'))).toEqual(before);
  expect(kernelFormLeft(s.p('upper'))).toEqual([]);
  expect(fs.existsSync(s.p('mnt'))).toBe(false);
  expectOneLineError(s.run(['umount', 'mnt']), 'umount', /mnt is not mounted/);
});

kernel('unmounted by plain umount: overlay-fs umount still brings the upper back', () => {
  const s = seed();
  demoChanges(s);
  const expected = mergedTree(s);
  expect(s.run(['mount', 'mnt', '--upper', 'upper', '--lower', 'middle', '--lower', 'lower']).status).toBe(0);
  expect(spawnSync('umount', [s.p('mnt')]).status).toBe(0);
  expect(kernelFormLeft(s.p('upper')).length).toBeGreaterThan(0); // still the kernel's form
  const r = s.run(['umount', 'mnt']);
  expect(r.status).toBe(0);
  expect(r.stderr).toMatch(/^overlay-fs umount: mnt was already unmounted; restoring the upper's OCI form\n$/);
  expect(kernelFormLeft(s.p('upper'))).toEqual([]);
  expect(mergedTree(s)).toEqual(expected);
});

const canDropRoot = process.getuid?.() === 0 && onPath('setpriv');
(canDropRoot ? test : test.skip)('without root and without fuse-overlayfs: one line saying what is missing', () => {
  // As nobody, with a PATH that has no fuse-overlayfs. The engine is chosen before anything is read.
  const asNobody = (args: string[], PATH: string) =>
    spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'env', `PATH=${PATH}`, process.execPath, MAIN, ...args], { cwd: os.tmpdir(), encoding: 'utf8' });
  if (asNobody(['--version'], '/usr/bin:/bin').status !== 0) {
    return console.log('test/cli/mount.test.ts: no-root case not checked: user nobody cannot read the build in this checkout');
  }
  const auto = asNobody(['mount', path.join(os.tmpdir(), 'overlay-fs-cli-never'), '--lower', os.tmpdir()], '/nonexistent');
  expectOneLineError({ status: auto.status, stdout: auto.stdout, stderr: auto.stderr }, 'mount', /cannot mount: the kernel's overlayfs needs root \(this runs as uid 65534\) and fuse-overlayfs is not installed \(Debian\/Ubuntu: apt-get install fuse-overlayfs\)/);
  const forced = asNobody(['mount', path.join(os.tmpdir(), 'overlay-fs-cli-never'), '--engine', 'kernel', '--lower', os.tmpdir()], '/usr/bin:/bin');
  expectOneLineError({ status: forced.status, stdout: forced.stdout, stderr: forced.stderr }, 'mount', /the kernel's overlayfs needs root, and this runs as uid 65534/);
});

test('umount of something overlay-fs did not mount: one line, exit 1', () => {
  const s = seed();
  expectOneLineError(cli(['umount', 'nowhere'], { cwd: s.dir }), 'umount', /nowhere is not mounted/);
  expectOneLineError(cli(['umount', '/proc'], { cwd: s.dir }), 'umount', /was not mounted by `overlay-fs mount` \(it is a proc mount\)/);
});
