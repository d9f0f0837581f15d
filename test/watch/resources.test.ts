/**
 * Resources: every Node watcher behind a merged watcher closes with it (counted with
 * process.getActiveResourcesInfo()), a real directory is watched once however many merged
 * watchers need it, the number of Node watchers stays within layers × (watched merged
 * directories + 1), and an AbortSignal or persistent: false behave as with Node's fs.watch
 * (the latter in child processes running dist/, built by `npm test`).
 */
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { useWatchStack, record, named, handles, closed, turns } from './helpers';
import { openWatchers } from '../../lib/watch/hub';
import type { MergedWatcher } from '../../lib/watch/composite';

const stack = useWatchStack();
const ROOT = path.resolve(__dirname, '..', '..');

function tree(dirs: number, files: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (let d = 0; d < dirs; d++) for (let f = 0; f < files; f++) out[`t/d${d}/f${f}.txt`] = 'x';
  return out;
}

test('close() releases every Node watcher and timer, also with events pending', async () => {
  const s = stack({ l2: tree(5, 3), l1: tree(5, 3), u: { 't/d0/f0.txt': 'u' } });
  const before = handles();
  const w = s.ov.fs.watch(s.p('t'), { recursive: true });
  const log = record(w);
  expect(handles().watchers).toBeGreaterThan(before.watchers);
  fs.appendFileSync(s.real('l2', 't/d1/f1.txt'), '!');
  await log.next(named('d1/f1.txt'));
  fs.appendFileSync(s.real('l2', 't/d2/f2.txt'), '!'); // pending in the coalescing window at close
  await new Promise((r) => setTimeout(r, 5));
  await closed(w);
  expect(handles().watchers).toBe(before.watchers);
  // The coalescing window's timer went with it (jest's own timers come and go, never more).
  expect(handles().timers).toBeLessThanOrEqual(before.timers);
  expect(openWatchers()).toBe(0);
});

test('the bound: recursive over 3 layers × 6 merged directories opens at most 3 × (6 + 1) Node watchers', async () => {
  const s = stack({ l2: tree(5, 20), l1: tree(5, 20), u: { 't/d0/f0.txt': 'u' } });
  const before = handles().watchers;
  const w = s.track(s.ov.fs.watch(s.p('t'), { recursive: true })) as unknown as MergedWatcher;
  // t and t/d0..d4 in l1 and l2 (12); u/t and u/t/d0 (2; u/t also stands in for the missing
  // u/t/d1..d4); the three layer roots for the parent of t (3): one per real directory.
  const opened = handles().watchers - before;
  expect(opened).toBe(17);
  expect(w.watchedDirectories).toBe(17);
  expect(opened).toBeLessThanOrEqual(3 * (6 + 1));
  expect(opened).toBeLessThan(100); // 200 files: Node's own recursive watch would open one per file
});

test('merged watchers share the Node watcher of a real directory; each close releases only its share', async () => {
  const s = stack({ l1: { 'd/a.txt': 'a', 'd/b.txt': 'b' } });
  const before = handles().watchers;
  const dir = s.ov.fs.watch(s.p('d'));
  const one = handles().watchers - before;
  const files = ['a.txt', 'b.txt'].map((n) => s.ov.fs.watch(s.p(`d/${n}`)));
  // A file watcher watches its parent directory in each layer: the same real directories.
  expect(handles().watchers - before).toBe(one);
  const log = record(files[1]);
  await closed(dir);
  await closed(files[0]);
  fs.appendFileSync(s.real('l1', 'd/b.txt'), '!');
  await log.next(named('b.txt'));
  await closed(files[1]);
  expect(handles().watchers).toBe(before);
});

test('an AbortSignal closes the merged watcher (also one aborted before the call)', async () => {
  const s = stack({ l1: { 'd/a.txt': 'a' } });
  const before = handles().watchers;
  const ac = new AbortController();
  const w = s.ov.fs.watch(s.p('d'), { signal: ac.signal });
  const closedEvent = new Promise((r) => w.once('close', r));
  ac.abort();
  await closedEvent;
  const pre = new AbortController();
  pre.abort();
  const w2 = s.ov.fs.watch(s.p('d'), { signal: pre.signal });
  await new Promise((r) => w2.once('close', r));
  await turns();
  expect(handles().watchers).toBe(before);
});

test('persistent: false and unref() let the process exit; the default keeps it alive (child processes)', () => {
  const s = stack({ l1: { 'd/a.txt': 'a' } });
  const run = (how: string) => spawnSync(process.execPath, ['-e', `
    const { createOverlay } = require(${JSON.stringify(path.join(ROOT, 'dist/cjs/index.js'))});
    const ov = createOverlay({ mountpoint: ${JSON.stringify(s.m)}, upper: ${JSON.stringify(s.real('u'))}, lower: [${JSON.stringify(s.real('l1'))}] });
    ${how}
  `], { timeout: 1000, encoding: 'utf8' });
  expect(run(`ov.fs.watch(${JSON.stringify(s.p('d'))}, { persistent: false });`)).toMatchObject({ status: 0, signal: null });
  expect(run(`ov.fs.watch(${JSON.stringify(s.p('d'))}).unref();`)).toMatchObject({ status: 0, signal: null });
  expect(run(`ov.fs.watch(${JSON.stringify(s.p('d'))}, { persistent: false }).ref();`)).toMatchObject({ status: null, signal: 'SIGTERM' });
  expect(run(`ov.fs.watch(${JSON.stringify(s.p('d'))});`)).toMatchObject({ status: null, signal: 'SIGTERM' });
});
