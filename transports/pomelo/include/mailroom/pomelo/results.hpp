#pragma once

#include <mailroom/protocol/detail/json_check.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

namespace mailroom::pomelo {

/// The key under which a @ref results value's JSON form carries its elements, so that the
/// pomelo protocol spreads them over the callback's arguments.
inline constexpr const char* results_key = "$mailroom.pomelo.results";

/** Several results, as a pomelo remote passes them to its callback: `cb(null, a, b)`.

    Returned by a C++ remote served to pomelo callers, it travels as `resp: [null, a, b]`
    (not `[null, [a, b]]`). Asked for by a caller of a pomelo remote, it receives
    `resp[1..]`. It has a JSON form only: a call with it to a native (msgpack) server fails
    with `error::not_encodable`.

    @par Thread safety
    As `std::tuple`.

    @par Example
    @code
    d.add("roomRemote", "stats", [] { return mailroom::pomelo::results<int, std::string>{3, "open"}; });
    // a Node caller: roomRemote.stats(session, function (err, count, state) { ... })
    @endcode
*/
template <class... T>
struct results : std::tuple<T...> {
    using std::tuple<T...>::tuple;
    results() = default;
    /// The elements, as a tuple.
    std::tuple<T...>& values() noexcept { return *this; }
    const std::tuple<T...>& values() const noexcept { return *this; }
};

/** A struct whose fields are a remote's several results, in order: it declares
    `using pomelo_results = void;` and `tie()` (const and not) returning `std::tie` of its
    fields. It then travels as @ref results does: `cb(null, count, state)` fills
    `{count, state}`, and a C++ remote returning it answers a Node caller with
    `cb(null, count, state)`.

    @par Example
    @code
    struct room_stats {
        int count = 0;
        std::string state;
        using pomelo_results = void;
        auto tie() { return std::tie(count, state); }
        auto tie() const { return std::tie(count, state); }
    };
    @endcode
*/
template <class T>
concept spread_results = requires(T& t, const T& c) {
    typename T::pomelo_results;
    t.tie();
    c.tie();
};

/// JSON form of @ref results: `{results_key: [a, b, ...]}`, spread by the protocol.
template <class... T>
void to_json(nlohmann::json& j, const results<T...>& r)
{
    nlohmann::json a = nlohmann::json::array();
    const bool ok = std::apply(
        [&](const auto&... e) { return (mailroom::detail::write_json(a.emplace_back(), e) && ...); },
        r.values());
    if (!ok)
        throw std::invalid_argument("a result has no JSON form");
    j = nlohmann::json::object();
    j[results_key] = std::move(a);
}

/// Reads @ref results from the array of a response's results (or its own JSON form); a
/// missing trailing element reads as JSON null. Throws if an element does not convert.
template <class... T>
void from_json(const nlohmann::json& j, results<T...>& r)
{
    const nlohmann::json* a = &j;
    if (j.is_object())
        if (auto it = j.find(results_key); it != j.end())
            a = &*it;
    if (!a->is_array()) {
        // One result where several were declared: it is the first.
        nlohmann::json one = nlohmann::json::array({j});
        return from_json(one, r);
    }
    static const nlohmann::json null_value;
    std::size_t i = 0;
    const bool ok = std::apply(
        [&](auto&... e) {
            return ((mailroom::detail::read_json(i < a->size() ? (*a)[i] : null_value, e) &&
                     (++i, true)) &&
                    ...);
        },
        r.values());
    if (!ok)
        throw std::invalid_argument("result " + std::to_string(i + 1) + " does not convert");
}

} // namespace mailroom::pomelo

/// The JSON form of a @ref mailroom::pomelo::spread_results struct: that of the
/// @ref mailroom::pomelo::results of its fields.
template <class T>
    requires mailroom::pomelo::spread_results<T>
struct nlohmann::adl_serializer<T, void> {
    static void to_json(nlohmann::json& j, const T& v)
    {
        const auto fields = v.tie();
        nlohmann::json a = nlohmann::json::array();
        const bool ok = std::apply(
            [&](const auto&... e) {
                return (mailroom::detail::write_json(a.emplace_back(), e) && ...);
            },
            fields);
        if (!ok)
            throw std::invalid_argument("a result has no JSON form");
        j = nlohmann::json::object();
        j[mailroom::pomelo::results_key] = std::move(a);
    }

    static void from_json(const nlohmann::json& j, T& v)
    {
        std::apply(
            [&](auto&... fields) {
                mailroom::pomelo::results<std::remove_reference_t<decltype(fields)>...> r;
                mailroom::pomelo::from_json(j, r);
                std::tie(fields...) = r.values();
            },
            v.tie());
    }
};
