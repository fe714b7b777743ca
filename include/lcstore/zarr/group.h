// Zarr v3 groups: hierarchy, attributes and consolidated metadata.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lcstore/storage/store.h"
#include "lcstore/zarr/array.h"
#include "lcstore/zarr/metadata.h"

namespace lcstore::zarr {

enum class NodeType { kArray, kGroup };

// The type of the node at `path`; throws Error(kNotFound) if there is none.
NodeType node_type_at(const Store& store, const std::string& path);

class Group {
 public:
  // Writes the group's zarr.json at `path` (replacing any node there).
  static Group create(std::shared_ptr<Store> store, std::string path,
                      nlohmann::json attributes = nlohmann::json::object());
  // Throws Error(kNotFound) if there is no group at `path`.
  static Group open(std::shared_ptr<Store> store, std::string path);

  const GroupMetadata& metadata() const { return metadata_; }
  const nlohmann::json& attributes() const { return metadata_.attributes; }
  const std::string& path() const { return path_; }

  struct Child {
    std::string name;
    NodeType type;
  };
  // Direct children found in the store, sorted by name.
  std::vector<Child> children() const;
  Array open_array(const std::string& name) const;
  Group open_group(const std::string& name) const;

  // Metadata transaction on the attributes, as Array::update_attributes;
  // keeps consolidated metadata if the group has it.
  void update_attributes(const std::function<void(nlohmann::json&)>& change);
  void set_attributes(const nlohmann::json& attributes) {
    update_attributes([&](nlohmann::json& current) { current = attributes; });
  }
  // Metadata transaction on the whole document (attributes and consolidated
  // nodes), published by one atomic write of its zarr.json.
  void update_metadata(const std::function<void(GroupMetadata&)>& change);
  // Records the zarr.json of every node below this group inline in its own
  // zarr.json (zarr-python's consolidate_metadata), atomically.
  void consolidate();

 private:
  Group(std::shared_ptr<Store> store, std::string path, GroupMetadata metadata);
  std::string child_path(const std::string& name) const;

  std::shared_ptr<Store> store_;
  std::string path_;
  GroupMetadata metadata_;
};

}  // namespace lcstore::zarr
