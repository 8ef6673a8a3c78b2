#include <mailroom/redis/error.hpp>
#include <mailroom/redis/reply_reader.hpp>

#include <hiredis/hiredis.h>

#include <new>

namespace mailroom::redis {

namespace {

// hiredis builds a reply through these callbacks: a child lives inside its parent's
// `elements` (sized when the parent was created), so only a root is ever allocated, and
// freeing the root frees the whole tree. Returning null tells hiredis "out of memory": it
// fails the stream.

std::size_t max_elements_of(const redisReadTask* t)
{
    return *static_cast<const std::size_t*>(t->privdata);
}

reply* place(const redisReadTask* t)
{
    if (!t->parent)
        return new (std::nothrow) reply;
    auto* parent = static_cast<reply*>(t->parent->obj);
    if (t->idx < 0 || static_cast<std::size_t>(t->idx) >= parent->elements.size())
        return nullptr;
    return &parent->elements[static_cast<std::size_t>(t->idx)];
}

void* create_string(const redisReadTask* t, char* s, std::size_t n)
{
    reply* r = place(t);
    if (!r)
        return nullptr;
    r->type = t->type == REDIS_REPLY_ERROR    ? reply::kind::error
              : t->type == REDIS_REPLY_STATUS ? reply::kind::status
                                              : reply::kind::string;
    try {
        r->str.assign(s, n);
    } catch (const std::bad_alloc&) {
        if (!t->parent)
            delete r;
        return nullptr;
    }
    return r;
}

void* create_array(const redisReadTask* t, int n)
{
    if (n < 0 || static_cast<std::size_t>(n) > max_elements_of(t))
        return nullptr;
    reply* r = place(t);
    if (!r)
        return nullptr;
    r->type = reply::kind::array;
    try {
        r->elements.resize(static_cast<std::size_t>(n));
    } catch (const std::bad_alloc&) {
        if (!t->parent)
            delete r;
        return nullptr;
    }
    return r;
}

void* create_integer(const redisReadTask* t, long long v)
{
    reply* r = place(t);
    if (r) {
        r->type = reply::kind::integer;
        r->integer = v;
    }
    return r;
}

void* create_nil(const redisReadTask* t)
{
    reply* r = place(t);
    if (r)
        r->type = reply::kind::nil;
    return r;
}

void free_root(void* r) { delete static_cast<reply*>(r); }

redisReplyObjectFunctions functions{create_string, create_array, create_integer, create_nil,
                                    free_root};

} // namespace

struct reply_reader::impl {
    explicit impl(std::size_t m) : max_elements(m), reader(redisReaderCreateWithFunctions(&functions))
    {
        if (!reader)
            throw std::bad_alloc();
        reader->privdata = &max_elements;
    }
    ~impl() { redisReaderFree(reader); }

    std::size_t max_elements;
    redisReader* reader;
};

reply_reader::reply_reader(std::size_t max_elements) : impl_(std::make_unique<impl>(max_elements)) {}

reply_reader::~reply_reader() = default;

std::error_code reply_reader::feed(std::span<const char> bytes)
{
    if (redisReaderFeed(impl_->reader, bytes.data(), bytes.size()) != REDIS_OK)
        return make_error_code(error::protocol_error);
    return {};
}

std::optional<reply> reply_reader::next(std::error_code& ec)
{
    void* r = nullptr;
    if (redisReaderGetReply(impl_->reader, &r) != REDIS_OK) {
        ec = make_error_code(error::protocol_error);
        return std::nullopt;
    }
    if (!r)
        return std::nullopt;
    std::unique_ptr<reply> root(static_cast<reply*>(r));
    return std::move(*root);
}

} // namespace mailroom::redis
