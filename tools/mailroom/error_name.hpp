// The names of mailroom's error codes, as the enumerators spell them.

#pragma once

#include <string>
#include <system_error>

namespace mailroom::cli {

/** "timeout", "remote_error", ... for a code of the "mailroom" category; otherwise
    "<category>:<value>" ("mailroom.ws:2", "system:111").
*/
std::string error_name(std::error_code ec);

} // namespace mailroom::cli
