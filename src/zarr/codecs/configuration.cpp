#include "zarr/codecs/configuration.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

namespace lcstore::zarr::codecs {

using nlohmann::json;

Configuration::Configuration(const json& configuration, std::string_view codec, const std::string& subject,
                             std::initializer_list<std::string_view> keys)
    : configuration_(configuration), codec_(codec), subject_(subject) {
  if (!configuration_.is_object()) throw error("configuration must be an object, got " + configuration_.dump());
  for (const auto& item : configuration_.items()) {
    if (std::find(keys.begin(), keys.end(), item.key()) == keys.end()) {
      throw error(fmt::format("unknown configuration key \"{}\"", item.key()));
    }
  }
}

bool Configuration::has(std::string_view key) const { return configuration_.contains(key); }

const json& Configuration::required(std::string_view key) const {
  auto it = configuration_.find(key);
  if (it == configuration_.end()) throw error(fmt::format("configuration lacks \"{}\"", key));
  return *it;
}

int64_t Configuration::integer(std::string_view key, int64_t min, int64_t max, std::optional<int64_t> fallback) const {
  if (fallback && !has(key)) return *fallback;
  const json& value = required(key);
  // Reject 5.0 and true as well as "5": zarr-python writes plain integers.
  bool in_range = false;
  int64_t result = 0;
  if (value.is_number_unsigned()) {
    const uint64_t unsigned_value = value.get<uint64_t>();
    in_range = unsigned_value <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    result = static_cast<int64_t>(unsigned_value);
  } else if (value.is_number_integer()) {
    in_range = true;
    result = value.get<int64_t>();
  } else {
    throw error(fmt::format("\"{}\" must be an integer, got {}", key, value.dump()));
  }
  if (!in_range || result < min || result > max) {
    throw error(fmt::format("\"{}\" must be in [{}, {}], got {}", key, min, max, value.dump()));
  }
  return result;
}

bool Configuration::boolean(std::string_view key, std::optional<bool> fallback) const {
  if (fallback && !has(key)) return *fallback;
  const json& value = required(key);
  if (!value.is_boolean()) throw error(fmt::format("\"{}\" must be true or false, got {}", key, value.dump()));
  return value.get<bool>();
}

std::string Configuration::choice(std::string_view key, std::initializer_list<std::string_view> allowed,
                                  std::optional<std::string_view> fallback) const {
  if (fallback && !has(key)) return std::string(*fallback);
  const json& value = required(key);
  if (value.is_string()) {
    const auto& text = value.get_ref<const std::string&>();
    if (std::find(allowed.begin(), allowed.end(), text) != allowed.end()) return text;
  }
  throw error(fmt::format("\"{}\" must be one of \"{}\", got {}", key, fmt::join(allowed, "\", \""), value.dump()));
}

std::optional<uint64_t> non_negative_integer(const json& value) {
  if (value.is_number_unsigned()) return value.get<uint64_t>();
  if (value.is_number_integer() && value.get<int64_t>() >= 0) return static_cast<uint64_t>(value.get<int64_t>());
  return std::nullopt;
}

Error Configuration::error(std::string_view reason, ErrorKind kind) const {
  return Error(kind, subject_, fmt::format("{}: {}", codec_, reason));
}

}  // namespace lcstore::zarr::codecs
