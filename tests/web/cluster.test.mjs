/*
 * Past one machine (issue 13, part 3): two `voicetutor serve` instances
 * keep their learners' progress in one PostgreSQL database and sit behind
 * nginx (the configuration of docs/DEPLOY.md: WebSocket proxying, retry on
 * 503). A learner goes through the times tables through nginx; while an
 * answer is being recorded (every progress write held open 300 ms), the
 * instance serving them gets SIGTERM. It drains: the answer in progress
 * finishes and is confirmed, then the socket closes with 1001. The learner
 * connects again through nginx, lands on the other instance, and resumes
 * at the question the last reply asked. At the end PostgreSQL holds exactly
 * the answers the tutor confirmed (none lost, none doubled), and both
 * instances see the same progress.
 *
 * Starts its own PostgreSQL (Debian's server binaries, initdb in a temp
 * folder, a loopback port) and nginx (a temp prefix). Skips, saying why,
 * only when those binaries are missing (scripts/install-deps.sh installs
 * them; `make test` runs it).
 */

import test from 'node:test';
import assert from 'node:assert/strict';
import { startServer, Client, loadWs, sleep, SLOW } from './helpers.mjs';
import { findPostgres, findNginx, startPostgres, startNginx } from './cluster.mjs';

const USER = 'lin';

function lastSum(text) {
  const all = [...String(text).matchAll(/(\d+) times (\d+)/gi)];
  if (!all.length) return null;
  const m = all[all.length - 1];
  return [Number(m[1]), Number(m[2])];
}

async function sessions(server) {
  const r = await fetch(server.http('/metrics'));
  const m = /^voicetutor_sessions (\d+)$/m.exec(await r.text());
  return m ? Number(m[1]) : -1;
}

/* Answers right; resolves to the next question. */
async function answer(c, q, { onProcessing } = {}) {
  const text = String(q[0] * q[1]);
  const from = c.log.length;
  c.send({ type: 'text_message', text });
  await c.next('processing_started', { where: (m) => m.text === text, from, timeoutMs: 15000 * SLOW });
  if (onProcessing) onProcessing();
  await c.next('response_start', { timeoutMs: 15000 * SLOW });
  await c.next('response_complete', { timeoutMs: 30000 * SLOW });
  const said = c.json(from, 'response_text').map((m) => m.spoken_text).pop() || '';
  const next = lastSum(said);
  assert.ok(next, `the reply asks the next sum: ${said} (${c.summary(from)})`);
  return next;
}

async function openLesson(WebSocket, url) {
  const c = await Client.open(WebSocket, url, { timeoutMs: 10000 * SLOW });
  c.send({ type: 'initialize', character: 'times-tables', user_id: USER, speak_welcome: true, events: 'all' });
  const w = await c.next('welcome_message', { timeoutMs: 15000 * SLOW });
  const q = lastSum(w.text);
  assert.ok(q, `the welcome asks a sum: ${w.text}`);
  return { c, q, welcome: w.text };
}

test('one learner continues on the second instance after SIGTERM, no answer lost', { timeout: 240000 * SLOW }, async (t) => {
  const pgbin = findPostgres();
  const nginx = findNginx();
  if (!pgbin || !nginx) {
    t.skip(`needs ${!pgbin ? "PostgreSQL's server binaries (initdb, postgres: Debian package postgresql)" : ''}` +
      `${!pgbin && !nginx ? ' and ' : ''}${!nginx ? 'nginx' : ''}: run ./scripts/install-deps.sh`);
    return;
  }
  const WebSocket = await loadWs();
  const pg = await startPostgres(pgbin);
  const servers = [];
  let proxy = null;
  try {
    const args = ['--stt', 'none', '--drain-ms', '20000', '-o', `db=${pg.url}`];
    const env = { VT_TEST_PROGRESS_STALL_MS: '300' };
    for (let i = 0; i < 2; i++) servers.push(await startServer({ args, env, keepProgress: true }));
    proxy = await startNginx(nginx, servers);

    /* through nginx to one of them */
    let { c, q } = await openLesson(WebSocket, proxy.ws());
    const counts = await Promise.all(servers.map(sessions));
    const first = counts.indexOf(1);
    assert.ok(first >= 0 && counts[1 - first] === 0, `one instance holds the session: ${counts}`);
    let confirmed = 0;
    for (let i = 0; i < 2; i++) {
      q = await answer(c, q);
      confirmed++;
    }
    /* SIGTERM while the next answer is being recorded */
    const a = servers[first];
    a.stopping = true;
    q = await answer(c, q, { onProcessing: () => a.child.kill('SIGTERM') });
    confirmed++;
    const t0 = Date.now();
    while (!c.closed && Date.now() - t0 < 10000 * SLOW) await sleep(20);
    assert.ok(c.closed, 'the drained session closes after its answer');
    assert.equal(c.closeInfo.code, 1001);
    assert.equal(c.closeInfo.reason, 'server draining: reconnect');
    assert.equal((await a.exited).code, 0, a.stderr);

    /* again through nginx: the other instance, at the question asked last */
    const again = await openLesson(WebSocket, proxy.ws());
    c = again.c;
    assert.deepEqual(again.q, q, `resumed at ${q}: ${again.welcome}`);
    assert.equal(await sessions(servers[1 - first]), 1, 'the second instance holds the session');
    for (let i = 0; i < 2; i++) {
      q = await answer(c, q);
      confirmed++;
    }
    c.close();

    const right = Number(pg.psql(`SELECT COALESCE(SUM(n_right),0) FROM question_stats WHERE user_id='${USER}'`));
    const other = Number(pg.psql(`SELECT COALESCE(SUM(n_wrong)+SUM(n_skipped),0) FROM question_stats WHERE user_id='${USER}'`));
    const pos = pg.psql(`SELECT position FROM learner_lesson WHERE user_id='${USER}'`);
    console.log(`# ${confirmed} answers confirmed, ${right} recorded in PostgreSQL; resume position ${pos}`);
    assert.equal(other, 0);
    assert.equal(right, confirmed, 'every confirmed answer is recorded once');
  } finally {
    for (const s of servers) {
      if (s.alive()) await s.stop();
    }
    if (proxy) await proxy.stop();
    await pg.stop();
  }
});
