/**
 * Threads, processes and the working directory (node-patching.md §2.4, §4 items 17 and 19):
 * what carries the overlay (a -r preload into workers with the default execArgv and into
 * fork(); NODE_OPTIONS into every worker and child Node process, ESM hooks included) and the
 * documented limits (execArgv: [] without NODE_OPTIONS, --import alone in workers, non-Node
 * children, chdir into a mountpoint that does not exist on disk).
 */
import { useScratch, json, type Scratch } from './scratch';

const scratch = useScratch();
const BOTH = '--require overlay-fs/register --import overlay-fs/register';

function tree(s: Scratch): void {
  s.config();
  s.write({ 'lower/a.txt': 'A', 'lower/e.mjs': 'export default "esm from the mount";', 'upper/b.txt': 'B' });
}

const WORKERS = `
  const { Worker } = require('worker_threads');
  const path = require('path');
  const M = path.join(__dirname, 'm');
  const inWorker = (execArgv) => new Promise((resolve) => {
    const code = \`
      const { parentPort } = require('worker_threads');
      let read; try { read = require('fs').readFileSync(\${JSON.stringify(M)} + '/a.txt', 'utf8'); } catch (e) { read = e.code; }
      import(\${JSON.stringify(M)} + '/e.mjs').then((m) => m.default, (e) => e.code).then((esm) => parentPort.postMessage({ read, esm }));
    \`;
    const w = new Worker(code, { eval: true, ...(execArgv && { execArgv }) });
    w.once('message', resolve);
    w.once('error', (e) => resolve({ error: e.message }));
  });
  (async () => console.log(JSON.stringify({ default: await inWorker(), empty: await inWorker([]) })))();
`;

test('#19 worker_threads: a -r preload reaches workers with the default execArgv; execArgv: [] does not (documented)', () => {
  const s = scratch();
  tree(s);
  expect(json(s.script(WORKERS, { preArgs: ['-r', 'overlay-fs/register'] }))).toEqual({
    default: { read: 'A', esm: 'ERR_MODULE_NOT_FOUND' }, // -r alone: fs and require, not import
    empty: { read: 'ENOENT', esm: 'ERR_MODULE_NOT_FOUND' },
  });
});

test('#17 #19 NODE_OPTIONS with -r and --import: every worker gets the fs patch and the ESM hooks, even with execArgv: []', () => {
  const s = scratch();
  tree(s);
  // NODE_OPTIONS applies to every thread, whatever execArgv a worker is given.
  expect(json(s.script(WORKERS, { env: { NODE_OPTIONS: BOTH } }))).toEqual({
    default: { read: 'A', esm: 'esm from the mount' },
    empty: { read: 'A', esm: 'esm from the mount' },
  });
});

test('#19 --import alone does not reach workers: Node 20 runs --import only in the main thread (documented)', () => {
  const s = scratch();
  tree(s);
  expect(json(s.script(WORKERS, { preArgs: ['--import', 'overlay-fs/register'] })).default).toEqual({ read: 'ENOENT', esm: 'ERR_MODULE_NOT_FOUND' });
});

test('#17 #19 child processes: NODE_OPTIONS carries the overlay (CJS and an ESM entry); a cleared env and non-Node children do not', () => {
  const s = scratch();
  tree(s);
  const r = json(s.script(`
    const cp = require('child_process');
    const path = require('path');
    const M = path.join(__dirname, 'm');
    const node = (args, env) => { try { return cp.execFileSync(process.execPath, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim(); } catch (e) { return 'failed: ' + (/(E[A-Z_]+)/.exec(e.stderr) || [])[1]; } };
    const readA = ['-e', 'console.log(require("fs").readFileSync(' + JSON.stringify(M + '/a.txt') + ', "utf8"))'];
    const { NODE_OPTIONS, ...cleared } = process.env;
    let cat; try { cat = cp.execFileSync('cat', [M + '/a.txt'], { stdio: 'pipe' }).toString(); } catch (e) { cat = 'failed'; }
    console.log(JSON.stringify({
      inherited: node(readA, process.env),
      esmEntry: node([M + '/e.mjs'], process.env) === '' ? 'ran' : 'failed',
      cleared: node(readA, cleared),
      cat,
    }));
  `, { env: { NODE_OPTIONS: BOTH } }));
  expect(r).toEqual({ inherited: 'A', esmEntry: 'ran', cleared: 'failed: ENOENT', cat: 'failed' });
});

test('#19 fork() inherits the -r preload through execArgv; a plain spawn of node does not', () => {
  const s = scratch();
  tree(s);
  s.write({ 'child.js': 'let r; try { r = require("fs").readFileSync(__dirname + "/m/b.txt", "utf8"); } catch (e) { r = e.code; } process.send ? process.send(r) : console.log(r);' });
  const r = json(s.script(`
    const cp = require('child_process');
    const spawned = cp.execFileSync(process.execPath, [__dirname + '/child.js'], { encoding: 'utf8' }).trim();
    cp.fork(__dirname + '/child.js').on('message', (forked) => console.log(JSON.stringify({ forked, spawned })));
  `, { preArgs: ['-r', 'overlay-fs/register'] }));
  expect(r).toEqual({ forked: 'B', spawned: 'ENOENT' });
});

test('#19 process.chdir into a mountpoint that does not exist on disk fails with ENOENT (documented)', () => {
  const s = scratch();
  tree(s);
  const r = json(s.script(`
    require('overlay-fs').patch();
    let code; try { process.chdir('m'); code = 'ok'; } catch (e) { code = e.code; }
    console.log(JSON.stringify({ code, statOk: require('fs').statSync('m').isDirectory() }));
  `));
  expect(r).toEqual({ code: 'ENOENT', statOk: true });
});
