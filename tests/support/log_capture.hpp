#pragma once

#include <mailroom/logger.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailroom::test {

/// Collects the lines a logger writes (from any thread), with their levels.
class log_capture {
public:
    /// A logger that writes here every line from `min_level` up.
    mailroom::logger logger(log_level min_level = log_level::warning)
    {
        return {.min_level = min_level, .sink = [this](log_level level, std::string_view line) {
                    {
                        std::lock_guard lock(mu_);
                        lines_.emplace_back(level, line);
                    }
                    cv_.notify_all();
                }};
    }
    /// Whether a line contains `text`.
    bool contains(std::string_view text) const
    {
        std::lock_guard lock(mu_);
        return find(text) != nullptr;
    }

    /** Waits (up to a generous bound, as a safety net) for a line containing `text`; its
        level, or nothing if none came.
    */
    std::optional<log_level> wait_for(std::string_view text,
                                      std::chrono::seconds limit = std::chrono::seconds(60))
    {
        std::unique_lock lock(mu_);
        const std::pair<log_level, std::string>* line = nullptr;
        cv_.wait_for(lock, limit, [&] { return (line = find(text)) != nullptr; });
        if (!line)
            return std::nullopt;
        return line->first;
    }

    /// Every line so far.
    std::vector<std::pair<log_level, std::string>> lines() const
    {
        std::lock_guard lock(mu_);
        return lines_;
    }

private:
    const std::pair<log_level, std::string>* find(std::string_view text) const
    {
        for (const auto& l : lines_)
            if (l.second.find(text) != std::string::npos)
                return &l;
        return nullptr;
    }

    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::vector<std::pair<log_level, std::string>> lines_;
};

} // namespace mailroom::test
