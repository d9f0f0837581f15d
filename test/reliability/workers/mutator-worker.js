'use strict';
/**
 * Changes layer directories directly (plain fs, no overlay), as an editor or a build step does
 * behind a dev server's back: files added, rewritten, replaced by rename, removed; directories
 * made and removed; whiteouts and opaque markers added and removed in the upper. Runs `ops`
 * changes, or until stdin says stop.
 */
const fs = require('fs');
const path = require('path');

const { layers, upper, seed, ops } = JSON.parse(process.argv[2]);
let s = seed >>> 0;
const rand = () => { s = (s + 0x6d2b79f5) >>> 0; let t = s; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
const pick = (a) => a[Math.floor(rand() * a.length)];
const DIRS = ['', 'a', 'a/b', 'c'];
const NAMES = ['x', 'y', 'z', 'w'];
let stop = false;
process.stdin.on('data', () => { stop = true; });
let done = 0;
const errors = [];

function step() {
  const layer = pick(layers);
  const dir = path.join(layer, pick(DIRS));
  const name = pick(NAMES);
  const p = path.join(dir, name);
  const k = Math.floor(rand() * 8);
  try {
    fs.mkdirSync(dir, { recursive: true });
    if (k === 0 || k === 1) fs.writeFileSync(p, `${layer} ${name} ${done}\n`);
    else if (k === 2) { fs.writeFileSync(p + '.tmp', `replaced ${done}\n`); fs.renameSync(p + '.tmp', p); }
    else if (k === 3) fs.rmSync(p, { recursive: true, force: true });
    else if (k === 4) { fs.rmSync(p, { recursive: true, force: true }); fs.mkdirSync(p); fs.writeFileSync(path.join(p, 'inner'), 'inner'); }
    else if (k === 5 && layer === upper) fs.writeFileSync(path.join(dir, '.wh.' + name), '');
    else if (k === 6 && layer === upper) fs.rmSync(path.join(dir, '.wh.' + name), { force: true });
    else if (k === 7 && layer === upper && dir !== upper) {
      if (fs.existsSync(path.join(dir, '.wh..wh..opq'))) fs.rmSync(path.join(dir, '.wh..wh..opq'));
      else fs.writeFileSync(path.join(dir, '.wh..wh..opq'), '');
    }
    done++;
  } catch (e) {
    if (!['ENOENT', 'ENOTDIR', 'EEXIST', 'EISDIR', 'ENOTEMPTY'].includes(e.code)) errors.push(e.message);
  }
}

function loop() {
  for (let i = 0; i < 20 && done < ops && !stop; i++) step();
  if (done < ops && !stop) setImmediate(loop);
  else { process.stdout.write(JSON.stringify({ done, errors }) + '\n'); process.exit(0); }
}
process.stdout.write('ready\n');
loop();
