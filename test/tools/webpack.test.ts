/**
 * webpack 5 through webpack-cli bundles an app whose sources, a package in node_modules and a
 * base config come from the lower layer, and whose webpack.config.js override (requiring the
 * base config) and one source file come from the upper. The preload runs before webpack
 * loads its graceful-fs, so webpack's input and output file systems see the merged view
 * (node-patching.md §2.6). webpack-cli loads the config with import(), so the ESM hooks are
 * loaded too.
 */
import * as path from 'path';
import { NODE_MODULES, ToolScratch, expectSameOutcome } from './harness';

const CLI = path.join(NODE_MODULES, 'webpack-cli', 'bin', 'cli.js');

const lower = {
  'package.json': '{ "name": "layered-app", "private": true }\n',
  'webpack.common.js': [
    "const path = require('path');",
    'module.exports = {',
    "  mode: 'production',",
    "  target: 'node',",
    '  context: __dirname,',
    "  entry: './src/index.js',",
    "  output: { path: path.join(__dirname, 'dist'), filename: 'main.js' },",
    '  optimization: { minimize: false },',
    '  devtool: false,',
    '};',
    '',
  ].join('\n'),
  // Shadowed by the upper's config.
  'webpack.config.js': "module.exports = require('./webpack.common.js');\n",
  'src/index.js': [
    "import { combine } from './math';",
    "import message from './message.json';",
    "import greet from 'greet';",
    "import './styles.txt';",
    'console.log(greet(message.text), combine(6, 7));',
    '',
  ].join('\n'),
  'src/math.js': 'export const combine = (a, b) => a + b;\n',
  'src/message.json': '{ "text": "layers" }\n',
  'src/styles.txt': 'asset from the lower layer\n',
  'node_modules/greet/package.json': '{ "name": "greet", "version": "1.0.0", "exports": { ".": { "import": "./esm.js", "default": "./cjs.js" } } }\n',
  'node_modules/greet/esm.js': 'export default (who) => `hello, ${who}`;\n',
  'node_modules/greet/cjs.js': 'module.exports = (who) => `cjs hello, ${who}`;\n',
};
const upper = {
  'webpack.config.js': [
    "const common = require('./webpack.common.js');",
    'module.exports = {',
    '  ...common,',
    "  output: { ...common.output, publicPath: '', filename: 'bundle.[contenthash:8].js', assetModuleFilename: '[name].[contenthash:8][ext]' },",
    "  module: { rules: [{ test: /\\.txt$/, type: 'asset/resource' }] },",
    '};',
    '',
  ].join('\n'),
  'src/math.js': 'export const combine = (a, b) => a * b;\n',
};

/** webpack-cli reports the build time; everything else in its output must be identical. */
const untimed = (s: string) => s.replace(/ in \d+ ms/g, ' in <t> ms');

test('webpack-cli bundles the layered app exactly like the flattened copy, writing dist/ into the upper', async () => {
  const s = new ToolScratch('webpack', { upper, lower: [['lower', lower]] });
  try {
    s.setup();
    const args = [CLI, 'build', '--config', path.join(s.app, 'webpack.config.js'), '--no-color'];
    const b = await s.baseline({ args, esm: true });
    expect(b.stderr).toBe('');
    expect(b.code).toBe(0);
    const out = s.changedByBaseline();
    expect(out).toHaveLength(2);
    const bundle = out.find((f) => /^dist\/bundle\.[0-9a-f]{8}\.js$/.test(f));
    expect(bundle).toBeDefined();
    expect(out.find((f) => /^dist\/styles\.[0-9a-f]{8}\.txt$/.test(f))).toBeDefined();
    const code = s.baselineTree()[bundle!];
    expect(code).toContain('a * b');
    expect(code).toContain('hello, ${who}');

    const o = await s.overlay({ args, esm: true });
    expectSameOutcome(s, { ...b, stdout: untimed(b.stdout) }, { ...o, stdout: untimed(o.stdout) });

    // The bundle runs the same on both.
    const runs = await s.overlay({ args: [path.join(s.app, bundle!)] });
    expect(runs).toEqual({ code: 0, signal: null, stdout: 'hello, layers 42\n', stderr: '' });
  } finally {
    s.dispose();
  }
});
