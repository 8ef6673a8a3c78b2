// The command line of one subcommand: positional arguments and `--name value` options.

#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace mailroom::cli {

/// A command line that cannot be used; the message says what is wrong (exit code `usage`).
class usage_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Parsed arguments: positionals in order, options by name (without the dashes).
struct command_line {
    std::vector<std::string> positional;
    std::map<std::string, std::string, std::less<>> options;
    std::set<std::string, std::less<>> flags;

    bool has(std::string_view flag) const { return flags.count(flag) != 0; }
    std::optional<std::string> get(std::string_view name) const
    {
        auto it = options.find(name);
        if (it == options.end())
            return std::nullopt;
        return it->second;
    }
};

/** Parses `args`: `--name value` or `--name=value` for names in `valued`, `--flag` for names
    in `flags`, anything else not starting with `--` is positional (a lone `-` and negative
    numbers too; `--` ends the options). Throws @ref usage_error for an unknown option or a
    missing value.
*/
command_line parse_command_line(const std::vector<std::string>& args,
                                const std::set<std::string, std::less<>>& valued,
                                const std::set<std::string, std::less<>>& flags);

/** A duration: "2s", "500ms", "1.5s", "1m", or a bare number of seconds. Throws
    @ref usage_error naming `option` for anything else, or a negative or zero duration.
*/
std::chrono::milliseconds parse_duration(std::string_view option, std::string_view text);

/// A positive integer up to `max`; throws @ref usage_error naming `option` otherwise.
unsigned long parse_count(std::string_view option, std::string_view text, unsigned long max);

} // namespace mailroom::cli
