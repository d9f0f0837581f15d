/**
 * Watching indexed directories (lib/router/index-watch.ts, lib/router/index-cache.ts): how a
 * change made behind the overlay's back reaches the index, as the README's "When changes show"
 * documents it.
 *  - An event is applied in place: one lstat of the named entry, never a read of the directory.
 *  - In a synchronous stretch (no turn of the event loop, so no event), a watched index is
 *    checked after `watchedTtlMs`, the backstop.
 *  - Watches are bounded (`maxWatches`); directories over the bound fall back to the TTL check.
 *  - A directory replaced behind the back is read and watched again.
 *  - close() releases the watches; they never keep a process alive.
 * (test/index-cache.test.ts runs its behind-the-back cases with and without watching.)
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { createOverlay } from '../lib';
import { countCallsAsync } from './helpers/real-calls';
import { configureIndex, indexStats, directoryWatcher, setDirectoryWatcher, type IndexSettings } from '../lib/router/index-cache';
import type { Overlay } from '../lib/types';

const HOUR = 60 * 60 * 1000;
const ROOT = path.resolve(__dirname, '..');
let base: string;
let n = 0;
let saved: IndexSettings;
beforeAll(() => { base = fs.mkdtempSync(path.join(os.tmpdir(), 'ovfs-iwatch-')); });
afterAll(() => fs.rmSync(base, { recursive: true, force: true }));
// Only events (or what a test sets) can refresh an index here.
beforeEach(() => { saved = configureIndex({ watch: true, ttlMs: HOUR, watchedTtlMs: HOUR }); });
afterEach(() => { configureIndex(saved); });

interface Layers { m: string; u: string; l1: string; w: string }
const opened: Overlay[] = [];
afterEach(() => { for (const ov of opened.splice(0)) ov.close(); });

function setup(files: Record<string, string>): Layers & { ov: Overlay } {
  const dir = path.join(base, `s${n++}`);
  const l = { m: `${dir}/m`, u: `${dir}/u`, l1: `${dir}/l1`, w: `${dir}/w` };
  for (const d of [l.u, l.l1]) fs.mkdirSync(d, { recursive: true });
  for (const [rel, data] of Object.entries(files)) put(`${dir}/${rel}`, data);
  const ov = createOverlay({ mountpoint: l.m, upper: l.u, lower: [l.l1], workdir: l.w });
  opened.push(ov);
  return { ...l, ov };
}

function put(file: string, data: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, data);
}

const turn = () => new Promise((r) => setTimeout(r, 2));

/** Poll (turning the event loop) until `check` passes; fail after `ms`. */
async function eventually(check: () => void, ms = 2000): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    try {
      check();
      return;
    } catch (e) {
      if (Date.now() - t0 > ms) throw e;
      await turn();
    }
  }
}

test('an event is applied in place: an lstat of the entry it names, no read of the directory', async () => {
  const s = setup({ 'l1/d/a.txt': 'a', 'u/d/b.txt': 'b' });
  expect(s.ov.fs.existsSync(`${s.m}/d/new.txt`)).toBe(false);
  expect(s.ov.fs.readFileSync(`${s.m}/d/a.txt`, 'utf8')).toBe('a');
  const calls = await countCallsAsync(['lstatSync', 'readdirSync'], async () => {
    put(`${s.l1}/d/new.txt`, 'new');
    fs.rmSync(`${s.u}/d/b.txt`);
    fs.writeFileSync(`${s.u}/d/.wh.a.txt`, '');
    await eventually(() => {
      expect(s.ov.fs.existsSync(`${s.m}/d/new.txt`)).toBe(true);
      expect(s.ov.fs.existsSync(`${s.m}/d/b.txt`)).toBe(false);
      expect(s.ov.fs.existsSync(`${s.m}/d/a.txt`)).toBe(false);
    });
  });
  expect(calls.readdirSync).toBe(0);
  expect(calls.lstatSync).toBeGreaterThan(0);
  // The listing reads the directories again, for their order: the same names as a fresh overlay's.
  const fresh = createOverlay({ mountpoint: `${s.m}2`, upper: s.u, lower: [s.l1], cache: false });
  opened.push(fresh);
  expect((s.ov.fs.readdirSync(`${s.m}/d`) as string[]).sort()).toEqual((fresh.fs.readdirSync(`${s.m}2/d`) as string[]).sort());
  expect((s.ov.fs.readdirSync(`${s.m}/d`) as string[]).sort()).toEqual(['new.txt']);
});

test('a kernel whiteout made behind the back hides the lower entry', async () => {
  if (process.getuid?.() !== 0) {
    console.log('skipped: mknod of a 0:0 character device needs root');
    return;
  }
  const s = setup({ 'l1/d/a.txt': 'a', 'u/d/keep.txt': 'k' });
  expect(s.ov.fs.readFileSync(`${s.m}/d/a.txt`, 'utf8')).toBe('a');
  const r = spawnSync('mknod', [`${s.u}/d/a.txt`, 'c', '0', '0']);
  expect(r.status).toBe(0);
  await eventually(() => expect(s.ov.fs.existsSync(`${s.m}/d/a.txt`)).toBe(false));
  expect(s.ov.fs.readdirSync(`${s.m}/d`)).toEqual(['keep.txt']);
});

test('a directory replaced behind the back is read again, and watched again', async () => {
  const s = setup({ 'l1/d/sub/old.txt': 'old' });
  expect(s.ov.fs.readdirSync(`${s.m}/d/sub`)).toEqual(['old.txt']);
  fs.rmSync(`${s.l1}/d/sub`, { recursive: true });
  put(`${s.l1}/d/sub/new.txt`, 'new');
  await eventually(() => expect(s.ov.fs.readdirSync(`${s.m}/d/sub`)).toEqual(['new.txt']));
  // The new directory's own changes arrive as events too (the TTLs are an hour).
  put(`${s.l1}/d/sub/later.txt`, 'later');
  await eventually(() => expect(s.ov.fs.readFileSync(`${s.m}/d/sub/later.txt`, 'utf8')).toBe('later'));
});

test('in a synchronous stretch (no events come in), a watched index is checked after watchedTtlMs', async () => {
  configureIndex({ watchedTtlMs: 150 });
  const s = setup({ 'l1/d/a.txt': 'a' });
  // Let the directory age past the racy window, so that the check trusts its unchanged mtime.
  await new Promise((r) => setTimeout(r, 60));
  // From here on, no turn of the event loop. An index is trusted until the end of the 150 ms
  // period of the (monotonic) clock in which it was read.
  const period = (t: number) => Math.floor(t / 150);
  const built = performance.now();
  expect(s.ov.fs.existsSync(`${s.m}/d/a.txt`)).toBe(true);
  expect(indexStats().watched).toBeGreaterThan(0);
  put(`${s.l1}/d/b.txt`, 'b');
  const seen = s.ov.fs.existsSync(`${s.m}/d/b.txt`);
  if (period(performance.now()) === period(built)) expect(seen).toBe(false); // trusted, and no event can come in
  while (performance.now() - built < 200) { /* a synchronous stretch */ }
  expect(s.ov.fs.existsSync(`${s.m}/d/b.txt`)).toBe(true);
  expect(s.ov.fs.readFileSync(`${s.m}/d/b.txt`, 'utf8')).toBe('b');
});

test('watches are bounded: directories over maxWatches are checked after ttlMs instead', async () => {
  const cap = indexStats().watched + 2;
  configureIndex({ maxWatches: cap, ttlMs: 30 });
  const files: Record<string, string> = {};
  for (let i = 0; i < 6; i++) files[`l1/d${i}/f.txt`] = `${i}`;
  const s = setup(files);
  for (let i = 0; i < 6; i++) expect(s.ov.fs.readFileSync(`${s.m}/d${i}/f.txt`, 'utf8')).toBe(`${i}`);
  const st = indexStats();
  expect(st.watched).toBe(cap);
  expect(st.directories).toBeGreaterThan(st.watched);
  // Every directory still sees changes made behind the back: by event or by the check.
  for (let i = 0; i < 6; i++) put(`${s.l1}/d${i}/g.txt`, `g${i}`);
  await eventually(() => {
    for (let i = 0; i < 6; i++) expect(s.ov.fs.readFileSync(`${s.m}/d${i}/g.txt`, 'utf8')).toBe(`g${i}`);
  });
});

test('a watch the system refuses (its inotify quota used up) falls back to the check after ttlMs', async () => {
  const real = directoryWatcher();
  let tried = 0;
  setDirectoryWatcher(() => {
    tried++;
    throw Object.assign(new Error('ENOSPC: System limit for number of file watchers reached'), { code: 'ENOSPC' });
  });
  try {
    configureIndex({ ttlMs: 30 });
    const before = indexStats().watched;
    const s = setup({ 'l1/a/f.txt': 'f', 'l1/b/g.txt': 'g' });
    expect(s.ov.fs.readFileSync(`${s.m}/a/f.txt`, 'utf8')).toBe('f');
    expect(s.ov.fs.readFileSync(`${s.m}/b/g.txt`, 'utf8')).toBe('g');
    expect(indexStats().watched).toBe(before);
    expect(tried).toBe(1); // refused once: not asked again for a while (each refusal costs a throw)
    put(`${s.l1}/a/new.txt`, 'new');
    await eventually(() => expect(s.ov.fs.readFileSync(`${s.m}/a/new.txt`, 'utf8')).toBe('new'), 1000);
  } finally {
    setDirectoryWatcher(real);
    configureIndex({ watch: true }); // and try again at once
  }
});

test('a watch refused for one directory (EACCES) leaves the others watched; it is watched at its next check', async () => {
  const real = directoryWatcher()!;
  const refused: string[] = [];
  setDirectoryWatcher((idx, st) => {
    if (idx.real.endsWith('/l1/a') && refused.length === 0) {
      refused.push(idx.real);
      throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    }
    return real(idx, st);
  });
  try {
    configureIndex({ ttlMs: 30 });
    const before = indexStats().watched;
    const s = setup({ 'l1/a/f.txt': 'f', 'l1/b/g.txt': 'g' });
    // Let the directories age past the racy window: a racy one is read again, not checked.
    await new Promise((r) => setTimeout(r, 60));
    expect(s.ov.fs.readFileSync(`${s.m}/a/f.txt`, 'utf8')).toBe('f');
    expect(s.ov.fs.readFileSync(`${s.m}/b/g.txt`, 'utf8')).toBe('g');
    expect(refused).toEqual([`${s.l1}/a`]);
    const watched = indexStats().watched;
    expect(watched - before).toBeGreaterThanOrEqual(3); // the roots and l1/b: not refused with l1/a
    // After its 30 ms, l1/a is checked (unchanged) and watched then.
    await new Promise((r) => setTimeout(r, 40));
    expect(s.ov.fs.readFileSync(`${s.m}/a/f.txt`, 'utf8')).toBe('f');
    expect(indexStats().watched).toBe(watched + 1);
  } finally {
    setDirectoryWatcher(real);
  }
});

test('the overlay\'s own changes, when their events arrive, cost no read of the directory', async () => {
  const s = setup({ 'l1/d/a.txt': 'a' });
  expect(s.ov.fs.existsSync(`${s.m}/d/a.txt`)).toBe(true);
  for (let i = 0; i < 20; i++) s.ov.fs.writeFileSync(`${s.m}/d/n${i}.txt`, `${i}`);
  s.ov.fs.appendFileSync(`${s.m}/d/a.txt`, '!'); // copy-up
  s.ov.fs.unlinkSync(`${s.m}/d/n0.txt`);
  const calls = await countCallsAsync(['readdirSync'], async () => {
    for (let i = 0; i < 5; i++) await turn(); // the events come in
    for (let i = 1; i < 20; i++) expect(s.ov.fs.readFileSync(`${s.m}/d/n${i}.txt`, 'utf8')).toBe(`${i}`);
    expect(s.ov.fs.existsSync(`${s.m}/d/n0.txt`)).toBe(false);
    expect(s.ov.fs.readFileSync(`${s.m}/d/a.txt`, 'utf8')).toBe('a!');
  });
  expect(calls.readdirSync).toBe(0);
});

test('a directory too big to index is probed, unwatched: changes in it do not make it read again each time', async () => {
  configureIndex({ maxEntries: 400, ttlMs: 50 }); // over 100 names: not indexed
  const files: Record<string, string> = {};
  for (let i = 0; i < 150; i++) files[`l1/big/f${i}`] = `${i}`;
  const s = setup(files);
  expect(s.ov.fs.readFileSync(`${s.m}/big/f7`, 'utf8')).toBe('7');
  const calls = await countCallsAsync(['readdirSync'], async () => {
    for (let i = 0; i < 10; i++) {
      put(`${s.l1}/big/new${i}`, `new ${i}`);
      await turn();
      expect(s.ov.fs.readFileSync(`${s.m}/big/new${i}`, 'utf8')).toBe(`new ${i}`); // probed: seen at once
    }
  });
  // Tried again (to index) only when its mtime changed and its 50 ms period ended: not per change.
  expect(calls.readdirSync).toBeLessThanOrEqual(2);
});

test('watching turned back on: indexes read unwatched are read again and watched at their next use', () => {
  configureIndex({ watch: false });
  const s = setup({ 'l1/a/b/c.txt': 'c' });
  const before = indexStats().watched;
  expect(s.ov.fs.readFileSync(`${s.m}/a/b/c.txt`, 'utf8')).toBe('c');
  expect(indexStats().watched).toBe(before);
  configureIndex({ watch: true });
  expect(s.ov.fs.readFileSync(`${s.m}/a/b/c.txt`, 'utf8')).toBe('c');
  // The layer roots, a and a/b in l1, a in nothing else: every directory on the way.
  expect(indexStats().watched - before).toBeGreaterThanOrEqual(4);
});

test('close() releases the watches of its indexes', () => {
  const before = indexStats().watched;
  const s = setup({ 'l1/a/b/c.txt': 'c', 'u/a/x.txt': 'x' });
  expect(s.ov.fs.readFileSync(`${s.m}/a/b/c.txt`, 'utf8')).toBe('c');
  expect(indexStats().watched).toBeGreaterThan(before);
  s.ov.close();
  expect(indexStats().watched).toBe(before);
});

test('the watches never keep a process alive', () => {
  const dist = path.join(ROOT, 'dist', 'cjs', 'index.js');
  const s = setup({ 'l1/d/a.txt': 'a' });
  const script = `
    const { createOverlay } = require(${JSON.stringify(dist)});
    const ov = createOverlay({ mountpoint: ${JSON.stringify(`${s.m}-child`)}, upper: ${JSON.stringify(s.u)}, lower: [${JSON.stringify(s.l1)}], workdir: ${JSON.stringify(`${s.w}-child`)} });
    console.log(ov.fs.readFileSync(${JSON.stringify(`${s.m}-child/d/a.txt`)}, 'utf8'));
    console.log(require(${JSON.stringify(path.join(ROOT, 'dist', 'cjs', 'router', 'index-cache.js'))}).indexStats().watched > 0);`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
  expect(r.error).toBeUndefined(); // no timeout: it ended by itself
  expect(r.status).toBe(0);
  expect(r.stdout.trim().split('\n')).toEqual(['a', 'true']);
});

test('a layer root replaced behind the back: the directories below it are read from the new one', async () => {
  const s = setup({ 'u/d/sub/x.txt': 'x', 'l1/d/a.txt': 'a' });
  expect(s.ov.fs.readFileSync(`${s.m}/d/sub/x.txt`, 'utf8')).toBe('x');
  // The upper moved away, a copy in its place: the old directories (and their watches) go with it.
  fs.renameSync(s.u, `${s.u}.old`);
  fs.cpSync(`${s.u}.old`, s.u, { recursive: true });
  put(`${s.u}/d/sub/y.txt`, 'y');
  await eventually(() => expect(s.ov.fs.readFileSync(`${s.m}/d/sub/y.txt`, 'utf8')).toBe('y'));
  // Changes in the new directories arrive as events (the TTLs are an hour).
  put(`${s.u}/d/sub/z.txt`, 'z');
  await eventually(() => expect(s.ov.fs.readFileSync(`${s.m}/d/sub/z.txt`, 'utf8')).toBe('z'));
  fs.rmSync(`${s.u}.old`, { recursive: true });
});

test('a layer root deleted and made again with the same inode number is watched again, even with an entry of its own name', async () => {
  // ext4 gives a new directory the inode number of one just deleted; inotify names the watched
  // directory itself by its base name, here also the name of an entry in it. A layer root has
  // no watched parent: its own watch is all that tells.
  const s = setup({ 'l1/x.txt': 'x', 'l1/l1': 'old' });
  expect(s.ov.fs.readFileSync(`${s.m}/l1`, 'utf8')).toBe('old');
  const ino = fs.statSync(s.l1).ino;
  fs.rmSync(s.l1, { recursive: true });
  put(`${s.l1}/l1`, 'new');
  if (fs.statSync(s.l1).ino !== ino) {
    console.log('skipped: the file system gave the new directory another inode number');
    return;
  }
  await eventually(() => expect(s.ov.fs.readFileSync(`${s.m}/l1`, 'utf8')).toBe('new'));
  // Changes in the new directory arrive as events (the TTLs are an hour).
  put(`${s.l1}/later.txt`, 'later');
  await eventually(() => expect(s.ov.fs.readFileSync(`${s.m}/later.txt`, 'utf8')).toBe('later'));
});
