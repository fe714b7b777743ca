#include "lcstore/zarr/metadata.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "lcstore/error.h"
#include "zarr/codec.h"

namespace lcstore::zarr {

using nlohmann::json;

namespace {

Error invalid(const std::string& subject, const std::string& reason) {
  return Error(ErrorKind::kInvalidMetadata, subject, reason);
}

const json& required(const json& document, const char* field, const std::string& subject) {
  auto it = document.find(field);
  if (it == document.end()) throw invalid(subject, std::string("missing required field \"") + field + "\"");
  return *it;
}

Shape parse_shape(const json& value, const char* field, const std::string& subject) {
  if (!value.is_array()) throw invalid(subject, std::string(field) + " must be a list of integers");
  Shape shape;
  for (const json& extent : value) {
    if (!extent.is_number_unsigned()) {
      throw invalid(subject, std::string(field) + " must hold non-negative integers, not " + extent.dump());
    }
    shape.push_back(extent.get<uint64_t>());
  }
  return shape;
}

void check_format(const json& document, const char* node_type, const std::string& subject) {
  if (!document.is_object()) throw invalid(subject, "zarr.json must hold a JSON object");
  if (required(document, "zarr_format", subject) != 3) throw invalid(subject, "zarr_format must be 3");
  if (required(document, "node_type", subject) != node_type) {
    throw invalid(subject, std::string("node_type must be \"") + node_type + "\"");
  }
}

// The string `field` of `object`, or "" when it is absent or not a string
// (json::value() would throw nlohmann's type_error rather than an lcstore::Error).
std::string string_field(const json& object, const char* field) {
  auto it = object.find(field);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Fields the core spec does not know must say they may be ignored.
json extension_fields(const json& document, std::initializer_list<const char*> known, const std::string& subject) {
  json extra = json::object();
  for (const auto& [key, value] : document.items()) {
    bool is_known = false;
    for (const char* name : known) is_known = is_known || key == name;
    if (is_known) continue;
    if (!value.is_object() || !value.contains("must_understand") || value["must_understand"] != false) {
      throw invalid(subject, "unknown field \"" + key + "\" (extensions must declare \"must_understand\": false)");
    }
    extra[key] = value;
  }
  return extra;
}

json attributes_of(const json& document, const std::string& subject) {
  auto it = document.find("attributes");
  if (it == document.end()) return json::object();
  if (!it->is_object()) throw invalid(subject, "attributes must be a JSON object");
  return *it;
}

ChunkKeyEncoding parse_key_encoding(const json& value, const std::string& subject) {
  if (!value.is_object() || !value.contains("name")) throw invalid(subject, "chunk_key_encoding must name an encoding");
  ChunkKeyEncoding encoding;
  const json configuration = value.value("configuration", json::object());
  if (value["name"] == "default") {
    encoding.kind = ChunkKeyEncoding::Kind::kDefault;
    encoding.separator = '/';
  } else if (value["name"] == "v2") {
    encoding.kind = ChunkKeyEncoding::Kind::kV2;
    encoding.separator = '.';
  } else {
    throw Error(ErrorKind::kUnsupported, subject, "chunk_key_encoding " + value["name"].dump() + " is not supported");
  }
  if (configuration.contains("separator")) {
    const json& separator = configuration["separator"];
    if (separator != "/" && separator != ".") throw invalid(subject, "chunk key separator must be \"/\" or \".\"");
    encoding.separator = separator.get<std::string>()[0];
  }
  return encoding;
}

// An array whose byte count overflows cannot be addressed, and a chunk larger
// than kMaxChunkBytes cannot be decoded: both are refused when opened.
void check_sizes(const ArrayMetadata& metadata, const std::string& subject) {
  // A decoded string element is a std::string.
  const uint64_t width = metadata.data_type == DataType::kString ? sizeof(std::string) : item_size(metadata.data_type);
  if (!checked_byte_count(metadata.shape, width)) {
    throw invalid(subject, fmt::format("shape [{}] holds more than 2^64 bytes", fmt::join(metadata.shape, ", ")));
  }
  const std::optional<uint64_t> chunk_bytes = checked_byte_count(metadata.chunk_shape, width);
  if (!chunk_bytes || *chunk_bytes > kMaxChunkBytes) {
    throw Error(ErrorKind::kUnsupported, subject,
                fmt::format("chunk_shape [{}] decodes to {} bytes per chunk, more than the {} bytes lcstore decodes "
                            "at once",
                            fmt::join(metadata.chunk_shape, ", "),
                            chunk_bytes ? std::to_string(*chunk_bytes) : std::string("over 2^64"), kMaxChunkBytes));
  }
}

}  // namespace

std::string ChunkKeyEncoding::key(std::span<const uint64_t> coords) const {
  std::string key = kind == Kind::kDefault ? "c" : "";
  for (size_t i = 0; i < coords.size(); ++i) {
    if (kind == Kind::kDefault || i > 0) key += separator;
    key += std::to_string(coords[i]);
  }
  if (key.empty()) key = "0";
  return key;
}

json parse_json_document(std::string_view text, const std::string& subject) {
  // The depth passed is that of the container being opened, 0 at the top.
  auto bound_depth = [&](int depth, json::parse_event_t event, json&) {
    if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) &&
        depth >= kMaxJsonDepth) {
      throw invalid(subject, fmt::format("JSON nested deeper than {} levels", kMaxJsonDepth));
    }
    return true;
  };
  json document = json::parse(text, bound_depth, /*allow_exceptions=*/false);
  if (document.is_discarded()) throw invalid(subject, "not valid JSON");
  return document;
}

ArrayMetadata ArrayMetadata::from_json(const json& document, const std::string& subject) {
  check_format(document, "array", subject);
  ArrayMetadata metadata;
  metadata.shape = parse_shape(required(document, "shape", subject), "shape", subject);

  const json& type = required(document, "data_type", subject);
  if (!type.is_string())
    throw Error(ErrorKind::kUnsupported, subject, "data type " + type.dump() + " is not supported");
  metadata.data_type = parse_data_type(type.get<std::string>(), subject);

  const json& grid = required(document, "chunk_grid", subject);
  if (!grid.is_object() || string_field(grid, "name") != "regular") {
    throw Error(ErrorKind::kUnsupported, subject, "only the \"regular\" chunk grid is supported");
  }
  if (!grid.contains("configuration") || !grid["configuration"].contains("chunk_shape")) {
    throw invalid(subject, "regular chunk grid needs configuration.chunk_shape");
  }
  metadata.chunk_shape = parse_shape(grid["configuration"]["chunk_shape"], "chunk_shape", subject);
  if (metadata.chunk_shape.size() != metadata.shape.size()) {
    throw invalid(subject, "chunk_shape has " + std::to_string(metadata.chunk_shape.size()) +
                               " dimensions but shape has " + std::to_string(metadata.shape.size()));
  }
  for (uint64_t extent : metadata.chunk_shape) {
    if (extent == 0) throw invalid(subject, "chunk_shape extents must be positive");
  }
  check_sizes(metadata, subject);

  metadata.chunk_key_encoding = parse_key_encoding(required(document, "chunk_key_encoding", subject), subject);
  metadata.fill_value = FillValue::from_json(required(document, "fill_value", subject), metadata.data_type, subject);

  metadata.codecs = required(document, "codecs", subject);
  if (!metadata.codecs.is_array()) throw invalid(subject, "codecs must be a list");
  // Building the chain validates every codec against this array now, so an
  // unknown codec fails at open rather than at the first read.
  CodecChain::parse(metadata.codecs, ChunkSpec{metadata.data_type, metadata.chunk_shape, metadata.fill_value}, subject);

  metadata.attributes = attributes_of(document, subject);

  if (auto it = document.find("dimension_names"); it != document.end() && !it->is_null()) {
    if (!it->is_array() || it->size() != metadata.shape.size()) {
      throw invalid(subject, "dimension_names must list one name (or null) per dimension");
    }
    std::vector<std::optional<std::string>> names;
    for (const json& name : *it) {
      if (name.is_null())
        names.emplace_back();
      else if (name.is_string())
        names.emplace_back(name.get<std::string>());
      else
        throw invalid(subject, "dimension_names entries must be strings or null");
    }
    metadata.dimension_names = std::move(names);
  }

  if (auto it = document.find("storage_transformers"); it != document.end()) {
    if (!it->is_array()) throw invalid(subject, "storage_transformers must be a list");
    if (!it->empty()) throw Error(ErrorKind::kUnsupported, subject, "storage transformers are not supported");
  }

  metadata.extra_fields =
      extension_fields(document,
                       {"zarr_format", "node_type", "shape", "data_type", "chunk_grid", "chunk_key_encoding",
                        "fill_value", "codecs", "attributes", "dimension_names", "storage_transformers"},
                       subject);
  return metadata;
}

json ArrayMetadata::to_json() const {
  json document = extra_fields;
  document["zarr_format"] = 3;
  document["node_type"] = "array";
  document["shape"] = shape;
  document["data_type"] = name_of(data_type);
  document["chunk_grid"] = {{"name", "regular"}, {"configuration", {{"chunk_shape", chunk_shape}}}};
  document["chunk_key_encoding"] = {
      {"name", chunk_key_encoding.kind == ChunkKeyEncoding::Kind::kDefault ? "default" : "v2"},
      {"configuration", {{"separator", std::string(1, chunk_key_encoding.separator)}}}};
  document["fill_value"] = fill_value.to_json(data_type);
  document["codecs"] = codecs;
  document["attributes"] = attributes;
  document["storage_transformers"] = json::array();
  if (dimension_names) {
    json names = json::array();
    for (const auto& name : *dimension_names) names.push_back(name ? json(*name) : json(nullptr));
    document["dimension_names"] = names;
  }
  return document;
}

GroupMetadata GroupMetadata::from_json(const json& document, const std::string& subject) {
  check_format(document, "group", subject);
  GroupMetadata metadata;
  metadata.attributes = attributes_of(document, subject);
  if (auto it = document.find("consolidated_metadata"); it != document.end()) {
    if (it->is_null()) {
      metadata.consolidated = Consolidated::kNull;
    } else {
      if (!it->is_object() || string_field(*it, "kind") != "inline" || !it->contains("metadata") ||
          !(*it)["metadata"].is_object()) {
        throw invalid(subject, "consolidated_metadata must be null or {\"kind\": \"inline\", \"metadata\": {...}}");
      }
      metadata.consolidated = Consolidated::kInline;
      for (const auto& [path, node] : (*it)["metadata"].items()) metadata.consolidated_nodes[path] = node;
    }
  }
  metadata.extra_fields =
      extension_fields(document, {"zarr_format", "node_type", "attributes", "consolidated_metadata"}, subject);
  return metadata;
}

json GroupMetadata::to_json() const {
  json document = extra_fields;
  document["zarr_format"] = 3;
  document["node_type"] = "group";
  document["attributes"] = attributes;
  if (consolidated == Consolidated::kNull) document["consolidated_metadata"] = nullptr;
  if (consolidated == Consolidated::kInline) {
    json nodes = json::object();
    for (const auto& [path, node] : consolidated_nodes) nodes[path] = node;
    document["consolidated_metadata"] = {{"kind", "inline"}, {"must_understand", false}, {"metadata", nodes}};
  }
  return document;
}

}  // namespace lcstore::zarr
