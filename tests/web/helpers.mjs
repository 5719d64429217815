/*
 * Shared helpers of the web tests (protocol.test.mjs, e2e.test.mjs):
 * the npm dependencies (with a clear failure when they are missing), a
 * `voicetutor serve` process per test file, a WebSocket client that records
 * everything it receives and can wait for a message, and test speech made
 * with flite + sox.
 *
 * Environment (set by tests/web/CMakeLists.txt through ctest):
 *   VT_BIN         the voicetutor program (default: <source>/build/voicetutor)
 *   VT_SOURCE_DIR  the source tree (default: two folders up from here)
 *   VT_BINARY_DIR  the build folder (screenshots and logs go there)
 */

import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const SOURCE_DIR = process.env.VT_SOURCE_DIR || path.resolve(HERE, '..', '..');
export const BIN = process.env.VT_BIN || path.join(SOURCE_DIR, 'build', 'voicetutor');
export const BINARY_DIR = process.env.VT_BINARY_DIR || path.dirname(BIN);
/* The sanitizer build is several times slower: failure timeouts grow with it
 * (success never waits for a timeout, so generous bounds cost nothing). */
export const SLOW = /asan|sanitize/i.test(BIN) ? 2 : 1;

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/* ------------------------------------------------------------ dependencies */

const DEPS_HINT =
  'the npm packages of the web tests are missing: run `make web-deps` in the source tree ' +
  '(npm ci --prefix tests/web --no-audit --no-fund)';

async function importDep(name) {
  if (!fs.existsSync(path.join(HERE, 'node_modules', name, 'package.json'))) {
    throw new Error(`tests/web/node_modules/${name} not found: ${DEPS_HINT}`);
  }
  try {
    return await import(name);
  } catch (err) {
    throw new Error(`cannot load ${name} (${err.message}): ${DEPS_HINT}`);
  }
}

export async function loadWs() {
  const mod = await importDep('ws');
  return mod.WebSocket || mod.default;
}

export async function loadPlaywright() {
  const mod = await importDep('playwright-core');
  return mod.chromium ? mod : mod.default;
}

export function requireTools(...tools) {
  for (const tool of tools) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      throw new Error(`'${tool}' is not installed: run ./scripts/install-deps.sh (make deps)`);
    }
  }
}

/* ------------------------------------------------------------ the server */

/* servers still running when this process ends (a failed test, a timeout
 * that signals us) are killed with it */
const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    for (const child of running) child.kill('SIGKILL');
    process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
  });
}

const SANITIZER = /(ERROR|WARNING): (Address|Leak|Memory|Thread|UndefinedBehavior)Sanitizer|runtime error:|SUMMARY: \w+Sanitizer/;

/*
 * Starts `voicetutor serve --port 0 --quiet ARGS...` and resolves once it
 * printed its address. stop() sends SIGTERM and throws when the server did not
 * exit 0, or when a sanitizer wrote a report, or when it died earlier.
 */
export async function startServer({ args = [], env = {}, startTimeoutMs = 60000, keepProgress = false } = {}) {
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} does not exist: build the project first`);
  /* no learner progress on disk: every run starts the lesson from the top,
   * and the tests never touch ~/.local/share/voicetutor */
  const dbArgs = keepProgress ? [] : ['-o', 'db=none'];
  const child = spawn(BIN, ['serve', '--port', '0', '--quiet', ...dbArgs, ...args], {
    cwd: SOURCE_DIR,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const server = {
    child,
    stdout: '',
    stderr: '',
    exit: null, /* {code, signal} */
    stopping: false,
    port: 0,
    host: '127.0.0.1',
  };
  running.add(child);
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      running.delete(child);
      server.exit = { code, signal };
      resolve(server.exit);
    });
  });
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => { server.stderr += d; });
  const listening = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(
      `voicetutor serve printed no address within ${startTimeoutMs} ms\nstdout: ${server.stdout}\nstderr: ${server.stderr}`)),
    startTimeoutMs);
    child.stdout.on('data', (d) => {
      server.stdout += d;
      const m = /listening on http:\/\/([^/:\s]+):(\d+)\//.exec(server.stdout);
      if (m && !server.port) {
        server.port = Number(m[2]);
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`voicetutor serve exited (code ${code}, signal ${signal}) before listening\nstderr: ${server.stderr}`));
    });
  });
  await listening;

  server.http = (p = '/') => `http://127.0.0.1:${server.port}${p}`;
  server.ws = (p = '/ws/audio') => `ws://127.0.0.1:${server.port}${p}`;
  server.alive = () => server.exit === null;
  server.exited = exited;
  /* fails the test when the server crashed, leaked or misbehaved */
  server.stop = async () => {
    if (server.exit === null) {
      server.stopping = true;
      child.kill('SIGTERM');
      const done = await Promise.race([exited, sleep(30000 * SLOW).then(() => null)]);
      if (!done) {
        child.kill('SIGKILL');
        await exited;
        throw new Error(`voicetutor serve did not exit within ${30 * SLOW} s of SIGTERM\nstderr: ${tail(server.stderr)}`);
      }
    } else if (!server.stopping) {
      throw new Error(`voicetutor serve died during the tests (code ${server.exit.code}, signal ${server.exit.signal})\nstderr: ${tail(server.stderr)}`);
    }
    if (SANITIZER.test(server.stderr)) {
      throw new Error(`voicetutor serve: sanitizer report\n${tail(server.stderr, 12000)}`);
    }
    if (server.exit.code !== 0) {
      throw new Error(`voicetutor serve exited with code ${server.exit.code}, signal ${server.exit.signal} after SIGTERM (want 0)\nstderr: ${tail(server.stderr)}`);
    }
  };
  return server;
}

/*
 * Starts tests/brain/fake_openai.py (an OpenAI-compatible fake; the model
 * name picks its behaviour, e.g. "stream:N:TEXT"); resolves to {port, stop}.
 * It exits by itself when its stdin closes, so a crashed test leaves nothing.
 */
export async function startFakeLlm() {
  const child = spawn('python3', [path.join(SOURCE_DIR, 'tests', 'brain', 'fake_openai.py')],
    { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(parseInt(String(d), 10)));
    child.once('exit', () => reject(new Error('fake_openai.py exited before printing its port')));
  });
  return { port, stop: () => child.stdin.end() };
}

/* Runs `voicetutor serve ARGS` expecting it to refuse to start. */
export async function serveExpectingFailure(args, { env = {}, timeoutMs = 30000 } = {}) {
  const child = spawn(BIN, ['serve', '--port', '0', '--quiet', ...args], {
    cwd: SOURCE_DIR,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const exit = await Promise.race([
    new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal }))),
    sleep(timeoutMs).then(() => null),
  ]);
  if (!exit) {
    child.kill('SIGKILL');
    return { code: null, signal: 'timeout', output: out };
  }
  return { ...exit, output: out };
}

export function tail(text, n = 4000) {
  return text.length > n ? `...${text.slice(-n)}` : text;
}

/* ------------------------------------------------------------ a client */

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/*
 * A WebSocket client that keeps everything it received, in order, in `log`
 * ({t, json} or {t, bin: Buffer}), and reads it through a cursor: next(type)
 * waits for the first message of that type after the cursor and moves the
 * cursor past it.
 */
export class Client {
  static async open(WebSocket, url, { waitConnected = true, timeoutMs = 10000 * SLOW } = {}) {
    const c = new Client(WebSocket, url);
    await c.opened(timeoutMs);
    if (waitConnected) c.connected = await c.next('connected', { timeoutMs });
    return c;
  }

  constructor(WebSocket, url) {
    this.url = url;
    this.ws = new WebSocket(url);
    this.ws.binaryType = 'nodebuffer';
    this.log = [];
    this.cursor = 0;
    this.badTimestamps = [];
    this.closed = false;
    this.waiters = new Set();
    this.ws.on('message', (data, isBinary) => {
      const t = performance.now();
      if (isBinary) {
        this.log.push({ t, bin: Buffer.from(data) });
      } else {
        let json;
        try {
          json = JSON.parse(data.toString('utf8'));
        } catch {
          json = { type: '<not json>', raw: data.toString('utf8') };
        }
        if (typeof json.timestamp !== 'string' || !ISO.test(json.timestamp) || Number.isNaN(Date.parse(json.timestamp))) {
          this.badTimestamps.push(json);
        }
        this.log.push({ t, json });
      }
      for (const w of this.waiters) w();
    });
    this.ws.on('close', (code, reason) => {
      this.closed = true;
      this.closeInfo = { code, reason: reason.toString() };
      for (const w of this.waiters) w();
    });
    this.ws.on('error', (err) => {
      this.error = err;
      for (const w of this.waiters) w();
    });
  }

  opened(timeoutMs) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.url}: not open after ${timeoutMs} ms`)), timeoutMs);
      this.ws.once('open', () => { clearTimeout(timer); resolve(); });
      this.ws.once('unexpected-response', (req, res) => {
        clearTimeout(timer);
        const err = new Error(`${this.url}: handshake refused with HTTP ${res.statusCode}`);
        err.status = res.statusCode;
        res.resume();
        reject(err);
      });
      this.ws.once('error', (err) => { clearTimeout(timer); reject(err); });
    });
  }

  send(obj) {
    this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj));
  }

  sendBinary(buf) {
    this.ws.send(buf, { binary: true });
  }

  /* JSON messages of the log (optionally from an index, of a type) */
  json(from = 0, type = null) {
    const out = [];
    for (let i = from; i < this.log.length; i++) {
      const e = this.log[i];
      if (e.json && (!type || e.json.type === type)) out.push(e.json);
    }
    return out;
  }

  types(from = 0) {
    return this.json(from).map((m) => m.type);
  }

  indexOf(pred, from = 0) {
    for (let i = from; i < this.log.length; i++) if (pred(this.log[i], i)) return i;
    return -1;
  }

  /* Resolves when pred(entry, index) holds for an entry at or after `from`;
   * returns its index. */
  waitIndex(pred, { from = this.cursor, timeoutMs = 15000 * SLOW, what = 'a message' } = {}) {
    return new Promise((resolve, reject) => {
      let scanned = from;
      const check = () => {
        for (; scanned < this.log.length; scanned++) {
          if (pred(this.log[scanned], scanned)) {
            finish();
            resolve(scanned);
            return;
          }
        }
        if (this.closed || this.error) {
          finish();
          reject(new Error(`${what}: the connection ${this.error ? `failed (${this.error.message})` : `closed (${this.closeInfo?.code})`} first; received: ${this.summary(from)}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; received since: ${this.summary(from)}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /* The first JSON message of `type` (and `where`) after the cursor; the
   * cursor moves past it. */
  async next(type, { where = () => true, timeoutMs, from } = {}) {
    const idx = await this.waitIndex((e) => e.json && e.json.type === type && where(e.json), {
      from: from ?? this.cursor,
      timeoutMs,
      what: `'${type}'`,
    });
    this.cursor = idx + 1;
    return this.log[idx].json;
  }

  /* The next `error` with this code. */
  async nextError(code, opts = {}) {
    return this.next('error', { ...opts, where: (m) => m.code === code });
  }

  /* A ping whose pong is the next JSON message: proves the session works and
   * that nothing else came in between. Returns the messages before the pong. */
  async roundTrip({ timeoutMs } = {}) {
    const from = this.log.length;
    this.send({ type: 'ping' });
    await this.next('pong', { from, timeoutMs });
    return this.json(from).filter((m) => m.type !== 'pong');
  }

  /* Everything that arrives in the next `ms` milliseconds. */
  async collect(ms) {
    const from = this.log.length;
    await sleep(ms);
    return this.log.slice(from);
  }

  /* "type@ms, ..." of the log from an index (ms after the first entry shown;
   * runs of audio collapsed) for failure messages */
  summary(from = 0) {
    const t0 = this.log[from]?.t ?? 0;
    const out = [];
    for (let i = from; i < this.log.length; i++) {
      const e = this.log[i];
      const name = e.bin ? '<binary>' : e.json.type === 'error' ? `error(${e.json.code})` : e.json.type;
      const last = out[out.length - 1];
      if (last && last.name === name) {
        last.n++;
        last.t1 = e.t;
      } else {
        out.push({ name, n: 1, t: e.t, t1: e.t });
      }
    }
    const s = out.map((o) => (o.n > 1
      ? `${o.name} x${o.n}@${(o.t - t0).toFixed(0)}-${(o.t1 - t0).toFixed(0)}`
      : `${o.name}@${(o.t - t0).toFixed(0)}`)).join(', ');
    return s.length > 3000 ? `${s.slice(0, 3000)}...` : s || '(nothing)';
  }

  close() {
    if (!this.closed) this.ws.close();
  }

  terminate() {
    this.ws.terminate();
  }

  /* Resolves when the socket is closed (after close() or the server's). */
  async closedPromise(timeoutMs = 5000) {
    if (this.closed) return;
    await this.waitIndex(() => false, { from: this.log.length, timeoutMs, what: 'close' }).catch(() => {});
  }
}

/* ------------------------------------------------------------ audio */

export function tmpDir(prefix = 'vt-web-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/* flite speech as a 16 kHz mono s16 WAV (at path) */
export function fliteWav(text, wavPath, voice = 'rms') {
  const raw = `${wavPath}.flite.wav`;
  execFileSync('flite', ['-voice', voice, '-t', text, '-o', raw], { stdio: 'pipe' });
  execFileSync('sox', [raw, '-r', '16000', '-c', '1', '-b', '16', '-e', 'signed-integer', wavPath], { stdio: 'pipe' });
  fs.rmSync(raw, { force: true });
  return wavPath;
}

export function silenceWav(seconds, wavPath) {
  execFileSync('sox', ['-n', '-r', '16000', '-c', '1', '-b', '16', '-e', 'signed-integer', wavPath, 'trim', '0', String(seconds)], { stdio: 'pipe' });
  return wavPath;
}

export function concatWav(parts, wavPath) {
  execFileSync('sox', [...parts, wavPath], { stdio: 'pipe' });
  return wavPath;
}

/* flite speech as raw 16 kHz mono s16le PCM (a Buffer) */
export function flitePcm(text, dir, voice = 'rms') {
  const wav = fliteWav(text, path.join(dir, `speech-${Date.now()}-${Math.random().toString(36).slice(2)}.wav`), voice);
  const rawPath = `${wav}.raw`;
  execFileSync('sox', [wav, '-t', 'raw', '-r', '16000', '-c', '1', '-b', '16', '-e', 'signed-integer', '-L', rawPath], { stdio: 'pipe' });
  const pcm = fs.readFileSync(rawPath);
  fs.rmSync(rawPath, { force: true });
  fs.rmSync(wav, { force: true });
  return pcm;
}

/* Sends PCM at real-time pace in frames of frameMs through send(buf);
 * pacing follows the clock (no drift on a loaded machine). */
export async function streamPcm(pcm, send, { frameMs = 20 } = {}) {
  const frameBytes = 32 * frameMs; /* 16 kHz * 2 bytes * ms / 1000 */
  const start = performance.now();
  for (let off = 0, i = 0; off < pcm.length; off += frameBytes, i++) {
    send(pcm.subarray(off, Math.min(pcm.length, off + frameBytes)));
    const wait = start + (i + 1) * frameMs - performance.now();
    if (wait > 0) await sleep(wait);
  }
}

/* Parses a WAV header; returns {rate, channels, bits, format, dataBytes} */
export function parseWav(buf) {
  if (buf.length < 44 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error('not a RIFF/WAVE buffer');
  }
  let off = 12;
  let fmt = null;
  while (off + 8 <= buf.length) {
    const id = buf.toString('ascii', off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    if (id === 'fmt ') {
      fmt = {
        format: buf.readUInt16LE(off + 8),
        channels: buf.readUInt16LE(off + 10),
        rate: buf.readUInt32LE(off + 12),
        bits: buf.readUInt16LE(off + 22),
      };
    } else if (id === 'data') {
      if (!fmt) throw new Error('WAV data before fmt');
      return { ...fmt, dataBytes: Math.min(size, buf.length - off - 8) };
    }
    off += 8 + size + (size & 1);
  }
  throw new Error('WAV without a data chunk');
}

/* the words of a text, lower case, without punctuation */
export function words(text) {
  return String(text || '').toLowerCase().replace(/[^a-z0-9' ]+/g, ' ').split(/\s+/).filter(Boolean);
}
