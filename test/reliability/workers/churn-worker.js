'use strict';
/** Creates and deletes entries in a merged directory through its own overlay, until told to stop (stdin). */
const { DIST } = require('./common');
const { createOverlay } = require(DIST);

const { options, dir, lowerNames, iterations } = JSON.parse(process.argv[2]);
const ov = createOverlay(options);
const d = `${options.mountpoint}/${dir}`;
let stop = false;
process.stdin.on('data', () => { stop = true; });
const errors = [];
let ops = 0;
(async () => {
  for (let i = 0; !stop && i < iterations; i++) {
    const lower = lowerNames[i % lowerNames.length];
    const steps = [
      () => ov.fs.promises.writeFile(`${d}/churn-${i % 5}`, 'c'),
      () => ov.fs.promises.unlink(`${d}/${lower}`),
      () => ov.fs.promises.writeFile(`${d}/${lower}`, 'recreated'),
      () => ov.fs.promises.mkdir(`${d}/cdir-${i % 3}`),
      () => ov.fs.promises.rm(`${d}/cdir-${i % 3}`, { recursive: true }),
      () => ov.fs.promises.rm(`${d}/churn-${i % 5}`, { force: true }),
    ];
    for (const s of steps) {
      try { await s(); ops++; } catch (e) { if (!['EEXIST', 'ENOENT'].includes(e.code)) errors.push(e.code || e.message); }
    }
  }
  process.stdout.write(JSON.stringify({ ops, errors }) + '\n');
  process.exit(0);
})();
