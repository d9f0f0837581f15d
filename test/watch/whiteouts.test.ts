/**
 * Whiteouts and opaque directories are reported as what they do to merged names: a whiteout
 * created is the disappearance of the name it hides, a whiteout removed its reappearance. No
 * `.wh.*` name is ever reported. A lower file edited while whited out is not reported.
 */
import * as fs from 'fs';
import { useWatchStack, record, named, reportedDuring, write } from './helpers';
import { mknodWhiteout } from '../helpers/layers';

const stack = useWatchStack();

const noReservedNames = (events: Array<{ filename: string }>) => events.filter((e) => e.filename.includes('.wh.'));

test('unlink through the overlay (a whiteout in the upper) is reported as the name, never .wh.*', async () => {
  const s = stack({ l1: { 'd/gone.txt': 'g', 'd/keep.txt': 'k' } });
  const log = record(s.track(s.ov.fs.watch(s.p('d'))));
  s.ov.fs.unlinkSync(s.p('d/gone.txt'));
  expect(fs.existsSync(s.real('u', 'd/.wh.gone.txt'))).toBe(true);
  expect(await log.next(named('gone.txt'))).toEqual({ type: 'rename', filename: 'gone.txt' });
  expect(s.ov.fs.existsSync(s.p('d/gone.txt'))).toBe(false);
  expect(noReservedNames(log.events)).toEqual([]);
});

test('a .wh.x file made by another program hides x, and removing it brings x back', async () => {
  const s = stack({ l1: { 'd/x.txt': 'x', 'd/y.txt': 'y' }, u: { 'd/': null } });
  const log = record(s.track(s.ov.fs.watch(s.p('d'))));
  write(s.real('u', 'd/.wh.x.txt'), '');
  expect(await log.next(named('x.txt'))).toEqual({ type: 'rename', filename: 'x.txt' });
  expect(s.ov.fs.readdirSync(s.p('d'))).toEqual(['y.txt']);

  // While whited out, edits to the lower x are not reported.
  const seen = await reportedDuring(
    log, 'x.txt',
    () => fs.appendFileSync(s.real('l1', 'd/x.txt'), ' hidden edit'),
    () => fs.appendFileSync(s.real('l1', 'd/y.txt'), ' visible edit'),
    'y.txt',
  );
  expect(seen).toEqual([]);

  log.mark();
  fs.unlinkSync(s.real('u', 'd/.wh.x.txt'));
  expect(await log.next(named('x.txt'))).toEqual({ type: 'rename', filename: 'x.txt' });
  expect(s.ov.fs.readFileSync(s.p('d/x.txt'), 'utf8')).toBe('x hidden edit');
  expect(noReservedNames(log.events)).toEqual([]);
});

/** mknod of a character device needs CAP_MKNOD (root in CI containers). */
const canMknod = process.getuid?.() === 0;

(canMknod ? test : test.skip)("the kernel's whiteout (a 0:0 character device) is reported as the name it hides", async () => {
  const s = stack({ l1: { 'd/x.txt': 'x' }, u: { 'd/': null } });
  const log = record(s.track(s.ov.fs.watch(s.p('d'))));
  mknodWhiteout(s.real('u', 'd/x.txt'));
  expect(await log.next(named('x.txt'))).toEqual({ type: 'rename', filename: 'x.txt' });
  expect(s.ov.fs.existsSync(s.p('d/x.txt'))).toBe(false);
});

test('an opaque marker made in the upper hides the lower names (reported), and its removal brings them back', async () => {
  const s = stack({ l1: { 'd/low.txt': 'l', 'd/both.txt': 'lower both' }, u: { 'd/both.txt': 'upper both', 'd/up.txt': 'u' } });
  const log = record(s.track(s.ov.fs.watch(s.p('d'))));
  write(s.real('u', 'd/.wh..wh..opq'), '');
  await log.next(named('low.txt'));
  expect(s.ov.fs.readdirSync(s.p('d')).sort()).toEqual(['both.txt', 'up.txt']);

  // Hidden now: a lower edit is not reported.
  const seen = await reportedDuring(
    log, 'low.txt',
    () => fs.appendFileSync(s.real('l1', 'd/low.txt'), '!'),
    () => fs.appendFileSync(s.real('u', 'd/up.txt'), '!'),
    'up.txt',
  );
  expect(seen).toEqual([]);

  log.mark();
  fs.unlinkSync(s.real('u', 'd/.wh..wh..opq'));
  await log.next(named('low.txt'));
  // Names the upper decides did not change visibility and are not reported.
  expect(log.since().map((e) => e.filename)).not.toContain('both.txt');
  expect(noReservedNames(log.events)).toEqual([]);
});
