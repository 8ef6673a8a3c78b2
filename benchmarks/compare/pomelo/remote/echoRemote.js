// The remote the pomelo server exposes: user.echoRemote.echo(msg) -> msg, like
// mailroom-load's echoRemote.echo(std::string) -> std::string.
module.exports = function () {
  return {
    echo: function (msg, cb) {
      cb(null, msg);
    },
  };
};
