/**
 * Node itself as the tool: a CommonJS app (`node -r overlay-fs/register <mountpoint>/cjs/main.js`)
 * and an ES module app (`node --import overlay-fs/register <mountpoint>/esm/main.js`, a `.js`
 * entry in a `"type": "module"` package) whose modules, packages, data files and plugins are
 * split across three layers, with overrides and whiteouts. Each app prints what it loaded;
 * the output on the overlay must equal the output on the flattened copy.
 * (Module loading itself, case by case, is tested in test/patch; this is the end-to-end check.)
 */
import * as path from 'path';
import { ToolScratch, expectSameOutcome } from './harness';

const base = {
  // --- CommonJS app
  'cjs/main.js': [
    "'use strict';",
    "const fs = require('fs');",
    "const path = require('path');",
    "const rel = (p) => path.relative(__dirname, p);",
    "const a = require('./lib/a');",
    "const config = require('./config.json');",
    "const dep = require('dep');",
    "const feature = require('dep/feature');",
    "const widget = require('./widget');",
    "const plugins = fs.readdirSync(path.join(__dirname, 'plugins')).sort().map((f) => require('./plugins/' + f));",
    "const msg = fs.readFileSync(path.join(__dirname, 'assets', 'msg.txt'), 'utf8').trim();",
    'let missing;',
    "try { require('./lib/old'); } catch (e) { missing = e.code; }",
    'console.log(JSON.stringify({',
    '  a, config, dep, feature, widget, plugins, msg, missing,',
    "  resolved: rel(require.resolve('./lib/a')),",
    "  depPath: path.relative(__dirname, require.resolve('dep')),",
    '  entry: rel(process.argv[1]),',
    '  realpath: rel(fs.realpathSync(__filename)),',
    "  cached: Object.keys(require.cache).filter((k) => k.startsWith(__dirname)).map(rel).sort(),",
    '}, null, 2));',
    '',
  ].join('\n'),
  'cjs/lib/a.js': "module.exports = 'a(base) + ' + require('./b');\n",
  'cjs/lib/b.js': "module.exports = 'b(base)';\n",
  'cjs/lib/old.js': "module.exports = 'old';\n",
  'cjs/config.json': '{ "layer": "base" }\n',
  'cjs/node_modules/dep/package.json': '{ "name": "dep", "exports": { ".": { "require": "./main.cjs", "import": "./main.mjs" }, "./feature": "./feature.js" } }\n',
  'cjs/node_modules/dep/main.cjs': "module.exports = 'dep(cjs)';\n",
  'cjs/node_modules/dep/main.mjs': "export default 'dep(esm)';\n",
  'cjs/plugins/one.js': "module.exports = 'one(base)';\n",
  'cjs/plugins/two.js': "module.exports = 'two(base)';\n",
  'cjs/assets/msg.txt': 'message from base\n',
  // --- ES module app
  'esm/package.json': '{ "name": "esm-app", "type": "module", "imports": { "#util": "./lib/util.js" } }\n',
  'esm/lib/x.js': "import { y } from './y.js';\nexport const x = 'x(base) + ' + y;\n",
  'esm/lib/y.js': "export const y = 'y(base)';\n",
  'esm/lib/util.js': "export default (s) => `[${s}]`;\n",
  'esm/lib/legacy.cjs': "exports.legacy = 'legacy(cjs, base)';\nexports.other = 2;\n",
  'esm/node_modules/esdep/package.json': '{ "name": "esdep", "type": "module", "exports": { "import": "./index.js", "require": "./index.cjs" } }\n',
  'esm/node_modules/esdep/index.js': "export default 'esdep(import)';\n",
  'esm/node_modules/esdep/index.cjs': "module.exports = 'esdep(require)';\n",
  'esm/data.json': '{ "layer": "base" }\n',
};
const plugin = {
  'cjs/plugins/three.js': "module.exports = 'three(plugin)';\n",
  'cjs/plugins/two.js': "module.exports = 'two(plugin)';\n",
  'cjs/node_modules/dep/feature.js': "module.exports = 'feature(plugin)';\n",
  'cjs/widget/package.json': '{ "main": "lib/widget.js" }\n',
  'cjs/widget/lib/widget.js': "module.exports = 'widget(plugin)';\n",
  'cjs/assets/msg.txt': 'message from plugin\n',
  'esm/lazy.js': "export const lazy = 'lazy(plugin)';\n",
  'esm/assets/msg.txt': 'esm message from plugin\n',
};
const upper = {
  'cjs/lib/b.js': "module.exports = 'b(upper)';\n",
  'cjs/lib/old.js': null,
  'cjs/config.json': '{ "layer": "upper" }\n',
  'cjs/plugins/one.js': null,
  'cjs/plugins/four.js': "module.exports = 'four(upper)';\n",
  'esm/main.js': [
    "import { readFileSync } from 'node:fs';",
    "import { readFile } from 'node:fs/promises';",
    "import { createRequire } from 'node:module';",
    "import { fileURLToPath } from 'node:url';",
    "import { x } from './lib/x.js';",
    "import util from '#util';",
    "import esdep from 'esdep';",
    "import { legacy } from './lib/legacy.cjs';",
    'const require = createRequire(import.meta.url);',
    "const { lazy } = await import('./lazy.js');",
    "const msg = (await readFile(new URL('./assets/msg.txt', import.meta.url), 'utf8')).trim();",
    "const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));",
    'console.log(JSON.stringify({',
    "  x, util: util('u'), esdep, required: require('esdep'), legacy, lazy, msg, type: pkg.type,",
    "  data: require('./data.json'),",
    "  url: import.meta.url.endsWith('/app/esm/main.js'),",
    "  resolved: fileURLToPath(import.meta.resolve('#util')).endsWith('/app/esm/lib/util.js'),",
    '}, null, 2));',
    '',
  ].join('\n'),
  'esm/lib/y.js': "export const y = 'y(upper)';\n",
  'esm/data.json': '{ "layer": "upper" }\n',
};

const layers = { upper, lower: [['plugin', plugin], ['base', base]] as Array<[string, Record<string, string | null>]> };

test('a CommonJS app under the mountpoint runs exactly like on the flattened copy (node -r overlay-fs/register)', async () => {
  const s = new ToolScratch('node-cjs', layers);
  try {
    s.setup();
    const args = [path.join(s.app, 'cjs', 'main.js')];
    const b = await s.baseline({ args });
    expect(b.stderr).toBe('');
    expect(JSON.parse(b.stdout)).toMatchObject({
      a: 'a(base) + b(upper)',
      config: { layer: 'upper' },
      dep: 'dep(cjs)',
      feature: 'feature(plugin)',
      widget: 'widget(plugin)',
      plugins: ['four(upper)', 'three(plugin)', 'two(plugin)'],
      msg: 'message from plugin',
      missing: 'MODULE_NOT_FOUND',
      resolved: 'lib/a.js',
      entry: 'main.js',
      realpath: 'main.js',
    });
    const o = await s.overlay({ args });
    expectSameOutcome(s, b, o);
  } finally {
    s.dispose();
  }
});

test('an ES module app under the mountpoint runs exactly like on the flattened copy (node --import overlay-fs/register)', async () => {
  const s = new ToolScratch('node-esm', layers);
  try {
    s.setup();
    const args = [path.join(s.app, 'esm', 'main.js')];
    const b = await s.baseline({ args });
    expect(b.stderr).toBe('');
    expect(JSON.parse(b.stdout)).toEqual({
      x: 'x(base) + y(upper)',
      util: '[u]',
      esdep: 'esdep(import)',
      required: 'esdep(require)',
      legacy: 'legacy(cjs, base)',
      lazy: 'lazy(plugin)',
      msg: 'esm message from plugin',
      type: 'module',
      data: { layer: 'upper' },
      url: true,
      resolved: true,
    });
    // The ESM entry needs the loader hooks: --import only (the documented ESM entry).
    const o = await s.overlay({ args, esm: 'only' });
    expectSameOutcome(s, b, o);
  } finally {
    s.dispose();
  }
});
