/*
 * Any web page must not drive the local tutor (issue 17): in Debian's
 * Chromium, a page served from another local port (as any site the learner
 * visits could be) tries to open the tutor's WebSocket and is refused
 * (HTTP 403 at the handshake, so the page sees the socket fail and no
 * message); the tutor's own page connects; with --allow-origin that other
 * page is let in.
 */

import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { loadPlaywright, startServer } from './helpers.mjs';

const { chromium } = await loadPlaywright();
const CHROMIUM = process.env.VT_CHROMIUM || '/usr/bin/chromium';
const cleanup = [];

after(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => {});
});

/* A page on its own local port whose script opens ws://127.0.0.1:PORT/ws/audio
 * and reports what happened in window.result. */
async function otherSite(tutorPort) {
  const html = `<!doctype html><title>another site</title><script>
    window.result = new Promise((resolve) => {
      const ws = new WebSocket('ws://127.0.0.1:${tutorPort}/ws/audio');
      let got = null;
      ws.onmessage = (e) => { got = e.data; ws.close(); resolve({ opened: true, message: got }); };
      ws.onerror = () => resolve({ opened: false, message: got });
      ws.onclose = () => resolve({ opened: got !== null, message: got });
      setTimeout(() => resolve({ opened: ws.readyState === 1, message: got }), 8000);
    });
  </script>`;
  const srv = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(html);
  });
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise((resolve) => srv.close(resolve)));
  return `http://127.0.0.1:${srv.address().port}/`;
}

async function browserPage() {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run'],
  });
  cleanup.push(() => browser.close());
  return browser.newPage();
}

async function tryFrom(page, url) {
  await page.goto(url);
  return page.evaluate(() => window.result);
}

test('a page from another local port cannot open the tutor\'s WebSocket; the tutor\'s own page can', async () => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} not found: install Debian's chromium (make deps)`);
  const server = await startServer();
  cleanup.push(() => server.stop());
  const page = await browserPage();
  const elsewhere = await tryFrom(page, await otherSite(server.port));
  assert.deepEqual(elsewhere, { opened: false, message: null }, 'the other site got nothing');
  /* the tutor's own page, same browser */
  await page.goto(server.http('/'));
  const own = await page.evaluate((port) => new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/audio`);
    ws.onmessage = (e) => { resolve(JSON.parse(e.data).type); ws.close(); };
    ws.onerror = () => resolve('error');
  }), server.port);
  assert.equal(own, 'connected');
  assert.ok(server.alive());
});

test('--allow-origin lets that other front end in', async () => {
  const page = await browserPage();
  /* the other site's port is known only once it listens: start it first */
  const probe = http.createServer();
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const sitePort = probe.address().port;
  await new Promise((resolve) => probe.close(resolve));
  const server = await startServer({ args: ['--allow-origin', `http://127.0.0.1:${sitePort}`] });
  cleanup.push(() => server.stop());
  const html = `<!doctype html><script>window.result = new Promise((resolve) => {
    const ws = new WebSocket('ws://127.0.0.1:${server.port}/ws/audio');
    ws.onmessage = (e) => { resolve({ opened: true, type: JSON.parse(e.data).type }); ws.close(); };
    ws.onerror = () => resolve({ opened: false });
  });</script>`;
  const site = http.createServer((req, res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end(html); });
  await new Promise((resolve) => site.listen(sitePort, '127.0.0.1', resolve));
  cleanup.push(() => new Promise((resolve) => site.close(resolve)));
  const got = await tryFrom(page, `http://127.0.0.1:${sitePort}/`);
  assert.deepEqual(got, { opened: true, type: 'connected' });
});
