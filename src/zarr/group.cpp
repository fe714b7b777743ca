#include "lcstore/zarr/group.h"

#include "lcstore/error.h"
#include "zarr/node_io.h"

namespace lcstore::zarr {

using nlohmann::json;

namespace {

NodeType type_of(const json& document, const std::string& subject) {
  // Compared as JSON: a node_type that is not a string is an error below, not
  // nlohmann's type_error from json::value().
  if (document.contains("node_type") && document["node_type"] == "array") return NodeType::kArray;
  if (document.contains("node_type") && document["node_type"] == "group") return NodeType::kGroup;
  throw Error(ErrorKind::kInvalidMetadata, subject, "node_type must be \"array\" or \"group\"");
}

}  // namespace

NodeType node_type_at(const Store& store, const std::string& path) {
  auto document = read_node_document(store, path);
  if (!document) throw Error(ErrorKind::kNotFound, store.describe(path), "no Zarr node here (no zarr.json)");
  return type_of(*document, store.describe(join_key(path, "zarr.json")));
}

Group::Group(std::shared_ptr<Store> store, std::string path, GroupMetadata metadata)
    : store_(std::move(store)), path_(std::move(path)), metadata_(std::move(metadata)) {}

std::string Group::child_path(const std::string& name) const { return join_key(path_, name); }

Group Group::create(std::shared_ptr<Store> store, std::string path, json attributes) {
  GroupMetadata metadata;
  metadata.attributes = std::move(attributes);
  write_node_document(*store, path, metadata.to_json());
  return Group(std::move(store), std::move(path), std::move(metadata));
}

Group Group::open(std::shared_ptr<Store> store, std::string path) {
  auto document = read_node_document(*store, path);
  const std::string subject = store->describe(join_key(path, "zarr.json"));
  if (!document) throw Error(ErrorKind::kNotFound, subject, "no Zarr group here");
  GroupMetadata metadata = GroupMetadata::from_json(*document, subject);
  return Group(std::move(store), std::move(path), std::move(metadata));
}

std::vector<Group::Child> Group::children() const {
  std::vector<Child> found;
  for (const std::string& name : store_->list_dir(path_.empty() ? "" : path_ + "/")) {
    if (name == "zarr.json") continue;
    // Entries without a zarr.json (chunk files, other tools' files) are not nodes.
    auto document = read_node_document(*store_, child_path(name));
    if (document) found.push_back(Child{name, type_of(*document, store_->describe(child_path(name)))});
  }
  return found;
}

Array Group::open_array(const std::string& name) const { return Array::open(store_, child_path(name)); }

Group Group::open_group(const std::string& name) const { return Group::open(store_, child_path(name)); }

void Group::update_metadata(const std::function<void(GroupMetadata&)>& change) {
  auto held = store_->lock(path_, kMetadataLockSlot);
  Group current = open(store_, path_);
  change(current.metadata_);
  write_node_document(*store_, path_, current.metadata_.to_json());
  metadata_ = std::move(current.metadata_);
}

void Group::update_attributes(const std::function<void(json&)>& change) {
  update_metadata([&](GroupMetadata& metadata) { change(metadata.attributes); });
}

void Group::consolidate() {
  update_metadata([&](GroupMetadata& metadata) {
    metadata.consolidated = GroupMetadata::Consolidated::kInline;
    metadata.consolidated_nodes.clear();
    // Breadth-first over the hierarchy; nested groups are recorded without
    // their own consolidated metadata, as zarr-python does.
    std::vector<std::string> pending{""};
    while (!pending.empty()) {
      std::string relative = pending.back();
      pending.pop_back();
      Group group = relative.empty() ? *this : open_group(relative);
      for (const Child& child : group.children()) {
        std::string child_relative = join_key(relative, child.name);
        json document = *read_node_document(*store_, child_path(child_relative));
        if (child.type == NodeType::kGroup) {
          document["consolidated_metadata"] = {
              {"kind", "inline"}, {"must_understand", false}, {"metadata", json::object()}};
          pending.push_back(child_relative);
        }
        metadata.consolidated_nodes[child_relative] = document;
      }
    }
  });
}

}  // namespace lcstore::zarr
