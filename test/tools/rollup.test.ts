/**
 * rollup 4 (CLI, `-c`) bundles layered sources with a layered config: the upper's
 * rollup.config.mjs imports a base config from the lower, one source is overridden in the
 * upper, one lower module is deleted by a whiteout (and no longer imported). Rollup loads an
 * .mjs config with import(), so the ESM hooks are preloaded too. Rollup's native part only
 * parses strings; every file access goes through Node's fs.
 */
import * as path from 'path';
import { NODE_MODULES, ToolScratch, expectSameOutcome } from './harness';

const ROLLUP = path.join(NODE_MODULES, 'rollup', 'dist', 'bin', 'rollup');

const lower = {
  'package.json': '{ "name": "lib", "version": "2.0.0" }\n',
  'rollup.base.mjs': [
    "import { readFileSync } from 'node:fs';",
    "const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));",
    'export const banner = `/* ${pkg.name} ${pkg.version} */`;',
    "export default { input: 'app/src/main.js', treeshake: true };",
    '',
  ].join('\n'),
  'rollup.config.mjs': "import base from './rollup.base.mjs';\nexport default { ...base, output: { file: 'app/dist/lower.js', format: 'es' } };\n",
  'src/main.js': "import { format } from './lib/format.js';\nimport { version } from './lib/version.js';\nexport const render = (n) => format(n) + ' v' + version;\n",
  'src/lib/format.js': "export const format = (n) => String(n);\nexport const dead = () => 'tree-shaken';\n",
  'src/lib/version.js': "export { version } from '../../package.json.js';\n",
  'package.json.js': "export const version = '2.0.0';\n",
  'src/lib/old.js': "export const old = 'deleted in the upper';\n",
};
const upper = {
  'rollup.config.mjs': [
    "import base, { banner } from './rollup.base.mjs';",
    'export default {',
    '  ...base,',
    '  output: [',
    "    { file: 'app/dist/lib.mjs', format: 'es', banner },",
    "    { file: 'app/dist/lib.cjs', format: 'cjs', banner, sourcemap: true },",
    '  ],',
    '};',
    '',
  ].join('\n'),
  'src/lib/format.js': "export const format = (n) => `#${n.toFixed(2)}`;\nexport const dead = () => 'tree-shaken';\n",
  'src/lib/old.js': null,
};

const untimed = (s: string) => s.replace(/ in \d+(\.\d+)?m?s/g, ' in <t>');

test('rollup -c bundles the layered sources with the layered config exactly like the flattened copy', async () => {
  const s = new ToolScratch('rollup', { upper, lower: [['lower', lower]] });
  try {
    s.setup();
    const args = [ROLLUP, '-c', path.join(s.app, 'rollup.config.mjs')];
    const b = await s.baseline({ args });
    expect(b.code).toBe(0);
    expect(s.changedByBaseline()).toEqual(['dist/lib.cjs', 'dist/lib.cjs.map', 'dist/lib.mjs']);
    const esm = s.baselineTree()['dist/lib.mjs'];
    expect(esm.startsWith('/* lib 2.0.0 */')).toBe(true);
    expect(esm).toContain('toFixed(2)');
    expect(esm).not.toContain('tree-shaken');
    expect(b.stderr).toContain('created app/dist/lib.mjs, app/dist/lib.cjs');

    const o = await s.overlay({ args, esm: true });
    expectSameOutcome(s, { ...b, stderr: untimed(b.stderr) }, { ...o, stderr: untimed(o.stderr) });

    const run = await s.overlay({ args: ['-e', `console.log(require(${JSON.stringify(path.join(s.app, 'dist/lib.cjs'))}).render(4))`] });
    expect(run).toEqual({ code: 0, signal: null, stdout: '#4.00 v2.0.0\n', stderr: '' });
  } finally {
    s.dispose();
  }
});
