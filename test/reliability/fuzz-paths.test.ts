/**
 * Hostile paths, property-based (fast-check, fixed seed in CI). Each run builds a fresh
 * three-layer stack and, beside it, a plain directory holding the same merged tree; then a
 * generated sequence of calls goes through every path-taking function of ov.fs, and the same
 * calls through Node's own fs on the plain directory. Paths carry NUL bytes, 255- and
 * 256-byte names, paths longer than PATH_MAX, `..` chains climbing out of the mountpoint,
 * trailing slashes, `.` components, Buffers (valid and invalid UTF-8), `file:` URLs (with a
 * host, with `localhost`, with an encoded slash, with encoded dots), non-path values and
 * reserved `.wh.` names; in three layouts (a virtual mountpoint, the mountpoint on the upper,
 * the mountpoint on the top lower).
 *
 * Each call must give what Node gives on the plain directory (value, or error code, syscall
 * and message with the path), or the documented overlay answer: EINVAL for creating a `.wh.`
 * name, EBUSY/EXDEV for removing or renaming the mountpoint itself, EXDEV for a rename or link
 * across the mountpoint boundary. After every change the merged tree must equal the plain tree.
 * Always: no crash, the lower layers and a read-only sentinel tree outside unchanged, nothing
 * created at a virtual mountpoint's real path. Calls whose paths leave the scratch directory,
 * and changes outside the mountpoint and the sentinel, are not executed (they are plain fs).
 */
import * as fs from 'fs';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { types } from 'util';
import fc from 'fast-check';
import { createOverlay } from '../../lib/index';
import type { Overlay } from '../../lib/types';
import { SEED, LONG, scale, common, record, scratch, cleanupAll, bindReadOnly, skip, show } from './support';

jest.setTimeout(scale(100_000, 3_600_000));

const NUM_RUNS = Number(process.env.OVFS_REL_FUZZ_RUNS ?? scale(150, 1500));
const MAX_CALLS = scale(10, 16);

let root: string;
let sentinel: string;
let sentinelProtected = false;
let sentinelSums: Record<string, string>;
beforeAll(() => {
  root = scratch('fuzz');
  sentinel = path.join(root, 'sentinel');
  fs.mkdirSync(path.join(sentinel, 'dir'), { recursive: true });
  fs.writeFileSync(path.join(sentinel, 'secret.txt'), 'SENTINEL-SECRET\n');
  fs.writeFileSync(path.join(sentinel, 'dir', 'inner'), 'SENTINEL-INNER\n');
  const refused = bindReadOnly(sentinel);
  sentinelProtected = refused === null;
  if (refused) skip(`fuzz: sentinel not write-protected (${refused}); changes aimed at it are not executed`);
  sentinelSums = common.checksumDirs([sentinel]);
});
afterAll(cleanupAll);

// ---- the trees ---------------------------------------------------------------------------

type Spec = Record<string, string | null | { symlink: string } | { whiteout: true }>;
const L1: Spec = { 'a.txt': 'A1', d: null, 'd/x': 'X1', 'd/sub/y': 'Y1', 'e/old': 'O', lnk: { symlink: 'a.txt' }, dlink: { symlink: 'd' }, dangling: { symlink: 'nowhere' }, ['n'.repeat(255)]: 'long name' };
const L2: Spec = { 'a.txt': 'A2', 'd/z': 'Z2', 'f/g': 'G', 'é.txt': 'accent' };
const U: Spec = { 'b.txt': 'B', 'd/x': 'XU', e: { whiteout: true }, 'd/sub': null };
/** What the merged view of L1 < L2 < U shows. */
const MERGED: Spec = { 'a.txt': 'A2', 'b.txt': 'B', 'd/x': 'XU', 'd/z': 'Z2', 'd/sub/y': 'Y1', 'f/g': 'G', 'é.txt': 'accent', lnk: { symlink: 'a.txt' }, dlink: { symlink: 'd' }, dangling: { symlink: 'nowhere' }, ['n'.repeat(255)]: 'long name' };

function build(dir: string, spec: Spec): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const [rel, v] of Object.entries(spec)) {
    const f = path.join(dir, rel);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    if (v === null) fs.mkdirSync(f, { recursive: true });
    else if (typeof v === 'string') fs.writeFileSync(f, v);
    else if ('symlink' in v) fs.symlinkSync(v.symlink, f);
    else fs.writeFileSync(path.join(path.dirname(f), '.wh.' + path.basename(f)), '');
  }
}

type Layout = 'virtual' | 'on-upper' | 'on-lower';
interface World { ov: Overlay; om: string; pm: string; lowers: string[]; lowerSums: Record<string, string>; layout: Layout; runDir: string }

let runCounter = 0;
function world(layout: Layout): World {
  // Fresh names every run: a directory once used as a lower stays guarded for the process's life (R12).
  const k = runCounter++;
  const runDir = path.join(root, `L${k}`);
  const om = path.join(root, `ov${k}`, 'm');
  const pm = path.join(root, `pl${k}`, 'm');
  fs.mkdirSync(path.dirname(om));
  fs.mkdirSync(path.dirname(pm));
  for (const p of [om, pm]) fs.rmSync(p, { recursive: true, force: true });
  const l1 = path.join(runDir, 'l1');
  const l2 = layout === 'on-lower' ? om : path.join(runDir, 'l2');
  const u = layout === 'on-upper' ? om : path.join(runDir, 'u');
  build(l1, L1);
  build(l2, L2);
  build(u, U);
  build(pm, MERGED);
  const lowers = [l2, l1];
  const ov = createOverlay({ mountpoint: om, upper: u, lower: lowers, workdir: path.join(runDir, 'w') });
  return { ov, om, pm, lowers, lowerSums: common.checksumDirs(lowers), layout, runDir };
}

function dropWorld(w: World): void {
  fs.rmSync(w.runDir, { recursive: true, force: true });
  for (const p of [w.om, w.pm]) fs.rmSync(path.dirname(p), { recursive: true, force: true });
}

// ---- generated paths ---------------------------------------------------------------------

const NAMES = ['a.txt', 'b.txt', 'd', 'x', 'z', 'sub', 'y', 'f', 'g', 'e', 'old', 'lnk', 'dlink', 'dangling', 'é.txt', 'new', 'n2', 'newdir',
  '.wh.a.txt', '.wh.new', '.wh..wh..opq', '.wh.', '.wh.e', 'sentinel', 'secret.txt', 'dir', 'inner', 'm', 'ov', 'pl', 'n'.repeat(255), 'n'.repeat(256), 'a b', 'a\\b', ' ', '-'];
const component = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom(...NAMES) },
  { weight: 4, arbitrary: fc.constantFrom('.', '..', '') },
  { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 4 }).filter((s) => !s.includes('/') && s !== '.' && s !== '..') },
  { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 3, unit: 'binary' }).filter((s) => !s.includes('/') && s !== '.' && s !== '..' && !s.includes('\0')) },
);
type Enc = 'string' | 'buffer' | 'buffer-invalid' | 'url' | 'url-host' | 'url-localhost' | 'url-encoded-slash' | 'url-encoded-dots' | 'nul' | 'not-a-path';
interface PathSpec { rel: boolean; comps: string[]; trail: string; longDots: boolean; longDots2: boolean; enc: Enc; weird: number }
const pathSpec: fc.Arbitrary<PathSpec> = fc.record({
  rel: fc.boolean(),
  comps: fc.array(component, { maxLength: 5 }),
  trail: fc.constantFrom('', '', '', '', '/', '/.', '//', '/..'),
  longDots: fc.constantFrom(false, false, false, false, false, false, false, false, false, true),
  longDots2: fc.constantFrom(false, false, false, false, false, false, false, false, false, true),
  enc: fc.constantFrom<Enc>('string', 'string', 'string', 'string', 'string', 'string', 'buffer', 'buffer', 'buffer-invalid', 'url', 'url', 'url-host', 'url-localhost', 'url-encoded-slash', 'url-encoded-dots', 'nul', 'not-a-path'),
  weird: fc.integer({ min: 0, max: 5 }),
});

/** The path as a string, with `base` as the mountpoint (null for non-path values). */
function pathString(p: PathSpec, base: string): string | null {
  if (p.enc === 'not-a-path') return null;
  const prefix = p.rel ? path.relative(process.cwd(), base) || '.' : base;
  let s = prefix;
  if (p.longDots) s += '/' + Array(1100).fill('d/..').join('/'); // longer than PATH_MAX, lexically short
  if (p.longDots2) s += '/' + Array(2100).fill('.').join('/');
  if (p.comps.length) s += '/' + p.comps.join('/');
  return s + p.trail;
}

function render(p: PathSpec, base: string): unknown {
  const s = pathString(p, base);
  if (s === null) return [123456789, undefined, null, {}, true, 1.5][p.weird];
  const abs = path.resolve(s);
  switch (p.enc) {
    case 'string': return s;
    case 'buffer': return Buffer.from(s);
    case 'buffer-invalid': return Buffer.concat([Buffer.from(s.replace(/\/+$/, '') + '/'), Buffer.from([0xff, 0xfe, 0x41])]);
    case 'url': return pathToFileURL(abs);
    case 'url-host': return new URL('file://fuzzhost' + pathToFileURL(abs).pathname);
    case 'url-localhost': return new URL('file://localhost' + pathToFileURL(abs).pathname);
    case 'url-encoded-slash': {
      const u = pathToFileURL(abs).href;
      const i = u.lastIndexOf('/');
      if (i < 'file:///'.length) return new URL('file:///%2F' + u.slice('file:///'.length)); // a top-level name: not the host's slash
      return new URL(u.slice(0, i) + '%2F' + u.slice(i + 1));
    }
    case 'url-encoded-dots': return new URL(pathToFileURL(base).href + '/%2e%2e/' + encodeURIComponent(p.comps[0] ?? 'x'));
    case 'nul': return s + '\0x';
    default: return s;
  }
}

/** Shorten long runs in messages (PATH_MAX paths, 255-byte names). */
function abbreviate(s: string): string {
  return s.replace(/(?:d\/\.\.\/){3,}/g, (m) => `(d/../)x${m.length / 5}`).replace(/(?:\.\/){3,}/g, (m) => `(./)x${m.length / 2}`).replace(/n{20,}/g, (m) => `n{${m.length}}`);
}

/** Where a path lands, lexically: inside the mount, in the sentinel, the scratch root, or elsewhere. */
function zone(p: PathSpec, w: World): 'mount' | 'sentinel' | 'root' | 'outside' | 'invalid' {
  const s = pathString(p, w.om);
  if (s === null || p.enc === 'nul' || p.enc === 'url-host' || p.enc === 'url-encoded-slash') return 'invalid';
  let abs = path.resolve(s);
  if (p.enc === 'url-encoded-dots') abs = path.resolve(w.om, '..', p.comps[0] ?? 'x');
  const under = (a: string, r: string) => a === r || a.startsWith(r + '/');
  if (under(abs, w.om)) return 'mount';
  if (under(abs, sentinel)) return 'sentinel';
  if (abs === root || (path.dirname(abs) === root && !/^(ov|pl)\d+$/.test(path.basename(abs)))) return 'root';
  return 'outside';
}

// ---- calls ---------------------------------------------------------------------------------

type Form = 'sync' | 'promise' | 'callback';
interface FnDef { name: string; paths: number; mutating: boolean; extra: fc.Arbitrary<unknown[]>; forms?: Form[] }
const modeArb = fc.constantFrom(0o644, 0o600, 0o755, 0o4755, '644', 0o777);
const dataArb = fc.constantFrom('data', '', Buffer.from([0, 1, 2]), 'x'.repeat(100));
const FNS: FnDef[] = [
  { name: 'access', paths: 1, mutating: false, extra: fc.tuple(fc.constantFrom(undefined, fs.constants.R_OK, fs.constants.W_OK, fs.constants.X_OK)) },
  { name: 'exists', paths: 1, mutating: false, extra: fc.constant([]), forms: ['sync', 'callback'] },
  { name: 'stat', paths: 1, mutating: false, extra: fc.tuple(fc.constantFrom(undefined, { bigint: true }, { throwIfNoEntry: false })) },
  { name: 'lstat', paths: 1, mutating: false, extra: fc.tuple(fc.constantFrom(undefined, { throwIfNoEntry: false })) },
  { name: 'readFile', paths: 1, mutating: false, extra: fc.tuple(fc.constantFrom(undefined, 'utf8', { flag: 'r' }, { encoding: 'base64' })) },
  { name: 'readdir', paths: 1, mutating: false, extra: fc.tuple(fc.constantFrom(undefined, { withFileTypes: true }, { recursive: true }, 'buffer')) },
  { name: 'readlink', paths: 1, mutating: false, extra: fc.constant([]) },
  { name: 'realpath', paths: 1, mutating: false, extra: fc.constant([]) },
  { name: 'realpath.native', paths: 1, mutating: false, extra: fc.constant([]), forms: ['sync', 'callback'] },
  { name: 'opendir', paths: 1, mutating: false, extra: fc.constant([]) },
  { name: 'statfs', paths: 1, mutating: false, extra: fc.constant([]) },
  { name: 'open', paths: 1, mutating: true, extra: fc.tuple(fc.constantFrom('r', 'r+', 'w', 'wx', 'a', 'a+', fs.constants.O_RDONLY | fs.constants.O_DIRECTORY, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW)) },
  { name: 'createReadStream', paths: 1, mutating: false, extra: fc.constant([]), forms: ['callback'] },
  { name: 'createWriteStream', paths: 1, mutating: true, extra: fc.tuple(fc.constantFrom(undefined, { flags: 'a' }, { flags: 'wx' })), forms: ['callback'] },
  { name: 'writeFile', paths: 1, mutating: true, extra: fc.tuple(dataArb, fc.constantFrom(undefined, { flag: 'wx' }, { flag: 'a' }, { mode: 0o600 })) },
  { name: 'appendFile', paths: 1, mutating: true, extra: fc.tuple(dataArb) },
  { name: 'truncate', paths: 1, mutating: true, extra: fc.tuple(fc.constantFrom(0, 1, 10)) },
  { name: 'chmod', paths: 1, mutating: true, extra: fc.tuple(modeArb) },
  { name: 'chown', paths: 1, mutating: true, extra: fc.tuple(fc.constantFrom(0, 65534), fc.constantFrom(0, 65534)) },
  { name: 'lchown', paths: 1, mutating: true, extra: fc.tuple(fc.constantFrom(0, 65534), fc.constantFrom(0, 65534)) },
  { name: 'utimes', paths: 1, mutating: true, extra: fc.tuple(fc.constantFrom(1000, 2e9), fc.constantFrom(1000, 2e9)) },
  { name: 'lutimes', paths: 1, mutating: true, extra: fc.tuple(fc.constantFrom(1000), fc.constantFrom(2000)) },
  { name: 'mkdir', paths: 1, mutating: true, extra: fc.tuple(fc.constantFrom(undefined, { recursive: true }, 0o700, { recursive: true, mode: 0o750 })) },
  { name: 'mkdtemp', paths: 1, mutating: true, extra: fc.constant([]) },
  { name: 'rm', paths: 1, mutating: true, extra: fc.tuple(fc.constantFrom(undefined, { recursive: true }, { force: true }, { recursive: true, force: true })) },
  { name: 'rmdir', paths: 1, mutating: true, extra: fc.constant([]) },
  { name: 'unlink', paths: 1, mutating: true, extra: fc.constant([]) },
  { name: 'rename', paths: 2, mutating: true, extra: fc.constant([]) },
  { name: 'copyFile', paths: 2, mutating: true, extra: fc.tuple(fc.constantFrom(undefined, fs.constants.COPYFILE_EXCL)) },
  { name: 'cp', paths: 2, mutating: true, extra: fc.tuple(fc.constantFrom(undefined, { recursive: true }, { recursive: true, force: false, errorOnExist: true })), forms: ['sync', 'callback', 'promise'] },
  { name: 'link', paths: 2, mutating: true, extra: fc.constant([]) },
  { name: 'symlink', paths: 1, mutating: true, extra: fc.tuple(fc.constantFrom('a.txt', 'd', 'nowhere', '../m/a.txt', '../../sentinel/secret.txt', '.wh.a.txt', 'd/sub/../x', '')) },
];

interface Call { fn: string; form: Form; paths: PathSpec[]; extra: unknown[] }
const callArb: fc.Arbitrary<Call> = fc.constantFrom(...FNS).chain((def) =>
  fc.record({
    fn: fc.constant(def.name),
    form: fc.constantFrom(...(def.forms ?? (['sync', 'promise', 'callback'] as Form[]))),
    paths: fc.array(pathSpec, { minLength: def.paths, maxLength: def.paths }),
    extra: def.extra,
  }),
);

type Outcome = { ok: unknown } | { err: { code?: string; name?: string; syscall?: string; message?: string; sync: boolean } };

function fnOf(xfs: typeof fs, name: string, form: Form): (...a: unknown[]) => unknown {
  const [head, tail] = name.split('.');
  if (form === 'promise') return (xfs.promises as any)[head].bind(xfs.promises);
  if (form === 'sync') return tail ? (xfs as any)[head + 'Sync'][tail] : (xfs as any)[head + 'Sync'];
  return tail ? (xfs as any)[head][tail] : (xfs as any)[head];
}

/** Run one call through `xfs`; returns the normalised outcome. */
async function invoke(xfs: typeof fs, c: Call, args: unknown[], extra: unknown[], base: string): Promise<Outcome> {
  const wrapErr = (e: unknown, sync: boolean): Outcome => {
    const x = e as { code?: string; name?: string; syscall?: string; message?: string };
    if (!(e instanceof Error) && !types.isNativeError(e)) return { err: { name: 'non-Error thrown: ' + String(e), sync } };
    const rel = path.relative(process.cwd(), base);
    return { err: { code: x.code, name: x.name, syscall: x.syscall, message: x.message?.split(rel).join('<M>').split(base).join('<M>'), sync } };
  };
  const all = [...args, ...extra];
  while (all.length && all[all.length - 1] === undefined) all.pop();
  if (c.fn === 'createReadStream' || c.fn === 'createWriteStream') {
    let stream: fs.ReadStream | fs.WriteStream;
    try {
      stream = (xfs as any)[c.fn](...all);
    } catch (e) {
      return wrapErr(e, true);
    }
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      (stream as NodeJS.EventEmitter).on('error', (e: unknown) => resolve(wrapErr(e, false)));
      if (c.fn === 'createReadStream') {
        (stream as fs.ReadStream).on('data', (d) => chunks.push(d as Buffer)).on('end', () => resolve({ ok: Buffer.concat(chunks).toString('hex') }));
      } else {
        (stream as fs.WriteStream).on('finish', () => resolve({ ok: 'written' }));
        (stream as fs.WriteStream).end('W');
      }
    });
  }
  const f = fnOf(xfs, c.fn, c.form);
  let value: unknown;
  try {
    if (c.form === 'sync') value = f(...all);
    else if (c.form === 'promise') value = await (f(...all) as Promise<unknown>).catch((e) => { throw Object.assign(e, { __async: true }); });
    else {
      value = await new Promise((resolve, reject) => {
        try {
          f(...all, (err: unknown, v: unknown) => {
            if (c.fn === 'exists') return resolve(err);
            return err ? reject(Object.assign(err as object, { __async: true })) : resolve(v);
          });
        } catch (e) {
          reject(e);
        }
      });
    }
  } catch (e) {
    return wrapErr(e, !(e as { __async?: boolean }).__async);
  }
  return { ok: await normalise(xfs, c.fn, value, base) };
}

async function normalise(xfs: typeof fs, fn: string, v: unknown, base: string): Promise<unknown> {
  // Results name the mountpoint absolutely or, for a relative argument, relative to the cwd
  // (which need not contain the absolute form: a checkout under /tmp reaches it by `../`).
  const rel = path.relative(process.cwd(), base);
  const sub = (s: string) => (path.isAbsolute(s) ? s.split(base) : s.split(rel)).join('<M>');
  if (v === undefined || v === null || typeof v === 'boolean' || typeof v === 'number' && fn !== 'open') return v === undefined ? 'undefined' : v;
  if (fn === 'open') {
    if (typeof v === 'number') xfs.closeSync(v);
    else await (v as fs.promises.FileHandle).close();
    return 'opened';
  }
  if (fn === 'opendir') {
    const names: string[] = [];
    for await (const e of v as fs.Dir) names.push(e.name);
    return names.sort();
  }
  if (fn === 'statfs') return 'statfs';
  if (fn === 'mkdtemp') {
    const p = String(v);
    // A prefix that is not UTF-8 comes back decoded (lossily): not the name made, which the
    // overlay refuses anyway (EILSEQ), so the plain tree is restored after the call.
    try { xfs.rmdirSync(p); } catch (e) { if ((e as { code?: string }).code !== 'ENOENT') throw e; }
    return sub(p).replace(/.{6}$/, 'XXXXXX');
  }
  if (v instanceof fs.Stats || (v && typeof v === 'object' && 'isDirectory' in (v as object) && 'mode' in (v as object))) {
    const st = v as fs.Stats;
    const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
    return { type, mode: Number(st.mode) & 0o7777, size: type === 'dir' ? 'dir' : Number(st.size) };
  }
  if (Buffer.isBuffer(v)) return 'buffer:' + v.toString('hex');
  if (Array.isArray(v)) {
    return v.map((e) => (e instanceof fs.Dirent ? `${e.name}:${e.isDirectory() ? 'd' : e.isFile() ? 'f' : e.isSymbolicLink() ? 'l' : 'o'}` : Buffer.isBuffer(e) ? e.toString('hex') : String(e))).sort();
  }
  if (typeof v === 'string') return sub(v);
  return String(v);
}

// ---- the property ---------------------------------------------------------------------------

interface Tally { inputs: number; executed: number; skippedEscapes: number; documented: number; messageOnly: number; lowerChanges: number }
const tally: Tally = { inputs: 0, executed: 0, skippedEscapes: 0, documented: 0, messageOnly: 0, lowerChanges: 0 };
const knownExamples: Record<string, string[]> = { message: [] };

function isReservedCreate(c: Call, w: World): boolean {
  return c.paths.some((p) => {
    const s = pathString(p, w.om);
    // Any component on the way counts (`.wh.x/..` is walked through `.wh.x`, as the kernel does).
    const names = s === null ? [] : [...path.relative(w.om, path.resolve(s)).split('/'), ...p.comps];
    return s !== null && names.some((x) => x.startsWith('.wh.')) && ['open', 'writeFile', 'appendFile', 'mkdir', 'mkdtemp', 'rename', 'link', 'symlink', 'copyFile', 'cp', 'createWriteStream'].includes(c.fn);
  });
}

function touchesMountRoot(c: Call, w: World): boolean {
  return c.paths.some((p) => {
    const s = pathString(p, w.om);
    if (s !== null && p.enc === 'url-encoded-dots') return path.resolve(w.om, '..', p.comps[0] ?? 'x') === w.om;
    return s !== null && path.resolve(s) === w.om;
  });
}

/** Removing (or renaming away) a lower name of 252 to 255 bytes: no whiteout can record it (README, Limits). */
function unrecordableRemoval(c: Call, got: Outcome): boolean {
  return ['unlink', 'rm', 'rmdir', 'rename'].includes(c.fn) && 'err' in got && got.err.code === 'ENAMETOOLONG' && (got.err.message ?? '').includes('.wh.<name>');
}

/** Make the plain twin a copy of the merged view again (after a documented or known divergence). */
function resync(w: World): void {
  fs.rmSync(w.pm, { recursive: true, force: true });
  fs.mkdirSync(w.pm);
  w.ov.fs.cpSync(w.om, w.pm, { recursive: true, verbatimSymlinks: true });
  fs.chmodSync(w.pm, w.ov.fs.statSync(w.om).mode & 0o7777);
}

function treeOrError(xfs: typeof fs, dir: string): Record<string, string> {
  try {
    return common.treeVia(xfs, dir);
  } catch (e) {
    return { '(error)': (e as { code?: string }).code ?? String(e) };
  }
}

async function runSequence(layout: Layout, calls: Call[]): Promise<void> {
  const w = world(layout);
  if (process.env.OVFS_REL_TRACE) fs.appendFileSync(process.env.OVFS_REL_TRACE, `run ${runCounter - 1}\n`);
  const log: string[] = [];
  try {
    for (const c of calls) {
      tally.inputs++;
      const zones = c.paths.map((p) => zone(p, w));
      const allowed = c.paths.every((_, i) => zones[i] === 'mount' || zones[i] === 'sentinel' || zones[i] === 'invalid' || (!FNS.find((f) => f.name === c.fn)!.mutating && zones[i] === 'root'));
      const mutating = FNS.find((f) => f.name === c.fn)!.mutating;
      const recursiveOutside = c.fn === 'readdir' && zones[0] !== 'mount';
      if (!allowed || recursiveOutside || (mutating && zones.includes('sentinel') && !sentinelProtected)) {
        tally.skippedEscapes++;
        continue;
      }
      const invalidUtf8 = c.paths.some((p) => p.enc === 'buffer-invalid');
      tally.executed++;
      const args = (base: string) => c.paths.map((p) => render(p, base));
      const targetArgs = (base: string) => (c.fn === 'symlink' ? [c.extra[0], ...args(base)] : args(base));
      const extra = c.fn === 'symlink' ? [] : c.extra;
      const plainBackup = path.join(path.dirname(w.pm), 'backup');
      if (mutating) {
        fs.rmSync(plainBackup, { recursive: true, force: true });
        fs.cpSync(w.pm, plainBackup, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
      }
      const mergedBefore = mutating ? treeOrError(w.ov.fs, w.om) : {};
      if (process.env.OVFS_REL_FUZZ_SKIP?.split(',').includes(c.fn)) continue; // (bisecting a crash)
      // Node 20.20's own mkdtemp corrupts the heap (malloc abort) for a Buffer prefix longer than
      // PATH_MAX: not run on either side (ov.fs hands such a prefix outside a mount to it too).
      if (c.fn === 'mkdtemp' && c.paths.some((p) => p.longDots || p.longDots2)) {
        tally.skippedEscapes++;
        continue;
      }
      const trace = process.env.OVFS_REL_TRACE; // a native crash leaves no report: trace each call first
      if (trace) fs.appendFileSync(trace, `overlay ${layout} ${c.form} ${c.fn} ${JSON.stringify(c.paths)} ${JSON.stringify(c.extra)}\n`);
      const got = await invoke(w.ov.fs, c, targetArgs(w.om), extra, w.om);
      if (trace) fs.appendFileSync(trace, 'node\n');
      const want = await invoke(fs, c, targetArgs(w.pm), extra, w.pm);
      const shown = (p: PathSpec) => { const x = pathString(p, w.om); return x === null ? `(${p.enc} #${p.weird})` : JSON.stringify(x.split(path.relative(process.cwd(), w.om)).join('<M>').split(w.om).join('<M>')); };
      const desc = `${layout}: ${c.form} ${c.fn}(${c.fn === 'symlink' ? JSON.stringify(c.extra[0]) + ', ' : ''}${c.paths.map((p) => shown(p) + (p.enc !== 'string' ? ` as ${p.enc}` : '')).join(', ')}${c.extra.length && c.fn !== 'symlink' ? ', ' + JSON.stringify(c.extra) : ''})`;
      log.push(abbreviate(`${desc} -> overlay ${JSON.stringify(got)}, node ${JSON.stringify(want)}`));
      // Never a crash: every failure is an Error with a code (an fs errno or Node's ERR_*).
      if ('err' in got && !got.err.code) throw new Error(`crash-like error from the overlay: ${desc}: ${JSON.stringify(got)}`);
      // Node 20's callback readdir({ recursive: true }) throws some errors synchronously (a Node
      // quirk); the overlay calls back. Whether it threw or called back is not compared there.
      const nodeQuirk = c.fn === 'readdir' && c.form === 'callback' && JSON.stringify(c.extra).includes('recursive');
      const core = (o: Outcome) => JSON.stringify('err' in o ? { ...o.err, message: undefined, syscall: undefined, sync: nodeQuirk ? undefined : o.err.sync } : o);
      let same = core(got) === core(want);
      if (same && JSON.stringify(got) !== JSON.stringify(want)) {
        // Same error code, other syscall or message: counted and shown (knownExamples.message).
        tally.messageOnly++;
        if (knownExamples.message.length < 20) knownExamples.message.push(`${desc}: overlay ${'err' in got ? `${got.err.syscall} "${got.err.message}"` : ''}, node ${'err' in want ? `${want.err.syscall} "${want.err.message}"` : ''}`);
      }
      if (!same) {
        const code = 'err' in got ? got.err.code : undefined;
        const crossing = c.paths.length === 2 && new Set(zones).size > 1 && zones.includes('mount');
        if ((code === 'EINVAL' || code === 'ENOENT') && isReservedCreate(c, w)) { tally.documented++; same = true; }
        // A Buffer path with invalid UTF-8 under a mountpoint: EILSEQ (README, Limits).
        else if (code === 'EILSEQ' && invalidUtf8) { tally.documented++; same = true; }
        else if (unrecordableRemoval(c, got)) { tally.documented++; same = true; }
        // Node 20's readdir({ recursive: true }) refuses Buffer paths (ERR_INVALID_ARG_TYPE); the overlay lists them.
        else if (c.fn === 'readdir' && JSON.stringify(c.extra).includes('recursive') && 'ok' in got && 'err' in want && want.err.code === 'ERR_INVALID_ARG_TYPE') { tally.documented++; same = true; }
        else if ((code === 'EBUSY' || code === 'EXDEV') && touchesMountRoot(c, w)) { tally.documented++; same = true; }
        else if (code === 'EXDEV' && crossing && ['rename', 'link'].includes(c.fn)) { tally.documented++; same = true; }
        if (same && mutating) {
          // A documented refusal: the overlay's state is the reference now.
          fs.rmSync(w.pm, { recursive: true, force: true });
          fs.cpSync(plainBackup, w.pm, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
          try { fs.chmodSync(w.pm, w.ov.fs.statSync(w.om).mode & 0o7777); } catch { /* the tree comparison below tells */ }
          const mergedAfter = treeOrError(w.ov.fs, w.om);
          // A refusal changes nothing; mkdir -p may leave the parents it made (as Node's does).
          const changedPaths = common.diffKeys(mergedAfter, mergedBefore).filter((k) => !(c.fn === 'mkdir' && !mergedBefore[k] && mergedAfter[k]?.startsWith('dir:')));
          if ('err' in got && changedPaths.length) throw new Error(`${desc}: refused, but the merged view changed at ${changedPaths.slice(0, 4).join(', ')}`);
          if (JSON.stringify(mergedAfter) !== JSON.stringify(treeOrError(fs, w.pm))) {
            // The overlay succeeded where Node failed (or differently): align the plain copy with it.
            resync(w);
          }
        }
      }
      if (!same) throw new Error(abbreviate(`${desc}\n  overlay: ${JSON.stringify(got)}\n  node:    ${JSON.stringify(want)}`));
      if (mutating) {
        const a = treeOrError(w.ov.fs, w.om);
        const b = treeOrError(fs, w.pm);
        const diff = common.diffKeys(a, b);
        if (diff.length) throw new Error(`${desc}: merged tree differs from the plain tree at ${diff.slice(0, 4).map((k) => `${k} (${a[k] ?? 'absent'} vs ${b[k] ?? 'absent'})`).join(', ')}`);
      }
    }
    // Outside the layers and the mountpoint, nothing changed.
    const lowerChanged = common.diffKeys(common.checksumDirs(w.lowers), w.lowerSums);
    if (lowerChanged.length) {
      tally.lowerChanges++;
      throw new Error(`lower layers changed: ${lowerChanged.slice(0, 4).join(', ')}`);
    }
    if (common.diffKeys(common.checksumDirs([sentinel]), sentinelSums).length) throw new Error('the sentinel tree outside the layers changed');
    if (layout === 'virtual' && fs.existsSync(w.om)) throw new Error('something was created at the virtual mountpoint on the real disk');
    const stray = fs.readdirSync(root).filter((n) => n !== 'sentinel' && !/^(L|ov|pl)\d+$/.test(n));
    const strayNext = fs.readdirSync(path.dirname(w.om)).filter((n) => n !== 'm');
    if (strayNext.length) throw new Error(`created beside the mountpoint: ${strayNext.join(', ')}`);
    if (stray.length) throw new Error(`created outside the layers: ${stray.join(', ')}`);
  } catch (e) {
    throw new Error(abbreviate(`${(e as Error).message}\n  calls so far:\n    ${log.join('\n    ')}`));
  } finally {
    dropWorld(w);
  }
}

test(`fuzzed paths through every path-taking function behave as Node's fs on a plain directory (${NUM_RUNS} runs, seed ${SEED})`, async () => {
  try {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom<Layout>('virtual', 'virtual', 'on-upper', 'on-lower'), fc.array(callArb, { minLength: 1, maxLength: MAX_CALLS }), (layout, calls) => runSequence(layout, calls)),
      { seed: SEED, numRuns: NUM_RUNS, endOnFailure: !LONG, ...(process.env.OVFS_REL_FUZZ_PATH ? { path: process.env.OVFS_REL_FUZZ_PATH } : {}) },
    );
  } finally {
    record({ fuzzedInputs: tally.inputs, lowerChanges: tally.lowerChanges });
  }
  show('same error, other message', knownExamples.message);
  // eslint-disable-next-line no-console
  if (LONG) console.log(`fuzz: ${tally.inputs} inputs, ${tally.executed} executed on both sides, ${tally.skippedEscapes} escapes not executed, ${tally.documented} documented overlay answers, ${tally.messageOnly} messages differ`);
  expect(tally.executed).toBeGreaterThan(NUM_RUNS);
});

// ---- the known findings the fuzzing classifies, each reproduced on its own ---------------------

/** Outcomes of the same call on the overlay and on the plain twin (a fresh world each time). */
async function both(layout: Layout, fn: string, form: Form, rels: string[], extra: unknown[] = [], enc: (s: string) => unknown = (s) => s): Promise<{ overlay: Outcome; node: Outcome; w: World }> {
  const w = world(layout);
  const c: Call = { fn, form, paths: [], extra };
  const overlay = await invoke(w.ov.fs, c, rels.map((r) => enc(`${w.om}/${r}`)), extra, w.om);
  const node = await invoke(fs, c, rels.map((r) => enc(`${w.pm}/${r}`)), extra, w.pm);
  return { overlay, node, w };
}
const codeOf = (o: Outcome) => ('err' in o ? o.err.code : 'ok');

// FINDING R10: paths are normalised lexically (path.resolve) before the lookup, so `x/..` is
// accepted when x is a file or missing (Node and the kernel: ENOTDIR, ENOENT), and a path over
// PATH_MAX that `..` components shorten is accepted (Node: ENAMETOOLONG). Fixed: `..` is walked
// component by component in the merged namespace (lib/router/dots.ts); PATH_MAX gives ENAMETOOLONG.
test('fixed finding R10: `..` after a file or a missing name, and paths over PATH_MAX, fail as on Node', async () => {
  const got: string[] = [];
  const want: string[] = [];
  for (const rel of ['a.txt/..', 'nope/..', 'lnk/..', 'a.txt/../b.txt', Array(1100).fill('d/..').join('/') + '/a.txt']) {
    const r = await both('virtual', 'stat', 'sync', [rel]);
    got.push(`${abbreviate(rel)}: ${codeOf(r.overlay)}`);
    want.push(`${abbreviate(rel)}: ${codeOf(r.node)}`);
    dropWorld(r.w);
  }
  expect(got).toEqual(want);
});

test('`..` after a symlink goes to the parent of its target, in the merged view, as on Node', async () => {
  const got: string[] = [];
  const want: string[] = [];
  for (const [fn, rel] of [['readFile', 'sl/../x'], ['stat', 'sl/../sub/y'], ['stat', 'sl/../../a.txt'], ['readdir', 'sl/..']] as Array<[string, string]>) {
    const w = world('virtual');
    w.ov.fs.symlinkSync('d/sub', `${w.om}/sl`);
    fs.symlinkSync('d/sub', `${w.pm}/sl`);
    const c: Call = { fn, form: 'sync', paths: [], extra: [] };
    got.push(`${fn} ${rel}: ${JSON.stringify(await invoke(w.ov.fs, c, [`${w.om}/${rel}`], [], w.om))}`);
    want.push(`${fn} ${rel}: ${JSON.stringify(await invoke(fs, c, [`${w.pm}/${rel}`], [], w.pm))}`);
    dropWorld(w);
  }
  expect(got).toEqual(want);
});

// FINDING R11: a name longer than 255 bytes is looked up as missing (ENOENT), and creating one
// names the wrong syscall; Node gives ENAMETOOLONG. Fixed: the router refuses a name over NAME_MAX
// once its directory is found, as a file system's lookup does.
test('fixed finding R11: a name over 255 bytes gives ENAMETOOLONG, as on Node', async () => {
  const got: string[] = [];
  const want: string[] = [];
  const long = 'n'.repeat(256);
  for (const [fn, rel, extra] of [['stat', long, []], ['stat', `d/${long}/x`, []], ['open', `d/${long}`, ['wx']], ['mkdir', long, []]] as Array<[string, string, unknown[]]>) {
    const r = await both('virtual', fn, 'sync', [rel], extra);
    got.push(`${fn} ${abbreviate(rel)}: ${JSON.stringify('err' in r.overlay ? [r.overlay.err.code, r.overlay.err.syscall] : 'ok')}`);
    want.push(`${fn} ${abbreviate(rel)}: ${JSON.stringify('err' in r.node ? [r.node.err.code, r.node.err.syscall] : 'ok')}`);
    dropWorld(r.w);
  }
  expect(got).toEqual(want);
});

// FINDING R12 (fixed): the write guard's lower roots were registered for the life of the process
// and never released, so a directory once used as a lower (by any overlay, even one long gone)
// could never be written through an overlay again, e.g. as a later overlay's upper (EROFS).
// `ov.close()` now releases an overlay (its guard registrations are counted); test/close.test.ts.
test('fixed finding R12: a directory that was a lower of an earlier (closed) overlay can be the upper of a later one', () => {
  const dir = path.join(root, 'r12');
  for (const d of ['a', 'b']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  createOverlay({ mountpoint: path.join(dir, 'm1'), lower: [path.join(dir, 'a')] }).close();
  const later = createOverlay({ mountpoint: path.join(dir, 'm2'), upper: path.join(dir, 'a'), lower: [path.join(dir, 'b')], workdir: path.join(dir, 'w') });
  try {
    later.fs.writeFileSync(path.join(dir, 'm2', 'f'), 'x');
    expect(fs.readFileSync(path.join(dir, 'a', 'f'), 'utf8')).toBe('x');
  } finally {
    later.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// FINDING R13 (fixed): cp validated in another order than Node's cp, and its SystemErrors
// lacked `syscall: 'cp'` and the path suffix of the message. lib/ops/cp.ts now follows Node's
// algorithm step by step (and the fuzzing above compares cp like any other function).
test('fixed finding R13: cp fails with the error Node gives', async () => {
  const r = await both('virtual', 'cp', 'sync', ['.', 'b.txt/new/']);
  dropWorld(r.w);
  expect(r.overlay).toEqual(r.node);
});

// FINDING R14 (fixed): `throwIfNoEntry: false` was honoured by the promise and callback forms
// of stat/lstat (Node ignores it there and fails with ENOENT), and for ENOTDIR by the sync forms
// (Node returns undefined only for ENOENT). The overlay's own probes use lib/ops/read.ts
// statOrUndefined now, and the user's option is read as Node reads it.
test('fixed finding R14: throwIfNoEntry behaves as in Node (sync only, ENOENT only)', async () => {
  const got: string[] = [];
  const want: string[] = [];
  for (const [form, rel] of [['promise', 'nope'], ['callback', 'nope'], ['sync', 'a.txt/x']] as Array<[Form, string]>) {
    const r = await both('virtual', 'stat', form, [rel], [{ throwIfNoEntry: false }]);
    got.push(`${form} ${rel}: ${codeOf(r.overlay)}`);
    want.push(`${form} ${rel}: ${codeOf(r.node)}`);
    dropWorld(r.w);
  }
  expect(got).toEqual(want);
});

// FINDING R15: a final `.` component is dropped before creating or removing: mkdir('x/.')
// creates x (Node: ENOENT), open('d/.', 'wx') gives EISDIR (Node: EEXIST), unlink('x/.') gives
// EISDIR for a missing x (Node: ENOENT). Fixed: the walk to x decides first (ops/target.ts
// dotsDirectory), then the operation answers as for `.`/`..` (EEXIST, EISDIR, EINVAL, ENOTEMPTY, EBUSY).
test('fixed finding R15: creating or removing `x/.` fails as on Node', async () => {
  const got: string[] = [];
  const want: string[] = [];
  for (const [fn, rel, extra] of [['mkdir', 'newdir/.', []], ['open', 'd/.', ['wx']], ['open', 'a.txt/.', ['w']], ['unlink', 'nope/.', []]] as Array<[string, string, unknown[]]>) {
    const r = await both('virtual', fn, 'sync', [rel], extra);
    got.push(`${fn} ${rel}: ${codeOf(r.overlay)}`);
    want.push(`${fn} ${rel}: ${codeOf(r.node)}`);
    dropWorld(r.w);
  }
  expect(got).toEqual(want);
});

// FINDING R16: symlink() with an empty target over an existing name gives EEXIST; Linux checks
// the target first (ENOENT). Fixed.
test('fixed finding R16: symlink with an empty target fails ENOENT, as on Node', async () => {
  const w = world('virtual');
  const overlay = await invoke(w.ov.fs, { fn: 'symlink', form: 'sync', paths: [], extra: [] }, ['', `${w.om}/a.txt`], [], w.om);
  const node = await invoke(fs, { fn: 'symlink', form: 'sync', paths: [], extra: [] }, ['', `${w.pm}/a.txt`], [], w.pm);
  dropWorld(w);
  expect(codeOf(overlay)).toBe(codeOf(node));
});

// FINDING R20: a Buffer path with invalid UTF-8 under a mountpoint is not routed to the merged
// view but handed to Node's fs as is: it reaches the real directory at the mountpoint. With the
// mountpoint on a lower layer (an in-place overlay) it writes into that lower layer; with a
// virtual mountpoint, mkdir -p creates the mountpoint on the real disk. Expected: the merged
// view (Linux names are bytes) or a documented error; never a write outside the upper.
// Fixed: under a mountpoint such a path fails with EILSEQ (README, Limits).
test('fixed finding R20: a Buffer path with invalid UTF-8 never writes beside the upper', async () => {
  const bad = (s: string) => Buffer.concat([Buffer.from(s + '/'), Buffer.from([0xff, 0xfe])]);
  const inPlace = world('on-lower');
  const sums = common.checksumDirs(inPlace.lowers);
  const codes: string[] = [];
  const code = (e: unknown) => (e as { code?: string }).code ?? String(e);
  try { inPlace.ov.fs.writeFileSync(bad(inPlace.om), 'x'); codes.push('ok'); } catch (e) { codes.push(code(e)); }
  const lowerChanged = common.diffKeys(common.checksumDirs(inPlace.lowers), sums);
  dropWorld(inPlace);
  const virtual = world('virtual');
  try { virtual.ov.fs.mkdirSync(bad(`${virtual.om}/deep`), { recursive: true }); codes.push('ok'); } catch (e) { codes.push(code(e)); }
  const createdOnDisk = fs.existsSync(virtual.om);
  dropWorld(virtual);
  // The documented answer (README, Limits): EILSEQ.
  expect({ lowerChanged, createdOnDisk, codes }).toEqual({ lowerChanged: [], createdOnDisk: false, codes: ['EILSEQ', 'EILSEQ'] });
});

// FINDING R21: names of 252 to 255 bytes (valid on Linux) trip over the whiteout name
// `.wh.<name>`, which is longer than NAME_MAX: looking such a name up failed with
// ENAMETOOLONG (the whiteout probe); creating one failed with ENAMETOOLONG after the file was
// made (clearing a whiteout that cannot exist). Only removing a lower one may fail (no OCI
// whiteout can record it). Fixed: no `.wh.<name>` is looked for or cleared when it cannot
// exist; removing such a lower name fails ENAMETOOLONG before any change (README, Limits).
test('fixed finding R21: a name of 252 to 255 bytes in any layer is served, copied up and created like any other', () => {
  const w0 = world('virtual');
  // The names are put in the lower before the overlay that reads them is made (its directory
  // indexes would not see a change behind its back within their TTL).
  for (const len of [252, 253, 254, 255]) fs.writeFileSync(path.join(w0.lowers[1], 'q'.repeat(len)), `lower ${len}`);
  const w: World = { ...w0, ov: createOverlay({ mountpoint: w0.om, upper: path.join(w0.runDir, 'u'), lower: w0.lowers, workdir: path.join(w0.runDir, 'w') }) };
  try {
    for (const len of [252, 253, 254, 255]) {
      const name = 'q'.repeat(len);
      expect(w.ov.fs.readFileSync(`${w.om}/${name}`, 'utf8')).toBe(`lower ${len}`);
      expect(w.ov.fs.readdirSync(w.om)).toContain(name);
      w.ov.fs.appendFileSync(`${w.om}/${name}`, '+');
      expect(w.ov.fs.readFileSync(`${w.om}/${name}`, 'utf8')).toBe(`lower ${len}+`);
      w.ov.fs.writeFileSync(`${w.om}/n-${name.slice(2)}`, 'new');
      // Removing it needs a whiteout `.wh.<name>`, longer than NAME_MAX: a documented limit of
      // the OCI format. Either it goes, or it fails with ENAMETOOLONG and stays, whole.
      let code = 'ok';
      try { w.ov.fs.unlinkSync(`${w.om}/${name}`); } catch (e) { code = (e as { code?: string }).code ?? String(e); }
      if (code === 'ok') expect(w.ov.fs.existsSync(`${w.om}/${name}`)).toBe(false);
      else expect([code, w.ov.fs.readFileSync(`${w.om}/${name}`, 'utf8')]).toEqual(['ENAMETOOLONG', `lower ${len}+`]);
    }
  } finally {
    dropWorld(w);
  }
});
