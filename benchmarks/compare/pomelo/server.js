// The pomelo-rpc echo server of the comparison, as a separate Node process.
//
// usage: node server.js --port N [--nodelay] [--buffer-ms MS]
// Prints "listening on PORT"; on stdin, "stats" prints a stats line (the format of
// mailroom-load's server children); end of stdin stops it.
'use strict';

const path = require('path');
const readline = require('readline');
const { parseFlags, forceNoDelay, statsLine, quietLogs } = require('./common');

const flags = parseFlags(process.argv.slice(2), { port: 0, nodelay: false, buffer_ms: 0 });
if (!flags.port) {
  process.stderr.write('server.js: --port is required\n');
  process.exit(2);
}
if (flags.nodelay) forceNoDelay();
quietLogs();

const Server = require('pomelo-rpc').server;
const opts = {
  paths: [{ namespace: 'user', path: path.join(__dirname, 'remote') }],
  port: flags.port,
  context: { serverId: 'echo-1' },
};
if (flags.buffer_ms > 0) {
  opts.bufferMsg = true;
  opts.interval = flags.buffer_ms;
}
const gateway = Server.create(opts);
gateway.start();
const netServer = gateway.acceptor.server;
let connections = 0;
netServer.on('connection', (s) => {
  connections++;
  s.on('close', () => connections--);
});
netServer.on('listening', () => process.stdout.write(`listening on ${flags.port}\n`));
gateway.on('error', (e) => {
  process.stderr.write(`server.js: ${e && e.message}\n`);
  process.exit(1);
});

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (line.trim() === 'stats') process.stdout.write(statsLine(connections) + '\n');
});
rl.on('close', () => {
  gateway.stop();
  process.exit(0);
});
