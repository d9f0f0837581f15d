'use strict';
// Checksums of every file under fixtures/: taken before the whole suite, compared after it.
// The suite must leave the bundled layer trees byte-identical (they are lowers in demos/tests).
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..', '..', 'fixtures');

function checksums(dir = root, out = {}) {
  for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, d.name);
    const rel = path.relative(root, p);
    if (d.isDirectory()) { out[rel + '/'] = 'dir'; checksums(p, out); }
    else if (d.isSymbolicLink()) out[rel] = 'link:' + fs.readlinkSync(p);
    else out[rel] = crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex');
  }
  return out;
}

module.exports = { checksums };
