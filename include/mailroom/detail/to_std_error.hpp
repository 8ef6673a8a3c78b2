#pragma once

#include <boost/system/error_code.hpp>

#include <system_error>

namespace mailroom::detail {

/// The one place where Boost.System errors from Asio become `std::error_code`.
inline std::error_code to_std_error(const boost::system::error_code& ec) noexcept
{
    // Boost 1.74 converts through its std interop category, keeping value and message.
    return static_cast<std::error_code>(ec);
}

} // namespace mailroom::detail
