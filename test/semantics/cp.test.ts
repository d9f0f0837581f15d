/**
 * fs.cp through the overlay against Node's own cp on a plain directory holding the same
 * merged tree: the same checks in the same order, the same errors (code, name, message,
 * errno, syscall, path, info), thrown synchronously exactly where Node throws, and the same
 * resulting tree. The overlay has a lower and an upper so that copies cross layers.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { execFileSync } from 'child_process';
import { createOverlay } from '../../lib/index';
import type { Overlay } from '../../lib/types';

let root: string;
let n = 0;

beforeAll(() => { root = fs.mkdtempSync(path.join(os.tmpdir(), 'ovfs-cp-')); });
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** A fresh pair: an overlay (lower + upper) and a plain directory with the merged content. */
function pair(): { ov: Overlay; m: string; plain: string; done: () => void } {
  const dir = path.join(root, `p${n++}`);
  const [lower, upper, plain] = ['l', 'u', 'plain'].map((x) => path.join(dir, x));
  for (const d of [lower, upper, plain]) fs.mkdirSync(d, { recursive: true });
  const tree = (base: string, part: 'lower' | 'upper' | 'both') => {
    const put = (rel: string, text: string) => {
      fs.mkdirSync(path.dirname(path.join(base, rel)), { recursive: true });
      fs.writeFileSync(path.join(base, rel), text);
    };
    if (part !== 'upper') {
      put('d/a.txt', 'a');
      put('d/sub/b.txt', 'b');
      put('f.txt', 'f');
      fs.mkdirSync(path.join(base, 'empty'));
      fs.symlinkSync('f.txt', path.join(base, 'lnk'));
    }
    if (part !== 'lower') {
      put('d/up.txt', 'up');
      put('g.txt', 'g');
    }
  };
  tree(lower, 'lower');
  tree(upper, 'upper');
  tree(plain, 'both');
  const m = path.join(dir, 'm');
  const ov = createOverlay({ mountpoint: m, upper, lower: [lower], workdir: path.join(dir, 'w') });
  return { ov, m, plain, done: () => ov.close() };
}

type Form = 'sync' | 'callback' | 'promise';
interface Outcome { ok?: true; thrown?: 'sync' | 'async'; err?: Record<string, unknown> }

function describeErr(e: unknown, base: string): Record<string, unknown> {
  const x = e as Record<string, unknown> & Error;
  const clean = (v: unknown) => (typeof v === 'string' ? v.split(base).join('<B>') : v);
  const info = x.info as Record<string, unknown> | undefined;
  return {
    code: x.code, name: x.name, message: clean(x.message), errno: x.errno, syscall: x.syscall, path: clean(x.path), dest: clean(x.dest),
    info: info && Object.fromEntries(Object.entries(info).map(([k, v]) => [k, clean(v)])),
    str: clean(String(x)),
  };
}

async function run(xfs: typeof fs, form: Form, base: string, src: unknown, dest: unknown, options?: unknown): Promise<Outcome> {
  const args = options === undefined ? [src, dest] : [src, dest, options];
  try {
    if (form === 'sync') (xfs.cpSync as (...a: unknown[]) => void)(...args);
    else if (form === 'promise') {
      let p: Promise<void>;
      try {
        p = (xfs.promises.cp as (...a: unknown[]) => Promise<void>)(...args);
      } catch (e) {
        return { thrown: 'sync', err: describeErr(e, base) };
      }
      await p;
    } else {
      let err: unknown = null;
      try {
        await new Promise<void>((res, rej) => {
          try {
            (xfs.cp as (...a: unknown[]) => void)(...args, (e: unknown) => (e ? rej(e) : res()));
          } catch (e) {
            err = e;
            res();
          }
        });
      } catch (e) {
        return { thrown: 'async', err: describeErr(e, base) };
      }
      if (err) return { thrown: 'sync', err: describeErr(err, base) };
      return { ok: true };
    }
  } catch (e) {
    return { thrown: form === 'promise' ? 'async' : 'sync', err: describeErr(e, base) };
  }
  return { ok: true };
}

function listing(xfs: typeof fs, dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of (xfs.readdirSync(path.join(dir, rel)) as string[]).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = xfs.lstatSync(path.join(dir, r));
      if (st.isDirectory()) {
        out[r] = `dir ${(st.mode & 0o7777).toString(8)}`;
        walk(r);
      } else if (st.isSymbolicLink()) out[r] = `link ${(xfs.readlinkSync(path.join(dir, r)) as string).split(dir).join('<B>')}`;
      else out[r] = `file ${xfs.readFileSync(path.join(dir, r), 'utf8')}`;
    }
  };
  walk('');
  return out;
}

/** Run the same cp on both sides; paths are given relative to the merged root / plain dir. */
async function compare(form: Form, src: (base: string) => unknown, dest: (base: string) => unknown, options?: unknown) {
  const p = pair();
  try {
    const got = await run(p.ov.fs, form, p.m, src(p.m), dest(p.m), options);
    const want = await run(fs, form, p.plain, src(p.plain), dest(p.plain), options);
    expect(got).toEqual(want);
    expect(listing(p.ov.fs, p.m)).toEqual(listing(fs, p.plain));
    return got;
  } finally {
    p.done();
  }
}

const at = (rel: string) => (base: string) => path.join(base, rel);
const FORMS: Form[] = ['sync', 'callback', 'promise'];

describe.each(FORMS)('cp (%s form)', (form) => {
  test('copies a merged directory (both layers) recursively, and a file, and a symlink', async () => {
    expect(await compare(form, at('d'), at('copy'), { recursive: true })).toEqual({ ok: true });
    expect(await compare(form, at('f.txt'), at('new/deeper/f2.txt'))).toEqual({ ok: true });
    expect(await compare(form, at('lnk'), at('lnk2'))).toEqual({ ok: true });
    expect(await compare(form, at('d'), at('empty'), { recursive: true })).toEqual({ ok: true });
  });

  test("cp's own errors, with Node's fields and message", async () => {
    const cases: Array<[(b: string) => unknown, (b: string) => unknown, unknown]> = [
      [at('d'), at('copy'), undefined], // a directory without recursive
      [at('d'), at('d/sub/inside'), { recursive: true }], // into itself
      [at('f.txt'), at('f.txt'), undefined], // the same file
      [at('f.txt'), at('d'), undefined], // a file over a directory
      [at('d'), at('g.txt'), { recursive: true }], // a directory over a file
      [at('f.txt'), at('g.txt'), { force: false, errorOnExist: true }],
      [at('nope'), at('x'), undefined], // a missing source
      [at('.'), at('b.txt/new/'), undefined],
    ];
    for (const [s, d, o] of cases) expect((await compare(form, s, d, o)).err).toBeDefined();
  });

  test('argument errors come first, and thrown where Node throws them', async () => {
    const cases: Array<[(b: string) => unknown, (b: string) => unknown, unknown]> = [
      [at('f.txt'), at('x'), 'not an object'],
      [at('f.txt'), at('x'), { recursive: 'yes' }],
      [at('f.txt'), at('x'), { dereference: true, verbatimSymlinks: true }],
      [at('f.txt'), at('x'), { filter: 'nope' }],
      [at('f.txt'), at('x'), { mode: -1 }],
      [at('nope'), () => 42, undefined], // a bad dest, with a source that does not exist
      [() => 42, at('x'), { recursive: 1 }], // options are checked before paths
    ];
    for (const [s, d, o] of cases) {
      const got = await compare(form, s, d, o);
      expect(got.err).toBeDefined();
      expect(got.thrown).toBe(form === 'promise' ? 'async' : 'sync');
    }
  });

  test('Buffer and file: URL paths are taken or refused as Node takes or refuses them', async () => {
    expect(await compare(form, (b) => pathToFileURL(path.join(b, 'd')), (b) => pathToFileURL(path.join(b, 'copy')), { recursive: true })).toEqual({ ok: true });
    for (const [s, d, o] of [['f.txt', 'bf.txt', undefined], ['d', 'bd', { recursive: true }], ['nope', 'x', undefined]] as const) {
      await compare(form, (b) => Buffer.from(path.join(b, s)), (b) => Buffer.from(path.join(b, d)), o);
      await compare(form, at(s), (b) => Buffer.from(path.join(b, d)), o);
    }
  });

  test('a filter: what it declines is not copied; a promise from it in the sync form is refused', async () => {
    const filter = (src: string) => !src.endsWith('a.txt');
    expect(await compare(form, at('d'), at('copy'), { recursive: true, filter })).toEqual({ ok: true });
    const asyncFilter = async (src: string) => !src.endsWith('a.txt');
    const got = await compare(form, at('d'), at('copy'), { recursive: true, filter: asyncFilter });
    if (form === 'sync') expect(got.err?.code).toBe('ERR_INVALID_RETURN_VALUE');
    else expect(got).toEqual({ ok: true });
  });
});

test('cp of a FIFO fails as Node fails', async () => {
  const p = pair();
  try {
    for (const base of [path.join(p.ov.upper!), p.plain]) execFileSync('mkfifo', [path.join(base, 'fifo')]);
    const got = await run(p.ov.fs, 'sync', p.m, path.join(p.m, 'fifo'), path.join(p.m, 'x'));
    const want = await run(fs, 'sync', p.plain, path.join(p.plain, 'fifo'), path.join(p.plain, 'x'));
    expect(got.err?.code).toBe('ERR_FS_CP_FIFO_PIPE');
    expect(got).toEqual(want);
  } finally {
    p.done();
  }
});

test('cp walks `..` out of a mount as the other functions do, and never makes the mountpoint on disk', async () => {
  for (const form of FORMS) {
    const p = pair();
    const dir = path.dirname(p.m);
    try {
      fs.mkdirSync(path.join(dir, 'out'));
      fs.writeFileSync(path.join(dir, 'out/o'), 'outside');
      // Spelled out: path.join would fold the `..` away. m/d exists in the merged view only.
      const src = await run(p.ov.fs, form, p.m, `${p.m}/d/../../out/o`, `${p.m}/c1`);
      const dest = await run(p.ov.fs, form, p.m, `${p.m}/f.txt`, `${p.m}/d/../../out/c2`);
      expect({
        src, dest,
        c1: p.ov.fs.readFileSync(`${p.m}/c1`, 'utf8'),
        c2: fs.readFileSync(path.join(dir, 'out/c2'), 'utf8'),
        mountpointOnDisk: fs.existsSync(p.m),
      }).toEqual({ src: { ok: true }, dest: { ok: true }, c1: 'outside', c2: 'f', mountpointOnDisk: false });
    } finally {
      p.done();
    }
  }
});

test('cp of a Buffer path that is not UTF-8 fails EILSEQ under a mount, as the other functions do', async () => {
  const bad = (s: string) => Buffer.concat([Buffer.from(s + '/'), Buffer.from([0xff, 0xfe])]);
  for (const form of FORMS) {
    const p = pair();
    try {
      let statCode: unknown;
      try { p.ov.fs.statSync(bad(`${p.m}/d`)); } catch (e) { statCode = (e as { code?: string }).code; }
      const src = await run(p.ov.fs, form, p.m, bad(`${p.m}/d`), `${p.m}/copy`);
      const dest = await run(p.ov.fs, form, p.m, `${p.m}/f.txt`, bad(`${p.m}/d`));
      expect([statCode, src.err?.code, dest.err?.code, p.ov.fs.existsSync(`${p.m}/copy`)]).toEqual(['EILSEQ', 'EILSEQ', 'EILSEQ', false]);
    } finally {
      p.done();
    }
  }
});
