#include "command_line.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace mailroom::cli {

command_line parse_command_line(const std::vector<std::string>& args,
                                const std::set<std::string, std::less<>>& valued,
                                const std::set<std::string, std::less<>>& flags)
{
    command_line out;
    bool options_done = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string_view a = args[i];
        if (options_done || !a.starts_with("--")) {
            out.positional.emplace_back(a);
            continue;
        }
        if (a == "--") {
            options_done = true;
            continue;
        }
        a.remove_prefix(2);
        std::string name(a.substr(0, a.find('=')));
        if (flags.count(name)) {
            if (a.find('=') != std::string_view::npos)
                throw usage_error("--" + name + " takes no value");
            out.flags.insert(name);
            continue;
        }
        if (!valued.count(name))
            throw usage_error("unknown option --" + name);
        if (auto eq = a.find('='); eq != std::string_view::npos) {
            out.options[name] = std::string(a.substr(eq + 1));
        } else {
            if (i + 1 >= args.size())
                throw usage_error("--" + name + " needs a value");
            out.options[name] = args[++i];
        }
    }
    return out;
}

std::chrono::milliseconds parse_duration(std::string_view option, std::string_view text)
{
    double unit_ms = 1000;
    std::string_view number = text;
    if (text.ends_with("ms")) {
        unit_ms = 1;
        number.remove_suffix(2);
    } else if (text.ends_with("s")) {
        number.remove_suffix(1);
    } else if (text.ends_with("m")) {
        unit_ms = 60'000;
        number.remove_suffix(1);
    }
    double v = 0;
    auto r = std::from_chars(number.data(), number.data() + number.size(), v);
    if (number.empty() || r.ec != std::errc{} || r.ptr != number.data() + number.size() ||
        !std::isfinite(v) || v <= 0 || v * unit_ms > 24.0 * 3600 * 1000)
        throw usage_error("--" + std::string(option) +
                          ": expected a duration such as 2s, 500ms or 1.5s, got \"" +
                          std::string(text) + "\"");
    return std::chrono::milliseconds(std::max<long long>(1, std::llround(v * unit_ms)));
}

unsigned long parse_count(std::string_view option, std::string_view text, unsigned long max)
{
    unsigned long v = 0;
    auto r = std::from_chars(text.data(), text.data() + text.size(), v);
    if (r.ec != std::errc{} || r.ptr != text.data() + text.size() || v == 0 || v > max)
        throw usage_error("--" + std::string(option) + ": expected a number from 1 to " +
                          std::to_string(max) + ", got \"" + std::string(text) + "\"");
    return v;
}

} // namespace mailroom::cli
