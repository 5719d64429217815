/*
 * Playback of the tutor's voice for voicetutor (AudioWorkletProcessor "pcm-player").
 *
 * The server sends paced PCM s16le mono at its own rate (`sample_rate` of
 * `initialized`); this processor resamples it linearly to the context rate
 * into a ring buffer and plays it. The ring lives on the audio thread so that
 * an interruption can empty it at once: a "flush" message drops everything
 * not yet played (after a 128-sample fade, against the click) and answers
 * straight away, so the page knows when it went silent.
 *
 * It also counts what it really played, in server-rate samples, for the
 * `playback_position` the server uses to know which words the learner heard;
 * flushed samples never count.
 *
 * Messages in:  { type: 'pcm', pcm: ArrayBuffer }            audio to queue
 *               { type: 'flush', id }                         drop the rest now
 *               { type: 'session', rate }                     new session: empty, count from 0
 * Messages out: { type: 'status', playing, played, buffered, flushed }
 *               on every start/stop, every 50 ms while playing, and in answer
 *               to each flush (flushed = its id) and session message.
 */

const CAPACITY_SECONDS = 30; /* the server paces to ~100 ms ahead; this is slack */
const REPORT_SECONDS = 0.05;
const FADE_SAMPLES = 128;

class PcmPlayer extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.ring = new Float32Array(Math.ceil(sampleRate * CAPACITY_SECONDS));
    this.read = 0;
    this.size = 0; /* samples queued, fade included */
    this.fadeLeft = 0; /* of those, the first fadeLeft fade out after a flush */
    this.fadeTotal = 1;
    this.played = 0; /* server-rate samples rendered since the session began */
    this.playing = false;
    this.sinceReport = 0;
    this.setRate(options.processorOptions?.serverRate || 16000);
    this.port.onmessage = (e) => this.onMessage(e.data);
  }

  setRate(rate) {
    this.serverRate = rate;
    this.step = rate / sampleRate; /* input samples per output sample */
    this.resetResampler();
  }

  resetResampler() {
    this.pos = 0; /* next output position, in input samples of the next chunk */
    this.prev = 0; /* last input sample of the previous chunk (index -1) */
  }

  onMessage(m) {
    switch (m.type) {
      case 'pcm':
        this.push(m.pcm);
        break;
      case 'flush':
        this.fadeLeft = this.fadeTotal = Math.min(this.size, FADE_SAMPLES);
        this.size = this.fadeLeft;
        this.resetResampler();
        this.playing = false;
        this.report(m.id);
        break;
      case 'session':
        this.size = this.fadeLeft = 0;
        this.played = 0;
        this.setRate(m.rate);
        this.playing = false;
        this.report();
        break;
    }
  }

  write(x) {
    if (this.size === this.ring.length) return; /* full: drop the newest */
    this.ring[(this.read + this.size) % this.ring.length] = x;
    this.size++;
  }

  push(buffer) {
    const view = new DataView(buffer);
    const n = buffer.byteLength >> 1;
    if (n === 0) return;
    const at = (i) => (i < 0 ? this.prev : view.getInt16(i * 2, true) / 32768);
    if (this.step === 1) {
      for (let i = 0; i < n; i++) this.write(at(i));
      return;
    }
    let pos = this.pos;
    while (pos < n - 1) {
      const i = Math.floor(pos);
      const a = at(i);
      this.write(a + (at(i + 1) - a) * (pos - i));
      pos += this.step;
    }
    this.pos = pos - n;
    this.prev = at(n - 1);
  }

  process(_inputs, outputs) {
    const channels = outputs[0];
    const out = channels[0];
    let real = 0; /* samples of real (not fading) audio this quantum */
    let rendered = 0;
    for (let i = 0; i < out.length; i++) {
      if (this.size === 0) {
        out[i] = 0;
        continue;
      }
      let x = this.ring[this.read];
      if (this.fadeLeft > 0) {
        x *= this.fadeLeft / this.fadeTotal;
        this.fadeLeft--;
      } else {
        real++;
      }
      out[i] = x;
      this.read = (this.read + 1) % this.ring.length;
      this.size--;
      rendered++;
    }
    for (let c = 1; c < channels.length; c++) channels[c].set(out);

    this.played += rendered * this.step;
    const playing = real > 0;
    this.sinceReport += out.length;
    if (playing !== this.playing ||
        (playing && this.sinceReport >= sampleRate * REPORT_SECONDS)) {
      this.playing = playing;
      this.report();
    }
    return true;
  }

  report(flushed) {
    this.sinceReport = 0;
    this.port.postMessage({
      type: 'status',
      playing: this.playing,
      played: Math.floor(this.played),
      buffered: this.size - this.fadeLeft,
      flushed,
    });
  }
}

registerProcessor('pcm-player', PcmPlayer);
