/**
 * Values from another realm. Jest runs each test file in its own vm context: errors that
 * Node's fs throws, and SyntaxErrors from vm.compileFunction, are made by the main context's
 * constructors, so `instanceof Error` (or SyntaxError, URL, AbortSignal) is false for them
 * here although they are perfectly ordinary. The overlay must tell such values apart by shape,
 * as Node itself does; these tests run in exactly that situation.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vm from 'vm';
import { pathToFileURL } from 'url';
import { createOverlay } from '../../lib/index';
import { looksLikeModule } from '../../lib/loader/format';
import type { Overlay } from '../../lib/types';

let root: string;
let ov: Overlay;
let m: string;
let plain: string;

function errOf(fn: () => unknown): { code?: string; name?: string; syscall?: string } | 'ok' {
  try {
    fn();
    return 'ok';
  } catch (e) {
    const err = e as { code?: string; name?: string; syscall?: string };
    return { code: err.code, name: err.name, syscall: err.syscall };
  }
}

async function errOfAsync(fn: () => Promise<unknown>): Promise<ReturnType<typeof errOf>> {
  try {
    await fn();
    return 'ok';
  } catch (e) {
    const err = e as { code?: string; name?: string; syscall?: string };
    return { code: err.code, name: err.name, syscall: err.syscall };
  }
}

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'ovfs-realms-'));
  const lower = path.join(root, 'l');
  plain = path.join(root, 'plain');
  for (const d of [lower, path.join(root, 'u'), plain, path.join(root, 'outside')]) fs.mkdirSync(d);
  // A link out of the mount to a name that does not exist: stat through it fails in Node's fs.
  for (const d of [lower, plain]) {
    fs.symlinkSync(path.join(root, 'outside', 'missing'), path.join(d, 'out'));
    fs.writeFileSync(path.join(d, 'f.txt'), 'text');
  }
  m = path.join(root, 'm');
  ov = createOverlay({ mountpoint: m, upper: path.join(root, 'u'), lower: [lower], workdir: path.join(root, 'w') });
});

afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

test('the errors this test sees from Node are from another realm (the premise of this file)', () => {
  let err: unknown;
  try { fs.statSync(path.join(root, 'nope')); } catch (e) { err = e; }
  expect((err as { code?: string }).code).toBe('ENOENT');
  expect(err instanceof Error).toBe(false);
});

test('mkdir -p through a link whose target is missing fails as Node fails (sync)', () => {
  const want = errOf(() => fs.mkdirSync(path.join(plain, 'out/a/b'), { recursive: true }));
  expect(want).not.toBe('ok');
  expect(errOf(() => ov.fs.mkdirSync(path.join(m, 'out/a/b'), { recursive: true }))).toEqual(want);
});

test('mkdir -p through a link whose target is missing fails as Node fails (promise and callback)', async () => {
  const want = await errOfAsync(() => fs.promises.mkdir(path.join(plain, 'out/a/b'), { recursive: true }));
  expect(want).not.toBe('ok');
  expect(await errOfAsync(() => ov.fs.promises.mkdir(path.join(m, 'out/a/b'), { recursive: true }))).toEqual(want);
  const viaCallback = await errOfAsync(() => new Promise((res, rej) => ov.fs.mkdir(path.join(m, 'out/a/b'), { recursive: true }, (e) => (e ? rej(e) : res(undefined)))));
  expect(viaCallback).toEqual(want);
});

test('a file: URL from the main realm is a path, as it is for Node', () => {
  const url = pathToFileURL(path.join(m, 'f.txt'));
  expect(ov.fs.readFileSync(url, 'utf8')).toBe('text');
});

test('a Uint8Array path (not a Buffer) is a path under the mountpoint, as Node takes it', () => {
  // Node's types say Buffer; Node's fs takes any Uint8Array.
  const bytes = new Uint8Array(Buffer.from(path.join(m, 'f.txt'))) as unknown as Buffer;
  expect(ov.fs.readFileSync(bytes, 'utf8')).toBe('text');
  expect(ov.fs.existsSync(new Uint8Array(Buffer.from(m)) as unknown as Buffer)).toBe(true); // the mountpoint is not on disk
});

test('an AbortSignal from another realm is accepted by watch', () => {
  const ac = vm.runInNewContext('new AC()', { AC: AbortController }) as AbortController;
  const w = ov.fs.watch(m, { signal: ac.signal });
  ac.abort();
  w.close();
});

test('a module-only SyntaxError from vm.compileFunction (main realm) is recognised', () => {
  let err: unknown;
  try { vm.compileFunction('export const x = 1'); } catch (e) { err = e; }
  expect((err as { name?: string }).name).toBe('SyntaxError');
  expect(looksLikeModule('export const x = 1;\n', path.join(m, 'x.js'))).toBe(true);
  expect(looksLikeModule('module.exports = 1;\n', path.join(m, 'y.js'))).toBe(false);
});
