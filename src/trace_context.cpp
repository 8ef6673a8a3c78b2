#include <mailroom/trace_context.hpp>

#include <atomic>
#include <random>

namespace mailroom {
namespace {

// Ids come from splitmix64 over one atomic counter seeded at random once: unique, cheap on the
// hot path (one relaxed fetch_add per 8 bytes), and not guessable from outside the process
// in any way that matters for tracing (they are not secrets).
std::uint64_t seed()
{
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}

std::atomic<std::uint64_t> counter{seed()};

std::uint64_t next_random() noexcept
{
    std::uint64_t z = counter.fetch_add(0x9e3779b97f4a7c15ull, std::memory_order_relaxed);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return z ? z : 1; // an all-zero id means "none"
}

template <std::size_t N>
void fill(std::array<std::uint8_t, N>& out) noexcept
{
    for (std::size_t i = 0; i < N; i += 8) {
        const auto r = next_random();
        for (std::size_t j = 0; j < 8 && i + j < N; ++j)
            out[i + j] = static_cast<std::uint8_t>(r >> (8 * j));
    }
}

template <std::size_t N>
bool any(const std::array<std::uint8_t, N>& a) noexcept
{
    for (auto b : a)
        if (b)
            return true;
    return false;
}

template <std::size_t N>
std::string hex(const std::array<std::uint8_t, N>& a)
{
    static constexpr char digits[] = "0123456789abcdef";
    std::string s(2 * N, '0');
    for (std::size_t i = 0; i < N; ++i) {
        s[2 * i] = digits[a[i] >> 4];
        s[2 * i + 1] = digits[a[i] & 15];
    }
    return s;
}

int nibble(char c) noexcept
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; // W3C: lowercase only
}

template <std::size_t N>
bool unhex(std::string_view s, std::array<std::uint8_t, N>& out) noexcept
{
    if (s.size() != 2 * N)
        return false;
    for (std::size_t i = 0; i < N; ++i) {
        const int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
    return true;
}

// The implicit context of the handler running on this thread. A thread-local, which STYLE.md
// R11 otherwise rules out: it is set only around a handler's synchronous body (trace_scope)
// and is a default for a per-call value that can always be given explicitly.
thread_local trace_context current{};

} // namespace

bool trace_context::valid() const noexcept { return any(trace_id) && any(span_id); }

trace_context trace_context::make_root() noexcept
{
    trace_context t;
    fill(t.trace_id);
    fill(t.span_id);
    t.flags = sampled;
    return t;
}

trace_context trace_context::child() const noexcept
{
    if (!valid())
        return make_root();
    trace_context t = *this;
    fill(t.span_id);
    return t;
}

std::string trace_context::trace_id_hex() const { return hex(trace_id); }
std::string trace_context::span_id_hex() const { return hex(span_id); }

std::string trace_context::traceparent() const
{
    std::array<std::uint8_t, 1> f{flags};
    return "00-" + hex(trace_id) + "-" + hex(span_id) + "-" + hex(f);
}

std::optional<trace_context> trace_context::from_traceparent(std::string_view s) noexcept
{
    // version "-" trace-id "-" parent-id "-" flags; version ff is invalid, and version 00 has
    // nothing after the flags.
    if (s.size() < 55 || s[2] != '-' || s[35] != '-' || s[52] != '-')
        return std::nullopt;
    std::array<std::uint8_t, 1> version{}, flags{};
    trace_context t;
    if (!unhex(s.substr(0, 2), version) || version[0] == 0xff ||
        (version[0] == 0 && s.size() != 55) || (s.size() > 55 && s[55] != '-') ||
        !unhex(s.substr(3, 32), t.trace_id) || !unhex(s.substr(36, 16), t.span_id) ||
        !unhex(s.substr(53, 2), flags) || !t.valid())
        return std::nullopt;
    t.flags = flags[0];
    return t;
}

trace_context current_trace() noexcept { return current; }

trace_scope::trace_scope(const trace_context& t) noexcept : previous_(current) { current = t; }

trace_scope::~trace_scope() { current = previous_; }

} // namespace mailroom
