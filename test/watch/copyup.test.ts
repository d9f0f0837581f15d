/**
 * Upper directories that only appear later: a copy-up through the overlay creates the upper's
 * parent directories, and an editor may create an override directory. The watcher sees them
 * appear (it watches the nearest existing ancestor in each layer), reports what they change,
 * and from then on watches them, so later edits inside are seen and lower edits they shadow
 * are not.
 */
import * as fs from 'fs';
import { useWatchStack, record, named, reportedDuring, write } from './helpers';

const stack = useWatchStack();

test('copy-up through the overlay is reported once, and the copied-up file shadows later lower edits', async () => {
  const s = stack({ l1: { 'a/b/c.txt': 'lower c', 'a/b/other.txt': 'o' } });
  expect(fs.existsSync(s.real('u', 'a'))).toBe(false);
  const log = record(s.track(s.ov.fs.watch(s.p('a/b'))));
  s.ov.fs.appendFileSync(s.p('a/b/c.txt'), ' + appended');
  await log.next(named('c.txt'));
  expect(fs.readFileSync(s.real('u', 'a/b/c.txt'), 'utf8')).toBe('lower c + appended');
  // The upper directory a/b now exists and is watched: an edit there is seen.
  log.mark();
  fs.appendFileSync(s.real('u', 'a/b/c.txt'), '!');
  expect(await log.next(named('c.txt'))).toEqual({ type: 'change', filename: 'c.txt' });
  // The lower c.txt is shadowed now.
  const seen = await reportedDuring(
    log, 'c.txt',
    () => fs.appendFileSync(s.real('l1', 'a/b/c.txt'), ' shadowed'),
    () => fs.appendFileSync(s.real('l1', 'a/b/other.txt'), ' visible'),
    'other.txt',
  );
  expect(seen).toEqual([]);
});

test('a burst over several layers is coalesced: one event per name per window', async () => {
  const s = stack({ l1: { 'd/f.txt': 'lower' } });
  const log = record(s.track(s.ov.fs.watch(s.p('d'))));
  // mkdir in the upper, create, write, chmod: several inotify events on two directories.
  s.ov.fs.writeFileSync(s.p('d/f.txt'), 'via overlay');
  s.ov.fs.chmodSync(s.p('d/f.txt'), 0o600);
  await log.next(named('f.txt'));
  // A control after the burst, to know the burst has been decided.
  s.ov.fs.writeFileSync(s.p('d/g.txt'), 'g');
  await log.next(named('g.txt'));
  expect(log.events.filter((e) => e.filename === 'f.txt').length).toBe(1);
});

test('an upper directory created later by another program (mkdir -p, then a file) is seen', async () => {
  const s = stack({ l1: { 'site/pages/home.html': 'theme home', 'site/pages/faq.html': 'theme faq' } });
  const log = record(s.track(s.ov.fs.watch(s.p('site/pages'))));
  write(s.real('u', 'site/pages/home.html'), 'override home');
  await log.next(named('home.html'));
  expect(s.ov.fs.readFileSync(s.p('site/pages/home.html'), 'utf8')).toBe('override home');
  // Now watched directly: a new override in the new directory, and a shadowed lower edit.
  log.mark();
  write(s.real('u', 'site/pages/faq.html'), 'override faq');
  await log.next(named('faq.html'));
  const seen = await reportedDuring(
    log, 'home.html',
    () => fs.appendFileSync(s.real('l1', 'site/pages/home.html'), ' shadowed'),
    () => fs.appendFileSync(s.real('u', 'site/pages/faq.html'), ' visible'),
    'faq.html',
  );
  expect(seen).toEqual([]);
});

test('a directory made through the overlay (mkdir) is watched at once: an entry created in it is reported', async () => {
  const s = stack({ l1: { 'x.txt': 'x' } });
  const log = record(s.track(s.ov.fs.watch(s.m, { recursive: true })));
  s.ov.fs.mkdirSync(s.p('new'));
  s.ov.fs.writeFileSync(s.p('new/file.txt'), 'n');
  await log.next(named('new/file.txt'));
  expect(log.events.map((e) => e.filename)).toContain('new');
});

test('the upper directory of a watched directory removed by another program: the lower entries show again', async () => {
  const s = stack({ l1: { 'd/a.txt': 'lower a' }, u: { 'd/a.txt': 'upper a', 'd/b.txt': 'upper b' } });
  const log = record(s.track(s.ov.fs.watch(s.p('d'))));
  fs.renameSync(s.real('u', 'd'), s.real('u', 'moved-away'));
  await log.next(named('a.txt'));
  await log.next(named('b.txt'));
  expect(s.ov.fs.readFileSync(s.p('d/a.txt'), 'utf8')).toBe('lower a');
  // The moved directory is no longer watched; the lower one still is.
  log.mark();
  fs.appendFileSync(s.real('l1', 'd/a.txt'), '!');
  await log.next(named('a.txt'));
});
