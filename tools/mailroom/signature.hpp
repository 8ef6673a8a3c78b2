// The declared signature of a remote method, as `sys.introspect.methods` lists it
// ("channel_state(std::string uid, std::string channel)"), read back into types the command
// line can check JSON arguments against.

#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailroom::cli {

/// One C++ type of a declaration, as far as the command line understands it.
struct type_desc {
    enum class kind : std::uint8_t {
        integer,  ///< a built-in or <cstdint> integer; `min`/`max` give its range
        floating, ///< float, double, long double
        boolean,
        string,   ///< std::string, std::string_view
        sequence, ///< vector, list, deque, set, unordered_set, array (`size` > 0)
        map,      ///< map, unordered_map, multimap: `args[0]` key, `args[1]` value
        optional, ///< std::optional<args[0]>
        pair,     ///< std::pair, std::tuple: `args` in order
        nothing,  ///< void, mailroom::no_reply (results only)
        other,    ///< anything else (a user struct, an enum): its JSON is passed as is
    };
    kind k = kind::other;
    /// The spelling, without cv-qualifiers and references ("std::vector<int>").
    std::string spelling;
    /// integer: its range (a signed minimum as a negative number).
    std::int64_t min = 0;
    std::uint64_t max = 0;
    bool is_signed = false;
    /// std::array: its element count; 0 for other sequences.
    std::size_t size = 0;
    /// The template arguments that matter (element, key and value, alternatives).
    std::vector<type_desc> args;
    /// A float (not double): checked against float's range.
    bool single = false;
};

/// One parameter: its type and its declared name (may be empty).
struct param_desc {
    type_desc type;
    std::string name;
};

/// A parsed declaration.
struct signature {
    type_desc result;
    std::vector<param_desc> params;
    /// `mailroom::no_reply`: the method is a notify (no response).
    bool notify = false;
};

/** Parses a declared signature ("int(int a, int b)"). Nothing if the text is not a function
    type (empty, or unbalanced brackets); types it does not know are `kind::other`.
*/
std::optional<signature> parse_signature(std::string_view text);

/// Parses one type ("std::map<std::string, int>").
type_desc parse_type(std::string_view text);

} // namespace mailroom::cli
