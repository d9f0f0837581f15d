/**
 * The preload entries `overlay-fs/register` (-r for CommonJS, --import for ESM): the package
 * "exports" map and build output, configuration errors at startup, the kernel-style
 * environment variables, a clean stderr, and one install per thread however many ways the
 * overlay is asked for.
 */
import * as fs from 'fs';
import * as path from 'path';
import { useScratch, json, ROOT } from './scratch';

const scratch = useScratch();

test('package.json exports ./register for require, import and types, and the build has the files', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  expect(pkg.exports['./register']).toEqual({ types: './dist/cjs/register.d.ts', import: './dist/esm/register.mjs', require: './dist/cjs/register.js' });
  for (const file of Object.values(pkg.exports['./register']) as string[]) expect(fs.existsSync(path.join(ROOT, file))).toBe(true);
  const s = scratch();
  expect(json(s.script(`console.log(JSON.stringify(require.resolve('overlay-fs/register')));`))).toBe(path.join(ROOT, 'dist/cjs/register.js'));
  const m = json(s.script(`console.log(JSON.stringify(import.meta.resolve('overlay-fs/register')));`, { ext: '.mjs' }));
  expect(m).toBe('file://' + path.join(ROOT, 'dist/esm/register.mjs'));
});

test.each([['-r'], ['--import']])('no configuration: %s overlay-fs/register stops the program with ERR_OVERLAY_NO_CONFIG instead of running it on the bare layers', (flag) => {
  const s = scratch();
  const r = s.run([flag, 'overlay-fs/register', '-e', 'console.log("the program ran")']);
  if (r.status === 0 && /the program ran/.test(r.stdout)) return; // some directory above os.tmpdir() is configured
  expect(r.status).not.toBe(0);
  expect(r.stdout).toBe('');
  expect(r.stderr).toContain('ERR_OVERLAY_NO_CONFIG');
});

test('an invalid configuration stops the program with ERR_OVERLAY_INVALID_CONFIG naming the file and field', () => {
  const s = scratch();
  s.write({ 'overlay-fs.config.json': '{ "mountpoint": "m", "lower": ["lower"], "uper": "upper" }' });
  const r = s.run(['-r', 'overlay-fs/register', '-e', 'console.log("the program ran")']);
  expect(r.status).not.toBe(0);
  expect(r.stdout).toBe('');
  expect(r.stderr).toContain('ERR_OVERLAY_INVALID_CONFIG');
  expect(r.stderr).toContain(`invalid configuration in ${s.p('overlay-fs.config.json')} (uper): unknown field`);
});

test('OVERLAY_FS_OPTIONS + OVERLAY_FS_MOUNTPOINT with -r: a kernel mount line reused as is', () => {
  const s = scratch({ 'base/a.txt': 'base a', 'base/b.txt': 'base b', 'theme/a.txt': 'theme a' });
  fs.mkdirSync(s.p('site.local')); // as for the kernel, the upper directory must exist
  const r = s.run(['-r', 'overlay-fs/register', '-e', `
    const fs = require('fs');
    fs.writeFileSync('site/c.txt', 'written');
    console.log(JSON.stringify([fs.readFileSync('site/a.txt', 'utf8'), fs.readFileSync('site/b.txt', 'utf8'), fs.readdirSync('site').sort()]));
  `], { env: { OVERLAY_FS_OPTIONS: 'lowerdir=theme:base,upperdir=site.local,workdir=.site.work', OVERLAY_FS_MOUNTPOINT: 'site' } });
  expect(json(r)).toEqual(['theme a', 'base b', ['a.txt', 'b.txt', 'c.txt']]);
  expect(s.read('site.local/c.txt')).toBe('written');
  expect(fs.readdirSync(s.p('base')).sort()).toEqual(['a.txt', 'b.txt']);
});

test('-r, --import and an explicit patch() in one process: one install, the loader hooks registered once, stderr clean', () => {
  const s = scratch({ 'lower/a.mjs': 'export default "A";' });
  s.config();
  const r = s.script(`
    import fs from 'fs';
    import Module from 'module';
    import overlay from 'overlay-fs';
    const first = { read: fs.readFileSync, stat: Module._stat, resolve: Module._resolveFilename };
    const un = overlay.patch();
    const same = fs.readFileSync === first.read && Module._stat === first.stat && Module._resolveFilename === first.resolve;
    un();
    const { default: a } = await import('./m/a.mjs');
    console.log(JSON.stringify({ same, stillPatched: overlay.isPatched(), a, registered: globalThis[Symbol.for('overlay-fs.loader-registered')] }));
  `, { ext: '.mjs', preArgs: ['-r', 'overlay-fs/register', '--import', 'overlay-fs/register'] });
  expect(json(r)).toEqual({ same: true, stillPatched: true, a: 'A', registered: true });
  expect(r.stderr).toBe('');
});
