// The query parameters of one API request, checked: every failure is an
// Error(kInvalidArgument) whose subject is the parameter's name, which the
// server answers with 400.
#pragma once

#include <httplib.h>

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lcstore/error.h"

namespace lcstore::server {

class Query {
 public:
  // Throws for a parameter not in `allowed` or given more than once.
  Query(const httplib::Request& request, std::initializer_list<std::string_view> allowed);

  bool has(const std::string& name) const { return values_.contains(name); }
  std::optional<std::string> text(const std::string& name) const;
  std::string required_text(const std::string& name) const;
  // A finite number within [min, max].
  std::optional<double> number(const std::string& name, double min, double max) const;
  double required_number(const std::string& name, double min, double max) const;
  // A whole number within [min, max].
  std::optional<uint64_t> count(const std::string& name, uint64_t min, uint64_t max) const;
  // A comma-separated list of at most `max_items` non-empty items.
  std::vector<std::string> list(const std::string& name, uint64_t max_items) const;
  // One of `choices`' names.
  template <typename T>
  std::optional<T> choice(const std::string& name, const std::map<std::string, T>& choices) const {
    std::optional<std::string> value = text(name);
    if (!value) return std::nullopt;
    auto found = choices.find(*value);
    if (found == choices.end()) throw Error(ErrorKind::kInvalidArgument, name, "must be one of " + names(choices));
    return found->second;
  }

 private:
  template <typename T>
  static std::string names(const std::map<std::string, T>& choices) {
    std::string joined;
    for (const auto& [choice_name, value] : choices) joined += (joined.empty() ? "" : ", ") + choice_name;
    return joined;
  }

  std::map<std::string, std::string> values_;
};

}  // namespace lcstore::server
