/**
 * express 5: `express.static` and `res.sendFile` serve a site whose theme is the lower layer and
 * whose overrides (and one deletion) are the upper. The server runs in a child process, once
 * on the flattened copy and once on the overlay (preloaded), on 127.0.0.1 with an ephemeral
 * port; GET, HEAD, Range, conditional GET, redirect and 404 responses must be identical,
 * headers (ETag and Last-Modified come from the merged Stats) and bodies byte for byte.
 */
import * as http from 'http';
import { ToolScratch, cleanEnv, startNode, type Started } from './harness';

const ENV = { NODE_ENV: 'production' };

const theme = {
  'public/index.html': '<!doctype html><title>theme</title><link rel="stylesheet" href="/css/site.css">\n',
  'public/css/site.css': 'body { color: #333; font-family: serif; margin: 0 auto; max-width: 40em; }\n',
  'public/img/logo.svg': '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>\n',
  'public/docs/index.html': '<!doctype html><title>docs</title>\n',
  'public/old.html': '<!doctype html><title>removed by the site</title>\n',
  'pages/about.html': '<!doctype html><title>about (theme)</title>\n',
  'pages/contact.html': '<!doctype html><title>contact (theme)</title>\n',
};
const site = {
  'public/index.html': '<!doctype html><title>my site</title><link rel="stylesheet" href="/css/site.css"><p>overridden</p>\n',
  'public/img/logo.svg': '<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20"><circle r="10" cx="10" cy="10"/></svg>\n',
  'public/css/extra.css': 'p { color: teal; }\n',
  'public/old.html': null,
  'pages/about.html': '<!doctype html><title>about (site)</title>\n',
};

const SERVER = `'use strict';
const path = require('path');
const express = require('express');
const root = process.argv[2];
const app = express();
app.use(express.static(path.join(root, 'public')));
app.get('/page/:name', (req, res, next) => {
  res.sendFile(req.params.name + '.html', { root: path.join(root, 'pages') }, (err) => {
    if (err) res.status(err.status || 500).type('text').send('sendFile: ' + (err.code || err.message) + '\\n');
  });
});
app.use((req, res) => res.status(404).type('text').send('no route for ' + req.path + '\\n'));
// Errors from serve-static (416, ...): answer without finalhandler's stderr log.
app.use((err, req, res, next) => res.status(err.status || 500).set(err.headers || {}).type('text').send(err.message + '\\n'));
const server = app.listen(0, '127.0.0.1', () => console.log(JSON.stringify(server.address())));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

interface Req {
  method?: string;
  path: string;
  headers?: Record<string, string>;
}
const REQUESTS: Req[] = [
  { path: '/' },
  { path: '/index.html' },
  { path: '/css/site.css' },
  { path: '/css/extra.css' },
  { path: '/img/logo.svg' },
  { method: 'HEAD', path: '/css/site.css' },
  { method: 'HEAD', path: '/img/logo.svg' },
  { path: '/css/site.css', headers: { range: 'bytes=0-9' } },
  { path: '/img/logo.svg', headers: { range: 'bytes=-12' } },
  { path: '/css/site.css', headers: { range: 'bytes=5000-6000' } },
  { path: '/docs' },
  { path: '/docs/' },
  { path: '/old.html' },
  { path: '/missing.txt' },
  { path: '/page/about' },
  { path: '/page/contact' },
  { path: '/page/gone' },
  { method: 'HEAD', path: '/page/about' },
];

interface Reply {
  request: string;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function request(port: number, r: Req): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: r.method ?? 'GET', path: r.path, headers: r.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const headers = { ...res.headers };
        delete headers.date; // the only header that depends on the clock
        resolve({ request: `${r.method ?? 'GET'} ${r.path} ${JSON.stringify(r.headers ?? {})}`, status: res.statusCode!, headers, body: Buffer.concat(chunks).toString('latin1') });
      });
      res.on('error', reject);
    });
    req.setTimeout(5000, () => req.destroy(new Error(`timeout: ${r.path}`)));
    req.on('error', reject);
    req.end();
  });
}

async function session(server: Started): Promise<Reply[]> {
  const { port, address } = JSON.parse(server.firstLine) as { port: number; address: string };
  expect(address).toBe('127.0.0.1');
  const replies: Reply[] = [];
  for (const r of REQUESTS) replies.push(await request(port, r));
  // A conditional GET with the ETag just served.
  const etag = replies[2].headers.etag as string;
  replies.push(await request(port, { path: '/css/site.css', headers: { 'if-none-match': etag } }));
  return replies;
}

test('express.static and res.sendFile serve the layered site exactly like the flattened copy', async () => {
  const s = new ToolScratch('express', { upper: site, lower: [['theme', theme]] }, ['express']);
  let server: Started | undefined;
  try {
    s.setup();
    const script = s.script('server.cjs', SERVER);
    // production: express's development error pages print stack traces, which name overlay-fs frames.
    server = await startNode([script, s.app], s.root, cleanEnv(ENV));
    const base = await session(server);
    await server.stop();
    expect(server.output().stderr).toBe('');
    server = undefined;

    s.retireBaseline();
    s.assertMountVirtual();
    server = await startNode([...s.preloadArgs(), script, s.app], s.root, s.overlayEnv(ENV));
    const over = await session(server);
    await server.stop();
    const { stderr } = server.output();
    server = undefined;
    expect(stderr).toBe('');
    expect(over).toEqual(base);

    // What was served is the merged view, not one layer.
    const by = (p: string, m = 'GET') => base.find((r) => r.request.startsWith(`${m} ${p} `))!;
    expect(by('/').body).toContain('overridden');
    expect(by('/css/site.css').body).toBe(theme['public/css/site.css']);
    expect(by('/css/site.css').headers['last-modified']).toBe('Wed, 01 May 2024 12:00:00 GMT');
    expect(by('/img/logo.svg').body).toBe(site['public/img/logo.svg']);
    expect(by('/old.html').status).toBe(404);
    expect(by('/missing.txt').status).toBe(404);
    expect(by('/docs').status).toBe(301);
    expect(by('/page/about').body).toBe(site['pages/about.html']);
    expect(by('/page/contact').body).toBe(theme['pages/contact.html']);
    expect(by('/page/gone').status).toBe(404);
    expect(base.filter((r) => r.status === 206).map((r) => r.body)).toEqual(['body { col', 'cy="10"/></svg>\n'.slice(-12)]);
    expect(base.find((r) => r.request.includes('5000-6000'))!.status).toBe(416);
    expect(base[base.length - 1].status).toBe(304);
    expect(base.find((r) => r.request.startsWith('HEAD /img/logo.svg'))!.headers['content-length']).toBe(String(site['public/img/logo.svg'].length));
    expect(s.lowersUnchanged()).toBe(true);
  } finally {
    if (server) await server.stop();
    s.dispose();
  }
});
