'use strict';
// The ESM entries re-export (or run) the CommonJS build, so that `import` and `require` share
// one module instance (one mount table, one patch state) instead of two diverging copies.
const fs = require('fs');
const path = require('path');
const cjs = require('../dist/cjs/index.js');
const names = Object.keys(cjs).filter((n) => n !== 'default' && n !== '__esModule');
const out = path.join(__dirname, '..', 'dist', 'esm');
fs.mkdirSync(out, { recursive: true });
const body = [
  "import cjs from '../cjs/index.js';",
  `export const { ${names.join(', ')} } = cjs;`,
  'export default cjs;',
  '',
].join('\n');
fs.writeFileSync(path.join(out, 'index.mjs'), body);
// `node --import overlay-fs/register`: the patch plus the ESM loader hooks (lib/register-esm.ts).
fs.writeFileSync(path.join(out, 'register.mjs'), "import '../cjs/register-esm.js';\n");
// The `bin` entry runs directly (./dist/cjs/cli/main.js) from a clone too, not only once npm links it.
fs.chmodSync(path.join(__dirname, '..', 'dist', 'cjs', 'cli', 'main.js'), 0o755);
