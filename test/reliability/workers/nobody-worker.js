'use strict';
/**
 * Runs overlay operations as an unprivileged user (root ignores permission bits, so the
 * EACCES/EPERM cases must run without it). Payload: { uid, scenarios: [{ name, options,
 * ops: [name...] }] }. For each operation it reports the outcome (error code or ok), whether
 * the merged view and the upper layer changed, and the temporaries left in the work directory.
 */
const fs = require('fs');
const { promisify } = require('util');
const { DIST, treeVia, realTree, diffKeys, temporaries } = require('./common');

// Loaded before dropping privileges: the checkout may sit in a directory only root can enter
// (a fresh clone in `mktemp -d`, mode 0700). The overlay loads nothing lazily on these paths.
const { createOverlay } = require(DIST);

const { uid, scenarios } = JSON.parse(process.argv[2]);
process.setgid(uid);
process.setgroups([]);
process.setuid(uid);

/** Operations by name; `m` is the merged root. Paths are those of the layers the test builds. */
const OPS = {
  appendLower: (x, m) => x.appendFileSync(`${m}/f.txt`, 'x'),
  appendLowerAsync: (x, m) => x.promises.appendFile(`${m}/f.txt`, 'x'),
  chmodLower: (x, m) => x.chmodSync(`${m}/f.txt`, 0o600),
  chmodLowerCallback: (x, m) => promisify(x.chmod)(`${m}/f.txt`, 0o600),
  truncateLower: (x, m) => x.truncateSync(`${m}/f.txt`, 1),
  openLowerForWrite: (x, m) => x.closeSync(x.openSync(`${m}/f.txt`, 'r+')),
  linkLower: (x, m) => x.linkSync(`${m}/f.txt`, `${m}/f-link.txt`),
  writeNew: (x, m) => x.writeFileSync(`${m}/new.txt`, 'new'),
  writeNewAsync: (x, m) => x.promises.writeFile(`${m}/new.txt`, 'new'),
  copyFileNew: (x, m) => x.copyFileSync(`${m}/f.txt`, `${m}/copy.txt`),
  unlinkLower: (x, m) => x.unlinkSync(`${m}/g.txt`),
  unlinkLowerAsync: (x, m) => x.promises.unlink(`${m}/g.txt`),
  mkdirNew: (x, m) => x.mkdirSync(`${m}/newdir`),
  mkdirOverWhiteout: (x, m) => x.mkdirSync(`${m}/gone`),
  mkdirOverWhiteoutAsync: (x, m) => x.promises.mkdir(`${m}/gone`),
  symlinkNew: (x, m) => x.symlinkSync('f.txt', `${m}/ln`),
  renameLower: (x, m) => x.renameSync(`${m}/f.txt`, `${m}/f2.txt`),
  renameLowerDir: (x, m) => x.renameSync(`${m}/dir`, `${m}/dir2`),
  rmLowerTree: (x, m) => x.rmSync(`${m}/dir`, { recursive: true }),
  rmLowerTreeAsync: (x, m) => x.promises.rm(`${m}/dir`, { recursive: true }),
  utimesLower: (x, m) => x.utimesSync(`${m}/f.txt`, 1, 1),
  chownLower: (x, m) => x.chownSync(`${m}/f.txt`, 0, 0),
  // Under an upper subdirectory `sub` (sub/f.txt and sub/g.txt are lower files)
  appendSub: (x, m) => x.appendFileSync(`${m}/sub/f.txt`, 'x'),
  unlinkSub: (x, m) => x.unlinkSync(`${m}/sub/g.txt`),
  writeNewSub: (x, m) => x.writeFileSync(`${m}/sub/new.txt`, 'new'),
  renameIntoSub: (x, m) => x.renameSync(`${m}/f.txt`, `${m}/sub/moved.txt`),
  // Immutable upper files (chattr +i): imm.txt shadows a lower imm.txt, solo.txt is upper-only
  unlinkImmutableOverLower: (x, m) => x.unlinkSync(`${m}/imm.txt`),
  unlinkImmutable: (x, m) => x.unlinkSync(`${m}/solo.txt`),
  writeImmutable: (x, m) => x.writeFileSync(`${m}/solo.txt`, 'changed'),
  appendImmutable: (x, m) => x.appendFileSync(`${m}/imm.txt`, 'more'),
  renameImmutable: (x, m) => x.renameSync(`${m}/solo.txt`, `${m}/solo2.txt`),
  chmodImmutable: (x, m) => x.chmodSync(`${m}/solo.txt`, 0o600),
  rmTreeWithImmutable: (x, m) => x.rmSync(`${m}/idir`, { recursive: true }),
  // Unreadable layer parts
  readdirRoot: (x, m) => x.readdirSync(m),
  statInUnreadable: (x, m) => x.statSync(`${m}/locked/inner.txt`),
  readdirUnreadable: (x, m) => x.readdirSync(`${m}/locked`),
  readUnreadableFile: (x, m) => x.readFileSync(`${m}/secret.txt`),
  appendUnreadableFile: (x, m) => x.appendFileSync(`${m}/secret.txt`, 'x'),
  statShadowedByUpper: (x, m) => x.statSync(`${m}/locked/up.txt`),
};

(async () => {
  const results = [];
  for (const sc of scenarios) {
    let ov;
    try {
      ov = createOverlay(sc.options);
    } catch (e) {
      results.push({ scenario: sc.name, op: '(createOverlay)', code: e.code || String(e) });
      continue;
    }
    const m = sc.options.mountpoint;
    const snap = () => { try { return treeVia(ov.fs, m); } catch (e) { return { '(unlistable)': e.code }; } };
    const upperSnap = () => (sc.options.upper ? realTree(sc.options.upper) : {});
    for (const op of sc.ops) {
      const mergedBefore = snap();
      const upperBefore = upperSnap();
      let code = 'ok';
      let message = '';
      try {
        await OPS[op](ov.fs, m);
      } catch (e) {
        code = e.code || String(e);
        message = e.message;
      }
      const mergedAfter = snap();
      const upperAfter = upperSnap();
      results.push({
        scenario: sc.name,
        op,
        code,
        message,
        mergedChanged: diffKeys(mergedBefore, mergedAfter),
        upperChanged: diffKeys(upperBefore, upperAfter).map((k) => `${k}: ${upperBefore[k] || 'absent'} -> ${upperAfter[k] || 'absent'}`),
        temporaries: sc.options.workdir ? temporaries(sc.options.workdir) : [],
      });
    }
  }
  process.stdout.write(JSON.stringify({ uid: process.getuid(), results }) + '\n');
})().catch((err) => {
  process.stderr.write(`nobody-worker: ${err && err.stack}\n`);
  process.exit(3);
});
