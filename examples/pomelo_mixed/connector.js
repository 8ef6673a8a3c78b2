'use strict';
// A pomelo connector as a stock pomelo-rpc 1.0.7 process: it serves connectorRemote.push
// (the chat server pushes lines to users through it) and calls the C++ chat server's
// chatRemote through pomelo-rpc's proxies, as a pomelo connector's handlers do.
//
// usage: node connector.js <servers.json> <server id>
// Reads its own entry and the chat servers from servers.json (pomelo's format), plays a short
// conversation between two users and exits 0 if every answer was as expected.
const fs = require('fs');
const path = require('path');
const rpc = require('pomelo-rpc');

const [configFile, serverId] = process.argv.slice(2);
const servers = JSON.parse(fs.readFileSync(configFile, 'utf8')).development;
const self = servers.connector.find((s) => s.id === serverId);

// Lines pushed to users, by the C++ chat server.
const pushed = [];
const remotes = path.join(__dirname, 'remote');
const server = rpc.server.create({
  port: self.port,
  paths: [{ namespace: 'user', path: remotes }],
  context: { serverId, pushed },
});
server.start();

const client = rpc.client.create({ context: { serverId } });
client.addProxies([{ namespace: 'user', serverType: 'chat', path: path.join(__dirname, 'chat') }]);
client.addServers(servers.chat.map((s) => ({ id: s.id, serverType: 'chat', host: s.host, port: s.port })));
const chat = client.proxies.user.chat.chatRemote;
const chatId = servers.chat[0].id;
const call = (method, ...args) =>
  new Promise((resolve, reject) =>
    chat[method].toServer(chatId, ...args, (err, ...res) => (err ? reject(err) : resolve(res))));

const expect = (what, got, want) => {
  const ok = JSON.stringify(got) === JSON.stringify(want);
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}: ${JSON.stringify(got)}`);
  if (!ok) process.exitCode = 1;
};

client.start(async () => {
  try {
    expect('alice joins lobby', await call('add', 'alice', serverId, 'lobby'), [['alice']]);
    expect('bob joins lobby', await call('add', 'bob', serverId, 'lobby'), [['alice', 'bob']]);
    expect('alice says hello', await call('send', 'alice', 'lobby', 'hello from Node'), [2, chatId]);
    await call('leave', 'alice', 'lobby');
    expect('bob answers', await call('send', 'bob', 'lobby', 'hi, C++ here too?'), [1, chatId]);
    expect('pushed by the C++ chat server', pushed, [
      'to alice: alice: hello from Node',
      'to bob: alice: hello from Node',
      'to bob: bob: hi, C++ here too?',
    ]);
    const err = await new Promise((resolve) =>
      client.rpcInvoke(chatId, { namespace: 'user', serverType: 'chat', service: 'chatRemote',
        method: 'nope', args: [1] }, resolve));
    expect('an unknown method fails', err && err.msg, 'unknown method: user.chatRemote.nope');
  } catch (err) {
    console.log('FAIL ' + (err.stack || err.msg || JSON.stringify(err)));
    process.exitCode = 1;
  }
  process.exit(); // pomelo-rpc's client keeps a keepalive timer running
});
