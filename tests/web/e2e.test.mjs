/*
 * End to end in a real browser: Debian's chromium, driven by playwright-core,
 * opens the web client of `voicetutor serve` with ?autostart=1; its microphone
 * is a WAV file (chromium's fake capture device) made at test time with flite
 * and sox. The test reads the page's debug view window.vt (web/app.js) and
 * samples it every 20 ms from inside the page.
 *
 *  1. The fake microphone asks a question after the spoken welcome, then says
 *     "stop" while the tutor answers: the transcript, the answer audio, the
 *     interruption, the page going quiet within a bound, the tutor listening
 *     again.
 *  2. A silent microphone; Space stops the welcome (key interruption), then a
 *     question typed in the page gets a spoken answer.
 *  3. A long answer in Japanese, Arabic and emoji from the fake LLM reaches
 *     the page whole: Chromium closes a socket that carries a split
 *     character (1007), so one connection and the words in the transcript
 *     show that every frame was valid UTF-8.
 *
 * Screenshots: $VT_BINARY_DIR/e2e-voice.png and e2e-space.png (paths are
 * printed). Run: node --test tests/web/e2e.test.mjs
 */

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  SLOW, BINARY_DIR, loadPlaywright, startServer, startFakeLlm, requireTools, tmpDir,
  fliteWav, silenceWav, concatWav, words,
} from './helpers.mjs';

const { chromium } = await loadPlaywright();
const CHROMIUM = process.env.VT_CHROMIUM || '/usr/bin/chromium';

/* The page must go quiet this fast after interruption_detected reaches it
 * (the player worklet drops its queue). */
const SILENCE_BOUND_MS = 150;

/* The fake microphone's script (seconds). The welcome (the lesson intro, about
 * 12.5 s of speech) plays first; the question comes after it. */
const LEAD_S = 16;
const GAP_S = 2.5; /* the turn ends (about 0.6 s), the answer starts, then "stop" */
const TAIL_S = 6;
const QUESTION = 'what is six times seven';
const QUESTION_VOICE = 'kal16';

let server;
let dir;
const browsers = [];

before(async () => {
  requireTools('flite', 'sox');
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: install Debian's chromium (make deps)`);
  }
  dir = tmpDir('vt-e2e-');
  server = await startServer();
});

after(async () => {
  for (const b of browsers) await b.close().catch(() => {});
  if (server?.alive()) await server.stop().catch(() => {});
});

async function launch(wav) {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${wav}%noloop`, '--autoplay-policy=no-user-gesture-required',
    ],
  });
  browsers.push(browser);
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  page.errors = [];
  page.on('pageerror', (err) => page.errors.push(String(err)));
  page.on('console', (m) => {
    if (m.type() === 'error') page.errors.push(`console: ${m.text()}`);
  });
  return { browser, page };
}

/* Samples window.vt every 20 ms inside the page (window.__probe). */
async function startProbe(page) {
  await page.evaluate(() => {
    window.__probe = [];
    setInterval(() => {
      const v = window.vt;
      window.__probe.push({
        t: performance.now(), audioBytes: v.audioBytes, playing: v.playing, played: v.playedSamples, state: v.state,
      });
    }, 20);
  });
}

async function snapshot(page) {
  return page.evaluate(() => {
    const v = window.vt;
    return {
      events: v.events.map((e) => ({ type: e.type, t: e.t, msg: e.type === 'performance_summary' ? {} : e.msg })),
      audioBytes: v.audioBytes,
      lastAudioAt: v.lastAudioAt,
      interruptedAt: v.interruptedAt,
      silentAt: v.silentAt,
      playing: v.playing,
      playedSamples: v.playedSamples,
      state: v.state,
      micStarted: v.micStarted,
      sentFrames: v.sentFrames,
      probe: window.__probe || [],
      now: performance.now(),
    };
  });
}

function timeline(s) {
  const t0 = s.events[0]?.t ?? 0;
  return s.events
    .filter((e) => !['performance_summary', 'response_text'].includes(e.type))
    .map((e) => {
      const m = e.msg;
      const info = m.state || m.trigger || m.text || m.code || '';
      return `  ${((e.t - t0) / 1000).toFixed(2).padStart(6)} s ${e.type}${info ? ` ${String(info).slice(0, 70)}` : ''}`;
    }).join('\n');
}

async function screenshot(page, name) {
  const file = path.join(fs.existsSync(BINARY_DIR) ? BINARY_DIR : dir, name);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot: ${file}`);
  return file;
}

const first = (s, type, where = () => true, after = -Infinity) =>
  s.events.find((e) => e.type === type && e.t > after && where(e.msg));

/* bytes of audio the page had received at page time t (from the probe) */
function bytesAt(s, t) {
  let b = 0;
  for (const p of s.probe) if (p.t <= t) b = p.audioBytes;
  return b;
}

test('voice: a spoken question is answered, "stop" interrupts the answer, the page goes quiet, the tutor listens again', async () => {
  const wav = concatWav([
    silenceWav(LEAD_S, path.join(dir, 'lead.wav')),
    fliteWav(QUESTION, path.join(dir, 'question.wav'), QUESTION_VOICE),
    silenceWav(GAP_S, path.join(dir, 'gap.wav')),
    fliteWav('stop', path.join(dir, 'stop.wav'), 'rms'),
    silenceWav(TAIL_S, path.join(dir, 'tail.wav')),
  ], path.join(dir, 'mic.wav'));

  const { page } = await launch(wav);
  await page.goto(server.http('/?autostart=1'));
  await page.waitForFunction(() => window.vt && window.vt.micStarted && window.vt.events.some((e) => e.type === 'initialized'),
    null, { timeout: 20000 * SLOW });
  /* interruption by spoken commands only, set in the page's settings: the
   * "stop" must be the keyword spotter's, not just any speech over the answer */
  await page.selectOption('#set-mode', 'commands');
  await page.waitForFunction(() => window.vt.events.some((e) => e.type === 'interruption_configured' && e.msg.mode === 'commands'),
    null, { timeout: 10000 * SLOW });
  await startProbe(page);

  /* the whole script of the microphone, then the interruption and the return
   * to listening */
  const scriptMs = (LEAD_S + 2 + GAP_S + 1 + TAIL_S) * 1000;
  let s;
  try {
    await page.waitForFunction(() => {
      const ev = window.vt.events;
      const i = ev.findIndex((e) => e.type === 'interruption_detected' &&
        ev.some((x) => x.type === 'transcription_complete' && x.t < e.t));
      return i >= 0 && window.vt.silentAt !== null &&
        ev.slice(i).some((e) => e.type === 'state_changed' && e.msg.state === 'LISTENING');
    }, null, { timeout: scriptMs + 30000 * SLOW, polling: 100 });
  } finally {
    s = await snapshot(page);
    console.log(`page timeline (voice test):\n${timeline(s)}`);
    await screenshot(page, 'e2e-voice.png');
  }

  /* the premise: the welcome was over before the question started */
  const welcome = first(s, 'welcome_message');
  assert.ok(welcome, 'the page asked for the spoken welcome');
  const welcomeDone = first(s, 'response_complete');
  const heard = first(s, 'transcription_complete');
  assert.ok(welcomeDone && welcomeDone.t < heard.t,
    `the welcome finished before the question (lead silence ${LEAD_S} s); otherwise the question interrupted it`);

  /* the transcript */
  const got = words(heard.msg.text);
  const want = words(QUESTION);
  const common = want.filter((w) => got.includes(w));
  console.log(`heard: '${heard.msg.text}' (asked: '${QUESTION}')`);
  assert.ok(got.includes('six') && got.includes('seven') && common.length >= 4,
    `the transcript '${heard.msg.text}' has the words of '${QUESTION}'`);
  const turn = first(s, 'processing_started', () => true, welcomeDone.t);
  assert.equal(turn.msg.text, heard.msg.text, 'the turn is the transcript');
  const answer = first(s, 'response_start', () => true, turn.t);
  assert.ok(answer, 'the tutor answered');

  /* the interruption by "stop" during the answer */
  const idet = first(s, 'interruption_detected', () => true, answer.t);
  assert.ok(idet, 'interruption_detected');
  assert.equal(idet.msg.trigger, 'command', 'the keyword "stop" stopped the answer');
  assert.equal(s.interruptedAt, idet.t);
  const ri = first(s, 'response_interrupted', () => true, answer.t);
  assert.ok(ri && ri.msg.spoken_text.endsWith('...'), 'response_interrupted with what was said');
  console.log(`interrupted by ${idet.msg.trigger}: said '${ri.msg.spoken_text}', not said '${ri.msg.unspoken_text}'`);

  /* answer audio arrived and played before the interruption */
  const answerBytes = bytesAt(s, idet.t) - bytesAt(s, answer.t);
  assert.ok(answerBytes > 16000, `answer audio arrived before the interruption (${answerBytes} bytes)`);
  assert.ok(s.probe.some((p) => p.t > answer.t && p.t < idet.t && p.playing), 'the page played the answer');

  /* the page went quiet at once */
  const quietMs = s.silentAt - s.interruptedAt;
  console.log(`quiet ${quietMs.toFixed(1)} ms after interruption_detected; server latency ${idet.msg.interruption_latency_ms} ms`);
  assert.ok(quietMs >= 0 && quietMs < SILENCE_BOUND_MS, `silent ${quietMs.toFixed(1)} ms after interruption_detected (bound ${SILENCE_BOUND_MS} ms)`);

  /* and listened again */
  const back = first(s, 'state_changed', (m) => m.state === 'LISTENING', idet.t);
  assert.ok(back, 'state_changed LISTENING after the interruption');
  assert.deepEqual(page.errors, [], 'no error in the page');
});

test('keyboard: Space stops the welcome, the page goes quiet, a typed question gets a spoken answer', async () => {
  const wav = silenceWav(60, path.join(dir, 'silence.wav'));
  const { page } = await launch(wav);
  await page.goto(server.http('/?autostart=1'));
  await page.waitForFunction(() => window.vt && window.vt.micStarted, null, { timeout: 20000 * SLOW });
  await startProbe(page);
  /* a second of the welcome playing */
  await page.waitForFunction(() => window.vt.playing && window.vt.playedSamples > 16000, null,
    { timeout: 30000 * SLOW, polling: 20 });
  await page.locator('body').click({ position: { x: 5, y: 5 } }); /* focus away from text fields */
  const pressedAt = await page.evaluate(() => performance.now());
  await page.keyboard.press('Space');
  let s;
  try {
    await page.waitForFunction(() => window.vt.silentAt !== null && window.vt.events.some((e, i, ev) =>
      e.type === 'state_changed' && e.msg.state === 'LISTENING' && ev.slice(0, i).some((x) => x.type === 'interruption_detected')),
    null, { timeout: 20000 * SLOW, polling: 50 });
    /* then a typed question */
    await page.fill('#ask-text', 'what is eight times four');
    await page.press('#ask-text', 'Enter');
    await page.waitForFunction(() => {
      const ev = window.vt.events;
      const i = ev.findIndex((e) => e.type === 'processing_started' && e.msg.text === 'what is eight times four');
      return i >= 0 && ev.slice(i).some((e) => e.type === 'response_start') && window.vt.playing;
    }, null, { timeout: 20000 * SLOW, polling: 50 });
    await page.waitForTimeout(1500); /* some of the answer, for the screenshot */
  } finally {
    s = await snapshot(page);
    console.log(`page timeline (Space test):\n${timeline(s)}`);
    await screenshot(page, 'e2e-space.png');
  }

  const idet = first(s, 'interruption_detected', () => true, pressedAt);
  assert.ok(idet, 'interruption_detected');
  assert.equal(idet.msg.trigger, 'key');
  const ri = first(s, 'response_interrupted', () => true, pressedAt);
  assert.ok(ri.msg.spoken_text.endsWith('...'));
  assert.ok(ri.msg.unspoken_text.length > 0, 'the welcome was cut short');
  const quietMs = s.silentAt - s.interruptedAt;
  console.log(`Space → interruption_detected ${(idet.t - pressedAt).toFixed(1)} ms; quiet ${quietMs.toFixed(1)} ms after it`);
  assert.ok(quietMs >= 0 && quietMs < SILENCE_BOUND_MS, `silent ${quietMs.toFixed(1)} ms after interruption_detected (bound ${SILENCE_BOUND_MS} ms)`);
  assert.ok(idet.t - pressedAt < 2000 * SLOW, 'the key reached the server and back quickly');
  assert.ok(first(s, 'acknowledgement_started', () => true, pressedAt), 'the tutor acknowledged');
  assert.ok(first(s, 'state_changed', (m) => m.state === 'LISTENING', idet.t), 'and listened again');
  /* the typed turn was answered with audio */
  const typed = first(s, 'processing_started', (m) => m.text === 'what is eight times four');
  const rs = first(s, 'response_start', () => true, typed.t);
  assert.ok(s.audioBytes - bytesAt(s, rs.t) > 0, 'answer audio after the typed question');
  const transcript = await page.locator('#transcript').innerText();
  assert.match(transcript, /what is eight times four/i, 'the typed question is in the transcript');
  assert.deepEqual(page.errors, [], 'no error in the page');
});

test('UTF-8: a long Japanese, Arabic and emoji answer from the LLM reaches the page on one connection', async () => {
  requireTools('python3');
  const llm = await startFakeLlm();
  const own = await startServer({
    args: ['--brain', 'llm', '-o', `base_url=http://127.0.0.1:${llm.port}/v1`,
      '-o', 'model=stream:25:ok 日本語 مرحبا 👋🌍'],
  });
  try {
    const wav = silenceWav(90, path.join(dir, 'silence-utf8.wav'));
    const { page } = await launch(wav);
    await page.goto(own.http('/?autostart=1'));
    await page.waitForFunction(() => window.vt && window.vt.micStarted, null, { timeout: 20000 * SLOW });
    await page.fill('#ask-text', 'hello');
    await page.press('#ask-text', 'Enter');
    await page.waitForFunction(() => {
      const ev = window.vt.events;
      const i = ev.findIndex((e) => e.type === 'processing_started' && e.msg.text === 'hello');
      return i >= 0 && ev.slice(i).some((e) => e.type === 'response_complete');
    }, null, { timeout: 120000 * SLOW, polling: 100 });
    const s = await snapshot(page);
    assert.equal(s.events.filter((e) => e.type === 'connected').length, 1, 'one connection: the socket never closed');
    const rt = s.events.filter((e) => e.type === 'response_text').map((e) => e.msg.spoken_text);
    assert.ok(rt.length > 0 && Buffer.byteLength(rt[rt.length - 1]) > 600, 'a long answer was spoken');
    const transcript = await page.locator('#transcript').innerText();
    for (const w of ['日本語', 'مرحبا', '👋🌍']) assert.ok(transcript.includes(w), `'${w}' in the transcript`);
    assert.doesNotMatch(transcript, /\ufffd|Disconnected/);
    assert.deepEqual(page.errors, [], 'no error in the page');
    await screenshot(page, 'e2e-utf8.png');
  } finally {
    await own.stop();
    llm.stop();
  }
});

test('the server exits 0 on SIGTERM after the browser sessions, without a sanitizer report', async () => {
  for (const b of browsers.splice(0)) await b.close();
  await server.stop();
});
