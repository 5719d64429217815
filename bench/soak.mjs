#!/usr/bin/env node
/*
 * soak.mjs: N sessions against `voicetutor serve` at real-time pace for a
 * while, the way a classroom would use one server (issue 13, part 2;
 * results in docs/BENCHMARKS.md, "A 50-session soak (issue 13)").
 * Not a timed test: a load tool, run by hand.
 *
 * Why: bench_serve measures one kind of session at a time, for seconds. A
 * server in use holds many kinds at once for hours: some people talking
 * over the tutor, most in a lesson, thinking between answers. What goes
 * wrong then is slow: a question that never gets its answer, audio that
 * piles up or is dropped, memory that grows, an event loop that lags.
 *
 * Two kinds of session, each with its own WebSocket, microphone clock and
 * script (JSON audio, "events":"all", so every audio_chunk says its kind):
 *   speakers (--speakers, default 10): speak continuously. The capitals
 *     lesson; the spoken question "Can you explain that to me please?";
 *     after 1 s of answer audio an interruption, alternately the sentence
 *     "Excuse me, can I ask something else?" (which is then their next
 *     question, answered and cut by the key after 1 s) and the key; every
 *     fourth turn typed instead of spoken; 0.6 s of room noise between.
 *   learners (--learners, default 40): the times tables with pauses. The
 *     welcome asks a sum; the learner thinks 2-8 s (--think; the microphone sends
 *     room noise all along, as a browser does), then types the answer
 *     (right 4 times in 5); every fifth turn says "I don't know" instead;
 *     every seventh answer is cut by the key after 0.5 s. With
 *     --spoken-answers the learner says the answer instead of typing it,
 *     in one of four flite voices (awb, rms, slt, kal16, by session), and
 *     the tutor's reply tells whether it was heard: praise after a right
 *     answer, none after a wrong one (reported as answers heard right and
 *     wrong answers taken as right).
 * Every session sends {"type":"ping"} each second; the pong's round trip
 * is the event loop's lag as a client sees it (it waits behind the
 * session's queued output, as any reply does).
 *
 * Reported, over the whole run and per kind:
 *   questions never answered: a turn (typed text, or speech whose
 *     transcription_complete came) with no response_start within 15 s; and
 *     spoken turns the server never transcribed (no processing_started);
 *   frames dropped: answer audio_chunk ids skipped within an answer (the
 *     server drops audio for a client over its queue bound), error messages
 *     (rate limits, overload), and microphone frames the bench itself sent
 *     over 100 ms late (its own lag: the load is then not real time);
 *   interruption to silence: T0 (first frame of the sound, or the key sent)
 *     to the last answer audio received, p50/p99;
 *   end of speech (last frame of the question; for typed turns the text
 *     sent) to the first audio of any kind, p50/p99;
 *   ping round trip p50/p99; sessions refused at initialize (server_full:
 *     admission control; their turns are not counted);
 *   server CPU (utime+stime of /proc/PID/stat, % of one core) and RSS
 *     (VmRSS) every --sample seconds, and the bench's own CPU.
 *
 * Usage: node bench/soak.mjs [--speakers 10] [--learners 40] [--seconds 300]
 *          [--sample 10] [--bin build/voicetutor] [--ramp-ms 400]
 *          [--json FILE] [--spoken-answers] [--think MIN-MAX (ms, 2000-8000)]
 *          [-- SERVER ARGS...]
 * It starts `voicetutor serve --port 0 --quiet -o db=none` itself (plus
 * SERVER ARGS) and stops it with SIGTERM at the end. Admission control
 * admits 8 speech sessions per core by default and refuses new ones while
 * the process uses over 90 % of its cores: to load a 2-core machine with
 * 50, pass `-- --max-sessions 100 --max-load 1.0`. Needs flite and sox
 * (the person's speech) and tests/web/node_modules (ws: `make web-deps`).
 */

import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const require = createRequire(path.join(ROOT, 'tests', 'web', 'package.json'));
const WebSocket = require('ws');

/* ---------------------------------------------------------------- options */
const opt = { speakers: 10, learners: 40, seconds: 300, sample: 10, bin: path.join(ROOT, 'build', 'voicetutor'),
  rampMs: 400, json: null, spokenAnswers: false, think: [2000, 8000], serverArgs: [] };
{
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    const k = a[i];
    if (k === '--') { opt.serverArgs = a.slice(i + 1); break; }
    if (k === '--spoken-answers') { opt.spokenAnswers = true; continue; }
    const v = a[++i];
    if (k === '--speakers') opt.speakers = Number(v);
    else if (k === '--learners') opt.learners = Number(v);
    else if (k === '--think') opt.think = v.split('-').map(Number);
    else if (k === '--seconds') opt.seconds = Number(v);
    else if (k === '--sample') opt.sample = Number(v);
    else if (k === '--bin') opt.bin = v;
    else if (k === '--ramp-ms') opt.rampMs = Number(v);
    else if (k === '--json') opt.json = v;
    else { console.error(`soak: unknown option ${k} (see the comment at the top)`); process.exit(2); }
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();
const FRAME_MS = 20;
const FRAME_BYTES = 640;

/* ---------------------------------------------------------------- speech */
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vt-soak-'));
function speech(text, voice = 'awb') {
  const raw = path.join(tmp, `s${Math.random().toString(36).slice(2)}`);
  execFileSync('flite', ['-voice', voice, '-t', text, '-o', `${raw}.wav`], { stdio: 'pipe' });
  /* 16 kHz mono s16le, leading and trailing silence trimmed */
  execFileSync('sox', [`${raw}.wav`, '-t', 'raw', '-r', '16000', '-c', '1', '-b', '16', '-e', 'signed-integer', '-L',
    `${raw}.raw`, 'silence', '1', '0.02', '1%', 'reverse', 'silence', '1', '0.02', '1%', 'reverse'], { stdio: 'pipe' });
  const pcm = fs.readFileSync(`${raw}.raw`);
  fs.rmSync(`${raw}.wav`, { force: true });
  fs.rmSync(`${raw}.raw`, { force: true });
  return pcm;
}
const QUESTION = speech('Can you explain that to me please?');
const EXCUSE = speech('Excuse me, can I ask something else?');
const DONTKNOW = speech("I don't know.");
/* the learners' spoken numbers, made when first needed (one per voice) */
const VOICES = ['awb', 'rms', 'slt', 'kal16'];
const UNITS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven',
  'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'];
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];
function numberWords(n) {
  if (n < 20) return UNITS[n];
  if (n < 100) return TENS[Math.floor(n / 10)] + (n % 10 ? ` ${UNITS[n % 10]}` : '');
  return String(n);
}
const spokenNumbers = new Map();
function spokenNumber(n, voice) {
  const k = `${voice}:${n}`;
  if (!spokenNumbers.has(k)) spokenNumbers.set(k, speech(numberWords(n), voice));
  return spokenNumbers.get(k);
}
const PRAISE = /^(Right!|Well done!|That's it!|Spot on!|Great!)/;
/* room noise, about -62 dBFS */
const NOISE = Buffer.alloc(FRAME_BYTES);
function noiseFrame() {
  for (let i = 0; i < FRAME_BYTES; i += 2) NOISE.writeInt16LE(Math.round((Math.random() - 0.5) * 70), i);
  return NOISE;
}

/* ---------------------------------------------------------------- figures */
const stats = {
  speaker: { turns: 0, unanswered: 0, untranscribed: 0, interrupts: 0, interruptMiss: 0, toSilence: [], firstAudio: [], firstAudioTyped: [] },
  learner: { turns: 0, unanswered: 0, untranscribed: 0, interrupts: 0, interruptMiss: 0, toSilence: [], firstAudio: [], firstAudioTyped: [],
    rightSaid: 0, rightHeard: 0, wrongSaid: 0, wrongTaken: 0, misheard: [] },
  ping: [], pingLost: 0, chunkGaps: 0, errors: {}, lateFrames: 0, frames: 0, closed: 0, refused: 0,
};

function pct(v, p) {
  if (!v.length) return NaN;
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/* ---------------------------------------------------------------- a session */
class Session {
  constructor(url, kind, n) {
    this.kind = kind;
    this.n = n;
    this.ws = new WebSocket(url);
    this.waiters = [];
    this.mic = null;            /* {pcm, off, resolve, t0, tEnd} */
    this.frameI = 0;
    this.t0 = 0;
    this.answerChunks = [];     /* recv times of answer chunks of the current answer */
    this.lastChunkId = -1;
    this.lastAnswerAudioT = 0;
    this.firstAudioWait = null; /* {since, typed, resolve} */
    this.inAnswer = false;
    this.spoken = '';
    this.pings = [];            /* send times of pings not answered yet */
    this.done = false;
    this.ws.on('message', (data, binary) => {
      if (binary) return;
      let m;
      try { m = JSON.parse(String(data)); } catch { return; }
      this.onMessage(m, now());
    });
    this.ws.on('close', () => { if (!this.done) stats.closed++; this.done = true; this.fail(new Error('closed')); });
    this.ws.on('error', () => {});
  }

  opened() {
    return new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('error', reject);
    });
  }

  onMessage(m, t) {
    if (m.type === 'pong') {
      const at = this.pings.shift();
      if (at !== undefined) stats.ping.push(t - at);
    } else if (m.type === 'audio_chunk') {
      if (this.firstAudioWait) {
        const w = this.firstAudioWait;
        this.firstAudioWait = null;
        w.resolve(t - w.since);
      }
      if (m.kind === 'answer') {
        if (this.lastChunkId >= 0 && m.chunk_id > this.lastChunkId + 1) stats.chunkGaps += m.chunk_id - this.lastChunkId - 1;
        this.lastChunkId = m.chunk_id;
        this.lastAnswerAudioT = t;
        this.answerChunks.push(t);
      }
    } else if (m.type === 'response_start') {
      if (/\d+ times \d+/i.test(m.full_text || '')) this.spoken = m.full_text; /* the next sum */
      this.lastChunkId = -1;
      this.answerChunks = [];
      this.inAnswer = true;
    } else if (m.type === 'response_text') {
      this.spoken = m.spoken_text || this.spoken;
    } else if (m.type === 'welcome_message') {
      this.spoken = m.text || this.spoken; /* it asks the first sum */
    } else if (m.type === 'response_complete' || m.type === 'response_interrupted') {
      this.inAnswer = false;
    } else if (m.type === 'error') {
      stats.errors[m.code] = (stats.errors[m.code] || 0) + 1;
    }
    for (const w of [...this.waiters]) {
      if (w.type === m.type && w.where(m)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        clearTimeout(w.timer);
        w.resolve({ m, t });
      }
    }
  }

  fail(err) {
    for (const w of this.waiters.splice(0)) { clearTimeout(w.timer); w.reject(err); }
  }

  /* the next message of this type (or null after timeoutMs) */
  next(type, timeoutMs, where = () => true) {
    return new Promise((resolve, reject) => {
      const w = { type, where, resolve, reject };
      w.timer = setTimeout(() => { this.waiters.splice(this.waiters.indexOf(w), 1); resolve(null); }, timeoutMs);
      this.waiters.push(w);
    });
  }

  firstAudio(since, timeoutMs = 15000) {
    return new Promise((resolve) => {
      const w = { since, resolve };
      this.firstAudioWait = w;
      setTimeout(() => { if (this.firstAudioWait === w) { this.firstAudioWait = null; resolve(null); } }, timeoutMs);
    });
  }

  send(o) { if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(o)); }

  /* the microphone: one frame per 20 ms on an absolute schedule */
  frame(t) {
    if (this.done || this.ws.readyState !== WebSocket.OPEN) return;
    const due = this.t0 + this.frameI * FRAME_MS;
    if (t < due) return;
    for (; due <= t && this.t0 + this.frameI * FRAME_MS <= t; ) {
      const d = this.t0 + this.frameI * FRAME_MS;
      this.frameI++;
      stats.frames++;
      if (t - d > 100) stats.lateFrames++;
      let buf;
      const mic = this.mic;
      if (mic) {
        if (mic.off === 0) mic.t0 = t;
        buf = mic.pcm.subarray(mic.off, mic.off + FRAME_BYTES);
        mic.off += FRAME_BYTES;
        if (mic.off >= mic.pcm.length) {
          this.mic = null;
          mic.resolve({ t0: mic.t0, tEnd: t });
        }
        if (buf.length < FRAME_BYTES) buf = Buffer.concat([buf, Buffer.alloc(FRAME_BYTES - buf.length)]);
      } else {
        buf = noiseFrame();
      }
      this.ws.send(buf, { binary: true });
      if (t - d > 1000) { this.frameI = Math.floor((t - this.t0) / FRAME_MS) + 1; break; }
    }
  }

  say(pcm) {
    return new Promise((resolve) => { this.mic = { pcm, off: 0, resolve, t0: 0 }; });
  }

  ping(t) {
    if (this.pings.length > 20) { stats.pingLost += this.pings.length; this.pings = []; }
    this.pings.push(t);
    this.send({ type: 'ping' });
  }
}

/* Interrupts the current answer; returns T0 -> last answer audio (ms). */
async function interrupt(s, st, how) {
  st.interrupts++;
  let T0;
  const det = s.next('interruption_detected', 5000);
  if (how === 'key') {
    T0 = now();
    s.send({ type: 'interrupt' });
  } else {
    const p = s.say(how);
    /* T0: the first frame of the sound */
    while (!s.mic?.t0 && s.mic) await sleep(5);
    T0 = s.mic?.t0 || now();
    s.sayDone = p;
  }
  const d = await det;
  if (!d) { st.interruptMiss++; return; }
  await sleep(700); /* answer audio arriving late would still count */
  st.toSilence.push(Math.max(0, s.lastAnswerAudioT - T0));
}

async function waitAnswerAudio(s, ms) {
  const t = now();
  while (s.answerChunks.length === 0 && now() - t < 15000) await sleep(10);
  if (!s.answerChunks.length) return false;
  const first = s.answerChunks[0];
  while (now() - first < ms && s.inAnswer) await sleep(10);
  return s.inAnswer;
}

async function speakerLoop(s, until) {
  const st = stats.speaker;
  for (let turn = 0; now() < until && !s.done; turn++) {
    const typed = turn % 4 === 3;
    st.turns++;
    const started = s.next('response_start', 15000 + (typed ? 0 : 3000));
    if (typed) {
      const t = now();
      const fa = s.firstAudio(t);
      s.send({ type: 'text_message', text: 'Can you explain that to me please?' });
      const v = await fa;
      if (v !== null) st.firstAudioTyped.push(v);
    } else {
      const proc = s.next('processing_started', 18000);
      const { tEnd } = await s.say(QUESTION);
      const fa = s.firstAudio(tEnd);
      const v = await fa;
      if (v !== null) st.firstAudio.push(v);
      if (!(await proc)) st.untranscribed++;
    }
    if (!(await started)) { st.unanswered++; continue; }
    if (!(await waitAnswerAudio(s, 1000))) continue;
    if (turn % 2 === 0) {
      await interrupt(s, st, 'key');
    } else {
      /* the sentence interrupts and is the next question */
      st.turns++;
      const started2 = s.next('response_start', 18000);
      await interrupt(s, st, EXCUSE);
      const r = await s.sayDone;
      const fa = s.firstAudio(r.tEnd);
      const v = await fa;
      if (v !== null) st.firstAudio.push(v);
      if (!(await started2)) { st.unanswered++; continue; }
      if (await waitAnswerAudio(s, 1000)) await interrupt(s, st, 'key');
    }
    await s.next('response_complete', 3000);
    await sleep(600);
  }
}

function lastSum(text) {
  const all = [...String(text).matchAll(/(\d+) times (\d+)/gi)];
  if (!all.length) return null;
  const m = all[all.length - 1];
  return [Number(m[1]), Number(m[2])];
}

async function learnerLoop(s, until) {
  const st = stats.learner;
  await s.next('response_complete', 20000); /* the welcome */
  for (let turn = 0; now() < until && !s.done; turn++) {
    await sleep(opt.think[0] + Math.random() * (opt.think[1] - opt.think[0]));
    if (now() >= until || s.done) break;
    st.turns++;
    const started = s.next('response_start', 18000);
    if (turn % 5 === 4) {
      const proc = s.next('processing_started', 18000);
      const { tEnd } = await s.say(DONTKNOW);
      const v = await s.firstAudio(tEnd);
      if (v !== null) st.firstAudio.push(v);
      if (!(await proc)) { st.untranscribed++; await started; continue; }
    } else {
      const known = lastSum(s.spoken);
      const q = known || [2, 3];
      const right = Math.random() < 0.8;
      const n = q[0] * q[1] + (right ? 0 : 1);
      if (opt.spokenAnswers) {
        const proc = s.next('processing_started', 18000);
        const heard = s.next('transcription_complete', 18000);
        const { tEnd } = await s.say(spokenNumber(n, VOICES[s.n % VOICES.length]));
        const v = await s.firstAudio(tEnd);
        if (v !== null) st.firstAudio.push(v);
        if (!(await proc)) { st.untranscribed++; await started; continue; }
        const r = await started; /* the reply's whole text */
        const praised = r && PRAISE.test(r.m.full_text || '');
        const h = await heard;
        if (known) { /* the sum the tutor asked was read from its words */
          if (right) st.rightSaid++; else st.wrongSaid++;
          if (right && praised) st.rightHeard++;
          if (!right && praised) st.wrongTaken++;
        }
        if (known && right !== praised && st.misheard.length < 12)
          st.misheard.push(`${VOICES[s.n % VOICES.length]} said "${numberWords(n)}" (${right ? 'right' : 'wrong'}), heard "${h ? h.m.text : '?'}"`);
      } else {
        const t = now();
        const fa = s.firstAudio(t);
        s.send({ type: 'text_message', text: String(n) });
        const v = await fa;
        if (v !== null) st.firstAudioTyped.push(v);
      }
    }
    if (!(await started)) { st.unanswered++; continue; }
    if (turn % 7 === 6) {
      if (await waitAnswerAudio(s, 500)) await interrupt(s, st, 'key');
    }
    await s.next('response_complete', 30000);
  }
}

/* ---------------------------------------------------------------- the server */
function procStat(pid) {
  const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); /* utime + stime, in clock ticks */
}
function rssMiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}
const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

async function main() {
  const args = ['serve', '--port', '0', '--quiet', '-o', 'db=none', ...opt.serverArgs];
  const child = spawn(opt.bin, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => { err += d; if (err.length > 100000) err = err.slice(-50000); });
  const port = await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on http:\/\/[^:]+:(\d+)\//.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`voicetutor serve exited (${code}): ${err}`)));
  });
  const pid = child.pid;
  const url = `ws://127.0.0.1:${port}/ws/audio`;
  const idleRss = rssMiB(pid);
  console.log(`# soak: ${opt.speakers} speakers + ${opt.learners} learners for ${opt.seconds} s; server pid ${pid}, idle RSS ${idleRss.toFixed(1)} MiB`);

  const sessions = [];
  const tStart = now();
  const until = tStart + opt.seconds * 1000;
  /* one clock for every microphone and ping */
  const clock = setInterval(() => {
    const t = now();
    for (const s of sessions) s.frame(t);
  }, 5);
  const pinger = setInterval(() => {
    const t = now();
    for (const s of sessions) if (s.ws.readyState === WebSocket.OPEN) s.ping(t);
  }, 1000);
  const samples = [];
  let lastCpu = procStat(pid);
  let lastT = now();
  let lastBench = process.cpuUsage();
  const sampler = setInterval(() => {
    const t = now();
    const c = procStat(pid);
    const b = process.cpuUsage();
    const row = {
      t: Math.round((t - tStart) / 1000),
      cpu: ((c - lastCpu) / TICKS) / ((t - lastT) / 1000) * 100,
      bench: ((b.user - lastBench.user + b.system - lastBench.system) / 1000) / (t - lastT) * 100,
      rss: rssMiB(pid),
      sessions: sessions.filter((s) => !s.done).length,
    };
    lastCpu = c; lastT = t; lastBench = b;
    samples.push(row);
    console.log(`# t=${row.t}s sessions=${row.sessions} server_cpu=${row.cpu.toFixed(0)}% rss=${row.rss.toFixed(0)}MiB bench_cpu=${row.bench.toFixed(0)}%`);
  }, opt.sample * 1000);

  const runs = [];
  const total = opt.speakers + opt.learners;
  for (let i = 0; i < total; i++) {
    const kind = i % 5 === 0 && runs.filter((r) => r.kind === 'speaker').length < opt.speakers ? 'speaker'
      : (runs.filter((r) => r.kind === 'learner').length < opt.learners ? 'learner' : 'speaker');
    const s = new Session(url, kind, i);
    try {
      await s.opened();
    } catch (e) {
      stats.closed++;
      continue;
    }
    s.t0 = now();
    sessions.push(s);
    const full = s.next('error', 5000, (m) => m.code === 'server_full');
    const ready = s.next('initialized', 5000);
    s.send({ type: 'initialize', character: kind === 'speaker' ? 'capitals' : 'times-tables',
      user_id: `soak${i}`, speak_welcome: kind === 'learner', events: 'all' });
    if (await Promise.race([full.then((r) => (r ? 'full' : null)), ready.then((r) => (r ? 'ok' : null))]) === 'full') {
      /* admission control refused it (the server's --max-sessions / --max-load):
       * counted apart, its turns are not the load's */
      stats.refused++;
      s.done = true;
      s.ws.close();
      await sleep(opt.rampMs);
      continue;
    }
    const loop = (kind === 'speaker' ? speakerLoop : learnerLoop)(s, until).catch((e) => {
      if (!s.done) console.log(`# session ${i}: ${e.message}`);
    });
    runs.push({ kind, loop });
    await sleep(opt.rampMs);
  }
  await Promise.all(runs.map((r) => r.loop));
  clearInterval(clock);
  clearInterval(pinger);
  clearInterval(sampler);
  for (const s of sessions) { s.done = true; s.ws.close(); }
  const endRss = rssMiB(pid);
  await sleep(500);
  child.kill('SIGTERM');
  await new Promise((r) => child.on('exit', r));

  /* ---------------------------------------------------------------- report */
  const f = (v) => (Number.isFinite(v) ? v.toFixed(0) : '-');
  const row = (name, st) => `| ${name} | ${st.turns} | ${st.unanswered} | ${st.untranscribed} | ${st.interrupts} (${st.interruptMiss} missed) | ` +
    `${f(pct(st.toSilence, 50))} / ${f(pct(st.toSilence, 99))} | ${f(pct(st.firstAudio, 50))} / ${f(pct(st.firstAudio, 99))} (${st.firstAudio.length}) | ` +
    `${f(pct(st.firstAudioTyped, 50))} / ${f(pct(st.firstAudioTyped, 99))} (${st.firstAudioTyped.length}) |`;
  console.log('\n| sessions | turns | never answered | speech never transcribed | interruptions | interruption -> silence p50 / p99 (ms) | end of speech -> first audio p50 / p99 (n) | text -> first audio p50 / p99 (n) |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  console.log(row(`${opt.speakers} speakers`, stats.speaker));
  console.log(row(`${opt.learners} learners`, stats.learner));
  if (opt.spokenAnswers) {
    const L = stats.learner;
    console.log(`\nspoken answers: right ones heard right ${L.rightHeard}/${L.rightSaid}` +
      ` (${(100 * L.rightHeard / Math.max(1, L.rightSaid)).toFixed(1)} %), wrong ones taken as right ${L.wrongTaken}/${L.wrongSaid}`);
    for (const x of L.misheard) console.log(`  ${x}`);
  }
  const warmS = Math.min(60, opt.seconds / 5);
  const warm = samples.filter((s) => s.t >= warmS);
  const cpuAvg = warm.length ? warm.reduce((a, s) => a + s.cpu, 0) / warm.length : NaN;
  const benchAvg = warm.length ? warm.reduce((a, s) => a + s.bench, 0) / warm.length : NaN;
  console.log(`\nping round trip p50 / p99: ${pct(stats.ping, 50)?.toFixed(1)} / ${pct(stats.ping, 99)?.toFixed(1)} ms (${stats.ping.length} pings, ${stats.pingLost} lost)`);
  console.log(`sessions refused at initialize (server_full): ${stats.refused}`);
  console.log(`answer audio chunks skipped: ${stats.chunkGaps}; error messages: ${JSON.stringify(stats.errors)}; ` +
    `microphone frames sent over 100 ms late: ${stats.lateFrames} of ${stats.frames}; sessions closed early: ${stats.closed}`);
  console.log(`server CPU after warm-up (${warmS} s): ${f(cpuAvg)} % of one core; bench CPU ${f(benchAvg)} %`);
  const rssWarm = warm.length ? warm[0].rss : NaN;
  console.log(`RSS: idle ${idleRss.toFixed(1)} MiB, after warm-up ${rssWarm.toFixed(1)} MiB, at the end ${endRss.toFixed(1)} MiB ` +
    `(max ${Math.max(...samples.map((s) => s.rss)).toFixed(1)})`);
  console.log('\n| t (s) | sessions | server CPU (% of a core) | RSS (MiB) | bench CPU |');
  console.log('|---:|---:|---:|---:|---:|');
  for (const s of samples) console.log(`| ${s.t} | ${s.sessions} | ${f(s.cpu)} | ${s.rss.toFixed(0)} | ${f(s.bench)} |`);
  if (opt.json) fs.writeFileSync(opt.json, JSON.stringify({ opt, stats: { ...stats, ping: undefined }, samples }, null, 1));
  fs.rmSync(tmp, { recursive: true, force: true });
}

main().catch((e) => { console.error(`soak: ${e.stack || e}`); process.exit(1); });
