#pragma once

#include <fmt/format.h>

#include <functional>
#include <string_view>
#include <utility>

namespace mailroom {

/** A logger is a value: a level and a sink, handed to each component that logs.

    There is no global logger. The default writes warnings and errors to stderr; set `sink`
    to route lines into your own logging, or `min_level = level::off` to silence it.

    @par Thread safety
    `log` may be called concurrently if the sink may.

    @par Example
    @code
    mailroom::logger log{.min_level = mailroom::log_level::debug,
                         .sink = [](auto lvl, std::string_view line) { my_log(lvl, line); }};
    @endcode
*/
enum class log_level { trace, debug, info, warning, error, off };

struct logger {
    /// Lines below this level are not formatted at all. Default: warning.
    log_level min_level = log_level::warning;
    /// Receives each formatted line. Default (empty): stderr.
    std::function<void(log_level, std::string_view)> sink{};

    bool enabled(log_level lvl) const noexcept { return lvl >= min_level && lvl != log_level::off; }

    template <class... Args>
    void log(log_level lvl, fmt::format_string<Args...> fmt, Args&&... args) const
    {
        if (!enabled(lvl))
            return;
        write(lvl, fmt::format(fmt, std::forward<Args>(args)...));
    }

private:
    void write(log_level lvl, std::string_view line) const;
};

} // namespace mailroom
