/**
 * fs.watchFile / unwatchFile on merged paths: the merged stat is polled, so the listener sees
 * what the merged view shows whichever layer serves it (an override appearing changes size
 * and inode although the lower file is untouched); unwatchFile stops the poller.
 */
import * as fs from 'fs';
import { useWatchStack, handles, within, write, turns } from './helpers';

const stack = useWatchStack();

/** The next change watchFile reports (the listener is removed again, also on timeout). */
function nextChange(ov: typeof fs, file: string): Promise<[fs.Stats, fs.Stats]> {
  let once!: (curr: fs.Stats, prev: fs.Stats) => void;
  const p = new Promise<[fs.Stats, fs.Stats]>((resolve) => {
    once = (curr, prev) => resolve([curr, prev]);
    ov.watchFile(file, { interval: 20 }, once);
  });
  return within(p, `a watchFile change on ${file}`).finally(() => ov.unwatchFile(file, once));
}

test('an override created in the upper shows in the merged stat; deleting it brings the lower stat back', async () => {
  const s = stack({ l1: { 'page.html': 'lower' } });
  const lowerSt = fs.statSync(s.real('l1', 'page.html'));
  const changed = nextChange(s.ov.fs, s.p('page.html'));
  await new Promise((r) => setTimeout(r, 60)); // the poller's first stat is the baseline
  write(s.real('u', 'page.html'), 'override!');
  const [curr, prev] = await changed;
  expect(prev.size).toBe(5);
  expect(curr.size).toBe(9);
  expect(curr.ino).not.toBe(lowerSt.ino);

  const back = nextChange(s.ov.fs, s.p('page.html'));
  await new Promise((r) => setTimeout(r, 60));
  fs.unlinkSync(s.real('u', 'page.html'));
  const [curr2] = await back;
  expect(curr2.ino).toBe(lowerSt.ino);
});

test('a missing merged file reports zeroed stats until it appears; unwatchFile stops polling', async () => {
  const s = stack({ l1: { 'd/': null } });
  const file = s.p('d/new.txt');
  s.track({ close: () => s.ov.fs.unwatchFile(file) });
  const before = handles().timers;
  const seen: Array<[number, number]> = [];
  let appear!: () => void;
  const appeared = new Promise<void>((r) => { appear = r; });
  s.ov.fs.watchFile(file, { interval: 20 }, (curr, prev) => {
    seen.push([prev.size, curr.size]);
    appear();
  });
  expect(handles().timers).toBe(before + 1);
  await new Promise((r) => setTimeout(r, 60));
  s.ov.fs.writeFileSync(file, 'abc');
  await within(appeared, 'the file to appear');
  expect(seen[0]).toEqual([0, 3]);
  s.ov.fs.unwatchFile(file);
  await turns();
  // Other tests' timers may come and go while this one runs (seen under load), so the count is
  // an upper bound; what proves polling stopped is that a later change is never reported.
  expect(handles().timers).toBeLessThanOrEqual(before);
  const reported = seen.length;
  s.ov.fs.writeFileSync(file, 'abcdef');
  await new Promise((r) => setTimeout(r, 20 * 6));
  expect(seen.length).toBe(reported);
});

test('watchFile without a listener throws as Node does', () => {
  const s = stack({ l1: { 'a': 'a' } });
  expect(() => (s.ov.fs.watchFile as any)(s.p('a'), { interval: 20 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
});
