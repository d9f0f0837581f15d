/**
 * esbuild: a native (Go) bundler, which no JS patch can serve. What the README promises for it,
 * checked with the real binary:
 * - the patch does not break it: with the overlay preloaded, a bundle of a plain directory
 *   outside every mountpoint is byte-identical to the one made without overlay-fs;
 * - it cannot see the merged view (the mountpoint does not exist on disk): it fails to resolve;
 * - the documented way around it works: an onResolve/onLoad plugin that reads through the
 *   patched fs bundles the merged view exactly like the flattened copy;
 * - `overlay-fs mount` (a real kernel overlay; skipped with a reason where mounting is refused)
 *   lets the native binary itself bundle the merged view, again exactly like the flattened copy.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { REPO, ToolScratch, expectSameOutcome, cleanEnv } from './harness';

const lower = {
  'src/main.js': "import { greet } from './greet.js';\nimport { name } from './name.js';\nconsole.log(greet(name));\n",
  'src/greet.js': "export const greet = (n) => 'hello ' + n;\n",
  'src/name.js': "export const name = 'lower';\n",
};
const upper = {
  'src/name.js': "export const name = 'upper override';\n",
};

/** A driver that bundles app/src/main.js with esbuild's JS API; `plugin` reads through fs. */
const BUILD = (plugin: boolean) => `
const fs = require('fs');
const path = require('path');
const esbuild = require('esbuild');
const app = path.join(__dirname, 'app');
const throughFs = {
  name: 'through-fs',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (a) => ({ path: a.kind === 'entry-point' ? a.path : path.resolve(a.resolveDir, a.path) }));
    b.onLoad({ filter: /.*/ }, (a) => ({ contents: fs.readFileSync(a.path, 'utf8'), loader: 'js', resolveDir: path.dirname(a.path) }));
  },
};
esbuild.build({
  entryPoints: [path.join(app, 'src/main.js')], bundle: true, write: false, format: 'esm',
  logLevel: 'silent', absWorkingDir: __dirname, ${plugin ? 'plugins: [throughFs],' : ''}
}).then((r) => {
  fs.writeFileSync(path.join(app, 'dist.js'), r.outputFiles[0].text);
  console.log(r.outputFiles[0].text.length > 0 ? 'bundled' : 'empty');
}, (e) => { console.error(e.errors.map((m) => m.text).join('\\n')); process.exitCode = 1; });
`;
const mountRefused = (() => {
  if (process.getuid?.() !== 0) return `not root (uid ${process.getuid?.()})`;
  return null;
})();

function scratch(label: string): ToolScratch {
  const s = new ToolScratch(label, { upper, lower: [['lower', lower]] }, ['esbuild']);
  s.setup();
  return s;
}

test('with the patch preloaded, esbuild bundles a plain directory outside the mountpoint exactly as without it', async () => {
  const s = scratch('esbuild-plain');
  try {
    // The plain app/ is outside the overlay as long as the configured mountpoint is elsewhere.
    const other = path.join(s.root, 'elsewhere');
    const drive = s.script('build.cjs', BUILD(false));
    const b = await s.baseline({ args: [drive] });
    expect({ code: b.code, stdout: b.stdout, stderr: b.stderr }).toEqual({ code: 0, stdout: 'bundled\n', stderr: '' });
    const bundle = fs.readFileSync(path.join(s.app, 'dist.js'), 'utf8');
    expect(bundle).toContain('upper override');
    fs.rmSync(path.join(s.app, 'dist.js'));
    const env = cleanEnv({ OVERLAY_FS_CONFIG: JSON.stringify({ ...s.config(), mountpoint: other }) });
    const o = spawnSync(process.execPath, ['-r', 'overlay-fs/register', drive], { cwd: s.root, env, encoding: 'utf8' });
    expect({ status: o.status, stdout: o.stdout, stderr: o.stderr }).toEqual({ status: 0, stdout: 'bundled\n', stderr: '' });
    expect(fs.readFileSync(path.join(s.app, 'dist.js'), 'utf8')).toBe(bundle);
  } finally {
    s.dispose();
  }
});

test('the native binary cannot see the merged view; a plugin reading through the patched fs bundles it like the flattened copy', async () => {
  const s = scratch('esbuild-plugin');
  try {
    const native = s.script('native.cjs', BUILD(false));
    const viaFs = s.script('plugin.cjs', BUILD(true));
    const b = await s.baseline({ args: [viaFs] });
    expect({ code: b.code, stdout: b.stdout, stderr: b.stderr }).toEqual({ code: 0, stdout: 'bundled\n', stderr: '' });
    expect(s.baselineTree()['dist.js']).toContain('upper override');

    const blind = await s.overlay({ args: [native] });
    expect(blind.code).not.toBe(0);
    expect(blind.stderr).toMatch(/Could not resolve/);

    const o = await s.overlay({ args: [viaFs] });
    expectSameOutcome(s, b, o);
  } finally {
    s.dispose();
  }
});

(mountRefused ? test.skip : test)('`overlay-fs mount` lets the native binary bundle the merged view like the flattened copy', async () => {
  const s = scratch('esbuild-mount');
  const cli = path.join(REPO, 'dist', 'cjs', 'cli', 'main.js');
  const layers = ['--upper', s.upper, '--lower', s.lowers[0]];
  try {
    const drive = s.script('build.cjs', BUILD(false));
    const b = await s.baseline({ args: [drive] });
    expect({ code: b.code, stdout: b.stdout, stderr: b.stderr }).toEqual({ code: 0, stdout: 'bundled\n', stderr: '' });
    s.retireBaseline();
    fs.mkdirSync(s.app);
    const m = spawnSync(process.execPath, [cli, 'mount', s.app, ...layers], { encoding: 'utf8', env: cleanEnv() });
    if (m.status !== 0 && /refused|permission|not permitted/i.test(m.stderr)) {
      console.log(`test/tools/esbuild.test.ts: mount test skipped: ${m.stderr.trim()}`);
      return;
    }
    expect({ status: m.status, stderr: m.stderr }).toEqual({ status: 0, stderr: '' });
    let o;
    try {
      o = spawnSync(process.execPath, [drive], { cwd: s.root, env: cleanEnv(), encoding: 'utf8' });
    } finally {
      const u = spawnSync(process.execPath, [cli, 'umount', s.app], { encoding: 'utf8', env: cleanEnv() });
      expect({ status: u.status, stderr: u.stderr }).toEqual({ status: 0, stderr: '' });
    }
    expect({ status: o.status, stdout: o.stdout, stderr: o.stderr }).toEqual({ status: 0, stdout: b.stdout, stderr: b.stderr });
    fs.rmdirSync(s.app);
    expect(s.overlayTree()).toEqual(s.baselineTree());
    expect(s.lowersUnchanged()).toBe(true);
  } finally {
    if (fs.readFileSync('/proc/self/mounts', 'utf8').includes(` ${s.app} `)) spawnSync('umount', ['-l', s.app]);
    s.dispose();
  }
});
if (mountRefused) console.log(`test/tools/esbuild.test.ts: mount test skipped: ${mountRefused}`);
