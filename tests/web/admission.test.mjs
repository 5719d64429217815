/*
 * Admission control (issue 16): a server refuses the session it cannot
 * serve instead of slowing down everyone. Past --max-sessions a WebSocket
 * handshake gets HTTP 503 and a seat comes back when a learner leaves; while
 * the process uses more than --max-load of its cores, `initialize` gets the
 * error `server_full` saying what to do, and the sessions already admitted
 * go on. An opted-in client sees load and capacity in its statistics; a seed
 * client's performance_summary is unchanged.
 */

import test from 'node:test';
import assert from 'node:assert/strict';
import { startServer, Client, loadWs, sleep, tmpDir, flitePcm, streamPcm, requireTools, SLOW } from './helpers.mjs';

async function initialized(WebSocket, server, extra = {}) {
  const c = await Client.open(WebSocket, server.ws());
  c.send({ type: 'initialize', character: 'times-tables', ...extra });
  await c.next('initialized');
  return c;
}

test('past --max-sessions the handshake gets 503, and a seat comes back', async () => {
  const WebSocket = await loadWs();
  const server = await startServer({ args: ['--max-sessions', '2'] });
  try {
    const a = await initialized(WebSocket, server, { events: 'all' });
    const b = await initialized(WebSocket, server);
    const refused = await Client.open(WebSocket, server.ws(), { waitConnected: false }).then(
      () => null, (err) => err);
    assert.ok(refused, 'a third connection is refused');
    assert.equal(refused.status, 503);
    a.send({ type: 'get_performance_summary' });
    const sum = await a.next('performance_summary');
    assert.deepEqual({ sessions: sum.server.sessions, capacity: sum.server.capacity }, { sessions: 2, capacity: 2 });
    assert.ok(sum.server.cpu_load >= 0 && sum.server.max_load === 0.9);
    b.send({ type: 'get_performance_summary' });
    const seed = await b.next('performance_summary');
    assert.equal(seed.server, undefined, 'a seed client sees the seed reply');
    a.close();
    await a.closedPromise();
    await sleep(200);
    const c = await initialized(WebSocket, server);
    c.send({ type: 'ping' });
    await c.next('pong');
    b.close();
    c.close();
  } finally {
    await server.stop();
  }
});

test('while the cores are busier than --max-load, initialize gets server_full', async () => {
  requireTools('flite', 'sox');
  const WebSocket = await loadWs();
  const dir = tmpDir('vt-admit-');
  const speech = flitePcm('what is seven times eight, and what is nine times six', dir, 'awb');
  const server = await startServer({ args: ['--workers', '1', '--max-load', '0.01'] });
  try {
    const a = await initialized(WebSocket, server);
    /* a learner talking keeps the recogniser busy for a few seconds */
    await streamPcm(speech, (buf) => a.sendBinary(buf));
    await sleep(1200);
    const b = await Client.open(WebSocket, server.ws());
    b.send({ type: 'initialize', character: 'times-tables' });
    const err = await b.nextError('server_full', { timeoutMs: 10000 * SLOW });
    assert.match(err.message, /too busy to answer in real time .* try again in a minute/);
    /* the refused client may still ask, and the admitted one goes on */
    a.send({ type: 'ping' });
    await a.next('pong');
    a.close();
    b.close();
  } finally {
    await server.stop();
  }
});
