// The status page in a real browser: headless Chromium loads it from a running App, runs its
// script against /status.json and renders it; the test reads the DOM it built and keeps a
// screenshot under the build directory (artifacts/status_page.png).

#include "admin_support.hpp"
#include "remote/contract.hpp"
#include "support/wait.hpp"

#include <mailroom/app/app.hpp>
#include <mailroom/tcp/transport.hpp>

#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <thread>

#include <sys/wait.h>

namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;

using cluster_rpc = mailroom::test::game_rpc;

using mailroom::test::game_impl;

std::string chromium_path()
{
    if (const char* p = std::getenv("MAILROOM_CHROMIUM"))
        return p;
    for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"})
        if (std::filesystem::exists(p))
            return p;
    return {};
}

/// Runs `command`; its standard output and exit status.
std::pair<std::string, int> run(const std::string& command)
{
    std::string out;
    FILE* p = ::popen(command.c_str(), "r");
    if (!p)
        return {out, -1};
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;)
        out.append(buf, n);
    const int status = ::pclose(p);
    return {out, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

TEST(status_page, RendersTheClusterAndLiveRatesInChromium)
{
    const auto chromium = chromium_path();
    if (chromium.empty())
        GTEST_SKIP() << "Chromium is not installed (Debian package `chromium`; scripts/test.sh "
                        "installs it, or set MAILROOM_CHROMIUM): the status page is not tested";

    mailroom::test::admin_cluster_config cfg;
    auto options = cfg.options("game-1");
    options.admin.port = 0;
    options.metrics_limits.slow_call = 20ms; // slow_double takes 40 ms
    mailroom::test::slow_game game;
    mailroom::app<cluster_rpc> game_app(options);
    mailroom::app<cluster_rpc> connector(cfg.options("connector-1"));
    for (auto* a : {&game_app, &connector})
        a->add_transport("tcp", mailroom::tcp::make_transport());
    game_app.serve<mailroom::test::game_remote>(game);
    game_app.start();
    connector.start();

    // One slow call, in a trace the test knows.
    const auto root = mailroom::trace_context::make_root();
    auto slow = connector.rpc.game.gameRemote.with({.trace = root}).slow_double("s", 2, asio::use_future);
    ASSERT_FALSE(std::get<0>(mailroom::test::wait(slow)));

    // Calls go on while the browser looks, so that the live rates are live.
    std::atomic<bool> done{false};
    std::atomic<int> made{0};
    std::thread caller([&] {
        for (int i = 0; !done; ++i) {
            auto f = connector.rpc.game.gameRemote.add("s", i, 1, asio::use_future);
            auto [ec, v] = mailroom::test::wait(f);
            if (ec)
                break;
            if (i % 50 == 0) {
                auto b = connector.rpc.game.gameRemote.boom("s", "on purpose", asio::use_future);
                mailroom::test::wait(b);
            }
            ++made;
        }
    });
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (made < 20 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::yield();
    ASSERT_GE(made, 20);

    const auto profile = cfg.dir / "chromium-profile";
    const std::string url = "http://127.0.0.1:" + std::to_string(game_app.admin_port()) + "/";
    const std::string flags = " --headless --no-sandbox --disable-gpu --no-first-run "
                              "--disable-dev-shm-usage --user-data-dir=" + profile.string() +
                              " --virtual-time-budget=4000 ";
    auto [dom, status] = run("timeout 90 " + chromium + flags + "--dump-dom " + url + " 2>/dev/null");
    if (status != 0 || dom.find("<html") == std::string::npos) {
        done = true;
        caller.join();
        GTEST_SKIP() << "Chromium could not run here (exit status " << status
                     << "): the status page is not tested";
    }

    const std::filesystem::path artifacts = MAILROOM_ARTIFACT_DIR;
    std::filesystem::create_directories(artifacts);
    const auto shot = artifacts / "status_page.png";
    std::filesystem::remove(shot);
    run("timeout 90 " + chromium + flags + "--window-size=1280,1100 --screenshot=" +
        shot.string() + " " + url + " >/dev/null 2>&1");
    done = true;
    caller.join();

    // The cluster as this server sees it: both servers by id.
    EXPECT_NE(dom.find(R"(data-server="game-1")"), std::string::npos) << dom;
    EXPECT_NE(dom.find(R"(data-server="connector-1")"), std::string::npos);
    // Its own remotes by name, with a non-zero rate.
    const std::regex add_row(R"re(data-method="game\.gameRemote\.add"><td class="method">game\.gameRemote\.add</td><td class="n rate" data-rate="([0-9.]+)")re");
    std::smatch m;
    ASSERT_TRUE(std::regex_search(dom, m, add_row)) << dom;
    EXPECT_GT(std::stod(m[1]), 0.0);
    // The recent errors, with their code.
    EXPECT_NE(dom.find(R"(<td class="err code">remote_error</td>)"), std::string::npos);
    EXPECT_NE(dom.find("<h1 id=\"server\">game-1</h1>"), std::string::npos);
    // The slow call, with its trace id.
    EXPECT_NE(dom.find("<td class=\"trace\">" + root.trace_id_hex() + "</td>"), std::string::npos)
        << dom;

    ASSERT_TRUE(std::filesystem::exists(shot)) << "no screenshot at " << shot;
    EXPECT_GT(std::filesystem::file_size(shot), 10'000u);
    std::cout << "screenshot: " << shot << "\n";
}

} // namespace
