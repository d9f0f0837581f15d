/** `diff`: A/C/D against the lowers, as text and as JSON. */
import { seed, removeScratches, demoChanges, type Scratch } from './cli';

let s: Scratch;
beforeAll(() => {
  s = seed();
  demoChanges(s);
});
afterAll(removeScratches);

const EXPECTED = [
  { change: 'C', path: 'a.txt', type: 'file' }, // copied up, then appended to
  { change: 'D', path: 'b.txt', type: 'file' }, // whiteout
  { change: 'C', path: 'c.txt', type: 'file' }, // the seed's upper hides middle/c.txt
  { change: 'C', path: 'docs', type: 'directory' }, // replaced by an opaque directory...
  { change: 'D', path: 'docs/install.txt', type: 'file' }, // ...which hides what the lowers had
  { change: 'A', path: 'docs/new.md', type: 'file' },
  { change: 'D', path: 'docs/usage.txt', type: 'file' },
  { change: 'A', path: 'e.txt', type: 'file' },
  { change: 'A', path: 'extra', type: 'directory' },
  { change: 'A', path: 'extra/x.txt', type: 'file' },
];

test('diff --json: every change of the upper, in path order', () => {
  const r = s.run(['diff', '--json', ...s.flags]);
  expect(r.status).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual(EXPECTED);
});

test('diff: one line per change, like docker diff', () => {
  const r = s.run(['diff', ...s.flags]);
  expect(r).toEqual({
    status: 0,
    stderr: '',
    stdout: EXPECTED.map((c) => `${c.change} ${c.path}${c.type === 'directory' ? '/' : ''}\n`).join(''),
  });
});

test('diff of an untouched stack is empty; a stack without an upper says so on stderr', () => {
  const t = seed();
  require('fs').rmSync(t.p('upper'), { recursive: true });
  require('fs').mkdirSync(t.p('upper'));
  expect(t.run(['diff', ...t.flags])).toEqual({ status: 0, stdout: '', stderr: '' });
  const ro = t.run(['diff', '--mount', 'm', '--lower', 'middle', '--lower', 'lower']);
  expect(ro.status).toBe(0);
  expect(ro.stdout).toBe('');
  expect(ro.stderr).toMatch(/no upper layer/);
});
