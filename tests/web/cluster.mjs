/*
 * Throw-away PostgreSQL and nginx servers for the tests of several
 * `voicetutor serve` instances (cluster.test.mjs): each in its own temp
 * folder, on a free loopback port, stopped (and killed with this process)
 * when the test ends.
 *
 * PostgreSQL: Debian's server binaries (/usr/lib/postgresql/N/bin, found
 * by pg_config --bindir or the newest N), `initdb` with trust auth for
 * 127.0.0.1 only. initdb refuses to run as root, so as root the cluster
 * runs as the `postgres` user (created by Debian's package) through runuser.
 *
 * findPostgres() / findNginx() return null when the binaries are missing,
 * so the test can skip with a clear message.
 */

import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { sleep } from './helpers.mjs';

const children = new Set();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function exists(p) {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function findPostgres() {
  const dirs = [];
  try {
    dirs.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim());
  } catch { /* no pg_config */ }
  try {
    const vs = fs.readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
    for (const v of vs) dirs.push(`/usr/lib/postgresql/${v}/bin`);
  } catch { /* no server package */ }
  for (const d of dirs) {
    if (exists(path.join(d, 'initdb')) && exists(path.join(d, 'postgres'))) return d;
  }
  return null;
}

export function findNginx() {
  for (const p of ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx']) {
    if (exists(p)) return p;
  }
  try {
    return execFileSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

/* Resolves to {url, port, dir, stop()}: a database "voicetutor" that
 * user "voicetutor" may use, without a password, on 127.0.0.1:port. */
export async function startPostgres(bindir) {
  const root = process.getuid && process.getuid() === 0;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vt-pg-'));
  fs.chmodSync(dir, 0o755);
  const data = path.join(dir, 'data');
  const asPg = (cmd, args) => (root ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]);
  if (root) execFileSync('chown', ['postgres', dir]);
  const port = await freePort();
  const [c1, a1] = asPg(path.join(bindir, 'initdb'),
    ['-D', data, '-U', 'voicetutor', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  execFileSync(c1, a1, { stdio: 'ignore', cwd: dir });
  const [c2, a2] = asPg(path.join(bindir, 'postgres'),
    ['-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', dir, '-c', 'fsync=off',
      '-c', 'max_connections=200']);
  const child = spawn(c2, a2, { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir });
  children.add(child);
  let log = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((resolve) => child.on('exit', () => { children.delete(child); resolve(); }));
  /* ready when it accepts connections, then create the database */
  const isready = path.join(bindir, 'pg_isready');
  for (let i = 0; ; i++) {
    try {
      execFileSync(isready, ['-h', '127.0.0.1', '-p', String(port), '-q'], { stdio: 'ignore' });
      break;
    } catch {
      if (i > 150) throw new Error(`postgres did not start:\n${log}`);
      await sleep(100);
    }
  }
  execFileSync(path.join(bindir, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'voicetutor', 'voicetutor'],
    { stdio: 'ignore' });
  const url = `postgresql://voicetutor@127.0.0.1:${port}/voicetutor`;
  const psql = (sql) => execFileSync(path.join(bindir, 'psql'),
    ['-X', '-A', '-t', '-q', '-d', url, '-c', sql], { encoding: 'utf8' }).trim();
  return {
    url,
    port,
    dir,
    psql,
    log: () => log,
    stop: async () => {
      child.kill('SIGINT'); /* fast shutdown */
      await Promise.race([exited, sleep(10000)]);
      child.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/* nginx in front of the given backends ([{port}]), as docs/DEPLOY.md
 * configures it; resolves to {port, dir, stop()}. */
export async function startNginx(bin, backends) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vt-nginx-'));
  const port = await freePort();
  const servers = backends.map((b) => `    server 127.0.0.1:${b.port} max_fails=1 fail_timeout=2s;`).join('\n');
  const conf = `
daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  upstream voicetutor {
${servers}
  }
  server {
    listen 127.0.0.1:${port};
    location /ws/ {
      proxy_pass http://voicetutor;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_read_timeout 1h;
      proxy_send_timeout 1h;
      proxy_buffering off;
      proxy_next_upstream error timeout http_502 http_503;
    }
    location / {
      proxy_pass http://voicetutor;
      proxy_http_version 1.1;
      proxy_set_header Host $host;
      proxy_next_upstream error timeout http_502 http_503;
    }
  }
}
`;
  fs.writeFileSync(path.join(dir, 'nginx.conf'), conf);
  const child = spawn(bin, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log')],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  let log = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((resolve) => child.on('exit', () => { children.delete(child); resolve(); }));
  for (let i = 0; ; i++) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    if (i > 100 || children.has(child) === false) {
      const elog = fs.existsSync(path.join(dir, 'error.log')) ? fs.readFileSync(path.join(dir, 'error.log'), 'utf8') : '';
      throw new Error(`nginx did not start:\n${log}\n${elog}`);
    }
    await sleep(50);
  }
  return {
    port,
    dir,
    ws: (p = '/ws/audio') => `ws://127.0.0.1:${port}${p}`,
    http: (p = '/') => `http://127.0.0.1:${port}${p}`,
    stop: async () => {
      child.kill('SIGQUIT');
      await Promise.race([exited, sleep(5000)]);
      child.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
