#include <mailroom/ws.hpp>
// Test that header file is self-contained.

// Interop with foreign WebSocket clients (label "interop"): Node's `ws` package (Debian
// node-ws) and headless Chromium each open a connection to a mailroom ws server, send a
// hello and a call built by hand per docs/protocol.md (msgpack written by a tiny encoder in
// the script), check the answer, and close with code 1000, which the server echoes. Node
// negotiates the mailroom.batch subprotocol (hello and call in one message); Chromium
// speaks one body per message. Each part is skipped, with the reason, when its program is
// not installed (scripts/test.sh installs both).

#include "support/wait.hpp"

#include <mailroom/server.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/error.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;

/// The msgpack subset the scripts need, and the expected outcome they report.
constexpr const char* msgpack_js = R"js(
function enc(v, out) {
  if (v === null) out.push(0xc0);
  else if (typeof v === 'number') {
    if (v < 128) out.push(v);
    else if (v < 256) out.push(0xcc, v);
    else if (v < 65536) out.push(0xcd, v >> 8, v & 255);
    else out.push(0xce, (v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
  } else if (typeof v === 'string') {
    const b = new TextEncoder().encode(v);
    if (b.length < 32) out.push(0xa0 | b.length); else out.push(0xd9, b.length);
    for (const x of b) out.push(x);
  } else if (Array.isArray(v)) {
    out.push(0x90 | v.length);
    for (const x of v) enc(x, out);
  }
  return out;
}
function dec(b, pos) {
  const t = b[pos++];
  const str = (at, n) => [new TextDecoder().decode(b.subarray(at, at + n)), at + n];
  const arr = (n, at) => { const a = []; for (let i = 0; i < n; i++) { const r = dec(b, at); a.push(r[0]); at = r[1]; } return [a, at]; };
  if (t < 0x80) return [t, pos];
  if (t >= 0xe0) return [t - 256, pos];
  if ((t & 0xf0) === 0x90) return arr(t & 15, pos);
  if ((t & 0xe0) === 0xa0) return str(pos, t & 31);
  switch (t) {
    case 0xc0: return [null, pos];
    case 0xc2: return [false, pos];
    case 0xc3: return [true, pos];
    case 0xcc: return [b[pos], pos + 1];
    case 0xcd: return [(b[pos] << 8) | b[pos + 1], pos + 2];
    case 0xce: return [b[pos] * 16777216 + (b[pos + 1] << 16) + (b[pos + 2] << 8) + b[pos + 3], pos + 4];
    case 0xd9: return str(pos + 1, b[pos]);
    case 0xda: return str(pos + 2, (b[pos] << 8) | b[pos + 1]);
    case 0xdc: return arr((b[pos] << 8) | b[pos + 1], pos + 2);
  }
  throw new Error('unexpected msgpack byte ' + t);
}
// docs/protocol.md, section 2: hello [6, version, peer_id]; request [1, id, ns, server_type,
// service, method, args]; hello_ack [7, version, server_id, code, message]; response
// [3, id, code, message, result].
const HELLO = (peer) => enc([6, 1, peer], []);
const CALL = enc([1, 1, 'user', 'echo', 'echoRemote', 'add', [2, 3]], []);
)js";

constexpr const char* expected_report = "hello_ack=0 result=5 close=1000";

const char* node_js = R"js(
const WebSocket = require('ws');
const ws = new WebSocket(`ws://127.0.0.1:${process.argv[2]}/interop`, ['mailroom.batch']);
const prefixed = (b) => [(b.length >>> 24) & 255, (b.length >>> 16) & 255, (b.length >>> 8) & 255, b.length & 255, ...b];
let ack = null, result = null;
ws.on('open', () => {
  if (ws.protocol !== 'mailroom.batch') { console.log('no batch subprotocol: ' + ws.protocol); process.exit(1); }
  ws.send(Buffer.from([...prefixed(HELLO('node-ws')), ...prefixed(CALL)])); // one batch message
});
ws.on('message', (data, isBinary) => {
  if (!isBinary) { console.log('a text message'); process.exit(1); }
  const b = new Uint8Array(data);
  for (let off = 0; off < b.length;) {
    const n = b[off] * 16777216 + (b[off + 1] << 16) + (b[off + 2] << 8) + b[off + 3];
    const m = dec(b.subarray(off + 4, off + 4 + n), 0)[0];
    off += 4 + n;
    if (m[0] === 7) ack = m[3];
    else if (m[0] === 3 && m[1] === 1) { result = m[2] === 0 ? m[4] : 'error ' + m[3]; ws.close(1000, 'done'); }
  }
});
ws.on('close', (code) => { console.log(`hello_ack=${ack} result=${result} close=${code}`); process.exit(0); });
ws.on('error', (e) => { console.log('error ' + e.message); process.exit(1); });
setTimeout(() => { console.log('timed out'); process.exit(2); }, 60000);
)js";

const char* page_js = R"js(
const report = (s) => fetch('/result?' + encodeURIComponent(s));
let ack = null, result = null;
try {
  const ws = new WebSocket(`ws://127.0.0.1:${WS_PORT}/interop`);
  ws.binaryType = 'arraybuffer';
  ws.onopen = () => ws.send(new Uint8Array(HELLO('chromium')));
  ws.onmessage = (e) => {
    if (typeof e.data === 'string') return report('a text message');
    const m = dec(new Uint8Array(e.data), 0)[0];
    if (m[0] === 7) { ack = m[3]; ws.send(new Uint8Array(CALL)); }
    else if (m[0] === 3 && m[1] === 1) { result = m[2] === 0 ? m[4] : 'error ' + m[3]; ws.close(1000, 'done'); }
  };
  ws.onclose = (e) => report(`hello_ack=${ack} result=${result} close=${e.code}` + (e.wasClean ? '' : ' unclean'));
} catch (e) { report('exception ' + e); }
)js";

/// Whether `program` is on the PATH.
bool installed(const std::string& program)
{
    return std::system(("command -v " + program + " >/dev/null 2>&1").c_str()) == 0;
}

/// A fresh temporary directory, removed with the object.
struct temp_dir {
    temp_dir()
    {
        std::string tmpl = (fs::temp_directory_path() / "mailroom-interop-XXXXXX").string();
        if (!mkdtemp(tmpl.data()))
            throw std::runtime_error("mkdtemp");
        path = tmpl;
    }
    ~temp_dir()
    {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
    fs::path path;
};

/// A mailroom server "interop-1" with echoRemote.add on a ws acceptor at /interop, whose
/// log lines are kept.
struct interop_server {
    interop_server()
    {
        srv.get_dispatcher().add("echoRemote", "add", [](int x, int y) { return x + y; });
        acc = mailroom::ws::make_acceptor(ioc.get_executor(), {.path = "/interop"});
        if (auto ec = srv.listen(acc))
            throw std::system_error(ec, "listen");
        thread = std::thread([this] { ioc.run(); });
    }
    ~interop_server()
    {
        srv.stop();
        work.reset();
        thread.join();
    }
    /// Waits (bounded) until the server logged a close that contains `text`.
    bool closed_with(const std::string& text)
    {
        std::unique_lock lock(mu);
        return cv.wait_for(lock, 30s, [&] {
            for (auto& l : lines)
                if (l.find("closed") != l.npos && l.find(text) != l.npos)
                    return true;
            return false;
        });
    }
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::string> lines;
    asio::io_context ioc;
    asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
    mailroom::server srv{ioc.get_executor(),
                         {.server_id = "interop-1",
                          .log = {.min_level = mailroom::log_level::debug,
                                  .sink = [this](mailroom::log_level, std::string_view line) {
                                      std::lock_guard lock(mu);
                                      lines.emplace_back(line);
                                      cv.notify_all();
                                  }}}};
    std::shared_ptr<mailroom::ws::acceptor> acc;
    std::thread thread;
};

/// A missing peer program skips the test on a developer's machine, but fails it under CI
/// (`CI` set), where scripts/test.sh installs node, node-ws and chromium: the interop proof
/// must not pass by not running.
#define MAILROOM_SKIP_UNLESS_CI(why)                                                         \
    do {                                                                                     \
        if (std::getenv("CI"))                                                               \
            FAIL() << why;                                                                   \
        GTEST_SKIP() << why;                                                                 \
    } while (false)

/// What the server logs when the peer closed with a close frame and got one back.
const std::string graceful_close =
    boost::system::error_code(boost::beast::websocket::error::closed).message();

TEST(WsInterop, NodeWsCallsAMailroomServerAndClosesWith1000)
{
    if (!installed("node"))
        MAILROOM_SKIP_UNLESS_CI("node is not installed (scripts/test.sh installs nodejs and node-ws)");
    // Debian's node-ws lives in /usr/share/nodejs, outside the default module path of a
    // Node that did not come from Debian.
    const std::string env = "NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH} ";
    if (std::system((env + "node -e \"require('ws')\" >/dev/null 2>&1").c_str()) != 0)
        MAILROOM_SKIP_UNLESS_CI("Node's ws package is not installed (Debian: node-ws)");

    interop_server server;
    temp_dir dir;
    const auto script = dir.path / "client.js";
    std::ofstream(script) << msgpack_js << node_js;
    const auto cmd = env + "node " + script.string() + " " + std::to_string(server.acc->port()) + " 2>&1";
    FILE* out = popen(cmd.c_str(), "r");
    ASSERT_NE(out, nullptr);
    std::string report;
    char buf[512];
    while (std::fgets(buf, sizeof buf, out)) // until node exits
        report += buf;
    EXPECT_EQ(pclose(out), 0) << report;
    while (!report.empty() && (report.back() == '\n' || report.back() == '\r'))
        report.pop_back();
    EXPECT_EQ(report, expected_report);
    EXPECT_TRUE(server.closed_with(graceful_close)) << "the server saw the client's close frame";
}

/** Serves the test page and takes the page's report (`GET /result?<report>`), one request
    per connection, until the report arrived.
*/
struct page_server {
    explicit page_server(std::string page) : page_(std::move(page))
    {
        report = promise_.get_future();
        thread_ = std::thread([this] { run(); });
    }
    ~page_server()
    {
        stop_ = true;
        boost::system::error_code ignored;
        tcp::socket wake(ioc_);
        wake.connect(acceptor_.local_endpoint(), ignored); // unblocks accept
        thread_.join();
    }
    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

    std::future<std::string> report;

private:
    void run()
    {
        bool reported = false;
        while (!stop_) {
            tcp::socket s(ioc_);
            boost::system::error_code ec;
            acceptor_.accept(s, ec);
            if (ec || stop_)
                break;
            beast::flat_buffer buf;
            http::request<http::string_body> req;
            http::read(s, buf, req, ec);
            if (ec)
                continue;
            http::response<http::string_body> res{http::status::ok, req.version()};
            res.keep_alive(false);
            const std::string target(req.target());
            if (target.rfind("/result?", 0) == 0) {
                if (!reported) {
                    reported = true;
                    promise_.set_value(decode(target.substr(8)));
                }
                res.result(http::status::no_content);
            } else if (target == "/") {
                res.set(http::field::content_type, "text/html");
                res.body() = page_;
            } else {
                res.result(http::status::not_found);
            }
            res.prepare_payload();
            http::write(s, res, ec);
        }
    }
    static std::string decode(const std::string& s)
    {
        std::string out;
        for (std::size_t i = 0; i < s.size(); ++i) {
            if (s[i] == '%' && i + 2 < s.size()) {
                out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
                i += 2;
            } else {
                out += s[i];
            }
        }
        return out;
    }

    std::string page_;
    asio::io_context ioc_;
    tcp::acceptor acceptor_{ioc_, {asio::ip::make_address("127.0.0.1"), 0}};
    std::promise<std::string> promise_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

/// A headless Chromium showing `url`, in a process group of its own; killed with the object.
struct chromium {
    chromium(const std::string& url, const fs::path& profile, const fs::path& log)
    {
        std::vector<std::string> args = {"chromium", "--headless", "--no-sandbox", "--disable-gpu",
                                         "--disable-quic", "--no-first-run",
                                         "--disable-background-networking",
                                         "--disable-component-update", "--disable-sync",
                                         "--user-data-dir=" + profile.string(), url};
        std::vector<char*> argv;
        for (auto& a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
        posix_spawnattr_t attr;
        posix_spawnattr_init(&attr);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
        posix_spawnattr_setpgroup(&attr, 0);
        if (posix_spawnp(&pid, "chromium", &actions, &attr, argv.data(), environ) != 0)
            pid = -1;
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attr);
    }
    ~chromium()
    {
        if (pid <= 0)
            return;
        kill(-pid, SIGKILL); // the browser and the processes it started
        int status = 0;
        waitpid(pid, &status, 0);
    }
    pid_t pid = -1;
};

TEST(WsInterop, HeadlessChromiumCallsAMailroomServerAndClosesWith1000)
{
    if (!installed("chromium"))
        MAILROOM_SKIP_UNLESS_CI("chromium is not installed (scripts/test.sh installs it)");
    interop_server server;
    std::string page = "<!doctype html><title>mailroom interop</title><script>\nconst WS_PORT = " +
                       std::to_string(server.acc->port()) + ";\n" + msgpack_js + page_js +
                       "</script>\n";
    page_server pages(std::move(page));
    temp_dir dir;
    const auto log = dir.path / "chromium.log";
    std::string report;
    {
        chromium browser("http://127.0.0.1:" + std::to_string(pages.port()) + "/",
                         dir.path / "profile", log);
        ASSERT_GT(browser.pid, 0) << "could not start chromium";
        // Chromium's start-up is slow on a busy machine: a generous bound.
        if (pages.report.wait_for(80s) == std::future_status::ready)
            report = pages.report.get();
    }
    if (report.empty()) {
        std::ifstream in(log);
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        FAIL() << "the page never reported; chromium said:\n" << text.substr(0, 4000);
    }
    EXPECT_EQ(report, expected_report);
    EXPECT_TRUE(server.closed_with(graceful_close)) << "the server saw the browser's close frame";
}

} // namespace
