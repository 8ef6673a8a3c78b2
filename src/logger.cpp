#include <mailroom/logger.hpp>

#include <cstdio>

namespace mailroom {

void logger::write(log_level lvl, std::string_view line) const
{
    if (sink) {
        sink(lvl, line);
        return;
    }
    static constexpr const char* names[] = {"trace", "debug", "info", "warning", "error", "off"};
    std::fprintf(stderr, "mailroom %s: %.*s\n", names[static_cast<int>(lvl)],
                 static_cast<int>(line.size()), line.data());
}

} // namespace mailroom
