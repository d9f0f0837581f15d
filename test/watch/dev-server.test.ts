/**
 * examples/dev-server: started as a child process on 127.0.0.1 with an ephemeral port, over a
 * copy of its theme and an empty override directory. A live-reload client (server-sent
 * events) sees a reload for each override edited, added or deleted and for a theme edit no
 * override hides, none for a theme edit under an override; the served pages follow. Uses the
 * build in dist/ (`npm test` builds first). The server is killed in `finally`.
 */
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { TIMEOUT_MS, SETTLE_MS, within } from './helpers';

const ROOT = path.resolve(__dirname, '..', '..');
const SERVER = path.join(ROOT, 'examples', 'dev-server', 'server.js');

function start(theme: string, site: string): { child: ChildProcess; url: Promise<string> } {
  const child = spawn(process.execPath, [SERVER, '--theme', theme, '--site', site, '--port', '0', '--host', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => { err += d; });
  const url = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}\n${out}\n${err}`)));
  });
  return { child, url: within(url, 'the server to listen') };
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    }).on('error', reject);
  });
}

interface Reloads {
  readonly paths: string[];
  next(p: string): Promise<void>;
  mark(): void;
  since(): string[];
  close(): void;
}

/** A live-reload client: collects the merged paths of `reload` events. */
function listen(url: string): Promise<Reloads> {
  return within(new Promise((resolve, reject) => {
    const paths: string[] = [];
    let markAt = 0;
    let buffer = '';
    const waiters = new Set<() => void>();
    const req = http.get(url + '__livereload', (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        buffer += chunk;
        let i;
        while ((i = buffer.indexOf('\n\n')) >= 0) {
          const msg = buffer.slice(0, i);
          buffer = buffer.slice(i + 2);
          const data = /^data: (.*)$/m.exec(msg);
          if (/^event: reload$/m.test(msg) && data) paths.push(JSON.parse(data[1]).path);
          for (const w of [...waiters]) w();
        }
      });
      resolve({
        paths,
        mark: () => { markAt = paths.length; },
        since: () => paths.slice(markAt),
        next: (p) => within(new Promise<void>((done) => {
          const check = () => { if (paths.slice(markAt).includes(p)) { waiters.delete(check); done(); } };
          waiters.add(check);
          check();
        }), `a reload for ${p}`),
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
  }), 'the live-reload stream');
}

test('live reload and served content follow override edits, additions and deletions', async () => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ovfs-devserver-')));
  const theme = path.join(dir, 'theme');
  const site = path.join(dir, 'site');
  fs.cpSync(path.join(ROOT, 'examples', 'dev-server', 'theme'), theme, { recursive: true });
  fs.mkdirSync(site);
  const { child, url: ready } = start(theme, site);
  let reloads: Reloads | null = null;
  try {
    const url = await ready;
    reloads = await listen(url);
    const page = async (p: string) => (await get(url + p.slice(1))).body;
    expect(await page('/about.html')).toContain('About (from the theme)');
    expect(await page('/about.html')).toContain("new EventSource('/__livereload')");

    // An override added: reload, and the override is served.
    fs.writeFileSync(path.join(site, 'about.html'), '<html><body>About (override)</body></html>');
    await reloads.next('/about.html');
    expect(await page('/about.html')).toContain('About (override)');

    // The override edited.
    reloads.mark();
    fs.writeFileSync(path.join(site, 'about.html'), '<html><body>About (override v2)</body></html>');
    await reloads.next('/about.html');
    expect(await page('/about.html')).toContain('About (override v2)');

    // The theme edited under the override: no reload (checked after a visible control edit).
    reloads.mark();
    fs.appendFileSync(path.join(theme, 'about.html'), '<!-- theme edit -->');
    fs.appendFileSync(path.join(theme, 'style.css'), '/* control */');
    await reloads.next('/style.css');
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    expect(reloads.since()).toEqual(['/style.css']);
    expect(await page('/style.css')).toContain('/* control */');

    // A new page in a new override directory.
    reloads.mark();
    fs.mkdirSync(path.join(site, 'blog'));
    fs.writeFileSync(path.join(site, 'blog', 'index.html'), '<html><body>Blog</body></html>');
    await reloads.next('/blog/index.html');
    expect(await page('/blog/')).toContain('Blog');

    // The override deleted: the theme's page comes back (with the theme edit made meanwhile).
    reloads.mark();
    fs.unlinkSync(path.join(site, 'about.html'));
    await reloads.next('/about.html');
    const back = await page('/about.html');
    expect(back).toContain('About (from the theme)');
    expect(back).toContain('<!-- theme edit -->');
    expect((await get(url + 'missing.html')).status).toBe(404);
  } finally {
    reloads?.close();
    child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 6 * TIMEOUT_MS);
