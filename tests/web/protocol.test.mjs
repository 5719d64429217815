/*
 * The WebSocket protocol of `voicetutor serve`, message by message, against
 * docs/PROTOCOL.md (and the seed's ../shared/guide/protocol.md). One server for
 * the file (the access-token tests start their own); every test opens its own
 * sessions. Run: node --test tests/web/protocol.test.mjs (VT_BIN picks the
 * program; ctest sets it).
 */

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  Client, SLOW, loadWs, startServer, startFakeLlm, serveExpectingFailure, requireTools,
  flitePcm, streamPcm, parseWav, tmpDir, words, sleep, tail,
} from './helpers.mjs';

const WebSocket = await loadWs();

const TURN_MS = 60000 * SLOW; /* a whole answer of the first lesson turn (about 15 s of audio) */
const START_MS = 20000 * SLOW; /* a reply that needs the engines */
const QUIET_MS = 1500; /* "nothing more arrives" */
const KNOWN_TYPES = ['initialize', 'audio', 'text_message', 'configure_interruption', 'enable_interruption',
  'get_interruption_stats', 'get_performance_summary', 'interrupt', 'playback_position', 'ping'];
const MANY_SCRIPTS = 'ok 日本語 مرحبا 👋🌍'; /* 33 bytes, 4 scripts */
const EVENTS_ALL_ONLY = ['state_changed', 'response_text', 'filler_started', 'acknowledgement_started'];


let server;
let speechDir;
const opened = [];

before(async () => {
  requireTools('flite', 'sox');
  server = await startServer();
  speechDir = tmpDir('vt-protocol-');
});

after(async () => {
  for (const c of opened) c.terminate();
  if (server?.alive()) await server.stop().catch(() => {});
});

async function open(path = '/ws/audio') {
  const c = await Client.open(WebSocket, server.ws(path));
  opened.push(c);
  return c;
}

/* connected + initialize; returns the `initialized` message */
async function session(init = {}, path) {
  const c = await open(path);
  c.send({ type: 'initialize', ...init });
  c.init = await c.next('initialized', { timeoutMs: START_MS });
  return c;
}

/* the session works, nothing unexpected came in between, timestamps were right */
async function stillWorks(c) {
  const between = await c.roundTrip();
  assert.deepEqual(between.filter((m) => m.type !== 'audio_chunk'), [], 'nothing but the pong was expected');
  assert.deepEqual(c.badTimestamps, [], 'every message needs an ISO-8601 timestamp');
}

function assertError(m, code) {
  assert.equal(m.type, 'error');
  assert.equal(m.code, code);
  assert.equal(typeof m.message, 'string');
  assert.ok(m.message.length >= 10, `a helpful message, got '${m.message}'`);
}

/* sends a request and expects exactly this error as the reply (the next
 * message other than audio) */
async function expectError(c, msg, code) {
  const from = c.log.length;
  const what = Buffer.isBuffer(msg) ? `a binary frame of ${msg.length} bytes`
    : `${(typeof msg === 'string' ? msg : JSON.stringify(msg)).slice(0, 120)}`;
  if (Buffer.isBuffer(msg)) c.sendBinary(msg);
  else c.send(msg);
  const idx = await c.waitIndex((e) => e.json && e.json.type !== 'audio_chunk', {
    from, what: `the reply to ${what}`,
  });
  c.cursor = idx + 1;
  const m = c.log[idx].json;
  assert.equal(m.type, 'error', `${what}: want error ${code}, got ${JSON.stringify(m).slice(0, 300)}`);
  assert.equal(m.code, code, `${what}: want error ${code}, got ${JSON.stringify(m).slice(0, 300)}`);
  assertError(m, code);
  return m;
}

/* the audio_chunk messages of log entries [from, to) */
function audioChunks(c, from = 0, to = c.log.length) {
  return c.log.slice(from, to).filter((e) => e.json?.type === 'audio_chunk').map((e) => e.json);
}

function assertNumber(v, name) {
  assert.equal(typeof v, 'number', `${name} is a number (got ${JSON.stringify(v)})`);
  assert.ok(Number.isFinite(v), `${name} is finite`);
}

function checkAudioChunk(m, rate) {
  assert.equal(typeof m.chunk_id, 'number');
  assert.ok(m.chunk_id >= 1);
  assertNumber(m.total_chunks, 'total_chunks');
  assert.equal(m.is_final, false);
  assert.equal(typeof m.text, 'string');
  assert.equal(typeof m.character, 'string');
  assert.ok(['answer', 'filler', 'acknowledgement'].includes(m.kind), `kind ${m.kind}`);
  const wav = parseWav(Buffer.from(m.audio, 'base64'));
  assert.equal(wav.format, 1, 'PCM WAV');
  assert.equal(wav.channels, 1);
  assert.equal(wav.bits, 16);
  assert.equal(wav.rate, rate);
  assert.ok(wav.dataBytes > 0 && wav.dataBytes % 2 === 0, `whole samples (${wav.dataBytes} bytes)`);
  return wav.dataBytes / 2 / rate * 1000; /* ms */
}

/* ------------------------------------------------------------ static page */

test('GET / serves the web client (HTML), its script, and 404 for the rest', async () => {
  const res = await fetch(server.http('/'));
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') || '', /text\/html/);
  const html = await res.text();
  assert.match(html, /<!doctype html>/i);
  assert.match(html, /app\.js/);
  const js = await fetch(server.http('/app.js'));
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type') || '', /javascript/);
  await js.text();
  const missing = await fetch(server.http('/no-such-file.js'));
  assert.equal(missing.status, 404);
  await missing.text();
});

test('a WebSocket at another path is refused, and the server stays up', async () => {
  /* a server of its own: a crash here must not take the other tests along */
  const own = await startServer();
  try {
    for (const p of ['/ws/other', '/', '/app.js']) {
      const c = new Client(WebSocket, own.ws(p));
      await assert.rejects(c.opened(10000 * SLOW), `no WebSocket at ${p}`);
      await sleep(200);
      assert.ok(own.alive(), `the server died after refusing a WebSocket at ${p} (exit ${JSON.stringify(own.exit)})\n${tail(own.stderr)}`);
    }
    const ok = await Client.open(WebSocket, own.ws());
    await ok.roundTrip();
    ok.close();
    await own.stop();
  } finally {
    if (own.alive()) await own.stop().catch(() => {});
  }
});

/* ------------------------------------------------------------ session start */

test('connected comes first, with a session_id, on /ws/audio and on /ws', async () => {
  const a = await open('/ws/audio');
  const b = await open('/ws');
  for (const c of [a, b]) {
    assert.equal(c.log[0].json.type, 'connected');
    assert.equal(typeof c.connected.session_id, 'string');
    assert.ok(c.connected.session_id.length > 0);
    assert.match(c.connected.timestamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.ok(Math.abs(Date.parse(c.connected.timestamp) - Date.now()) < 60000, 'timestamp is now (UTC)');
  }
  assert.notEqual(a.connected.session_id, b.connected.session_id);
  /* nothing unprompted before initialize either */
  assert.deepEqual((await b.collect(QUIET_MS)).length, 0);
  await stillWorks(a);
  await stillWorks(b);
  a.close();
  b.close();
});

test('initialize: seed defaults; unknown character "adina" starts the default tutor and says so', async () => {
  const c = await open();
  c.send({ type: 'initialize', character: 'adina', user_id: 'test-user' });
  const m = await c.next('initialized', { timeoutMs: START_MS });
  assert.equal(typeof m.character, 'string');
  assert.notEqual(m.character, 'adina');
  assert.ok(m.character.length > 0);
  assert.equal(m.session_id, c.connected.session_id);
  assert.match(m.message, /adina/, 'the message says the character is unknown');
  assert.match(m.message, new RegExp(m.character), 'and names the tutor started instead');
  assert.equal(m.conversation_state, 'LISTENING');
  assert.equal(m.session_active, true);
  assert.equal(m.sample_rate, 16000);
  assert.equal(m.audio_output, 'json');
  assert.notEqual(m.events, 'all');
  assert.equal(m.interruption.enabled, true);
  assertNumber(m.interruption.threshold, 'threshold');
  assert.ok(m.interruption.threshold >= 0.5 && m.interruption.threshold <= 3.0);
  assertNumber(m.interruption.cooldown, 'cooldown');
  assert.ok(m.interruption.cooldown >= 0.1 && m.interruption.cooldown <= 5.0);
  assert.ok(['commands', 'speech', 'both'].includes(m.interruption.mode));
  /* default: no welcome, no state chatter */
  const later = await c.collect(QUIET_MS);
  assert.equal(later.length, 0, `nothing unprompted after initialized, got ${c.summary(c.cursor)}`);
  /* a second initialize */
  const err = await expectError(c, { type: 'initialize' }, 'already_initialized');
  assert.match(err.message, /already|new connection/i);
  await stillWorks(c);
  c.close();
});

test('initialize: a known lesson by name; bad fields are refused and a later initialize works', async () => {
  const c = await open();
  await expectError(c, { type: 'initialize', audio_output: 'mp3' }, 'bad_field');
  await expectError(c, { type: 'initialize', events: 'some' }, 'bad_field');
  await expectError(c, { type: 'initialize', character: 5 }, 'bad_field');
  await expectError(c, { type: 'initialize', speak_welcome: 'yes' }, 'bad_field');
  c.send({ type: 'initialize', character: 'capitals' });
  const m = await c.next('initialized', { timeoutMs: START_MS });
  assert.equal(m.character, 'capitals');
  assert.doesNotMatch(m.message, /unknown/i);
  await stillWorks(c);
  c.close();
});

/* ------------------------------------------------------------ a whole turn */

test('text_message: a whole turn in JSON audio mode; nothing unprompted after response_complete', async () => {
  const c = await session();
  const from = c.log.length;
  c.send({ type: 'text_message', text: 'hello' });
  const ps = await c.next('processing_started', { timeoutMs: START_MS });
  assert.equal(ps.character, c.init.character);
  assert.equal(ps.text, 'hello');
  assert.equal(ps.conversation_state, 'THINKING');
  assert.equal(ps.conversation_turn, 1);
  const rs = await c.next('response_start', { timeoutMs: START_MS });
  assert.equal(rs.character, c.init.character);
  assertNumber(rs.total_chunks, 'total_chunks');
  assert.ok(rs.full_text.length > 0);
  const first = await c.next('audio_chunk', { timeoutMs: START_MS });
  assert.equal(first.chunk_id, 1);
  const rc = await c.next('response_complete', { timeoutMs: TURN_MS });
  assert.equal(rc.character, c.init.character);
  assert.equal(rc.conversation_turn, 1);

  const msgs = c.json(from);
  const chunks = msgs.filter((m) => m.type === 'audio_chunk');
  /* a filler may come first when the answer's first audio takes longer than
   * filler_delay_ms (a loaded machine); chunks_sent counts the answer's */
  const answer = chunks.filter((m) => m.kind === 'answer');
  const firstAnswer = chunks.indexOf(answer[0]);
  assert.ok(chunks.slice(0, firstAnswer).every((m) => m.kind === 'filler'), 'only a filler before the answer');
  assert.ok(chunks.slice(firstAnswer).every((m) => m.kind === 'answer'), 'then only the answer');
  assert.ok(answer.length > 20, `the lesson intro is several seconds of audio (got ${answer.length} chunks)`);
  assert.equal(rc.chunks_sent, answer.length, 'chunks_sent counts the answer audio_chunks sent');
  let audioMs = 0;
  /* chunk_id counts from 1 without gaps within the filler and within the answer */
  chunks.forEach((m, i) => {
    const base = i < firstAnswer ? 0 : firstAnswer;
    assert.equal(m.chunk_id, i - base + 1, 'chunk_id counts from 1 without gaps');
    audioMs += checkAudioChunk(m, c.init.sample_rate);
  });
  /* text: the words whose audio is in the chunk, each word once; a filler
   * carries none; a chunk is at most json_chunk_ms (200 by default) */
  chunks.slice(0, firstAnswer).forEach((m) => assert.equal(m.text, '', 'a filler chunk has no answer text'));
  assert.equal(c.init.json_chunk_ms, 200);
  answer.forEach((m) => {
    const ms = checkAudioChunk(m, c.init.sample_rate);
    assert.ok(ms <= 200 + 0.01, `chunk ${m.chunk_id}: ${ms} ms`);
  });
  const said = words(answer.map((m) => m.text).join(' '));
  assert.ok(said.length > 5, 'the chunks carry the words spoken');
  assert.deepEqual(said.slice(0, words(rs.full_text).length), words(rs.full_text), 'the words of this answer, in order');
  const total = answer[answer.length - 1].total_chunks;
  assert.equal(total, answer.length, 'total_chunks: the answer\'s chunks, once known');
  for (const m of answer) assert.ok(m.total_chunks === 0 || m.total_chunks === total, 'total_chunks: 0 or the total');
  /* the order of the seed: processing_started, response_start, audio, response_complete */
  const order = msgs.map((m) => m.type).filter((t) => t !== 'audio_chunk');
  assert.deepEqual(order, ['processing_started', 'response_start', 'response_complete'],
    'seed clients get only the seed events');
  assert.equal(msgs[msgs.length - 1].type, 'response_complete');
  /* paced at playback speed: never far ahead of the clock (a burst would be
   * the whole answer at once) */
  const tFirst = c.log[c.indexOf((e) => e.json === first)].t;
  const tLast = c.log[c.indexOf((e) => e.json === chunks[chunks.length - 1])].t;
  const lead = audioMs - (tLast - tFirst);
  assert.ok(lead < 1000, `audio is paced: ${audioMs.toFixed(0)} ms of audio came over ${(tLast - tFirst).toFixed(0)} ms`);

  /* a seed client reads strictly in order: nothing more until it asks */
  const later = await c.collect(QUIET_MS);
  assert.equal(later.length, 0, `nothing after response_complete, got ${c.summary(c.log.length - later.length)}`);
  c.send({ type: 'get_performance_summary' });
  const ps2 = await c.next('performance_summary');
  assert.ok(ps2.response_performance.turns >= 1);
  await stillWorks(c);
  c.close();
});

test('audio_output "pcm": the answer comes as binary frames, no audio_chunk', async () => {
  const c = await session({ audio_output: 'pcm' });
  assert.equal(c.init.audio_output, 'pcm');
  const from = c.log.length;
  c.send({ type: 'text_message', text: 'hello' });
  await c.next('response_start', { timeoutMs: START_MS });
  /* about a second of audio, then stop it */
  await c.waitIndex((e) => !!e.bin, { what: 'binary audio' });
  let frames = 0;
  await c.waitIndex((e) => e.bin && ++frames >= 50, { from, what: '50 binary frames' });
  c.send({ type: 'interrupt' });
  const idet = await c.next('interruption_detected', { timeoutMs: START_MS });
  const idx = c.cursor - 1;
  const ri = await c.next('response_interrupted');
  const bins = c.log.slice(from, idx).filter((e) => e.bin);
  assert.ok(bins.length >= 50);
  for (const e of bins) assert.ok(e.bin.length > 0 && e.bin.length % 2 === 0, `whole s16 samples (${e.bin.length} bytes)`);
  /* the frames are the answer's, after a filler's when the answer was slow */
  assert.ok(ri.chunks_sent > 0 && ri.chunks_sent <= bins.length,
    `chunks_sent ${ri.chunks_sent} counts the answer's binary frames (${bins.length} frames in all)`);
  assert.equal(idet.trigger, 'key');
  assert.equal(c.json(from, 'audio_chunk').length, 0, 'no JSON audio in pcm mode');
  await sleep(2500); /* the acknowledgement */
  await stillWorks(c);
  c.close();
});

test('events "all" + speak_welcome: welcome_message then its audio, state_changed, response_text, acknowledgement_started', async () => {
  const c = await session({ events: 'all', speak_welcome: true });
  assert.equal(c.init.events, 'all');
  const welcome = await c.next('welcome_message', { timeoutMs: START_MS });
  assert.equal(welcome.character, c.init.character);
  assert.ok(welcome.text.length > 20, 'the lesson intro');
  assert.equal(typeof welcome.conversation_state, 'string');
  const wIdx = c.cursor - 1;
  const firstAudio = await c.next('audio_chunk', { from: 0, timeoutMs: START_MS });
  assert.ok(c.indexOf((e) => e.json === firstAudio) > wIdx, 'welcome_message comes before its audio');
  const st = await c.next('state_changed', { from: 0, where: (m) => m.state === 'RESPONDING' });
  assert.equal(st.is_audio_playing, true);
  assert.equal(typeof st.reason, 'string');
  const rt = await c.next('response_text', { from: 0, timeoutMs: START_MS });
  assert.equal(typeof rt.text, 'string');
  assert.ok(rt.spoken_text.endsWith(rt.text), 'spoken_text ends with the words just spoken');
  assert.ok(welcome.text.startsWith(rt.spoken_text), 'the spoken words are the start of the welcome');

  const from = c.log.length;
  c.send({ type: 'interrupt' });
  const idet = await c.next('interruption_detected', { from, timeoutMs: START_MS });
  assert.equal(idet.trigger, 'key');
  assert.equal(idet.conversation_state, 'ACKNOWLEDGING');
  const ack = await c.next('acknowledgement_started', { from });
  assert.equal(typeof ack.text, 'string');
  assertNumber(ack.index, 'index');
  assert.equal(ack.conversation_state, 'ACKNOWLEDGING');
  await c.next('state_changed', { from, where: (m) => m.state === 'ACKNOWLEDGING' });
  const back = await c.next('state_changed', { from, where: (m) => m.state === 'LISTENING', timeoutMs: START_MS });
  assert.equal(back.is_audio_playing, false);
  await stillWorks(c);
  c.close();
});

/* ------------------------------------------------------------ interruption */

test('interrupt during an answer: interruption_detected (key), response_interrupted, then only acknowledgement audio', async () => {
  const c = await session({ acknowledgement: true }); /* the clip is opt-in (seed 000) */
  assert.equal(c.init.acknowledgement, true);
  const from = c.log.length;
  c.send({ type: 'text_message', text: 'hello' });
  const rs = await c.next('response_start', { timeoutMs: START_MS });
  let n = 0;
  await c.waitIndex((e) => e.json?.type === 'audio_chunk' && ++n >= 6, { from, what: '6 audio chunks' });
  c.send({ type: 'interrupt' });
  const idet = await c.next('interruption_detected', { timeoutMs: START_MS });
  const iIdx = c.cursor - 1;
  assert.equal(idet.trigger, 'key');
  for (const k of ['confidence', 'energy', 'chunks_interrupted', 'interruption_latency_ms']) assertNumber(idet[k], k);
  assert.ok(idet.interruption_latency_ms >= 0 && idet.interruption_latency_ms < 500 * SLOW,
    `latency ${idet.interruption_latency_ms} ms`);
  assert.ok(['ACKNOWLEDGING', 'LISTENING'].includes(idet.conversation_state));
  /* response_interrupted comes right after */
  const ri = await c.next('response_interrupted');
  const between = c.json(iIdx + 1).slice(0, c.json(iIdx + 1).indexOf(ri)).filter((m) => m.type !== 'audio_chunk');
  assert.deepEqual(between, []);
  const answerChunks = audioChunks(c, from, iIdx).filter((m) => m.kind === 'answer');
  assert.equal(ri.character, c.init.character);
  assert.equal(ri.chunks_sent, answerChunks.length, 'chunks_sent = answer chunks sent before the interruption');
  assertNumber(ri.total_chunks, 'total_chunks');
  assert.equal(ri.conversation_turn, 1);
  assert.equal(typeof ri.spoken_text, 'string');
  assert.ok(ri.spoken_text.endsWith('...'), `spoken_text ends in "...": '${ri.spoken_text}'`);
  assert.equal(typeof ri.unspoken_text, 'string');
  assert.ok(ri.unspoken_text.length > 0, 'the intro was cut: something was left unsaid');
  /* what was said + what was not = the answer the tutor planned */
  const planned = words(`${ri.spoken_text} ${ri.unspoken_text}`);
  const known = words(rs.full_text);
  assert.deepEqual(planned.slice(0, known.length), known, 'spoken + unspoken continue the answer of response_start');

  /* after interruption_detected no answer audio, only the acknowledgement */
  await sleep(3000);
  const after = audioChunks(c, iIdx);
  for (const m of after) assert.equal(m.kind, 'acknowledgement', 'no answer audio after interruption_detected');
  assert.ok(after.length > 0, 'the acknowledgement is spoken');
  assert.equal(after[0].chunk_id, 1);
  for (const t of EVENTS_ALL_ONLY) assert.equal(c.json(from, t).length, 0, `no ${t} for a seed client`);
  /* the tutor listens again: a new turn */
  await stillWorks(c);
  const from2 = c.log.length;
  c.send({ type: 'text_message', text: 'thirty two' });
  const ps = await c.next('processing_started', { from: from2, timeoutMs: START_MS });
  assert.equal(ps.conversation_turn, 2);
  await c.next('response_start', { timeoutMs: START_MS });
  c.send({ type: 'get_interruption_stats' });
  const stats = await c.next('interruption_stats');
  assert.ok(stats.total_interruptions >= 1);
  c.close();
});

test('interrupt when nothing is spoken: interrupt_ignored', async () => {
  const c = await session();
  c.send({ type: 'interrupt' });
  const m = await c.next('interrupt_ignored');
  assert.equal(typeof m.reason, 'string');
  assert.ok(m.reason.length > 0);
  c.send({ type: 'get_interruption_stats' });
  assert.equal((await c.next('interruption_stats')).total_interruptions, 0);
  await stillWorks(c);
  c.close();
});

test('typing over an answer replaces it: trigger "text", no acknowledgement, the new turn starts', async () => {
  const c = await session();
  const from = c.log.length;
  c.send({ type: 'text_message', text: 'hello' });
  await c.next('response_start', { timeoutMs: START_MS });
  let n = 0;
  await c.waitIndex((e) => e.json?.type === 'audio_chunk' && ++n >= 3, { from, what: 'audio chunks' });
  c.send({ type: 'text_message', text: 'thirty two' });
  const idet = await c.next('interruption_detected', { timeoutMs: START_MS });
  const iIdx = c.cursor - 1;
  assert.equal(idet.trigger, 'text');
  await c.next('response_interrupted');
  const ps = await c.next('processing_started', { timeoutMs: START_MS });
  assert.equal(ps.text, 'thirty two');
  await c.next('response_start', { timeoutMs: START_MS });
  await sleep(500);
  const kinds = new Set(audioChunks(c, iIdx).map((m) => m.kind));
  assert.ok(!kinds.has('acknowledgement'), 'no acknowledgement when typing over');
  c.close();
});

test('configure_interruption: valid values apply; out of range or wrong type is refused with settings unchanged', async () => {
  const c = await session();
  const stats = async () => {
    c.send({ type: 'get_interruption_stats' });
    const s = await c.next('interruption_stats');
    c.send({ type: 'get_performance_summary' });
    const p = (await c.next('performance_summary')).interruption_performance;
    return { threshold: s.interruption_threshold, cooldown: p.cooldown, enabled: s.interruption_enabled };
  };
  c.send({ type: 'configure_interruption', threshold: 1.2, cooldown: 0.8, mode: 'speech' });
  const ok = await c.next('interruption_configured');
  assert.equal(ok.threshold, 1.2);
  assert.equal(ok.cooldown, 0.8);
  assert.equal(ok.mode, 'speech');
  assert.deepEqual(await stats(), { threshold: 1.2, cooldown: 0.8, enabled: true });
  /* the edges are in range */
  c.send({ type: 'configure_interruption', threshold: 0.5, cooldown: 5.0 });
  assert.equal((await c.next('interruption_configured')).threshold, 0.5);
  c.send({ type: 'configure_interruption', threshold: 3.0, cooldown: 0.1 });
  assert.equal((await c.next('interruption_configured')).cooldown, 0.1);
  c.send({ type: 'configure_interruption', threshold: 1.2, cooldown: 0.8, mode: 'both' });
  await c.next('interruption_configured');
  const before = await stats();

  for (const bad of [{ threshold: 9 }, { threshold: 0.49 }, { threshold: 3.01 }, { cooldown: 0.05 },
    { cooldown: 5.5 }, { threshold: -1, cooldown: 1 }, { threshold: 1.0, cooldown: 60 }]) {
    const e = await expectError(c, { type: 'configure_interruption', ...bad }, 'out_of_range');
    assert.match(e.message, /unchanged/);
    assert.deepEqual(await stats(), before, `settings unchanged after ${JSON.stringify(bad)}`);
  }
  for (const bad of [{ threshold: 'x' }, { threshold: '1.2' }, { cooldown: true },
    { mode: 5 }, { mode: 'sometimes' }, { threshold: [1] }]) {
    await expectError(c, { type: 'configure_interruption', ...bad }, 'bad_field');
    assert.deepEqual(await stats(), before, `settings unchanged after ${JSON.stringify(bad)}`);
  }
  await stillWorks(c);
  c.close();
});

test('enable_interruption toggles; a wrong type is bad_field', async () => {
  const c = await session();
  c.send({ type: 'enable_interruption', enabled: false });
  assert.equal((await c.next('interruption_toggled')).interruption_enabled, false);
  c.send({ type: 'get_interruption_stats' });
  assert.equal((await c.next('interruption_stats')).interruption_enabled, false);
  c.send({ type: 'get_performance_summary' });
  assert.equal((await c.next('performance_summary')).interruption_performance.enabled, false);
  await expectError(c, { type: 'enable_interruption', enabled: 'no' }, 'bad_field');
  await expectError(c, { type: 'enable_interruption' }, 'bad_field');
  c.send({ type: 'get_interruption_stats' });
  assert.equal((await c.next('interruption_stats')).interruption_enabled, false, 'unchanged by the bad requests');
  c.send({ type: 'enable_interruption', enabled: true });
  assert.equal((await c.next('interruption_toggled')).interruption_enabled, true);
  await stillWorks(c);
  c.close();
});

test('get_interruption_stats and get_performance_summary: fields and types', async () => {
  const c = await session();
  c.send({ type: 'get_interruption_stats' });
  const s = await c.next('interruption_stats');
  assert.equal(s.interruption_enabled, true);
  assertNumber(s.interruption_threshold, 'interruption_threshold');
  assert.equal(s.total_interruptions, 0);
  assertNumber(s.avg_interruption_latency_ms, 'avg_interruption_latency_ms');
  assert.equal(s.has_active_tts, false);
  c.send({ type: 'get_performance_summary' });
  const p = await c.next('performance_summary');
  const ip = p.interruption_performance;
  for (const k of ['total_interruptions', 'avg_latency_ms', 'max_latency_ms', 'min_latency_ms', 'threshold', 'cooldown']) {
    assertNumber(ip[k], k);
  }
  assert.equal(typeof ip.target_met, 'boolean');
  assert.equal(ip.enabled, true);
  const rp = p.response_performance;
  for (const k of ['turns', 'last_first_audio_ms', 'last_first_answer_ms']) assertNumber(rp[k], k);
  assert.equal(rp.turns, 0);

  /* during an answer: has_active_tts; after a key interruption: counted */
  c.send({ type: 'text_message', text: 'hello' });
  await c.next('audio_chunk', { timeoutMs: START_MS });
  c.send({ type: 'get_interruption_stats' });
  assert.equal((await c.next('interruption_stats')).has_active_tts, true);
  c.send({ type: 'interrupt' });
  const idet = await c.next('interruption_detected');
  c.send({ type: 'get_performance_summary' });
  const p2 = await c.next('performance_summary');
  assert.equal(p2.interruption_performance.total_interruptions, 1);
  assert.equal(p2.interruption_performance.max_latency_ms, idet.interruption_latency_ms);
  assert.equal(p2.interruption_performance.target_met, idet.interruption_latency_ms < 50);
  assert.equal(p2.response_performance.turns, 1);
  assert.ok(p2.response_performance.last_first_audio_ms > 0);
  c.send({ type: 'get_interruption_stats' });
  const s2 = await c.next('interruption_stats');
  assert.equal(s2.total_interruptions, 1);
  assert.equal(s2.avg_interruption_latency_ms, idet.interruption_latency_ms);
  c.close();
});

test('playback_position gets no reply; a bad one is bad_field', async () => {
  const c = await session();
  c.send({ type: 'playback_position', samples: 16000 });
  await stillWorks(c); /* the pong is the next message */
  await expectError(c, { type: 'playback_position', samples: 'x' }, 'bad_field');
  await expectError(c, { type: 'playback_position', samples: -5 }, 'bad_field');
  await expectError(c, { type: 'playback_position' }, 'bad_field');
  await stillWorks(c);
  c.close();
});

test('ping → pong, before and after initialize', async () => {
  const c = await open();
  c.send({ type: 'ping' });
  const p = await c.next('pong');
  assert.equal(p.type, 'pong');
  c.send({ type: 'initialize' });
  await c.next('initialized', { timeoutMs: START_MS });
  await stillWorks(c);
  c.close();
});

/* ------------------------------------------------------------ speech in */

const QUESTION = 'what is six times seven';

async function checkSpokenTurn(c, from, { binaryOut }) {
  const sd = await c.next('speech_detected', { from, timeoutMs: START_MS });
  assertNumber(sd.confidence, 'confidence');
  assertNumber(sd.energy, 'energy');
  assert.equal(sd.conversation_state, 'LISTENING');
  const part = await c.next('transcription_partial', { from, timeoutMs: START_MS });
  assert.equal(typeof part.text, 'string');
  assert.equal(part.conversation_state, 'LISTENING');
  const done = await c.next('transcription_complete', { from, timeoutMs: START_MS });
  const heard = words(done.text);
  for (const w of ['six', 'times', 'seven']) assert.ok(heard.includes(w), `'${w}' in the transcript '${done.text}'`);
  const ps = await c.next('processing_started', { timeoutMs: START_MS });
  assert.equal(ps.text, done.text);
  await c.next('response_start', { timeoutMs: START_MS });
  if (binaryOut) await c.waitIndex((e) => !!e.bin, { what: 'binary answer audio' });
  else await c.next('audio_chunk', { timeoutMs: START_MS });
  return done.text;
}

test('binary audio: flite speech at real-time pace is transcribed and answered (pcm out)', async () => {
  const speech = flitePcm(QUESTION, speechDir);
  const c = await session({ audio_output: 'pcm' });
  const from = c.log.length;
  /* 2 s of silence first: the session opens its recognisers on the first audio
   * (slow on a loaded machine or under ASan), as a person would pause */
  const pcm = Buffer.concat([Buffer.alloc(64000), speech, Buffer.alloc(64000)]); /* 2 s, speech, 2 s */
  const streaming = streamPcm(pcm, (b) => c.sendBinary(b), { frameMs: 20 });
  const text = await checkSpokenTurn(c, from, { binaryOut: true });
  await streaming;
  const errors = c.json(from, 'error');
  assert.deepEqual(errors, [], 'real-time audio is not rate limited');
  /* the order of a spoken turn */
  const order = c.types(from).filter((t) => ['speech_detected', 'transcription_complete', 'processing_started', 'response_start'].includes(t));
  assert.deepEqual(order.slice(0, 4), ['speech_detected', 'transcription_complete', 'processing_started', 'response_start']);
  c.send({ type: 'interrupt' });
  await c.next('interruption_detected');
  await sleep(2500);
  await stillWorks(c);
  c.close();
  assert.ok(text);
});

test('audio as JSON base64 {"type":"audio"} is transcribed like binary frames (JSON out)', async () => {
  const speech = flitePcm(QUESTION, speechDir);
  const c = await session();
  const from = c.log.length;
  const pcm = Buffer.concat([Buffer.alloc(64000), speech, Buffer.alloc(64000)]);
  const streaming = streamPcm(pcm, (b) => c.send({ type: 'audio', audio: b.toString('base64') }), { frameMs: 40 });
  await checkSpokenTurn(c, from, { binaryOut: false });
  await streaming;
  assert.deepEqual(c.json(from, 'error'), []);
  c.close();
});

/* ------------------------------------------------------------ bad input */

test('a JSON object followed by more text is bad_json, not a request', async () => {
  const c = await session();
  for (const raw of ['{"type":"ping"} x', '{"type":"ping"}{"type":"ping"}', '{"type":"get_interruption_stats"} ]']) {
    await expectError(c, raw, 'bad_json');
  }
  await stillWorks(c);
  c.close();
});

test('bad input before initialize: not_initialized for audio and requests; ping still works', async () => {
  const c = await open();
  await expectError(c, Buffer.alloc(640), 'not_initialized');
  await expectError(c, { type: 'audio', audio: Buffer.alloc(640).toString('base64') }, 'not_initialized');
  for (const type of ['text_message', 'configure_interruption', 'enable_interruption', 'get_interruption_stats',
    'get_performance_summary', 'interrupt', 'playback_position']) {
    const e = await expectError(c, { type, text: 'hello', enabled: true, samples: 0 }, 'not_initialized');
    assert.match(e.message, /initialize/);
  }
  await stillWorks(c);
  c.send({ type: 'initialize' });
  await c.next('initialized', { timeoutMs: START_MS });
  await stillWorks(c);
  c.close();
});

test('bad input: bad_json, missing_type, unknown_type, bad_field — each answered, the session goes on', async () => {
  const c = await session();
  for (const raw of ['{not json', '[1,2]', '"text"', '42', 'null', '{"type":"ping"', '']) {
    await expectError(c, raw, 'bad_json');
    await stillWorks(c);
  }
  for (const raw of ['{}', '{"type":5}', '{"type":null}', '{"type":["ping"]}', '{"text":"hello"}']) {
    await expectError(c, raw, 'missing_type');
    await stillWorks(c);
  }
  const unknown = await expectError(c, { type: 'frobnicate' }, 'unknown_type');
  for (const t of KNOWN_TYPES) assert.match(unknown.message, new RegExp(`\\b${t}\\b`), `the message names '${t}'`);
  assert.match(unknown.message, /frobnicate/);
  await stillWorks(c);
  for (const msg of [
    { type: 'text_message' },
    { type: 'text_message', text: 5 },
    { type: 'text_message', text: '' },
    { type: 'text_message', text: '   ' },
    { type: 'audio' },
    { type: 'audio', audio: 5 },
    { type: 'enable_interruption', enabled: 1 },
  ]) {
    await expectError(c, msg, 'bad_field');
    await stillWorks(c);
  }
  /* nothing of it started a turn */
  assert.equal(c.json(0, 'processing_started').length, 0);
  c.close();
});

test('bad audio: odd byte counts and bad base64 are bad_audio; over 64 KiB is frame_too_large; 64 KiB is fine', async () => {
  const c = await session({ audio_output: 'pcm' });
  const odd = await expectError(c, Buffer.alloc(321), 'bad_audio');
  assert.match(odd.message, /321/);
  await stillWorks(c);
  await expectError(c, Buffer.alloc(1), 'bad_audio');
  await expectError(c, { type: 'audio', audio: 'AA==' }, 'bad_audio'); /* 1 byte */
  await expectError(c, { type: 'audio', audio: '!!!!' }, 'bad_audio');
  await expectError(c, { type: 'audio', audio: 'A' }, 'bad_audio'); /* no base64 has 1 char */
  await stillWorks(c);
  const big = await expectError(c, Buffer.alloc(64 * 1024 + 2), 'frame_too_large');
  assert.match(big.message, /64 KiB/);
  await stillWorks(c);
  /* exactly 64 KiB (2 s) is a frame like any other */
  c.sendBinary(Buffer.alloc(64 * 1024));
  await stillWorks(c);
  c.close();
});

test('a text message over 1 MiB is message_too_large; the session goes on', async () => {
  const c = await session();
  await expectError(c, JSON.stringify({ type: 'ping', pad: 'x'.repeat(1024 * 1024 + 16) }), 'message_too_large');
  await stillWorks(c);
  await expectError(c, JSON.stringify({ type: 'text_message', text: 'seven '.repeat(200 * 1024) }), 'message_too_large');
  await stillWorks(c);
  /* just under the limit is not an error of size */
  const from = c.log.length;
  c.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(1000 * 1000) }));
  await c.next('pong', { from });
  assert.equal(c.json(from, 'error').length, 0);
  c.close();
});

test('a flood: 300 pings at once are rate_limited (the excess dropped, one error), then the session works', async () => {
  const c = await session();
  const from = c.log.length;
  for (let i = 0; i < 300; i++) c.send({ type: 'ping' });
  await c.nextError('rate_limited', { from });
  await sleep(1500);
  const pongs = c.json(from, 'pong').length;
  const errors = c.json(from, 'error');
  assert.ok(pongs >= 50 && pongs <= 150, `about 100 pongs in the first second, got ${pongs}`);
  assert.ok(errors.every((e) => e.code === 'rate_limited'));
  assert.ok(errors.length <= 2, `at most one rate_limited error a second, got ${errors.length}`);
  assertError(errors[0], 'rate_limited');
  await stillWorks(c);
  c.close();
});

test('audio faster than 4x real time is rate_limited; real-time audio afterwards is fine', async () => {
  const c = await session({ audio_output: 'pcm' });
  const from = c.log.length;
  for (let i = 0; i < 500; i++) c.sendBinary(Buffer.alloc(640)); /* 10 s of audio at once */
  await c.nextError('rate_limited', { from });
  await sleep(1500);
  await stillWorks(c);
  const from2 = c.log.length;
  await streamPcm(Buffer.alloc(32000), (b) => c.sendBinary(b)); /* 1 s at real time */
  await stillWorks(c);
  assert.equal(c.json(from2, 'error').length, 0);
  c.close();
});

/* ------------------------------------------------------------ robustness */

test('clients that disconnect in the middle of an answer: the server stays up, new sessions work', async () => {
  const a = await session();
  const b = await session({ audio_output: 'pcm' });
  a.send({ type: 'text_message', text: 'hello' });
  b.send({ type: 'text_message', text: 'hello' });
  let n = 0;
  await a.waitIndex((e) => e.json?.type === 'audio_chunk' && ++n >= 2, { what: 'audio chunks' });
  await b.waitIndex((e) => !!e.bin, { what: 'binary audio' });
  a.terminate(); /* the TCP connection just drops */
  b.close(); /* a polite close while audio is streaming */
  await b.closedPromise();
  /* one that goes away mid-welcome in JSON mode, with events */
  const d = await session({ speak_welcome: true, events: 'all' });
  await d.next('audio_chunk', { timeoutMs: START_MS });
  d.terminate();
  await sleep(1000);
  assert.ok(server.alive(), 'the server is still running');
  const c = await session();
  c.send({ type: 'text_message', text: 'hello' });
  await c.next('response_start', { timeoutMs: START_MS });
  await c.next('audio_chunk', { timeoutMs: START_MS });
  await stillWorks(c);
  c.close();
});

test('ten sessions at once, each with a typed turn', async () => {
  const N = 10;
  const clients = await Promise.all(Array.from({ length: N }, (_, i) =>
    session(i % 2 ? { audio_output: 'pcm' } : {})));
  const ids = new Set(clients.map((c) => c.init.session_id));
  assert.equal(ids.size, N, 'distinct session ids');
  for (const c of clients) c.send({ type: 'text_message', text: 'hello' });
  await Promise.all(clients.map(async (c, i) => {
    const ps = await c.next('processing_started', { timeoutMs: START_MS });
    assert.equal(ps.conversation_turn, 1);
    await c.next('response_start', { timeoutMs: START_MS });
    c.done = await c.next('response_complete', { timeoutMs: TURN_MS });
    if (i % 2) {
      const frames = c.log.filter((e) => e.bin).length;
      assert.ok(c.done.chunks_sent > 0 && c.done.chunks_sent <= frames, `session ${i}: chunks_sent ${c.done.chunks_sent}, ${frames} frames`);
    } else {
      const answer = c.json(0, 'audio_chunk').filter((m) => m.kind === 'answer');
      assert.equal(c.done.chunks_sent, answer.length, `session ${i}: chunks_sent`);
      c.answerText = answer.map((m) => m.text).join(' ');
    }
    assert.deepEqual(c.json(0, 'error'), [], `session ${i}: no error`);
    assert.deepEqual(c.badTimestamps, []);
  }));
  /* the same answer to the same question in every session, all of it sent */
  /* (JSON chunks are json_chunk_ms, binary frames 20 ms: compare each mode) */
  for (const mode of [0, 1]) {
    const sent = new Set(clients.filter((_, i) => i % 2 === mode).map((c) => c.done.chunks_sent));
    assert.equal(sent.size, 1, `the same answer everywhere: chunks_sent ${[...sent]}`);
  }
  const texts = new Set(clients.filter((_, i) => i % 2 === 0).map((c) => c.answerText));
  assert.equal(texts.size, 1, `the same answer text everywhere: ${[...texts]}`);
  for (const c of clients) c.close();
});

/* ------------------------------------------------------------ UTF-8 */

test('invalid UTF-8 from a client is bad_json and is not echoed; a long type name is cut at a character', async () => {
  const c = await session();
  for (const bytes of [
    Buffer.concat([Buffer.from('{"type":"ping","x":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]),
    Buffer.concat([Buffer.from('{"type":"'), Buffer.from([0xe6, 0x97]), Buffer.from('"}')]), /* a cut character */
    Buffer.concat([Buffer.from('{"type":"ping","x":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]), /* a surrogate */
    Buffer.concat([Buffer.from('{"type":"ping","x":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]), /* overlong */
  ]) {
    const from = c.log.length;
    c.ws.send(bytes, { binary: false });
    const idx = await c.waitIndex((e) => e.json, { from, what: 'the reply to invalid UTF-8' });
    c.cursor = idx + 1;
    assertError(c.log[idx].json, 'bad_json');
    assert.doesNotMatch(c.log[idx].json.message, /\ufffd/, 'nothing of the frame is echoed');
    assert.equal(c.closed, false, 'the socket stays open');
    await stillWorks(c);
  }
  /* 40 three-byte characters: the echo is cut at 63 bytes, on a character boundary */
  const long = '日本語'.repeat(40);
  const unknown = await expectError(c, { type: long }, 'unknown_type');
  assert.ok(unknown.message.includes('日本語'.repeat(7)), unknown.message.slice(0, 100));
  assert.doesNotMatch(unknown.message, /\ufffd/);
  assert.equal(c.closed, false, 'valid UTF-8: the client did not close the socket (1007)');
  await stillWorks(c);
  c.close();
});

test('\\u0000 inside a string is bad_field (not a truncated request); playback_position over a day is out_of_range', async () => {
  const c = await session();
  for (const raw of ['{"type":"ping\\u0000x"}', '{"type":"text_message","text":"hi\\u0000there"}',
    '{"type":"ping","x\\u0000":1}']) {
    await expectError(c, raw, 'bad_field');
    await stillWorks(c);
  }
  /* an escaped backslash before u0000 is text, not a NUL */
  c.send('{"type":"ping","x":"\\\\u0000"}');
  await c.next('pong');
  await expectError(c, { type: 'playback_position', samples: 1e15 }, 'out_of_range');
  c.send({ type: 'playback_position', samples: c.init.sample_rate * 3600 });
  await stillWorks(c);
  assert.equal(c.json(0, 'processing_started').length, 0, 'nothing started a turn');
  c.close();
});

test('long Japanese, Arabic and emoji answers: audio_chunk, response_text and response_interrupted stay valid UTF-8', async () => {
  requireTools('python3');
  const llm = await startFakeLlm();
  /* about 2 KB of multi-byte text: over every byte limit the server had */
  const own = await startServer({
    args: ['--brain', 'llm', '-o', `base_url=http://127.0.0.1:${llm.port}/v1`, '-o', `model=stream:60:${MANY_SCRIPTS}`],
  });
  try {
    const open2 = async () => {
      const c = await Client.open(WebSocket, own.ws('/ws/audio'));
      opened.push(c);
      c.send({ type: 'initialize', events: 'all' });
      c.init = await c.next('initialized', { timeoutMs: START_MS });
      return c;
    };
    /* a whole answer */
    const c = await open2();
    c.send({ type: 'text_message', text: 'hello' });
    await c.next('response_complete', { timeoutMs: TURN_MS * 2 });
    assert.equal(c.closed, false, `the client kept the socket open (a split character closes it with 1007): ${JSON.stringify(c.closeInfo)}`);
    const answer = c.json(0, 'audio_chunk').filter((m) => m.kind === 'answer');
    const last = answer.map((m) => m.text).join(' ');
    assert.ok(Buffer.byteLength(last) > 1000, `the chunks' words make over 1000 bytes (${Buffer.byteLength(last)})`);
    for (const w of ['日本語', 'مرحبا', '👋🌍']) assert.ok(last.includes(w), `'${w}' in audio_chunk.text`);
    assert.doesNotMatch(last, /\ufffd/, 'no character was cut');
    const rt = c.json(0, 'response_text');
    assert.ok(rt.length > 0);
    assert.ok(rt[rt.length - 1].spoken_text.includes('👋🌍'));
    for (const m of rt) assert.doesNotMatch(m.spoken_text, /\ufffd/);
    assert.deepEqual(c.json(0, 'error'), []);
    c.close();

    /* cut in the middle */
    const d = await open2();
    const from = d.log.length;
    d.send({ type: 'text_message', text: 'hello' });
    let n = 0;
    await d.waitIndex((e) => e.json?.type === 'audio_chunk' && e.json.kind === 'answer' && ++n >= 30,
      { from, timeoutMs: START_MS * 2, what: '30 answer chunks' });
    d.send({ type: 'interrupt' });
    const ri = await d.next('response_interrupted', { timeoutMs: START_MS });
    assert.ok(ri.spoken_text.endsWith('...'));
    assert.ok(ri.unspoken_text.includes('日本語') && ri.unspoken_text.includes('👋🌍'), 'the unsaid rest, whole');
    assert.doesNotMatch(ri.spoken_text + ri.unspoken_text, /\ufffd/);
    /* events "all" asks for the acknowledgement: its events may come in a
     * write of their own (a slow server), before the ping's pong */
    await d.next('acknowledgement_started', { timeoutMs: START_MS });
    await stillWorks(d);
    assert.equal(d.closed, false);
    d.close();
  } finally {
    await own.stop();
    llm.stop();
  }
});

/* The status line of the answer to a raw HTTP request ('' when the server closed without one) */
async function rawStatus(port, path, headers) {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1', () => {
      sock.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${headers}\r\n`);
    });
    let got = '';
    sock.setTimeout(5000 * SLOW, () => sock.destroy());
    sock.on('data', (d) => { got += d.toString('latin1'); if (got.includes('\r\n')) sock.destroy(); });
    sock.on('close', () => resolve(got.split('\r\n')[0]));
    sock.on('error', () => {});
  });
}

test('request headers over 8 KiB are answered 431 (the page and the WebSocket); the server stays up', async () => {
  const ws = 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n';
  const cookie = (n) => `Cookie: a=${'x'.repeat(n)}\r\n`;
  assert.match(await rawStatus(server.port, '/', cookie(5000)), /^HTTP\/1\.1 200/, '5 KB of headers are fine');
  assert.match(await rawStatus(server.port, '/ws/audio', ws + cookie(5000)), /^HTTP\/1\.1 101/);
  assert.match(await rawStatus(server.port, '/', cookie(9000)), /^HTTP\/1\.[01] 431/, 'the page: 431');
  assert.match(await rawStatus(server.port, '/ws/audio', ws + cookie(20000)), /^HTTP\/1\.[01] 431/, 'the WebSocket: 431');
  assert.ok(server.alive());
  const c = await open();
  await c.roundTrip();
  c.close();
});

/* ------------------------------------------------------------ Origin and Host */

/* Opens a WebSocket with these headers: 'open' or the HTTP status of the refusal */
function tryOpen(url, { origin, host } = {}) {
  return new Promise((resolve) => {
    const opts = {};
    if (origin) opts.origin = origin;
    if (host) opts.headers = { Host: host };
    const ws = new WebSocket(url, opts);
    ws.once('open', () => { ws.close(); resolve('open'); });
    ws.once('unexpected-response', (req, res) => { res.resume(); resolve(res.statusCode); });
    ws.once('error', (err) => resolve(`error: ${err.message}`));
  });
}

test('Origin and Host: only the server\'s own page (or no Origin) may connect; other origins and names are refused with 403', async () => {
  const port = server.port;
  const url = server.ws();
  assert.equal(await tryOpen(url), 'open', 'no Origin: command-line and seed clients');
  assert.equal(await tryOpen(url, { origin: `http://127.0.0.1:${port}` }), 'open', 'the page served here');
  assert.equal(await tryOpen(url, { origin: `http://localhost:${port}`, host: `localhost:${port}` }), 'open',
    'the page opened as localhost');
  assert.equal(await tryOpen(url, { origin: `http://127.0.0.1:${port + 1}` }), 403, 'a page from another local port');
  assert.equal(await tryOpen(url, { origin: 'https://evil.example' }), 403, 'a page elsewhere on the web');
  assert.equal(await tryOpen(url, { origin: 'null' }), 403, 'a file:// page or a sandboxed frame');
  assert.equal(await tryOpen(url, { host: `evil.example:${port}` }), 403, 'DNS rebinding: a foreign name in Host');
  assert.equal(await tryOpen(url, { host: `evil.example:${port}`, origin: `http://evil.example:${port}` }), 403,
    'DNS rebinding with its own origin');
  assert.equal(await tryOpen(url, { host: `[::1]:${port}` }), 'open', 'an IP address in Host');
  assert.ok(server.alive(), 'the server stays up');
  /* the page itself still loads (the rules guard the WebSocket) */
  const res = await fetch(`http://127.0.0.1:${port}/`);
  assert.equal(res.status, 200);
  await res.text();

  /* another front end, reached by another name, with the options */
  const other = await startServer({ args: ['--allow-origin', 'http://localhost:5173', '--allow-host', 'tutor.lan'] });
  try {
    const u = other.ws();
    assert.equal(await tryOpen(u, { origin: 'http://localhost:5173' }), 'open', '--allow-origin');
    assert.equal(await tryOpen(u, { origin: 'http://localhost:5174' }), 403, 'only that origin');
    assert.equal(await tryOpen(u, { host: `tutor.lan:${other.port}` }), 'open', '--allow-host');
    assert.equal(await tryOpen(u, { host: `tutor.lan:${other.port}`, origin: `http://tutor.lan:${other.port}` }), 'open',
      'the page served under that name');
    assert.equal(await tryOpen(u, { host: `tutor.lan.evil.example:${other.port}` }), 403, 'only that name');
    await other.stop();
  } finally {
    if (other.alive()) await other.stop().catch(() => {});
  }
});

/* ------------------------------------------------------------ access token */

test('listening beyond 127.0.0.1 needs a token: without one the server refuses to start; with one, clients that give it get in', async () => {
  const env = { VOICETUTOR_TOKEN: '' };
  const refused = await serveExpectingFailure(['--host', '0.0.0.0'], { env });
  assert.notEqual(refused.code, 0, `exits non-zero without a token (${JSON.stringify(refused)})`);
  assert.notEqual(refused.signal, 'timeout', 'refuses to start rather than listening');
  assert.match(refused.output, /token/i, 'and says a token is needed');
  assert.doesNotMatch(refused.output, /Sanitizer|runtime error/);

  for (const [args, tokenEnv, token] of [
    [['--host', '0.0.0.0', '--token', 'secret'], '', 'secret'],
    [['--host', '0.0.0.0'], 'envsecret', 'envsecret'], /* VOICETUTOR_TOKEN */
  ]) {
    const guarded = await startServer({ args, env: { VOICETUTOR_TOKEN: tokenEnv } });
    try {
      for (const p of [`/ws/audio?token=${token}`, `/ws?token=${token}`]) {
        const c = await Client.open(WebSocket, guarded.ws(p));
        assert.equal(typeof c.connected.session_id, 'string');
        c.send({ type: 'initialize' });
        await c.next('initialized', { timeoutMs: START_MS });
        await c.roundTrip();
        c.close();
      }
      const page = await fetch(guarded.http(`/?token=${token}`));
      assert.equal(page.status, 200, 'the page with the token');
      await page.text();
      await guarded.stop();
    } finally {
      if (guarded.alive()) await guarded.stop().catch(() => {});
    }
  }
});

test('with a token, a WebSocket without it (or with a wrong one) is refused with 401 and the server stays up', async () => {
  const guarded = await startServer({ args: ['--host', '0.0.0.0', '--token', 'secret'], env: { VOICETUTOR_TOKEN: '' } });
  try {
    for (const q of ['', '?token=wrong', '?token=', '?token=secretx', '?tok=secret']) {
      const c = new Client(WebSocket, guarded.ws(`/ws/audio${q}`));
      await assert.rejects(c.opened(10000 * SLOW), (err) => err.status === 401, `refused with 401: '${q}'`);
      await sleep(200);
      assert.ok(guarded.alive(), `the server died after refusing '${q}' (exit ${JSON.stringify(guarded.exit)})\n${tail(guarded.stderr)}`);
    }
    const c = await Client.open(WebSocket, guarded.ws('/ws/audio?token=secret'));
    await c.roundTrip();
    c.close();
    await guarded.stop();
  } finally {
    if (guarded.alive()) await guarded.stop().catch(() => {});
  }
});

/* last: the shared server shuts down cleanly (exit 0, no sanitizer report) */
test('tokens of any length up to 1024 bytes work whole (not cut at 127); a longer one refuses to start', async () => {
  const env = { VOICETUTOR_TOKEN: '' };
  const tooLong = await serveExpectingFailure(['--host', '0.0.0.0', '--token', 'k'.repeat(1025)], { env });
  assert.notEqual(tooLong.code, 0, 'a 1025-byte token refuses to start');
  assert.notEqual(tooLong.signal, 'timeout');
  assert.match(tooLong.output, /1024/, 'and says the limit');
  for (const token of ['t0K-'.repeat(75), 'x'.repeat(1024)]) {
    const guarded = await startServer({ args: ['--host', '0.0.0.0', '--token', token], env });
    try {
      assert.ok(guarded.stdout.includes(`?token=${token}`), 'the printed address carries the whole token');
      for (const wrong of [token.slice(0, 127), token.slice(0, -1), `${token}x`, `${token.slice(0, -1)}y`]) {
        const c = new Client(WebSocket, guarded.ws(`/ws/audio?token=${wrong}`));
        await assert.rejects(c.opened(10000 * SLOW), (err) => err.status === 401,
          `refused with 401: a guess of ${wrong.length} bytes`);
      }
      const c = await Client.open(WebSocket, guarded.ws(`/ws/audio?token=${token}`));
      await c.roundTrip();
      c.close();
      await guarded.stop();
    } finally {
      if (guarded.alive()) await guarded.stop().catch(() => {});
    }
  }
});

test('the server exits 0 on SIGTERM with sessions open, without a sanitizer report', async () => {
  const c = await session();
  c.send({ type: 'text_message', text: 'hello' });
  await c.next('audio_chunk', { timeoutMs: START_MS });
  await server.stop();
});
