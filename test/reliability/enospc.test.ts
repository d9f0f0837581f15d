/**
 * ENOSPC: the upper and the work directory on a tiny tmpfs. Every operation is run at several
 * fill levels (free bytes, or free inodes), so that the file system runs out at different
 * steps: while copying data, while creating a parent directory, a whiteout, an opaque marker,
 * a temporary. Each run must either succeed with exactly the result of an unconstrained run,
 * or fail with ENOSPC leaving the merged view exactly as it was, no new file in the upper (a
 * copied-up parent directory is allowed: it changes nothing visible), no temporary in the
 * work directory, and the lower layers unchanged.
 */
import * as fs from 'fs';
import * as path from 'path';
import { promisify } from 'util';
import { createOverlay } from '../../lib/index';
import { SEED, LONG, scale, common, record, rng, scratch, cleanupAll, mountTmpfs, skip, show } from './support';

jest.setTimeout(scale(60_000, 1_800_000));

const MiB = 1024 * 1024;
let root: string;
let tmpfs: string;
let lowerSums: Record<string, string>;
let mountRefused: string | null = null;

const lower = () => path.join(root, 'l1');
const upperOn = (base: string) => path.join(base, 'u');

beforeAll(() => {
  root = scratch('enospc');
  const l1 = lower();
  const put = (rel: string, data: string | Buffer) => {
    fs.mkdirSync(path.dirname(path.join(l1, rel)), { recursive: true });
    fs.writeFileSync(path.join(l1, rel), data);
  };
  put('big.bin', common.content(1, 6 * MiB));
  put('mid.bin', common.content(2, 1 * MiB));
  put('small.txt', 'small\n');
  for (let i = 1; i <= 3; i++) put(`tree/part${i}.bin`, common.content(10 + i, 700 * 1024));
  put('tree/sub/leaf.txt', 'leaf\n');
  put('deep/a/b/c/f.txt', 'deep\n');
  for (let i = 1; i <= 6; i++) put(`docs/${i}.txt`, `doc ${i}\n`);
  put('gone/old.txt', 'old\n');
  lowerSums = common.checksumDirs([l1]);
  tmpfs = path.join(root, 't');
  mountRefused = mountTmpfs(tmpfs, '4m', 400);
});
afterAll(cleanupAll);

function buildUpper(u: string): void {
  fs.rmSync(u, { recursive: true, force: true });
  fs.mkdirSync(u, { recursive: true });
  fs.writeFileSync(path.join(u, '.wh.gone'), ''); // the lower gone/ is deleted
  fs.writeFileSync(path.join(u, 'upper.txt'), 'upper\n');
}

type Form = 'sync' | 'promise' | 'callback';
type Call = (xfs: typeof fs, m: string, form: Form) => unknown;

function call(xfs: typeof fs, form: Form, name: string, ...args: unknown[]): unknown {
  if (form === 'sync') return (xfs as any)[name + 'Sync'](...args);
  if (form === 'promise') return (xfs.promises as any)[name](...args);
  return promisify((xfs as any)[name])(...args);
}

interface Case {
  name: string;
  /** What runs out: bytes or inodes. */
  resource: 'bytes' | 'inodes';
  /** Fill levels to try: free bytes (or free inodes) left before the operation. */
  levels: number[];
  run: Call;
  /** rm -r is not atomic on any file system: each path before or after, not the whole tree. */
  perPath?: boolean;
  /** Forms to run (default: all three, one picked per level). */
  forms?: Form[];
  /** The engine finding this case reproduced (its FINDING comment is below the cases). */
  finding?: string;
}

const CASES: Case[] = [
  { name: 'copy-up of a 6 MiB lower file larger than the whole upper (appendFile)', resource: 'bytes', levels: [4 * MiB, 2 * MiB, 0], run: (x, m, f) => call(x, f, 'appendFile', `${m}/big.bin`, 'x') },
  { name: 'copy-up by chmod of a 1 MiB lower file', resource: 'bytes', levels: [0, 300 * 1024, 900 * 1024, 2 * MiB], run: (x, m, f) => call(x, f, 'chmod', `${m}/mid.bin`, 0o600) },
  { name: 'copy-up then append (appendFile of a 1 MiB lower file)', resource: 'bytes', levels: [0, 512 * 1024, 1020 * 1024, 2 * MiB], run: (x, m, f) => call(x, f, 'appendFile', `${m}/mid.bin`, 'tail\n') },
  { name: 'copy-up then overwrite (writeFile of a 1 MiB lower file)', resource: 'bytes', levels: [0, 600 * 1024, 2 * MiB], run: (x, m, f) => call(x, f, 'writeFile', `${m}/mid.bin`, 'short') },
  { name: 'copy-up by truncate of a 1 MiB lower file', resource: 'bytes', levels: [0, 700 * 1024, 2 * MiB], run: (x, m, f) => call(x, f, 'truncate', `${m}/mid.bin`, 10) },
  { name: 'copy-up by link of a 1 MiB lower file', resource: 'bytes', levels: [0, 800 * 1024, 2 * MiB], run: (x, m, f) => call(x, f, 'link', `${m}/mid.bin`, `${m}/mid-link.bin`) },
  { name: 'copy-up by open r+ of a 1 MiB lower file', resource: 'bytes', levels: [0, 400 * 1024, 2 * MiB], run: async (x, m, f) => {
    if (f === 'promise') return (await x.promises.open(`${m}/mid.bin`, 'r+')).close();
    const fd = (await call(x, f, 'open', `${m}/mid.bin`, 'r+')) as number;
    x.closeSync(fd);
  } },
  { name: 'rename of a 2 MiB lower directory (copied into the work directory first)', resource: 'bytes', levels: [0, 800 * 1024, 1500 * 1024, 3 * MiB], run: (x, m, f) => call(x, f, 'rename', `${m}/tree`, `${m}/tree-moved`), finding: 'R3' },
  { name: 'unlink of a lower file (whiteout) with no free inode', resource: 'inodes', levels: [0, 1], run: (x, m, f) => call(x, f, 'unlink', `${m}/docs/1.txt`) },
  { name: 'mkdir over a whiteout (opaque directory made in the work directory)', resource: 'inodes', levels: [1, 2, 3], forms: ['sync'], run: (x, m, f) => call(x, f, 'mkdir', `${m}/gone`), finding: 'R3' },
  { name: 'copy-up (sync) with no free inode for the work directory or the temporary', resource: 'inodes', levels: [0, 1, 2], forms: ['sync'], run: (x, m, f) => call(x, f, 'chmod', `${m}/small.txt`, 0o600) },
  { name: 'copy-up (async) with no free inode for the work directory', resource: 'inodes', levels: [0], forms: ['promise', 'callback'], run: (x, m, f) => call(x, f, 'chmod', `${m}/small.txt`, 0o600), finding: 'R4' },
  { name: 'new file four directories deep (parents copied up first)', resource: 'inodes', levels: [0, 1, 2, 3, 4, 5], run: (x, m, f) => call(x, f, 'writeFile', `${m}/deep/a/b/c/new.txt`, 'new') },
  { name: 'rm -r of a lower directory (a whiteout per entry)', resource: 'inodes', levels: [0, 1, 2, 3, 8], forms: ['sync'], run: (x, m, f) => call(x, f, 'rm', `${m}/docs`, { recursive: true }), perPath: true },
  { name: 'rm -r (async) of a lower directory that needs the work directory', resource: 'inodes', levels: [8], forms: ['promise', 'callback'], run: (x, m, f) => call(x, f, 'rm', `${m}/docs`, { recursive: true }), perPath: true, finding: 'R4' },
  { name: 'a write to a lower file whose copy-up fits but whose data does not (appendFile of 2 MiB)', resource: 'bytes', levels: [0, 1 * MiB], run: (x, m, f) => call(x, f, 'appendFile', `${m}/small.txt`, Buffer.alloc(2 * MiB, 65)), finding: 'R2' },
  { name: 'a write to a lower file whose copy-up fits but whose data does not (writeFile of 2 MiB)', resource: 'bytes', levels: [1 * MiB], run: (x, m, f) => call(x, f, 'writeFile', `${m}/small.txt`, Buffer.alloc(2 * MiB, 66)), finding: 'R2' },
  { name: 'symlink of a new name', resource: 'inodes', levels: [0], run: (x, m, f) => call(x, f, 'symlink', 'small.txt', `${m}/ln`) },
  { name: 'mkdir of a new name', resource: 'inodes', levels: [0], run: (x, m, f) => call(x, f, 'mkdir', `${m}/newdir`) },
];

/** Leave `free` bytes (or inodes) free on the tmpfs. */
function fill(resource: 'bytes' | 'inodes', free: number): void {
  const st = fs.statfsSync(tmpfs);
  if (resource === 'bytes') {
    const avail = st.bavail * st.bsize;
    const size = Math.max(0, avail - free);
    if (size > 0) {
      const fd = fs.openSync(path.join(tmpfs, 'filler'), 'w');
      try {
        const chunk = Buffer.alloc(256 * 1024, 1);
        for (let left = size; left > 0; left -= chunk.length) fs.writeSync(fd, chunk, 0, Math.min(chunk.length, left));
      } catch (e) {
        if ((e as { code?: string }).code !== 'ENOSPC') throw e;
      } finally {
        fs.closeSync(fd);
      }
    }
  } else {
    const dir = path.join(tmpfs, 'inodes');
    fs.mkdirSync(dir, { recursive: true });
    const n = fs.statfsSync(tmpfs).ffree - free;
    for (let i = 0; i < n; i++) fs.writeFileSync(path.join(dir, String(i)), '');
  }
}

function reset(): void {
  for (const n of fs.readdirSync(tmpfs)) fs.rmSync(path.join(tmpfs, n), { recursive: true, force: true });
  buildUpper(upperOn(tmpfs));
}

const opts = (base: string) => ({ mountpoint: path.join(root, 'm'), upper: upperOn(base), lower: [lower()], workdir: path.join(base, 'w') });

/** The merged view after an unconstrained run of the same operation (upper on disk). */
async function reference(c: Case, form: Form): Promise<Record<string, string>> {
  const base = path.join(root, 'ref');
  fs.rmSync(base, { recursive: true, force: true });
  buildUpper(upperOn(base));
  const ov = createOverlay(opts(base));
  await c.run(ov.fs, ov.mountpoint, form);
  return common.treeVia(ov.fs, ov.mountpoint);
}

interface Outcome { enospc: number; succeeded: number; failures: string[]; partial: number; leftovers: number; lowerChanges: number }

async function exercise(cases: Case[], r: ReturnType<typeof rng>, extraLevels: number): Promise<Outcome> {
  const out: Outcome = { enospc: 0, succeeded: 0, failures: [], partial: 0, leftovers: 0, lowerChanges: 0 };
  const forms: Form[] = ['sync', 'promise', 'callback'];
  for (const c of cases) {
    const levels = [...c.levels];
    for (let i = 0; i < extraLevels; i++) levels.push(c.resource === 'bytes' ? r.int(3 * MiB) : r.int(12));
    for (const level of levels) {
      const form = r.pick(c.forms ?? forms);
      const expected = await reference(c, form);
      reset();
      fill(c.resource, level);
      const o = opts(tmpfs);
      const ov = createOverlay(o);
      const before = common.treeVia(ov.fs, o.mountpoint);
      const upperBefore = common.realTree(o.upper);
      const where = `${c.name} [${form}, ${level} ${c.resource} free]`;
      let error: unknown = null;
      try {
        await c.run(ov.fs, o.mountpoint, form);
      } catch (e) {
        error = e;
      }
      const after = common.treeVia(ov.fs, o.mountpoint);
      if (error === null) {
        out.succeeded++;
        for (const p of common.diffKeys(after, expected)) out.failures.push(`${where}: succeeded but ${p} is ${after[p] ?? 'absent'}, expected ${expected[p] ?? 'absent'}`);
      } else {
        const code = (error as { code?: string }).code;
        if (code !== 'ENOSPC') {
          out.failures.push(`${where}: failed with ${code ?? String(error)} instead of ENOSPC`);
        } else {
          out.enospc++;
        }
        for (const p of common.diffKeys(after, before)) {
          if (c.perPath && after[p] === expected[p]) continue;
          const partial = after[p]?.startsWith('file:') && !!before[p];
          if (partial) out.partial++;
          out.failures.push(`${where}: failed, but the merged view changed: ${p} is ${after[p] ?? 'absent'}, was ${before[p] ?? 'absent'}${partial ? ' (partial file)' : ''}`);
        }
        const upperAfter = common.realTree(o.upper);
        for (const p of common.diffKeys(upperAfter, upperBefore)) {
          if (c.perPath) continue;
          if (!upperBefore[p] && upperAfter[p]?.startsWith('dir:')) continue; // a copied-up parent
          out.failures.push(`${where}: failed, but left ${p} (${upperAfter[p] ?? 'removed'}) in the upper layer`);
        }
      }
      const temps = common.temporaries(o.workdir);
      if (temps.length) {
        out.leftovers++;
        out.failures.push(`${where}: ${error ? 'failed' : 'succeeded'} and left temporaries in the work directory: ${temps.join(', ')}`);
      }
      if (common.diffKeys(common.checksumDirs([lower()]), lowerSums).length) {
        out.lowerChanges++;
        out.failures.push(`${where}: the lower layer changed`);
      }
    }
  }
  return out;
}

test(`ENOSPC on a 4 MiB tmpfs upper: each operation succeeds whole or fails leaving nothing behind (seed ${SEED})`, async () => {
  if (mountRefused) return skip(`ENOSPC cases: ${mountRefused}`);
  const cases = CASES.filter((c) => !c.finding);
  const out = await exercise(cases, rng(SEED ^ 0xe05c), scale(0, 10));
  record({ enospcCases: out.enospc, partialFiles: out.partial, leftoverTemporaries: out.leftovers, lowerChanges: out.lowerChanges });
  // eslint-disable-next-line no-console
  if (LONG) console.log(`enospc: ${out.enospc} runs failed with ENOSPC, ${out.succeeded} fitted`);
  expect(out.failures).toEqual([]);
  expect(out.enospc).toBeGreaterThan(cases.length);
});

// FINDING R2, fixed: a write through the overlay to a lower file copied the file up and then
// wrote into the upper copy in place, so data that did not fit left a partial file hiding the
// intact lower one. writeFile/appendFile/truncate now change the copy in the work directory
// and publish it with one rename.
// FINDING R3, fixed: a directory rename (materialized in the work directory) and a mkdir over a
// whiteout (opaque directory prepared in the work directory) left their temporary when they
// failed. Both now roll back every step (lib/undo.ts).
// FINDING R4, fixed: the work directory was created with an async recursive mkdir, which Node
// reports as ENOENT when the real error is ENOSPC. It is now made with a plain mkdir.
for (const finding of ['R2', 'R3', 'R4']) {
  test(`fixed finding ${finding}: under ENOSPC, fails leaving nothing behind, with ENOSPC`, async () => {
    if (mountRefused) return skip(`ENOSPC cases: ${mountRefused}`);
    const out = await exercise(CASES.filter((c) => c.finding === finding), rng(SEED ^ 0xe05d), scale(0, 4));
    record({ enospcCases: out.enospc, partialFiles: out.partial, lowerChanges: out.lowerChanges });
    show(finding, out.failures);
    expect(out.failures).toEqual([]);
  });
}

test('the overlay keeps working once space is freed', async () => {
  if (mountRefused) return skip(`ENOSPC cases: ${mountRefused}`);
  reset();
  fill('bytes', 0);
  const o = opts(tmpfs);
  const ov = createOverlay(o);
  expect(() => ov.fs.appendFileSync(`${o.mountpoint}/mid.bin`, 'x')).toThrow(expect.objectContaining({ code: 'ENOSPC' }));
  fs.rmSync(path.join(tmpfs, 'filler'));
  ov.fs.appendFileSync(`${o.mountpoint}/mid.bin`, 'x');
  expect(ov.fs.statSync(`${o.mountpoint}/mid.bin`).size).toBe(MiB + 1);
  expect(ov.which(`${o.mountpoint}/mid.bin`)!.layer.role).toBe('upper');
  expect(common.temporaries(o.workdir)).toEqual([]);
  expect(common.diffKeys(common.checksumDirs([lower()]), lowerSums)).toEqual([]);
});
