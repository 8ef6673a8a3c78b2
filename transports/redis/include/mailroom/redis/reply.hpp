#pragma once

#include <string>
#include <vector>

namespace mailroom::redis {

/** One RESP reply, decoded.

    @par Thread safety
    Distinct objects: safe. Shared objects: unsafe.
*/
struct reply {
    enum class kind { nil, string, status, error, integer, array };
    kind type = kind::nil;
    /// string, status and error replies.
    std::string str{};
    /// integer replies.
    long long integer = 0;
    /// array replies.
    std::vector<reply> elements{};
};

} // namespace mailroom::redis
