/**
 * Copy-up guarantees: single flight within a process, atomic against a crash (SIGKILL in the
 * middle of copying a large file), stale temporaries cleaned at the next start, and
 * descriptors the overlay did not open left alone.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn } from 'child_process';
import { createOverlay } from '../lib';

let base: string;
beforeEach(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'ovfs-copyup-'));
  for (const d of ['u', 'l']) fs.mkdirSync(path.join(base, d));
});
afterEach(() => fs.rmSync(base, { recursive: true, force: true }));

const layers = () => ({ mountpoint: path.join(base, 'm'), upper: path.join(base, 'u'), lower: [path.join(base, 'l')], workdir: path.join(base, 'w') });

test('64 concurrent appends to one lower file share one copy-up and keep every append', async () => {
  fs.writeFileSync(path.join(base, 'l/log'), 'start\n');
  const ov = createOverlay(layers());
  const m = path.join(base, 'm');
  await Promise.all(Array.from({ length: 64 }, (_, i) => ov.fs.promises.appendFile(`${m}/log`, `line ${i}\n`)));
  const lines = ov.fs.readFileSync(`${m}/log`, 'utf8').trim().split('\n');
  expect(lines[0]).toBe('start');
  expect(lines.slice(1).sort()).toEqual(Array.from({ length: 64 }, (_, i) => `line ${i}`).sort());
  expect(fs.readFileSync(path.join(base, 'l/log'), 'utf8')).toBe('start\n');
  expect(fs.readdirSync(path.join(base, 'w'))).toEqual([]); // no temporary left behind
});

test('a copy-up killed midway leaves no partial file, and the next start removes its temporary', async () => {
  const big = Buffer.alloc(64 * 1024 * 1024, 7);
  fs.writeFileSync(path.join(base, 'l/big'), big);
  const lib = path.join(__dirname, '..', 'dist', 'cjs', 'index.js');
  const script = `
    const { createOverlay } = require(${JSON.stringify(lib)});
    const ov = createOverlay(${JSON.stringify(layers())});
    process.stdout.write('ready\\n');
    ov.fs.appendFileSync(${JSON.stringify(path.join(base, 'm/big'))}, 'x');
    process.stdout.write('done\\n');
  `;
  // Kill as soon as the temporary appears in the work directory: the copy is in flight.
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let killedMidway = false;
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      let temps: string[] = [];
      try { temps = fs.readdirSync(path.join(base, 'w')); } catch { /* not yet created */ }
      if (temps.length > 0 && !fs.existsSync(path.join(base, 'u/big'))) {
        child.kill('SIGKILL');
        killedMidway = true;
        clearInterval(poll);
      }
    }, 1);
    child.on('exit', () => { clearInterval(poll); resolve(); });
  });
  if (!killedMidway) {
    console.warn('copy-up finished before the kill landed; the crash case was not exercised in this run');
    return;
  }
  expect(fs.existsSync(path.join(base, 'u/big'))).toBe(false);
  expect(fs.readdirSync(path.join(base, 'w')).length).toBeGreaterThan(0); // the stale temporary
  const ov = createOverlay(layers());
  expect(fs.readdirSync(path.join(base, 'w'))).toEqual([]);
  expect(ov.fs.statSync(path.join(base, 'm/big')).size).toBe(big.length);
  expect(ov.which(path.join(base, 'm/big'))!.layer.role).toBe('lower');
});

test('descriptors the overlay did not open pass through', () => {
  const ov = createOverlay(layers());
  const outside = path.join(base, 'plain');
  fs.writeFileSync(outside, 'p');
  const fd = fs.openSync(outside, 'r');
  ov.fs.fchmodSync(fd, 0o600);
  ov.fs.closeSync(fd);
  expect(fs.statSync(outside).mode & 0o777).toBe(0o600);
});

test('fchmod and FileHandle.chmod on a read-only descriptor of a lower file copy up, never touching the lower', async () => {
  fs.writeFileSync(path.join(base, 'l/f'), 'data');
  fs.chmodSync(path.join(base, 'l/f'), 0o644);
  fs.writeFileSync(path.join(base, 'l/g'), 'data');
  fs.chmodSync(path.join(base, 'l/g'), 0o644);
  const ov = createOverlay(layers());
  const fd = ov.fs.openSync(path.join(base, 'm/f'), 'r');
  ov.fs.fchmodSync(fd, 0o600);
  ov.fs.futimesSync(fd, 1000, 1000);
  expect(() => ov.fs.ftruncateSync(fd, 0)).toThrow(/EINVAL/);
  ov.fs.closeSync(fd);
  const fh = await ov.fs.promises.open(path.join(base, 'm/g'), 'r');
  await fh.chmod(0o640);
  await fh.utimes(2000, 2000);
  await fh.close();
  expect(fs.statSync(path.join(base, 'l/f')).mode & 0o777).toBe(0o644);
  expect(fs.statSync(path.join(base, 'l/g')).mode & 0o777).toBe(0o644);
  expect(fs.statSync(path.join(base, 'u/f')).mode & 0o777).toBe(0o600);
  expect(fs.statSync(path.join(base, 'u/f')).mtimeMs).toBe(1000000);
  expect(fs.statSync(path.join(base, 'u/g')).mode & 0o777).toBe(0o640);
  expect(ov.fs.readFileSync(path.join(base, 'm/f'), 'utf8')).toBe('data');
});
