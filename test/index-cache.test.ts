/**
 * The router's directory index (lib/router/index-cache.ts), as the README's "Performance"
 * section documents it:
 *  - a warm merged stat costs one real lstat and a warm readFile one real read, nothing else;
 *  - the overlay's own changes show at once (checked against a `cache: false` twin on the
 *    same layers after every step of seeded operation sequences);
 *  - changes made behind its back, in a lower and in the upper, show within the documented
 *    latency (its TTL): a bounded poll whose last attempt starts after the latency must see them;
 *  - memory stays within the bound; `cache: false` keeps no index.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createOverlay, patch } from '../lib';
import { overlaysFrom } from '../lib/config-entry';
import { countCalls } from './helpers/real-calls';
import { configureIndex, indexSettings, indexStats, indexOf, clearIndex, type IndexSettings } from '../lib/router/index-cache';
import type { Overlay } from '../lib/types';

let base: string;
let n = 0;
beforeAll(() => { base = fs.mkdtempSync(path.join(os.tmpdir(), 'ovfs-index-')); });
afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

const LATENCY = indexSettings().ttlMs;

interface Layers { dir: string; m: string; u: string; l2: string; l1: string; w: string }

function layers(): Layers {
  const dir = path.join(base, `s${n++}`);
  const l: Layers = { dir, m: path.join(dir, 'm'), u: path.join(dir, 'u'), l2: path.join(dir, 'l2'), l1: path.join(dir, 'l1'), w: path.join(dir, 'w') };
  for (const d of [l.u, l.l2, l.l1]) fs.mkdirSync(d, { recursive: true });
  return l;
}

const overlay = (l: Layers, cache = true): Overlay => createOverlay({ mountpoint: l.m, upper: l.u, lower: [l.l2, l.l1], workdir: l.w, cache });

function put(file: string, data: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, data);
}

/** The merged tree as one overlay's fs sees it: type, content, link target, mode. */
function tree(xfs: typeof fs, dir: string, rel = '', out: Record<string, string> = {}): Record<string, string> {
  const names = (xfs.readdirSync(rel ? `${dir}/${rel}` : dir) as string[]).slice().sort();
  for (const name of names) {
    const r = rel ? `${rel}/${name}` : name;
    const p = `${dir}/${r}`;
    const st = xfs.lstatSync(p);
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isDirectory()) { out[r] = `dir ${mode} nlink=${st.nlink}`; tree(xfs, dir, r, out); }
    else if (st.isSymbolicLink()) out[r] = `link ${xfs.readlinkSync(p)}`;
    else if (st.isFile()) out[r] = `file ${mode} ${xfs.readFileSync(p, 'utf8')}`;
    else out[r] = 'other';
    // The answer of a direct lookup, which may come from another path than the listing.
    expect(xfs.existsSync(p) || st.isSymbolicLink()).toBe(true);
  }
  return out;
}

/** What a read through the overlay gives, sync and promise forms agreeing; an error's code. */
async function read(ov: Overlay, p: string): Promise<string> {
  const sync = (() => { try { return ov.fs.readFileSync(p, 'utf8'); } catch (e) { return (e as { code: string }).code; } })();
  const viaPromise = await ov.fs.promises.readFile(p, 'utf8').catch((e: { code: string }) => e.code);
  expect(viaPromise).toBe(sync);
  return sync;
}

/**
 * A bounded poll: run `check` until it passes; fail when an attempt that started after
 * `latency` ms failed. (Never a sleep-and-hope: a pass ends it at once.)
 */
async function within(latency: number, check: () => unknown | Promise<unknown>): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const started = Date.now();
    try {
      await check();
      return started - t0;
    } catch (e) {
      if (started - t0 >= latency) throw e;
      await new Promise((r) => setTimeout(r, Math.max(1, Math.min(5, t0 + latency - Date.now()))));
    }
  }
}

const SYSCALLS = ['lstatSync', 'statSync', 'readdirSync', 'readFileSync', 'readlinkSync', 'accessSync', 'openSync'];

describe('a warm lookup makes no system call but the real one', () => {
  // No period of the clock ends between a warm-up and a count (that would add the check's lstats).
  let saved: IndexSettings;
  beforeEach(() => { saved = configureIndex({ ttlMs: 60 * 60_000, watchedTtlMs: 60 * 60_000 }); });
  afterEach(() => { configureIndex(saved); });

  test('statSync: one lstat of the serving file; readFileSync: one read; readdirSync: none', () => {
    const l = layers();
    put(`${l.l1}/a/b/c/d/deep.txt`, 'bottom');
    put(`${l.l2}/a/b/c/over.txt`, 'middle');
    put(`${l.u}/a/b/top.txt`, 'top');
    const ov = overlay(l);
    const p = `${l.m}/a/b/c/d/deep.txt`;
    expect(ov.fs.readFileSync(p, 'utf8')).toBe('bottom'); // warms the indexes
    const stat = countCalls(SYSCALLS, () => expect(ov.fs.statSync(p).size).toBe(6));
    expect(stat).toEqual({ ...Object.fromEntries(SYSCALLS.map((s) => [s, 0])), lstatSync: 1 });
    const readFile = countCalls(SYSCALLS, () => expect(ov.fs.readFileSync(p, 'utf8')).toBe('bottom'));
    expect(readFile).toEqual({ ...Object.fromEntries(SYSCALLS.map((s) => [s, 0])), readFileSync: 1 });
    const miss = countCalls(SYSCALLS, () => expect(ov.fs.existsSync(`${l.m}/a/b/c/d/missing.txt`)).toBe(false));
    expect(miss).toEqual(Object.fromEntries(SYSCALLS.map((s) => [s, 0])));
    ov.fs.readdirSync(`${l.m}/a/b`);
    const list = countCalls(SYSCALLS, () => expect((ov.fs.readdirSync(`${l.m}/a/b`) as string[]).sort()).toEqual(['c', 'top.txt']));
    expect(list).toEqual(Object.fromEntries(SYSCALLS.map((s) => [s, 0])));
  });

  test('with cache: false every lookup probes the layers, and no index is kept', () => {
    const l = layers();
    put(`${l.l1}/a/b/f.txt`, 'x');
    clearIndex();
    const ov = overlay(l, false);
    ov.fs.statSync(`${l.m}/a/b/f.txt`);
    const calls = countCalls(SYSCALLS, () => ov.fs.statSync(`${l.m}/a/b/f.txt`));
    expect(calls.lstatSync).toBeGreaterThan(3);
    expect(indexStats().directories).toBe(0);
  });
});

describe("the overlay's own changes show at once", () => {
  const ops = ['write', 'append', 'mkdir', 'unlink', 'rmdir', 'rm', 'rename', 'symlink', 'link', 'copyFile', 'chmod', 'truncate'] as const;

  /** Seeded operation sequences through the cached overlay, compared with a cache-off twin after every step. */
  test.each([1, 2, 3, 4, 5, 6])('seed %i: 60 operations, the tree after each equals the uncached view', async (seed) => {
    let s = seed * 7919;
    const rnd = (k: number) => { s = (s * 1103515245 + 12345) & 0x7fffffff; return s % k; };
    const l = layers();
    for (const layer of [l.l1, l.l2]) {
      for (const d of ['a', 'a/b', 'c']) fs.mkdirSync(`${layer}/${d}`, { recursive: true });
      for (let i = 0; i < 4; i++) put(`${layer}/${['a', 'a/b', 'c', ''][rnd(4)]}/f${rnd(6)}`, `${path.basename(layer)} ${i}`);
    }
    put(`${l.u}/a/up`, 'upper');
    const ov = overlay(l);
    const twin = overlay(l, false);
    tree(ov.fs, l.m); // warm every index
    const names = ['a', 'a/b', 'c', 'a/b/x', 'c/y', 'z', 'a/f1', 'a/b/f2', 'c/f3', 'f4', 'a/up', 'c/f0'];
    const pick = () => `${l.m}/${names[rnd(names.length)]}`;
    for (let i = 0; i < 60; i++) {
      const op = ops[rnd(ops.length)];
      const p = pick();
      const q = pick();
      const did = `${op} ${p.slice(l.m.length)} ${q.slice(l.m.length)}`;
      try {
        switch (op) {
          case 'write': ov.fs.writeFileSync(p, `w${i}`); break;
          case 'append': await ov.fs.promises.appendFile(p, `+${i}`); break;
          case 'mkdir': ov.fs.mkdirSync(p, { recursive: rnd(2) === 0 }); break;
          case 'unlink': await ov.fs.promises.unlink(p); break;
          case 'rmdir': ov.fs.rmdirSync(p); break;
          case 'rm': ov.fs.rmSync(p, { recursive: true }); break;
          case 'rename': if (rnd(2)) ov.fs.renameSync(p, q); else await ov.fs.promises.rename(p, q); break;
          case 'symlink': ov.fs.symlinkSync(`target${i}`, p); break;
          case 'link': ov.fs.linkSync(p, q); break;
          case 'copyFile': ov.fs.copyFileSync(p, q); break;
          case 'chmod': ov.fs.chmodSync(p, 0o640); break;
          case 'truncate': ov.fs.truncateSync(p, 1); break;
        }
      } catch (e) {
        if (!(e as { code?: string }).code) throw e;
      }
      let cached: Record<string, string>;
      let truth: Record<string, string>;
      try {
        cached = tree(ov.fs, l.m);
        truth = tree(twin.fs, l.m);
      } catch (e) {
        throw new Error(`after ${did}: ${(e as Error).message}`);
      }
      if (JSON.stringify(cached) !== JSON.stringify(truth)) expect({ after: did, tree: cached }).toEqual({ after: did, tree: truth });
    }
  });

  test('copy-up, whiteouts and opaque directories are seen by the very next call', () => {
    const l = layers();
    put(`${l.l1}/d/a.txt`, 'low a');
    put(`${l.l1}/d/b.txt`, 'low b');
    const ov = overlay(l);
    expect((ov.fs.readdirSync(`${l.m}/d`) as string[]).sort()).toEqual(['a.txt', 'b.txt']);
    ov.fs.appendFileSync(`${l.m}/d/a.txt`, '+');
    expect(ov.which(`${l.m}/d/a.txt`)!.layer.role).toBe('upper');
    expect(ov.fs.readFileSync(`${l.m}/d/a.txt`, 'utf8')).toBe('low a+');
    ov.fs.unlinkSync(`${l.m}/d/b.txt`);
    expect(ov.fs.existsSync(`${l.m}/d/b.txt`)).toBe(false);
    expect(ov.fs.readdirSync(`${l.m}/d`)).toEqual(['a.txt']);
    ov.fs.rmSync(`${l.m}/d`, { recursive: true });
    expect(ov.fs.existsSync(`${l.m}/d`)).toBe(false);
    ov.fs.mkdirSync(`${l.m}/d`);
    expect(ov.fs.readdirSync(`${l.m}/d`)).toEqual([]);
    expect(ov.fs.existsSync(`${l.m}/d/a.txt`)).toBe(false);
    ov.fs.renameSync(`${l.m}/d`, `${l.m}/e`);
    expect(ov.fs.existsSync(`${l.m}/d`)).toBe(false);
    expect(ov.fs.statSync(`${l.m}/e`).isDirectory()).toBe(true);
  });
});

describe('changes behind the overlay\'s back show within the documented latency', () => {
  /** Each change is made with plain fs; `expect` is what a read through the overlay must then give. */
  const cases: Array<[string, (l: Layers) => void, (l: Layers, ov: Overlay) => Promise<void>]> = [
    ['a file created in a lower', (l) => put(`${l.l1}/d/new.txt`, 'new'), async (l, ov) => {
      expect(await read(ov, `${l.m}/d/new.txt`)).toBe('new');
      expect((ov.fs.readdirSync(`${l.m}/d`) as string[]).sort()).toEqual(['f.txt', 'new.txt', 'over.txt']);
    }],
    ['a file deleted in a lower', (l) => fs.rmSync(`${l.l1}/d/f.txt`), async (l, ov) => {
      expect(await read(ov, `${l.m}/d/f.txt`)).toBe('ENOENT');
      expect(ov.fs.readdirSync(`${l.m}/d`)).toEqual(['over.txt']);
    }],
    ['a lower file replaced by a directory', (l) => { fs.rmSync(`${l.l1}/d/f.txt`); put(`${l.l1}/d/f.txt/inner`, 'inner'); }, async (l, ov) => {
      expect(ov.fs.statSync(`${l.m}/d/f.txt`).isDirectory()).toBe(true);
      expect(await read(ov, `${l.m}/d/f.txt/inner`)).toBe('inner');
    }],
    ['a lower file replaced by rename (an editor saving)', (l) => { put(`${l.l1}/d/.tmp`, 'saved'); fs.renameSync(`${l.l1}/d/.tmp`, `${l.l1}/d/f.txt`); }, async (l, ov) => {
      expect(await read(ov, `${l.m}/d/f.txt`)).toBe('saved');
    }],
    ['a file created in the upper over a lower one', (l) => put(`${l.u}/d/f.txt`, 'upper'), async (l, ov) => {
      expect(await read(ov, `${l.m}/d/f.txt`)).toBe('upper');
      expect(ov.which(`${l.m}/d/f.txt`)!.layer.role).toBe('upper');
    }],
    ['an upper file deleted: the lower shows again', (l) => fs.rmSync(`${l.u}/d/over.txt`), async (l, ov) => {
      expect(await read(ov, `${l.m}/d/over.txt`)).toBe('l2 over');
    }],
    ['an upper file replaced by a symlink', (l) => { fs.rmSync(`${l.u}/d/over.txt`); fs.symlinkSync('f.txt', `${l.u}/d/over.txt`); }, async (l, ov) => {
      expect(ov.fs.lstatSync(`${l.m}/d/over.txt`).isSymbolicLink()).toBe(true);
      expect(await read(ov, `${l.m}/d/over.txt`)).toBe('l1 f');
    }],
    ['a whiteout written into the upper', (l) => fs.writeFileSync(`${l.u}/d/.wh.f.txt`, ''), async (l, ov) => {
      expect(await read(ov, `${l.m}/d/f.txt`)).toBe('ENOENT');
      expect(ov.fs.readdirSync(`${l.m}/d`)).toEqual(['over.txt']);
    }],
    ['an opaque marker written into the upper directory', (l) => fs.writeFileSync(`${l.u}/d/.wh..wh..opq`, ''), async (l, ov) => {
      expect(ov.fs.readdirSync(`${l.m}/d`)).toEqual(['over.txt']);
      expect(await read(ov, `${l.m}/d/f.txt`)).toBe('ENOENT');
    }],
    ['a whole lower directory removed', (l) => fs.rmSync(`${l.l1}/d`, { recursive: true }), async (l, ov) => {
      expect(await read(ov, `${l.m}/d/f.txt`)).toBe('ENOENT');
      expect(ov.fs.readdirSync(`${l.m}/d`)).toEqual(['over.txt']);
    }],
  ];

  const HOUR = 60 * 60 * 1000;
  // Watched: the TTLs are an hour, so only the watcher's event can make the change show (in
  // the poll's turns of the event loop). Unwatched: the TTL check finds it.
  const modes: Array<[string, Partial<IndexSettings>, number]> = [
    ['watched directories: applied when the event arrives', { watch: true, ttlMs: HOUR, watchedTtlMs: HOUR }, 1000],
    ['unwatched directories: found by the check after the TTL', { watch: false }, LATENCY],
  ];
  describe.each(modes)('%s', (_mode, settings, latency) => {
    let saved: IndexSettings;
    beforeEach(() => { saved = configureIndex(settings); });
    afterEach(() => { configureIndex(saved); });

    test.each(cases)('%s', async (_name, change, check) => {
      const l = layers();
      put(`${l.l1}/d/f.txt`, 'l1 f');
      put(`${l.l2}/d/over.txt`, 'l2 over');
      put(`${l.u}/d/over.txt`, 'u over');
      const ov = overlay(l);
      // Warm every index on the way (and let the directories age past the racy window).
      await within(1000, async () => {
        expect(await read(ov, `${l.m}/d/f.txt`)).toBe('l1 f');
        expect(ov.fs.existsSync(`${l.m}/d/missing`)).toBe(false);
      });
      expect(indexStats().watched > 0).toBe(settings.watch);
      change(l);
      const took = await within(latency, () => check(l, ov));
      expect(took).toBeLessThanOrEqual(latency + 1000); // the poll's own bound; timings are the benchmark's business
    });
  });

  test('a change made in the same clock tick as the index was read is not missed (racy directories)', async () => {
    const l = layers();
    put(`${l.l1}/d/f.txt`, 'f');
    const ov = overlay(l);
    // Read the index right after the directory changed, then change it again at once: the
    // mtime may well stay the same (coarse timestamps); the index must be read again anyway.
    expect(ov.fs.existsSync(`${l.m}/d/f.txt`)).toBe(true);
    expect(indexOf(`${l.l1}/d`).racy).toBe(true);
    put(`${l.l1}/d/g.txt`, 'g');
    await within(LATENCY, () => expect(ov.fs.existsSync(`${l.m}/d/g.txt`)).toBe(true));
  });

  test('an index is trusted for its TTL, then checked against its directory', async () => {
    const l = layers();
    put(`${l.l1}/d/f.txt`, 'f');
    const ov = overlay(l);
    // The same TTL for watched indexes as for the others, for this test.
    const before = configureIndex({ watchedTtlMs: LATENCY });
    try {
      // Once the directory is older than the timestamp granularity, its index is read again
      // (after a TTL) and is no longer racy: from then on it is trusted on its mtime.
      await within(1000, () => { expect(ov.fs.existsSync(`${l.m}/d/f.txt`)).toBe(true); expect(indexOf(`${l.l1}/d`).racy).toBe(false); });
      // Watched or not: with no turn of the event loop, no watcher's event comes in between.
      configureIndex({ ttlMs: 60 * 60 * 1000, watchedTtlMs: 60 * 60 * 1000 });
      put(`${l.l1}/d/g.txt`, 'g');
      // Within the TTL the index answers (no system call): the new file is not seen yet.
      expect(ov.fs.existsSync(`${l.m}/d/g.txt`)).toBe(false);
      configureIndex({ ttlMs: 0, watchedTtlMs: 0 });
      expect(ov.fs.existsSync(`${l.m}/d/g.txt`)).toBe(true);
    } finally {
      configureIndex(before);
    }
  });
});

describe('memory', () => {
  test('the index stays within its bound, and answers stay right when it evicts', () => {
    const l = layers();
    for (let d = 0; d < 40; d++) for (let f = 0; f < 20; f++) put(`${l.l1}/d${d}/f${f}`, `${d}/${f}`);
    for (let d = 0; d < 40; d += 3) put(`${l.u}/d${d}/f0`, `upper ${d}`);
    const before = configureIndex({ maxEntries: 200 });
    try {
      const ov = overlay(l);
      for (let round = 0; round < 2; round++) {
        for (let d = 0; d < 40; d++) {
          expect(ov.fs.readFileSync(`${l.m}/d${d}/f0`, 'utf8')).toBe(d % 3 === 0 ? `upper ${d}` : `${d}/0`);
          expect((ov.fs.readdirSync(`${l.m}/d${d}`) as string[]).length).toBe(20);
          const st = indexStats();
          // The bound, plus what the running operation itself holds (never evicted mid-lookup).
          expect(st.entries + st.directories).toBeLessThanOrEqual(200 + 3 * 21);
        }
      }
      expect(indexStats().approxBytes).toBeLessThan(200 * 400);
    } finally {
      configureIndex(before);
    }
  });

  test('the cache option is validated, and configuration files carry it', () => {
    const l = layers();
    expect(() => createOverlay({ mountpoint: l.m, lower: [l.l1], cache: 'yes' as unknown as boolean })).toThrow(expect.objectContaining({ code: 'ERR_OVERLAY_INVALID_OPTIONS' }));
    const src = { name: 'overlay-fs.config.json', base: l.dir, prefix: '' };
    expect(overlaysFrom({ mountpoint: 'm', lower: ['l1'], cache: false }, src)[0].options.cache).toBe(false);
    expect(overlaysFrom({ mountpoint: 'm', options: 'lowerdir=l2:l1', cache: false }, src)[0].options.cache).toBe(false);
    expect(overlaysFrom({ mountpoint: 'm', lower: ['l1'] }, src)[0].options).not.toHaveProperty('cache');
    expect(() => overlaysFrom({ mountpoint: 'm', lower: ['l1'], cache: 'off' }, src)).toThrow(expect.objectContaining({ code: 'ERR_OVERLAY_INVALID_CONFIG', field: 'cache' }));
  });

  test('patch() honours cache: false', () => {
    const l = layers();
    put(`${l.l1}/f.txt`, 'one');
    const unpatch = patch({ mountpoint: l.m, upper: l.u, lower: [l.l2, l.l1], workdir: l.w, cache: false });
    try {
      expect(fs.readFileSync(`${l.m}/f.txt`, 'utf8')).toBe('one');
      put(`${l.l2}/f.txt`, 'two'); // behind its back: seen by the very next call
      expect(fs.readFileSync(`${l.m}/f.txt`, 'utf8')).toBe('two');
    } finally {
      unpatch();
    }
  });
});
