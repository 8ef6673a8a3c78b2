// Crawlab mode, client half: one endpoint per Redis, shared by a factory's mail boxes.
#include "crawlab_endpoint.hpp"

#include <map>
#include <mutex>

namespace mailroom::redis::detail {

class crawlab_hub {
public:
    explicit crawlab_hub(const client_options& o) : options(o) {}
    client_options options;
    std::mutex mu;
    std::map<std::string, std::shared_ptr<crawlab_endpoint>, std::less<>> endpoints;
};

std::shared_ptr<crawlab_hub> make_crawlab_hub(const client_options& o)
{
    return std::make_shared<crawlab_hub>(o);
}

std::shared_ptr<mailbox> make_crawlab_mailbox(const std::shared_ptr<crawlab_hub>& hub,
                                              const mailbox_context& ctx, const url& where,
                                              const std::string& url_text, std::string prefix)
{
    std::shared_ptr<crawlab_endpoint> ep;
    {
        std::lock_guard lock(hub->mu);
        auto& slot = hub->endpoints[url_text];
        if (!slot)
            slot = std::make_shared<crawlab_endpoint>(ctx.executor, where, hub->options);
        ep = slot;
    }
    return std::make_shared<crawlab_mailbox>(ctx, std::move(ep), std::move(prefix),
                                             hub->options.crawlab);
}

} // namespace mailroom::redis::detail
