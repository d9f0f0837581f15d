/**
 * The fast path for remembered reads (lib/ops/read.ts `*Quick`, lib/router/resolve.ts
 * `remembered`): a sync stat, lstat, access, readFile or exists of a path the router has
 * already resolved answers from the remembered entry and the one real call. It must give
 * exactly what the full operation gives (the same overlay with `cache: false` on the same
 * layers is the reference), fall back to the full operation for anything it does not take
 * (errors included, which must name the caller's merged path), and see changes made behind
 * the overlay's back like the full operation does.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createOverlay } from '../lib';
import { countCalls, countCallsAsync } from './helpers/real-calls';
import { configureIndex, type IndexSettings } from '../lib/router/index-cache';
import type { Overlay } from '../lib/types';

let base: string;
let n = 0;
let saved: IndexSettings;
beforeAll(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'ovfs-fast-'));
  // A long TTL, watched or not: the remembered answers stay valid without I/O for the whole
  // test (no period of the clock ends between a warm-up and a count).
  saved = configureIndex({ ttlMs: 60 * 60_000, watchedTtlMs: 60 * 60_000 });
});
afterAll(() => {
  configureIndex(saved);
  fs.rmSync(base, { recursive: true, force: true });
});

interface Stack { m: string; u: string; l1: string; l2: string; w: string; mc: string; wc: string }

function stack(): Stack {
  const dir = path.join(base, `s${n++}`);
  const s = { m: `${dir}/m`, u: `${dir}/u`, l1: `${dir}/l1`, l2: `${dir}/l2`, w: `${dir}/w`, mc: `${dir}/mc`, wc: `${dir}/wc` };
  for (const d of [s.u, s.l1, s.l2]) fs.mkdirSync(d, { recursive: true });
  const put = (f: string, data: string) => { fs.mkdirSync(path.dirname(f), { recursive: true }); fs.writeFileSync(f, data); };
  put(`${s.l1}/d/bottom.txt`, 'bottom');
  put(`${s.l1}/d/gone.txt`, 'whited out');
  put(`${s.l2}/d/middle.txt`, 'middle');
  put(`${s.l2}/d/e/deep.txt`, 'deep');
  put(`${s.u}/d/top.txt`, 'top');
  fs.mkdirSync(`${s.l1}/d/sub`);
  fs.mkdirSync(`${s.u}/d/sub`);
  fs.writeFileSync(`${s.u}/d/.wh.gone.txt`, '');
  fs.symlinkSync('bottom.txt', `${s.u}/d/link`);
  fs.symlinkSync('nowhere', `${s.u}/d/dangling`);
  fs.chmodSync(`${s.l1}/d/bottom.txt`, 0o640);
  return s;
}

const cached = (s: Stack): Overlay => createOverlay({ mountpoint: s.m, upper: s.u, lower: [s.l2, s.l1], workdir: s.w });
const uncached = (s: Stack): Overlay => createOverlay({ mountpoint: s.mc, upper: s.u, lower: [s.l2, s.l1], workdir: s.wc, cache: false });

/** An operation's outcome, comparable across two mountpoints: value (merged paths made relative) or error code and message. */
function outcome(fn: () => unknown, mount: string): string {
  try {
    const v = fn();
    if (v instanceof fs.Stats) return `stats ${v.isFile() ? 'file' : v.isDirectory() ? 'dir' : v.isSymbolicLink() ? 'link' : 'other'} size=${v.size} mode=${v.mode.toString(8)} nlink=${v.nlink} ino=${v.ino}`;
    if (v !== null && typeof v === 'object' && 'nlink' in (v as object)) {
      const b = v as fs.BigIntStats;
      return `bigint size=${b.size} nlink=${b.nlink} ino=${b.ino} mtimeNs=${b.mtimeNs}`;
    }
    return `value ${Buffer.isBuffer(v) ? `buffer ${v.toString()}` : JSON.stringify(v)}`;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return `error ${err.code} ${err.syscall} ${String(err.path).split(mount).join('<m>')} ${err.message.split(mount).join('<m>')}`;
  }
}

const NAMES = ['d/bottom.txt', 'd/middle.txt', 'd/top.txt', 'd/gone.txt', 'd/missing', 'd', 'd/sub', 'd/e', 'd/e/deep.txt', 'd/link', 'd/dangling', 'd/bottom.txt/x', 'nope/x'];

const CALLS: Array<[string, (xfs: typeof fs, p: string) => unknown]> = [
  ['statSync', (x, p) => x.statSync(p)],
  ['statSync quiet', (x, p) => x.statSync(p, { throwIfNoEntry: false }) ?? 'undefined'],
  ['statSync bigint', (x, p) => x.statSync(p, { bigint: true })],
  ['lstatSync', (x, p) => x.lstatSync(p)],
  ['lstatSync quiet', (x, p) => x.lstatSync(p, { throwIfNoEntry: false }) ?? 'undefined'],
  ['existsSync', (x, p) => x.existsSync(p)],
  ['accessSync', (x, p) => x.accessSync(p)],
  ['accessSync R_OK', (x, p) => x.accessSync(p, fs.constants.R_OK)],
  ['accessSync W_OK', (x, p) => x.accessSync(p, fs.constants.W_OK)],
  ['readFileSync', (x, p) => x.readFileSync(p)],
  ['readFileSync utf8', (x, p) => x.readFileSync(p, 'utf8')],
  ['readFileSync {encoding}', (x, p) => x.readFileSync(p, { encoding: 'utf8' })],
  ['readFileSync {flag: r}', (x, p) => x.readFileSync(p, { flag: 'r' })],
];

describe('remembered reads give what the full operation gives', () => {
  test.each(CALLS)('%s: every kind of name, twice (cold, then remembered), equals the cache-off overlay', (_label, call) => {
    const s = stack();
    const ov = cached(s);
    const ref = uncached(s);
    for (let round = 0; round < 2; round++) {
      for (const name of NAMES) {
        expect(`${name}: ${outcome(() => call(ov.fs, `${s.m}/${name}`), s.m)}`)
          .toBe(`${name}: ${outcome(() => call(ref.fs, `${s.mc}/${name}`), s.mc)}`);
      }
    }
  });

  test('a remembered hit makes only the real call: one lstat, one read, one existence check', () => {
    const s = stack();
    const ov = cached(s);
    const p = `${s.m}/d/bottom.txt`;
    ov.fs.statSync(p); // remembers the path
    const names = ['lstatSync', 'statSync', 'readFileSync', 'accessSync', 'existsSync', 'readdirSync', 'openSync'];
    const only = (k: string) => ({ ...Object.fromEntries(names.map((x) => [x, 0])), [k]: 1 });
    expect(countCalls(names, () => expect(ov.fs.statSync(p).size).toBe(6))).toEqual(only('lstatSync'));
    expect(countCalls(names, () => expect(ov.fs.readFileSync(p, 'utf8')).toBe('bottom'))).toEqual(only('readFileSync'));
    // exists: one existence check (no Stats object), as plain existsSync makes.
    const ex = countCalls(names, () => expect(ov.fs.existsSync(p)).toBe(true));
    expect(ex.existsSync + ex.accessSync).toBe(1);
    expect(Object.values(ex).reduce((a, b) => a + b)).toBe(1);
    expect(countCalls(names, () => ov.fs.accessSync(p, fs.constants.R_OK))).toEqual(only('accessSync'));
    // A remembered miss: no call at all.
    expect(ov.fs.existsSync(`${s.m}/d/missing`)).toBe(false);
    expect(countCalls(names, () => expect(ov.fs.existsSync(`${s.m}/d/missing`)).toBe(false))).toEqual(Object.fromEntries(names.map((x) => [x, 0])));
  });

  test('paths outside the mount, and paths needing normalisation, are served as before', () => {
    const s = stack();
    const ov = cached(s);
    expect(ov.fs.readFileSync(`${s.l1}/d/bottom.txt`, 'utf8')).toBe('bottom'); // outside: plain fs
    expect(ov.fs.existsSync(`${s.u}/d/.wh.gone.txt`)).toBe(true);
    expect(ov.fs.readFileSync(`${s.m}/d/sub/../bottom.txt`, 'utf8')).toBe('bottom');
    expect(ov.fs.readFileSync(`${s.m}//d/./top.txt`, 'utf8')).toBe('top');
    expect(() => ov.fs.statSync(`${s.m}/d/top.txt/`)).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
    expect(ov.fs.existsSync(`${s.m}/d/bottom.txt/`)).toBe(false);
  });

  test('a path of PATH_MAX bytes or more fails ENAMETOOLONG, as Node does, even once the router has remembered it', async () => {
    const s = stack();
    // A virtual mountpoint near PATH_MAX over short layers: the real paths stay short.
    const m = `${path.dirname(s.m)}/${Array(20).fill('v'.repeat(203)).join('/')}`;
    const ov = createOverlay({ mountpoint: m, upper: s.u, lower: [s.l2, s.l1], workdir: s.w });
    const p = `${m}/d/bottom.txt`;
    expect(Buffer.byteLength(p)).toBeGreaterThanOrEqual(4096);
    // realpath walks the path one component at a time (no PATH_MAX on its input), as the C library does.
    expect(ov.fs.realpathSync.native(p)).toBe(p);
    const code = (fn: () => unknown) => { try { fn(); return 'ok'; } catch (e) { return (e as NodeJS.ErrnoException).code; } };
    const codeAsync = async (fn: () => Promise<unknown>) => { try { await fn(); return 'ok'; } catch (e) { return (e as NodeJS.ErrnoException).code; } };
    expect({
      stat: code(() => ov.fs.statSync(p)),
      statQuiet: code(() => ov.fs.statSync(p, { throwIfNoEntry: false })),
      lstat: code(() => ov.fs.lstatSync(p)),
      access: code(() => ov.fs.accessSync(p)),
      readFile: code(() => ov.fs.readFileSync(p)),
      exists: ov.fs.existsSync(p),
      promiseStat: await codeAsync(() => ov.fs.promises.stat(p)),
      promiseLstat: await codeAsync(() => ov.fs.promises.lstat(p)),
      promiseReadFile: await codeAsync(() => ov.fs.promises.readFile(p)),
    }).toEqual({
      stat: 'ENAMETOOLONG', statQuiet: 'ENAMETOOLONG', lstat: 'ENAMETOOLONG', access: 'ENAMETOOLONG', readFile: 'ENAMETOOLONG', exists: false,
      promiseStat: 'ENAMETOOLONG', promiseLstat: 'ENAMETOOLONG', promiseReadFile: 'ENAMETOOLONG',
    });
    ov.close();
  });
});

/** outcome() for a promise. */
async function outcomeAsync(fn: () => Promise<unknown>, mount: string): Promise<string> {
  let v: unknown;
  try {
    v = await fn();
  } catch (e) {
    return outcome(() => { throw e; }, mount);
  }
  return outcome(() => v, mount);
}

const PROMISE_CALLS: Array<[string, (xfs: typeof fs, p: string) => Promise<unknown>]> = [
  ['promises.stat', (x, p) => x.promises.stat(p)],
  ['promises.stat bigint', (x, p) => x.promises.stat(p, { bigint: true })],
  ['promises.lstat', (x, p) => x.promises.lstat(p)],
  ['promises.readFile', (x, p) => x.promises.readFile(p)],
  ['promises.readFile utf8', (x, p) => x.promises.readFile(p, 'utf8')],
  ['promises.readFile {encoding}', (x, p) => x.promises.readFile(p, { encoding: 'utf8' })],
];

describe('remembered reads in the promise forms', () => {
  test.each(PROMISE_CALLS)('%s: every kind of name, twice, equals the cache-off overlay', async (_label, call) => {
    const s = stack();
    const ov = cached(s);
    const ref = uncached(s);
    for (let round = 0; round < 2; round++) {
      for (const name of NAMES) {
        expect(`${name}: ${await outcomeAsync(() => call(ov.fs, `${s.m}/${name}`), s.m)}`)
          .toBe(`${name}: ${await outcomeAsync(() => call(ref.fs, `${s.mc}/${name}`), s.mc)}`);
      }
    }
  });

  test('a remembered hit makes only the real call, never a synchronous one', async () => {
    const s = stack();
    const ov = cached(s);
    const p = `${s.m}/d/bottom.txt`;
    await ov.fs.promises.stat(p);
    const names = ['lstat', 'lstatSync', 'readFile', 'readFileSync', 'readdirSync', 'readdir'];
    const counts = await countCallsAsync(names, async () => {
      expect((await ov.fs.promises.stat(p)).size).toBe(6);
      expect(await ov.fs.promises.readFile(p, 'utf8')).toBe('bottom');
    });
    expect(counts).toEqual({ lstat: 1, lstatSync: 0, readFile: 1, readFileSync: 0, readdirSync: 0, readdir: 0 });
  });

  test('a file deleted behind the back: the promise rejects with ENOENT naming the merged path', async () => {
    const s = stack();
    const ov = cached(s);
    const p = `${s.m}/d/bottom.txt`;
    await ov.fs.promises.readFile(p);
    fs.unlinkSync(`${s.l1}/d/bottom.txt`);
    await expect(ov.fs.promises.stat(p)).rejects.toMatchObject({ code: 'ENOENT', path: p });
    await expect(ov.fs.promises.readFile(p)).rejects.toMatchObject({ code: 'ENOENT', path: p });
  });
});

describe('changes behind the back, while the remembered answer is still within its TTL', () => {
  test('a file deleted from its lower: stat/readFile fail with ENOENT naming the merged path; exists says false', () => {
    const s = stack();
    const ov = cached(s);
    const p = `${s.m}/d/bottom.txt`;
    expect(ov.fs.statSync(p).size).toBe(6);
    expect(ov.fs.readFileSync(p, 'utf8')).toBe('bottom');
    fs.unlinkSync(`${s.l1}/d/bottom.txt`);
    expect(ov.fs.existsSync(p)).toBe(false);
    expect(() => ov.fs.statSync(p)).toThrow(expect.objectContaining({ code: 'ENOENT', path: p }));
    expect(() => ov.fs.readFileSync(p)).toThrow(expect.objectContaining({ code: 'ENOENT', path: p }));
    expect(ov.fs.statSync(p, { throwIfNoEntry: false })).toBeUndefined();
  });

  test('a file replaced in place in its lower: the new contents and size show at once (the real call is made every time)', () => {
    const s = stack();
    const ov = cached(s);
    const p = `${s.m}/d/middle.txt`;
    expect(ov.fs.readFileSync(p, 'utf8')).toBe('middle');
    fs.writeFileSync(`${s.l2}/d/middle.txt`, 'changed behind the back');
    expect(ov.fs.readFileSync(p, 'utf8')).toBe('changed behind the back');
    expect(ov.fs.statSync(p).size).toBe('changed behind the back'.length);
  });
});

describe('after the TTL, on the fast path', () => {
  let before: IndexSettings;
  // Watched or not, every index is trusted for 20 ms here.
  beforeEach(() => { before = configureIndex({ ttlMs: 20, watchedTtlMs: 20 }); });
  afterEach(() => { configureIndex(before); });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  test('unchanged directories are trusted again with one lstat each, without reading them again', async () => {
    const s = stack();
    // A directory changed (ctime) within the timestamp granularity of its reading is read again
    // at its next check ("racy"): let these age first.
    await sleep(50);
    const ov = cached(s);
    const p = `${s.m}/d/e/deep.txt`;
    expect(ov.fs.readFileSync(p, 'utf8')).toBe('deep');
    await sleep(40);
    const calls = countCalls(['lstatSync', 'readdirSync', 'readFileSync'], () => expect(ov.fs.readFileSync(p, 'utf8')).toBe('deep'));
    expect(calls.readdirSync).toBe(0);
    expect(calls.readFileSync).toBe(1);
    // The layer directories the answer came from: the three roots, d in each, e in l2.
    expect(calls.lstatSync).toBe(7);
    // Trusted again: the next read makes no check.
    expect(countCalls(['lstatSync', 'readdirSync'], () => ov.fs.readFileSync(p))).toEqual({ lstatSync: 0, readdirSync: 0 });
  });

  test('a directory changed behind the back is read again: a new file shadows, a deleted one goes', async () => {
    const s = stack();
    const ov = cached(s);
    expect(ov.fs.readFileSync(`${s.m}/d/middle.txt`, 'utf8')).toBe('middle');
    expect(ov.fs.existsSync(`${s.m}/d/new.txt`)).toBe(false);
    fs.writeFileSync(`${s.u}/d/middle.txt`, 'upper now');
    fs.writeFileSync(`${s.l1}/d/new.txt`, 'new');
    fs.unlinkSync(`${s.l2}/d/e/deep.txt`);
    await sleep(40);
    expect(ov.fs.readFileSync(`${s.m}/d/middle.txt`, 'utf8')).toBe('upper now');
    expect(ov.fs.existsSync(`${s.m}/d/new.txt`)).toBe(true);
    expect(ov.fs.statSync(`${s.m}/d/e/deep.txt`, { throwIfNoEntry: false })).toBeUndefined();
  });
});
