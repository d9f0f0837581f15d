/**
 * cosmiconfig 9 searches and loads configuration from a layered tree: a JSON rc (the nearer one
 * deleted by a whiteout, the farther one overridden), a package.json property, a CommonJS
 * `.js` config that requires a file the upper overrides, and an `.mjs` config in the upper that
 * imports a module from the lower. cosmiconfig loads JS configs with import() (falling back to
 * require), so the run uses `--import overlay-fs/register` (the ESM hooks) as well as `-r`.
 */
import { ToolScratch, expectSameOutcome } from './harness';

const lower = {
  'package.json': '{ "name": "monorepo", "private": true }\n',
  '.jsonapprc.json': '{ "level": "lower-root" }\n',
  'packages/web/.jsonapprc.json': '{ "level": "lower-web (deleted in the upper)" }\n',
  'packages/web/package.json': '{ "name": "web", "version": "1.0.0" }\n',
  'packages/web/src/main.js': 'module.exports = 1;\n',
  'tools/jsapp.config.js': "const shared = require('./jsapp.shared.js');\nmodule.exports = { kind: 'cjs', shared, dir: require('path').basename(__dirname) };\n",
  'tools/jsapp.shared.js': "module.exports = 'shared from the lower';\n",
  'tools/base.mjs': "import { readFileSync } from 'node:fs';\nexport const base = JSON.parse(readFileSync(new URL('./base.json', import.meta.url), 'utf8'));\n",
  'tools/base.json': '{ "from": "lower json read by an ES module" }\n',
  'configs/explicit.json': '{ "explicit": "lower" }\n',
};
const upper = {
  '.jsonapprc.json': '{ "level": "upper-root", "extra": [1, 2, 3] }\n',
  'packages/web/.jsonapprc.json': null,
  'packages/web/package.json': '{ "name": "web", "version": "1.0.0", "pkgapp": { "from": "package.json in the upper" } }\n',
  'tools/jsapp.shared.js': "module.exports = 'shared from the upper';\n",
  'tools/mjsapp.config.mjs': "import { base } from './base.mjs';\nexport default { kind: 'esm', base, url: import.meta.url.endsWith('/tools/mjsapp.config.mjs') };\n",
  'configs/explicit.json': '{ "explicit": "upper" }\n',
};

const DRIVER = `'use strict';
const path = require('path');
const { cosmiconfig } = require('cosmiconfig');
const app = process.argv[2];
const rel = (r) => r && { ...r, filepath: path.relative(app, r.filepath) };
(async () => {
  const out = {};
  const opts = { searchStrategy: 'global', stopDir: app, cache: false };
  out.json = rel(await cosmiconfig('jsonapp', opts).search(path.join(app, 'packages/web/src')));
  out.pkg = rel(await cosmiconfig('pkgapp', opts).search(path.join(app, 'packages/web/src')));
  out.js = rel(await cosmiconfig('jsapp', opts).search(path.join(app, 'tools')));
  out.mjs = rel(await cosmiconfig('mjsapp', opts).search(path.join(app, 'tools')));
  out.none = await cosmiconfig('absent', opts).search(path.join(app, 'tools'));
  out.explicit = rel(await cosmiconfig('x').load(path.join(app, 'configs/explicit.json')));
  try {
    await cosmiconfig('x').load(path.join(app, 'configs/missing.json'));
  } catch (err) {
    out.missing = err.code + ' ' + path.relative(app, err.path);
  }
  console.log(JSON.stringify(out, null, 2));
})().catch((err) => { console.error(err); process.exit(1); });
`;

test('cosmiconfig finds and loads JSON rc, package.json, .js and .mjs configs from the layers like from the flattened copy', async () => {
  const s = new ToolScratch('cosmiconfig', { upper, lower: [['lower', lower]] }, ['cosmiconfig']);
  try {
    s.setup();
    const args = [s.script('driver.cjs', DRIVER), s.app];
    const b = await s.baseline({ args });
    expect(b.stderr).toBe('');
    expect(b.code).toBe(0);
    expect(JSON.parse(b.stdout)).toEqual({
      json: { config: { level: 'upper-root', extra: [1, 2, 3] }, filepath: '.jsonapprc.json' },
      pkg: { config: { from: 'package.json in the upper' }, filepath: 'packages/web/package.json' },
      js: { config: { kind: 'cjs', shared: 'shared from the upper', dir: 'tools' }, filepath: 'tools/jsapp.config.js' },
      mjs: { config: { kind: 'esm', base: { from: 'lower json read by an ES module' }, url: true }, filepath: 'tools/mjsapp.config.mjs' },
      none: null,
      explicit: { config: { explicit: 'upper' }, filepath: 'configs/explicit.json' },
      missing: 'ENOENT configs/missing.json',
    });

    const o = await s.overlay({ args, esm: true });
    expectSameOutcome(s, b, o);
  } finally {
    s.dispose();
  }
});

test('without the ESM hooks (-r only) the .js config still loads through cosmiconfig\'s require() fallback', async () => {
  const s = new ToolScratch('cosmiconfig-cjs', { upper, lower: [['lower', lower]] }, ['cosmiconfig']);
  try {
    s.setup();
    const code = DRIVER.replace(/^ {2}out\.mjs = .*$/m, '');
    const args = [s.script('driver.cjs', code), s.app];
    const b = await s.baseline({ args });
    expect(b.code).toBe(0);
    expect(JSON.parse(b.stdout).js.config.shared).toBe('shared from the upper');
    const o = await s.overlay({ args, esm: false });
    expectSameOutcome(s, b, o);
  } finally {
    s.dispose();
  }
});
