// Shared by the pomelo harness processes: command-line flags, the TCP_NODELAY override and
// the stats line that mailroom-load's server children print too.
'use strict';

const net = require('net');

function parseFlags(argv, defaults) {
  const out = Object.assign({}, defaults);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error('unexpected argument ' + a);
    const eq = a.indexOf('=');
    const key = (eq < 0 ? a.slice(2) : a.slice(2, eq)).replace(/-/g, '_');
    if (!(key in defaults)) throw new Error('unknown option ' + a);
    let value;
    if (typeof defaults[key] === 'boolean' && eq < 0) value = true;
    else value = eq < 0 ? argv[++i] : a.slice(eq + 1);
    if (typeof defaults[key] === 'number') value = Number(value);
    if (typeof defaults[key] === 'boolean') value = value === true || value === 'true' || value === '1';
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error('bad value for ' + a);
    out[key] = value;
  }
  return out;
}

// Forces TCP_NODELAY on every socket this process connects or accepts, from the outside:
// pomelo-rpc's sources stay as shipped (it never calls setNoDelay).
function forceNoDelay() {
  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function (...args) {
    this.setNoDelay(true); // applied by node once the handle exists
    return connect.apply(this, args);
  };
  const emit = net.Server.prototype.emit;
  net.Server.prototype.emit = function (event, socket, ...rest) {
    if (event === 'connection' && socket && typeof socket.setNoDelay === 'function') socket.setNoDelay(true);
    return emit.call(this, event, socket, ...rest);
  };
}

// This process's own peak RSS in KiB: VmHWM (resourceUsage().maxRSS is kept across exec, so
// a spawned child would report its parent's peak).
function peakRssKib() {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]);
  } catch (e) {
    // not Linux: fall through
  }
  return process.resourceUsage().maxRSS;
}

// The process's figures, in the format of mailroom-load's "stats" line.
function statsLine(connections) {
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  return `stats user_us=${cpu.user} sys_us=${cpu.system} maxrss_kib=${peakRssKib()} ` +
    `rss_kib=${Math.round(mem.rss / 1024)} heap_bytes=${mem.heapUsed} connections=${connections} held=0`;
}

function parseStats(line) {
  const out = {};
  for (const item of line.trim().split(/\s+/).slice(1)) {
    const [k, v] = item.split('=');
    out[k] = Number(v);
  }
  return out;
}

// pomelo-rpc logs through log4js; errors only, to stderr.
function quietLogs() {
  try {
    require('pomelo-logger').configure({
      appenders: [{ type: 'console' }],
      levels: { 'pomelo-rpc': 'ERROR', '[all]': 'ERROR' },
    });
  } catch (e) {
    // older/newer logger: leave it
  }
  // The mqtt acceptor console.logs every connection; stdout carries the protocol.
  console.log = () => {};
}

module.exports = { parseFlags, forceNoDelay, statsLine, parseStats, quietLogs, peakRssKib };
