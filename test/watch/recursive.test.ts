/**
 * recursive: true — every merged directory below the watched one, with filenames relative to
 * it. Directories appear and go in the merged view (mkdir, a whited-out directory, a lower
 * directory revealed) and the set of watched directories follows; shadowed subtrees are not
 * watched at all.
 */
import * as fs from 'fs';
import { useWatchStack, record, named, reportedDuring, write } from './helpers';
import type { MergedWatcher } from '../../lib/watch/composite';

const stack = useWatchStack();

const TREE = {
  l1: { 'src/a/deep/x.txt': 'x', 'src/a/y.txt': 'y', 'src/b/z.txt': 'z', 'src/hidden/h.txt': 'h' },
  u: { 'src/a/y.txt': 'override y', 'src/.wh.hidden': '' },
};

test('events deep in the tree carry paths relative to the watched directory', async () => {
  const s = stack(TREE);
  const log = record(s.track(s.ov.fs.watch(s.p('src'), { recursive: true })));
  fs.appendFileSync(s.real('l1', 'src/a/deep/x.txt'), '!');
  expect(await log.next(named('a/deep/x.txt'))).toEqual({ type: 'change', filename: 'a/deep/x.txt' });
  write(s.real('u', 'src/b/new.txt'), 'new');
  expect(await log.next(named('b/new.txt'))).toEqual({ type: 'rename', filename: 'b/new.txt' });
});

test('shadowed changes deep in the tree are not reported; whited-out subtrees are not even watched', async () => {
  const s = stack(TREE);
  const w = s.track(s.ov.fs.watch(s.p('src'), { recursive: true })) as unknown as MergedWatcher;
  const log = record(w);
  const seen = await reportedDuring(
    log, 'a/y.txt',
    () => fs.appendFileSync(s.real('l1', 'src/a/y.txt'), ' shadowed'),
    () => fs.appendFileSync(s.real('l1', 'src/b/z.txt'), ' visible'),
    'b/z.txt',
  );
  expect(seen).toEqual([]);
  const hidden = await reportedDuring(
    log, 'hidden/h.txt',
    () => fs.appendFileSync(s.real('l1', 'src/hidden/h.txt'), ' whited out'),
    () => fs.appendFileSync(s.real('l1', 'src/b/z.txt'), ' visible'),
    'b/z.txt',
  );
  expect(hidden).toEqual([]);
  // Merged directories src, a, a/deep, b (not hidden) in two layers, plus the parent of src:
  // at most layers × (4 + 1) = 10. Real directories: l1/{src, src/a, src/a/deep, src/b},
  // u/{src, src/a} (standing in for the missing u/src/a/deep and u/src/b too) and both roots.
  expect(w.watchedDirectories).toBe(8);
});

test('a directory made by mkdir -p in a layer is watched from then on', async () => {
  const s = stack(TREE);
  const log = record(s.track(s.ov.fs.watch(s.p('src'), { recursive: true })));
  fs.mkdirSync(s.real('l1', 'src/c/d'), { recursive: true });
  await log.next(named('c'));
  log.mark();
  write(s.real('l1', 'src/c/d/e.txt'), 'e');
  expect(await log.next(named('c/d/e.txt'))).toEqual({ type: 'rename', filename: 'c/d/e.txt' });
});

test('a whited-out directory coming back is watched again, and one whited out is dropped', async () => {
  const s = stack(TREE);
  const log = record(s.track(s.ov.fs.watch(s.p('src'), { recursive: true })));
  fs.unlinkSync(s.real('u', 'src/.wh.hidden'));
  await log.next(named('hidden'));
  log.mark();
  fs.appendFileSync(s.real('l1', 'src/hidden/h.txt'), '!');
  await log.next(named('hidden/h.txt'));

  log.mark();
  s.ov.fs.rmSync(s.p('src/b'), { recursive: true });
  await log.next(named('b'));
  const seen = await reportedDuring(
    log, 'b/z.txt',
    () => fs.appendFileSync(s.real('l1', 'src/b/z.txt'), ' whited out'),
    () => fs.appendFileSync(s.real('l1', 'src/hidden/h.txt'), ' visible'),
    'hidden/h.txt',
  );
  expect(seen).toEqual([]);
});

test('a subdirectory that becomes a file in the upper is dropped (its lower subtree is shadowed)', async () => {
  const s = stack(TREE);
  const log = record(s.track(s.ov.fs.watch(s.p('src'), { recursive: true })));
  write(s.real('u', 'src/.wh.b'), '');
  write(s.real('u', 'src/b'), 'now a file');
  await log.next(named('b'));
  const seen = await reportedDuring(
    log, 'b/z.txt',
    () => fs.appendFileSync(s.real('l1', 'src/b/z.txt'), ' shadowed'),
    () => fs.appendFileSync(s.real('l1', 'src/a/deep/x.txt'), ' visible'),
    'a/deep/x.txt',
  );
  expect(seen).toEqual([]);
});
