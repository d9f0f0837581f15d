/**
 * Override files: an upper file shadowing a lower one. The merged view changes when the
 * override appears or goes (although the lower file did not change), and when the lower file
 * changes while nothing shadows it; it does not change when the lower file is edited under an
 * override. Changes are made directly in the layer directories (an editor, another program)
 * and through the overlay; with and without the overlay's directory cache.
 */
import * as fs from 'fs';
import { useWatchStack, record, named, reportedDuring, settle, write } from './helpers';

const stack = useWatchStack();

const THEME = {
  l1: { 'site/index.html': 'theme index', 'site/style.css': 'theme css', 'site/about.html': 'theme about' },
  u: { 'site/style.css': 'override css' },
};

describe.each([['with the directory cache (default)', undefined], ['with cache: false', false]])('%s', (_, cache) => {
  test('an override created in the upper by another program is reported, and the merged content follows', async () => {
    const s = stack({ ...THEME, cache });
    const log = record(s.track(s.ov.fs.watch(s.p('site'))));
    write(s.real('u', 'site/index.html'), 'override index');
    const e = await log.next(named('index.html'));
    expect(e.type).toBe('rename');
    expect(s.ov.fs.readFileSync(s.p('site/index.html'), 'utf8')).toBe('override index');
    expect(log.events.every((x) => !x.filename.startsWith('.wh.'))).toBe(true);
  });

  test('an override created through the overlay is reported', async () => {
    const s = stack({ ...THEME, cache });
    const log = record(s.track(s.ov.fs.watch(s.p('site'))));
    s.ov.fs.writeFileSync(s.p('site/about.html'), 'override about');
    await log.next(named('about.html'));
    expect(fs.readFileSync(s.real('u', 'site/about.html'), 'utf8')).toBe('override about');
  });

  test('an override deleted directly in the upper is reported: the lower version shows again', async () => {
    const s = stack({ ...THEME, cache });
    const log = record(s.track(s.ov.fs.watch(s.p('site'))));
    fs.unlinkSync(s.real('u', 'site/style.css'));
    const e = await log.next(named('style.css'));
    expect(e.type).toBe('rename');
    expect(s.ov.fs.readFileSync(s.p('site/style.css'), 'utf8')).toBe('theme css');
  });

  test('an override edited in the upper is reported as a change', async () => {
    const s = stack({ ...THEME, cache });
    const log = record(s.track(s.ov.fs.watch(s.p('site'))));
    fs.appendFileSync(s.real('u', 'site/style.css'), ' more');
    const e = await log.next(named('style.css'));
    expect(e.type).toBe('change');
  });

  test('a lower file edited while nothing shadows it is reported', async () => {
    const s = stack({ ...THEME, cache });
    const log = record(s.track(s.ov.fs.watch(s.p('site'))));
    fs.appendFileSync(s.real('l1', 'site/about.html'), ' v2');
    const e = await log.next(named('about.html'));
    expect(e.type).toBe('change');
    expect(s.ov.fs.readFileSync(s.p('site/about.html'), 'utf8')).toBe('theme about v2');
  });

  test('a lower file edited under an override is not reported', async () => {
    const s = stack({ ...THEME, cache });
    const log = record(s.track(s.ov.fs.watch(s.p('site'))));
    const seen = await reportedDuring(
      log, 'style.css',
      () => fs.appendFileSync(s.real('l1', 'site/style.css'), ' shadowed edit'),
      () => fs.appendFileSync(s.real('l1', 'site/index.html'), ' visible edit'),
      'index.html',
    );
    expect(seen).toEqual([]);
    expect(s.ov.fs.readFileSync(s.p('site/style.css'), 'utf8')).toBe('override css');
  });

  test('a file watched directly: the middle layer shadows the bottom one; the watcher follows its serving layer', async () => {
    const s = stack({ l1: { 'a.txt': 'bottom', 'b.txt': 'b' }, l2: { 'a.txt': 'middle' }, cache });
    const file = record(s.track(s.ov.fs.watch(s.p('a.txt'))));
    const dir = record(s.track(s.ov.fs.watch(s.m)));
    // Shadowed edit, then a visible control seen by the directory watcher.
    fs.appendFileSync(s.real('l1', 'a.txt'), '!');
    fs.appendFileSync(s.real('l1', 'b.txt'), '!');
    await dir.next(named('b.txt'));
    await settle();
    expect(file.events).toEqual([]);
    fs.appendFileSync(s.real('l2', 'a.txt'), '?');
    expect(await file.next(named('a.txt'))).toEqual({ type: 'change', filename: 'a.txt' });
    // An upper override appears: still reported under the watched name.
    file.mark();
    write(s.real('u', 'a.txt'), 'upper');
    await file.next(named('a.txt'));
    expect(s.ov.fs.readFileSync(s.p('a.txt'), 'utf8')).toBe('upper');
  });
});
