/** `reset [path]`: discarding upper changes, with confirmation only a terminal can give. */
import * as fs from 'fs';
import { seed, removeScratches, demoChanges, mergedTree, tty, hasScript, changeThroughOverlay, expectOneLineError, type Scratch } from './cli';

afterAll(removeScratches);

const lowersOnly = (s: Scratch) => mergedTree(s, { upper: '', lower: ['middle', 'lower'] });

test('without a terminal and without --yes: refused, nothing removed', () => {
  const s = seed();
  demoChanges(s);
  const before = fs.readdirSync(s.p('upper')).sort();
  expectOneLineError(s.run(['reset', ...s.flags]), 'reset', /refusing to discard 10 changes in upper without confirmation \(stdin is not a terminal\); pass --yes/);
  expect(fs.readdirSync(s.p('upper')).sort()).toEqual(before);
});

test('--yes: the whole upper is discarded and the lowers show through', () => {
  const s = seed();
  demoChanges(s);
  const r = s.run(['reset', '--yes', ...s.flags]);
  expect(r).toEqual({ status: 0, stderr: '', stdout: 'discarded 10 changes in upper\n' });
  expect(fs.readdirSync(s.p('upper'))).toEqual([]);
  expect(mergedTree(s)).toEqual(lowersOnly(s));
  expect(s.run(['reset', '--yes', ...s.flags]).stdout).toBe('nothing to reset: the upper layer has no changes there\n');
});

test('reset <path>: only that path, its whiteout included; the rest stays', () => {
  const s = seed();
  demoChanges(s);
  expect(s.run(['reset', '-y', 'b.txt', ...s.flags]).stdout).toBe('discarded 1 change under b.txt in upper\n');
  expect(fs.existsSync(s.p('upper/.wh.b.txt'))).toBe(false);
  expect(mergedTree(s)['b.txt']).toBe('b.txt from the lower layer\n');
  expect(s.run(['reset', '-y', 'docs', ...s.flags]).status).toBe(0);
  expect(s.run(['ls', 'docs', ...s.flags]).stdout).toBe('install.txt\nusage.txt\n');
  expect(fs.readFileSync(s.p('upper/a.txt'), 'utf8')).toContain('appended through the overlay');
  // Something under a deleted parent cannot come back on its own: the note says why.
  const t = seed();
  demoChanges(t);
  const hidden = t.run(['reset', '-y', 'docs/usage.txt', ...t.flags]);
  expect(hidden.status).toBe(0);
  expect(hidden.stderr).toMatch(/^overlay-fs reset: note: docs\/usage.txt is still not in the merged view: upper\/docs\/ is opaque/);
});

test('a directory copied up only as the parent of a reset file goes too', () => {
  const s = seed();
  changeThroughOverlay(s, (ofs, m) => ofs.appendFileSync(m('docs/usage.txt'), 'more\n'));
  expect(fs.existsSync(s.p('upper/docs/usage.txt'))).toBe(true);
  expect(s.run(['reset', '--yes', 'docs/usage.txt', ...s.flags]).status).toBe(0);
  expect(fs.existsSync(s.p('upper/docs'))).toBe(false);
  expect(s.run(['diff', ...s.flags]).stdout).toBe('C c.txt\nA e.txt\n');
});

test('a stack without an upper: one line', () => {
  const s = seed();
  expectOneLineError(s.run(['reset', '--yes', '--mount', 'm', '--lower', 'lower']), 'reset', /no upper layer/);
});

(hasScript ? describe : describe.skip)('on a terminal', () => {
  test('asks, and "y" discards', () => {
    const s = seed();
    demoChanges(s);
    const r = tty(['reset', 'extra', ...s.flags], { cwd: s.dir, input: 'y\n' });
    expect(r.output).toContain('Discard 2 changes under extra in upper? [y/N] ');
    expect(r.output).toContain('discarded 2 changes under extra in upper');
    expect(r.status).toBe(0);
    expect(fs.existsSync(s.p('upper/extra'))).toBe(false);
  });

  test('anything else keeps the changes and exits 1', () => {
    const s = seed();
    demoChanges(s);
    const r = tty(['reset', ...s.flags], { cwd: s.dir, input: 'n\n' });
    expect(r.output).toContain('nothing discarded');
    expect(r.status).toBe(1);
    expect(fs.existsSync(s.p('upper/extra/x.txt'))).toBe(true);
  });
});
