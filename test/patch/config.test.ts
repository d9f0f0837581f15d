/**
 * Configuration discovery for patch() with no argument and the preload entries: where it is
 * looked for and in which order, how relative paths resolve, the kernel-style option string,
 * several overlays, and the errors for missing or invalid configuration. loadConfig only
 * reads, so these run in the jest worker; installing from a configuration is tested in child
 * processes at the end.
 */
import * as fs from 'fs';
import * as path from 'path';
import { loadConfig } from '../../lib/config';
import { useScratch, json, type Scratch } from './scratch';

const scratch = useScratch();

function expectConfigError(fn: () => unknown, code: string, source: string | RegExp, field?: string): void {
  let err: any;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeDefined();
  expect(err.name).toBe('OverlayError');
  expect(err.code).toBe(code);
  if (typeof source === 'string') {
    expect(err.source).toBe(source);
    expect(err.message).toContain(source);
  } else expect(err.message).toMatch(source);
  if (field !== undefined) {
    expect(err.field).toBe(field);
    expect(err.message).toContain(field);
  }
}

const std = (s: Scratch, base = s.dir) => ({ mountpoint: path.join(base, 'm'), upper: path.join(base, 'upper'), lower: [path.join(base, 'lower')] });

describe('OVERLAY_FS_CONFIG', () => {
  test('a JSON string: relative paths resolve against the current directory', () => {
    const s = scratch();
    const c = loadConfig({ cwd: s.dir, env: { OVERLAY_FS_CONFIG: '{"mountpoint":"m","upper":"upper","lower":"lower"}' } });
    expect(c.source).toBe('OVERLAY_FS_CONFIG (JSON)');
    expect(c.overlays.map((o) => o.options)).toEqual([std(s)]);
  });

  test('a file path: relative paths inside resolve against the file, not the current directory', () => {
    const s = scratch({ 'conf/my.json': '{"mountpoint":"../m","upper":"../upper","lower":["../lower"]}' });
    const c = loadConfig({ cwd: s.p('lower'), env: { OVERLAY_FS_CONFIG: '../conf/my.json' } });
    expect(c.source).toBe(s.p('conf/my.json'));
    expect(c.overlays.map((o) => o.options)).toEqual([std(s)]);
  });

  test('a package.json path means its "overlay-fs" key', () => {
    const s = scratch({ 'package.json': JSON.stringify({ name: 'x', 'overlay-fs': { mountpoint: 'm', lower: 'lower' } }) });
    const c = loadConfig({ cwd: '/', env: { OVERLAY_FS_CONFIG: s.p('package.json') } });
    expect(c.overlays[0].options).toEqual({ mountpoint: s.p('m'), lower: [s.p('lower')] });
  });

  test('wins over a config file in the current directory', () => {
    const s = scratch();
    s.config();
    const c = loadConfig({ cwd: s.dir, env: { OVERLAY_FS_CONFIG: '{"mountpoint":"elsewhere","lower":"lower"}' } });
    expect(c.overlays[0].options.mountpoint).toBe(s.p('elsewhere'));
  });

  test('a missing file, bad JSON, or both env forms at once are ERR_OVERLAY_INVALID_CONFIG', () => {
    const s = scratch({ 'bad.json': '{ "mountpoint": ' });
    expectConfigError(() => loadConfig({ cwd: s.dir, env: { OVERLAY_FS_CONFIG: 'nope.json' } }), 'ERR_OVERLAY_INVALID_CONFIG', `OVERLAY_FS_CONFIG=${s.p('nope.json')}`);
    expectConfigError(() => loadConfig({ cwd: s.dir, env: { OVERLAY_FS_CONFIG: 'bad.json' } }), 'ERR_OVERLAY_INVALID_CONFIG', /bad\.json: is not valid JSON/);
    expectConfigError(() => loadConfig({ cwd: s.dir, env: { OVERLAY_FS_CONFIG: '{oops' } }), 'ERR_OVERLAY_INVALID_CONFIG', 'OVERLAY_FS_CONFIG (JSON)');
    expectConfigError(
      () => loadConfig({ cwd: s.dir, env: { OVERLAY_FS_CONFIG: '{}', OVERLAY_FS_OPTIONS: 'lowerdir=lower', OVERLAY_FS_MOUNTPOINT: 'm' } }),
      'ERR_OVERLAY_INVALID_CONFIG', /OVERLAY_FS_CONFIG.*set together with OVERLAY_FS_OPTIONS/,
    );
  });
});

describe('OVERLAY_FS_OPTIONS + OVERLAY_FS_MOUNTPOINT (kernel-style)', () => {
  test('lowerdir (highest first), upperdir, workdir; relative to the current directory', () => {
    const s = scratch();
    const c = loadConfig({ cwd: s.dir, env: { OVERLAY_FS_OPTIONS: 'lowerdir=theme:base,upperdir=site.local,workdir=.work', OVERLAY_FS_MOUNTPOINT: 'site' } });
    expect(c.overlays[0].options).toEqual({ mountpoint: s.p('site'), lower: [s.p('theme'), s.p('base')], upper: s.p('site.local'), workdir: s.p('.work') });
  });

  test('one without the other names the missing variable', () => {
    expectConfigError(() => loadConfig({ cwd: '/', env: { OVERLAY_FS_OPTIONS: 'lowerdir=a' } }), 'ERR_OVERLAY_INVALID_CONFIG', 'the environment', 'OVERLAY_FS_MOUNTPOINT');
    expectConfigError(() => loadConfig({ cwd: '/', env: { OVERLAY_FS_MOUNTPOINT: 'm' } }), 'ERR_OVERLAY_INVALID_CONFIG', 'the environment', 'OVERLAY_FS_OPTIONS');
  });

  test('a feature overlay-fs does not emulate is refused by name', () => {
    expectConfigError(() => loadConfig({ cwd: '/', env: { OVERLAY_FS_OPTIONS: 'lowerdir=a,metacopy=on', OVERLAY_FS_MOUNTPOINT: 'm' } }), 'ERR_OVERLAY_INVALID_CONFIG', /OVERLAY_FS_OPTIONS \(options\).*metacopy=on/);
  });
});

describe('discovery from the current directory upward', () => {
  test('overlay-fs.config.json in an ancestor; paths relative to that file', () => {
    const s = scratch({ 'a/b/c/.keep': '' });
    s.config();
    const c = loadConfig({ cwd: s.p('a/b/c'), env: {} });
    expect(c.source).toBe(s.p('overlay-fs.config.json'));
    expect(c.overlays.map((o) => o.options)).toEqual([std(s)]);
  });

  test('the "overlay-fs" key of package.json; a package.json without it is passed over', () => {
    const s = scratch({
      'package.json': JSON.stringify({ name: 'root', 'overlay-fs': { mountpoint: 'm', lower: ['lower'] } }),
      'pkg/package.json': JSON.stringify({ name: 'inner' }),
    });
    const c = loadConfig({ cwd: s.p('pkg'), env: {} });
    expect(c.source).toBe(s.p('package.json'));
    expect(c.overlays[0].field).toBe('"overlay-fs"');
    expect(c.overlays[0].options).toEqual({ mountpoint: s.p('m'), lower: [s.p('lower')] });
  });

  test('the nearest directory wins; within one directory the config file beats package.json', () => {
    const s = scratch({
      'package.json': JSON.stringify({ 'overlay-fs': { mountpoint: 'from-root-pkg', lower: 'lower' } }),
      'overlay-fs.config.json': JSON.stringify({ mountpoint: 'from-root-file', lower: 'lower' }),
      'sub/package.json': JSON.stringify({ 'overlay-fs': { mountpoint: 'from-sub-pkg', lower: '../lower' } }),
    });
    expect(loadConfig({ cwd: s.p('sub'), env: {} }).overlays[0].options.mountpoint).toBe(s.p('sub/from-sub-pkg'));
    expect(loadConfig({ cwd: s.dir, env: {} }).overlays[0].options.mountpoint).toBe(s.p('from-root-file'));
  });

  test('nothing anywhere is ERR_OVERLAY_NO_CONFIG, naming where it looked', () => {
    const s = scratch();
    let err: any;
    try {
      loadConfig({ cwd: s.dir, env: {} });
    } catch (e) {
      err = e;
    }
    // Only meaningful if no directory above os.tmpdir() has a configuration of its own.
    if (err === undefined) return;
    expect(err.code).toBe('ERR_OVERLAY_NO_CONFIG');
    expect(err.message).toContain(s.dir);
    expect(err.message).toMatch(/OVERLAY_FS_CONFIG.*overlay-fs\.config\.json.*package\.json/);
  });
});

describe('the configuration format', () => {
  test('several overlays as an array, one of them kernel-style', () => {
    const s = scratch({
      'overlay-fs.config.json': JSON.stringify([
        { mountpoint: 'site', upper: 'site.local', lower: ['theme', 'base'] },
        { mountpoint: 'site/assets', options: 'lowerdir=assets-b\\:x:assets-a' },
      ]),
    });
    const c = loadConfig({ cwd: s.dir, env: {} });
    expect(c.overlays.map((o) => [o.field, o.options])).toEqual([
      ['[0]', { mountpoint: s.p('site'), upper: s.p('site.local'), lower: [s.p('theme'), s.p('base')] }],
      ['[1]', { mountpoint: s.p('site/assets'), lower: [s.p('assets-b:x'), s.p('assets-a')] }],
    ]);
  });

  test.each([
    ['an unknown field (a typo)', { mountpoint: 'm', lowers: ['x'] }, 'lowers', /unknown field/],
    ['no mountpoint', { lower: 'x' }, 'mountpoint', /is missing/],
    ['no layers', { mountpoint: 'm' }, 'lower', /is missing/],
    ['a non-string path', { mountpoint: 'm', lower: ['x', 3] }, 'lower[1]', /non-empty path string, got number 3/],
    ['an empty lower list', { mountpoint: 'm', lower: [] }, 'lower', /at least one/],
    ['options mixed with layers', { mountpoint: 'm', options: 'lowerdir=a', upper: 'u' }, 'upper', /cannot be combined with "options"/],
    ['an option string without lowerdir', { mountpoint: 'm', options: 'upperdir=u' }, 'options', /no lowerdir/],
    ['not an object', 'm', '(top level)', /must be an object/],
    ['an empty list', [], '', /empty/],
    ['two overlays on one mountpoint', [{ mountpoint: 'm', lower: 'a' }, { mountpoint: './m', lower: 'b' }], '[1].mountpoint', /also the mountpoint of \[0\]/],
  ])('%s: ERR_OVERLAY_INVALID_CONFIG naming the file and the field', (_what, value, field, message) => {
    const s = scratch({ 'overlay-fs.config.json': JSON.stringify(value) });
    const file = s.p('overlay-fs.config.json');
    expectConfigError(() => loadConfig({ cwd: s.dir, env: {} }), 'ERR_OVERLAY_INVALID_CONFIG', file, field);
    try {
      loadConfig({ cwd: s.dir, env: {} });
    } catch (err) {
      expect((err as Error).message).toMatch(message);
    }
  });

  test('a package.json key is named with its key in the field', () => {
    const s = scratch({ 'package.json': JSON.stringify({ 'overlay-fs': [{ mountpoint: 'm', lower: 'a' }, { mountpoint: 'n', lowre: 'b' }] }) });
    expectConfigError(() => loadConfig({ cwd: s.dir, env: {} }), 'ERR_OVERLAY_INVALID_CONFIG', s.p('package.json'), '"overlay-fs"[1].lowre');
  });

  test('a package.json that is not valid JSON on the way up is reported, not skipped', () => {
    const s = scratch({ 'package.json': '{ nope' });
    expectConfigError(() => loadConfig({ cwd: s.dir, env: {} }), 'ERR_OVERLAY_INVALID_CONFIG', /package\.json: is not valid JSON/);
  });
});

describe('patch() with no argument (child processes)', () => {
  test('installs every configured overlay and its unpatch removes them all', () => {
    const s = scratch({ 'lower/a.txt': 'A', 'l2/b.txt': 'B' });
    s.write({ 'overlay-fs.config.json': JSON.stringify([{ mountpoint: 'm', upper: 'upper', lower: 'lower' }, { mountpoint: 'n', lower: ['l2'] }]) });
    const r = json(s.script(`
      const fs = require('fs');
      const overlay = require('overlay-fs');
      const unpatch = overlay.patch();
      const seen = [fs.readFileSync('m/a.txt', 'utf8'), fs.readFileSync('n/b.txt', 'utf8')];
      unpatch();
      console.log(JSON.stringify({ seen, after: overlay.isPatched(), gone: !fs.existsSync('m/a.txt') }));
    `));
    expect(r).toEqual({ seen: ['A', 'B'], after: false, gone: true });
  });

  test('a missing layer in the second overlay: nothing is installed and nothing on disk is touched', () => {
    const s = scratch({ 'lower/a.txt': 'A' });
    s.write({ 'overlay-fs.config.json': JSON.stringify([{ mountpoint: 'm', upper: 'upper', lower: 'lower', workdir: 'work' }, { mountpoint: 'n', lower: ['missing'] }]) });
    // A stale copy-up temporary of a dead process: createStack would clean it up.
    s.write({ 'work/999999999-stale': 'x' });
    const r = json(s.script(`
      const overlay = require('overlay-fs');
      try { overlay.patch(); console.log(JSON.stringify({ threw: false })); }
      catch (err) { console.log(JSON.stringify({ code: err.code, message: err.message, source: err.source, field: err.field, patched: overlay.isPatched() })); }
    `));
    expect(r.code).toBe('ERR_OVERLAY_LAYER_MISSING');
    expect(r.source).toBe(s.p('overlay-fs.config.json'));
    expect(r.field).toBe('[1]');
    expect(r.message).toContain(s.p('missing'));
    expect(r.message).toContain(`configured in ${s.p('overlay-fs.config.json')} ([1])`);
    expect(r.patched).toBe(false);
    expect(s.exists('work/999999999-stale')).toBe(true);
  });

  test('no configuration: patch() throws ERR_OVERLAY_NO_CONFIG (never a silent no-op)', () => {
    const s = scratch();
    const r = json(s.script(`
      const overlay = require('overlay-fs');
      try { overlay.patch(); console.log(JSON.stringify({ threw: false })); }
      catch (err) { console.log(JSON.stringify({ code: err.code, patched: overlay.isPatched() })); }
    `));
    // Skip quietly if some directory above the scratch tree is configured.
    if (r.threw === false) return;
    expect(r).toEqual({ code: 'ERR_OVERLAY_NO_CONFIG', patched: false });
  });

  test('the same configuration twice (preload, then an explicit call) is counted, not wrapped twice', () => {
    const s = scratch({ 'lower/a.txt': 'A' });
    s.config();
    const r = json(s.script(`
      const fs = require('fs');
      const overlay = require('overlay-fs');
      const first = fs.readFileSync;
      const un = overlay.patch();
      const same = fs.readFileSync === first;
      un();
      console.log(JSON.stringify({ same, stillPatched: overlay.isPatched(), reads: fs.readFileSync('m/a.txt', 'utf8') }));
    `, { preArgs: ['-r', 'overlay-fs/register'] }));
    expect(r).toEqual({ same: true, stillPatched: true, reads: 'A' });
    expect(fs.existsSync(s.p('m'))).toBe(false);
  });
});
