/** `ls` (plain, -R, --layers) and `which`, on the seed layers: upper, middle, lower. */
import * as fs from 'fs';
import { seed, removeScratches, expectOneLineError, demoChanges, type Scratch } from './cli';

let s: Scratch;
beforeAll(() => {
  s = seed();
  // c.txt in all three layers: the file a `ls --layers` must show three times, top marked.
  s.write({ 'lower/c.txt': 'c.txt from the lower layer\n' });
  fs.symlinkSync('d.txt', s.p('middle/link-to-d'));
});
afterAll(removeScratches);

test('ls: the merged names, sorted, directories marked', () => {
  expect(s.run(['ls', ...s.flags])).toEqual({ status: 0, stderr: '', stdout: 'a.txt\nb.txt\nc.txt\nd.txt\ndocs/\ne.txt\nlink-to-d -> d.txt\n' });
  expect(s.run(['ls', ...s.flags, 'docs']).stdout).toBe('install.txt\nusage.txt\n');
  // Relative to the current directory when that is under the mountpoint, absolute paths too.
  expect(s.run(['ls', ...s.flags, 'merged/docs']).stdout).toBe('install.txt\nusage.txt\n');
  expect(s.run(['ls', ...s.flags, s.p('merged/docs')]).stdout).toBe('install.txt\nusage.txt\n');
});

test('ls -R: every entry, paths relative to the listed directory', () => {
  expect(s.run(['ls', '-R', ...s.flags]).stdout.split('\n').filter(Boolean)).toEqual([
    'a.txt', 'b.txt', 'c.txt', 'd.txt', 'docs/', 'docs/install.txt', 'docs/usage.txt', 'e.txt', 'link-to-d -> d.txt',
  ]);
});

test('ls --layers: the serving layer first, then every entry it hides; merged directories name all', () => {
  const lines = s.run(['ls', '--layers', '-R', ...s.flags]).stdout.split('\n').filter(Boolean).map((l) => l.replace(/\s+/g, ' '));
  expect(lines).toEqual([
    'a.txt lower',
    'b.txt lower',
    'c.txt upper (hides middle/c.txt, lower/c.txt)',
    'd.txt middle',
    'docs/ middle + lower (merged directory)',
    'docs/install.txt lower',
    'docs/usage.txt middle',
    'e.txt upper',
    'link-to-d middle',
  ]);
});

test('ls of a missing path, or a path outside the mountpoint: one line, exit 1', () => {
  expectOneLineError(s.run(['ls', ...s.flags, 'nope']), 'ls', /nope: not in the merged view/);
  expectOneLineError(s.run(['ls', ...s.flags, '/etc']), 'ls', /\/etc is not under the mountpoint/);
});

test('which: the serving layer and every layer that has the path', () => {
  const r = s.run(['which', ...s.flags, 'c.txt']);
  expect(r.status).toBe(0);
  expect(r.stdout.split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/))).toEqual([
    ['c.txt:', 'file,', 'served', 'by', 'upper'],
    ['serves', 'upper', s.p('upper/c.txt')],
    ['hidden', 'middle', s.p('middle/c.txt')],
    ['hidden', 'lower', s.p('lower/c.txt')],
  ]);
  const docs = s.run(['which', ...s.flags, 'docs']).stdout.split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/).slice(0, 3));
  expect(docs).toEqual([
    ['docs:', 'directory,', 'served'],
    ['serves', 'middle', s.p('middle/docs')],
    ['merged', 'lower', s.p('lower/docs')],
  ]);
});

test('which: a deleted path says which whiteout deleted it; a missing argument is usage', () => {
  const t = seed();
  demoChanges(t);
  expectOneLineError(t.run(['which', ...t.flags, 'b.txt']), 'which', /b\.txt: not in the merged view \(lower has it; deleted by the whiteout upper\/\.wh\.b\.txt\)/);
  expectOneLineError(t.run(['which', ...t.flags, 'docs/usage.txt']), 'which', /middle has it; upper\/docs\/ is opaque/);
  expectOneLineError(t.run(['which', ...t.flags, 'never']), 'which', /^overlay-fs which: never: not in the merged view$/);
  expectOneLineError(t.run(['which', ...t.flags]), 'which', /which path\?/, 2);
  // After the changes, the opaque directory hides what it replaced.
  const lines = t.run(['ls', '--layers', ...t.flags]).stdout.split('\n').map((l) => l.replace(/\s+/g, ' '));
  expect(lines).toContain('docs/ upper (opaque) (hides middle/docs/, lower/docs/)');
  expect(lines).toContain('a.txt upper (hides lower/a.txt)');
});
