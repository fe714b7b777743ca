// Reading and writing zarr.json documents, shared by arrays and groups.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "lcstore/storage/store.h"

namespace lcstore::zarr {

// Lock slot that serializes metadata writers of a node. Chunk locks use the
// linear chunk index as slot, which never reaches it.
constexpr uint64_t kMetadataLockSlot = (uint64_t{1} << 62) - 1;

// "path/name", or "name" at the root.
std::string join_key(const std::string& path, const std::string& name);
// The parsed zarr.json at `path`, or nullopt when there is none.
std::optional<nlohmann::json> read_node_document(const Store& store, const std::string& path);
// Publishes `document` as the zarr.json at `path`.
void write_node_document(Store& store, const std::string& path, const nlohmann::json& document);

}  // namespace lcstore::zarr
