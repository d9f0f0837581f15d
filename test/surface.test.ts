/**
 * The whole fs surface is served: every function of the installed Node's fs and fs/promises
 * is either routed through the overlay or explicitly descriptor-only, and each path-taking
 * function is exercised on a merged path that exists in no real directory (the mountpoint is
 * not on disk), so an unrouted function fails here.
 */
import * as nodeFs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createOverlay } from '../lib';

/** fs functions that take no path (descriptors, helpers) and so pass through unchanged. */
const NO_PATH = new Set([
  'fdatasync', 'fdatasyncSync', 'fstat', 'fstatSync', 'fsync', 'fsyncSync', 'ftruncate', 'ftruncateSync',
  'read', 'readSync', 'readv', 'readvSync', 'write', 'writeSync', 'writev', 'writevSync', '_toUnixTimestamp',
  // lchmod does not exist on Linux (undefined); listed for other platforms' builds of Node.
  'lchmod', 'lchmodSync',
]);
/** Descriptor functions the overlay wraps (to copy up on metadata changes, to forget closed fds). */
const FD_WRAPPED = ['close', 'closeSync', 'fchmod', 'fchmodSync', 'fchown', 'fchownSync', 'futimes', 'futimesSync'];

let base: string;
let m: string;
let ov: ReturnType<typeof createOverlay>;

beforeEach(() => {
  base = nodeFs.mkdtempSync(path.join(os.tmpdir(), 'ovfs-surface-'));
  for (const d of ['u', 'l1']) nodeFs.mkdirSync(path.join(base, d));
  nodeFs.writeFileSync(path.join(base, 'l1/f'), 'lower-f');
  nodeFs.mkdirSync(path.join(base, 'l1/d'));
  nodeFs.writeFileSync(path.join(base, 'l1/d/x'), 'x');
  nodeFs.symlinkSync('f', path.join(base, 'l1/link'));
  m = path.join(base, 'm'); // deliberately not created: only the overlay can answer
  ov = createOverlay({ mountpoint: m, upper: path.join(base, 'u'), lower: [path.join(base, 'l1')] });
});
afterEach(() => nodeFs.rmSync(base, { recursive: true, force: true }));

function fnNames(obj: object): string[] {
  return Object.keys(obj).filter((k) => typeof (obj as Record<string, unknown>)[k] === 'function' && !/^[A-Z]/.test(k));
}

test('every fs function is routed or explicitly descriptor-only', () => {
  const unrouted: string[] = [];
  for (const name of fnNames(nodeFs)) {
    if (NO_PATH.has(name)) continue;
    if ((ov.fs as any)[name] === (nodeFs as any)[name]) unrouted.push(name);
  }
  expect(unrouted).toEqual([]);
  for (const name of FD_WRAPPED) expect((ov.fs as any)[name]).not.toBe((nodeFs as any)[name]);
});

test('every fs.promises function is routed', () => {
  const unrouted = fnNames(nodeFs.promises).filter((n) => n !== 'lchmod' && (ov.fs.promises as any)[n] === (nodeFs.promises as any)[n]);
  expect(unrouted).toEqual([]);
});

test('function metadata is kept', () => {
  expect(typeof ov.fs.realpathSync.native).toBe('function');
  expect(typeof ov.fs.realpath.native).toBe('function');
  expect(ov.fs.statSync.name).toBe('statSync');
  expect(typeof (ov.fs.exists as any)[require('util').promisify.custom]).toBe('function');
});

/** One call per path-taking sync function, on merged paths; each would fail on real fs (m is absent). */
const SYNC_CALLS: Record<string, (o: typeof nodeFs) => void> = {
  accessSync: (o) => o.accessSync(`${m}/f`),
  appendFileSync: (o) => { o.appendFileSync(`${m}/f`, '+'); expect(o.readFileSync(`${m}/f`, 'utf8')).toBe('lower-f+'); },
  chmodSync: (o) => { o.chmodSync(`${m}/f`, 0o600); expect(o.statSync(`${m}/f`).mode & 0o777).toBe(0o600); },
  chownSync: (o) => o.chownSync(`${m}/f`, process.getuid!(), process.getgid!()),
  copyFileSync: (o) => { o.copyFileSync(`${m}/f`, `${m}/g`); expect(o.readFileSync(`${m}/g`, 'utf8')).toBe('lower-f'); },
  cpSync: (o) => { o.cpSync(`${m}/d`, `${m}/d2`, { recursive: true }); expect(o.readdirSync(`${m}/d2`)).toEqual(['x']); },
  existsSync: (o) => expect(o.existsSync(`${m}/d/x`)).toBe(true),
  lchownSync: (o) => o.lchownSync(`${m}/link`, process.getuid!(), process.getgid!()),
  linkSync: (o) => { o.linkSync(`${m}/f`, `${m}/h`); expect(o.statSync(`${m}/h`).nlink).toBe(2); },
  lstatSync: (o) => expect(o.lstatSync(`${m}/link`).isSymbolicLink()).toBe(true),
  lutimesSync: (o) => o.lutimesSync(`${m}/link`, 1, 2),
  mkdirSync: (o) => { o.mkdirSync(`${m}/nd`); expect(o.statSync(`${m}/nd`).isDirectory()).toBe(true); },
  mkdtempSync: (o) => expect(o.statSync(o.mkdtempSync(`${m}/t-`)).isDirectory()).toBe(true),
  openSync: (o) => { const fd = o.openSync(`${m}/f`, 'r'); o.closeSync(fd); },
  opendirSync: (o) => { const d = o.opendirSync(`${m}/d`); expect(d.readSync()?.name).toBe('x'); d.closeSync(); },
  readdirSync: (o) => expect(o.readdirSync(`${m}`).sort()).toEqual(['d', 'f', 'link']),
  readFileSync: (o) => expect(o.readFileSync(`${m}/f`, 'utf8')).toBe('lower-f'),
  readlinkSync: (o) => expect(o.readlinkSync(`${m}/link`)).toBe('f'),
  realpathSync: (o) => expect(o.realpathSync(`${m}/link`)).toBe(`${m}/f`),
  rmSync: (o) => { o.rmSync(`${m}/d`, { recursive: true }); expect(o.existsSync(`${m}/d`)).toBe(false); },
  rmdirSync: (o) => { o.unlinkSync(`${m}/d/x`); o.rmdirSync(`${m}/d`); expect(o.existsSync(`${m}/d`)).toBe(false); },
  renameSync: (o) => { o.renameSync(`${m}/f`, `${m}/f2`); expect(o.readFileSync(`${m}/f2`, 'utf8')).toBe('lower-f'); },
  statSync: (o) => expect(o.statSync(`${m}/link`).size).toBe(7),
  statfsSync: (o) => expect(o.statfsSync(`${m}/f`).bsize).toBeGreaterThan(0),
  symlinkSync: (o) => { o.symlinkSync('d/x', `${m}/s`); expect(o.readFileSync(`${m}/s`, 'utf8')).toBe('x'); },
  truncateSync: (o) => { o.truncateSync(`${m}/f`, 3); expect(o.readFileSync(`${m}/f`, 'utf8')).toBe('low'); },
  unlinkSync: (o) => { o.unlinkSync(`${m}/f`); expect(o.existsSync(`${m}/f`)).toBe(false); },
  utimesSync: (o) => { o.utimesSync(`${m}/f`, 1000, 2000); expect(o.statSync(`${m}/f`).mtimeMs).toBe(2000000); },
  writeFileSync: (o) => { o.writeFileSync(`${m}/new`, 'n'); expect(o.readFileSync(`${m}/new`, 'utf8')).toBe('n'); },
};

test.each(Object.keys(SYNC_CALLS))('%s works on a merged path', (name) => {
  SYNC_CALLS[name](ov.fs);
  expect(nodeFs.readFileSync(path.join(base, 'l1/f'), 'utf8')).toBe('lower-f');
  expect(nodeFs.existsSync(m)).toBe(false);
});

test('every path-taking sync function has a call above', () => {
  const pathSync = fnNames(nodeFs).filter((n) => n.endsWith('Sync') && !NO_PATH.has(n) && !FD_WRAPPED.includes(n));
  expect(pathSync.filter((n) => !(n in SYNC_CALLS))).toEqual([]);
});

/** One call per fs.promises function, on merged paths. */
const PROMISE_CALLS: Record<string, (p: typeof nodeFs.promises) => Promise<void>> = {
  access: (p) => p.access(`${m}/f`),
  appendFile: async (p) => { await p.appendFile(`${m}/f`, '+'); expect(await p.readFile(`${m}/f`, 'utf8')).toBe('lower-f+'); },
  chmod: async (p) => { await p.chmod(`${m}/f`, 0o600); expect((await p.stat(`${m}/f`)).mode & 0o777).toBe(0o600); },
  chown: (p) => p.chown(`${m}/f`, process.getuid!(), process.getgid!()),
  copyFile: async (p) => { await p.copyFile(`${m}/f`, `${m}/g`); expect(await p.readFile(`${m}/g`, 'utf8')).toBe('lower-f'); },
  cp: async (p) => { await p.cp(`${m}/d`, `${m}/d2`, { recursive: true }); expect(await p.readdir(`${m}/d2`)).toEqual(['x']); },
  lchown: (p) => p.lchown(`${m}/link`, process.getuid!(), process.getgid!()),
  link: async (p) => { await p.link(`${m}/f`, `${m}/h`); expect((await p.stat(`${m}/h`)).nlink).toBe(2); },
  lstat: async (p) => { expect((await p.lstat(`${m}/link`)).isSymbolicLink()).toBe(true); },
  lutimes: (p) => p.lutimes(`${m}/link`, 1, 2),
  mkdir: async (p) => { await p.mkdir(`${m}/nd`); expect((await p.stat(`${m}/nd`)).isDirectory()).toBe(true); },
  mkdtemp: async (p) => { expect((await p.stat(await p.mkdtemp(`${m}/t-`))).isDirectory()).toBe(true); },
  open: async (p) => { const fh = await p.open(`${m}/f`, 'r'); expect(await fh.readFile('utf8')).toBe('lower-f'); await fh.close(); },
  opendir: async (p) => { const names = []; for await (const d of await p.opendir(`${m}/d`)) names.push(d.name); expect(names).toEqual(['x']); },
  readdir: async (p) => { expect((await p.readdir(m)).sort()).toEqual(['d', 'f', 'link']); },
  readFile: async (p) => { expect(await p.readFile(`${m}/f`, 'utf8')).toBe('lower-f'); },
  readlink: async (p) => { expect(await p.readlink(`${m}/link`)).toBe('f'); },
  realpath: async (p) => { expect(await p.realpath(`${m}/link`)).toBe(`${m}/f`); },
  rename: async (p) => { await p.rename(`${m}/f`, `${m}/f2`); expect(await p.readFile(`${m}/f2`, 'utf8')).toBe('lower-f'); },
  rm: async (p) => { await p.rm(`${m}/d`, { recursive: true }); await expect(p.stat(`${m}/d`)).rejects.toMatchObject({ code: 'ENOENT' }); },
  rmdir: async (p) => { await p.unlink(`${m}/d/x`); await p.rmdir(`${m}/d`); await expect(p.stat(`${m}/d`)).rejects.toMatchObject({ code: 'ENOENT' }); },
  stat: async (p) => { expect((await p.stat(`${m}/link`)).size).toBe(7); },
  statfs: async (p) => { expect((await p.statfs(`${m}/f`)).bsize).toBeGreaterThan(0); },
  symlink: async (p) => { await p.symlink('d/x', `${m}/s`); expect(await p.readFile(`${m}/s`, 'utf8')).toBe('x'); },
  truncate: async (p) => { await p.truncate(`${m}/f`, 3); expect(await p.readFile(`${m}/f`, 'utf8')).toBe('low'); },
  unlink: async (p) => { await p.unlink(`${m}/f`); await expect(p.stat(`${m}/f`)).rejects.toMatchObject({ code: 'ENOENT' }); },
  utimes: async (p) => { await p.utimes(`${m}/f`, 1000, 2000); expect((await p.stat(`${m}/f`)).mtimeMs).toBe(2000000); },
  // An unrouted watch would fail with ENOENT (m is not on disk); a routed one waits until aborted.
  watch: async (p) => {
    const ac = new AbortController();
    const it = p.watch(`${m}/d`, { signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await expect((async () => { for await (const _ of it) break; })()).rejects.toMatchObject({ name: 'AbortError' });
  },
  writeFile: async (p) => { await p.writeFile(`${m}/new`, 'n'); expect(await p.readFile(`${m}/new`, 'utf8')).toBe('n'); },
};

test.each(Object.keys(PROMISE_CALLS))('promises.%s works on a merged path', async (name) => {
  await PROMISE_CALLS[name](ov.fs.promises);
  expect(nodeFs.readFileSync(path.join(base, 'l1/f'), 'utf8')).toBe('lower-f');
  expect(nodeFs.existsSync(m)).toBe(false);
});

test('every fs.promises function has a call above', () => {
  expect(fnNames(nodeFs.promises).filter((n) => n !== 'lchmod' && !(n in PROMISE_CALLS))).toEqual([]);
});

test.each(Object.keys(SYNC_CALLS).map((n) => n.replace(/Sync$/, '')).filter((n) => n !== 'exists'))(
  'callback form %s works on a merged path',
  async (name) => {
    const call = (...args: unknown[]) => new Promise((res, rej) => (ov.fs as any)[name](...args, (e: Error | null, v: unknown) => (e ? rej(e) : res(v))));
    const args: Record<string, unknown[]> = {
      access: [`${m}/f`], appendFile: [`${m}/f`, '+'], chmod: [`${m}/f`, 0o600], chown: [`${m}/f`, 0, 0],
      copyFile: [`${m}/f`, `${m}/g`], cp: [`${m}/d`, `${m}/d2`, { recursive: true }], lchown: [`${m}/link`, 0, 0],
      link: [`${m}/f`, `${m}/h`], lstat: [`${m}/link`], lutimes: [`${m}/link`, 1, 2], mkdir: [`${m}/nd`],
      mkdtemp: [`${m}/t-`], open: [`${m}/f`, 'r'], opendir: [`${m}/d`], readdir: [m], readFile: [`${m}/f`, 'utf8'],
      readlink: [`${m}/link`], realpath: [`${m}/link`], rm: [`${m}/d`, { recursive: true }], rmdir: [`${m}/nope`],
      rename: [`${m}/f`, `${m}/f2`], stat: [`${m}/f`], statfs: [`${m}/f`], symlink: [`d/x`, `${m}/s`],
      truncate: [`${m}/f`, 3], unlink: [`${m}/f`], utimes: [`${m}/f`, 1, 2], writeFile: [`${m}/new`, 'n'],
    };
    if (name === 'rmdir') {
      await expect(call(...args.rmdir)).rejects.toMatchObject({ code: 'ENOENT', path: `${m}/nope` });
      return;
    }
    const value = await call(...args[name]);
    if (name === 'open') ov.fs.closeSync(value as number);
    if (name === 'opendir') (value as nodeFs.Dir).closeSync();
    if (name === 'readFile') expect(value).toBe('lower-f');
    if (name === 'readlink') expect(value).toBe('f');
    if (name === 'realpath') expect(value).toBe(`${m}/f`);
    if (name === 'readdir') expect((value as string[]).sort()).toEqual(['d', 'f', 'link']);
    if (name === 'stat') expect((value as nodeFs.Stats).size).toBe(7);
    expect(nodeFs.readFileSync(path.join(base, 'l1/f'), 'utf8')).toBe('lower-f');
    expect(nodeFs.existsSync(m)).toBe(false);
  },
);

test('watchFile and watch accept merged paths', async () => {
  const listener = () => undefined;
  ov.fs.watchFile(`${m}/f`, { interval: 50, persistent: false }, listener);
  ov.fs.unwatchFile(`${m}/f`, listener);
  const w = ov.fs.watch(`${m}/d`);
  w.close();
});

test('streams open through the merged view and keep the merged path', async () => {
  const rs = ov.fs.createReadStream(`${m}/f`, 'utf8');
  expect(rs.path).toBe(`${m}/f`);
  let data = '';
  for await (const chunk of rs) data += chunk;
  expect(data).toBe('lower-f');
  const ws = ov.fs.createWriteStream(`${m}/f`, { flags: 'a' });
  await new Promise<void>((res, rej) => ws.end('!', () => res()).on('error', rej));
  expect(ov.fs.readFileSync(`${m}/f`, 'utf8')).toBe('lower-f!');
  expect(nodeFs.readFileSync(path.join(base, 'l1/f'), 'utf8')).toBe('lower-f');
});

test('openAsBlob reads the merged file', async () => {
  const blob = await (ov.fs as any).openAsBlob(`${m}/f`);
  expect(await blob.text()).toBe('lower-f');
});

test('paths outside the mountpoint are untouched', () => {
  const outside = path.join(base, 'outside.txt');
  ov.fs.writeFileSync(outside, 'plain');
  expect(nodeFs.readFileSync(outside, 'utf8')).toBe('plain');
  expect(() => ov.fs.statSync(path.join(base, 'nope'))).toThrow(/ENOENT/);
});
