/**
 * fs.promises.watch on merged paths: an async iterator of { eventType, filename } that ends
 * with an AbortError when its signal aborts, and releases its watchers when the loop ends.
 */
import * as fs from 'fs';
import { useWatchStack, handles, write, within, turns, TIMEOUT_MS } from './helpers';

const stack = useWatchStack();

test('yields merged events; aborting ends the loop with an AbortError and closes every watcher', async () => {
  const s = stack({ l1: { 'd/a.txt': 'a', 'd/b.txt': 'b' }, u: { 'd/b.txt': 'override b' } });
  const before = handles().watchers;
  const ac = new AbortController();
  const seen: Array<{ eventType: string; filename: string }> = [];
  const timer = setTimeout(() => ac.abort(), TIMEOUT_MS);
  const loop = (async () => {
    for await (const e of s.ov.fs.promises.watch(s.p('d'), { signal: ac.signal })) {
      seen.push({ eventType: e.eventType, filename: String(e.filename) });
      if (seen.some((x) => x.filename === 'a.txt')) ac.abort('done');
    }
  })();
  // The iterator starts on the loop's first next(); the layers are watched from here on.
  fs.appendFileSync(s.real('l1', 'd/b.txt'), ' shadowed');
  write(s.real('u', 'd/a.txt'), 'override a');
  const err = await loop.then(() => null, (e: Error & { code?: string; cause?: unknown }) => e);
  clearTimeout(timer);
  expect(err).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR', cause: 'done' });
  expect(seen).toEqual([{ eventType: 'rename', filename: 'a.txt' }]);
  await turns();
  expect(handles().watchers).toBe(before);
});

test('an already aborted signal rejects the first next() like Node; a missing path rejects with ENOENT', async () => {
  const s = stack({ l1: { 'd/a.txt': 'a' } });
  const ac = new AbortController();
  ac.abort();
  await expect(s.ov.fs.promises.watch(s.p('d'), { signal: ac.signal })[Symbol.asyncIterator]().next()).rejects.toMatchObject({ name: 'AbortError' });
  await expect(s.ov.fs.promises.watch(s.p('nope'))[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: 'ENOENT', syscall: 'watch', path: s.p('nope') });
});

test('breaking out of the loop closes the watchers; recursive works too', async () => {
  const s = stack({ l1: { 'd/sub/a.txt': 'a' } });
  const before = handles().watchers;
  const it = s.ov.fs.promises.watch(s.p('d'), { recursive: true })[Symbol.asyncIterator]();
  const first = it.next();
  fs.appendFileSync(s.real('l1', 'd/sub/a.txt'), '!');
  const r = await within(first, 'the first event');
  expect(r.value).toMatchObject({ eventType: 'change', filename: 'sub/a.txt' });
  await it.return!(undefined);
  await turns();
  expect(handles().watchers).toBe(before);
});

test('events are queued while the consumer is busy (none is lost)', async () => {
  const s = stack({ l1: { 'd/x': 'x' } });
  const ac = new AbortController();
  const names: string[] = [];
  const timer = setTimeout(() => ac.abort(), TIMEOUT_MS);
  const loop = (async () => {
    for await (const e of s.ov.fs.promises.watch(s.p('d'), { signal: ac.signal })) {
      names.push(String(e.filename));
      await new Promise((r) => setTimeout(r, 100)); // a slow consumer
      if (names.length === 3) break;
    }
  })();
  for (const n of ['one', 'two', 'three']) write(s.real('u', `d/${n}`), n);
  await loop;
  clearTimeout(timer);
  expect(names.sort()).toEqual(['one', 'three', 'two']);
});
