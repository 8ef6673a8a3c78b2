#pragma once

#include <string_view>

namespace mailroom::detail {

/** The admin endpoint's status page: one self-contained HTML document (inline CSS and
    JavaScript, SVG charts; nothing fetched but `/status.json`, once a second).
*/
std::string_view status_page_html() noexcept;

} // namespace mailroom::detail
