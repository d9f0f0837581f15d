/**
 * Differential test: the overlay-fs engine against a real `mount -t overlay`, on seeded random
 * layer trees and operation sequences (see test/kernel/harness.js for what is generated, compared
 * and deliberately not compared). This is the CI slice; the long runs are
 * `npm run build && npm run test:kernel -- --cases 2000` (add `--no-cache` for the engine without its
 * directory index). Every block runs twice: with the cache (the default) and with `cache: false`;
 * both must agree with the kernel.
 *
 * Needs root, python3 and a working `mount -t overlay`; otherwise the suite is skipped and the
 * reason is printed. Environment knobs: KERNEL_DIFF_SEED (first seed, default 1),
 * KERNEL_DIFF_CASES (default 150), KERNEL_DIFF_OPS (ops per sequence, default 24).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

// Plain JS (// @ts-check) so that scripts/kernel-diff.js can use it without ts-jest.
const h = require('./harness');

const FIRST_SEED = Number(process.env.KERNEL_DIFF_SEED || 1);
const CASES = Number(process.env.KERNEL_DIFF_CASES || 150);
const OPS = Number(process.env.KERNEL_DIFF_OPS || 24);
const BLOCK = 15;
const SELF_CHECK_CASES = 10;

const avail: { ok: boolean; reason: string } = h.kernelOverlayAvailable();
if (!avail.ok) {
  console.warn(`kernel differential test skipped: ${avail.reason}`);
}
const describeKernel = avail.ok ? describe : describe.skip;

if (!avail.ok) {
  test.skip(`kernel differential test (skipped: ${avail.reason})`, () => undefined);
}

describeKernel('differential: engine vs kernel overlayfs', () => {
  let scratchRoot = '';

  beforeAll(() => {
    scratchRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'kernel-diff-jest-'));
  });

  afterAll(() => {
    if (scratchRoot) h.cleanupDir(scratchRoot);
  });

  /** Run seeds [from, from+count) and return a failure report ('' when all agree). */
  async function runBlock(from: number, count: number, selfCheck: boolean, cache = true): Promise<string> {
    // Loaded lazily (through ts-jest) so that a missing engine fails these tests, not the file.
    const engine = selfCheck ? undefined : require('../../lib').createOverlay;
    const createOverlay = engine && ((opts: object) => engine({ ...opts, cache }));
    const reports: string[] = [];
    for (let seed = from; seed < from + count; seed++) {
      const input = h.makeCase(seed, OPS);
      const result = await h.runCase(input, { scratchRoot, createOverlay, selfCheck, opTimeoutMs: 10000 });
      if (result.mismatches.length) {
        const repro = `npm run test:kernel -- --seed ${seed} --cases 1 --ops ${OPS}${selfCheck ? ' --self-check' : cache ? ' --cache' : ' --no-cache'}`;
        reports.push(h.formatMismatch(result.mismatches[0], input, { repro, trace: result.trace }));
      }
    }
    return reports.length ? `${reports.length} of ${count} sequences disagree:\n\n${reports.join('\n\n')}` : '';
  }

  test(`self-check: kernel vs kernel, ${SELF_CHECK_CASES} sequences`, async () => {
    const report = await runBlock(FIRST_SEED, SELF_CHECK_CASES, true);
    if (report) throw new Error(`the harness is not deterministic (kernel vs kernel): ${report}`);
  });

  for (const cache of [true, false]) {
    for (let from = FIRST_SEED; from < FIRST_SEED + CASES; from += BLOCK) {
      const count = Math.min(BLOCK, FIRST_SEED + CASES - from);
      test(`engine (cache ${cache ? 'on' : 'off'}) vs kernel: seeds ${from}..${from + count - 1} (${OPS} ops each)`, async () => {
        const report = await runBlock(from, count, false, cache);
        if (report) throw new Error(report);
      });
    }
  }

  test('no overlay mounts or scratch directories are left behind', () => {
    expect(h.mountsUnder(scratchRoot)).toEqual([]);
  });
});
