/*
 * What operators need (issue 13, part 4): GET /healthz, GET /metrics in the
 * Prometheus text format, and the graceful drain on SIGTERM:
 *   - /healthz says ready (200), then draining (503) after SIGTERM;
 *   - /metrics counts sessions, turns and interruptions by trigger, and has
 *     the interruption-to-flush and first-audio histograms, engine errors and
 *     queue depths, each with HELP and TYPE lines;
 *   - on SIGTERM an idle session is closed at once with 1001 and the reason
 *     "server draining: reconnect", a session whose answer is in progress
 *     gets the whole answer (response_complete) before its close, a new
 *     WebSocket is refused with 503, and the process exits 0;
 *   - an answer longer than --drain-ms is cut at the bound;
 *   - a lesson that does not exist or a progress database that cannot be
 *     reached stops the server at start, saying which, instead of failing
 *     every session's initialize; a recogniser that does not load is said
 *     at start too (the server still serves typed sessions).
 */

import test from 'node:test';
import fs from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import { startServer, serveExpectingFailure, Client, loadWs, sleep, SLOW, tmpDir } from './helpers.mjs';

async function get(url) {
  const r = await fetch(url);
  return { status: r.status, type: r.headers.get('content-type') || '', text: await r.text() };
}

/* the value of one sample line, e.g. metric(text, 'voicetutor_turns_total') */
function metric(text, name) {
  const re = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} (\\S+)$`, 'm');
  const m = re.exec(text);
  return m ? Number(m[1]) : NaN;
}

async function closed(c, timeoutMs) {
  const t0 = Date.now();
  while (!c.closed && Date.now() - t0 < timeoutMs) await sleep(20);
  return c.closed;
}

test('healthz and metrics', { timeout: 120000 * SLOW }, async () => {
  const WebSocket = await loadWs();
  const server = await startServer({ args: ['--stt', 'none'] });
  try {
    const h = await get(server.http('/healthz'));
    assert.equal(h.status, 200);
    assert.equal(h.text.trim(), 'ready');

    const c = await Client.open(WebSocket, server.ws());
    c.send({ type: 'initialize', character: 'times-tables', speak_welcome: false });
    await c.next('initialized');
    c.send({ type: 'text_message', text: 'hello' });
    await c.next('response_start', { timeoutMs: 20000 * SLOW });
    /* a typed message over the answer interrupts it (trigger "text") */
    c.send({ type: 'text_message', text: 'what is two times three' });
    await c.next('interruption_detected', { timeoutMs: 20000 * SLOW });
    await c.next('response_complete', { timeoutMs: 30000 * SLOW });

    const m = await get(server.http('/metrics'));
    assert.equal(m.status, 200);
    assert.match(m.type, /^text\/plain; version=0\.0\.4/);
    for (const name of ['voicetutor_sessions', 'voicetutor_sessions_total', 'voicetutor_turns_total',
      'voicetutor_interruptions_total', 'voicetutor_interruption_flush_seconds',
      'voicetutor_first_audio_seconds', 'voicetutor_engine_errors_total', 'voicetutor_queue_depth',
      'voicetutor_output_queued_bytes', 'voicetutor_draining']) {
      assert.match(m.text, new RegExp(`^# TYPE ${name} `, 'm'), `${name} has a TYPE line`);
      assert.match(m.text, new RegExp(`^# HELP ${name} `, 'm'), `${name} has a HELP line`);
    }
    assert.equal(metric(m.text, 'voicetutor_sessions'), 1);
    assert.equal(metric(m.text, 'voicetutor_sessions_total'), 1);
    assert.ok(metric(m.text, 'voicetutor_turns_total') >= 2, m.text);
    assert.equal(metric(m.text, 'voicetutor_interruptions_total{trigger="text"}'), 1);
    assert.equal(metric(m.text, 'voicetutor_interruption_flush_seconds_count'), 1);
    assert.ok(metric(m.text, 'voicetutor_first_audio_seconds_count') >= 1, m.text);
    assert.equal(metric(m.text, 'voicetutor_first_audio_seconds_bucket{le="+Inf"}'),
      metric(m.text, 'voicetutor_first_audio_seconds_count'));
    assert.ok(metric(m.text, 'voicetutor_queue_depth{pool="cpu"}') >= 0);
    /* every sample line is NAME{labels} VALUE */
    for (const line of m.text.split('\n')) {
      if (!line || line.startsWith('#')) continue;
      assert.match(line, /^[a-z_]+(\{[a-z_]+="[^"]*"\})? [-+0-9.eInf]+$/, line);
    }
    const nf = await get(server.http('/metricsx'));
    assert.equal(nf.status, 404);
    c.close();
  } finally {
    await server.stop();
  }
});

test('SIGTERM drains: idle sessions close at once, answers in progress finish', { timeout: 120000 * SLOW }, async () => {
  const WebSocket = await loadWs();
  const server = await startServer({ args: ['--stt', 'none', '--drain-ms', '20000'] });
  const idle = await Client.open(WebSocket, server.ws());
  idle.send({ type: 'initialize', character: 'times-tables', speak_welcome: false });
  await idle.next('initialized');
  const busy = await Client.open(WebSocket, server.ws());
  busy.send({ type: 'initialize', character: 'times-tables', speak_welcome: false });
  await busy.next('initialized');
  const from = busy.log.length;
  busy.send({ type: 'text_message', text: 'explain' });
  await busy.next('response_start', { from, timeoutMs: 20000 * SLOW });

  server.stopping = true;
  server.child.kill('SIGTERM');
  assert.ok(await closed(idle, 3000 * SLOW), 'the idle session is closed at once');
  assert.equal(idle.closeInfo.code, 1001);
  assert.equal(idle.closeInfo.reason, 'server draining: reconnect');
  /* while the answer plays: draining, and new sessions are refused */
  const h = await get(server.http('/healthz'));
  assert.equal(h.status, 503);
  assert.equal(h.text.trim(), 'draining');
  const refused = await new Promise((resolve) => {
    const ws = new WebSocket(server.ws());
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode));
    ws.on('open', () => { ws.close(); resolve('open'); });
    ws.on('error', () => resolve('error'));
  });
  assert.equal(refused, 503);
  assert.ok(!busy.closed, 'the session with an answer in progress is still open');
  await busy.next('response_complete', { from, timeoutMs: 30000 * SLOW });
  assert.ok(await closed(busy, 5000 * SLOW), 'closed after its answer');
  assert.equal(busy.closeInfo.code, 1001);
  assert.ok(!busy.json(from).some((m) => m.type === 'response_interrupted'), 'the answer was not cut');
  const exit = await server.exited;
  assert.equal(exit.code, 0, server.stderr);
  await server.stop();
});

test('the drain is bounded by --drain-ms', { timeout: 120000 * SLOW }, async () => {
  const WebSocket = await loadWs();
  const server = await startServer({ args: ['--stt', 'none', '--drain-ms', '300'] });
  const c = await Client.open(WebSocket, server.ws());
  c.send({ type: 'initialize', character: 'times-tables', speak_welcome: false });
  await c.next('initialized');
  c.send({ type: 'text_message', text: 'explain' });
  await c.next('response_start', { timeoutMs: 20000 * SLOW });
  const t0 = Date.now();
  server.stopping = true;
  server.child.kill('SIGTERM');
  assert.ok(await closed(c, 5000 * SLOW), 'closed by the bound');
  const took = Date.now() - t0;
  assert.equal(c.closeInfo.code, 1001);
  assert.ok(took >= 250, `closed after ${took} ms, not before the bound`);
  const exit = await server.exited;
  assert.equal(exit.code, 0, server.stderr);
  await server.stop();
});

test('a wrong lesson or an unreachable progress database stops serve at start, saying why', { timeout: 120000 * SLOW }, async () => {
  const dir = tmpDir('vt-ops-');
  const cases = [
    [['-o', 'lesson=no_such_lesson', '-o', 'db=none'], /no lesson named 'no_such_lesson'/],
    /* port 1 on loopback: nothing listens there */
    [['-o', 'db=postgresql://nobody@127.0.0.1:1/voicetutor'], /postgresql: cannot connect/],
    [['-o', `db=/proc/${path.basename(dir)}/progress.db`], /progress: cannot (open|create)[^\n]*\/proc\//],
  ];
  for (const [args, why] of cases) {
    const r = await serveExpectingFailure(['--stt', 'none', ...args]);
    assert.notEqual(r.signal, 'timeout', `refuses to start rather than listening: ${args.join(' ')}`);
    assert.notEqual(r.code, 0, `exits non-zero: ${args.join(' ')}`);
    assert.match(r.output, why, `says why: ${r.output}`);
    assert.match(r.output, /brain did not start/);
    assert.doesNotMatch(r.output, /listening on|Sanitizer|runtime error/);
  }
  /* a recogniser option out of range: the server starts (sessions can
   * type) and says at once why speech is off */
  const off = await startServer({ args: ['-o', 'stt_expect_first=2'] });
  try {
    const h = await fetch(off.http('/healthz'));
    assert.equal(h.status, 200);
    assert.match(off.stderr, /speech recognition is off: option expect_first=2: want an integer in 0\.\.1/);
  } finally {
    await off.stop();
  }
  /* and a good database still starts */
  const server = await startServer({ args: ['--stt', 'none', '-o', `db=${path.join(dir, 'p.db')}`], keepProgress: true });
  try {
    const r = await fetch(server.http('/healthz'));
    assert.equal(r.status, 200);
  } finally {
    await server.stop();
  }
  fs.rmSync(dir, { recursive: true, force: true });
});
