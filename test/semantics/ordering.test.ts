/**
 * The order of an operation's side effects (issue 6): the lower layers are never written, the
 * merged view never shows a half-done change, and a failed operation leaves the merged view
 * and the upper as they were, with no temporary in the work directory.
 *
 * - A rename puts the destination in place before it hides the source: a crash in between
 *   leaves the entry at both names, never at neither.
 * - A whiteout that a removal needs is written first only where it is hidden (the upper entry
 *   it belongs to is still there), and taken back when the removal is refused.
 * - writeFile, appendFile and truncate of a lower file change the copy in the work directory;
 *   the upper name appears with one rename, already holding the new content.
 * - A step that fails rolls back the steps made before it (lib/undo.ts).
 *
 * These watch, and make fail, the overlay's own real system calls (the private fs snapshot of
 * lib/real-fs.ts), in the sync form.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { createOverlay } from '../../lib/index';
import { real } from '../../lib/real-fs';
import type { Overlay } from '../../lib/types';

interface Call { op: string; args: unknown[] }
type Fail = (op: string, args: unknown[]) => string | null;

const WATCHED = ['rename', 'writeFile', 'unlink', 'mkdir', 'rmdir', 'rm', 'copyFile', 'truncate', 'link', 'symlink', 'chmod', 'chown', 'open'];
let restore: Array<() => void> = [];

/** Record every watched call (in order); `fail` may make one throw with an errno code instead. */
function watch(fail: Fail = () => null): Call[] {
  const calls: Call[] = [];
  for (const op of WATCHED) {
    const name = op + 'Sync';
    const original = real[name];
    real[name] = (...args: unknown[]) => {
      const code = fail(op, args);
      calls.push({ op, args });
      if (code !== null) throw Object.assign(new Error(`${code}: injected (${op})`), { code, syscall: op });
      return original(...args);
    };
    restore.push(() => { real[name] = original; });
  }
  return calls;
}

let dirs: string[] = [];
afterEach(() => {
  for (const r of restore.reverse()) r();
  restore = [];
  jest.restoreAllMocks();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  dirs = [];
});

interface Fixture { ov: Overlay; m: string; u: string; l1: string; w: string; upperTree(): Record<string, string>; merged(): Record<string, string>; temporaries(): string[] }

/** A one-lower stack: `files` maps paths to content ('/' at the end: a directory) per layer. */
function stack(lower: Record<string, string>, upper: Record<string, string> = {}): Fixture {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ovfs-order-'));
  dirs.push(dir);
  const [l1, u, w] = ['l1', 'u', 'w'].map((x) => path.join(dir, x));
  const put = (root: string, files: Record<string, string>) => {
    fs.mkdirSync(root, { recursive: true });
    for (const [p, data] of Object.entries(files)) {
      if (p.endsWith('/')) fs.mkdirSync(path.join(root, p), { recursive: true });
      else {
        fs.mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
        fs.writeFileSync(path.join(root, p), data);
      }
    }
  };
  put(l1, lower);
  put(u, upper);
  const ov = createOverlay({ mountpoint: path.join(dir, 'm'), upper: u, lower: [l1], workdir: w, cache: false });
  const tree = (xfs: typeof fs, root: string): Record<string, string> => {
    const out: Record<string, string> = {};
    const walk = (d: string, rel: string) => {
      for (const name of (xfs.readdirSync(d) as string[]).sort()) {
        const p = d + '/' + name;
        const r = rel ? rel + '/' + name : name;
        const st = xfs.lstatSync(p);
        if (st.isDirectory()) { out[r] = 'dir'; walk(p, r); } else out[r] = 'file:' + xfs.readFileSync(p, 'utf8');
      }
    };
    walk(root, '');
    return out;
  };
  return {
    ov, m: ov.mountpoint, u, l1, w,
    upperTree: () => tree(fs, u),
    merged: () => tree(ov.fs, ov.mountpoint),
    temporaries: () => (fs.existsSync(w) ? fs.readdirSync(w) : []),
  };
}

const codeOf = (f: () => unknown): string => {
  try { f(); return 'ok'; } catch (e) { return (e as { code?: string }).code ?? String(e); }
};
const indexOf = (calls: Call[], pred: (c: Call) => boolean): number => calls.findIndex(pred);
const to = (c: Call) => String(c.op === 'rename' ? c.args[1] : c.args[0]);

describe('renames: the destination appears before the source is hidden', () => {
  test('a lower file: renamed into place, then its whiteout', () => {
    const s = stack({ 'd/a': 'A' });
    const calls = watch();
    s.ov.fs.renameSync(`${s.m}/d/a`, `${s.m}/d/b`);
    const dest = indexOf(calls, (c) => c.op === 'rename' && to(c) === `${s.u}/d/b`);
    const wh = indexOf(calls, (c) => to(c) === `${s.u}/d/.wh.a`);
    expect(dest).toBeGreaterThanOrEqual(0);
    expect(wh).toBeGreaterThan(dest);
    expect(s.merged()).toEqual({ d: 'dir', 'd/b': 'file:A' });
    expect(s.temporaries()).toEqual([]);
  });

  test('a lower directory: the merged copy is renamed into place, then the source whiteout', () => {
    const s = stack({ 'dir/x': 'x', 'dir/sub/y': 'y' });
    const calls = watch();
    s.ov.fs.renameSync(`${s.m}/dir`, `${s.m}/dir2`);
    const dest = indexOf(calls, (c) => c.op === 'rename' && to(c) === `${s.u}/dir2`);
    const wh = indexOf(calls, (c) => to(c) === `${s.u}/.wh.dir`);
    expect(dest).toBeGreaterThanOrEqual(0);
    expect(wh).toBeGreaterThan(dest);
    expect(s.merged()).toEqual({ dir2: 'dir', 'dir2/sub': 'dir', 'dir2/sub/y': 'file:y', 'dir2/x': 'file:x' });
    expect(s.temporaries()).toEqual([]);
  });

  test('a merged directory: its whiteout first (hidden by the upper part), the upper part removed after the destination appears', () => {
    const s = stack({ 'dir/x': 'x' }, { 'dir/y': 'y' });
    const calls = watch();
    s.ov.fs.renameSync(`${s.m}/dir`, `${s.m}/dir2`);
    const wh = indexOf(calls, (c) => to(c) === `${s.u}/.wh.dir`);
    const dest = indexOf(calls, (c) => c.op === 'rename' && to(c) === `${s.u}/dir2`);
    const gone = indexOf(calls, (c) => c.op === 'rename' && c.args[0] === `${s.u}/dir`);
    expect([wh >= 0, dest > wh, gone > dest]).toEqual([true, true, true]);
    expect(s.merged()).toEqual({ dir2: 'dir', 'dir2/x': 'file:x', 'dir2/y': 'file:y' });
    expect(s.temporaries()).toEqual([]);
  });

  test('a whiteout written while the upper entry is still there hides nothing', () => {
    // The state a crash right after renameEntry's first step leaves: merged view unchanged.
    const s = stack({ f: 'lower f', 'dir/x': 'x' }, { f: 'upper f', 'dir/y': 'y', '.wh.f': '', '.wh.dir': '' });
    expect(s.merged()).toEqual({ dir: 'dir', 'dir/x': 'file:x', 'dir/y': 'file:y', f: 'file:upper f' });
  });

  test('refused at the destination: the copy-up and the prepared whiteout are taken back', () => {
    const s = stack({ a: 'A', 'sub/keep': 'k' }, { 'sub/': '' });
    const upperBefore = s.upperTree();
    const mergedBefore = s.merged();
    watch((op, args) => (op === 'rename' && args[1] === `${s.u}/sub/moved` ? 'EACCES' : null));
    expect(codeOf(() => s.ov.fs.renameSync(`${s.m}/a`, `${s.m}/sub/moved`))).toBe('EACCES');
    expect(s.upperTree()).toEqual(upperBefore);
    expect(s.merged()).toEqual(mergedBefore);
    expect(s.temporaries()).toEqual([]);
  });

  test('a directory rename refused at its last step: the destination and the copy are taken back', () => {
    const s = stack({ 'dir/x': 'x' }, { 'dir/y': 'y' });
    const upperBefore = s.upperTree();
    const mergedBefore = s.merged();
    // The upper part of the source cannot be moved out (the step that hides the source).
    watch((op, args) => (op === 'rename' && args[0] === `${s.u}/dir` ? 'EPERM' : null));
    expect(codeOf(() => s.ov.fs.renameSync(`${s.m}/dir`, `${s.m}/dir2`))).toBe('EPERM');
    expect(s.upperTree()).toEqual(upperBefore);
    expect(s.merged()).toEqual(mergedBefore);
    expect(s.temporaries()).toEqual([]);
  });
});

describe('links: a refused link takes back its copy-up', () => {
  test('link of a lower file refused at the new name: nothing copied up', () => {
    const s = stack({ f: 'f', 'sub/keep': 'k' });
    watch((op) => (op === 'link' ? 'EMLINK' : null));
    expect(codeOf(() => s.ov.fs.linkSync(`${s.m}/f`, `${s.m}/sub/f2`))).toBe('EMLINK');
    expect(s.upperTree()).toEqual({ sub: 'dir' }); // a copied-up parent directory changes nothing visible
    expect(s.ov.which(`${s.m}/f`)!.layer.role).toBe('lower');
  });
});

describe('removals: a whiteout only where it is hidden, taken back on refusal', () => {
  test('unlink of an upper file over a lower one: whiteout first, then the unlink', () => {
    const s = stack({ f: 'low' }, { f: 'up' });
    const calls = watch();
    s.ov.fs.unlinkSync(`${s.m}/f`);
    const wh = indexOf(calls, (c) => to(c) === `${s.u}/.wh.f`);
    const un = indexOf(calls, (c) => c.op === 'unlink' && c.args[0] === `${s.u}/f`);
    expect([wh >= 0, un > wh]).toEqual([true, true]);
    expect(s.upperTree()).toEqual({ '.wh.f': 'file:' });
  });

  test('a refused unlink leaves no whiteout behind', () => {
    const s = stack({ f: 'low' }, { f: 'up' });
    watch((op, args) => (op === 'unlink' && args[0] === `${s.u}/f` ? 'EPERM' : null));
    expect(codeOf(() => s.ov.fs.unlinkSync(`${s.m}/f`))).toBe('EPERM');
    expect(s.upperTree()).toEqual({ f: 'file:up' });
    expect(s.merged()).toEqual({ f: 'file:up' });
  });

  test('a refused rmdir of a merged directory leaves no whiteout behind', () => {
    const s = stack({ 'd/' : '' }, { 'd/': '' });
    watch((op, args) => (op === 'rmdir' && args[0] === `${s.u}/d` ? 'EBUSY' : null));
    expect(codeOf(() => s.ov.fs.rmdirSync(`${s.m}/d`))).toBe('EBUSY');
    expect(s.upperTree()).toEqual({ d: 'dir' });
  });

  test('a whiteout already there (even a directory) is left as it is and not taken back', () => {
    const s = stack({ f: 'low' }, { f: 'up', '.wh.f/': '' });
    watch((op, args) => (op === 'unlink' && args[0] === `${s.u}/f` ? 'EPERM' : null));
    expect(codeOf(() => s.ov.fs.unlinkSync(`${s.m}/f`))).toBe('EPERM');
    expect(s.upperTree()).toEqual({ '.wh.f': 'dir', f: 'file:up' });
  });
});

describe('writes to a lower file: the upper name appears once, with the new content', () => {
  for (const [name, run, expected] of [
    ['writeFile', (x: typeof fs, p: string) => x.writeFileSync(p, 'new'), 'new'],
    ['appendFile', (x: typeof fs, p: string) => x.appendFileSync(p, '+tail'), 'old content+tail'],
    ['truncate', (x: typeof fs, p: string) => x.truncateSync(p, 3), 'old'],
  ] as const) {
    test(`${name}: the change is made in the work directory, then one rename publishes it`, () => {
      const s = stack({ 'd/f': 'old content' });
      const calls = watch();
      run(s.ov.fs, `${s.m}/d/f`);
      const touching = calls.filter((c) => to(c) === `${s.u}/d/f`);
      expect(touching.map((c) => c.op)).toEqual(['rename']);
      expect(String(touching[0].args[0]).startsWith(s.w + '/')).toBe(true);
      expect(s.ov.fs.readFileSync(`${s.m}/d/f`, 'utf8')).toBe(expected);
      expect(s.temporaries()).toEqual([]);
    });

    test(`${name}: a write that fails (ENOSPC) leaves the lower content visible, nothing in the upper`, () => {
      const s = stack({ 'd/f': 'old content' });
      watch((op, args) => ((op === 'writeFile' || op === 'truncate') && String(args[0]).startsWith(s.w + '/') ? 'ENOSPC' : null));
      expect(codeOf(() => run(s.ov.fs, `${s.m}/d/f`))).toBe('ENOSPC');
      expect(s.ov.fs.readFileSync(`${s.m}/d/f`, 'utf8')).toBe('old content');
      expect(s.ov.which(`${s.m}/d/f`)!.layer.role).toBe('lower');
      expect(Object.values(s.upperTree()).filter((v) => v !== 'dir')).toEqual([]);
      expect(s.temporaries()).toEqual([]);
    });
  }

  test('writeFile (O_TRUNC) and truncate to 0 do not copy the old data', () => {
    const s = stack({ f: 'old', g: 'old' });
    const calls = watch();
    s.ov.fs.writeFileSync(`${s.m}/f`, 'new');
    s.ov.fs.truncateSync(`${s.m}/g`);
    expect(calls.filter((c) => c.op === 'copyFile')).toEqual([]);
    expect([s.ov.fs.readFileSync(`${s.m}/f`, 'utf8'), s.ov.fs.readFileSync(`${s.m}/g`, 'utf8')]).toEqual(['new', '']);
  });

  test('the copy keeps the lower mode', () => {
    const s = stack({ f: 'old' });
    fs.chmodSync(`${s.l1}/f`, 0o640);
    s.ov.fs.appendFileSync(`${s.m}/f`, '!');
    expect(fs.statSync(`${s.u}/f`).mode & 0o777).toBe(0o640);
  });

  test('an upper file is written in place (nothing to publish)', () => {
    const s = stack({}, { f: 'up' });
    const calls = watch();
    s.ov.fs.appendFileSync(`${s.m}/f`, '!');
    expect(calls.filter((c) => c.op === 'rename')).toEqual([]);
    expect(s.ov.fs.readFileSync(`${s.m}/f`, 'utf8')).toBe('up!');
  });
});

describe('mkdir over a whiteout: prepared in the work directory, taken back on failure', () => {
  for (const step of ['writeFile', 'rename'] as const) {
    test(`failing at ${step}: the whiteout stays, no temporary`, () => {
      const s = stack({ 'gone/old': 'old' }, { '.wh.gone': '' });
      watch((op, args) => (op === step && (step === 'writeFile' ? String(args[0]).endsWith('.wh..wh..opq') : args[1] === `${s.u}/gone`) ? 'ENOSPC' : null));
      expect(codeOf(() => s.ov.fs.mkdirSync(`${s.m}/gone`))).toBe('ENOSPC');
      expect(s.upperTree()).toEqual({ '.wh.gone': 'file:' });
      expect(s.merged()).toEqual({});
      expect(s.temporaries()).toEqual([]);
    });
  }

  test('over a kernel whiteout (a 0:0 device): a failure puts the device back, success leaves an opaque directory', () => {
    if (process.getuid?.() !== 0) return; // mknod needs root
    const s = stack({ 'gone/old': 'old' });
    execFileSync('mknod', [`${s.u}/gone`, 'c', '0', '0']);
    let once = true; // the publishing rename fails; the roll-back's rename of the device back succeeds
    const failing = watch((op, args) => (once && op === 'rename' && args[1] === `${s.u}/gone` && !(once = false) ? 'ENOSPC' : null));
    expect(codeOf(() => s.ov.fs.mkdirSync(`${s.m}/gone`))).toBe('ENOSPC');
    expect(fs.lstatSync(`${s.u}/gone`).isCharacterDevice()).toBe(true);
    expect(fs.readdirSync(s.u)).toEqual(['gone']);
    expect(s.merged()).toEqual({});
    expect(s.temporaries()).toEqual([]);
    // Until the directory is in place, an OCI whiteout hides the name in the device's stead.
    const steps = failing.filter((c) => to(c) === `${s.u}/.wh.gone` || c.args[0] === `${s.u}/gone`).map((c) => c.op);
    expect(steps.slice(0, 2)).toEqual(['writeFile', 'rename']);
    for (const r of restore.splice(0).reverse()) r();
    s.ov.fs.mkdirSync(`${s.m}/gone`);
    expect(s.upperTree()).toEqual({ gone: 'dir', 'gone/.wh..wh..opq': 'file:' });
    expect(s.merged()).toEqual({ gone: 'dir' });
  });

  test('a file created over a kernel whiteout: the name stays hidden if the creation fails', () => {
    if (process.getuid?.() !== 0) return; // mknod needs root
    const s = stack({ g: 'lower g' });
    execFileSync('mknod', [`${s.u}/g`, 'c', '0', '0']);
    watch((op, args) => (op === 'writeFile' && args[0] === `${s.u}/g` ? 'ENOSPC' : null));
    expect(codeOf(() => s.ov.fs.writeFileSync(`${s.m}/g`, 'new g'))).toBe('ENOSPC');
    expect(s.merged()).toEqual({});
    for (const r of restore.splice(0).reverse()) r();
    s.ov.fs.writeFileSync(`${s.m}/g`, 'new g');
    expect(s.upperTree()).toEqual({ g: 'file:new g' });
  });

  test('a whiteout that is a directory is removed when the name is created', () => {
    const s = stack({ y: 'lower y' }, { '.wh.y/': '' });
    s.ov.fs.writeFileSync(`${s.m}/y`, 'new y');
    expect(s.upperTree()).toEqual({ y: 'file:new y' });
  });
});

describe('chown: permission is checked before the copy-up', () => {
  test('a caller that does not own the lower file gets EPERM and nothing is copied up', () => {
    const s = stack({ f: 'f' });
    const st = fs.statSync(`${s.l1}/f`);
    jest.spyOn(process, 'geteuid').mockReturnValue(st.uid + 4242);
    const calls = watch();
    expect(codeOf(() => s.ov.fs.chownSync(`${s.m}/f`, st.uid, st.gid))).toBe('EPERM');
    expect(codeOf(() => s.ov.fs.lchownSync(`${s.m}/f`, st.uid, st.gid))).toBe('EPERM');
    expect(calls).toEqual([]);
    expect(s.upperTree()).toEqual({});
  });

  test('the owner may name itself and its present group; -1 -1 is allowed to anyone', () => {
    const s = stack({ f: 'f', g: 'g' });
    const gid = fs.statSync(`${s.l1}/f`).gid;
    fs.chownSync(`${s.l1}/f`, 4321, gid); // (the test runs as root or as the files' owner)
    const asOwner = jest.spyOn(process, 'geteuid').mockReturnValue(4321);
    expect(codeOf(() => s.ov.fs.chownSync(`${s.m}/f`, 4322, gid))).toBe('EPERM');
    expect(s.ov.which(`${s.m}/f`)!.layer.role).toBe('lower');
    asOwner.mockReturnValue(4999);
    s.ov.fs.chownSync(`${s.m}/g`, -1, -1);
    asOwner.mockReturnValue(4321);
    if (process.getuid?.() === 0) {
      s.ov.fs.chownSync(`${s.m}/f`, 4321, gid);
      expect(s.ov.which(`${s.m}/f`)!.layer.role).toBe('upper');
      expect(fs.statSync(`${s.u}/f`).uid).toBe(4321);
    }
  });
});
