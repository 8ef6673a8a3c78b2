'use strict';
// connectorRemote: what the C++ chat server calls on this Node connector. It has no C++
// declaration; the chat server calls it with JSON arguments.
module.exports = function (context) {
  return {
    push(uid, line, cb) {
      const text = `to ${uid}: ${line}`;
      console.log(`[${context.serverId}] ${text}`);
      context.pushed.push(text);
      cb(null, true);
    },
  };
};
