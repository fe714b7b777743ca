// What every catalog reader shares: the one way to report a malformed
// catalog and the one way to parse a number.
#pragma once

#include <fast_float/fast_float.h>

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

namespace lcstore::catalog::detail {

// "file:line", the subject of an error about one line of a text catalog.
std::string at_line(std::string_view file, size_t line);

// Throws Error(kBadInput, subject, reason), the reason prefixed with
// "column NAME: " when `column` is not empty, so every message reads
// "file:57: column MAG_AUTO: 'abc' is not a number".
[[noreturn]] void fail(std::string subject, std::string_view column, std::string_view reason);

// `text` with every byte that is not printable ASCII written as \xNN, so a
// message about a broken (binary) file stays one line of readable text.
std::string printable(std::string_view text);

// printable(`cell`) in quotes for a message, long cells shortened.
std::string quote_cell(std::string_view cell);

// Parses the number at the start of [first, last): returns where it ends,
// or nullptr if there is none. SExtractor writes declinations with a leading
// '+', which from_chars rejects, so one is skipped here. "nan" and "inf" are
// numbers (astropy writes them). Integers must fit in int64.
inline const char* parse_number(const char* first, const char* last, double& value) {
  if (first != last && *first == '+' && ++first != last && *first == '-') return nullptr;
  auto result = fast_float::from_chars(first, last, value);
  return result.ec == std::errc() ? result.ptr : nullptr;
}

inline const char* parse_number(const char* first, const char* last, int64_t& value) {
  if (first != last && *first == '+' && ++first != last && *first == '-') return nullptr;
  auto result = std::from_chars(first, last, value);
  return result.ec == std::errc() ? result.ptr : nullptr;
}

// True if all of [first, last) is one number.
template <typename Number>
bool parse_whole_number(const char* first, const char* last, Number& value) {
  return first != last && parse_number(first, last, value) == last;
}

}  // namespace lcstore::catalog::detail
