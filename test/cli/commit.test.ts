/** `commit <dir>` (flatten) and `commit --into-lower N` (fold), with the progress bar. */
import * as fs from 'fs';
import * as path from 'path';
import { seed, removeScratches, demoChanges, mergedTree, treeOf, tty, hasScript, changeThroughOverlay, expectOneLineError } from './cli';

afterAll(removeScratches);

test('commit <dir>: the merged view as a plain directory, modes and symlinks kept', () => {
  const s = seed();
  demoChanges(s);
  fs.chmodSync(s.p('lower/docs/install.txt'), 0o640);
  fs.symlinkSync('../c.txt', s.p('middle/docs/to-c'));
  const expected = mergedTree(s);
  const r = s.run(['commit', 'flat', ...s.flags]);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/^wrote 6 files, 2 directories and 0 symlinks \(.*\) to .*flat\n$/);
  expect(treeOf(fs, s.p('flat'))).toEqual(expected);
  // Nothing of the on-disk format leaks into a flattened tree.
  expect(Object.keys(treeOf(fs, s.p('flat'))).filter((k) => k.includes('.wh.'))).toEqual([]);
  expect(fs.lstatSync(s.p('flat/a.txt')).mode & 0o777).toBe(fs.lstatSync(s.p('upper/a.txt')).mode & 0o777);

  const t = seed();
  fs.chmodSync(t.p('lower/docs/install.txt'), 0o640);
  fs.symlinkSync('../c.txt', t.p('middle/docs/to-c'));
  expect(t.run(['commit', 'flat', ...t.flags]).status).toBe(0);
  expect(fs.lstatSync(t.p('flat/docs/install.txt')).mode & 0o777).toBe(0o640);
  expect(fs.readlinkSync(t.p('flat/docs/to-c'))).toBe('../c.txt');
  // Node sets times in microseconds at best (README: "Timestamps keep microseconds").
  expect(Math.abs(fs.statSync(t.p('flat/docs/install.txt')).mtimeMs - fs.statSync(t.p('lower/docs/install.txt')).mtimeMs)).toBeLessThan(0.01);
});

test('commit <dir>: a FIFO is skipped with a warning, everything else is written', () => {
  const s = seed();
  if (require('child_process').spawnSync('mkfifo', [s.p('lower/pipe')]).status !== 0) return console.log('FIFO case not checked: mkfifo failed');
  const r = s.run(['commit', 'flat', ...s.flags]);
  expect(r.status).toBe(0);
  expect(r.stderr).toBe('overlay-fs commit: skipped pipe: Node cannot create FIFOs, sockets or device files\n');
  expect(fs.existsSync(s.p('flat/pipe'))).toBe(false);
  expect(fs.readFileSync(s.p('flat/c.txt'), 'utf8')).toBe('c.txt from the upper layer (this one wins)\n');
});

test('commit refuses a non-empty target, a target inside the stack, and unclear arguments', () => {
  const s = seed();
  s.write({ 'full/x': 'x' });
  expectOneLineError(s.run(['commit', 'full', ...s.flags]), 'commit', /full is not empty/);
  expectOneLineError(s.run(['commit', 'upper/out', ...s.flags]), 'commit', /upper\/out overlaps layer upper/);
  expectOneLineError(s.run(['commit', 'merged', ...s.flags]), 'commit', /overlaps the mountpoint/);
  expectOneLineError(s.run(['commit', ...s.flags]), 'commit', /commit where\?/, 2);
  expectOneLineError(s.run(['commit', 'x', '--into-lower', '0', ...s.flags]), 'commit', /either a directory or --into-lower/, 2);
  expectOneLineError(s.run(['commit', '--into-lower', '2', ...s.flags]), 'commit', /--into-lower takes a lower layer's index, 0 to 1/, 2);
  expectOneLineError(s.run(['commit', '--into-lower', '0', '--mount', 'm', '--lower', 'lower']), 'commit', /no upper layer/);
});

test('commit --into-lower 0: the upper folded into the highest lower, the view unchanged, the upper empty', () => {
  const s = seed();
  demoChanges(s);
  const before = mergedTree(s);
  const lowerBefore = treeOf(fs, s.p('lower'));
  const r = s.run(['commit', '--into-lower', '0', ...s.flags]);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/^folded \d+ entries and 1 whiteout into lower 0 \(middle\); the upper upper is empty\n$/);
  expect(fs.readdirSync(s.p('upper'))).toEqual([]);
  expect(mergedTree(s)).toEqual(before);
  expect(treeOf(fs, s.p('lower'))).toEqual(lowerBefore); // only lower 0 is written
  // In middle: b.txt still needs hiding from lower; docs/ replaced and opaque over lower's docs/.
  expect(fs.readFileSync(s.p('middle/.wh.b.txt'), 'utf8')).toBe('');
  expect(fs.readdirSync(s.p('middle/docs')).sort()).toEqual(['.wh..wh..opq', 'new.md']);
});

test('commit --into-lower N: refused when a layer in between would hide a folded entry', () => {
  const s = seed(); // upper/c.txt would land under middle/c.txt
  const before = mergedTree(s);
  expectOneLineError(s.run(['commit', '--into-lower', '1', ...s.flags]), 'commit', /cannot fold into lower 1: c\.txt would be hidden by middle/);
  expect(mergedTree(s)).toEqual(before);
  expect(fs.existsSync(s.p('upper/c.txt'))).toBe(true);
});

test('commit --into-lower 1: folds past a layer that does not get in the way', () => {
  const s = seed();
  fs.rmSync(s.p('upper/c.txt'));
  changeThroughOverlay(s, (ofs, m) => {
    ofs.appendFileSync(m('a.txt'), 'more\n');
    ofs.unlinkSync(m('b.txt'));
    ofs.writeFileSync(m('docs/more.txt'), 'more\n'); // docs/ merges with middle's docs/
  });
  const before = mergedTree(s);
  const middleBefore = treeOf(fs, s.p('middle'));
  const r = s.run(['commit', '--into-lower', '1', ...s.flags]);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(mergedTree(s)).toEqual(before);
  expect(treeOf(fs, s.p('middle'))).toEqual(middleBefore);
  // lower is the bottom: a deletion there is just a deletion, no whiteout is needed.
  expect(fs.readdirSync(s.p('lower')).sort()).toEqual(['a.txt', 'docs', 'e.txt']);
  expect(fs.readdirSync(s.p('lower/docs')).sort()).toEqual(['install.txt', 'more.txt']);
});

describe('progress bar', () => {
  const big = () => {
    const s = seed();
    const files: Record<string, string> = {};
    for (let i = 0; i < 1000; i++) files[`lower/many/f${i}.txt`] = `${i}\n`;
    s.write(files);
    return s;
  };

  test('not when stderr is not a terminal', () => {
    const s = big();
    const r = s.run(['commit', 'flat', ...s.flags]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(fs.readdirSync(path.join(s.p('flat'), 'many'))).toHaveLength(1000);
  });

  (hasScript ? test : test.skip)('on a terminal: count and bytes, then erased', () => {
    const s = big();
    const r = tty(['commit', 'flat', ...s.flags], { cwd: s.dir });
    expect(r.status).toBe(0);
    // 1000 files + the seed's 8 entries + many/ itself.
    expect(r.output).toMatch(/\r\[#+-*\] writing \d+\/1009 entries, [\d.]+ KiB\/[\d.]+ KiB/);
    expect(r.output).toMatch(/\r\x1b\[Kwrote 1007 files/);
  });
});
