#include "server/query.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

namespace lcstore::server {

Query::Query(const httplib::Request& request, std::initializer_list<std::string_view> allowed) {
  for (const auto& [name, value] : request.params) {
    bool known = false;
    for (std::string_view allowed_name : allowed) known = known || allowed_name == name;
    // The name is user input: only a short, printable excerpt goes into the message.
    if (!known) throw Error(ErrorKind::kInvalidArgument, name.substr(0, 64), "is not a parameter of this endpoint");
    if (!values_.emplace(name, value).second) throw Error(ErrorKind::kInvalidArgument, name, "is given more than once");
  }
}

std::optional<std::string> Query::text(const std::string& name) const {
  auto found = values_.find(name);
  if (found == values_.end()) return std::nullopt;
  return found->second;
}

std::string Query::required_text(const std::string& name) const {
  std::optional<std::string> value = text(name);
  if (!value) throw Error(ErrorKind::kInvalidArgument, name, "is required");
  return *value;
}

std::optional<double> Query::number(const std::string& name, double min, double max) const {
  std::optional<std::string> value = text(name);
  if (!value) return std::nullopt;
  double number = 0;
  const auto [end, error] = std::from_chars(value->data(), value->data() + value->size(), number);
  if (value->empty() || error != std::errc() || end != value->data() + value->size() || !std::isfinite(number))
    throw Error(ErrorKind::kInvalidArgument, name, "must be a number");
  if (number < min || number > max)
    throw Error(ErrorKind::kInvalidArgument, name, fmt::format("must be between {} and {}", min, max));
  return number;
}

double Query::required_number(const std::string& name, double min, double max) const {
  if (!has(name)) throw Error(ErrorKind::kInvalidArgument, name, "is required");
  return *number(name, min, max);
}

std::optional<uint64_t> Query::count(const std::string& name, uint64_t min, uint64_t max) const {
  std::optional<std::string> value = text(name);
  if (!value) return std::nullopt;
  uint64_t number = 0;
  const auto [end, error] = std::from_chars(value->data(), value->data() + value->size(), number);
  if (value->empty() || error != std::errc() || end != value->data() + value->size())
    throw Error(ErrorKind::kInvalidArgument, name, "must be a whole number");
  if (number < min || number > max)
    throw Error(ErrorKind::kInvalidArgument, name, fmt::format("must be between {} and {}", min, max));
  return number;
}

std::vector<std::string> Query::list(const std::string& name, uint64_t max_items) const {
  std::vector<std::string> items;
  std::optional<std::string> value = text(name);
  if (!value) return items;
  size_t begin = 0;
  while (true) {
    const size_t comma = value->find(',', begin);
    const size_t end = comma == std::string::npos ? value->size() : comma;
    if (end == begin) throw Error(ErrorKind::kInvalidArgument, name, "has an empty item");
    if (items.size() == max_items)
      throw Error(ErrorKind::kInvalidArgument, name, fmt::format("has more than {} items", max_items));
    items.push_back(value->substr(begin, end - begin));
    if (comma == std::string::npos) return items;
    begin = comma + 1;
  }
}

}  // namespace lcstore::server
