/**
 * ov.close(): releases the overlay. Its lower directories stop being protected on its account
 * (counted: another live overlay over them still protects them), the patches it installed are
 * removed, its watchers are closed, and every later use throws ERR_OVERLAY_CLOSED.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createOverlay } from '../lib/index';
import { isPatched } from '../lib/patch';

let root: string;
let n = 0;
function dirs(): { a: string; b: string; u: string; dir: string } {
  const dir = path.join(root, `c${n++}`);
  const [a, b, u] = ['a', 'b', 'u'].map((x) => path.join(dir, x));
  for (const d of [a, b, u]) fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(a, 'f.txt'), 'a');
  return { a, b, u, dir };
}

beforeAll(() => { root = fs.mkdtempSync(path.join(os.tmpdir(), 'ovfs-close-')); });
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (e) {
    return String((e as { code?: string }).code);
  }
}

test('a lower of a closed overlay can be the upper of a later one', () => {
  const { a, b, dir } = dirs();
  const first = createOverlay({ mountpoint: path.join(dir, 'm1'), lower: [a] });
  const write = () => {
    const later = createOverlay({ mountpoint: path.join(dir, 'm2'), upper: a, lower: [b], workdir: path.join(dir, 'w') });
    try {
      later.fs.writeFileSync(path.join(dir, 'm2', 'g.txt'), 'x');
    } finally {
      later.close();
    }
  };
  // While the first overlay is live, its lower is protected from every overlay.
  expect(codeOf(write)).toBe('EROFS');
  first.close();
  expect(codeOf(write)).toBe('ok');
  expect(fs.readFileSync(path.join(a, 'g.txt'), 'utf8')).toBe('x');
});

test('the protection is counted: closing one of two overlays over a lower keeps it protected', () => {
  const { a, b, dir } = dirs();
  const one = createOverlay({ mountpoint: path.join(dir, 'm1'), lower: [a] });
  const two = createOverlay({ mountpoint: path.join(dir, 'm3'), lower: [a] });
  one.close();
  one.close(); // again: nothing more is released
  const later = createOverlay({ mountpoint: path.join(dir, 'm2'), upper: a, lower: [b], workdir: path.join(dir, 'w') });
  expect(codeOf(() => later.fs.writeFileSync(path.join(dir, 'm2', 'g.txt'), 'x'))).toBe('EROFS');
  two.close();
  expect(codeOf(() => later.fs.writeFileSync(path.join(dir, 'm2', 'g.txt'), 'x'))).toBe('ok');
  later.close();
});

test('every use of a closed overlay throws ERR_OVERLAY_CLOSED; paths outside it still work', async () => {
  const { a, u, dir } = dirs();
  const m = path.join(dir, 'm');
  const ov = createOverlay({ mountpoint: m, upper: u, lower: [a], workdir: path.join(dir, 'w') });
  expect(ov.fs.readFileSync(path.join(m, 'f.txt'), 'utf8')).toBe('a');
  expect(ov.closed).toBe(false);
  ov.close();
  expect(ov.closed).toBe(true);
  expect(codeOf(() => ov.fs.readFileSync(path.join(m, 'f.txt')))).toBe('ERR_OVERLAY_CLOSED');
  expect(codeOf(() => ov.fs.existsSync(m))).toBe('ERR_OVERLAY_CLOSED');
  expect(codeOf(() => ov.fs.stat(m, () => undefined))).toBe('ERR_OVERLAY_CLOSED');
  await expect(ov.fs.promises.readdir(m)).rejects.toMatchObject({ code: 'ERR_OVERLAY_CLOSED' });
  expect(codeOf(() => ov.which(path.join(m, 'f.txt')))).toBe('ERR_OVERLAY_CLOSED');
  expect(codeOf(() => ov.patch())).toBe('ERR_OVERLAY_CLOSED');
  // Not the overlay: passed to Node as before.
  expect(ov.fs.readFileSync(path.join(a, 'f.txt'), 'utf8')).toBe('a');
});

test('close removes the patches the overlay installed', () => {
  const { a, u, dir } = dirs();
  const m = path.join(dir, 'm');
  const ov = createOverlay({ mountpoint: m, upper: u, lower: [a], workdir: path.join(dir, 'w') });
  const wasPatched = isPatched();
  ov.patch();
  expect(fs.readFileSync(path.join(m, 'f.txt'), 'utf8')).toBe('a');
  ov.close();
  expect(isPatched()).toBe(wasPatched);
  expect(codeOf(() => fs.readFileSync(path.join(m, 'f.txt')))).toBe('ENOENT');
});

test('close closes the watchers opened on the overlay', async () => {
  const { a, u, dir } = dirs();
  const m = path.join(dir, 'm');
  const ov = createOverlay({ mountpoint: m, upper: u, lower: [a], workdir: path.join(dir, 'w') });
  const w = ov.fs.watch(m);
  const closed = new Promise<void>((res) => w.once('close', () => res()));
  const poller = ov.fs.watchFile(path.join(m, 'f.txt'), { interval: 10 }, () => undefined);
  const stopped = new Promise<void>((res) => poller.once('stop', () => res()));
  const iterator = ov.fs.promises.watch(m)[Symbol.asyncIterator]();
  const first = iterator.next(); // starts the watcher (the generator runs up to its first wait)
  ov.close();
  await closed;
  await stopped;
  // The promise form's iteration ends (rather than waiting for ever).
  expect(await first).toEqual({ done: true, value: undefined });
});
