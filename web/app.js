/*
 * voicetutor's browser client (ES module, no framework, no build step).
 *
 * One WebSocket to /ws/audio carries everything (docs/PROTOCOL.md): JSON
 * events and requests as text frames, the learner's microphone as binary
 * 16 kHz s16le frames up, the tutor's voice as binary s16le frames down (we
 * ask for "audio_output":"pcm"). Audio runs in two AudioWorklets so that the
 * main thread never sits in the audio path: mic-worklet.js resamples and
 * frames the microphone, player-worklet.js queues the voice and empties its
 * queue the moment an interruption arrives. Everything else here is the page:
 * transcript, state badge, interruption settings and statistics.
 *
 * Page parameters: ?autostart=1 (start audio without a click; used by the
 * headless end-to-end test), ?token=... (passed on to the WebSocket),
 * ?character=... (the tutor asked for at initialize).
 *
 * For tests, window.vt is a read-only view of what the page saw and did, and
 * window.vtSend(obj) sends a JSON message.
 */

const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);

const POSITION_EVERY_MS = 100; /* playback_position while playing */
const STATS_EVERY_MS = 2000; /* get_performance_summary */
const MAX_LATENCIES = 50;
const MAX_EVENTS = 10000;
const MAX_TRANSCRIPT_LINES = 400;
const MAX_SEND_BACKLOG = 256 * 1024; /* bytes queued in the socket before mic frames are dropped */
const LOCAL_INTERRUPT_GATE_MS = 1500;
const MAX_PENDING_BYTES = 30 * 48000 * 2; /* voice kept while the player loads */

const ui = {
  conn: $('conn'),
  connText: $('conn-text'),
  state: $('state'),
  stateText: $('state-text'),
  tutorName: $('tutor-name'),
  start: $('start'),
  interrupt: $('interrupt'),
  micLevel: $('mic-level'),
  notice: $('notice'),
  transcript: $('transcript'),
  ask: $('ask'),
  askText: $('ask-text'),
  enabled: $('set-enabled'),
  threshold: $('set-threshold'),
  thresholdOut: $('set-threshold-out'),
  cooldown: $('set-cooldown'),
  mode: $('set-mode'),
  settingsResult: $('settings-result'),
  character: $('set-character'),
  newSession: $('new-session'),
  stTotal: $('st-total'),
  stAvg: $('st-avg'),
  stMinMax: $('st-minmax'),
  stTarget: $('st-target'),
  stFirstAudio: $('st-first-audio'),
  stFirstAnswer: $('st-first-answer'),
  plot: $('st-plot'),
};

/* ---------------------------------------------------------------- debug view */

/* What the end-to-end test reads. Times are performance.now(); null = not yet. */
const debug = {
  events: [], /* {type, t, msg} for every JSON message received */
  audioBytes: 0, /* binary bytes received */
  lastAudioAt: null, /* last binary frame received */
  interruptedAt: null, /* last interruption_detected received */
  silentAt: null, /* player reported empty after that interruption */
  playing: false, /* the player worklet is rendering tutor audio */
  playedSamples: 0, /* server-rate samples played this session */
  state: null, /* LISTENING / THINKING / RESPONDING / ACKNOWLEDGING */
  micStarted: false,
  sentFrames: 0, /* binary microphone frames sent */
};
const vt = {};
for (const key of Object.keys(debug)) {
  Object.defineProperty(vt, key, { get: () => debug[key], enumerable: true });
}
window.vt = Object.freeze(vt);
window.vtSend = (obj) => send(obj);

/* ---------------------------------------------------------------- connection */

let ws = null;
let session = null; /* {id, rate, character} once `initialized` came */
let wantWelcome = true; /* first session and "New session" speak the welcome */
let everConnected = false;
let reconnectAttempt = 0;
let reconnectTimer = 0;

function wsUrl() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const token = params.get('token');
  return `${scheme}//${location.host}/ws/audio${token ? `?token=${encodeURIComponent(token)}` : ''}`;
}

function connect() {
  clearTimeout(reconnectTimer);
  setConn('connecting', 'Connecting…');
  const sock = new WebSocket(wsUrl());
  sock.binaryType = 'arraybuffer';
  ws = sock;
  sock.onopen = () => setConn('connecting', 'Connected, starting the session…');
  sock.onmessage = (e) => {
    if (ws === sock) onMessage(e);
  };
  sock.onclose = () => {
    if (ws === sock) onClose();
  };
}

function onClose() {
  const hadSession = session !== null;
  ws = null;
  session = null;
  dropAudioUntil = 0;
  flushPlayer();
  closeLines();
  setState(null);
  setSettingsEnabled(false);
  if (hadSession) systemLine('Disconnected from the tutor.');
  const delay = Math.min(15000, 500 * 2 ** reconnectAttempt++) * (0.8 + 0.4 * Math.random());
  const hint = everConnected ? '' : ' (if the server needs a token, open this page with ?token=…)';
  setConn('down', `Disconnected — reconnecting in ${Math.ceil(delay / 1000)} s${hint}`);
  reconnectTimer = setTimeout(connect, delay);
}

function reconnectNow() {
  const old = ws;
  ws = null; /* its close must not schedule a second connection */
  session = null;
  if (old) old.close(1000, 'new session');
  flushPlayer();
  closeLines();
  reconnectAttempt = 0;
  connect();
}

function send(obj) {
  if (!ws || ws.readyState !== WebSocket.OPEN) return false;
  ws.send(JSON.stringify(obj));
  return true;
}

function sessionReady() {
  return session !== null && ws !== null && ws.readyState === WebSocket.OPEN;
}

function setConn(kind, text) {
  ui.conn.dataset.kind = kind;
  ui.connText.textContent = text;
}

/* ---------------------------------------------------------------- messages */

function onMessage(e) {
  const now = performance.now();
  if (typeof e.data !== 'string') {
    debug.audioBytes += e.data.byteLength;
    debug.lastAudioAt = now;
    playPcm(e.data, now);
    return;
  }
  let msg;
  try {
    msg = JSON.parse(e.data);
  } catch {
    return;
  }
  if (!msg || typeof msg.type !== 'string') return;
  if (msg.type === 'interruption_detected') {
    /* first: stop the voice; the page catches up afterwards */
    awaitingSilence = flushPlayer();
    dropAudioUntil = 0;
    debug.interruptedAt = now;
    debug.silentAt = audio.player ? null : performance.now();
  }
  if (debug.events.length >= MAX_EVENTS) debug.events.shift();
  debug.events.push({ type: msg.type, t: now, msg });
  handlers[msg.type]?.(msg);
  if (typeof msg.conversation_state === 'string') setState(msg.conversation_state);
}

const handlers = {
  connected(msg) {
    everConnected = true;
    setConn('connecting', `Connected (session ${msg.session_id ?? '?'}), initializing…`);
    const character = ui.character.value.trim();
    send({
      type: 'initialize',
      audio_output: 'pcm',
      speak_welcome: wantWelcome,
      events: 'all',
      acknowledgement: true, /* seed 000: say "okay" after an interruption (not the seed 003 default) */
      ...(character ? { character } : {}),
    });
    wantWelcome = false;
  },

  initialized(msg) {
    reconnectAttempt = 0;
    session = { id: msg.session_id, rate: msg.sample_rate || 16000, character: msg.character };
    audio.player?.port.postMessage({ type: 'session', rate: session.rate });
    debug.playedSamples = 0;
    lastPositionSent = 0;
    latencies.length = 0;
    drawPlot();
    setConn('up', `Connected · session ${msg.session_id ?? '?'}`);
    ui.tutorName.textContent = msg.character ? `Tutor: ${msg.character}` : '';
    if (msg.message) systemLine(msg.message);
    if (msg.interruption) {
      Object.assign(confirmed, msg.interruption);
      applyInterruption(confirmed);
    }
    setSettingsEnabled(true);
    pollStats();
  },

  welcome_message(msg) {
    let line = transcript.tutor;
    if (!line || line.spoken || line.welcome) line = openTutorLine();
    line.welcome = true;
    line.plan = msg.text || line.plan;
    renderTutor(line);
  },

  speech_detected() {
    commandUtterance = false; /* a new utterance: its interim text counts */
  },

  transcription_partial(msg) {
    /* the rest of the utterance that carried "stop": its words never become
     * text unless they come back final (after the command is stripped) */
    if (commandUtterance) return;
    const line = userLine();
    const text = msg.text || '';
    const rest = text.startsWith(line.final) ? text.slice(line.final.length).trim() : null;
    line.finalEl.hidden = rest === null; /* the partial no longer extends the finals */
    line.interimEl.textContent = rest === null ? text : (line.final && rest ? ' ' : '') + rest;
    keepScrolled();
  },

  transcription_complete(msg) {
    if (!msg.text) return;
    const line = userLine();
    line.final = line.final ? `${line.final} ${msg.text}` : msg.text;
    line.finalEl.textContent = line.final;
    line.finalEl.hidden = false;
    line.interimEl.textContent = '';
    keepScrolled();
  },

  processing_started(msg) {
    /* the turn as the server took it; a typed question is already shown */
    const text = msg.text || '';
    if (text && (transcript.user || text !== lastTyped)) userLine().finalEl.textContent = text;
    closeUserLine();
    lastTyped = null;
    /* a tutor line that never got its audio (a welcome without events) ends here */
    if (transcript.tutor && !transcript.tutor.started) closeTutorLine();
  },

  response_start(msg) {
    let line = transcript.tutor;
    if (!line || line.started) {
      if (line) closeTutorLine();
      line = openTutorLine();
    }
    line.started = true;
    if (msg.full_text && msg.full_text.length >= line.plan.length) line.plan = msg.full_text;
    renderTutor(line);
  },

  response_text(msg) {
    const line = transcript.tutor || openTutorLine();
    line.started = true;
    if (typeof msg.spoken_text === 'string') line.spoken = msg.spoken_text;
    else if (msg.text) line.spoken = line.spoken ? `${line.spoken} ${msg.text}` : msg.text;
    renderTutor(line);
  },

  response_complete() {
    closeTutorLine();
  },

  interruption_detected(msg) {
    /* the command word itself ("stop") never becomes text of the next turn */
    if (msg.trigger === 'command') {
      closeUserLine();
      commandUtterance = true;
    }
    const ms = msg.interruption_latency_ms;
    if (typeof ms === 'number' && Number.isFinite(ms)) {
      latencies.push(ms);
      if (latencies.length > MAX_LATENCIES) latencies.shift();
      drawPlot();
    }
    lastInterruption = msg;
  },

  response_interrupted(msg) {
    if (!transcript.tutor && !msg.spoken_text && !msg.unspoken_text) {
      smallTutorLine('(stopped before it answered)', 'stopped');
      lastInterruption = null;
      return;
    }
    const line = transcript.tutor || openTutorLine();
    const spoken = typeof msg.spoken_text === 'string' ? msg.spoken_text : line.spoken;
    const unspoken = typeof msg.unspoken_text === 'string' ? msg.unspoken_text : planRest(line.plan, line.spoken);
    line.spokenEl.textContent = unspoken ? `${spoken} ` : spoken;
    const struck = document.createElement('s');
    struck.className = 'unspoken';
    struck.textContent = unspoken;
    line.restEl.replaceWith(struck);
    line.restEl = struck;
    const why = lastInterruption;
    if (why) {
      const note = document.createElement('span');
      note.className = 'note';
      const ms = why.interruption_latency_ms;
      note.textContent = ` interrupted${why.trigger ? ` by ${why.trigger}` : ''}` +
        (typeof ms === 'number' ? ` · ${fmtMs(ms)}` : '');
      line.el.append(note);
    }
    lastInterruption = null;
    if (transcript.tutor === line) transcript.tutor = null;
    keepScrolled();
  },

  filler_started(msg) {
    if (msg.text) smallTutorLine(msg.text, 'filler');
  },

  acknowledgement_started(msg) {
    if (msg.text) smallTutorLine(msg.text, 'ack');
  },

  state_changed(msg) {
    if (typeof msg.state === 'string') setState(msg.state);
  },

  interrupt_ignored(msg) {
    dropAudioUntil = 0;
    flash(`Nothing to interrupt${msg.reason ? ` (${msg.reason})` : ''}.`);
  },

  interruption_configured(msg) {
    applyInterruption(msg);
    Object.assign(confirmed, pick(msg, ['threshold', 'cooldown', 'mode']));
    settingsResult(`Saved: threshold ${fmtNum(msg.threshold)}, cooldown ${fmtNum(msg.cooldown)} s` +
      (msg.mode ? `, mode ${msg.mode}` : '') + '.');
  },

  interruption_toggled(msg) {
    if (typeof msg.interruption_enabled === 'boolean') {
      ui.enabled.checked = confirmed.enabled = msg.interruption_enabled;
      settingsResult(`Interruption ${msg.interruption_enabled ? 'enabled' : 'disabled'}.`);
    }
  },

  performance_summary(msg) {
    showStats(msg.interruption_performance || {}, msg.response_performance || {});
  },

  error(msg) {
    const line = addLine('error', 'Error');
    line.querySelector('.text').textContent = `${msg.code ?? 'error'}: ${msg.message ?? ''}`;
    if (performance.now() - settingsSentAt < 3000 &&
        ['out_of_range', 'bad_field'].includes(msg.code)) {
      settingsResult(msg.message || msg.code, true);
      applyInterruption(confirmed); /* the server kept its settings: show them */
    }
    keepScrolled();
  },
};

/* ---------------------------------------------------------------- state badge */

function setState(state) {
  debug.state = state;
  const shown = state || 'OFFLINE';
  ui.stateText.textContent = shown;
  ui.state.dataset.state = shown;
}

/* ---------------------------------------------------------------- transcript */

const transcript = { user: null, tutor: null };
let lastTyped = null; /* typed text already shown, to skip its processing_started echo */
let lastInterruption = null;
let commandUtterance = false; /* interim text of the utterance that said "stop" */
let stickToBottom = true;

ui.transcript.addEventListener('scroll', () => {
  const box = ui.transcript;
  stickToBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
});

function keepScrolled() {
  if (stickToBottom) ui.transcript.scrollTop = ui.transcript.scrollHeight;
}

function addLine(kind, who) {
  const el = document.createElement('p');
  el.className = `line ${kind}`;
  if (who) {
    const label = document.createElement('span');
    label.className = 'who';
    label.textContent = who;
    el.append(label);
  }
  const text = document.createElement('span');
  text.className = 'text';
  el.append(text);
  ui.transcript.append(el);
  while (ui.transcript.childElementCount > MAX_TRANSCRIPT_LINES) ui.transcript.firstElementChild.remove();
  keepScrolled();
  return el;
}

function span(cls) {
  const el = document.createElement('span');
  el.className = cls;
  return el;
}

function userLine() {
  if (!transcript.user) {
    const el = addLine('you', 'You');
    const line = { el, final: '', finalEl: span('final'), interimEl: span('interim') };
    el.querySelector('.text').append(line.finalEl, line.interimEl);
    transcript.user = line;
  }
  return transcript.user;
}

function openTutorLine() {
  const el = addLine('tutor', 'Tutor');
  const line = { el, plan: '', spoken: '', started: false, welcome: false,
                 spokenEl: span('spoken'), restEl: span('upcoming') };
  el.querySelector('.text').append(line.spokenEl, line.restEl);
  transcript.tutor = line;
  return line;
}

/* The words of the plan after the spoken ones: both texts come from the same
 * phrases, but their spacing may differ, so count words rather than chars. */
function planRest(plan, spoken) {
  const done = spoken.split(/\s+/).filter(Boolean).length;
  return plan.split(/\s+/).filter(Boolean).slice(done).join(' ');
}

function renderTutor(line) {
  line.spokenEl.textContent = line.spoken;
  const rest = planRest(line.plan, line.spoken);
  line.restEl.textContent = rest ? (line.spoken ? ` ${rest}` : rest) : '';
  keepScrolled();
}

function closeTutorLine() {
  const line = transcript.tutor;
  if (!line) return;
  if (!line.spoken) line.spoken = line.plan; /* no response_text: show what it said */
  line.spokenEl.textContent = line.spoken;
  line.restEl.textContent = '';
  transcript.tutor = null;
}

/* Ends the person's line: interim text was never confirmed, so it goes. */
function closeUserLine() {
  const line = transcript.user;
  if (!line) return;
  line.interimEl.textContent = '';
  line.finalEl.hidden = false;
  if (!line.finalEl.textContent) line.el.remove();
  transcript.user = null;
}

function closeLines() {
  closeUserLine();
  closeTutorLine();
}

function smallTutorLine(text, kind) {
  const el = addLine(`tutor small ${kind}`, 'Tutor');
  el.querySelector('.text').textContent = text;
}

function systemLine(text) {
  addLine('system').querySelector('.text').textContent = text;
}

/* ---------------------------------------------------------------- audio */

const audio = {
  ctx: null,
  player: null,
  ready: null, /* promise of the context with both worklets loaded */
  failed: false,
  pending: [], /* voice that came before the player was ready */
  pendingBytes: 0,
  mic: null, /* MediaStream */
  micAsking: false, /* getUserMedia in progress */
  muted: false,
  problem: '', /* why audio or the microphone is not working, for the notice */
};
let flushSeq = 0;
let awaitingSilence = null; /* id of the flush that answers the last interruption */
let dropAudioUntil = 0; /* after a local interrupt, until the server confirms it */
let lastPositionSent = 0;
let lastPositionAt = 0;

function setupAudio() {
  if (audio.ready) return audio.ready;
  audio.ready = (async () => {
    if (!window.AudioContext || !window.AudioWorkletNode) {
      throw new Error('This page needs https or localhost (and a recent browser) to play and record audio.');
    }
    /* 16 kHz: the browser's own resampler feeds the recogniser far better than
     * averaging in the worklet (tests/web found 48 kHz averaging garbled words) */
    const ctx = new AudioContext({ latencyHint: 'interactive', sampleRate: 16000 });
    audio.ctx = ctx;
    ctx.onstatechange = renderNotice;
    await Promise.all([
      ctx.audioWorklet.addModule(new URL('player-worklet.js', import.meta.url).href),
      ctx.audioWorklet.addModule(new URL('mic-worklet.js', import.meta.url).href),
    ]);
    const player = new AudioWorkletNode(ctx, 'pcm-player', {
      numberOfInputs: 0,
      numberOfOutputs: 1,
      outputChannelCount: [1],
      processorOptions: { serverRate: session?.rate ?? 16000 },
    });
    player.port.onmessage = (e) => onPlayerStatus(e.data);
    player.connect(ctx.destination);
    audio.player = player;
    for (const pcm of audio.pending) player.port.postMessage({ type: 'pcm', pcm }, [pcm]);
    audio.pending = [];
    audio.pendingBytes = 0;
    renderNotice();
    return ctx;
  })();
  audio.ready.catch((err) => {
    audio.failed = true;
    audio.pending = [];
    audio.problem = err.message || String(err);
    renderNotice();
  });
  return audio.ready;
}

function playPcm(pcm, now) {
  if (dropAudioUntil && now < dropAudioUntil) return; /* the answer we just interrupted */
  if (audio.player) {
    audio.player.port.postMessage({ type: 'pcm', pcm }, [pcm]);
  } else if (!audio.failed && audio.pendingBytes < MAX_PENDING_BYTES) {
    audio.pending.push(pcm);
    audio.pendingBytes += pcm.byteLength;
  }
}

/* Empties the player now; returns the id its answer will carry. */
function flushPlayer() {
  const id = ++flushSeq;
  audio.pending = [];
  audio.pendingBytes = 0;
  audio.player?.port.postMessage({ type: 'flush', id });
  return id;
}

function onPlayerStatus(s) {
  if (s.type !== 'status') return;
  debug.playing = s.playing;
  debug.playedSamples = s.played;
  if (s.flushed !== undefined && s.flushed === awaitingSilence) {
    debug.silentAt = performance.now();
    awaitingSilence = null;
  }
  if (!s.playing || performance.now() - lastPositionAt >= POSITION_EVERY_MS - 5) sendPosition();
}

function sendPosition() {
  if (!sessionReady() || debug.playedSamples === lastPositionSent) return;
  if (send({ type: 'playback_position', samples: debug.playedSamples })) {
    lastPositionSent = debug.playedSamples;
    lastPositionAt = performance.now();
  }
}

/* Start (or resume) audio output, then the microphone. Needs a user gesture
 * in most browsers, except with ?autostart=1 under a permissive autoplay policy. */
async function startAudio() {
  audio.ctx?.resume();
  try {
    const ctx = await setupAudio();
    await ctx.resume();
  } catch {
    return; /* setupAudio's catch already says why */
  }
  await startMic();
  renderNotice();
}

async function startMic() {
  if (audio.mic || audio.micAsking) return;
  if (!navigator.mediaDevices?.getUserMedia) {
    audio.problem = 'No microphone is available here (the browser allows it only on https or localhost). You can still type your questions below.';
    return;
  }
  let stream;
  audio.micAsking = true;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      /* no automatic gain: it doubled the level and clipped the speech the
       * recogniser hears; the server's VAD adapts to the level itself */
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: false, channelCount: 1 },
    });
  } catch (err) {
    audio.problem = micErrorText(err);
    return;
  } finally {
    audio.micAsking = false;
  }
  const ctx = audio.ctx;
  const source = ctx.createMediaStreamSource(stream);
  const capture = new AudioWorkletNode(ctx, 'mic-capture', {
    numberOfInputs: 1,
    numberOfOutputs: 1,
    channelCount: 1,
    channelCountMode: 'explicit',
    outputChannelCount: [1],
  });
  capture.port.onmessage = (e) => onMicFrame(e.data);
  /* the graph is pulled from the destination: connect through a silent gain */
  const mute = new GainNode(ctx, { gain: 0 });
  source.connect(capture).connect(mute).connect(ctx.destination);
  for (const track of stream.getAudioTracks()) {
    track.addEventListener('ended', () => {
      audio.mic = null;
      debug.micStarted = false;
      audio.problem = 'The microphone stopped. Press Start to try again; you can still type.';
      renderStartButton();
      renderNotice();
    });
  }
  audio.mic = stream;
  audio.problem = '';
  debug.micStarted = true;
  renderStartButton();
}

function micErrorText(err) {
  switch (err?.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'Microphone access was refused. Allow it in the address bar and press Start again; you can still type your questions below.';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'No microphone was found. Plug one in and press Start again; you can still type your questions below.';
    case 'NotReadableError':
      return 'The microphone is busy or failed. Press Start to try again; you can still type your questions below.';
    default:
      return `The microphone could not start (${err?.message || err}). You can still type your questions below.`;
  }
}

let micLevel = 0;
let levelFrame = 0;

function onMicFrame({ pcm, level }) {
  micLevel = audio.muted ? 0 : level;
  if (!levelFrame) {
    levelFrame = requestAnimationFrame(() => {
      levelFrame = 0;
      ui.micLevel.value = Math.min(1, micLevel * 4);
    });
  }
  if (audio.muted || !sessionReady() || ws.bufferedAmount > MAX_SEND_BACKLOG) return;
  ws.send(pcm);
  debug.sentFrames++;
}

function renderStartButton() {
  if (!audio.mic) {
    ui.start.textContent = 'Start';
    ui.start.removeAttribute('aria-pressed');
  } else {
    ui.start.textContent = audio.muted ? 'Unmute microphone' : 'Mute microphone';
    ui.start.setAttribute('aria-pressed', String(audio.muted));
  }
}

function renderNotice() {
  let text = audio.problem;
  if (!text && audio.ctx?.state === 'suspended') text = 'Press Start to hear the tutor and to talk.';
  ui.notice.textContent = text;
  ui.notice.hidden = !text;
}

/* ---------------------------------------------------------------- interrupting */

function interrupt() {
  flushPlayer();
  if (sessionReady() && send({ type: 'interrupt' })) {
    dropAudioUntil = performance.now() + LOCAL_INTERRUPT_GATE_MS;
  }
}

let flashTimer = 0;
function flash(text) {
  clearTimeout(flashTimer);
  setConn(ui.conn.dataset.kind, text);
  flashTimer = setTimeout(() => {
    if (session) setConn('up', `Connected · session ${session.id ?? '?'}`);
  }, 2500);
}

function isTextEntry(el) {
  return el instanceof Element &&
    el.closest('input, textarea, select, [contenteditable=""], [contenteditable="true"]') !== null;
}

document.addEventListener('keydown', (e) => {
  if (e.code !== 'Space' || isTextEntry(e.target) || e.ctrlKey || e.altKey || e.metaKey) return;
  e.preventDefault(); /* no page scroll, no button press */
  if (!e.repeat) interrupt();
});
document.addEventListener('keyup', (e) => {
  if (e.code === 'Space' && !isTextEntry(e.target)) e.preventDefault();
});

ui.interrupt.addEventListener('click', interrupt);

ui.start.addEventListener('click', () => {
  if (audio.mic) {
    audio.muted = !audio.muted;
    renderStartButton();
  } else {
    startAudio();
  }
});

/* ---------------------------------------------------------------- typed questions */

ui.ask.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = ui.askText.value.trim();
  if (!text) return;
  audio.ctx?.resume(); /* a click or Enter is a gesture: let the answer be heard */
  if (!sessionReady() || !send({ type: 'text_message', text })) {
    systemLine('Not connected yet; your question is still in the box.');
    return;
  }
  closeUserLine();
  const line = addLine('you typed', 'You');
  line.querySelector('.text').textContent = text;
  lastTyped = text;
  ui.askText.value = '';
});

/* ---------------------------------------------------------------- settings */

let settingsSentAt = -Infinity;
const confirmed = {}; /* the settings the server last confirmed */

function pick(obj, keys) {
  return Object.fromEntries(keys.filter((k) => obj[k] !== undefined).map((k) => [k, obj[k]]));
}

function setSettingsEnabled(on) {
  for (const el of [ui.enabled, ui.threshold, ui.cooldown, ui.mode]) el.disabled = !on;
}

function applyInterruption(s) {
  if (typeof s.enabled === 'boolean') ui.enabled.checked = s.enabled;
  if (typeof s.threshold === 'number') {
    ui.threshold.value = s.threshold;
    ui.thresholdOut.value = fmtNum(s.threshold);
  }
  if (typeof s.cooldown === 'number') ui.cooldown.value = s.cooldown;
  if (typeof s.mode === 'string') ui.mode.value = s.mode;
}

function settingsResult(text, isError = false) {
  ui.settingsResult.textContent = text;
  ui.settingsResult.classList.toggle('bad', isError);
}

function sendConfig() {
  const threshold = Number(ui.threshold.value);
  const cooldown = Number(ui.cooldown.value);
  if (ui.cooldown.value === '' || !Number.isFinite(cooldown)) {
    settingsResult('The cooldown must be a number of seconds (0.1 to 5).', true);
    return;
  }
  settingsSentAt = performance.now();
  if (send({ type: 'configure_interruption', threshold, cooldown, mode: ui.mode.value })) {
    settingsResult('Saving…');
  }
}

ui.enabled.addEventListener('change', () => {
  settingsSentAt = performance.now();
  if (send({ type: 'enable_interruption', enabled: ui.enabled.checked })) settingsResult('Saving…');
});
ui.threshold.addEventListener('input', () => {
  ui.thresholdOut.value = fmtNum(Number(ui.threshold.value));
});
ui.threshold.addEventListener('change', sendConfig);
ui.cooldown.addEventListener('change', sendConfig);
ui.mode.addEventListener('change', sendConfig);
document.getElementById('settings').addEventListener('submit', (e) => e.preventDefault());

ui.character.value = params.get('character') ?? '';
ui.newSession.addEventListener('click', () => {
  wantWelcome = true;
  systemLine('Starting a new session…');
  reconnectNow();
});

/* ---------------------------------------------------------------- statistics */

const latencies = [];

function pollStats() {
  if (sessionReady()) send({ type: 'get_performance_summary' });
}

function showStats(ip, rp) {
  const total = ip.total_interruptions;
  ui.stTotal.textContent = typeof total === 'number' ? String(total) : '—';
  const any = typeof total === 'number' && total > 0;
  ui.stAvg.textContent = any ? fmtMs(ip.avg_latency_ms) : '—';
  ui.stMinMax.textContent = any ? `${fmtMs(ip.min_latency_ms)} / ${fmtMs(ip.max_latency_ms)}` : '—';
  ui.stTarget.textContent = any && typeof ip.target_met === 'boolean' ? (ip.target_met ? 'yes' : 'no') : '—';
  ui.stTarget.className = any ? (ip.target_met ? 'good' : 'bad') : '';
  ui.stFirstAudio.textContent = fmtMs(rp.last_first_audio_ms);
  ui.stFirstAnswer.textContent = fmtMs(rp.last_first_answer_ms);
}

function drawPlot() {
  const canvas = ui.plot;
  const dpr = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 320;
  const height = canvas.clientHeight || 96;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  const g = canvas.getContext('2d');
  g.scale(dpr, dpr);
  g.clearRect(0, 0, width, height);
  const css = getComputedStyle(canvas);
  g.font = `12px ${css.fontFamily}`;
  if (latencies.length === 0) {
    g.fillStyle = '#8a8f98';
    g.fillText('No interruptions yet', 8, height / 2 + 4);
    return;
  }
  const target = 50;
  const top = Math.max(target * 1.5, ...latencies) * 1.1;
  const y = (ms) => height - 14 - (ms / top) * (height - 20);
  const slot = width / MAX_LATENCIES;
  latencies.forEach((ms, i) => {
    g.fillStyle = ms < target ? '#2f9e66' : '#d64545';
    const x = i * slot;
    const h = Math.max(2, height - 14 - y(ms)); /* sub-millisecond bars stay visible */
    g.fillRect(x + 1, height - 14 - h, Math.max(1, slot - 2), h);
  });
  g.strokeStyle = '#8a8f98';
  g.setLineDash([4, 3]);
  g.beginPath();
  g.moveTo(0, Math.round(y(target)) + 0.5);
  g.lineTo(width, Math.round(y(target)) + 0.5);
  g.stroke();
  g.setLineDash([]);
  g.fillStyle = '#5b616b';
  const last = latencies[latencies.length - 1];
  g.fillText(`last ${fmtMs(last)}`, 4, height - 2);
  g.textAlign = 'right';
  g.fillText(`max ${fmtMs(Math.max(...latencies))}`, width - 4, height - 2);
  g.fillText('50 ms', width - 4, Math.max(12, y(target) - 3));
}

function fmtMs(v) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '—';
  return `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ms`;
}

function fmtNum(v) {
  return typeof v === 'number' && Number.isFinite(v) ? String(Math.round(v * 100) / 100) : '?';
}

/* ---------------------------------------------------------------- go */

setState(null);
setSettingsEnabled(false);
renderStartButton();
drawPlot();
window.addEventListener('resize', drawPlot);
setInterval(pollStats, STATS_EVERY_MS);
connect();
/* Build the player now, so the welcome is kept even before Start is pressed
 * (the context stays suspended until a gesture or autostart resumes it). */
setupAudio();
if (params.get('autostart') === '1') startAudio();
