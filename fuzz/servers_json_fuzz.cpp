// servers.json parsing (src/app/config.cpp): byte 0 picks the environment, the rest is the
// file. Invariants: parse_servers throws config_error (and nothing else) or returns servers
// that each have an id (unique), a host, a port in 1..65535, a transport and a weight in
// 0..1000000; written back as a servers.json, they parse to the same list.
#include "fuzz_check.hpp"

#include <mailroom/app/config.hpp>

#include <nlohmann/json.hpp>

#include <set>
#include <string>
#include <vector>

namespace {

nlohmann::json to_document(const std::vector<mailroom::server_info>& servers, const std::string& env)
{
    nlohmann::json types = nlohmann::json::object();
    for (const auto& s : servers) {
        nlohmann::json j = {{"id", s.id}, {"host", s.host}, {"port", s.port},
                            {"transport", s.transport}, {"weight", s.weight}};
        for (const auto& [k, v] : s.options)
            j[k] = v;
        types[s.server_type].push_back(std::move(j));
    }
    return {{env, types}};
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 1)
        return 0;
    static const std::string envs[] = {"development", "production", "", "a"};
    const std::string& env = envs[data[0] % 4];
    const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);

    std::vector<mailroom::server_info> servers;
    try {
        servers = mailroom::parse_servers(text, env, "fuzz.json");
    } catch (const mailroom::config_error& e) {
        MAILROOM_FUZZ_CHECK(std::string_view(e.what()).starts_with("fuzz.json: "));
        return 0;
    }
    std::set<std::string> ids;
    for (const auto& s : servers) {
        MAILROOM_FUZZ_CHECK(!s.id.empty() && !s.host.empty() && !s.transport.empty());
        MAILROOM_FUZZ_CHECK(s.port >= 1);
        MAILROOM_FUZZ_CHECK(s.weight >= 0 && s.weight <= 1'000'000);
        MAILROOM_FUZZ_CHECK(ids.insert(s.id).second);
    }
    // Types come back in the document's order (nlohmann keeps objects sorted by key) and
    // servers of one type in file order: the list is the same, element for element.
    const auto again = mailroom::parse_servers(to_document(servers, env).dump(), env, "again");
    MAILROOM_FUZZ_CHECK(again == servers);
    return 0;
}
