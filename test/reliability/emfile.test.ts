/**
 * EMFILE: a child process under `ulimit -n 64` walks and reads a merged tree of some 800 files
 * with everything in parallel (promise walk, callback walk, parallel readFile, read streams,
 * opendir) and copies up 60 files at once. Wherever plain fs with graceful-fs completes, the
 * overlay must complete too, with the same result (the overlay's own I/O goes through
 * graceful-fs). Plain fs without graceful-fs must hit EMFILE somewhere, or the limit did not
 * bite and the case proves nothing.
 */
import * as fs from 'fs';
import * as path from 'path';
import { common, record, scratch, cleanupAll, runWorker, report, scale, show } from './support';

jest.setTimeout(scale(90_000, 600_000));

let root: string;
beforeAll(() => { root = scratch('emfile'); });
afterAll(cleanupAll);

interface Side { ok: boolean; sha?: string; count?: number; code?: string }
interface Report { limit: number; files: number; results: Array<{ name: string; plain: Side; graceful: Side; overlay: Side }>; copyUp: { ok: boolean; count: number; code?: string; bad?: string[] } }

/** Three layers and their flattened copy (built independently of the overlay). */
function build(): { options: { mountpoint: string; upper: string; lower: string[]; workdir: string }; flat: string } {
  const l1 = path.join(root, 'l1');
  const l2 = path.join(root, 'l2');
  const u = path.join(root, 'u');
  const flat = path.join(root, 'flat');
  const put = (dirs: string[], rel: string, data: string) => {
    for (const d of dirs) {
      fs.mkdirSync(path.dirname(path.join(d, rel)), { recursive: true });
      fs.writeFileSync(path.join(d, rel), data);
    }
  };
  for (let d = 0; d < scale(20, 40); d++) {
    for (let f = 0; f < 15; f++) {
      const rel = `d${d}/s${f % 3}/f${f}.txt`;
      put([l1, flat], rel, `l1 ${rel}\n`.repeat(1 + (f % 5)));
      if (f % 4 === 0) put([l2, flat], rel, `l2 ${rel}\n`);
      if (f % 7 === 0) put([u, flat], rel, `u ${rel}\n`);
      if (f % 9 === 5 && f % 7 !== 0) { // deleted in the upper (a whiteout hides the layers below only)
        fs.mkdirSync(path.join(u, path.dirname(rel)), { recursive: true });
        fs.writeFileSync(path.join(u, path.dirname(rel), '.wh.' + path.basename(rel)), '');
        fs.rmSync(path.join(flat, rel));
      }
    }
    put([l2, flat], `d${d}/only-l2.txt`, 'l2 only\n');
  }
  for (let f = 0; f < 60; f++) put([l1, flat], `l1only/c${f}.txt`, `copy me ${f}\n`);
  return { options: { mountpoint: path.join(root, 'm'), upper: u, lower: [l2, l1], workdir: path.join(root, 'w') }, flat };
}

test('under ulimit -n 64, merged walks, parallel reads and parallel copy-ups complete wherever plain fs with graceful-fs does', async () => {
  const { options, flat } = build();
  const sums = common.checksumDirs(options.lower);
  // Without the limit first: plain fs on the flattened copy gives the expected result of each workload.
  const ref = report<Report>(await runWorker('emfile-worker.js', { options: { ...options, upper: undefined, workdir: undefined }, flat }, { timeoutMs: 300_000 }));
  const res = await runWorker('emfile-worker.js', { options, flat }, { shellPrefix: 'ulimit -n 64', timeoutMs: 300_000 });
  const rep = report<Report>(res);
  expect(rep.limit).toBe(64);
  expect(rep.files).toBeGreaterThan(scale(300, 600));
  const failures: string[] = [];
  let cases = 0;
  for (const r of rep.results) {
    cases++;
    if (r.graceful.ok && !r.overlay.ok) failures.push(`${r.name}: plain fs with graceful-fs completed, the overlay failed with ${r.overlay.code}`);
    const reference = ref.results.find((x) => x.name === r.name)!.plain;
    expect(reference.ok).toBe(true);
    if (r.overlay.ok && r.overlay.sha !== reference.sha) failures.push(`${r.name}: the overlay's result differs from plain fs on the flattened copy (${r.overlay.count} vs ${reference.count} entries)`);
    if (!r.graceful.ok && !r.overlay.ok) failures.push(`${r.name}: did not complete under the limit, through the overlay nor plain fs with graceful-fs (${r.overlay.code}); a workload that proves nothing`);
  }
  cases++;
  if (!rep.copyUp.ok) failures.push(`60 parallel copy-ups: ${rep.copyUp.code ?? 'wrong content: ' + rep.copyUp.bad?.join(', ')}`);
  // The limit must have bitten plain fs somewhere, or this case proves nothing.
  expect(rep.results.some((r) => !r.plain.ok && r.plain.code === 'EMFILE')).toBe(true);
  const lowerChanged = common.diffKeys(common.checksumDirs(options.lower), sums);
  show("EMFILE report", rep.results.map((r) => `${r.name}: plain ${r.plain.ok ? "ok" : r.plain.code}, graceful ${r.graceful.ok ? "ok" : r.graceful.code}, overlay ${r.overlay.ok ? "ok" : r.overlay.code}`));
  record({ emfileCases: cases, lowerChanges: lowerChanged.length ? 1 : 0, concurrentWriters: rep.copyUp.count });
  expect(failures).toEqual([]);
  expect(lowerChanged).toEqual([]);
  expect(common.temporaries(options.workdir)).toEqual([]);
});
