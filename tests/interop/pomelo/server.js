'use strict';
// A stock pomelo-rpc 1.0.7 server (mqtt acceptor, remotes in ./remote) for mailroom's interop
// tests: node server.js [--bufferMsg]. It listens on a free loopback port and prints
// "PORT <n>"; the stock acceptor prints "connected" for each CONNECT.
const path = require('path');
const rpc = require('pomelo-rpc');

const bufferMsg = process.argv.includes('--bufferMsg');
const server = rpc.server.create({
  port: 1, // Server.create refuses 0; the gateway's port is set below, before it listens
  paths: [{namespace: 'user', path: path.join(__dirname, 'remote')}],
  context: {serverId: 'node-echo-1'},
  bufferMsg,
  interval: 10,
});
server.port = 0;
server.start();
server.acceptor.server.on('listening', () => {
  console.log('PORT ' + server.acceptor.server.address().port);
});
