'use strict';
// The declaration pomelo keeps in app/servers/chat/remote/ for the chat server's remote.
// The chat server is C++ now (main.cpp): these bodies never run, pomelo-rpc reads the method
// names to build app.rpc.chat.chatRemote.
const moved = () => {
  throw new Error('served by the C++ chat server');
};
module.exports = { add: moved, leave: moved, send: moved };
