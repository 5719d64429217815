/*
 * Crash-safe progress (issue 16): `voicetutor serve` is killed with SIGKILL
 * 20 times in the middle of lessons, at random points, and started again on
 * the same progress database. Three learners answer the times tables as
 * fast as the tutor asks; every progress write is held open 150 ms
 * (VT_TEST_PROGRESS_STALL_MS) so that a good share of the kills land inside
 * a write transaction. Afterwards:
 *   - the database passes PRAGMA integrity_check;
 *   - no recorded answer is lost or doubled: for every learner the right
 *     answers recorded equal the answers the tutor confirmed (its reply
 *     started), plus the unconfirmed ones the resume shows were recorded
 *     (the learners only give right answers, so a recorded answer always
 *     moves the lesson on);
 *   - each learner resumes at the question they were on: after every
 *     restart the welcome asks the question that was waiting; a later one
 *     when its answer was confirmed; either when the answer was sent but
 *     not confirmed (and that tells whether it was recorded).
 * Needs the sqlite3 command (scripts/install-deps.sh installs it).
 */

import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { startServer, Client, loadWs, sleep, tmpDir, requireTools, SLOW } from './helpers.mjs';

const KILLS = 20;
const LEARNERS = ['ada', 'bea', 'cy'];

/* "... What is 8 times 4?" -> [8, 4] (the last sum in the text) */
function lastSum(text) {
  const all = [...String(text).matchAll(/(\d+) times (\d+)/gi)];
  if (!all.length) return null;
  const m = all[all.length - 1];
  return [Number(m[1]), Number(m[2])];
}

function sql(db, query) {
  return execFileSync('sqlite3', [db, query], { encoding: 'utf8' }).trim();
}

/* One learner on one server life: resume, then answer until the server
 * dies. st keeps what the learner knows across lives. */
async function learner(WebSocket, server, user, st) {
  let c;
  try {
    c = await Client.open(WebSocket, server.ws(), { timeoutMs: 5000 * SLOW });
    c.send({ type: 'initialize', character: 'times-tables', user_id: user, speak_welcome: true });
    const w = await c.next('welcome_message', { timeoutMs: 10000 * SLOW });
    const q = lastSum(w.text);
    assert.ok(q, `${user}: the welcome asks a sum: ${w.text}`);
    const same = st.question && q[0] === st.question[0] && q[1] === st.question[1];
    if (st.unconfirmed) {
      /* sent, no reply seen: recorded exactly when the lesson moved on */
      if (!same) st.inferred++;
    } else if (st.answered) {
      /* confirmed, the reply (and the next sum) cut off by the kill */
      assert.ok(!same, `${user}: answered ${st.question} but resumed at it again (${w.text})`);
    } else if (st.question) {
      assert.ok(same, `${user}: resumed at ${q} but was on ${st.question} (${w.text})`);
    }
    st.unconfirmed = st.answered = false;
    st.resumes++;
    st.question = q;
    /* the learner knows the drill: answers over the welcome (a typed
     * message replaces what the tutor is saying) */
    for (;;) {
      await sleep(20 + Math.random() * 200);
      const answer = String(st.question[0] * st.question[1]);
      const from = c.log.length;
      st.unconfirmed = true;
      st.sent++;
      c.send({ type: 'text_message', text: answer });
      await c.next('processing_started', { where: (m) => m.text === answer, from, timeoutMs: 10000 * SLOW });
      await c.next('response_start', { timeoutMs: 10000 * SLOW });
      st.unconfirmed = false;
      st.answered = true;
      st.confirmed++;
      await c.next('response_complete', { timeoutMs: 30000 * SLOW });
      const said = c.json(from, 'response_text').map((m) => m.spoken_text).pop() || '';
      const next = lastSum(said);
      assert.ok(next, `${user}: the reply asks the next sum: ${said}`);
      st.question = next;
      st.answered = false;
    }
  } catch (err) {
    /* the socket may close a moment before the server's exit is seen */
    await Promise.race([server.exited, sleep(3000)]);
    if (server.alive()) throw err; /* a real failure, not the kill */
  } finally {
    if (c) c.terminate();
  }
}

test('progress survives SIGKILL in the middle of lessons', { timeout: 600000 * SLOW }, async () => {
  requireTools('sqlite3');
  const WebSocket = await loadWs();
  const dir = tmpDir('vt-crash-');
  const db = path.join(dir, 'progress.db');
  const state = Object.fromEntries(LEARNERS.map((u) => [u, {
    question: null, sent: 0, confirmed: 0, inferred: 0, unconfirmed: false, answered: false,
    resumes: 0,
  }]));
  const env = { VT_TEST_PROGRESS_STALL_MS: '150' };
  for (let life = 0; life <= KILLS; life++) {
    const server = await startServer({ args: ['-o', `db=${db}`], keepProgress: true, env });
    /* failures are kept (not left unhandled) until every learner is done */
    const runs = LEARNERS.map((u) => learner(WebSocket, server, u, state[u]).then(() => null, (e) => e));
    if (life === KILLS) {
      /* the last life: let everyone resume once, then stop cleanly */
      await sleep(4000 * SLOW);
      await server.stop();
    } else {
      await sleep(1500 + Math.random() * 4500);
      server.child.kill('SIGKILL');
      await server.exited;
    }
    for (const err of await Promise.all(runs)) if (err) throw err;
  }
  assert.equal(sql(db, 'PRAGMA integrity_check'), 'ok');
  let total = 0;
  for (const u of LEARNERS) {
    const st = state[u];
    const right = Number(sql(db, `SELECT COALESCE(SUM(n_right),0) FROM question_stats WHERE user_id='${u}'`));
    const wrong = Number(sql(db, `SELECT COALESCE(SUM(n_wrong)+SUM(n_skipped),0) FROM question_stats WHERE user_id='${u}'`));
    console.log(`# ${u}: ${st.sent} answers sent, ${st.confirmed} confirmed, ${st.inferred} recorded unconfirmed, ` +
      `${right} recorded; ${st.resumes} resumes`);
    assert.equal(wrong, 0, `${u}: only right answers were given`);
    assert.equal(right, st.confirmed + st.inferred, `${u}: recorded answers = confirmed + recorded unconfirmed`);
    assert.ok(right <= st.sent, `${u}: no answer recorded twice`);
    assert.equal(st.resumes, KILLS + 1, `${u}: resumed after every restart`);
    total += right;
  }
  assert.ok(total >= KILLS, `answers were given in most lives (${total})`);
});
