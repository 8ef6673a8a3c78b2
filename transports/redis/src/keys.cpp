#include <mailroom/redis/keys.hpp>

#include <random>

namespace mailroom::redis {

namespace keys {

namespace {
std::string tagged(std::string_view tag, std::string_view suffix)
{
    std::string k;
    k.reserve(12 + tag.size() + suffix.size());
    k.append("mailroom:{").append(tag).append("}:").append(suffix);
    return k;
}
} // namespace

std::string request_list(std::string_view node) { return tagged(node, "q"); }

std::string processing_list(std::string_view node, std::string_view instance)
{
    return processing_prefix(node).append(instance);
}

std::string processing_prefix(std::string_view node) { return tagged(node, "p:"); }

std::string lease(std::string_view node, std::string_view instance)
{
    return tagged(node, "lease:").append(instance);
}

std::string reply_list(std::string_view caller_instance) { return tagged(caller_instance, "r"); }

} // namespace keys

std::string node_of(const server_info& server)
{
    auto it = server.options.find("redis_node");
    return it != server.options.end() ? it->second : server.id;
}

std::string make_instance_id()
{
    std::random_device rd;
    std::uint64_t v = (std::uint64_t{rd()} << 32) ^ rd();
    static constexpr char hex[] = "0123456789abcdef";
    std::string s(16, '0');
    for (int i = 15; i >= 0; --i, v >>= 4)
        s[static_cast<std::size_t>(i)] = hex[v & 15];
    return s;
}

} // namespace mailroom::redis
