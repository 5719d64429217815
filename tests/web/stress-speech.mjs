/*
 * Not a test (ctest does not run it): a reproducer for spoken turns that are
 * lost on a loaded machine. Each round starts a fresh `voicetutor serve`,
 * streams "what is six times seven" (0.5 s of silence before, 2 s after) at
 * real-time pace as binary frames, and waits 20 s for transcription_complete.
 * A lost turn prints what the session received and leaves the server running
 * for a debugger (its pid is printed) when --hold is given.
 *
 *   node tests/web/stress-speech.mjs [rounds] [--hold]
 *   VT_BIN=build-asan/voicetutor node tests/web/stress-speech.mjs 25
 *
 * Load makes it likely: run it under the ASan build with two busy loops,
 *   for i in 1 2; do timeout 600 sh -c 'while :; do :; done' & done
 */

import { Client, loadWs, startServer, sleep, flitePcm, streamPcm, tmpDir } from './helpers.mjs';

const WebSocket = await loadWs();
const rounds = Number(process.argv.find((a) => /^\d+$/.test(a)) || 10);
const hold = process.argv.includes('--hold');
const speech = flitePcm('what is six times seven', tmpDir('vt-stress-'));
const pcm = Buffer.concat([Buffer.alloc(16000), speech, Buffer.alloc(64000)]);
let lost = 0;
for (let k = 0; k < rounds; k++) {
  const server = await startServer();
  const c = await Client.open(WebSocket, server.ws());
  c.send({ type: 'initialize', audio_output: 'pcm' });
  await c.next('initialized');
  await streamPcm(pcm, (b) => c.sendBinary(b));
  try {
    const done = await c.next('transcription_complete', { from: 0, timeoutMs: 20000 });
    console.log(`${k}: ok '${done.text}'`);
  } catch {
    lost++;
    console.log(`${k}: LOST TURN (server pid ${server.child.pid}): ${c.summary(0)}`);
    if (hold) {
      console.log('holding the server for a debugger; Ctrl-C ends');
      await sleep(3600 * 1000);
    }
  }
  c.close();
  await server.stop();
}
console.log(`${lost} of ${rounds} turns lost`);
process.exit(lost ? 1 : 0);
