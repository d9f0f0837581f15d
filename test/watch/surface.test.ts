/**
 * fs.watch's surface on merged paths, compared with Node's own fs.watch on a real directory:
 * errors (ENOENT with the `watch` syscall, path and filename), option validation errors,
 * filename encodings, listener, 'close', and paths through symlinks (a file watched through a
 * link reports the link's name, as inotify on the link path does; a link leading out of the
 * overlay is watched by Node itself).
 */
import * as fs from 'fs';
import * as path from 'path';
import { useWatchStack, record, named, write } from './helpers';

const stack = useWatchStack();

function thrown(fn: () => unknown): Record<string, unknown> {
  try {
    (fn() as fs.FSWatcher | undefined)?.close();
  } catch (e) {
    const err = e as Error & Record<string, unknown>;
    return { name: err.name, message: err.message, code: err.code, errno: err.errno, syscall: err.syscall, path: err.path, filename: err.filename };
  }
  throw new Error('expected a throw');
}

test('a missing merged path throws what Node throws for a missing real path', () => {
  const s = stack({ l1: { 'd/': null } });
  const real = s.real('l1', 'nope');
  const mine = thrown(() => s.ov.fs.watch(s.p('nope')));
  const node = thrown(() => fs.watch(real));
  expect(mine).toEqual({ ...node, message: String(node.message).replace(real, s.p('nope')), path: s.p('nope'), filename: s.p('nope') });
  // A whited-out name is missing too.
  s.ov.fs.rmdirSync(s.p('d'));
  expect(fs.existsSync(s.real('u', '.wh.d'))).toBe(true);
  expect(thrown(() => s.ov.fs.watch(s.p('d')))).toMatchObject({ code: 'ENOENT', path: s.p('d') });
});

test('paths are walked as every other function walks them: `..` (ENOTDIR, ENOENT, out of the mount), non-UTF-8 Buffers (EILSEQ)', async () => {
  const s = stack({ l1: { 'd/f': 'x' } });
  const code = (fn: () => unknown) => { try { (fn() as fs.FSWatcher).close(); return 'ok'; } catch (e) { return (e as NodeJS.ErrnoException).code; } };
  const codeAsync = async (p: fs.PathLike) => {
    const ac = new AbortController();
    const first = s.ov.fs.promises.watch(p, { signal: ac.signal })[Symbol.asyncIterator]().next();
    ac.abort(); // a watch that started ends with ABORT_ERR; one that could not start rejects with its error
    try { await first; return 'ok'; } catch (e) { return (e as NodeJS.ErrnoException).code; }
  };
  const bad = Buffer.concat([Buffer.from(s.p('d') + '/'), Buffer.from([0xff])]);
  // Spelled out: path.join would fold the `..` away.
  const cases: Array<[string, fs.PathLike]> = [['file/..', `${s.m}/d/f/..`], ['missing/..', `${s.m}/d/nope/..`], ['out of the mount', `${s.m}/d/../..`], ['not UTF-8', bad]];
  const got: Record<string, unknown> = {};
  for (const [name, p] of cases) got[name] = [String(code(() => s.ov.fs.watch(p))), await codeAsync(p)];
  // Node on the same real names: ENOTDIR, ENOENT; the mount's parent is a real directory (watched by Node).
  expect(got).toEqual({ 'file/..': ['ENOTDIR', 'ENOTDIR'], 'missing/..': ['ENOENT', 'ENOENT'], 'out of the mount': ['ok', 'ABORT_ERR'], 'not UTF-8': ['EILSEQ', 'EILSEQ'] });
  // watchFile polls a path leading out of the mount like any other.
  const listener = () => undefined;
  expect(code(() => ({ close: () => s.ov.fs.unwatchFile(`${s.m}/d/../..`, listener), ...s.ov.fs.watchFile(`${s.m}/d/../..`, listener) }))).toBe('ok');
});

test.each([
  ['options of a wrong type', 5],
  ['an unknown encoding', { encoding: 'nope' }],
  ['recursive not a boolean', { recursive: 1 }],
  ['signal not an AbortSignal', { signal: {} }],
])('%s: the same error as Node', (_, options) => {
  const s = stack({ l1: { 'd/': null } });
  expect(thrown(() => s.ov.fs.watch(s.p('d'), options as any))).toEqual(thrown(() => fs.watch(s.real('l1', 'd'), options as any)));
});

test('encodings: buffer and hex filenames, as Node gives them; the listener argument gets the events', async () => {
  const s = stack({ l1: { 'd/': null } });
  const bufWatcher = s.track(s.ov.fs.watch(s.p('d'), { encoding: 'buffer' }));
  const raw: unknown[] = [];
  bufWatcher.on('change', (_t, name) => raw.push(name));
  const buf = record(bufWatcher);
  const hex = record(s.track(s.ov.fs.watch(s.p('d'), 'hex')));
  const got: unknown[] = [];
  const plain = record(s.track(s.ov.fs.watch(s.p('d'), (type, name) => got.push([type, name]))));
  write(s.real('u', 'd/é.txt'), 'x');
  await buf.next(named('é.txt'));
  await hex.next(named(Buffer.from('é.txt').toString('hex')));
  await plain.next(named('é.txt'));
  expect(Buffer.isBuffer(raw[0])).toBe(true);
  expect(got[0]).toEqual(['rename', 'é.txt']);
});

test("close() emits 'close' once, like Node's", async () => {
  const s = stack({ l1: { 'd/': null } });
  const w = s.ov.fs.watch(s.p('d'));
  const closes: number[] = [];
  w.on('close', () => closes.push(1));
  w.close();
  w.close();
  await new Promise((r) => setImmediate(r));
  expect(closes).toEqual([1]);
});

test('a file watched through a symlink reports the link name; the watched directory is the merged root', async () => {
  const s = stack({ l1: { 'real.txt': 'r', link: { symlink: 'real.txt' } } });
  const log = record(s.track(s.ov.fs.watch(s.p('link'))));
  const root = record(s.track(s.ov.fs.watch(s.m)));
  fs.appendFileSync(s.real('l1', 'real.txt'), '!');
  expect(await log.next()).toEqual({ type: 'change', filename: 'link' });
  expect(await root.next(named('real.txt'))).toEqual({ type: 'change', filename: 'real.txt' });
});

test("a symlink leading out of the overlay is watched by Node's own fs.watch", async () => {
  const s = stack({ l1: {} });
  const outside = path.join(s.root, 'outside');
  fs.mkdirSync(outside);
  fs.symlinkSync(outside, s.real('l1', 'out'));
  const log = record(s.track(s.ov.fs.watch(s.p('out'))));
  fs.writeFileSync(path.join(outside, 'o.txt'), 'o');
  await log.next(named('o.txt'));
});

test('the watched directory itself whited out and back: reported under its own name', async () => {
  const s = stack({ l1: { 'd/a.txt': 'a' } });
  const log = record(s.track(s.ov.fs.watch(s.p('d'))));
  write(s.real('u', '.wh.d'), '');
  expect(await log.next(named('d'))).toEqual({ type: 'rename', filename: 'd' });
  log.mark();
  fs.unlinkSync(s.real('u', '.wh.d'));
  await log.next(named('d'));
  log.mark();
  fs.appendFileSync(s.real('l1', 'd/a.txt'), '!');
  await log.next(named('a.txt'));
});
