#!/usr/bin/env node
/**
 * A dev server for a site made of a theme (the lower layer) and an override directory (the
 * upper layer), with live reload over server-sent events.
 *
 *   npm run example:dev-server                      # this directory's theme/ and site/
 *   node examples/dev-server/server.js --theme t --site s --port 0 --host 127.0.0.1
 *
 * Pages are served from the merged view (ov.fs): a file in site/ shadows the theme's file of
 * the same name. One recursive fs.watch on the merged view drives the reload: it reports an
 * override created or deleted, and a theme file edited while no override hides it, and stays
 * silent when the theme changes under an override. Every browser tab listening on
 * /__livereload gets a `reload` event naming the merged path.
 *
 * It prints `listening on http://HOST:PORT/` once ready (tests read the port from it).
 */
'use strict';
const http = require('http');
const path = require('path');
// The package itself (package.json "exports" self-reference): run `npm run build` first.
const { createOverlay } = require('overlay-fs');

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const theme = path.resolve(option('theme', path.join(__dirname, 'theme')));
const site = path.resolve(option('site', path.join(__dirname, 'site')));
const host = option('host', '127.0.0.1');
const port = Number(option('port', process.env.PORT || 3000));

// The merged view lives at a path that never exists on disk; only ov.fs sees it.
const root = path.join(__dirname, '.merged-site');
const ov = createOverlay({ mountpoint: root, upper: site, lower: [theme] });

const TYPES = { '.html': 'text/html; charset=utf-8', '.css': 'text/css', '.js': 'text/javascript', '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png', '.txt': 'text/plain; charset=utf-8' };
const RELOAD_SNIPPET = `<script>new EventSource('/__livereload').addEventListener('reload', () => location.reload());</script>`;

/** Browsers listening for reloads. */
const clients = new Set();

const watcher = ov.fs.watch(root, { recursive: true }, (eventType, filename) => {
  const data = JSON.stringify({ eventType, path: '/' + filename });
  for (const res of clients) res.write(`event: reload\ndata: ${data}\n\n`);
});

function liveReload(req, res) {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.write(': connected\n\n');
  clients.add(res);
  req.on('close', () => clients.delete(res));
}

function serveFile(req, res) {
  const urlPath = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  // Normalised under the merged root: '..' cannot climb out of it.
  let file = path.join(root, path.posix.normalize('/' + urlPath));
  ov.fs.stat(file, (err, st) => {
    if (!err && st.isDirectory()) file = path.join(file, 'index.html');
    ov.fs.readFile(file, (err2, body) => {
      if (err2) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        return res.end('not found\n');
      }
      const type = TYPES[path.extname(file)] || 'application/octet-stream';
      if (type.startsWith('text/html')) {
        const html = body.toString('utf8');
        body = html.includes('</body>') ? html.replace('</body>', `${RELOAD_SNIPPET}</body>`) : html + RELOAD_SNIPPET;
      }
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    });
  });
}

const server = http.createServer((req, res) => {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405);
    return res.end();
  }
  if (req.url === '/__livereload') return liveReload(req, res);
  serveFile(req, res);
});

server.listen(port, host, () => {
  const { port: actual } = server.address();
  console.log(`listening on http://${host}:${actual}/`);
  console.log(`theme (lower): ${theme}\noverrides (upper): ${site}\nedit, add or delete files in the override directory and the page reloads`);
});

function stop() {
  watcher.close();
  for (const res of clients) res.end();
  server.close(() => process.exit(0));
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
