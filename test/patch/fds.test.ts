/**
 * Descriptors under the global patch (node-patching.md §4 item 7): metadata changes through a
 * read-only descriptor of a lower file copy up instead of changing the lower file, and every
 * descriptor the overlay did not open (stdout redirected to a file included) passes through.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import { useScratch, json, cleanEnv, PATCH_PRELUDE } from './scratch';

const scratch = useScratch();

test('#7 fchmod/futimes on a read-only fd and FileHandle.chmod of a lower file copy up; the lower file is untouched', () => {
  const s = scratch({ 'lower/a.txt': 'A', 'lower/b.txt': 'B' });
  fs.chmodSync(s.p('lower/a.txt'), 0o644);
  fs.chmodSync(s.p('lower/b.txt'), 0o644);
  const r = json(s.script(`
    ${PATCH_PRELUDE}
    (async () => {
      const fd = fs.openSync(M + '/a.txt', 'r');
      fs.fchmodSync(fd, 0o600);
      fs.futimesSync(fd, 1000, 1000);
      fs.closeSync(fd);
      const fh = await fs.promises.open(M + '/b.txt', 'r');
      await fh.chmod(0o640);
      await fh.close();
      const mode = (p) => (fs.statSync(p).mode & 0o777).toString(8);
      out({
        merged: [mode(M + '/a.txt'), fs.statSync(M + '/a.txt').mtimeMs, mode(M + '/b.txt')],
        lower: [mode(path.join(__dirname, 'lower/a.txt')), mode(path.join(__dirname, 'lower/b.txt'))],
        upper: fs.readdirSync(path.join(__dirname, 'upper')).sort(),
      });
    })();
  `));
  expect(r).toEqual({ merged: ['600', 1000000, '640'], lower: ['644', '644'], upper: ['a.txt', 'b.txt'] });
});

test('#7 descriptors the overlay did not open pass through: console.log to stdout redirected to a file', () => {
  const s = scratch({ 'lower/a.txt': 'A' });
  const script = s.p('log.js');
  fs.writeFileSync(script, `${PATCH_PRELUDE}
    console.log('first line', fs.readFileSync(M + '/a.txt', 'utf8'));
    console.error('to stderr');
    fs.writeSync(1, 'raw write to fd 1\\n');
    console.log('last line');
  `);
  const outFd = fs.openSync(s.p('stdout.txt'), 'w');
  const errFd = fs.openSync(s.p('stderr.txt'), 'w');
  try {
    const r = spawnSync(process.execPath, [script], { cwd: s.dir, env: cleanEnv(), stdio: ['ignore', outFd, errFd] });
    expect(r.status).toBe(0);
  } finally {
    fs.closeSync(outFd);
    fs.closeSync(errFd);
  }
  expect(s.read('stdout.txt')).toBe('first line A\nraw write to fd 1\nlast line\n');
  expect(s.read('stderr.txt')).toBe('to stderr\n');
});
