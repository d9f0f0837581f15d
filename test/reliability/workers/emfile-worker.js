'use strict';
/**
 * EMFILE: runs under `ulimit -n 64` (set by the parent's shell). Each workload opens far more
 * merged files at once than the limit allows. It runs on plain fs (and plain fs with
 * graceful-fs) over a flattened copy of the merged tree, and through the overlay, and reports
 * what each produced. The parent checks that the overlay completed, correctly, wherever plain
 * fs with graceful-fs did.
 */
const fs = require('fs');
const crypto = require('crypto');
const { DIST, treeViaAsync, sortKeys } = require('./common');

const { options, flat } = JSON.parse(process.argv[2]);
const limit = /Max open files\s+(\d+)/.exec(fs.readFileSync('/proc/self/limits', 'utf8'))[1];
const gfs = require('graceful-fs');
const { createOverlay } = require(DIST);
const ov = createOverlay(options);
const m = options.mountpoint;
const sha1 = (b) => crypto.createHash('sha1').update(b).digest('hex');

function withTimeout(p, ms) {
  let t;
  return Promise.race([p, new Promise((_, rej) => { t = setTimeout(() => rej(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })), ms); })]).finally(() => clearTimeout(t));
}

/** Recursive walk with callbacks, everything in parallel: path -> sha1 of content. */
function callbackWalk(xfs, dir) {
  return new Promise((resolve, reject) => {
    const out = {};
    let pending = 0;
    let failed = false;
    const fail = (e) => { if (!failed) { failed = true; reject(e); } };
    const done = () => { if (--pending === 0 && !failed) resolve(sortKeys(out)); };
    const walk = (d, rel) => {
      pending++;
      xfs.readdir(d, (err, names) => {
        if (err) return fail(err);
        for (const n of names) {
          const f = d + '/' + n;
          const r = rel ? `${rel}/${n}` : n;
          pending++;
          xfs.lstat(f, (e2, st) => {
            if (e2) return fail(e2);
            if (st.isDirectory()) { walk(f, r); done(); return; }
            xfs.readFile(f, (e3, b) => { if (e3) return fail(e3); out[r] = sha1(b); done(); });
          });
        }
        done();
      });
    };
    walk(dir, '');
  });
}

async function listFiles(xfs, dir) {
  const out = [];
  const walk = (d, rel) => {
    for (const e of xfs.readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(d + '/' + e.name, r);
      else out.push(r);
    }
  };
  walk(dir, '');
  return out.sort();
}

async function parallelReads(readFile, root, files) {
  const out = {};
  await Promise.all(files.map(async (f) => { out[f] = sha1(await readFile(root + '/' + f)); }));
  return sortKeys(out);
}

function streamHash(xfs, file) {
  return new Promise((resolve, reject) => {
    const h = crypto.createHash('sha1');
    xfs.createReadStream(file).on('error', reject).on('data', (d) => h.update(d)).on('end', () => resolve(h.digest('hex')));
  });
}

async function openDirs(xfs, dir) {
  const out = {};
  let firstError = null;
  const walk = async (d, rel) => {
    const dh = await xfs.promises.opendir(d);
    const subs = [];
    for await (const e of dh) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) subs.push(walk(d + '/' + e.name, r).catch((err) => { firstError = firstError || err; }));
      else out[r] = e.isFile() ? 'file' : 'other';
    }
    await Promise.all(subs);
  };
  await walk(dir, '');
  if (firstError) throw firstError;
  return sortKeys(out);
}

(async () => {
  const files = await listFiles(ov.fs, m);
  const flatFiles = await listFiles(fs, flat);
  const workloads = {
    'promise walk (readdir + lstat + readFile, all in parallel)': {
      plain: () => treeViaAsync(fs, flat), graceful: () => treeViaAsync(gfs, flat), overlay: () => treeViaAsync(ov.fs, m) },
    'callback walk (readdir + lstat + readFile, all in parallel)': {
      plain: () => callbackWalk(fs, flat), graceful: () => callbackWalk(gfs, flat), overlay: () => callbackWalk(ov.fs, m) },
    'parallel fs.promises.readFile of every file': {
      plain: () => parallelReads(fs.promises.readFile, flat, flatFiles), graceful: () => parallelReads(gfs.promises.readFile, flat, flatFiles),
      overlay: () => parallelReads(ov.fs.promises.readFile, m, files) },
    'parallel callback readFile (util.promisify) of every file': {
      plain: () => parallelReads(require('util').promisify(fs.readFile), flat, flatFiles), graceful: () => parallelReads(require('util').promisify(gfs.readFile), flat, flatFiles),
      overlay: () => parallelReads(require('util').promisify(ov.fs.readFile), m, files) },
    'parallel createReadStream of every file': {
      plain: () => parallelReads((p) => streamHash(fs, p).then((h) => Buffer.from(h)), flat, flatFiles),
      graceful: () => parallelReads((p) => streamHash(gfs, p).then((h) => Buffer.from(h)), flat, flatFiles),
      overlay: () => parallelReads((p) => streamHash(ov.fs, p).then((h) => Buffer.from(h)), m, files) },
    'parallel opendir walk': { plain: () => openDirs(fs, flat), graceful: () => openDirs(gfs, flat), overlay: () => openDirs(ov.fs, m) },
  };
  const results = [];
  for (const [name, w] of Object.entries(workloads)) {
    const r = { name };
    for (const side of ['plain', 'graceful', 'overlay']) {
      try {
        const value = await withTimeout(w[side](), 60000);
        r[side] = { ok: true, sha: sha1(JSON.stringify(value)), count: Object.keys(value).length };
      } catch (e) {
        r[side] = { ok: false, code: e.code || String(e) };
      }
    }
    results.push(r);
  }
  // Copy-ups in parallel: the overlay's own I/O (copy, metadata, rename) under the limit.
  const targets = files.filter((f) => f.startsWith('l1only/'));
  let copyUp;
  try {
    await withTimeout(Promise.all(targets.map((f) => ov.fs.promises.appendFile(m + '/' + f, '+appended\n'))), 60000);
    const bad = [];
    for (const f of targets) {
      const got = ov.fs.readFileSync(m + '/' + f, 'utf8');
      const want = fs.readFileSync(options.lower[options.lower.length - 1] + '/' + f, 'utf8') + '+appended\n';
      if (got !== want) bad.push(f);
    }
    copyUp = { ok: bad.length === 0, count: targets.length, bad };
  } catch (e) {
    copyUp = { ok: false, code: e.code || String(e), count: targets.length };
  }
  process.stdout.write(JSON.stringify({ limit: Number(limit), files: files.length, results, copyUp }) + '\n');
})().catch((err) => {
  process.stderr.write(`emfile-worker: ${err && err.stack}\n`);
  process.exit(3);
});
