/**
 * Malformed options and configuration: overlapping layers, missing directories, files where
 * directories belong, wrong types, unknown fields, broken JSON. Each gives exactly one
 * OverlayError with a stable `ERR_OVERLAY_*` code and a message naming the option (or the
 * configuration field), before anything touches the disk: the scratch tree, times included,
 * is unchanged, and no patch is installed. Random option objects (fast-check) either make an
 * overlay or fail that way, never with another error.
 */
import * as fs from 'fs';
import * as path from 'path';
import { pathToFileURL } from 'url';
import fc from 'fast-check';
import { createOverlay, OverlayError } from '../../lib/index';
import { SEED, IS_ROOT, scale, common, record, scratch, cleanupAll, runWorker, report, mountTmpfs, skip } from './support';

let root: string;
beforeAll(() => {
  root = scratch('options');
  for (const d of ['l1', 'l2', 'l1/nested', 'u', 'u/inner', 'w', 'cfg']) fs.mkdirSync(path.join(root, d), { recursive: true });
  fs.writeFileSync(path.join(root, 'file.txt'), 'not a directory');
  fs.symlinkSync(path.join(root, 'l1'), path.join(root, 'l1-alias'));
});
afterAll(cleanupAll);

const P = (x: string) => path.join(root, x);
/** Everything under the scratch root, with times: any write, mkdir or touch shows. */
const snapshot = () => common.checksumDirs([root]);

function expectRefused(options: unknown, code: string, names: string): void {
  const before = snapshot();
  let err: unknown;
  try {
    createOverlay(options as never);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(OverlayError);
  expect({ code: (err as OverlayError).code, mentions: (err as Error).message.includes(names) }).toEqual({ code, mentions: true });
  expect(common.diffKeys(snapshot(), before)).toEqual([]);
}

test('createOverlay: one clear ERR_OVERLAY_* error per malformed option, before anything touches the disk', () => {
  const cases: Array<[string, unknown, string, string]> = [
    ['not an object', null, 'ERR_OVERLAY_INVALID_OPTIONS', 'options'],
    ['a string', 'lower=/x', 'ERR_OVERLAY_INVALID_OPTIONS', 'options'],
    ['a typo', { mountpoint: P('m'), lower: [P('l1')], uper: P('u') }, 'ERR_OVERLAY_UNKNOWN_OPTION', '"uper"'],
    ['no mountpoint', { lower: [P('l1')] }, 'ERR_OVERLAY_MISSING_OPTION', 'mountpoint'],
    ['no lower', { mountpoint: P('m') }, 'ERR_OVERLAY_MISSING_OPTION', 'lower'],
    ['empty lower', { mountpoint: P('m'), lower: [] }, 'ERR_OVERLAY_MISSING_OPTION', 'lower'],
    ['mountpoint a number', { mountpoint: 42, lower: [P('l1')] }, 'ERR_OVERLAY_INVALID_PATH', 'mountpoint'],
    ['lower an object', { mountpoint: P('m'), lower: [{ path: P('l1') }] }, 'ERR_OVERLAY_INVALID_PATH', 'lower[0]'],
    ['upper a boolean', { mountpoint: P('m'), lower: [P('l1')], upper: true }, 'ERR_OVERLAY_INVALID_PATH', 'upper'],
    ['workdir an array', { mountpoint: P('m'), lower: [P('l1')], upper: P('u'), workdir: [P('w')] }, 'ERR_OVERLAY_INVALID_PATH', 'workdir'],
    ['lower with a NUL byte', { mountpoint: P('m'), lower: [P('l1') + '\0x'] }, 'ERR_OVERLAY_INVALID_PATH', 'lower[0]'],
    ['lower an http URL', { mountpoint: P('m'), lower: [new URL('http://example.invalid/l1')] }, 'ERR_OVERLAY_INVALID_PATH', 'lower[0]'],
    ['missing lower', { mountpoint: P('m'), lower: [P('l1'), P('nope')] }, 'ERR_OVERLAY_LAYER_MISSING', P('nope')],
    ['missing upper', { mountpoint: P('m'), lower: [P('l1')], upper: P('nope') }, 'ERR_OVERLAY_LAYER_MISSING', 'upper'],
    ['lower is a file', { mountpoint: P('m'), lower: [P('file.txt')] }, 'ERR_OVERLAY_LAYER_NOT_DIRECTORY', P('file.txt')],
    ['upper is a lower', { mountpoint: P('m'), lower: [P('l1')], upper: P('l1') }, 'ERR_OVERLAY_DUPLICATE_LAYER', 'upper'],
    ['the same lower twice, once through a symlink', { mountpoint: P('m'), lower: [P('l1'), P('l1-alias')] }, 'ERR_OVERLAY_DUPLICATE_LAYER', 'lower[1]'],
    ['upper inside a lower', { mountpoint: P('m'), lower: [P('l1')], upper: P('l1/nested') }, 'ERR_OVERLAY_LAYER_OVERLAP', 'upper'],
    ['a lower inside the upper', { mountpoint: P('m'), lower: [P('u/inner')], upper: P('u') }, 'ERR_OVERLAY_LAYER_OVERLAP', 'lower[0]'],
    ['workdir inside the upper', { mountpoint: P('m'), lower: [P('l1')], upper: P('u'), workdir: P('u/work') }, 'ERR_OVERLAY_WORKDIR_OVERLAP', 'workdir'],
    ['workdir inside a lower', { mountpoint: P('m'), lower: [P('l1')], upper: P('u'), workdir: P('l1/work') }, 'ERR_OVERLAY_WORKDIR_OVERLAP', 'workdir'],
    ['workdir is the upper', { mountpoint: P('m'), lower: [P('l1')], upper: P('u'), workdir: P('u') }, 'ERR_OVERLAY_WORKDIR_OVERLAP', 'workdir'],
    ['a lower inside the workdir', { mountpoint: P('m'), lower: [P('w')], upper: P('u'), workdir: root }, 'ERR_OVERLAY_WORKDIR_OVERLAP', 'workdir'],
    ['workdir without an upper', { mountpoint: P('m'), lower: [P('l1')], workdir: P('w') }, 'ERR_OVERLAY_INVALID_OPTIONS', 'workdir'],
  ];
  for (const [label, options, code, names] of cases) {
    try {
      expectRefused(options, code, names);
    } catch (e) {
      throw new Error(`${label}: ${(e as Error).message}`);
    }
  }
  record({ optionCases: cases.length });
});

test('a work directory on another file system than the upper: ERR_OVERLAY_WORKDIR_XDEV, nothing touched', () => {
  const t = P('tmpfs');
  const refused = mountTmpfs(t, '1m');
  if (refused) return skip(`workdir XDEV case: ${refused}`);
  expectRefused({ mountpoint: P('m'), lower: [P('l1')], upper: P('u'), workdir: path.join(t, 'work') }, 'ERR_OVERLAY_WORKDIR_XDEV', 'workdir');
  record({ optionCases: 1 });
});

test(`random option objects either make an overlay or throw one ERR_OVERLAY_* error, and never touch the disk (seed ${SEED})`, () => {
  const pathish = fc.constantFrom<unknown>(P('l1'), P('l2'), P('u'), P('w'), P('m'), P('nope'), P('file.txt'), P('l1/nested'), P('l1-alias'), root, '', 'relative/dir', '\0', 0, -1, null, undefined, true, {}, [], [P('l1')],
    Buffer.from(P('l2')), pathToFileURL(P('l1')), new URL('file://host/x'), Symbol.for('x'), () => P('l1'), Buffer.from([0xff]), 'l'.repeat(5000));
  const options = fc.record({
    mountpoint: pathish,
    lower: fc.oneof(pathish, fc.array(pathish, { maxLength: 3 })),
    upper: pathish,
    workdir: pathish,
    extra: fc.constantFrom(undefined, undefined, 1),
  }, { requiredKeys: [] }).map((o) => {
    const out: Record<string, unknown> = { ...o };
    if (out.extra === undefined) delete out.extra;
    return out;
  });
  let made = 0;
  let refused = 0;
  const before = snapshot();
  fc.assert(fc.property(options, (o) => {
    try {
      createOverlay(o as never);
      made++;
    } catch (e) {
      refused++;
      if (!(e instanceof OverlayError) || !/^ERR_OVERLAY_[A-Z_]+$/.test(e.code)) throw new Error(`not an OverlayError: ${String(e)} for ${JSON.stringify(o)}`);
    }
    const changed = common.diffKeys(snapshot(), before);
    if (changed.length) throw new Error(`touched the disk: ${changed.slice(0, 3).join(', ')} for ${JSON.stringify(o)}`);
  }), { seed: SEED, numRuns: scale(300, 5000) });
  record({ optionCases: made + refused });
  expect(refused).toBeGreaterThan(0);
});

interface ConfigOutcome { ok: boolean; code?: string; message?: string; field?: string; source?: string; patched: boolean; overlayError?: boolean }

test('patch() with a malformed configuration: one ERR_OVERLAY_* error naming the source and field, nothing installed, nothing touched', async () => {
  const cfg = P('cfg');
  fs.writeFileSync(path.join(cfg, 'types.json'), JSON.stringify({ mountpoint: 'm', lower: [42] }));
  fs.writeFileSync(path.join(cfg, 'broken.json'), '{"mountpoint": "m", "lower": [');
  const cases: Array<[string, Record<string, string>, string, string | null]> = [
    ['mountpoint of the wrong type', { OVERLAY_FS_CONFIG: '{"mountpoint": 5, "lower": ["l1"]}' }, 'ERR_OVERLAY_INVALID_CONFIG', 'mountpoint'],
    ['lower of the wrong type (file)', { OVERLAY_FS_CONFIG: path.join(cfg, 'types.json') }, 'ERR_OVERLAY_INVALID_CONFIG', 'lower'],
    ['broken JSON (file)', { OVERLAY_FS_CONFIG: path.join(cfg, 'broken.json') }, 'ERR_OVERLAY_INVALID_CONFIG', null],
    ['broken JSON (variable)', { OVERLAY_FS_CONFIG: '{"mountpoint": ' }, 'ERR_OVERLAY_INVALID_CONFIG', null],
    ['an unknown field', { OVERLAY_FS_CONFIG: JSON.stringify({ mountpoint: 'm', lower: [P('l1')], uper: P('u') }) }, 'ERR_OVERLAY_INVALID_CONFIG', 'uper'],
    ['an empty list', { OVERLAY_FS_CONFIG: '[]' }, 'ERR_OVERLAY_INVALID_CONFIG', null],
    ['a missing layer', { OVERLAY_FS_CONFIG: JSON.stringify({ mountpoint: P('m'), lower: [P('nope')] }) }, 'ERR_OVERLAY_LAYER_MISSING', null],
    ['overlapping layers', { OVERLAY_FS_CONFIG: JSON.stringify({ mountpoint: P('m'), lower: [P('l1')], upper: P('l1/nested') }) }, 'ERR_OVERLAY_LAYER_OVERLAP', null],
    ['the upper twice', { OVERLAY_FS_CONFIG: JSON.stringify({ mountpoint: P('m'), lower: [P('u')], upper: P('u') }) }, 'ERR_OVERLAY_DUPLICATE_LAYER', null],
    ['no configuration anywhere', {}, 'ERR_OVERLAY_NO_CONFIG', null],
  ];
  const failures: string[] = [];
  for (const [label, env, code, field] of cases) {
    const before = snapshot();
    const out = report<ConfigOutcome>(await runWorker('config-worker.js', { env, cwd: cfg }));
    const changed = common.diffKeys(snapshot(), before);
    if (out.ok || out.code !== code) failures.push(`${label}: ${out.ok ? 'accepted' : `${out.code} (${out.message})`}, expected ${code}`);
    if (out.patched) failures.push(`${label}: a patch was left installed`);
    if (!out.ok && !out.overlayError) failures.push(`${label}: not an OverlayError`);
    if (field && !(out.field ?? '').includes(field) && !(out.message ?? '').includes(field)) failures.push(`${label}: the error does not name the field ${field}: ${out.message}`);
    if (changed.length) failures.push(`${label}: touched the disk: ${changed.slice(0, 3).join(', ')}`);
  }
  record({ optionCases: cases.length });
  expect(failures).toEqual([]);
});

if (!IS_ROOT) test.skip('workdir XDEV (needs root to mount a tmpfs)', () => undefined);
