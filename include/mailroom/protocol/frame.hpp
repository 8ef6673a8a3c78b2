#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace mailroom {

/** One encoded outgoing message, with room for its length prefix.

    The body (what the codec writes) starts after @ref header_size reserved bytes, so a
    stream transport sends @ref wire() — the big-endian 32-bit body length followed by the
    body — without copying, and a message transport (WebSocket, a queue) sends @ref body().
    It models the buffer concept of `msgpack::packer` (`write(const char*, size_t)`).

    @par Thread safety
    Distinct objects: safe. Shared objects: unsafe.

    @par Example
    @code
    mailroom::frame f;
    mailroom::protocol::encode_ping(f, 7);
    socket.send(asio::buffer(f.wire().data(), f.wire().size()));
    @endcode
*/
class frame {
public:
    /// Bytes reserved in front of the body for a stream transport's length prefix.
    static constexpr std::size_t header_size = 4;

    frame() : data_(header_size) {}

    /// Appends raw bytes to the body (the msgpack packer interface).
    void write(const char* p, std::size_t n) { data_.insert(data_.end(), p, p + n); }

    /// The encoded message, without the length prefix.
    std::span<const char> body() const noexcept
    {
        return {data_.data() + header_size, data_.size() - header_size};
    }

    /// The body, writable (to patch fields in place).
    std::span<char> mutable_body() noexcept
    {
        return {data_.data() + header_size, data_.size() - header_size};
    }

    /// Size of the body in bytes.
    std::size_t body_size() const noexcept { return data_.size() - header_size; }

    /// The length prefix followed by the body, ready for a byte stream.
    std::span<const char> wire() noexcept
    {
        auto n = static_cast<std::uint32_t>(body_size());
        data_[0] = static_cast<char>(n >> 24);
        data_[1] = static_cast<char>(n >> 16);
        data_[2] = static_cast<char>(n >> 8);
        data_[3] = static_cast<char>(n);
        return {data_.data(), data_.size()};
    }

    /// Empties the body and keeps the capacity, so one frame can be reused.
    void clear() noexcept { data_.resize(header_size); }

    /// Reserves capacity for a body of `n` bytes.
    void reserve(std::size_t n) { data_.reserve(header_size + n); }

private:
    std::vector<char> data_;
};

} // namespace mailroom
