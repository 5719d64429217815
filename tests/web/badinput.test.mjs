/*
 * Bad input against `serve`, the classes the protocol suite does not
 * already try (docs/RELIABILITY.md lists every class and the test behind
 * it): deeply nested JSON, numbers beyond double, fragmented frames, a
 * hundred clients dropping mid-answer, a handshake flood, a client that
 * sends its headers one byte at a time, and path traversal on the static
 * files. After each, the server is still up and a new session works; at
 * the end it exits 0 on SIGTERM without a sanitizer report.
 */

import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer, Client, loadWs, sleep, SLOW } from './helpers.mjs';

const WebSocket = await loadWs();
let server;

before(async () => {
  server = await startServer();
});

after(async () => {
  await server.stop();
});

async function session(extra = {}) {
  const c = await Client.open(WebSocket, server.ws());
  c.send({ type: 'initialize', character: 'times-tables', ...extra });
  await c.next('initialized');
  return c;
}

/* the server still answers a new client */
async function stillServes() {
  assert.ok(server.alive(), 'the server is running');
  const c = await session();
  c.send({ type: 'ping' });
  await c.next('pong');
  c.close();
}

/* a raw TCP client: what it reads until the server closes or ms pass */
function raw(send, { ms = 3000, drip = 0 } = {}) {
  return new Promise((resolve) => {
    const s = net.connect(server.port, '127.0.0.1');
    let got = '';
    const done = () => { s.destroy(); resolve(got); };
    const timer = setTimeout(done, ms);
    s.on('data', (d) => { got += d.toString('latin1'); });
    s.on('close', () => { clearTimeout(timer); resolve(got); });
    s.on('error', () => {});
    s.on('connect', async () => {
      if (!drip) { s.write(send); return; }
      for (let i = 0; i < send.length && !s.destroyed; i++) {
        s.write(send[i]);
        await sleep(drip);
      }
    });
  });
}

test('deeply nested JSON is bad_json (no stack overflow); the session goes on', async () => {
  const c = await session();
  for (const depth of [1100, 100000]) {
    const from = c.log.length;
    c.send('['.repeat(depth) + ']'.repeat(depth));
    const e = await c.nextError('bad_json', { from });
    assert.ok(e.message.length < 400, 'the message is short, nothing echoed');
  }
  c.send(`{"type":"ping","x":${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}}`);
  await c.nextError('bad_json');
  c.send({ type: 'ping' });
  await c.next('pong');
  c.close();
  await stillServes();
});

test('numbers beyond double and huge integers are refused as out of range or bad fields', async () => {
  const c = await session();
  c.send('{"type":"configure_interruption","threshold":1e400,"cooldown":1}');
  const e = await c.next('error');
  assert.ok(['out_of_range', 'bad_field'].includes(e.code), e.code);
  c.send('{"type":"configure_interruption","threshold":-1e308}');
  assert.ok(['out_of_range', 'bad_field'].includes((await c.next('error')).code));
  c.send('{"type":"playback_position","samples":123456789012345678901234567890}');
  assert.ok(['out_of_range', 'bad_field'].includes((await c.next('error')).code));
  c.send({ type: 'get_interruption_stats' });
  const stats = await c.next('interruption_stats');
  assert.equal(stats.interruption_threshold, 1.5, 'the settings are unchanged');
  c.close();
  await stillServes();
});

test('a message sent in three fragments is one message', async () => {
  const c = await session();
  const msg = JSON.stringify({ type: 'text_message', text: 'what is two times three' });
  const parts = [msg.slice(0, 5), msg.slice(5, 20), msg.slice(20)];
  c.ws.send(parts[0], { fin: false });
  c.ws.send(parts[1], { fin: false });
  c.ws.send(parts[2], { fin: true });
  const p = await c.next('processing_started', { timeoutMs: 20000 * SLOW });
  assert.equal(p.text, 'what is two times three');
  c.close();
  await stillServes();
});

test('a hundred clients that drop in the middle of an answer: nothing leaks, the server stays up', async () => {
  for (let round = 0; round < 10; round++) {
    const batch = [];
    for (let i = 0; i < 10; i++) batch.push(session(i % 2 ? { audio_output: 'pcm' } : {}));
    const clients = await Promise.all(batch);
    for (const c of clients) c.send({ type: 'text_message', text: 'hello' });
    await Promise.all(clients.map((c) => c.waitIndex((e) => e.bin || e.json?.type === 'audio_chunk',
      { timeoutMs: 30000 * SLOW, what: 'answer audio' })));
    clients.forEach((c, i) => (i % 3 ? c.terminate() : c.close()));
  }
  await sleep(500);
  await stillServes();
});

test('a handshake flood: 200 connections at once, half never finishing the handshake', async () => {
  const half = 'GET /ws/audio HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n';
  const full = `${half}Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;
  const all = [];
  for (let i = 0; i < 200; i++) all.push(raw(i % 2 ? half : full, { ms: 1500 }));
  const replies = await Promise.all(all);
  /* every complete handshake is answered: upgraded, or refused with 503
   * once the server holds as many connections as it can serve */
  const full_replies = replies.filter((r, i) => i % 2 === 0);
  const upgraded = full_replies.filter((r) => r.startsWith('HTTP/1.1 101')).length;
  const refused = full_replies.filter((r) => /^HTTP\/1\.[01] 503/.test(r)).length;
  assert.ok(upgraded >= 8, `handshakes up to capacity succeed (${upgraded})`);
  assert.equal(upgraded + refused, 100, `each complete handshake is answered (${upgraded} upgraded, ${refused} refused)`);
  await stillServes();
});

test('a client that sends its headers one byte at a time does not hold up others', async () => {
  const slow = raw('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ' + 'x'.repeat(40) + '\r\n\r\n',
    { drip: 100, ms: 8000 });
  await sleep(500);
  const t0 = performance.now();
  await stillServes();
  assert.ok(performance.now() - t0 < 3000 * SLOW, 'another client is served meanwhile');
  const got = await slow;
  assert.ok(got === '' || /^HTTP\/1\.1 (200|408|400)/.test(got), `the slow client: ${got.slice(0, 40)}`);
});

test('path traversal on the static files gets no file outside web/', async () => {
  for (const p of ['/../../../../etc/passwd', '/%2e%2e/%2e%2e/%2e%2e/etc/passwd', '/..%2f..%2f..%2fetc%2fpasswd',
    '//etc/passwd', '/web/../../CMakeLists.txt', '/%00index.html']) {
    const got = await raw(`GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`, { ms: 3000 });
    assert.ok(!/root:.*:0:0:/.test(got), `${p}: /etc/passwd served`);
    assert.ok(!/cmake_minimum_required/.test(got), `${p}: a file outside web/ served`);
    /* refused, or (for "/%00index.html", read as "/") the client's own page */
    assert.ok(/^HTTP\/1\.1 (400|403|404)/.test(got) || (/^HTTP\/1\.1 200/.test(got) && /voicetutor/.test(got)),
      `${p}: ${got.slice(0, 40)}`);
  }
  await stillServes();
});
