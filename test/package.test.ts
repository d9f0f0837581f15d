/**
 * The package as users load it: CommonJS and ESM entry points through `exports` (one shared
 * module instance), bundled type declarations, and no shared graceful-fs left behind.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const root = path.join(__dirname, '..');
const node = (args: string[]) => execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' }).trim();

test('require("overlay-fs") exposes createOverlay', () => {
  expect(node(['-e', 'const o = require("overlay-fs"); console.log(typeof o.createOverlay)'])).toBe('function');
});

test('import from "overlay-fs" gives the same module instance as require', () => {
  const out = node(['--input-type=module', '-e', [
    'import { createOverlay } from "overlay-fs";',
    'import { createRequire } from "module";',
    'const req = createRequire(process.cwd() + "/");',
    'console.log(typeof createOverlay, createOverlay === req("overlay-fs").createOverlay);',
  ].join('\n')]);
  expect(out).toBe('function true');
});

test('type declarations ship with the build', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const types = path.join(root, pkg.exports['.'].types);
  expect(fs.readFileSync(types, 'utf8')).toMatch(/createOverlay/);
});

test('loading overlay-fs leaves no shared graceful-fs in the require cache', () => {
  const out = node(['-e', [
    'require("overlay-fs");',
    'const id = require.resolve("graceful-fs");',
    'console.log(Boolean(require.cache[id]));',
  ].join('\n')]);
  expect(out).toBe('false');
});
