'use strict';
/** Calls patch() with no argument under a given environment and working directory; reports the outcome. */
const { DIST } = require('./common');

const { env, cwd } = JSON.parse(process.argv[2]);
for (const k of ['OVERLAY_FS_CONFIG', 'OVERLAY_FS_OPTIONS', 'OVERLAY_FS_MOUNTPOINT']) delete process.env[k];
Object.assign(process.env, env);
process.chdir(cwd);
const lib = require(DIST);
let out;
try {
  const unpatch = lib.patch();
  out = { ok: true, patched: lib.isPatched() };
  unpatch();
} catch (e) {
  out = { ok: false, name: e && e.name, code: e && e.code, message: e && e.message, field: e && e.field, source: e && e.source, patched: lib.isPatched(), overlayError: e instanceof lib.OverlayError };
}
process.stdout.write(JSON.stringify(out) + '\n');
