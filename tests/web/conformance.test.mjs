/*
 * Seed 003 conformance (issue 11): strict clients of the seed system over a
 * real `voicetutor serve`. A strict client reads its messages one at a time,
 * in order, and only when it means to: after a request it takes exactly the
 * next message and expects the reply there; while it talks over the tutor it
 * does not read at all, and afterwards it reads a bounded number of messages.
 * Every scenario runs for a client that did not opt in (the JSON default)
 * and for one that did (`events:"all"`, which implies the acknowledgement),
 * so an opt-in cannot leak into the default flow. Fields are checked one by
 * one against ../shared/guide/protocol.md. Run: node --test
 * tests/web/conformance.test.mjs (VT_BIN picks the program; ctest sets it).
 */

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, SLOW, loadWs, startServer, parseWav, sleep } from './helpers.mjs';

const WebSocket = await loadWs();

const START_MS = 20000 * SLOW; /* a reply that needs the engines */
const READ_MS = 5000 * SLOW; /* one strict read */
const BOUND = 10; /* messages a seed client reads looking for the interruption */
const NOISE_FRAMES = 15; /* 1.5 s of loud non-speech sound in 100 ms frames */
const PAUSE_MS = 3000; /* the client waits before asking for the summary */

const FLOWS = [
  { name: 'default (seed 003)', init: { character: 'adina' }, optedIn: false },
  { name: 'opted in (events all)', init: { character: 'adina', events: 'all' }, optedIn: true },
];

let server;
const opened = [];

before(async () => {
  server = await startServer();
});

after(async () => {
  for (const c of opened) c.terminate();
  /* a crash, a leak or a sanitizer report fails the suite */
  if (server) await server.stop();
});

/* A client of the seed system: reads exactly one message per read(). */
class StrictClient {
  static async open() {
    const s = new StrictClient();
    s.c = await Client.open(WebSocket, server.ws('/ws/audio'), { waitConnected: false });
    opened.push(s.c);
    s.read = 0;
    return s;
  }

  send(obj) { this.c.send(obj); }

  sendBinary(buf) { this.c.sendBinary(buf); }

  /* the next message, whatever it is ({json} or {bin}) */
  async recv(timeoutMs = READ_MS) {
    const idx = await this.c.waitIndex(() => true, { from: this.read, timeoutMs, what: 'the next message' });
    this.read = idx + 1;
    return this.c.log[idx];
  }

  async recvJson(timeoutMs) {
    const e = await this.recv(timeoutMs);
    assert.ok(e.json, `want a JSON message, got a binary frame of ${e.bin?.length} bytes`);
    return e.json;
  }

  /* sends a request; the very next message must be its reply */
  async request(obj, replyType, timeoutMs) {
    this.send(obj);
    const m = await this.recvJson(timeoutMs);
    assert.equal(m.type, replyType,
      `${obj.type}: the next message must be ${replyType}, got ${JSON.stringify(m).slice(0, 200)}`);
    assert.equal(typeof m.timestamp, 'string');
    assert.ok(!Number.isNaN(Date.parse(m.timestamp)), `timestamp ${m.timestamp}`);
    return m;
  }

  /* messages received but not read (a strict client would read them next) */
  unread() { return this.c.log.slice(this.read); }

  close() { this.c.close(); }
}

async function initialized(init) {
  const s = await StrictClient.open();
  const conn = await s.recvJson(START_MS);
  assert.equal(conn.type, 'connected');
  assert.equal(typeof conn.session_id, 'string');
  const m = await s.request({ type: 'initialize', ...init }, 'initialized', START_MS);
  for (const k of ['character', 'session_id', 'message', 'conversation_state']) {
    assert.equal(typeof m[k], 'string', `initialized.${k}`);
  }
  assert.equal(m.session_active, true);
  return { s, init: m };
}

function isNum(v, name) {
  assert.equal(typeof v, 'number', `${name} is a number (got ${JSON.stringify(v)})`);
  assert.ok(Number.isFinite(v), `${name} is finite`);
}

function checkAudioChunk(m) {
  isNum(m.chunk_id, 'chunk_id');
  assert.ok(m.chunk_id >= 1, 'chunk_id from 1');
  isNum(m.total_chunks, 'total_chunks');
  assert.equal(typeof m.is_final, 'boolean');
  assert.equal(typeof m.text, 'string');
  assert.equal(typeof m.character, 'string');
  const wav = parseWav(Buffer.from(m.audio, 'base64'));
  assert.equal(wav.format, 1);
  assert.equal(wav.channels, 1);
  assert.equal(wav.bits, 16);
  return (wav.dataBytes / 2 / wav.rate) * 1000;
}

/* loud white noise (no words), deterministic */
function noiseFrame(samples, seed) {
  const buf = Buffer.alloc(samples * 2);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < samples; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    buf.writeInt16LE(((x % 24001) - 12000) | 0, i * 2);
  }
  return buf;
}

for (const flow of FLOWS) {
  test(`${flow.name}: one message per request, field by field`, async () => {
    const { s, init } = await initialized(flow.init);
    assert.equal(init.acknowledgement, flow.optedIn, 'the acknowledgement is opt-in');

    const stats0 = await s.request({ type: 'get_interruption_stats' }, 'interruption_stats');
    assert.equal(stats0.interruption_enabled, true);
    isNum(stats0.interruption_threshold, 'interruption_threshold');
    assert.equal(stats0.interruption_threshold, 1.5, 'seed default threshold');
    assert.equal(stats0.total_interruptions, 0);
    isNum(stats0.avg_interruption_latency_ms, 'avg_interruption_latency_ms');
    assert.equal(stats0.has_active_tts, false);

    const conf = await s.request({ type: 'configure_interruption', threshold: 1.2, cooldown: 0.8 },
      'interruption_configured');
    assert.equal(conf.threshold, 1.2);
    assert.equal(conf.cooldown, 0.8);

    const bad = await s.request({ type: 'configure_interruption', threshold: 9, cooldown: 0.8 }, 'error');
    assert.equal(typeof bad.message, 'string');
    const stats1 = await s.request({ type: 'get_interruption_stats' }, 'interruption_stats');
    assert.equal(stats1.interruption_threshold, 1.2, 'out of range: settings unchanged');

    const off = await s.request({ type: 'enable_interruption', enabled: false }, 'interruption_toggled');
    assert.equal(off.interruption_enabled, false);
    const stats2 = await s.request({ type: 'get_interruption_stats' }, 'interruption_stats');
    assert.equal(stats2.interruption_enabled, false);
    const on = await s.request({ type: 'enable_interruption', enabled: true }, 'interruption_toggled');
    assert.equal(on.interruption_enabled, true);

    const ps = await s.request({ type: 'get_performance_summary' }, 'performance_summary');
    const p = ps.interruption_performance;
    assert.ok(p && typeof p === 'object', 'interruption_performance');
    assert.equal(p.total_interruptions, 0);
    for (const k of ['avg_latency_ms', 'max_latency_ms', 'min_latency_ms', 'threshold', 'cooldown']) isNum(p[k], k);
    assert.equal(typeof p.target_met, 'boolean');
    assert.equal(p.enabled, true);
    assert.equal(p.threshold, 1.2);
    assert.equal(p.cooldown, 0.8);

    await s.request({ type: 'ping' }, 'pong');
    await sleep(500);
    assert.deepEqual(s.unread().map((e) => e.json?.type ?? 'binary'), [], 'nothing unprompted while idle');
    s.close();
  });

  test(`${flow.name}: loud sound after the second audio chunk interrupts; then the summary is the next message`, async () => {
    const { s } = await initialized(flow.init);
    s.send({ type: 'text_message', text: 'hello' });
    /* read until the second audio chunk */
    let audio = 0;
    const seen = [];
    for (let i = 0; i < 200 && audio < 2; i++) {
      const m = await s.recvJson(START_MS);
      seen.push(m.type);
      if (m.type === 'audio_chunk') {
        checkAudioChunk(m);
        audio++;
      }
    }
    assert.equal(audio, 2, `two audio chunks (read: ${seen.join(', ')})`);
    assert.ok(seen.includes('processing_started') && seen.includes('response_start'), seen.join(', '));

    /* talk over the tutor without reading: 1.5 s of noise, 100 ms frames */
    for (let f = 0; f < NOISE_FRAMES; f++) {
      s.sendBinary(noiseFrame(1600, f + 1));
      await sleep(100);
    }

    /* a bounded number of reads must find both events */
    const got = [];
    let idet = null, ri = null;
    for (let i = 0; i < BOUND && !(idet && ri); i++) {
      const m = await s.recvJson();
      got.push(m.type);
      if (m.type === 'interruption_detected') idet = m;
      if (m.type === 'response_interrupted') ri = m;
    }
    assert.ok(idet, `interruption_detected within ${BOUND} messages (read: ${got.join(', ')})`);
    assert.ok(ri, `response_interrupted within ${BOUND} messages (read: ${got.join(', ')})`);
    for (const k of ['confidence', 'energy', 'chunks_interrupted', 'interruption_latency_ms']) isNum(idet[k], k);
    assert.equal(typeof idet.conversation_state, 'string');
    assert.ok(idet.interruption_latency_ms < 50, `latency ${idet.interruption_latency_ms} ms`);
    assert.equal(typeof ri.character, 'string');
    for (const k of ['chunks_sent', 'total_chunks', 'conversation_turn']) isNum(ri[k], k);
    assert.ok(ri.chunks_sent >= 2, `chunks_sent ${ri.chunks_sent}`);
    assert.ok(ri.total_chunks >= ri.chunks_sent);

    await sleep(PAUSE_MS);
    const rest = s.unread().map((e) => e.json ?? { type: 'binary' });
    if (flow.optedIn) {
      /* the acknowledgement was spoken; this client reads what it asked for */
      assert.ok(rest.some((m) => m.type === 'audio_chunk' && m.kind === 'acknowledgement'),
        `the acknowledgement clip (unread: ${rest.map((m) => m.type).join(', ')})`);
      s.read = s.c.log.length;
    } else {
      assert.deepEqual(rest.map((m) => m.type), [],
        'after response_interrupted nothing until the client speaks or asks');
    }
    for (const m of rest) {
      assert.notEqual(m.type, 'processing_started', 'a sound with no words is never a turn');
      assert.ok(!(m.type === 'audio_chunk' && m.kind === 'answer'), 'no answer audio after the interruption');
    }

    const ps = await s.request({ type: 'get_performance_summary' }, 'performance_summary');
    const p = ps.interruption_performance;
    assert.ok(p.total_interruptions >= 1, `total_interruptions ${p.total_interruptions}`);
    assert.ok(p.avg_latency_ms < 50, `avg_latency_ms ${p.avg_latency_ms}`);
    for (const k of ['max_latency_ms', 'min_latency_ms', 'threshold', 'cooldown']) isNum(p[k], k);
    assert.equal(typeof p.target_met, 'boolean');
    assert.equal(p.enabled, true);

    const st = await s.request({ type: 'get_interruption_stats' }, 'interruption_stats');
    assert.ok(st.total_interruptions >= 1);
    assert.equal(st.has_active_tts, false);
    isNum(st.avg_interruption_latency_ms, 'avg_interruption_latency_ms');
    s.close();
  });
}

test('JSON audio: phrase-sized chunks with their words, ids within the answer and the total', async () => {
  /* events "all" for response_text, the words spoken, to compare with */
  const { s, init } = await initialized({ character: 'adina', json_chunk_ms: 300, events: 'all' });
  assert.equal(init.json_chunk_ms, 300);
  s.send({ type: 'text_message', text: 'hello' });
  const chunks = [];
  let start = null, done = null, spoken = '';
  for (let i = 0; i < 2000 && !done; i++) {
    const m = await s.recvJson(START_MS);
    if (m.type === 'response_start') start = m;
    if (m.type === 'response_text') spoken = m.spoken_text;
    if (m.type === 'audio_chunk' && m.kind === 'answer') chunks.push(m);
    if (m.type === 'response_complete') done = m;
  }
  assert.ok(start && done, 'a whole answer');
  assert.ok(chunks.length >= 3, `${chunks.length} chunks`);
  chunks.forEach((m, i) => {
    const ms = checkAudioChunk(m);
    assert.ok(ms <= 300 + 0.01, `chunk ${m.chunk_id}: ${ms} ms <= json_chunk_ms`);
    assert.equal(m.chunk_id, i + 1, 'ids count within the answer');
  });
  const total = chunks[chunks.length - 1].total_chunks;
  assert.equal(total, chunks.length, 'total_chunks of the last chunk = the answer\'s chunks');
  const known = chunks.filter((m) => m.total_chunks > 0);
  for (const m of known) assert.equal(m.total_chunks, total, 'total_chunks, once known, does not change');
  assert.equal(done.chunks_sent, chunks.length);
  const norm = (t) => t.toLowerCase().replace(/[^a-z0-9' ]+/g, ' ').split(/\s+/).filter(Boolean);
  assert.deepEqual(norm(chunks.map((m) => m.text).join(' ')), norm(spoken),
    'the chunks\' words are the answer, each word once');
  assert.deepEqual(norm(spoken).slice(0, norm(start.full_text).length), norm(start.full_text));
  assert.ok(chunks.filter((m) => m.text).length >= chunks.length / 3, 'most chunks carry words');
  s.close();
});

test('json_chunk_ms out of range is refused; PCM keeps 20 ms frames', async () => {
  const s = await StrictClient.open();
  await s.recvJson(START_MS);
  const e = await s.request({ type: 'initialize', json_chunk_ms: 10 }, 'error');
  assert.equal(e.code, 'out_of_range');
  const e2 = await s.request({ type: 'initialize', json_chunk_ms: 'big' }, 'error');
  assert.equal(e2.code, 'bad_field');
  await s.request({ type: 'initialize', audio_output: 'pcm' }, 'initialized');
  s.send({ type: 'text_message', text: 'hello' });
  let frames = 0;
  for (let i = 0; i < 400 && frames < 10; i++) {
    const m = await s.recv(START_MS);
    if (m.bin) {
      assert.ok(m.bin.length <= 640, `a 20 ms frame at 16 kHz, got ${m.bin.length} bytes`);
      frames++;
    }
  }
  assert.equal(frames, 10);
  s.close();
});
