#include "lcstore/zarr/data_type.h"

#include <cmath>
#include <limits>

#include "lcstore/error.h"

namespace lcstore::zarr {

namespace {

struct TypeInfo {
  DataType type;
  std::string_view name;
  size_t size;
};

constexpr TypeInfo kTypes[] = {
    {DataType::kBool, "bool", 1},       {DataType::kInt8, "int8", 1},       {DataType::kInt16, "int16", 2},
    {DataType::kInt32, "int32", 4},     {DataType::kInt64, "int64", 8},     {DataType::kUint8, "uint8", 1},
    {DataType::kUint16, "uint16", 2},   {DataType::kUint32, "uint32", 4},   {DataType::kUint64, "uint64", 8},
    {DataType::kFloat32, "float32", 4}, {DataType::kFloat64, "float64", 8}, {DataType::kString, "string", 0},
};

const TypeInfo& info(DataType type) {
  for (const TypeInfo& candidate : kTypes) {
    if (candidate.type == type) return candidate;
  }
  throw Error(ErrorKind::kUnsupported, "", "unknown data type");
}

Error bad_fill(const std::string& subject, DataType type, const nlohmann::json& value) {
  return Error(ErrorKind::kInvalidMetadata, subject,
               "fill_value " + value.dump() + " is not a valid " + std::string(name_of(type)));
}

// "0x7fc00000": the element's bit pattern, as the spec allows for floats.
template <typename Bits>
bool parse_hex_bits(const std::string& text, Bits& bits) {
  if (text.size() != 2 + 2 * sizeof(Bits) || !text.starts_with("0x")) return false;
  bits = 0;
  for (char c : text.substr(2)) {
    int digit = (c >= '0' && c <= '9')   ? c - '0'
                : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                         : -1;
    if (digit < 0) return false;
    bits = static_cast<Bits>((bits << 4) | static_cast<Bits>(digit));
  }
  return true;
}

template <typename Float, typename Bits>
FillValue float_fill(const nlohmann::json& value, DataType type, const std::string& subject) {
  if (value.is_number()) return FillValue::of(static_cast<Float>(value.get<double>()));
  if (!value.is_string()) throw bad_fill(subject, type, value);
  const std::string text = value.get<std::string>();
  if (text == "NaN") return FillValue::of(std::numeric_limits<Float>::quiet_NaN());
  if (text == "Infinity") return FillValue::of(std::numeric_limits<Float>::infinity());
  if (text == "-Infinity") return FillValue::of(-std::numeric_limits<Float>::infinity());
  Bits bits;
  if (!parse_hex_bits(text, bits)) throw bad_fill(subject, type, value);
  return FillValue::of(bits);
}

template <typename Int>
FillValue integer_fill(const nlohmann::json& value, DataType type, const std::string& subject) {
  if (value.is_number_unsigned()) {
    auto number = value.get<uint64_t>();
    if (number > static_cast<uint64_t>(std::numeric_limits<Int>::max())) throw bad_fill(subject, type, value);
    return FillValue::of(static_cast<Int>(number));
  }
  if (value.is_number_integer()) {
    auto number = value.get<int64_t>();
    if constexpr (std::is_unsigned_v<Int>) {
      // A JSON value built in C++ from a signed integer lands here, not in
      // the unsigned branch above, so the upper bound needs checking too.
      if (number < 0 || static_cast<uint64_t>(number) > std::numeric_limits<Int>::max()) {
        throw bad_fill(subject, type, value);
      }
    } else {
      if (number < std::numeric_limits<Int>::min() || number > std::numeric_limits<Int>::max()) {
        throw bad_fill(subject, type, value);
      }
    }
    return FillValue::of(static_cast<Int>(number));
  }
  throw bad_fill(subject, type, value);
}

template <typename Float, typename Bits>
nlohmann::json float_to_json(const std::byte* bytes) {
  Float number;
  std::memcpy(&number, bytes, sizeof(Float));
  if (std::isnan(number)) {
    Bits bits;
    std::memcpy(&bits, bytes, sizeof(Bits));
    Float canonical = std::numeric_limits<Float>::quiet_NaN();
    Bits canonical_bits;
    std::memcpy(&canonical_bits, &canonical, sizeof(Bits));
    if (bits == canonical_bits) return "NaN";
    char hex[2 + 2 * sizeof(Bits) + 1];
    std::snprintf(hex, sizeof hex, "0x%0*llx", static_cast<int>(2 * sizeof(Bits)),
                  static_cast<unsigned long long>(bits));
    return hex;
  }
  if (std::isinf(number)) return number > 0 ? "Infinity" : "-Infinity";
  return static_cast<double>(number);
}

template <typename Int>
nlohmann::json integer_to_json(const std::byte* bytes) {
  Int number;
  std::memcpy(&number, bytes, sizeof(Int));
  return number;
}

}  // namespace

std::string_view name_of(DataType type) { return info(type).name; }

size_t item_size(DataType type) { return info(type).size; }

DataType parse_data_type(std::string_view name, const std::string& subject) {
  for (const TypeInfo& candidate : kTypes) {
    if (candidate.name == name) return candidate.type;
  }
  throw Error(ErrorKind::kUnsupported, subject, "data type \"" + std::string(name) + "\" is not supported");
}

FillValue FillValue::of_string(std::string text) {
  FillValue fill;
  fill.text_ = std::move(text);
  return fill;
}

FillValue FillValue::zero(DataType type) {
  FillValue fill;
  fill.size_ = item_size(type);
  return fill;
}

FillValue FillValue::from_json(const nlohmann::json& value, DataType type, const std::string& subject) {
  switch (type) {
    case DataType::kBool:
      if (!value.is_boolean()) throw bad_fill(subject, type, value);
      return FillValue::of(static_cast<uint8_t>(value.get<bool>()));
    case DataType::kInt8:
      return integer_fill<int8_t>(value, type, subject);
    case DataType::kInt16:
      return integer_fill<int16_t>(value, type, subject);
    case DataType::kInt32:
      return integer_fill<int32_t>(value, type, subject);
    case DataType::kInt64:
      return integer_fill<int64_t>(value, type, subject);
    case DataType::kUint8:
      return integer_fill<uint8_t>(value, type, subject);
    case DataType::kUint16:
      return integer_fill<uint16_t>(value, type, subject);
    case DataType::kUint32:
      return integer_fill<uint32_t>(value, type, subject);
    case DataType::kUint64:
      return integer_fill<uint64_t>(value, type, subject);
    case DataType::kFloat32:
      return float_fill<float, uint32_t>(value, type, subject);
    case DataType::kFloat64:
      return float_fill<double, uint64_t>(value, type, subject);
    case DataType::kString:
      if (!value.is_string()) throw bad_fill(subject, type, value);
      return FillValue::of_string(value.get<std::string>());
  }
  throw bad_fill(subject, type, value);
}

nlohmann::json FillValue::to_json(DataType type) const {
  switch (type) {
    case DataType::kBool:
      return bytes_[0] != std::byte{0};
    case DataType::kInt8:
      return integer_to_json<int8_t>(bytes());
    case DataType::kInt16:
      return integer_to_json<int16_t>(bytes());
    case DataType::kInt32:
      return integer_to_json<int32_t>(bytes());
    case DataType::kInt64:
      return integer_to_json<int64_t>(bytes());
    case DataType::kUint8:
      return integer_to_json<uint8_t>(bytes());
    case DataType::kUint16:
      return integer_to_json<uint16_t>(bytes());
    case DataType::kUint32:
      return integer_to_json<uint32_t>(bytes());
    case DataType::kUint64:
      return integer_to_json<uint64_t>(bytes());
    case DataType::kFloat32:
      return float_to_json<float, uint32_t>(bytes());
    case DataType::kFloat64:
      return float_to_json<double, uint64_t>(bytes());
    case DataType::kString:
      return text_;
  }
  return nullptr;
}

}  // namespace lcstore::zarr
