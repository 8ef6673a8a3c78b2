#include "signature.hpp"

#include <array>
#include <cctype>
#include <cstdint>
#include <limits>

namespace mailroom::cli {
namespace {

std::string_view trim(std::string_view s)
{
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
        s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
        s.remove_suffix(1);
    return s;
}

/// Splits at top-level commas (outside <>, (), [], {}).
std::vector<std::string_view> split_top(std::string_view s)
{
    std::vector<std::string_view> out;
    int depth = 0;
    std::size_t start = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '<' || c == '(' || c == '[' || c == '{')
            ++depth;
        else if (c == '>' || c == ')' || c == ']' || c == '}')
            --depth;
        else if (c == ',' && depth == 0) {
            out.push_back(trim(s.substr(start, i - start)));
            start = i + 1;
        }
    }
    if (!trim(s.substr(start)).empty() || !out.empty())
        out.push_back(trim(s.substr(start)));
    return out;
}

/// Top-level words: whitespace, `&` and `*` separate them; a template argument list stays
/// with its name.
std::vector<std::string> words_of(std::string_view s)
{
    std::vector<std::string> out;
    std::string cur;
    int depth = 0;
    for (char c : s) {
        if (c == '<')
            ++depth;
        else if (c == '>')
            --depth;
        if (depth == 0 && (std::isspace(static_cast<unsigned char>(c)) || c == '&' || c == '*')) {
            if (!cur.empty())
                out.push_back(std::move(cur));
            cur.clear();
            continue;
        }
        cur += c;
    }
    if (!cur.empty())
        out.push_back(std::move(cur));
    return out;
}

bool is_builtin_word(std::string_view w)
{
    constexpr std::array words{"int",    "long",  "short", "char",     "double", "float",
                               "signed", "unsigned", "bool", "const", "volatile", "void"};
    for (const char* x : words)
        if (w == x)
            return true;
    return false;
}

bool is_identifier(std::string_view w)
{
    if (w.empty() || std::isdigit(static_cast<unsigned char>(w.front())))
        return false;
    for (char c : w)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_')
            return false;
    return true;
}

template <class T>
type_desc integer(std::string spelling)
{
    type_desc t;
    t.k = type_desc::kind::integer;
    t.spelling = std::move(spelling);
    t.is_signed = std::numeric_limits<T>::is_signed;
    t.min = static_cast<std::int64_t>(std::numeric_limits<T>::min());
    t.max = static_cast<std::uint64_t>(std::numeric_limits<T>::max());
    return t;
}

std::optional<type_desc> builtin(const std::string& name)
{
    using k = type_desc::kind;
    auto plain = [&](k kind) {
        type_desc t;
        t.k = kind;
        t.spelling = name;
        return std::optional<type_desc>(t);
    };
    if (name == "bool")
        return plain(k::boolean);
    if (name == "float") {
        auto t = plain(k::floating);
        t->single = true;
        return t;
    }
    if (name == "double" || name == "long double")
        return plain(k::floating);
    if (name == "string" || name == "string_view")
        return plain(k::string);
    if (name == "void" || name == "no_reply" || name == "mailroom::no_reply")
        return plain(k::nothing);
    if (name == "char" || name == "signed char" || name == "int8_t")
        return integer<std::int8_t>(name);
    if (name == "unsigned char" || name == "uint8_t")
        return integer<std::uint8_t>(name);
    if (name == "short" || name == "short int" || name == "signed short" || name == "int16_t")
        return integer<std::int16_t>(name);
    if (name == "unsigned short" || name == "unsigned short int" || name == "uint16_t")
        return integer<std::uint16_t>(name);
    if (name == "int" || name == "signed" || name == "signed int" || name == "int32_t")
        return integer<std::int32_t>(name);
    if (name == "unsigned" || name == "unsigned int" || name == "uint32_t")
        return integer<std::uint32_t>(name);
    if (name == "long" || name == "long int" || name == "signed long" || name == "long long" ||
        name == "long long int" || name == "signed long long" || name == "int64_t" ||
        name == "ptrdiff_t" || name == "ssize_t" || name == "intmax_t")
        return integer<long long>(name);
    if (name == "unsigned long" || name == "unsigned long int" || name == "unsigned long long" ||
        name == "unsigned long long int" || name == "uint64_t" || name == "size_t" ||
        name == "uintmax_t")
        return integer<unsigned long long>(name);
    return std::nullopt;
}

} // namespace

type_desc parse_type(std::string_view text)
{
    using k = type_desc::kind;
    // Drop cv-qualifiers, references and elaborated-type keywords.
    std::string spelling;
    for (const auto& w : words_of(trim(text))) {
        if (w == "const" || w == "volatile" || w == "typename" || w == "struct" || w == "class")
            continue;
        if (!spelling.empty())
            spelling += ' ';
        spelling += w;
    }
    type_desc t;
    t.spelling = spelling;
    const auto lt = spelling.find('<');
    std::string base = spelling.substr(0, lt);
    while (!base.empty() && base.back() == ' ')
        base.pop_back();
    if (base.starts_with("::"))
        base.erase(0, 2);
    if (base.starts_with("std::"))
        base.erase(0, 5);
    if (lt == std::string::npos || spelling.back() != '>') {
        if (auto b = builtin(base)) {
            b->spelling = spelling;
            return *b;
        }
        return t; // other
    }
    const auto inner = std::string_view(spelling).substr(lt + 1, spelling.size() - lt - 2);
    const auto parts = split_top(inner);
    std::vector<type_desc> args;
    for (auto p : parts)
        args.push_back(parse_type(p));
    auto with = [&](k kind, std::size_t n) {
        if (args.size() < n)
            return t;
        t.k = kind;
        t.args.assign(args.begin(), args.begin() + static_cast<std::ptrdiff_t>(n));
        return t;
    };
    if (base == "vector" || base == "list" || base == "deque" || base == "set" ||
        base == "unordered_set" || base == "multiset")
        return with(k::sequence, 1);
    if (base == "array") {
        if (parts.size() != 2)
            return t;
        std::size_t n = 0;
        for (char c : parts[1]) {
            if (!std::isdigit(static_cast<unsigned char>(c)))
                return t; // a size we cannot read: pass the JSON as is
            n = n * 10 + static_cast<std::size_t>(c - '0');
        }
        t = with(k::sequence, 1);
        t.size = n;
        return t;
    }
    if (base == "map" || base == "unordered_map" || base == "multimap")
        return with(k::map, 2);
    if (base == "optional")
        return with(k::optional, 1);
    if (base == "pair")
        return with(k::pair, 2);
    if (base == "tuple")
        return with(k::pair, args.size());
    return t;
}

std::optional<signature> parse_signature(std::string_view text)
{
    text = trim(text);
    // The parameter list is the last top-level parenthesis group; the result type is before it.
    if (text.empty() || text.back() != ')')
        return std::nullopt;
    int depth = 0;
    std::size_t open = std::string_view::npos;
    for (std::size_t i = text.size(); i-- > 0;) {
        const char c = text[i];
        if (c == ')' || c == '>')
            ++depth;
        else if (c == '(' || c == '<')
            --depth;
        if (depth == 0 && c == '(') {
            open = i;
            break;
        }
    }
    if (open == std::string_view::npos || open == 0)
        return std::nullopt;
    signature s;
    s.result = parse_type(text.substr(0, open));
    s.notify = s.result.spelling == "mailroom::no_reply" || s.result.spelling == "no_reply" ||
               s.result.spelling == "::mailroom::no_reply";
    const auto list = trim(text.substr(open + 1, text.size() - open - 2));
    if (list.empty() || list == "void")
        return s;
    for (auto p : split_top(list)) {
        if (p.empty())
            return std::nullopt;
        auto words = words_of(p);
        std::string name;
        if (words.size() >= 2 && is_identifier(words.back()) && !is_builtin_word(words.back())) {
            name = words.back();
            // The type is the text before the name.
            p = trim(p.substr(0, p.rfind(name)));
        }
        s.params.push_back({parse_type(p), std::move(name)});
    }
    return s;
}

} // namespace mailroom::cli
