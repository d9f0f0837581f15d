#!/usr/bin/env node
// @ts-check
'use strict';
/*
 * kernel-diff: run seeded random operation sequences against a real `mount -t overlay` and the
 * built overlay-fs engine (dist/cjs/index.js), and compare every outcome and the final trees.
 * The comparison engine lives in test/kernel/harness.js (shared with the jest test).
 *
 *   npm run build && npm run test:kernel -- --cases 2000
 *   npm run test:kernel -- --seed 1234 --cases 1            # reproduce one case
 *   npm run test:kernel -- --self-check --cases 500          # kernel vs kernel (harness check)
 *   npm run test:kernel -- --cases 2000 --minimize --findings .scratch/kernel-diff-findings.md
 *   npm run test:kernel -- --case .scratch/kernel-diff/case-1.json   # a saved (minimised) case
 *
 * Options:
 *   --cases N        number of sequences (default 200)
 *   --seed S         seed of the first sequence; sequence i uses seed S+i (default 1)
 *   --random         pick a random first seed (printed)
 *   --ops M          operations per sequence (default 25)
 *   --self-check     kernel on both sides (no engine needed); must give 0 mismatches
 *   --jobs J         parallel workers (default: min(4, CPUs))
 *   --timeout SEC    watchdog per sequence; a sequence that stalls (e.g. a synchronous call
 *                    that never returns) is killed and recorded as a hang (default 60)
 *   --op-timeout MS  limit for one asynchronous op (default 10000)
 *   --show K         print the first K mismatches in full (default 5)
 *   --whiteouts F    engine-side whiteout form in the lower/upper trees: kernel|oci|mixed
 *                    (default kernel: char device 0:0, the same bytes the kernel side gets)
 *   --strict-errors  error syscall/path/dest/message differences count as mismatches
 *   --tree-check each  compare the merged trees after every mutating op (slower, localises)
 *   --minimize       shrink one case per distinct mismatch signature (top --show groups)
 *   --findings FILE  write a markdown report of the (minimised) mismatches, grouped
 *   --save-cases DIR write each minimised case as JSON (replay with --case FILE)
 *   --case FILE      run one saved case (JSON {seed, tree, ops})
 *   --engine PATH    module exporting createOverlay (default dist/cjs/index.js)
 *   --cache          the engine with its directory index on (createOverlay's default)
 *   --no-cache       the engine with `cache: false`: every lookup asks the file system
 * Exit status: 0 no mismatches, 1 mismatches, 2 cannot run (not root, no overlay, no build).
 */

const fs = require('fs');
const os = require('os');
const path = require('path');
const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');

const ROOT = path.resolve(__dirname, '..');
const h = require(path.join(ROOT, 'test', 'kernel', 'harness.js'));
const DEFAULT_ENGINE = path.join(ROOT, 'dist', 'cjs', 'index.js');

/* ------------------------------------------------------------------ worker */

if (!isMainThread) {
  workerMain().catch((e) => {
    if (parentPort) parentPort.postMessage({ type: 'fatal', error: String(e && e.stack) });
  });
} else {
  main().then(
    (code) => process.exit(code),
    (e) => {
      console.error(e);
      process.exit(2);
    },
  );
}

async function workerMain() {
  const wd = workerData;
  const progress = new Int32Array(wd.progress);
  const engineCreate = wd.selfCheck ? undefined : require(wd.engine).createOverlay;
  // The engine in the mode asked for (--cache / --no-cache; neither: the engine's default).
  const createOverlay = engineCreate && wd.cache !== undefined
    ? (/** @type {any} */ opts) => engineCreate({ ...opts, cache: wd.cache })
    : engineCreate;
  const base = {
    scratchRoot: wd.scratchRoot,
    createOverlay,
    selfCheck: wd.selfCheck,
    opTimeoutMs: wd.opTimeoutMs,
    treeCheck: wd.treeCheck,
    strictErrors: wd.strictErrors,
    onProgress: (/** @type {number} */ i) => Atomics.store(progress, 0, i),
  };
  const port = /** @type {import('worker_threads').MessagePort} */ (parentPort);
  port.on('message', async (msg) => {
    try {
      if (msg.type === 'run') {
        const input = msg.input || h.makeCase(msg.seed, wd.ops, { whiteoutForm: wd.whiteoutForm });
        Atomics.store(progress, 0, -1);
        const result = await h.runCase(input, { ...base, caseDirName: `case-${msg.seed}` });
        port.postMessage({ type: 'result', seed: msg.seed, result });
      } else if (msg.type === 'minimize') {
        const min = await h.minimizeCase(msg.input, { ...base, caseDirName: `min-${msg.seed}` }, { maxRuns: msg.maxRuns });
        port.postMessage({ type: 'minimized', seed: msg.seed, min });
      } else if (msg.type === 'exit') {
        process.exit(0);
      }
    } catch (e) {
      port.postMessage({ type: 'fatal', error: String(/** @type {any} */ (e).stack) });
    }
  });
  port.postMessage({ type: 'ready' });
}

/* ------------------------------------------------------------------ main */

/** @param {string[]} argv */
function parseArgs(argv) {
  /** @type {Record<string, any>} */
  const o = {
    cases: 200, seed: 1, ops: 25, selfCheck: false, jobs: Math.max(1, Math.min(4, os.cpus().length)),
    timeout: 60, opTimeout: 10000, show: 5, whiteouts: 'kernel', strictErrors: false, treeCheck: 'end',
    minimize: false, findings: '', saveCases: '', case: '', random: false, engine: DEFAULT_ENGINE,
    cache: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`missing value for ${a}`);
      return v;
    };
    switch (a) {
      case '--cases': o.cases = parseInt(val(), 10); break;
      case '--seed': o.seed = parseInt(val(), 10) >>> 0; break;
      case '--random': o.random = true; break;
      case '--ops': o.ops = parseInt(val(), 10); break;
      case '--self-check': o.selfCheck = true; break;
      case '--jobs': o.jobs = Math.max(1, parseInt(val(), 10)); break;
      case '--timeout': o.timeout = Number(val()); break;
      case '--op-timeout': o.opTimeout = Number(val()); break;
      case '--show': o.show = parseInt(val(), 10); break;
      case '--whiteouts': o.whiteouts = val(); break;
      case '--strict-errors': o.strictErrors = true; break;
      case '--tree-check': o.treeCheck = val(); break;
      case '--minimize': o.minimize = true; break;
      case '--findings': o.findings = val(); break;
      case '--save-cases': o.saveCases = val(); break;
      case '--case': o.case = val(); break;
      case '--engine': o.engine = path.resolve(val()); break;
      case '--cache': o.cache = true; break;
      case '--no-cache': o.cache = false; break;
      case '-h': case '--help':
        console.log(fs.readFileSync(__filename, 'utf8').split('\n').filter((l) => l.startsWith(' *')).map((l) => l.slice(3)).join('\n'));
        process.exit(0);
        break;
      default: throw new Error(`unknown option ${a} (see --help)`);
    }
  }
  if (!['kernel', 'oci', 'mixed'].includes(o.whiteouts)) throw new Error('--whiteouts must be kernel, oci or mixed');
  if (!['end', 'each'].includes(o.treeCheck)) throw new Error('--tree-check must be end or each');
  if (o.random) o.seed = (Date.now() ^ (process.pid << 16)) >>> 0;
  return o;
}

/**
 * A pool of workers with a per-task watchdog.
 * @param {Record<string, any>} o @param {string} scratchRoot
 */
function makePool(o, scratchRoot) {
  /** @type {Array<{ w: Worker, progress: Int32Array, busy: any, timer?: NodeJS.Timeout, ready: Promise<void> }>} */
  const slots = [];
  function spawn() {
    const sab = new SharedArrayBuffer(4);
    const w = new Worker(__filename, {
      workerData: {
        scratchRoot, selfCheck: o.selfCheck, ops: o.ops, opTimeoutMs: o.opTimeout, treeCheck: o.treeCheck,
        strictErrors: o.strictErrors, whiteoutForm: o.whiteouts, progress: sab, engine: o.engine,
        cache: o.cache,
      },
    });
    /** @type {any} */
    const slot = { w, progress: new Int32Array(sab), busy: null };
    slot.ready = new Promise((resolve, reject) => {
      w.once('message', (m) => (m.type === 'ready' ? resolve(undefined) : reject(new Error(m.error || 'worker failed'))));
      w.once('error', reject);
    });
    w.on('message', (m) => {
      if (m.type === 'ready' || !slot.busy) return;
      const t = slot.busy;
      slot.busy = null;
      clearTimeout(slot.timer);
      if (m.type === 'fatal') t.reject(new Error(m.error));
      else t.resolve(m);
    });
    w.on('error', (e) => {
      if (slot.busy) {
        const t = slot.busy;
        slot.busy = null;
        clearTimeout(slot.timer);
        t.resolve({ type: 'crash', error: String(e && e.stack) });
      }
    });
    return slot;
  }
  /**
   * @param {number} i slot index @param {any} msg @param {number} timeoutSec @param {string} dirName
   * @returns {Promise<any>}
   */
  async function run(i, msg, timeoutSec, dirName) {
    if (!slots[i]) slots[i] = spawn();
    let slot = slots[i];
    try {
      await slot.ready;
    } catch (e) {
      slots[i] = spawn();
      return { type: 'crash', error: String(/** @type {any} */ (e).stack) };
    }
    return new Promise((resolve, reject) => {
      slot.busy = { resolve, reject };
      slot.timer = setTimeout(async () => {
        if (!slot.busy) return;
        const opIndex = Atomics.load(slot.progress, 0);
        slot.busy = null;
        await slot.w.terminate().catch(() => undefined);
        h.cleanupDir(path.join(scratchRoot, dirName));
        slots[i] = spawn();
        resolve({ type: 'hang', opIndex });
      }, timeoutSec * 1000);
      slot.w.postMessage(msg);
    });
  }
  async function close() {
    for (const s of slots) if (s) await s.w.terminate().catch(() => undefined);
  }
  return { run, close };
}

async function main() {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`kernel-diff: ${/** @type {Error} */ (e).message}`);
    return 2;
  }
  const avail = h.kernelOverlayAvailable();
  if (!avail.ok) {
    console.error(`kernel-diff: cannot run: ${avail.reason}`);
    return 2;
  }
  if (!o.selfCheck) {
    try {
      const mod = require(o.engine);
      if (typeof mod.createOverlay !== 'function') throw new Error(`${o.engine} does not export createOverlay`);
    } catch (e) {
      console.error(`kernel-diff: cannot load the engine from ${path.relative(process.cwd(), o.engine)} (run \`npm run build\` first): ${/** @type {Error} */ (e).message}`);
      return 2;
    }
  }

  const scratchRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'kernel-diff-'));
  let interrupted = false;
  /** @type {ReturnType<typeof makePool> | undefined} */
  let pool;
  const onSignal = async () => {
    if (interrupted) return;
    interrupted = true;
    console.error('\nkernel-diff: interrupted, cleaning up');
    if (pool) await pool.close();
    h.cleanupDir(scratchRoot);
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const cacheMode = o.cache === undefined ? 'default cache setting' : o.cache ? 'cache on' : 'cache off';
  const mode = o.selfCheck ? 'self-check (kernel vs kernel)' : `kernel vs engine (${path.relative(ROOT, o.engine)}, ${cacheMode})`;
  /** @type {Array<{ seed: number, input: any }>} */
  let work;
  if (o.case) {
    const input = JSON.parse(fs.readFileSync(o.case, 'utf8'));
    work = [{ seed: input.seed, input }];
    console.log(`kernel-diff: ${mode}, case file ${o.case} (${input.ops.length} ops), jobs 1`);
  } else {
    work = [];
    for (let i = 0; i < o.cases; i++) work.push({ seed: (o.seed + i) >>> 0, input: null });
    console.log(`kernel-diff: ${mode}, ${o.cases} sequences from seed ${o.seed}, ${o.ops} ops each, jobs ${o.jobs}, whiteouts ${o.whiteouts}`);
  }

  pool = makePool(o, scratchRoot);
  try {
    /** @type {any[]} */
    const results = [];
    let next = 0;
    let done = 0;
    let opsTotal = 0;
    let mismatchCount = 0;
    let warnCount = 0;
    const t0 = Date.now();
    let lastPrint = Date.now();
    const progressLine = () =>
      `kernel-diff: ${done}/${work.length} sequences, ${opsTotal} ops, ${mismatchCount} mismatches` +
      `${warnCount ? `, ${warnCount} error-detail warnings` : ''} (${((Date.now() - t0) / 1000).toFixed(1)} s)`;

    const jobs = Math.min(o.jobs, work.length);
    const p = /** @type {ReturnType<typeof makePool>} */ (pool);
    await Promise.all(
      Array.from({ length: jobs }, async (_, slot) => {
        while (next < work.length && !interrupted) {
          const item = work[next++];
          const input = item.input || h.makeCase(item.seed, o.ops, { whiteoutForm: o.whiteouts });
          const msg = await p.run(slot, { type: 'run', seed: item.seed, input: item.input }, o.timeout, `case-${item.seed}`);
          /** @type {any} */
          let result;
          if (msg.type === 'result') result = msg.result;
          else {
            const opIndex = msg.type === 'hang' ? msg.opIndex : -1;
            const op = opIndex >= 0 ? input.ops[opIndex] : undefined;
            result = {
              seed: item.seed, opsRun: Math.max(0, opIndex), warnings: [],
              mismatches: [{
                kind: msg.type, seed: item.seed, opIndex: opIndex >= 0 ? opIndex : undefined, op,
                signature: msg.type === 'hang'
                  ? `hang: ${op ? `${op.k} [${op.form}]` : 'setup'} did not return within ${o.timeout} s (worker killed)`
                  : 'worker crashed',
                stack: msg.error,
              }],
            };
          }
          result.input = input;
          results.push(result);
          done++;
          opsTotal += result.opsRun;
          if (result.mismatches.length) mismatchCount++;
          warnCount += result.warnings.length;
          if (Date.now() - lastPrint > (process.stdout.isTTY ? 2000 : 10000)) {
            lastPrint = Date.now();
            console.log(progressLine());
          }
        }
      }),
    );

    results.sort((a, b) => a.seed - b.seed);
    const failing = results.filter((r) => r.mismatches.length);

    // Group by the first mismatch's signature, most frequent first.
    /** @type {Map<string, any[]>} */
    const groups = new Map();
    for (const r of failing) {
      const m = r.mismatches[0];
      if (!groups.has(m.signature)) groups.set(m.signature, []);
      /** @type {any[]} */ (groups.get(m.signature)).push(r);
    }
    const sorted = [...groups.entries()].sort((a, b) => b[1].length - a[1].length);
    /** @type {Map<string, any[]>} */
    const wgroups = new Map();
    for (const r of results) {
      for (const w of r.warnings) {
        if (!wgroups.has(w.signature)) wgroups.set(w.signature, []);
        /** @type {any[]} */ (wgroups.get(w.signature)).push({ r, w });
      }
    }

    const repro = (/** @type {number} */ seed) =>
      o.case ? `npm run test:kernel -- --case ${o.case}` :
        `npm run test:kernel -- --seed ${seed} --cases 1 --ops ${o.ops}${o.selfCheck ? ' --self-check' : ''}${o.whiteouts !== 'kernel' ? ` --whiteouts ${o.whiteouts}` : ''}${o.cache === undefined ? '' : o.cache ? ' --cache' : ' --no-cache'}`;

    if (failing.length) {
      console.log(`\nkernel-diff: first ${Math.min(o.show, failing.length)} mismatching sequences:`);
      for (const r of failing.slice(0, o.show)) {
        console.log('\n' + h.formatMismatch(r.mismatches[0], r.input, { repro: repro(r.seed), trace: r.trace }));
      }
      console.log('\nkernel-diff: mismatch groups (first mismatch of each sequence), most frequent first:');
      for (const [sig, rs] of sorted) {
        console.log(`  ${String(rs.length).padStart(5)}  ${sig}   e.g. seeds ${rs.slice(0, 5).map((r) => r.seed).join(' ')}`);
      }
    }
    if (wgroups.size) {
      console.log(`\nkernel-diff: warnings (not mismatches${o.strictErrors ? '' : '; --strict-errors makes them count'}):`);
      for (const [sig, ws] of [...wgroups.entries()].sort((a, b) => b[1].length - a[1].length).slice(0, 15)) {
        const x = ws[0];
        console.log(`  ${String(ws.length).padStart(5)}  ${sig}   e.g. seed ${x.r.seed}` + (x.w.op ? ` op ${x.w.opIndex}: ${h.formatOp(x.w.op)}\n         kernel ${JSON.stringify(x.w.kernel)}\n         engine ${JSON.stringify(x.w.engine)}` : ''));
      }
    }

    // Minimise one representative per group.
    /** @type {Array<{ sig: string, count: number, seeds: number[], min: any, orig: any }>} */
    const minimized = [];
    if (o.minimize && sorted.length) {
      console.log(`\nkernel-diff: minimising ${Math.min(sorted.length, Math.max(o.show, 1) * 4)} groups...`);
      const todo = sorted.slice(0, Math.max(o.show, 1) * 4);
      let gi = 0;
      await Promise.all(
        Array.from({ length: Math.min(o.jobs, todo.length) }, async (_, slot) => {
          while (gi < todo.length) {
            const [sig, rs] = todo[gi++];
            const r = rs.slice().sort((a, b) => a.input.ops.length - b.input.ops.length || a.seed - b.seed)[0];
            const msg = await p.run(slot, { type: 'minimize', seed: r.seed, input: r.input, maxRuns: 300 }, Math.max(o.timeout, 600), `min-${r.seed}`);
            minimized.push({ sig, count: rs.length, seeds: rs.map((x) => x.seed), min: msg.type === 'minimized' ? msg.min : null, orig: r });
          }
        }),
      );
      minimized.sort((a, b) => b.count - a.count);
      for (const g of minimized) {
        console.log(`\n[${g.count}x] ${g.sig}`);
        if (g.min) {
          const m = g.min.result.mismatches.find((/** @type {any} */ x) => x.signature === g.min.signature) || g.min.result.mismatches[0];
          if (g.min.signature !== g.sig) console.log(`  (with a tree check after every op, the first divergence of this case is earlier: ${g.min.signature})`);
          console.log(h.formatMismatch(m, g.min.input, { repro: `from ${repro(g.orig.seed)}`, trace: g.min.result.trace }));
        } else {
          console.log('  (did not reproduce with per-op tree checks; original:)\n' + h.formatMismatch(g.orig.mismatches[0], g.orig.input, { repro: repro(g.orig.seed), trace: g.orig.trace }));
        }
      }
      if (o.saveCases) {
        fs.mkdirSync(o.saveCases, { recursive: true });
        minimized.forEach((g, i) => {
          if (!g.min) return;
          const file = path.join(o.saveCases, `finding-${i + 1}-seed-${g.orig.seed}.json`);
          fs.writeFileSync(file, JSON.stringify({ signature: g.sig, ...g.min.input }, null, 1) + '\n');
        });
        console.log(`\nkernel-diff: minimised cases saved in ${o.saveCases} (replay: npm run test:kernel -- --case FILE)`);
      }
    }

    if (o.findings) {
      const lines = [`# kernel-diff findings`, '', `Run: \`${['npm run test:kernel --', ...process.argv.slice(2)].join(' ')}\` (first seed ${o.seed})`, '',
        `Result: ${work.length} sequences, ${opsTotal} ops, ${failing.length} mismatching sequences, ${sorted.length} distinct signatures.`, ''];
      lines.push('## Groups (first mismatch of each sequence), most frequent first', '');
      for (const [sig, rs] of sorted) lines.push(`- **${rs.length}x** \`${sig}\` — seeds ${rs.slice(0, 8).map((r) => r.seed).join(', ')}`);
      lines.push('');
      for (const g of minimized) {
        lines.push(`## ${g.count}x ${g.sig}`, '', '```');
        if (g.min) {
          const m = g.min.result.mismatches.find((/** @type {any} */ x) => x.signature === g.min.signature) || g.min.result.mismatches[0];
          if (g.min.signature !== g.sig) lines.push(`  (with a tree check after every op, the first divergence of this case is earlier: ${g.min.signature})`);
          lines.push(h.formatMismatch(m, g.min.input, { repro: `minimised from ${repro(g.orig.seed)}`, trace: g.min.result.trace }));
        } else lines.push(h.formatMismatch(g.orig.mismatches[0], g.orig.input, { repro: repro(g.orig.seed), trace: g.orig.trace }));
        lines.push('```', '');
      }
      if (wgroups.size) {
        lines.push('## Error-detail warnings', '');
        for (const [sig, ws] of [...wgroups.entries()].sort((a, b) => b[1].length - a[1].length)) {
          const x = ws[0];
          lines.push(`- **${ws.length}x** \`${sig}\` e.g. seed ${x.r.seed}` + (x.w.op ? ` op ${x.w.opIndex} \`${h.formatOp(x.w.op)}\`: kernel \`${JSON.stringify(x.w.kernel)}\` engine \`${JSON.stringify(x.w.engine)}\`` : ''));
        }
      }
      fs.mkdirSync(path.dirname(path.resolve(o.findings)), { recursive: true });
      fs.writeFileSync(o.findings, lines.join('\n') + '\n');
      console.log(`\nkernel-diff: findings written to ${o.findings}`);
    }

    console.log(`\nkernel-diff: ${work.length} sequences, ${opsTotal} ops, ${failing.length} mismatches${warnCount ? ` (${warnCount} warnings)` : ''}`);
    return failing.length ? 1 : 0;
  } finally {
    await pool.close();
    if (!h.cleanupDir(scratchRoot)) console.error(`kernel-diff: warning: could not fully clean ${scratchRoot}`);
  }
}
