/**
 * Sync, callback and promise forms of one operation give the same result: same return value
 * (normalised), same error (code, syscall, merged path, message), same upper layer afterwards
 * and same merged view. Each form runs on its own fresh stack built from the same spec.
 * Callbacks always fire asynchronously, for successes and for early errors alike. (Node 20's
 * own `fs.readdir(p, { recursive: true }, cb)` calls back synchronously; the overlay must not
 * copy that bug, so the 'readdir recursive' row fails in kernel mode only.)
 */
import * as nodeFs from 'fs';
import * as path from 'path';
import { useLayers, type Stack, type StackSpec, type Tree } from '../helpers/layers';

const layers = useLayers();

type Fs = typeof nodeFs;
type Cb = (err: NodeJS.ErrnoException | null, res?: unknown) => void;
interface FormOp {
  name: string;
  spec?: StackSpec;
  readonly?: boolean;
  sync(fs: Fs, m: string): unknown;
  cb(fs: Fs, m: string, done: Cb): void;
  promise(fs: Fs, m: string): Promise<unknown>;
  norm?(r: unknown, m: string): unknown;
}

const SPEC: StackSpec = {
  l1: {
    f: { file: 'lower-f', mode: 0o644, mtime: 1000000000 },
    'd/x': 'x',
    'd/gone': 'gone',
    'e/': null,
    ln: { symlink: 'd/x', mtime: 1000000000 },
    'tree/a/b': 'b',
    'tree/c': 'c',
  },
  l2: { 'd/mid': 'mid', 'd/gone': { whiteout: true } },
  u: { g: 'upper-g', 'd/up': 'up', d: { dir: true, mtime: 1100000000 } },
};

const statNorm = (r: unknown) => {
  const st = r as nodeFs.Stats;
  return { file: st.isFile(), dir: st.isDirectory(), link: st.isSymbolicLink(), size: st.size, mode: st.mode, mtimeMs: st.mtimeMs, uid: st.uid, nlink: st.nlink };
};
const sorted = (r: unknown) => (r as string[]).slice().sort();
const direntNorm = (r: unknown) =>
  (r as nodeFs.Dirent[]).map((e) => `${e.name}:${e.isDirectory() ? 'd' : e.isFile() ? 'f' : e.isSymbolicLink() ? 'l' : '?'}`).sort();
const text = (r: unknown) => (Buffer.isBuffer(r) ? r.toString() : r);

/** Build a FormOp from a method name and argument list that is the same for all three forms. */
function same(name: string, method: string, args: (m: string) => unknown[], extra: Partial<FormOp> = {}): FormOp {
  return {
    name,
    sync: (fs, m) => (fs as unknown as Record<string, (...a: unknown[]) => unknown>)[method + 'Sync'](...args(m)),
    cb: (fs, m, done) => (fs as unknown as Record<string, (...a: unknown[]) => unknown>)[method](...args(m), done),
    promise: (fs, m) => (fs.promises as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[method](...args(m)),
    ...extra,
  };
}

const ops: FormOp[] = [
  same('readFile of a lower file', 'readFile', (m) => [m + '/f', 'utf8']),
  same('readFile of an upper file (Buffer)', 'readFile', (m) => [m + '/g'], { norm: text }),
  same('readFile of a whited-out name', 'readFile', (m) => [m + '/d/gone']),
  same('stat of a merged dir', 'stat', (m) => [m + '/d'], { norm: statNorm }),
  same('stat of a lower file', 'stat', (m) => [m + '/f'], { norm: statNorm }),
  same('lstat of a symlink', 'lstat', (m) => [m + '/ln'], { norm: statNorm }),
  same('stat through a file', 'stat', (m) => [m + '/f/x']),
  same('readdir of a merged dir', 'readdir', (m) => [m + '/d'], { norm: sorted }),
  same('readdir withFileTypes', 'readdir', (m) => [m + '/d', { withFileTypes: true }], { norm: direntNorm }),
  same('readdir recursive', 'readdir', (m) => [m + '/tree', { recursive: true }], { norm: sorted }),
  same('readlink', 'readlink', (m) => [m + '/ln']),
  same('realpath', 'realpath', (m) => [m + '/ln']),
  same('access W_OK of a missing name', 'access', (m) => [m + '/nope', nodeFs.constants.W_OK]),
  same('writeFile of a new file', 'writeFile', (m) => [m + '/d/new', 'NEW']),
  same('writeFile over a lower file', 'writeFile', (m) => [m + '/f', 'over']),
  same('appendFile to a lower file', 'appendFile', (m) => [m + '/f', '+tail']),
  same('mkdir', 'mkdir', (m) => [m + '/nd']),
  same('mkdir recursive (returns the first created)', 'mkdir', (m) => [m + '/e/n1/n2', { recursive: true }]),
  same('mkdir of an existing name', 'mkdir', (m) => [m + '/d']),
  same('mkdir of a reserved name', 'mkdir', (m) => [m + '/.wh.x']),
  same('rmdir of an empty lower dir', 'rmdir', (m) => [m + '/e']),
  same('rmdir of a non-empty merged dir', 'rmdir', (m) => [m + '/d']),
  same('unlink of a lower file', 'unlink', (m) => [m + '/d/x']),
  same('unlink of a missing name', 'unlink', (m) => [m + '/d/nope']),
  same('rename of a lower file', 'rename', (m) => [m + '/f', m + '/e/f2']),
  same('rename of a merged dir', 'rename', (m) => [m + '/d', m + '/d2']),
  same('rename of a missing source', 'rename', (m) => [m + '/nope', m + '/zz']),
  same('copyFile', 'copyFile', (m) => [m + '/f', m + '/d/copy']),
  same('chmod of a lower file', 'chmod', (m) => [m + '/f', 0o600]),
  same('utimes of a lower dir', 'utimes', (m) => [m + '/d', 1234, 5678]),
  same('truncate of a lower file', 'truncate', (m) => [m + '/f', 3]),
  same('symlink', 'symlink', (m) => ['../f', m + '/d/sl']),
  same('link', 'link', (m) => [m + '/f', m + '/d/hl']),
  same('link onto an existing name', 'link', (m) => [m + '/f', m + '/g']),
  same('rm recursive of a lower tree', 'rm', (m) => [m + '/tree', { recursive: true }]),
  same('cp recursive of a merged dir', 'cp', (m) => [m + '/d', m + '/dcopy', { recursive: true }]),
  same('mkdtemp', 'mkdtemp', (m) => [m + '/e/t-'], { norm: (r, m) => path.relative(m, r as string).replace(/.{6}$/, 'XXXXXX') }),
  same('writeFile on a read-only overlay', 'writeFile', (m) => [m + '/f', 'x'], { readonly: true, spec: { l1: { f: 'f' } } }),
  {
    name: 'open + read + close',
    sync: (fs, m) => {
      const fd = fs.openSync(m + '/d/mid', 'r');
      const buf = Buffer.alloc(3);
      fs.readSync(fd, buf, 0, 3, 0);
      fs.closeSync(fd);
      return buf.toString();
    },
    cb: (fs, m, done) =>
      fs.open(m + '/d/mid', 'r', (e, fd) => {
        if (e) return done(e);
        const buf = Buffer.alloc(3);
        fs.read(fd, buf, 0, 3, 0, (e2) => fs.close(fd, () => done(e2, buf.toString())));
      }),
    promise: async (fs, m) => {
      const fh = await fs.promises.open(m + '/d/mid', 'r');
      const buf = Buffer.alloc(3);
      await fh.read(buf, 0, 3, 0);
      await fh.close();
      return buf.toString();
    },
  },
  {
    name: 'open r+ + write + close (copy-up)',
    sync: (fs, m) => {
      const fd = fs.openSync(m + '/f', 'r+');
      fs.writeSync(fd, 'W', 1);
      fs.closeSync(fd);
    },
    cb: (fs, m, done) =>
      fs.open(m + '/f', 'r+', (e, fd) => {
        if (e) return done(e);
        fs.write(fd, 'W', 1, (e2) => fs.close(fd, () => done(e2)));
      }),
    promise: async (fs, m) => {
      const fh = await fs.promises.open(m + '/f', 'r+');
      await fh.write('W', 1);
      await fh.close();
    },
  },
  {
    name: 'opendir names',
    sync: (fs, m) => {
      const d = fs.opendirSync(m + '/d');
      const out: string[] = [];
      for (let e = d.readSync(); e; e = d.readSync()) out.push(e.name);
      d.closeSync();
      return out.sort();
    },
    cb: (fs, m, done) =>
      fs.opendir(m + '/d', (e, d) => {
        if (e) return done(e);
        const out: string[] = [];
        const next = () =>
          d.read((e2, ent) => {
            if (e2) return done(e2);
            if (!ent) return d.close(() => done(null, out.sort()));
            out.push(ent.name);
            next();
          });
        next();
      }),
    promise: async (fs, m) => {
      const out: string[] = [];
      for await (const e of await fs.promises.opendir(m + '/d')) out.push(e.name);
      return out.sort();
    },
  },
];

interface Outcome {
  ok: boolean;
  value?: unknown;
  error?: Record<string, unknown>;
  upper: Tree | null;
  merged: Tree;
}

function errShape(e: unknown, s: Stack) {
  const err = e as NodeJS.ErrnoException & { dest?: string };
  const fix = (v: unknown) => (typeof v === 'string' ? v.split(s.root).join('<root>') : v);
  return { code: err.code, errno: err.errno, syscall: err.syscall, path: fix(err.path), dest: fix(err.dest), message: fix(err.message) };
}

async function run(op: FormOp, form: 'sync' | 'cb' | 'promise'): Promise<Outcome & { syncCallback?: boolean }> {
  const s = layers(op.spec ?? SPEC, { readonly: op.readonly });
  let ok = true;
  let value: unknown;
  let error: unknown;
  let syncCallback: boolean | undefined;
  try {
    if (form === 'sync') value = op.sync(s.fs, s.m);
    else if (form === 'promise') value = await op.promise(s.fs, s.m);
    else {
      value = await new Promise((res, rej) => {
        let returned = false;
        op.cb(s.fs, s.m, (e, r) => {
          syncCallback = !returned;
          if (e) rej(e);
          else res(r);
        });
        returned = true;
      });
    }
  } catch (e) {
    ok = false;
    error = e;
  }
  const norm = op.norm ?? ((r: unknown) => (typeof r === 'string' ? r.split(s.root).join('<root>') : r));
  // mkdtemp names are random: normalise them in the trees
  const tmpNames = (t: Tree): Tree =>
    Object.fromEntries(Object.entries(t).map(([k, v]) => [k.replace(/\bt-[A-Za-z0-9]{6}\b/, 't-XXXXXX'), v]));
  return {
    ok,
    value: ok ? norm(value, s.m) : undefined,
    error: ok ? undefined : errShape(error, s),
    upper: s.upper ? tmpNames(s.upperTree()) : null,
    merged: tmpNames(s.mergedTree()),
    syncCallback,
  };
}

describe('the three forms agree', () => {
  test.each(ops.map((o) => [o.name, o] as const))('%s', async (_name, op) => {
    const a = await run(op, 'sync');
    const b = await run(op, 'cb');
    const c = await run(op, 'promise');
    const { syncCallback, ...bRest } = b;
    const { syncCallback: _x, ...aRest } = a;
    const { syncCallback: _y, ...cRest } = c;
    expect(bRest).toEqual(aRest);
    expect(cRest).toEqual(aRest);
    expect(syncCallback).toBe(false);
  });
});

describe('callbacks fire asynchronously', () => {
  const cases: Array<[string, (s: Stack, cb: (...a: unknown[]) => void) => void]> = [
    ['stat success', (s, cb) => s.fs.stat(s.p('f'), cb)],
    ['stat ENOENT', (s, cb) => s.fs.stat(s.p('nope'), cb)],
    ['stat of a reserved name', (s, cb) => s.fs.stat(s.p('.wh.f'), cb)],
    ['readFile through a file (ENOTDIR)', (s, cb) => s.fs.readFile(s.p('f/x'), cb)],
    ['mkdir EEXIST', (s, cb) => s.fs.mkdir(s.p('d'), cb)],
    ['mkdir reserved EINVAL', (s, cb) => s.fs.mkdir(s.p('.wh.z'), cb)],
    ['unlink of a missing name', (s, cb) => s.fs.unlink(s.p('nope'), cb)],
    ['rename missing', (s, cb) => s.fs.rename(s.p('nope'), s.p('zz'), cb)],
    ['exists true', (s, cb) => s.fs.exists(s.p('f'), cb)],
    ['exists false', (s, cb) => s.fs.exists(s.p('nope'), cb)],
    ['access', (s, cb) => s.fs.access(s.p('f'), cb)],
    ['readdir', (s, cb) => s.fs.readdir(s.p('d'), cb)],
    ['realpath', (s, cb) => s.fs.realpath(s.p('ln'), cb)],
    ['lstat', (s, cb) => s.fs.lstat(s.p('ln'), cb)],
    ['writeFile', (s, cb) => s.fs.writeFile(s.p('new'), 'x', cb)],
    ['chmod', (s, cb) => s.fs.chmod(s.p('f'), 0o600, cb)],
    ['fstat', (s, cb) => {
      const fd = s.fs.openSync(s.p('f'), 'r');
      s.fs.fstat(fd, (...a: unknown[]) => {
        s.fs.closeSync(fd);
        cb(...a);
      });
    }],
  ];

  test.each(cases)('%s', async (_name, call) => {
    const s = layers(SPEC);
    let returned = false;
    const firedSync = await new Promise<boolean>((res) => {
      call(s, () => res(!returned));
      returned = true;
    });
    expect(firedSync).toBe(false);
  });

  test('EROFS from a read-only overlay is delivered asynchronously', async () => {
    const s = layers({ l1: { f: 'f' } }, { readonly: true });
    let returned = false;
    const [firedSync, err] = await new Promise<[boolean, NodeJS.ErrnoException | null]>((res) => {
      s.fs.unlink(s.p('f'), (e) => res([!returned, e]));
      returned = true;
    });
    expect(firedSync).toBe(false);
    expect(err).toMatchObject({ code: 'EROFS', path: s.p('f') });
  });
});
