// Zarr v3 data types and fill values.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
// Fill values are read from and written to zarr.json, whose values are JSON.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <type_traits>

namespace lcstore::zarr {

enum class DataType {
  kBool,
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kUint8,
  kUint16,
  kUint32,
  kUint64,
  kFloat32,
  kFloat64,
  kString,  // variable-length UTF-8 ("string" in zarr-python 3)
};

// The Zarr v3 name, e.g. "float32".
std::string_view name_of(DataType type);
// Inverse of name_of; throws Error(kUnsupported) naming `subject` otherwise.
DataType parse_data_type(std::string_view name, const std::string& subject);
// Bytes per element in memory; 0 for kString.
size_t item_size(DataType type);

// The value of cells that were never written. For fixed-size types it holds
// the element's bytes in native (little-endian) order; for strings the text.
class FillValue {
 public:
  FillValue() = default;
  static FillValue from_json(const nlohmann::json& value, DataType type, const std::string& subject);
  template <typename T>
  static FillValue of(T value) {
    FillValue fill;
    static_assert(sizeof(T) <= 8);
    std::memcpy(fill.bytes_.data(), &value, sizeof(T));
    fill.size_ = sizeof(T);
    return fill;
  }
  static FillValue of_string(std::string text);
  // The element type's default: 0, false, "" (zarr-python's choice).
  static FillValue zero(DataType type);

  nlohmann::json to_json(DataType type) const;
  const std::byte* bytes() const { return bytes_.data(); }
  const std::string& text() const { return text_; }

  friend bool operator==(const FillValue&, const FillValue&) = default;

 private:
  std::array<std::byte, 8> bytes_{};
  size_t size_ = 0;
  std::string text_;
};

}  // namespace lcstore::zarr

namespace lcstore::zarr {

// The data type whose elements are C++ values of type T.
template <typename T>
constexpr DataType data_type_of() {
  if constexpr (std::is_same_v<T, bool>)
    return DataType::kBool;
  else if constexpr (std::is_same_v<T, int8_t>)
    return DataType::kInt8;
  else if constexpr (std::is_same_v<T, int16_t>)
    return DataType::kInt16;
  else if constexpr (std::is_same_v<T, int32_t>)
    return DataType::kInt32;
  else if constexpr (std::is_same_v<T, int64_t>)
    return DataType::kInt64;
  else if constexpr (std::is_same_v<T, uint8_t>)
    return DataType::kUint8;
  else if constexpr (std::is_same_v<T, uint16_t>)
    return DataType::kUint16;
  else if constexpr (std::is_same_v<T, uint32_t>)
    return DataType::kUint32;
  else if constexpr (std::is_same_v<T, uint64_t>)
    return DataType::kUint64;
  else if constexpr (std::is_same_v<T, float>)
    return DataType::kFloat32;
  else if constexpr (std::is_same_v<T, double>)
    return DataType::kFloat64;
  else
    static_assert(sizeof(T) == 0, "no Zarr data type for this C++ type");
}

}  // namespace lcstore::zarr
