'use strict';
const { checksums } = require('./fixtures-checksum');

module.exports = async function globalTeardown() {
  const before = globalThis.__FIXTURE_SUMS__;
  const after = JSON.stringify(checksums());
  if (before !== after) {
    throw new Error('overlay-fs test suite changed the bundled fixtures/ (lower layers must stay byte-identical)');
  }
  console.log(`fixtures/ unchanged after the whole suite (${Object.keys(JSON.parse(after)).length} entries checked)`);
};
