'use strict';
// A stock pomelo-rpc 1.0.7 client calling a mailroom C++ server (the test started it):
// node client.js <port> <scenario> [--bufferMsg]. Prints one JSON line, "RESULT {...}", with
// what each call's callback received, then exits.
const path = require('path');
const rpc = require('pomelo-rpc');

const [port, scenario, ...flags] = process.argv.slice(2);
const bufferMsg = flags.includes('--bufferMsg');
const client = rpc.client.create({
  context: {serverId: 'node-connector-1'},
  bufferMsg,
  interval: 10,
  keepalive: scenario === 'keepalive' ? 250 : undefined,
  timeout: 20000,
});
client.addProxies([{namespace: 'user', serverType: 'chat', path: path.join(__dirname, 'cpp_remotes')}]);
client.addServers([{id: 'cpp-chat-1', serverType: 'chat', host: '127.0.0.1', port: Number(port)}]);
const chat = client.proxies.user.chat.chatRemote;

// The callback's arguments, errors reduced to what a pomelo caller reads.
const plain = (args) => args.map((a) => (a instanceof Error ? {localError: a.message} : a));
const call = (method, ...args) =>
  new Promise((resolve) => chat[method].toServer('cpp-chat-1', ...args, (...r) => resolve(plain(r))));
const invoke = (msg) =>
  new Promise((resolve) =>
    client.rpcInvoke('cpp-chat-1', Object.assign({namespace: 'user', serverType: 'chat'}, msg),
        (...r) => resolve(plain(r))));

const scenarios = {
  async basic() {
    const big = 'x'.repeat(1536 * 1024);
    const out = {};
    out.string = await call('echoString', 'hello, mailroom');
    out.object = await call('echo', {name: 'ann', level: 4, tags: ['a', 'b'], nested: {ok: true}});
    out.int64 = await call('add', 9007199254740000, 991);
    out.negative = await call('add', -5, 2);
    out.double = await call('mul', 1.5, 2.25);
    out.pair = await call('pair', 'left', 7);
    out.stats = await call('stats', 3);
    out.error = await call('fail', 'the dragon ate it');
    out.badArgument = await call('add', 'x', 1);
    out.unknownMethod = await call('noSuchMethod', 1);
    out.toString = await invoke({service: 'chatRemote', method: 'toString', args: []});
    out.proto = await invoke({service: 'chatRemote', method: '__proto__', args: []});
    out.unknownService = await invoke({service: 'nope', method: 'echo', args: [1]});
    out.unknownNamespace = await invoke({namespace: 'sys', service: 'chatRemote', method: 'echo', args: [1]});
    out.argsNotArray = await invoke({service: 'chatRemote', method: 'echo', args: 5});
    out.large = await call('size', big);
    out.largeEcho = (await call('echoString', big)).map((v) => (typeof v === 'string' ? v.length : v));
    chat.note.toServer('cpp-chat-1', 'fire and forget', null); // a null callback
    out.afterNull = await call('lastNote');
    return out;
  },
  async batch() {
    // Sent in one flush with bufferMsg: every element is answered, the bad ones too.
    const all = await Promise.all([
      call('echoString', 'a'),
      call('noSuchMethod'),
      invoke({service: 'chatRemote', method: 'echo', args: 5}),
      invoke({service: 'chatRemote', method: 'constructor', args: []}),
      call('add', 'x', 1),
      call('echoString', 'b'),
    ]);
    return {all};
  },
  async burst() {
    const calls = [];
    for (let i = 0; i < 1000; i++) calls.push(call('add', i, 1000000));
    const results = await Promise.all(calls);
    let ok = 0;
    results.forEach((r, i) => {
      if (r[0] === null && r[1] === i + 1000000) ok++;
    });
    return {ok};
  },
  async keepalive() {
    const first = await call('echoString', 'before');
    // Long enough for several pings at 250 ms; a missing PINGRESP makes the stock client
    // drop the connection after 500 ms, and the next call would then open another one.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const box = client._station.mailboxes['cpp-chat-1'];
    const pongs = box ? box.lastPong > 0 : false;
    const second = await call('echoString', 'after');
    return {first, second, pongs, sameMailbox: box === client._station.mailboxes['cpp-chat-1']};
  },
};

client.start(async () => {
  const result = await scenarios[scenario]();
  console.log('RESULT ' + JSON.stringify(result));
  process.exit(0); // the stock client's keepalive interval would keep the process alive
});
