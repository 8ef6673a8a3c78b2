'use strict';
// What a pomelo project keeps under app/servers/chat/remote/ for a remote it calls: here the
// remote is mailroom's C++ server, and these bodies never run. pomelo-rpc only reads the
// method names to build its proxies (client.addProxies).
const declared = () => {
  throw new Error('served by the C++ chat server');
};
module.exports = {
  echo: declared,
  echoString: declared,
  add: declared,
  mul: declared,
  pair: declared,
  stats: declared,
  fail: declared,
  size: declared,
  note: declared,
  lastNote: declared,
  noSuchMethod: declared,
};
