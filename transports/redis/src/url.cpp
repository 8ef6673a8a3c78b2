#include <mailroom/redis/url.hpp>

#include <charconv>

namespace mailroom::redis {

std::optional<url> parse_url(std::string_view text) noexcept
{
    try {
        constexpr std::string_view scheme = "redis://";
        if (text.substr(0, scheme.size()) != scheme)
            return std::nullopt;
        text.remove_prefix(scheme.size());
        url u;
        if (auto at = text.rfind('@'); at != std::string_view::npos) {
            auto cred = text.substr(0, at);
            // redis://:password@host or redis://user:password@host (the user is ignored: AUTH
            // with one argument, as Redis before ACLs).
            auto colon = cred.find(':');
            u.password = std::string(colon == std::string_view::npos ? cred : cred.substr(colon + 1));
            text.remove_prefix(at + 1);
        }
        auto slash = text.find('/');
        auto hostport = text.substr(0, slash);
        if (hostport.empty())
            return std::nullopt;
        if (slash != std::string_view::npos) {
            auto db = text.substr(slash + 1);
            if (!db.empty()) {
                auto [p, ec] = std::from_chars(db.data(), db.data() + db.size(), u.db);
                if (ec != std::errc{} || p != db.data() + db.size() || u.db < 0)
                    return std::nullopt;
            }
        }
        // [v6]:port or host:port
        const auto close = hostport.front() == '[' ? hostport.find(']') : std::string_view::npos;
        auto colon = hostport.rfind(':');
        if (colon != std::string_view::npos && (close == std::string_view::npos || colon > close)) {
            auto port = hostport.substr(colon + 1);
            unsigned v = 0;
            auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
            if (ec != std::errc{} || p != port.data() + port.size() || v == 0 || v > 65535)
                return std::nullopt;
            u.port = static_cast<std::uint16_t>(v);
            hostport = hostport.substr(0, colon);
        }
        if (hostport.size() >= 2 && hostport.front() == '[' && hostport.back() == ']')
            hostport = hostport.substr(1, hostport.size() - 2);
        if (hostport.empty())
            return std::nullopt;
        u.host = std::string(hostport);
        return u;
    } catch (...) {
        return std::nullopt;
    }
}

std::string to_string(const url& u)
{
    return "redis://" + u.host + ":" + std::to_string(u.port) + "/" + std::to_string(u.db);
}

} // namespace mailroom::redis
