// The pomelo-rpc side of the comparison: starts server.js as a child process, then keeps
// N echo calls in flight through the pomelo proxy (proxy -> router -> mail station ->
// mqtt mail box), like mailroom-load --mode separate. Prints one JSON object with
// mailroom-load's keys.
//
// usage: node client.js [--inflight N] [--duration SEC] [--warmup N] [--payload BYTES]
//                       [--nodelay] [--buffer-ms MS] [--pin CPU] [--connect PORT]
// --nodelay forces TCP_NODELAY on both processes' sockets; --buffer-ms turns pomelo's
// bufferMsg on (client and server) with that flush interval; --pin runs both processes on
// that CPU (taskset). --connect calls a server already listening on PORT (mailroom's
// pomelo transport, interop.sh) instead of starting server.js; server CPU is then not counted.
'use strict';

const path = require('path');
const net = require('net');
const { spawn } = require('child_process');
const readline = require('readline');
const { parseFlags, forceNoDelay, parseStats, quietLogs, peakRssKib } = require('./common');

const flags = parseFlags(process.argv.slice(2), {
  inflight: 100, duration: 3, warmup: 1000, warmup_max_s: 2, payload: 64, nodelay: false,
  buffer_ms: 0, pin: -1, timeout_s: 60, connect: 0,
});

function fail(why) {
  process.stderr.write(`client.js: ${why}\n`);
  process.exit(1);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// The server child and its line protocol.
function startServer(port) {
  const args = [path.join(__dirname, 'server.js'), '--port', String(port)];
  if (flags.nodelay) args.push('--nodelay');
  if (flags.buffer_ms > 0) args.push('--buffer-ms', String(flags.buffer_ms));
  const cmd = flags.pin >= 0 ? 'taskset' : process.execPath;
  const argv = flags.pin >= 0 ? ['-c', String(flags.pin), process.execPath, ...args] : args;
  const child = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiters = [];
  const rl = readline.createInterface({ input: child.stdout });
  rl.on('line', (line) => {
    const w = waiters.findIndex((x) => line.startsWith(x.prefix));
    if (w >= 0) waiters.splice(w, 1)[0].resolve(line);
  });
  const next = (prefix) =>
    new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`server: no "${prefix}" line`)), 10000);
      waiters.push({ prefix, resolve: (l) => { clearTimeout(t); resolve(l); } });
    });
  child.on('exit', (code) => {
    if (!child.stopping) fail(`server exited early (${code})`);
  });
  return {
    ready: next('listening on'),
    async stats() {
      const p = next('stats');
      child.stdin.write('stats\n');
      return parseStats(await p);
    },
    stop() {
      child.stopping = true;
      child.stdin.end();
      return new Promise((resolve) => {
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.on('exit', () => { clearTimeout(t); resolve(); });
      });
    },
  };
}

function percentile(sorted, q) {
  const n = sorted.length;
  const rank = Math.min(Math.max(Math.ceil(q * n), 1), n);
  return sorted[rank - 1];
}

async function main() {
  if (flags.nodelay) forceNoDelay();
  quietLogs();
  const port = flags.connect || (await freePort());
  // An outside server (--connect) has no stats line: its CPU is not counted.
  const zero = { user_us: 0, sys_us: 0, maxrss_kib: 0 };
  const server = flags.connect
    ? { ready: Promise.resolve(), stats: async () => zero, stop: async () => {} }
    : startServer(port);
  await server.ready;

  const Client = require('pomelo-rpc').client;
  const opts = {
    context: { serverId: 'bench-client' },
    router: (routeParam, msg, routeContext, cb) => cb(null, 'echo-1'),
  };
  if (flags.buffer_ms > 0) {
    opts.bufferMsg = true;
    opts.interval = flags.buffer_ms;
  }
  const client = Client.create(opts);
  client.addProxies([{ namespace: 'user', serverType: 'echo', path: path.join(__dirname, 'remote') }]);
  client.addServer({ id: 'echo-1', serverType: 'echo', host: '127.0.0.1', port });
  await new Promise((resolve, reject) => client.start((err) => (err ? reject(err) : resolve())));
  const echo = client.proxies.user.echo.echoRemote.echo;

  const payload = Array.from({ length: flags.payload }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
  let errors = 0;
  let firstError = '';
  let completed = 0;
  let calls = 0;

  // One phase: keeps `inflight` calls out until `until()` says stop, then waits for the rest.
  function phase(until, record) {
    return new Promise((resolve) => {
      let outstanding = 0;
      const issue = () => {
        if (errors > 0 || until()) {
          if (outstanding === 0) resolve();
          return;
        }
        outstanding++;
        calls++;
        const t0 = process.hrtime.bigint();
        echo(null, payload, (err, res) => {
          const ns = Number(process.hrtime.bigint() - t0);
          outstanding--;
          completed++;
          if (err || res !== payload) {
            if (errors++ === 0) firstError = err ? String(err.message || err) : 'wrong echo';
          } else if (record) {
            record(ns);
          }
          issue();
        });
      };
      for (let k = 0; k < flags.inflight; k++) issue();
    });
  }

  // Warm-up: `warmup` calls or `warmup_max_s`, whichever comes first (pomelo as shipped
  // can take tens of milliseconds per call).
  const warmStart = Date.now();
  let warmIssued = 0;
  await phase(() => warmIssued++ >= flags.warmup || Date.now() - warmStart > flags.warmup_max_s * 1000);
  const warmupCalls = completed;

  const s0 = await server.stats();
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const deadline = t0 + BigInt(Math.round(flags.duration * 1e9));
  const lat = [];
  await phase(() => process.hrtime.bigint() >= deadline, (ns) => lat.push(ns));
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  const c1 = process.cpuUsage(c0);
  const s1 = await server.stats();
  await server.stop();
  client.stop(true);

  lat.sort((a, b) => a - b);
  const n = lat.length;
  const us = (ns) => Math.round(ns / 100) / 10;
  const clientCpu = n ? (c1.user + c1.system) / n : null;
  const serverCpu = n ? (s1.user_us + s1.sys_us - s0.user_us - s0.sys_us) / n : null;
  const config = flags.nodelay
    ? (flags.buffer_ms > 0 ? `nodelay+buffer${flags.buffer_ms}ms` : 'nodelay')
    : (flags.buffer_ms > 0 ? `shipped+buffer${flags.buffer_ms}ms` : 'shipped');
  const out = {
    transport: 'pomelo', config, mode: 'separate', pin: flags.pin >= 0 ? `${flags.pin}/${flags.pin}` : '',
    cpu_scope: 'client+server', calls: completed, warmup_calls: warmupCalls, measured_calls: n,
    errors, inflight: flags.inflight, payload: flags.payload, seconds: Number(elapsed.toFixed(6)),
    calls_per_sec: n ? Number((n / elapsed).toFixed(1)) : 0,
    min_us: n ? us(lat[0]) : 0, p50_us: n ? us(percentile(lat, 0.5)) : 0,
    p90_us: n ? us(percentile(lat, 0.9)) : 0, p99_us: n ? us(percentile(lat, 0.99)) : 0,
    p999_us: n ? us(percentile(lat, 0.999)) : 0, max_us: n ? us(lat[n - 1]) : 0,
    cpu_us_per_call: n ? Number((clientCpu + serverCpu).toFixed(3)) : null,
    client_cpu_us_per_call: n ? Number(clientCpu.toFixed(3)) : null,
    server_cpu_us_per_call: n ? Number(serverCpu.toFixed(3)) : null,
    peak_rss_kib: peakRssKib(), server_peak_rss_kib: s1.maxrss_kib,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
  if (errors > 0) fail(`${errors} calls failed; first: ${firstError}`);
  process.exit(0);
}

setTimeout(() => fail('timed out'), (flags.duration + flags.warmup_max_s + flags.timeout_s) * 1000).unref();
main().catch((e) => fail(e.stack || String(e)));
