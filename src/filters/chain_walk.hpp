#pragma once

#include <mailroom/filters/filter.hpp>

#include <chrono>
#include <memory>
#include <system_error>
#include <vector>

namespace mailroom::detail {

/** Walks one call through a filter chain (client or server): each `before` in order, then
    `Derived::passed()`; a rejection calls `Derived::rejected(ec)` instead. `run_after` runs
    the `after` of the filters that let the call through, in reverse order.
*/
template <class Derived, class Filter>
class chain_walk : public std::enable_shared_from_this<Derived> {
protected:
    void step(std::size_t i)
    {
        if (i == filters_->size())
            return static_cast<Derived&>(*this).passed();
        (*filters_)[i]->before(call_, filter_next([self = this->shared_from_this(), i](std::error_code ec) {
            if (ec) {
                self->refused_by_ = i;
                return self->rejected(ec);
            }
            self->passed_ = i + 1;
            self->step(i + 1);
        }));
    }

    void run_after(std::error_code ec) noexcept
    {
        const auto elapsed = std::chrono::steady_clock::now() - call_.start;
        for (std::size_t i = passed_; i-- > 0;) {
            try {
                (*filters_)[i]->after(call_, ec, elapsed);
            } catch (...) {
                // A filter's after must not break the completion path.
            }
        }
    }

    /// The name of the filter whose `before` refused the call; empty if none did.
    std::string_view refusing_filter() const noexcept
    {
        return refused_by_ < filters_->size() ? (*filters_)[refused_by_]->name()
                                              : std::string_view();
    }

    filter_call call_;
    const std::vector<std::shared_ptr<Filter>>* filters_ = nullptr;
    std::size_t passed_ = 0;
    std::size_t refused_by_ = static_cast<std::size_t>(-1);
};

} // namespace mailroom::detail
