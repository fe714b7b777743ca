#include "lcstore/zarr/codec_specs.h"

#include <algorithm>

#include "lcstore/error.h"

namespace lcstore::zarr {

using nlohmann::json;

namespace {

std::vector<std::string> split_at_colons(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t end = text.find(':', start);
    parts.push_back(text.substr(start, end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

int parse_level(const std::vector<std::string>& parts, size_t index, int fallback, const std::string& spec) {
  if (parts.size() <= index) return fallback;
  try {
    return std::stoi(parts[index]);
  } catch (const std::exception&) {
    throw Error(ErrorKind::kInvalidArgument, "codec", "bad level in \"" + spec + "\"");
  }
}

// One spec as a zarr.json codec entry (nothing for "none").
std::optional<json> codec_entry(const std::string& spec, DataType type) {
  std::vector<std::string> parts = split_at_colons(spec);
  const std::string& name = parts[0];
  if (name == "none") return std::nullopt;
  if (name == "zstd")
    return json{{"name", "zstd"}, {"configuration", {{"level", parse_level(parts, 1, 3, spec)}, {"checksum", false}}}};
  if (name == "gzip") return json{{"name", "gzip"}, {"configuration", {{"level", parse_level(parts, 1, 5, spec)}}}};
  if (name == "crc32c") return json{{"name", "crc32c"}};
  if (name == "blosc" && parts.size() >= 2) {
    std::string shuffle = parts.size() >= 4 ? parts[3] : "shuffle";
    return json{{"name", "blosc"},
                {"configuration",
                 {{"cname", parts[1]},
                  {"clevel", parse_level(parts, 2, 5, spec)},
                  {"shuffle", shuffle},
                  {"typesize", std::max<size_t>(item_size(type), 1)},
                  {"blocksize", 0}}}};
  }
  throw Error(
      ErrorKind::kInvalidArgument, "codec",
      "\"" + spec + "\" is not none, zstd[:L], gzip[:L], blosc:CNAME[:L][:shuffle|bitshuffle|noshuffle] or crc32c");
}

}  // namespace

json codec_chain_from_specs(DataType type, const std::vector<std::string>& specs,
                            const std::optional<Shape>& inner_chunks) {
  json chain = json::array();
  chain.push_back(type == DataType::kString ? json{{"name", "vlen-utf8"}, {"configuration", json::object()}}
                                            : json{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}});
  for (const std::string& spec : specs) {
    if (auto entry = codec_entry(spec, type)) chain.push_back(*entry);
  }
  if (!inner_chunks) return chain;
  return json::array({sharding_codec(chain, *inner_chunks)});
}

json sharding_codec(const json& inner_chain, const Shape& inner_chunks) {
  json index_codecs =
      json::array({json{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}}, json{{"name", "crc32c"}}});
  return json{{"name", "sharding_indexed"},
              {"configuration",
               {{"chunk_shape", inner_chunks},
                {"codecs", inner_chain},
                {"index_codecs", index_codecs},
                {"index_location", "end"}}}};
}

}  // namespace lcstore::zarr
