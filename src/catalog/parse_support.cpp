#include "catalog/parse_support.h"

#include "lcstore/error.h"

namespace lcstore::catalog::detail {

std::string at_line(std::string_view file, size_t line) { return std::string(file) + ":" + std::to_string(line); }

void fail(std::string subject, std::string_view column, std::string_view reason) {
  std::string full;
  if (!column.empty()) full.append("column ").append(column).append(": ");
  full.append(reason);
  throw Error(ErrorKind::kBadInput, std::move(subject), std::move(full));
}

std::string printable(std::string_view text) {
  std::string shown;
  shown.reserve(text.size());
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      shown += c;
    } else {
      constexpr char kHex[] = "0123456789abcdef";
      shown += "\\x";
      shown += kHex[byte >> 4];
      shown += kHex[byte & 0xf];
    }
  }
  return shown;
}

std::string quote_cell(std::string_view cell) {
  constexpr size_t kShown = 40;
  if (cell.size() <= kShown) return "'" + printable(cell) + "'";
  return "'" + printable(cell.substr(0, kShown)) + "...' (" + std::to_string(cell.size()) + " characters)";
}

}  // namespace lcstore::catalog::detail
