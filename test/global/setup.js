'use strict';
const { checksums } = require('./fixtures-checksum');

module.exports = async function globalSetup() {
  globalThis.__FIXTURE_SUMS__ = JSON.stringify(checksums());
};
