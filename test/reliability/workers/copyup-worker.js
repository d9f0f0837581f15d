'use strict';
/**
 * One of several processes sharing an upper layer. Waits for "go" on stdin (so that all start
 * together), then copies up the same lower files as its siblings: appends a line of its own to
 * each (copy-up + append), and copies up others by metadata only (chmod, utimes, open r+).
 * Reports every error it got.
 */
const { DIST } = require('./common');
const { createOverlay } = require(DIST);

const { options, appendFiles, metaFiles, id, rounds } = JSON.parse(process.argv[2]);
const ov = createOverlay(options);
const m = options.mountpoint;

async function work() {
  const errors = [];
  const note = (what) => (e) => { errors.push(`${what}: ${e.code || e.message}`); };
  for (let r = 0; r < rounds; r++) {
    const jobs = [];
    for (const f of appendFiles) jobs.push(ov.fs.promises.appendFile(`${m}/${f}`, `<${id}:${r}>\n`).catch(note(`append ${f}`)));
    for (const [i, f] of metaFiles.entries()) {
      const p = `${m}/${f}`;
      if (i % 3 === 0) jobs.push(ov.fs.promises.chmod(p, 0o640).catch(note(`chmod ${f}`)));
      else if (i % 3 === 1) jobs.push(ov.fs.promises.utimes(p, 1000 + id, 1000 + id).catch(note(`utimes ${f}`)));
      else jobs.push(ov.fs.promises.open(p, 'r+').then((fh) => fh.close()).catch(note(`open r+ ${f}`)));
    }
    // The sync forms too, between the async ones.
    try { ov.fs.appendFileSync(`${m}/${appendFiles[0]}`, `<${id}:${r}:sync>\n`); } catch (e) { note('appendSync')(e); }
    await Promise.all(jobs);
  }
  return errors;
}

process.stdin.once('data', () => {
  work().then((errors) => {
    process.stdout.write(JSON.stringify({ id, errors }) + '\n');
    process.exit(0);
  });
});
process.stdout.write('ready\n');
