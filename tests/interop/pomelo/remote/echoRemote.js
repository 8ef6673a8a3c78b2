'use strict';
// The remote a stock pomelo-rpc server serves to mailroom's C++ client in the interop tests.
let lastNote = null;
module.exports = {
  echo(value, cb) {
    cb(null, value);
  },
  add(a, b, cb) {
    cb(null, a + b);
  },
  pair(a, b, cb) {
    cb(null, a, b); // several results
  },
  fail(message, cb) {
    cb(new Error(message));
  },
  size(text, cb) {
    cb(null, text.length);
  },
  note(text, cb) {
    lastNote = text;
    cb(null);
  },
  lastNote(cb) {
    cb(null, lastNote);
  },
  hang(cb) {
    // Never answers; tells the test it has the call, so it can kill this process mid-call.
    console.log('HANG');
  },
};
