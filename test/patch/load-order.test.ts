/**
 * Load order and isolation (node-patching.md §4 items 17 and 18). Libraries that clone fs
 * (graceful-fs, and fs-extra through it) see the overlay when loaded after the patch; loaded
 * before, they cannot, and patch() warns once, naming them. overlay-fs's own real I/O uses a
 * private snapshot, so loading overlay-fs never hands the shared graceful-fs an unpatched fs.
 */
import { useScratch, json, PATCH_PRELUDE } from './scratch';

const scratch = useScratch();
const GRACEFUL = JSON.stringify(require.resolve('graceful-fs'));
const FSEXTRA = JSON.stringify(require.resolve('fs-extra'));

const PROBE = `
  const probe = (gfs, fse) => ({
    gracefulUtf8: (() => { try { return gfs.readFileSync(M + '/a.json', 'utf8'); } catch (e) { return e.code; } })(),
    gracefulStat: (() => { try { return gfs.statSync(M + '/a.json').isFile(); } catch (e) { return e.code; } })(),
    pathExists: fse.pathExistsSync(M + '/a.json'),
    readJson: (() => { try { return fse.readJsonSync(M + '/a.json').v; } catch (e) { return e.code; } })(),
  });
`;

test('#17 #18 graceful-fs and fs-extra loaded after the patch see the overlay, and nothing is warned', () => {
  const s = scratch({ 'lower/a.json': '{"v":1}' });
  const r = s.script(`
    ${PATCH_PRELUDE}
    ${PROBE}
    // overlay-fs itself did not leave the shared graceful-fs loaded (its copy is private):
    const gracefulLoadedByOverlay = Boolean(require.cache[${GRACEFUL}]);
    out({ gracefulLoadedByOverlay, ...probe(require(${GRACEFUL}), require(${FSEXTRA})) });
  `);
  expect(json(r)).toEqual({ gracefulLoadedByOverlay: false, gracefulUtf8: '{"v":1}', gracefulStat: true, pathExists: true, readJson: 1 });
  expect(r.stderr).toBe('');
});

test('#17 loaded before the patch: patch() warns once, naming graceful-fs and fs-extra', () => {
  const s = scratch({ 'lower/a.json': '{"v":1}' });
  const r = s.script(`
    const gfs = require(${GRACEFUL});
    const fse = require(${FSEXTRA});
    const warnings = [];
    process.on('warning', (w) => warnings.push([w.code, w.message]));
    ${PATCH_PRELUDE}
    overlay.patch({ mountpoint: M + '/second', lower: path.join(__dirname, 'lower') });
    ${PROBE}
    setImmediate(() => out({ warnings, blind: probe(gfs, fse) }));
  `);
  const out = json(r);
  expect(out.warnings).toHaveLength(1);
  expect(out.warnings[0][0]).toBe('OVERLAY_FS_EARLY_CLONE');
  expect(out.warnings[0][1]).toMatch(/graceful-fs and fs-extra (was|were) loaded before overlay-fs patched fs/);
  // The documented consequence: their clone of fs cannot see the mount (readJsonSync reads
  // without an encoding and so happens to pass through the patched openSync).
  expect(out.blind).toEqual({ gracefulUtf8: 'ENOENT', gracefulStat: 'ENOENT', pathExists: false, readJson: 1 });
});

test('#17 with the preload, the program\'s own graceful-fs / fs-extra are loaded after the patch', () => {
  const s = scratch({ 'lower/a.json': '{"v":1}' });
  s.config();
  const r = s.script(`
    const M = require('path').join(__dirname, 'm');
    ${PROBE}
    console.log(JSON.stringify(probe(require(${GRACEFUL}), require(${FSEXTRA}))));
  `, { preArgs: ['-r', 'overlay-fs/register'] });
  expect(json(r)).toEqual({ gracefulUtf8: '{"v":1}', gracefulStat: true, pathExists: true, readJson: 1 });
});
