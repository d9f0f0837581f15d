/**
 * eslint 10 (CLI) lints and fixes layered sources with a layered flat config: eslint.config.js
 * (lower, CommonJS) requires a rules file that the upper overrides; one source is overridden in
 * the upper, one is deleted by a whiteout. eslint loads its config with import(), so the ESM
 * hooks are preloaded too. `--fix` rewrites a lower file, which must be copied up: the fixed
 * file lands in the upper and the lower keeps its original bytes.
 */
import * as path from 'path';
import { NODE_MODULES, ToolScratch, expectSameOutcome } from './harness';

const ESLINT = path.join(NODE_MODULES, 'eslint', 'bin', 'eslint.js');

const lower = {
  'package.json': '{ "name": "linted", "private": true }\n',
  'eslint.config.js': [
    "const rules = require('./eslint.rules.js');",
    'module.exports = [',
    "  { files: ['**/*.js'], languageOptions: { sourceType: 'commonjs', globals: { console: 'readonly', module: 'writable', require: 'readonly' } }, rules },",
    "  { ignores: ['vendor/**'] },",
    '];',
    '',
  ].join('\n'),
  'eslint.rules.js': "module.exports = { 'no-unused-vars': 'error', 'prefer-const': 'error' };\n",
  'src/a.js': "let total = 0;\nlet unused = 1;\nfor (const n of [1, 2]) console.log(n);\nmodule.exports = total;\n",
  'src/b.js': "module.exports = function add(a, b) { return a + b; };\n",
  'src/legacy.js': 'var x = 1\nif (x == 2) y = 3\n',
  'vendor/lib.js': 'var ignored = (((1)))\n',
};
const upper = {
  'eslint.rules.js': "module.exports = { 'no-unused-vars': 'error', 'prefer-const': 'error', 'no-var': 'error', eqeqeq: 'warn' };\n",
  'src/b.js': "var add = function (a, b) { return a == b ? a : a + b; };\nmodule.exports = add;\n",
  'src/legacy.js': null,
};

test('eslint --fix lints the layered sources with the layered config exactly like the flattened copy, fixes copied up', async () => {
  const s = new ToolScratch('eslint', { upper, lower: [['lower', lower]] });
  try {
    s.setup();
    const args = [ESLINT, '--fix', '--no-color', '--format', 'stylish', path.join(s.app)];
    const b = await s.baseline({ args });
    expect(b.stderr).toBe('');
    expect(b.code).toBe(1); // no-unused-vars is left (not fixable)
    expect(b.stdout).toContain(path.join(s.app, 'src', 'a.js'));
    expect(b.stdout).toContain("'unused' is assigned a value but never used");
    expect(b.stdout).toContain("Expected '===' and instead saw '=='");
    expect(b.stdout).not.toContain('legacy.js');
    expect(b.stdout).not.toContain('vendor');
    // prefer-const fixed the lower file a.js, no-var the upper file b.js.
    expect(s.changedByBaseline()).toEqual(['src/a.js', 'src/b.js']);
    expect(s.baselineTree()['src/a.js']).toContain('const total = 0;');
    expect(s.baselineTree()['src/b.js']).toContain('const add = function');

    const o = await s.overlay({ args, esm: true });
    expectSameOutcome(s, b, o);
    // The lower's a.js was copied up and fixed there.
    expect(s.upperTree()['src/a.js']).toBe(s.baselineTree()['src/a.js']);
  } finally {
    s.dispose();
  }
});
