/**
 * ES modules through the merged view with `--import overlay-fs/register` (node-patching.md
 * §2.3, §4 items 15 and 16): relative, absolute and file: URL imports, import(), bare
 * specifiers ("exports" with conditions and patterns, legacy "main", scoped packages, packages
 * outside the mount, a mountpoint inside node_modules), "#imports" and self-reference, format
 * from extension and the merged package "type", CommonJS imported from ESM, JSON, Node's own
 * errors, and ESM entry points. Child processes only.
 */
import * as fs from 'fs';
import { useScratch, json, type Scratch } from './scratch';

const scratch = useScratch();
const IMPORT = ['--import', 'overlay-fs/register'];

function tree(s: Scratch): void {
  s.config();
  s.write({
    'lower/a.mjs': 'import b from "./b.mjs"; export default "a(lower) sees " + b;',
    'lower/b.mjs': 'export default "b from LOWER";',
    'upper/b.mjs': 'export default "b from UPPER";',
    'lower/lib.cjs': 'exports.named = "named export of " + require("./cjs-dep.js"); exports.other = 2;',
    'upper/cjs-dep.js': 'module.exports = "a CommonJS module (upper dep)";',
    'lower/data.json': '{ "from": "lower json" }',
    'lower/node_modules/dep/package.json': JSON.stringify({ name: 'dep', exports: { '.': { import: './e.mjs', require: './c.js' }, './features/*.js': './features/*.js', './hidden': null } }),
    'lower/node_modules/dep/e.mjs': 'export default "dep (import condition)";',
    'lower/node_modules/dep/c.js': 'module.exports = "dep (require condition)";',
    'lower/node_modules/dep/features/x.js': 'module.exports = "dep/features/x";',
    'upper/node_modules/legacy/package.json': '{ "main": "lib/main" }',
    'lower/node_modules/legacy/lib/main.js': 'module.exports = { legacy: "legacy main" };',
    'lower/node_modules/@scope/pkg/package.json': '{ "type": "module", "exports": "./index.js" }',
    'lower/node_modules/@scope/pkg/index.js': 'export default "scoped esm";',
    'lower/app/package.json': JSON.stringify({ name: 'my-app', type: 'module', exports: { './util': './util.js' }, imports: { '#internal': './internal.js', '#dep': 'dep' } }),
    'lower/app/internal.js': 'export default "#internal";',
    'upper/app/util.js': 'export default "self-reference";',
    'lower/app/main.js': [
      'import i from "#internal"; import d from "#dep"; import u from "my-app/util";',
      'console.log(JSON.stringify({ main: [i, d, u], typeofRequire: typeof require, url: import.meta.url }));',
    ].join('\n'),
    'lower/typeless/amb.js': 'export const syntax = "detected as ESM";',
  });
}

test('#15 import through the merged view: relative, absolute, file: URL, import(), bare packages, CJS and JSON', () => {
  const s = scratch();
  tree(s);
  s.write({
    'upper/main.mjs': `
      import a from './a.mjs';
      import { named } from './lib.cjs';
      import data from './data.json' with { type: 'json' };
      import dep from 'dep';
      import x from 'dep/features/x.js';
      import legacy from 'legacy';
      import scoped from '@scope/pkg';
      import { syntax } from './typeless/amb.js';
      import { patch } from 'overlay-fs'; // a real package outside the mount, resolved from a file inside it
      const abs = await import(${JSON.stringify(s.p('m/b.mjs'))});
      const viaUrl = await import(new URL('./a.mjs', import.meta.url).href);
      const errors = {};
      for (const [k, spec] of Object.entries({ missing: './nope.mjs', dir: './app', hidden: 'dep/hidden', notExported: 'dep/nope', nopkg: 'nopkg', jsonNoType: './data.json' })) {
        try { await import(spec); errors[k] = 'loaded'; } catch (e) { errors[k] = e.code; }
      }
      console.log(JSON.stringify({
        a, named, json: data.from, dep, x, legacy: legacy.legacy, scoped, syntax, patch: typeof patch,
        abs: abs.default, viaUrl: viaUrl.default, url: import.meta.url, resolved: import.meta.resolve('dep'), errors,
      }));
    `,
  });
  const r = s.run([...IMPORT, 'm/main.mjs']);
  expect(json(r)).toEqual({
    a: 'a(lower) sees b from UPPER',
    named: 'named export of a CommonJS module (upper dep)',
    json: 'lower json',
    dep: 'dep (import condition)',
    x: 'dep/features/x',
    legacy: 'legacy main',
    scoped: 'scoped esm',
    syntax: 'detected as ESM',
    patch: 'function',
    abs: 'b from UPPER',
    viaUrl: 'a(lower) sees b from UPPER',
    url: 'file://' + s.p('m/main.mjs'),
    resolved: 'file://' + s.p('m/node_modules/dep/e.mjs'),
    errors: {
      missing: 'ERR_MODULE_NOT_FOUND',
      dir: 'ERR_UNSUPPORTED_DIR_IMPORT',
      hidden: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
      notExported: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
      nopkg: 'ERR_MODULE_NOT_FOUND',
      // Node's own import-attribute check still applies (Node 20 names it ..._ASSERTION_...).
      jsonNoType: 'ERR_IMPORT_ASSERTION_TYPE_MISSING',
    },
  });
  expect(r.stderr).toBe('');
});

test.each([[IMPORT], [['-r', 'overlay-fs/register', ...IMPORT]]])('#15 CommonJS that re-exports another module (module.exports = require(...)), imported by name: %j', (args) => {
  const s = scratch();
  tree(s);
  // Node lexes the re-exported file for its names with a readFileSync it took before the patch
  // when --import comes first (see lib/loader/translator-read.ts).
  s.write({ 'upper/re.cjs': 'module.exports = require("./lib.cjs");', 'lower/re-main.mjs': 'import { named, other } from "./re.cjs"; console.log(JSON.stringify([named, other]));' });
  expect(json(s.run([...args, 'm/re-main.mjs']))).toEqual(['named export of a CommonJS module (upper dep)', 2]);
});

test('#15 the error messages are Node\'s own', () => {
  const s = scratch();
  tree(s);
  s.write({ 'upper/errs.mjs': 'for (const spec of ["./nope.mjs", "dep/nope"]) { try { await import(spec); } catch (e) { console.log(e.message); } } console.log("{}");' });
  const r = s.run([...IMPORT, 'm/errs.mjs']);
  expect(json(r)).toEqual({});
  expect(r.stdout).toContain(`Cannot find module '${s.p('m/nope.mjs')}' imported from ${s.p('m/errs.mjs')}`);
  expect(r.stdout).toContain(`Package subpath './nope' is not defined by "exports" in ${s.p('m/node_modules/dep/')}package.json imported from ${s.p('m/errs.mjs')}`);
});

test('#15 #16 an ESM entry point: a .js file of a merged "type": "module" package, with "#imports" and self-reference', () => {
  const s = scratch();
  tree(s);
  const r = s.run([...IMPORT, 'm/app/main.js']);
  expect(json(r)).toEqual({ main: ['#internal', 'dep (import condition)', 'self-reference'], typeofRequire: 'undefined', url: 'file://' + s.p('m/app/main.js') });
});

test('#16 --import also runs a CommonJS entry under the mountpoint', () => {
  const s = scratch();
  tree(s);
  s.write({ 'lower/server.cjs': 'console.log(JSON.stringify([require("./lib.cjs").named, __filename]));' });
  expect(json(s.run([...IMPORT, 'm/server.cjs']))).toEqual(['named export of a CommonJS module (upper dep)', s.p('m/server.cjs')]);
});

test('#15 a mountpoint inside node_modules: a layered package imported from outside the mount', () => {
  const s = scratch({ 'vendor/package.json': '{ "name": "layered", "exports": { "import": "./index.mjs" } }', 'vendor/index.mjs': 'export default "vendor";', 'patches/index.mjs': 'export default "patched";' });
  s.write({ 'overlay-fs.config.json': JSON.stringify({ mountpoint: 'node_modules/layered', upper: 'patches', lower: 'vendor' }) });
  s.write({ 'app.mjs': 'import v from "layered"; console.log(JSON.stringify(v));' });
  expect(json(s.run([...IMPORT, 'app.mjs']))).toBe('patched');
  expect(fs.existsSync(s.p('node_modules/layered'))).toBe(false);
});

test('limit: without --import, ES modules under the mountpoint do not resolve (Node\'s ESM resolver bypasses fs)', () => {
  const s = scratch();
  tree(s);
  const r = s.run(['-r', 'overlay-fs/register', 'm/a.mjs']);
  expect(r.status).not.toBe(0);
  expect(r.stderr).toContain('ERR_MODULE_NOT_FOUND');
});
