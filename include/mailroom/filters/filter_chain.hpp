#pragma once

#include <mailroom/detail/string_map.hpp>
#include <mailroom/filters/filter.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace mailroom {

/** An ordered chain of filters: filters for every call first, then those for one server type
    (the callee's type on a client, the server's own on a server), each in the order added.

    Reading is lock-free after a copy of a shared pointer: changes build a new table, so a
    call in progress keeps the chain it started with.

    @par Thread safety
    All member functions may be called concurrently.

    @par Example
    @code
    app.client_filters().add(std::make_shared<mailroom::filters::rpc_log>(log));
    app.client_filters().add("chat", std::make_shared<my_filter>());
    @endcode
*/
template <class Filter>
class filter_chain {
public:
    using list = std::vector<std::shared_ptr<Filter>>;

    /// An immutable view of the chain.
    class table {
    public:
        /// The filters for calls of `server_type`, in order.
        const list& for_type(std::string_view server_type) const
        {
            if (typed_.empty())
                return all_;
            auto it = typed_.find(server_type);
            return it == typed_.end() ? all_ : it->second;
        }
        bool empty() const noexcept { return all_.empty() && typed_.empty(); }

    private:
        friend class filter_chain;
        list all_;                          // filters for every call
        detail::string_map<list> typed_;    // all_ + the type's own, in that order
    };

    filter_chain() : table_(std::make_shared<const table>()) {}

    /// Adds a filter for every call.
    void add(std::shared_ptr<Filter> f)
    {
        change([&](table& t) {
            t.all_.push_back(f);
            for (auto& [type, l] : t.typed_)
                l.insert(l.begin() + static_cast<std::ptrdiff_t>(t.all_.size() - 1), f);
        });
    }

    /// Adds a filter for calls of one server type.
    void add(std::string server_type, std::shared_ptr<Filter> f)
    {
        change([&](table& t) {
            auto it = t.typed_.find(server_type);
            if (it == t.typed_.end())
                it = t.typed_.emplace(std::move(server_type), t.all_).first;
            it->second.push_back(std::move(f));
        });
    }

    /// Closes every filter of the chain (see `close` of the filter classes).
    void close()
    {
        auto t = snapshot();
        for (const auto& f : t->all_)
            f->close();
        for (const auto& [type, l] : t->typed_)
            for (const auto& f : l)
                f->close();
    }

    /// True while no filter was ever added: callers skip the chain without taking a snapshot.
    bool empty() const noexcept { return !any_.load(std::memory_order_acquire); }

    /// The current chain (never null).
    std::shared_ptr<const table> snapshot() const
    {
        std::lock_guard lock(mu_);
        return table_;
    }

private:
    template <class F>
    void change(F f)
    {
        std::lock_guard lock(mu_);
        auto next = std::make_shared<table>(*table_);
        f(*next);
        table_ = std::move(next);
        any_.store(!table_->empty(), std::memory_order_release);
    }

    mutable std::mutex mu_;
    std::shared_ptr<const table> table_;
    std::atomic<bool> any_{false};
};

using client_filters = filter_chain<client_filter>;
using server_filters = filter_chain<server_filter>;

} // namespace mailroom
