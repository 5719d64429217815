/*
 * Issue 15's turn-taking as a per-session opt-in at `initialize`
 * ("turn_taking": {...}); a client that sends nothing gets the seed's
 * behaviour and the seed's `initialized`. Bad settings are refused with a
 * clear error and the connection may initialize again. (What each setting
 * does is tested in virtual time: tests/scenarios/test_turn_taking.c.)
 */

import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, Client, loadWs } from './helpers.mjs';

const WebSocket = await loadWs();
let server;
before(async () => { server = await startServer(); });
after(async () => { await server.stop(); });

test('a seed client gets no turn_taking in initialized; an opted-in one gets what it asked', async () => {
  const seed = await Client.open(WebSocket, server.ws());
  seed.send({ type: 'initialize' });
  const a = await seed.next('initialized');
  assert.equal(a.turn_taking, undefined);
  seed.close();
  const c = await Client.open(WebSocket, server.ws());
  c.send({ type: 'initialize', turn_taking: { preempt_ms: 150, resume_ms: 1500, backchannels: ['mhm', 'uh huh'],
    interrupt_min_words: 2, duck_db: -15, think_silence_ms: 3000 } });
  const b = await c.next('initialized');
  assert.deepEqual(b.turn_taking, { preempt_ms: 150, resume_ms: 1500, backchannels: ['mhm', 'uh huh'],
    interrupt_min_words: 2, duck_db: -15, duck_ramp_ms: 10, think_silence_ms: 3000 });
  c.close();
});

test('bad turn_taking settings are refused, and initialize works afterwards', async () => {
  const c = await Client.open(WebSocket, server.ws());
  c.send({ type: 'initialize', turn_taking: { preempt_ms: 10 } });
  const e1 = await c.next('error');
  assert.equal(e1.code, 'out_of_range');
  assert.match(e1.message, /preempt_ms/);
  c.send({ type: 'initialize', turn_taking: { vad_start_ms: 10 } });
  const e2 = await c.nextError('bad_field');
  assert.match(e2.message, /no setting 'vad_start_ms'/);
  c.send({ type: 'initialize', turn_taking: 5 });
  await c.nextError('bad_field');
  c.send({ type: 'initialize' });
  await c.next('initialized');
  c.close();
});
