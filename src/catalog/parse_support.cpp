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

std::string quote_cell(std::string_view cell) {
  constexpr size_t kShown = 40;
  std::string text = "'";
  for (char c : cell.substr(0, kShown)) {
    // Bytes of a binary file shown as \xNN, so the message stays one line of text.
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      constexpr char kHex[] = "0123456789abcdef";
      text += "\\x";
      text += kHex[(c >> 4) & 0xf];
      text += kHex[c & 0xf];
    } else {
      text += c;
    }
  }
  if (cell.size() <= kShown) return text + "'";
  return text + "...' (" + std::to_string(cell.size()) + " characters)";
}

}  // namespace lcstore::catalog::detail
