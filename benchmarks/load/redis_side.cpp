#include "redis_side.hpp"

#include <mailroom/redis/url.hpp>

#include <hiredis/hiredis.h>

#include <charconv>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string_view>

#include <unistd.h>

#include "redis/redis_server.hpp"

namespace mailroom::load {
namespace {

/// The `process_id` of `INFO server`, or -1.
int pid_from_info(const std::string& text)
{
    auto u = redis::parse_url(text);
    if (!u)
        return -1;
    timeval tv{2, 0};
    redisContext* c = redisConnectWithTimeout(u->host.c_str(), u->port, tv);
    if (!c || c->err) {
        if (c)
            redisFree(c);
        return -1;
    }
    int pid = -1;
    bool ok = true;
    if (!u->password.empty()) {
        auto* r = static_cast<redisReply*>(redisCommand(c, "AUTH %s", u->password.c_str()));
        ok = r && r->type != REDIS_REPLY_ERROR;
        if (r)
            freeReplyObject(r);
    }
    if (ok) {
        if (auto* r = static_cast<redisReply*>(redisCommand(c, "INFO server"))) {
            if (r->type == REDIS_REPLY_STRING) {
                const std::string_view info(r->str, r->len);
                constexpr std::string_view key = "process_id:";
                if (auto at = info.find(key); at != std::string_view::npos) {
                    const char* p = info.data() + at + key.size();
                    std::from_chars(p, info.data() + info.size(), pid);
                }
            }
            freeReplyObject(r);
        }
    }
    redisFree(c);
    return pid;
}

} // namespace

std::optional<double> process_cpu_us(int pid)
{
    if (pid <= 0)
        return std::nullopt;
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    const std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // The command name (field 2) may hold spaces: count fields after its closing ')'.
    const auto close = stat.rfind(')');
    if (close == std::string::npos)
        return std::nullopt;
    std::istringstream fields(stat.substr(close + 2));
    std::string skip;
    for (int field = 3; field < 14; ++field)
        fields >> skip;
    double utime = 0, stime = 0;
    if (!(fields >> utime >> stime))
        return std::nullopt;
    const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
    return (utime + stime) / tick * 1e6;
}

redis_side::redis_side(const load_options& o)
{
    if (o.redis_url.empty()) {
        own_ = std::make_unique<test::redis_server>();
        url_ = own_->url();
        pid_ = own_->pid();
    } else {
        url_ = o.redis_url;
        pid_ = pid_from_info(url_);
    }
}

redis_side::~redis_side() = default;

std::optional<double> redis_side::cpu_us() const { return process_cpu_us(pid_); }

} // namespace mailroom::load
