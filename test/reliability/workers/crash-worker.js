'use strict';
/**
 * Child of the crash test: runs a sequence of operations through an overlay and reports on
 * stdout (a pipe: synchronous writes) `R` once ready, `B i` before and `E i` after operation
 * i (with `C i n`: the operation made n mutating fs calls), `D` at the end.
 *
 * Random kills: the parent sends SIGKILL at a random moment.
 * Systematic kills (`killAt: { op, call }`): the child sends itself SIGKILL just before the
 * call-th mutating fs call of operation op. The fs functions are wrapped before the overlay
 * is loaded, so its private snapshot of fs (lib/real-fs.ts) holds the wrappers.
 */
const fs = require('fs');
const { DIST } = require('./common');
const { runOp } = require('./crash-ops');

const { options, ops, killAt, count } = JSON.parse(process.argv[2]);

const MUTATING = ['mkdir', 'rename', 'unlink', 'rmdir', 'rm', 'writeFile', 'appendFile', 'copyFile', 'chmod', 'chown', 'lchown',
  'utimes', 'lutimes', 'symlink', 'link', 'truncate', 'open', 'write', 'writev', 'ftruncate', 'fchmod', 'futimes', 'fsync'];
let current = -1;
let calls = 0;
const readOnlyOpen = (flags) => flags === undefined || flags === 'r' || flags === 'rs' || flags === 0;
if (killAt || count) {
  for (const name of MUTATING) {
    for (const fn of [name, name + 'Sync']) {
      const orig = fs[fn];
      if (typeof orig !== 'function') continue;
      fs[fn] = function (...args) {
        if (current >= 0 && !(name === 'open' && readOnlyOpen(args[1]))) {
          calls++;
          if (killAt && current === killAt.op && calls === killAt.call) process.kill(process.pid, 'SIGKILL');
        }
        return orig.apply(this, args);
      };
    }
  }
}

const { createOverlay } = require(DIST);
const ov = createOverlay(options);
const out = (s) => process.stdout.write(s + '\n');

(async () => {
  out('R');
  for (let i = 0; i < ops.length; i++) {
    out('B ' + i);
    current = i;
    calls = 0;
    await runOp(ov.fs, options.mountpoint, ops[i], ops[i].form);
    current = -1;
    out(`C ${i} ${calls}`);
    out('E ' + i);
  }
  out('D');
})().catch((err) => {
  process.stderr.write(`crash-worker: ${err && err.stack}\n`);
  process.exit(3);
});
