#include "zarr/node_io.h"

#include "lcstore/zarr/metadata.h"

namespace lcstore::zarr {

std::string join_key(const std::string& path, const std::string& name) {
  return path.empty() ? name : path + "/" + name;
}

std::optional<nlohmann::json> read_node_document(const Store& store, const std::string& path) {
  const std::string key = join_key(path, "zarr.json");
  auto bytes = store.get(key);
  if (!bytes) return std::nullopt;
  return parse_json_document(std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size()),
                             store.describe(key));
}

void write_node_document(Store& store, const std::string& path, const nlohmann::json& document) {
  const std::string text = document.dump(2);
  store.set(join_key(path, "zarr.json"), std::as_bytes(std::span(text)));
}

}  // namespace lcstore::zarr
