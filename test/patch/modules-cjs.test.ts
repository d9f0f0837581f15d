/**
 * CommonJS loading through the merged view (node-patching.md §2.3, §4 items 13, 14 and the
 * CommonJS half of 16): require and require.resolve, the highest layer winning for a module
 * required from a lower one, .json, package "main"/"exports", merged node_modules, package
 * scope ("type", "imports", self-reference), .node addons, and a main entry under the
 * mountpoint. Child processes only.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { useScratch, json, PATCH_PRELUDE, type Scratch } from './scratch';

const scratch = useScratch();

function modules(s: Scratch): void {
  s.write({
    'lower/a.js': 'module.exports = "a(lower) sees " + require("./b");',
    'lower/b.js': 'module.exports = "b from LOWER";',
    'upper/b.js': 'module.exports = "b from UPPER";',
    'lower/data.json': '{ "from": "lower json" }',
    'lower/dirmain/package.json': '{ "main": "lib/start.js" }',
    'lower/dirmain/lib/start.js': 'module.exports = "dir main";',
    'lower/node_modules/dep/package.json': JSON.stringify({ name: 'dep', exports: { '.': { import: './e.mjs', require: './c.js' }, './feature': './f.js', './features/*': './features/*.js' } }),
    'lower/node_modules/dep/c.js': 'module.exports = "dep (require condition)";',
    'lower/node_modules/dep/f.js': 'module.exports = "dep/feature";',
    'lower/node_modules/dep/features/x.js': 'module.exports = "dep/features/x";',
    'upper/node_modules/dep/f.js': 'module.exports = "dep/feature (upper)";',
    'lower/node_modules/legacy/package.json': '{ "name": "legacy", "main": "main" }',
    'lower/node_modules/legacy/main.js': 'module.exports = "legacy main";',
    'upper/node_modules/@scope/pkg/index.js': 'module.exports = "scoped index";',
    'lower/app/package.json': JSON.stringify({ name: 'my-app', exports: { '.': './index.js', './util': './util.js' }, imports: { '#internal': { require: './internal.js', default: './nope.js' }, '#dep': 'dep' } }),
    'lower/app/index.js': 'module.exports = [require("#internal"), require("#dep"), require("my-app/util")].join(" | ");',
    'lower/app/internal.js': 'module.exports = "#internal";',
    'upper/app/util.js': 'module.exports = "self-reference (upper util)";',
  });
}

test('#13 require, require.resolve, .json, directory main and merged node_modules resolve in the merged view', () => {
  const s = scratch();
  modules(s);
  const r = s.script(`
    ${PATCH_PRELUDE}
    const req = (id) => require(path.join(M, id));
    let notExported;
    try { require(M + '/node_modules/../a.js'); require('module').createRequire(M + '/x.js')('dep/hidden'); } catch (e) { notExported = e.code; }
    const mreq = require('module').createRequire(M + '/index.js');
    out({
      a: req('a.js'), resolveB: require.resolve(M + '/b'), json: req('data.json').from, dirmain: req('dirmain'),
      dep: mreq('dep'), feature: mreq('dep/feature'), pattern: mreq('dep/features/x'), legacy: mreq('legacy'),
      scoped: mreq('@scope/pkg'), resolveDep: mreq.resolve('dep'), notExported,
      filename: require.cache[M + '/a.js'] && require.cache[M + '/a.js'].filename,
      realpathOption: fs.realpathSync(M + '/a.js', { [Symbol('loader cache')]: new Map() }),
    });
  `);
  const out = json(r);
  expect(out).toEqual({
    a: 'a(lower) sees b from UPPER',
    resolveB: s.p('m/b.js'),
    json: 'lower json',
    dirmain: 'dir main',
    dep: 'dep (require condition)',
    feature: 'dep/feature (upper)',
    pattern: 'dep/features/x',
    legacy: 'legacy main',
    scoped: 'scoped index',
    resolveDep: s.p('m/node_modules/dep/c.js'),
    notExported: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
    filename: s.p('m/a.js'),
    realpathOption: s.p('m/a.js'),
  });
  // Module._stat and Module._readPackage print an ExperimentalWarning when set: it is silenced.
  expect(r.stderr).toBe('');
});

test('#13 package scope under the mount: "imports", self-reference by name, and "type" read through the merged view', () => {
  const s = scratch();
  modules(s);
  s.write({
    // The scratch root (a physical ancestor of the mountpoint) says "module"...
    'package.json': '{ "type": "module" }',
    // ...but in the merged view the package says "commonjs": Node alone would run this as ESM.
    'lower/cjs-pkg/package.json': '{ "type": "commonjs" }',
    'lower/cjs-pkg/c.js': 'module.exports = typeof require + " " + typeof module;',
    // A merged "type": "module" package: its .js files are ES modules (require(esm) in Node 20.19+).
    'upper/esm-pkg/package.json': '{ "type": "module" }',
    'lower/esm-pkg/e.js': 'export const kind = typeof require; export default "esm";',
  });
  const r = json(s.script(`
    ${PATCH_PRELUDE}
    const e = require(M + '/esm-pkg/e.js');
    out({ app: require(M + '/app'), cjs: require(M + '/cjs-pkg/c.js'), esm: [e.default, e.kind] });
  `, { ext: '.cjs' }));
  expect(r).toEqual({
    app: '#internal | dep (require condition) | self-reference (upper util)',
    cjs: 'function object',
    esm: ['esm', 'undefined'],
  });
});

test('#16 node -r overlay-fs/register <mountpoint>/server.js runs the entry from the merged view', () => {
  const s = scratch();
  modules(s);
  s.config();
  s.write({ 'lower/server.js': 'console.log(JSON.stringify([require("./a"), __filename, require.main === module, process.argv[1]]));' });
  const r = s.run(['-r', 'overlay-fs/register', 'm/server.js']);
  expect(json(r)).toEqual(['a(lower) sees b from UPPER', s.p('m/server.js'), true, s.p('m/server.js')]);
  expect(r.stderr).toBe('');
  expect(fs.existsSync(s.p('m'))).toBe(false);
});

// A tiny N-API addon, built with the C compiler and the headers that ship with this Node.
const nodeInclude = path.join(path.dirname(path.dirname(process.execPath)), 'include', 'node');
function buildAddon(dir: string): string | null {
  if (!fs.existsSync(path.join(nodeInclude, 'node_api.h'))) return null;
  const src = path.join(dir, 'addon.c');
  fs.writeFileSync(src, `#include <node_api.h>
static napi_value Where(napi_env env, napi_callback_info info) {
  napi_value s; napi_create_string_utf8(env, "native code from the lower layer", NAPI_AUTO_LENGTH, &s); return s;
}
NAPI_MODULE_INIT() {
  napi_value fn; napi_create_function(env, "where", NAPI_AUTO_LENGTH, Where, NULL, &fn);
  napi_set_named_property(env, exports, "where", fn); return exports;
}
`);
  const outFile = path.join(dir, 'addon.node');
  try {
    execFileSync('cc', ['-shared', '-fPIC', `-I${nodeInclude}`, src, '-o', outFile], { stdio: 'pipe' });
  } catch {
    return null;
  }
  return outFile;
}

test('#14 a .node addon in a lower layer loads from the serving layer\'s real file', () => {
  const s = scratch();
  const built = buildAddon(s.dir);
  if (!built) {
    console.warn('skipped: no C compiler or no Node headers in ' + nodeInclude + ' to build a test addon');
    return;
  }
  fs.mkdirSync(s.p('lower/native'));
  fs.renameSync(built, s.p('lower/native/addon.node'));
  s.write({ 'lower/native/index.js': 'module.exports = require("./addon.node").where();' });
  const r = json(s.script(`
    ${PATCH_PRELUDE}
    const viaIndex = require(M + '/native');
    const mod = require.cache[M + '/native/addon.node'];
    out({ viaIndex, cachedAs: mod && mod.filename, resolved: require.resolve(M + '/native/addon') });
  `));
  expect(r).toEqual({ viaIndex: 'native code from the lower layer', cachedAs: s.p('m/native/addon.node'), resolved: s.p('m/native/addon.node') });
});
