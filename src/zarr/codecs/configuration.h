// Strict reading of one codec's "configuration" object, shared by the codecs
// so that every one of them rejects bad metadata the same way: an unknown key,
// a value of the wrong JSON type or out of range is Error(kInvalidMetadata)
// naming the array and the codec.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "lcstore/error.h"

namespace lcstore::zarr::codecs {

class Configuration {
 public:
  // Rejects any key of `configuration` not in `keys`.
  Configuration(const nlohmann::json& configuration, std::string_view codec, const std::string& subject,
                std::initializer_list<std::string_view> keys);

  bool has(std::string_view key) const;
  // The value of a key that must be present.
  const nlohmann::json& required(std::string_view key) const;

  // An integer in [min, max]; `fallback` is used when the key is absent, and
  // without one the key is required.
  int64_t integer(std::string_view key, int64_t min, int64_t max, std::optional<int64_t> fallback = std::nullopt) const;
  bool boolean(std::string_view key, std::optional<bool> fallback = std::nullopt) const;
  // A string that must be one of `allowed`.
  std::string choice(std::string_view key, std::initializer_list<std::string_view> allowed,
                     std::optional<std::string_view> fallback = std::nullopt) const;

  // Error(kind, subject, "<codec>: <reason>").
  Error error(std::string_view reason, ErrorKind kind = ErrorKind::kInvalidMetadata) const;

 private:
  const nlohmann::json& configuration_;
  std::string codec_;
  const std::string& subject_;
};

// The value of a JSON integer >= 0 (however nlohmann stores it), else nullopt.
std::optional<uint64_t> non_negative_integer(const nlohmann::json& value);

}  // namespace lcstore::zarr::codecs
