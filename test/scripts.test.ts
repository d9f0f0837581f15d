// The demo and the benchmark are run as child processes, exactly as `npm run demo` and
// `npm run bench` run them, against the build in dist/ (`npm test` builds first).
import { spawnSync, SpawnSyncReturns } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.join(__dirname, '..');
const BUILD = path.join(ROOT, 'dist', 'cjs', 'index.js');

function runScript(script: string, args: string[] = []): SpawnSyncReturns<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  return spawnSync(process.execPath, [path.join(ROOT, 'scripts', script), ...args], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    timeout: 300_000,
    maxBuffer: 16 * 1024 * 1024,
  });
}

function explain(r: SpawnSyncReturns<string>): string {
  return `exit ${r.status} (signal ${r.signal})\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

beforeAll(() => {
  if (!fs.existsSync(BUILD)) {
    throw new Error(`${BUILD} is missing: run \`npm run build\` first (\`npm test\` does).`);
  }
});

describe('scripts/demo.js', () => {
  let r: SpawnSyncReturns<string>;
  beforeAll(() => {
    r = runScript('demo.js');
  });

  test('exits 0', () => {
    expect({ status: r.status, out: r.status === 0 ? '' : explain(r) }).toEqual({ status: 0, out: '' });
  });

  test('reads c.txt from the upper layer, where the top copy wins', () => {
    expect(r.stdout).toContain('c.txt from the upper layer (this one wins)');
    expect(r.stdout).toMatch(/c\.txt is served from the upper layer/);
    expect(r.stdout).not.toContain('c.txt from the middle layer');
  });

  test('shows the copy-up and the whiteout it made', () => {
    expect(r.stdout).toContain('a line appended through the overlay');
    expect(r.stdout).toMatch(/a\.txt was copied up/);
    expect(r.stdout).toMatch(/\.wh\.b\.txt\s+whiteout/);
  });

  test('proves the lower layers unchanged', () => {
    expect(r.stdout).toMatch(/Lower layers unchanged: yes/);
    expect(r.stdout).not.toMatch(/CHANGED|UNEXPECTED/);
  });

  test('prints no colour when stdout is not a terminal', () => {
    expect(r.stdout).not.toContain('\x1b[');
  });

  test('removes its scratch directory', () => {
    const m = /\(scratch directory: (.+?)\)/.exec(r.stdout);
    expect(m).not.toBeNull();
    expect(fs.existsSync(m![1])).toBe(false);
  });

  test('--keep leaves the scratch directory with the upper layer on disk', () => {
    const k = runScript('demo.js', ['--keep']);
    const m = /\(scratch directory: (.+?)\)/.exec(k.stdout);
    expect(m).not.toBeNull();
    const scratch = m![1];
    try {
      expect(k.status).toBe(0);
      expect(fs.readFileSync(path.join(scratch, 'upper', '.wh.b.txt'), 'utf8')).toBe('');
      expect(fs.readFileSync(path.join(scratch, 'lower', 'a.txt'), 'utf8')).toBe('a.txt from the lower layer\n');
      expect(fs.readFileSync(path.join(scratch, 'upper', 'a.txt'), 'utf8')).toBe(
        'a.txt from the lower layer\na line appended through the overlay\n',
      );
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  });
});

describe('scripts/bench.js --quick --json', () => {
  interface Row {
    key: string;
    name: string;
    ops: number;
    plainUsPerOp?: number;
    overlayUsPerOp?: number;
    ratio?: number;
    error?: string;
  }
  interface Report {
    checks: Record<string, boolean>;
    problems: string[];
    workloads: Row[];
    kernel: { available: boolean; reason: string; viewMatches?: boolean };
    layers: { rows: Array<{ layers: number; ratio?: number; growth?: number; viewMatches?: boolean; error?: string }> };
    memory: { available: boolean; heapBytes?: number; directories?: number; entries?: number };
  }
  let r: SpawnSyncReturns<string>;
  let report: Report;
  beforeAll(() => {
    r = runScript('bench.js', ['--quick', '--json']);
    try {
      report = JSON.parse(r.stdout) as Report;
    } catch {
      throw new Error(`bench did not print JSON: ${explain(r)}`);
    }
  }, 300_000);

  test('exits 0 with no problems reported', () => {
    expect({ status: r.status, problems: report.problems }).toEqual({ status: 0, problems: [] });
  });

  test('covers every workload', () => {
    const keys = report.workloads.map((w) => w.key);
    for (const k of [
      'statSync.bottom',
      'statSync.top',
      'statSync.miss',
      'existsSync',
      'readFileSync',
      'readdirSync',
      'readdirSync.withFileTypes',
      'walk',
      'promises.stat',
      'promises.readFile',
      'copyUp.4k',
      'copyUp.1m',
      'create',
    ]) {
      expect(keys).toContain(k);
    }
  });

  test('gives a finite positive ratio for each workload', () => {
    for (const w of report.workloads) {
      expect({ key: w.key, error: w.error }).toEqual({ key: w.key, error: undefined });
      for (const v of [w.plainUsPerOp, w.overlayUsPerOp, w.ratio]) {
        expect(typeof v).toBe('number');
        expect(Number.isFinite(v)).toBe(true);
        expect(v as number).toBeGreaterThan(0);
      }
      expect(w.ratio).toBeCloseTo((w.overlayUsPerOp as number) / (w.plainUsPerOp as number), 6);
    }
  });

  test('the merged view equals the flattened copy, copy-up keeps data, lowers unchanged', () => {
    expect(report.checks).toEqual({
      mergedViewMatchesFlatCopy: true,
      copyUpKeepsData: true,
      lowersUnchanged: true,
      layerViewsMatch: true,
    });
  });

  test('walks the same files over 1, 2, 4, 8, 16 and 32 layers', () => {
    expect(report.layers.rows.map((r) => r.layers)).toEqual([1, 2, 4, 8, 16, 32]);
    for (const r of report.layers.rows) {
      expect({ layers: r.layers, error: r.error, viewMatches: r.viewMatches }).toEqual({ layers: r.layers, error: undefined, viewMatches: true });
      expect(Number.isFinite(r.ratio)).toBe(true);
      expect(Number.isFinite(r.growth)).toBe(true);
    }
  });

  test('reports the memory of the directory index, and the kernel reference or why there is none', () => {
    expect(report.memory.available).toBe(true);
    expect(report.memory.directories).toBeGreaterThan(0);
    expect(report.memory.entries).toBeGreaterThan(0);
    expect(Number.isFinite(report.memory.heapBytes)).toBe(true);
    if (report.kernel.available) expect(report.kernel.viewMatches).toBe(true);
    else expect(report.kernel.reason).not.toBe('');
  });
});
