/**
 * chokidar (v4, unmodified) watching a merged directory under patch(): it uses fs.watch per
 * directory and per file, and fs/promises stat/readdir, all of which the patch routes. Each
 * scenario reports add / change / unlink for the merged view, and a shadowed edit reports
 * nothing. Runs in a child process (the patch changes the process-wide fs; the jest worker's
 * fs is never patched), with the built package (dist/, built by `npm test`).
 *
 * The child runs the scenarios one after another, waiting (3 s at most) for the expected
 * event, then a settle window to collect anything else; for the shadowed edit it waits for a
 * visible control change first, so a wrongly reported shadowed change would be collected.
 */
import { useScratch, json, PATCH_PRELUDE } from '../patch/scratch';

const scratch = useScratch();
const CHOKIDAR = require.resolve('chokidar');

const SCENARIOS = `
  const chokidar = require(${JSON.stringify(CHOKIDAR)}); // after the patch: chokidar keeps references to fs/promises
  const L = path.join(__dirname, 'lower'), U = path.join(__dirname, 'upper');
  const SITE = M + '/site';
  const log = [];
  const raw = [];
  let waiters = [];
  const watcher = chokidar.watch(SITE, { ignoreInitial: true });
  // What fs.watch gave chokidar: the merged watcher's own events.
  watcher.on('raw', (ev, name) => raw.push([ev, String(name)]));
  for (const ev of ['add', 'change', 'unlink', 'addDir', 'unlinkDir']) {
    watcher.on(ev, (p) => { log.push([ev, path.relative(SITE, p)]); waiters.forEach((w) => w()); });
  }
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  function waitFor(ev, rel, from) {
    return new Promise((resolve, reject) => {
      const check = () => log.slice(from).some(([e, p]) => e === ev && p === rel);
      if (check()) return resolve();
      const timer = setTimeout(() => reject(new Error('timed out waiting for ' + ev + ' ' + rel + '; saw ' + JSON.stringify(log.slice(from)))), 3000);
      const w = () => { if (check()) { clearTimeout(timer); waiters = waiters.filter((x) => x !== w); resolve(); } };
      waiters.push(w);
    });
  }
  const results = {};
  const rawSeen = {};
  async function step(name, action, ev, rel, control) {
    const from = log.length, rawFrom = raw.length;
    action();
    if (control) control();
    await waitFor(ev, rel, from);
    await sleep(300);
    results[name] = log.slice(from);
    rawSeen[name] = raw.slice(rawFrom);
  }
  watcher.on('ready', async () => {
    try {
      await step('override created', () => fs.writeFileSync(U + '/site/index.html', 'override index'), 'change', 'index.html');
      const served1 = fs.readFileSync(SITE + '/index.html', 'utf8');
      await step('override edited', () => fs.appendFileSync(U + '/site/index.html', '!'), 'change', 'index.html');
      await step('override deleted', () => fs.unlinkSync(U + '/site/index.html'), 'change', 'index.html');
      const served2 = fs.readFileSync(SITE + '/index.html', 'utf8');
      await step('lower edited, not shadowed', () => fs.appendFileSync(L + '/site/about.html', ' v2'), 'change', 'about.html');
      await step('lower edited under an override', () => fs.appendFileSync(L + '/site/style.css', ' shadowed'), 'change', 'about.html',
        () => fs.appendFileSync(L + '/site/about.html', ' control'));
      await step('new override file', () => fs.writeFileSync(U + '/site/new.html', 'new'), 'add', 'new.html');
      await step('unlink through the overlay (whiteout)', () => fs.unlinkSync(SITE + '/about.html'), 'unlink', 'about.html');
      await step('whiteout removed by another program', () => fs.unlinkSync(U + '/site/.wh.about.html'), 'add', 'about.html');
      await step('whiteout made by another program', () => fs.writeFileSync(U + '/site/.wh.about.html', ''), 'unlink', 'about.html');
      await step('new upper directory', () => { fs.mkdirSync(U + '/site/blog'); fs.writeFileSync(U + '/site/blog/post.html', 'p'); }, 'add', 'blog/post.html');
      await watcher.close();
      out({ results, rawSeen, served1, served2, upper: fs.readdirSync(U + '/site').sort(), lowerAbout: fs.readFileSync(L + '/site/about.html', 'utf8') });
    } catch (err) {
      console.error(err.stack);
      process.exit(1);
    }
  });
`;

const SITE = {
  'lower/site/index.html': 'theme index',
  'lower/site/about.html': 'theme about',
  'lower/site/style.css': 'theme css',
  'upper/site/style.css': 'override css',
};

test('chokidar under patch(): add / change / unlink for the merged view, nothing for a shadowed edit', () => {
  const s = scratch(SITE);
  const r = json(s.script(PATCH_PRELUDE + SCENARIOS));
  const events = (name: string) => r.results[name] as Array<[string, string]>;
  expect(events('override created')).toContainEqual(['change', 'index.html']);
  expect(r.served1).toBe('override index');
  expect(events('override edited')).toContainEqual(['change', 'index.html']);
  expect(events('override deleted')).toContainEqual(['change', 'index.html']);
  expect(r.served2).toBe('theme index');
  expect(events('lower edited, not shadowed')).toEqual([['change', 'about.html']]);
  expect(events('lower edited under an override')).toEqual([['change', 'about.html']]); // the control only
  // Not even fs.watch reported it (chokidar's own mtime check would hide a wrong report).
  expect(r.rawSeen['lower edited under an override'].filter(([, n]: [string, string]) => n === 'style.css')).toEqual([]);
  expect(r.rawSeen['lower edited under an override'].length).toBeGreaterThan(0);
  expect(events('new override file')).toEqual([['add', 'new.html']]);
  expect(events('unlink through the overlay (whiteout)')).toEqual([['unlink', 'about.html']]);
  expect(events('whiteout removed by another program')).toEqual([['add', 'about.html']]);
  expect(events('whiteout made by another program')).toEqual([['unlink', 'about.html']]);
  expect(events('new upper directory')).toEqual(expect.arrayContaining([['addDir', 'blog'], ['add', 'blog/post.html']]));
  // Only merged names, never a whiteout's.
  const all = Object.values(r.results).flat() as Array<[string, string]>;
  expect(all.filter(([, p]) => p.includes('.wh.'))).toEqual([]);
  expect(all.filter(([e]) => e !== 'change' && e !== 'add' && e !== 'unlink' && e !== 'addDir')).toEqual([]);
  expect(r.upper).toEqual(['.wh.about.html', 'blog', 'new.html', 'style.css']);
  expect(r.lowerAbout).toBe('theme about v2 control');
});

test('under patch(), fs.watch and fs.promises.watch on merged paths report merged names', () => {
  const s = scratch({ 'lower/d/a.txt': 'a', 'upper/d/b.txt': 'b' });
  const r = json(s.script(PATCH_PRELUDE + `
    const L = path.join(__dirname, 'lower'), U = path.join(__dirname, 'upper');
    (async () => {
      const w = fs.watch(M + '/d');
      const first = new Promise((resolve) => w.once('change', (t, f) => resolve([t, f])));
      fs.unlinkSync(M + '/d/a.txt'); // through the overlay: a whiteout in the upper
      const viaWatch = await first;
      w.close();
      const ac = new AbortController();
      const got = [];
      const loop = (async () => {
        try { for await (const e of fs.promises.watch(M + '/d', { signal: ac.signal })) { got.push([e.eventType, e.filename]); ac.abort(); } }
        catch (err) { return err.name; }
      })();
      fs.appendFileSync(U + '/d/b.txt', '!');
      const ended = await loop;
      out({ viaWatch, got, ended });
    })();
  `));
  expect(r).toEqual({ viaWatch: ['rename', 'a.txt'], got: [['change', 'b.txt']], ended: 'AbortError' });
});
