'use strict';
/**
 * The crash workload: a layer template with several-MiB lower files, merged directories and
 * whiteouts, and the operations a child process runs on it until it is killed. Used both by
 * the child (crash-worker.js, on dist/) and by the test's uninterrupted reference run.
 */
const fs = require('fs');
const path = require('path');
const { promisify } = require('util');
const { content } = require('./common');

const MiB = 1024 * 1024;

function put(file, data) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, data);
}

/** Lower layers (built once per test file, shared by every kill: they must never change). */
function buildLowers(root, bigScale = 1) {
  const l1 = path.join(root, 'l1');
  const l2 = path.join(root, 'l2');
  let n = 1;
  const small = (f) => put(f, `${path.basename(f)} #${n++}\n`.repeat(1 + (n % 7)));
  put(`${l1}/big/a.bin`, content(11, Math.round(4 * MiB * bigScale)));
  put(`${l1}/big/b.bin`, content(12, Math.round(3 * MiB * bigScale)));
  put(`${l1}/big/c.bin`, content(13, Math.round(2 * MiB * bigScale)));
  put(`${l2}/big/d.bin`, content(14, Math.round(3 * MiB * bigScale)));
  put(`${l2}/big/e.bin`, content(15, Math.round(2 * MiB * bigScale)));
  for (const f of ['f1', 'f2', 'f3', 'sub/g1', 'sub/g2']) small(`${l1}/tree/d1/${f}`);
  for (const f of ['f1', 'f4', 'sub/g3']) small(`${l2}/tree/d1/${f}`);
  for (const f of ['h1', 'h2']) small(`${l1}/tree/d2/${f}`);
  small(`${l2}/tree/d2/h3`);
  small(`${l2}/tree/d3/i1`);
  for (const f of ['k1', 'k2', 'sub/k3']) small(`${l1}/gone/${f}`);
  for (const f of ['x.txt', 'y.txt']) small(`${l1}/docs/${f}`);
  for (const f of ['p1', 'p2', 'sub/p3']) small(`${l1}/ren/dir1/${f}`);
  put(`${l1}/ren/dir1/big.bin`, content(16, Math.round(1 * MiB * bigScale)));
  small(`${l1}/ren/dir2/q2`);
  small(`${l2}/ren/dir2/q1`);
  for (const f of ['z1', 'z2']) small(`${l1}/hidden/${f}`);
  return [l2, l1]; // top first
}

/** The upper layer's starting content (rebuilt before every kill). */
function buildUpper(u) {
  fs.rmSync(u, { recursive: true, force: true });
  fs.mkdirSync(u, { recursive: true });
  put(`${u}/.wh.hidden`, ''); // hides the lower hidden/ directory
  put(`${u}/tree/d3/upper.txt`, 'upper\n');
  put(`${u}/ren/dir2/q3`, 'q3 upper\n');
  put(`${u}/up/own.txt`, 'own\n');
  put(`${u}/up/dir/o1`, 'o1\n');
}

/** Independent groups of operations; a sequence is the groups shuffled, each group in order. */
function opGroups() {
  return [
    [{ op: 'append', p: 'big/a.bin', data: 'appended line\n' }, { op: 'rename', p: 'big/a.bin', to: 'big/a2.bin' }],
    [{ op: 'chmod', p: 'big/b.bin', mode: 0o600 }],
    [{ op: 'rename', p: 'big/c.bin', to: 'docs/c-moved.bin' }],
    [{ op: 'truncate', p: 'big/d.bin', len: 1000 }],
    [{ op: 'link', p: 'big/e.bin', to: 'big/e-link.bin' }, { op: 'unlink', p: 'big/e.bin' }],
    [{ op: 'rename', p: 'ren/dir1', to: 'ren/dir1-moved' }],
    [{ op: 'rename', p: 'ren/dir2', to: 'moved2' }],
    [{ op: 'rm', p: 'tree/d1' }],
    [{ op: 'rm', p: 'gone' }, { op: 'mkdir', p: 'gone' }, { op: 'symlink', target: '../docs/x.txt', p: 'gone/x' }],
    [{ op: 'mkdir', p: 'hidden' }, { op: 'mkdir', p: 'hidden/new' }],
    [{ op: 'unlink', p: 'docs/y.txt' }],
    [{ op: 'rename', p: 'up/dir', to: 'tree/d2/updir' }],
    [{ op: 'rename', p: 'tree/d2/h1', to: 'tree/d2/h2' }],
    [{ op: 'copy', p: 'big/b.bin', to: 'tree/d3/i1' }],
  ];
}

/** Run one operation through `xfs` (ov.fs) in the given form: 'sync', 'promise' or 'callback'. */
async function runOp(xfs, m, o, form) {
  const P = (rel) => m + '/' + rel;
  const call = (name, ...args) => {
    if (form === 'sync') return xfs[name + 'Sync'](...args);
    if (form === 'promise') return xfs.promises[name](...args);
    return promisify(xfs[name])(...args);
  };
  switch (o.op) {
    case 'append': return call('appendFile', P(o.p), o.data);
    case 'chmod': return call('chmod', P(o.p), o.mode);
    case 'rename': return call('rename', P(o.p), P(o.to));
    case 'truncate': return call('truncate', P(o.p), o.len);
    case 'link': return call('link', P(o.p), P(o.to));
    case 'unlink': return call('unlink', P(o.p));
    case 'rm': return call('rm', P(o.p), { recursive: true });
    case 'mkdir': return call('mkdir', P(o.p));
    case 'symlink': return call('symlink', o.target, P(o.p));
    case 'copy': return call('copyFile', P(o.p), P(o.to));
    default: throw new Error('unknown op ' + o.op);
  }
}

module.exports = { buildLowers, buildUpper, opGroups, runOp, MiB };
