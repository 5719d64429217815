/*
 * Microphone capture for voicetutor (AudioWorkletProcessor "mic-capture").
 *
 * The server wants 16 kHz mono s16le PCM; the AudioContext runs at the
 * hardware rate (44.1 or 48 kHz). This processor averages the input over each
 * 1/16000 s bin (a box filter, which also takes the edge off aliasing),
 * converts to Int16 little-endian and posts one 20 ms frame (320 samples,
 * 640 bytes) at a time to the main thread, which sends it as a binary
 * WebSocket frame. It runs on the audio thread, so it allocates only once per
 * posted frame and never blocks.
 *
 * Messages to the main thread: { pcm: ArrayBuffer (640 bytes), level: RMS 0..1 }.
 */

const OUT_RATE = 16000;
const FRAME_SAMPLES = 320; /* 20 ms at 16 kHz */

class MicCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.frame = new ArrayBuffer(FRAME_SAMPLES * 2);
    this.view = new DataView(this.frame);
    this.filled = 0;
    this.sumSquares = 0;
    /* Integer phase: every input sample adds OUT_RATE, an output sample is due
     * each time it passes the context rate. Exact for any pair of rates. */
    this.phase = 0;
    this.acc = 0;
    this.count = 0;
    this.last = 0;
  }

  emit(sample) {
    const s = Math.max(-1, Math.min(1, sample));
    this.view.setInt16(this.filled * 2, s < 0 ? s * 0x8000 : s * 0x7fff, true);
    this.sumSquares += s * s;
    if (++this.filled === FRAME_SAMPLES) {
      const level = Math.sqrt(this.sumSquares / FRAME_SAMPLES);
      this.port.postMessage({ pcm: this.frame, level }, [this.frame]);
      this.frame = new ArrayBuffer(FRAME_SAMPLES * 2);
      this.view = new DataView(this.frame);
      this.filled = 0;
      this.sumSquares = 0;
    }
  }

  process(inputs) {
    const input = inputs[0];
    if (!input || input.length === 0) return true; /* not connected yet */
    const channel = input[0]; /* mono: the first channel is enough */
    for (let i = 0; i < channel.length; i++) {
      this.acc += channel[i];
      this.count++;
      this.phase += OUT_RATE;
      /* a loop, not an if, so a context slower than 16 kHz still works */
      while (this.phase >= sampleRate) {
        this.phase -= sampleRate;
        if (this.count > 0) {
          this.last = this.acc / this.count;
          this.acc = 0;
          this.count = 0;
        }
        this.emit(this.last);
      }
    }
    return true;
  }
}

registerProcessor('mic-capture', MicCapture);
