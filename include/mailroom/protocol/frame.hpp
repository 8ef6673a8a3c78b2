#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <utility>

namespace mailroom {

/** One encoded outgoing message, with room for its length prefix.

    The body (what the codec writes) starts after @ref header_size reserved bytes, so a
    stream transport sends @ref wire() — the big-endian 32-bit body length followed by the
    body — without copying, and a message transport (WebSocket, a queue) sends @ref body().
    It models the buffer concept of `msgpack::packer` (`write(const char*, size_t)`).

    A frame of up to @ref inline_capacity bytes (prefix included) lives inside the object:
    encoding a usual call or response allocates nothing. A larger one moves to the heap once,
    with room to spare for what usually follows (the request metadata after the arguments),
    and grows geometrically from there. Moving a small frame copies its bytes; moving a large
    one moves a pointer.

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
    /// Bytes (prefix included) held without allocating.
    static constexpr std::size_t inline_capacity = 232;

    frame() noexcept = default;

    frame(const frame& other) { assign(other.data_, other.size_); }

    frame(frame&& other) noexcept { steal(other); }

    frame& operator=(const frame& other)
    {
        if (this != &other) {
            size_ = header_size;
            assign(other.data_, other.size_);
        }
        return *this;
    }

    frame& operator=(frame&& other) noexcept
    {
        if (this != &other) {
            release();
            steal(other);
        }
        return *this;
    }

    ~frame() { release(); }

    /// Appends raw bytes to the body (the msgpack packer interface).
    [[gnu::always_inline]] void write(const char* p, std::size_t n)
    {
        // Inlined into the packer: its headers are 1 to 9 bytes of known size.
        if (n > capacity_ - size_) [[unlikely]]
            grow(size_ + n);
        char* d = data_ + size_;
#if defined(__OPTIMIZE__)
        // msgpack headers are 1, 2, 3, 5 or 9 bytes: copies of a known size compile to a few
        // moves, where a call to memcpy would cost more than the copy.
        switch (n) {
        case 1: *d = *p; break;
        case 2: std::memcpy(d, p, 2); break;
        case 3: std::memcpy(d, p, 3); break;
        case 5: std::memcpy(d, p, 5); break;
        case 9: std::memcpy(d, p, 9); break;
        case 0: break; // an empty string may come with a null pointer
        default: std::memcpy(d, p, n); break;
        }
#else
        // Unoptimised, g++ keeps the cases a caller cannot reach and warns that the 9-byte
        // copy overreads a 7-byte header (-Wstringop-overread in users' Debug builds).
        if (n != 0) // an empty string may come with a null pointer
            std::memcpy(d, p, n);
#endif
        size_ += n;
    }

    /// The encoded message, without the length prefix.
    std::span<const char> body() const noexcept
    {
        return {data_ + header_size, size_ - header_size};
    }

    /// The body, writable (to patch fields in place).
    std::span<char> mutable_body() noexcept { return {data_ + header_size, size_ - header_size}; }

    /// Size of the body in bytes.
    std::size_t body_size() const noexcept { return size_ - header_size; }

    /// The length prefix followed by the body, ready for a byte stream.
    std::span<const char> wire() noexcept
    {
        auto n = static_cast<std::uint32_t>(body_size());
        data_[0] = static_cast<char>(n >> 24);
        data_[1] = static_cast<char>(n >> 16);
        data_[2] = static_cast<char>(n >> 8);
        data_[3] = static_cast<char>(n);
        return {data_, size_};
    }

    /// Empties the body and keeps the capacity, so one frame can be reused.
    void clear() noexcept { size_ = header_size; }

    /// Reserves capacity for a body of `n` bytes.
    void reserve(std::size_t n)
    {
        if (header_size + n > capacity_)
            reallocate(header_size + n);
    }

    /// Bytes the frame can hold (prefix included) before it allocates again.
    std::size_t capacity() const noexcept { return capacity_; }

private:
    bool is_inline() const noexcept { return data_ == inline_; }

    [[gnu::noinline]] void grow(std::size_t need)
    {
        // The first move to the heap leaves room for a small tail (request metadata); after
        // that, doubling keeps appends amortised O(1).
        reallocate(is_inline() ? need + 256 : std::max(need, capacity_ * 2));
    }

    void reallocate(std::size_t cap)
    {
        char* p = new char[cap];
        std::memcpy(p, data_, size_);
        release();
        data_ = p;
        capacity_ = cap;
    }

    void assign(const char* p, std::size_t n)
    {
        reserve(n - header_size);
        std::memcpy(data_, p, n);
        size_ = n;
    }

    void release() noexcept
    {
        if (!is_inline())
            delete[] data_;
        data_ = inline_;
        capacity_ = inline_capacity;
    }

    void steal(frame& other) noexcept
    {
        if (other.is_inline()) {
            std::memcpy(inline_, other.inline_, other.size_);
        } else {
            data_ = std::exchange(other.data_, other.inline_);
            capacity_ = std::exchange(other.capacity_, inline_capacity);
        }
        size_ = std::exchange(other.size_, header_size);
    }

    char* data_ = inline_;
    std::size_t size_ = header_size;
    std::size_t capacity_ = inline_capacity;
    char inline_[inline_capacity];
};

} // namespace mailroom
