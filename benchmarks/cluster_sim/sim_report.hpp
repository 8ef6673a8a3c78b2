#pragma once

// The figures of one mailroom-cluster-sim run, printed as aligned text or as one JSON object.

#include <fmt/format.h>

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace mailroom::cluster_sim {

class sim_report {
public:
    explicit sim_report(std::string title) : title_(std::move(title)) {}

    void add(std::string key, double v, int decimals = 0)
    {
        fields_.emplace_back(std::move(key), fmt::format("{:.{}f}", v, decimals));
    }
    void add_text(std::string key, const std::string& v)
    {
        fields_.emplace_back(std::move(key), fmt::format("\"{}\"", v));
    }
    void add_bool(std::string key, bool v) { fields_.emplace_back(std::move(key), v ? "true" : "false"); }

    void print(bool json) const
    {
        if (json) {
            std::string out = "{";
            for (std::size_t i = 0; i < fields_.size(); ++i)
                out += fmt::format("{}\"{}\":{}", i ? "," : "", fields_[i].first, fields_[i].second);
            fmt::print("{}}}\n", out);
        } else {
            fmt::print("{}\n", title_);
            for (const auto& [k, v] : fields_)
                fmt::print("  {:<40} {}\n", k, v);
        }
        std::fflush(stdout);
    }

private:
    std::string title_;
    std::vector<std::pair<std::string, std::string>> fields_;
};

} // namespace mailroom::cluster_sim
