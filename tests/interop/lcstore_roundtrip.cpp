// lcstore's side of the interoperability tests with zarr-python, TensorStore
// and zarrs (tests/interop_python): writes or reads any array lcstore supports,
// described by a zarr.json document, so that the tests can cover what the
// command line cannot express (data types, fill values, byte order, transpose,
// index location, chunk key encodings, dimension names, groups).
//
//   lcstore_roundtrip write STORE PATH METADATA.json DATA [START:STOP,...]
//       creates the array at PATH from the zarr.json document and writes DATA
//       (C order, little-endian bytes; a JSON list for strings) into the whole
//       array or the region given
//   lcstore_roundtrip read STORE PATH OUT
//       writes the whole array to OUT in the same form and prints the array's
//       metadata as lcstore understood it (zarr.json) on stdout
//   lcstore_roundtrip group STORE PATH ATTRIBUTES.json
//   lcstore_roundtrip consolidate STORE PATH
//   lcstore_roundtrip fill STORE PATH START:STOP,... FIRST COUNT
//       writes the int32 value FIRST, then FIRST+1, ... (COUNT writes) into the
//       region of an existing array: one writer of the concurrency test
#include <algorithm>
#include <cstdint>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lcstore/error.h"
#include "lcstore/storage/directory_store.h"
#include "lcstore/zarr/array.h"
#include "lcstore/zarr/group.h"
#include "test_support.h"

namespace {

using lcstore::Error;
using lcstore::ErrorKind;
namespace zarr = lcstore::zarr;
using lcstore::testing::read_file;
using lcstore::testing::write_file;

nlohmann::json read_json(const std::string& path) { return zarr::parse_json_document(read_file(path), path); }

// "0:4,2:3" -> ranges; empty text -> the whole array.
zarr::Selection parse_region(const std::string& text, const zarr::Shape& shape) {
  if (text.empty()) return zarr::select_all(shape);
  zarr::Selection selection;
  size_t begin = 0;
  while (begin <= text.size()) {
    size_t end = text.find(',', begin);
    if (end == std::string::npos) end = text.size();
    const std::string range = text.substr(begin, end - begin);
    const size_t colon = range.find(':');
    if (colon == std::string::npos) throw Error(ErrorKind::kInvalidArgument, text, "expected START:STOP,...");
    selection.push_back(
        zarr::DimSelection::range(std::stoull(range.substr(0, colon)), std::stoull(range.substr(colon + 1))));
    begin = end + 1;
  }
  if (selection.size() != shape.size()) {
    throw Error(ErrorKind::kInvalidArgument, text, "one range per dimension expected");
  }
  return selection;
}

std::shared_ptr<lcstore::Store> open_store(const std::string& root) {
  return std::make_shared<lcstore::DirectoryStore>(root);
}

void write_array(const std::string& root, const std::string& path, const std::string& metadata_file,
                 const std::string& data_file, const std::string& region) {
  auto metadata = zarr::ArrayMetadata::from_json(read_json(metadata_file), metadata_file);
  auto array = zarr::Array::create(open_store(root), path, std::move(metadata));
  const zarr::Selection selection = parse_region(region, array.shape());
  if (array.data_type() == zarr::DataType::kString) {
    array.write_strings(selection, read_json(data_file).get<std::vector<std::string>>());
    return;
  }
  const std::string data = read_file(data_file);
  array.write(selection, std::as_bytes(std::span(data)));
}

void read_array(const std::string& root, const std::string& path, const std::string& out_file) {
  const auto array = zarr::Array::open(open_store(root), path);
  const zarr::Selection selection = zarr::select_all(array.shape());
  if (array.data_type() == zarr::DataType::kString) {
    write_file(out_file, nlohmann::json(array.read_strings(selection)).dump());
  } else {
    std::string data(zarr::element_count(array.shape()) * zarr::item_size(array.data_type()), '\0');
    array.read_into(selection, std::as_writable_bytes(std::span(data)));
    write_file(out_file, data);
  }
  std::cout << array.metadata().to_json().dump() << '\n';
}

void fill_repeatedly(const std::string& root, const std::string& path, const std::string& region, int32_t first,
                     int32_t count) {
  auto array = zarr::Array::open(open_store(root), path);
  const zarr::Selection selection = parse_region(region, array.shape());
  std::vector<int32_t> values(zarr::element_count(zarr::selection_shape(selection)));
  for (int32_t value = first; value < first + count; ++value) {
    std::fill(values.begin(), values.end(), value);
    array.write<int32_t>(selection, values);
  }
}

int run(const std::vector<std::string>& args) {
  const std::string command = args.empty() ? "" : args[0];
  if (command == "write" && (args.size() == 5 || args.size() == 6)) {
    write_array(args[1], args[2], args[3], args[4], args.size() == 6 ? args[5] : "");
  } else if (command == "read" && args.size() == 4) {
    read_array(args[1], args[2], args[3]);
  } else if (command == "group" && args.size() == 4) {
    zarr::Group::create(open_store(args[1]), args[2], read_json(args[3]));
  } else if (command == "consolidate" && args.size() == 3) {
    zarr::Group::open(open_store(args[1]), args[2]).consolidate();
  } else if (command == "fill" && args.size() == 6) {
    fill_repeatedly(args[1], args[2], args[3], std::stoi(args[4]), std::stoi(args[5]));
  } else {
    std::cerr << "usage: lcstore_roundtrip write STORE PATH METADATA.json DATA [START:STOP,...]\n"
                 "       lcstore_roundtrip read STORE PATH OUT\n"
                 "       lcstore_roundtrip group STORE PATH ATTRIBUTES.json\n"
                 "       lcstore_roundtrip consolidate STORE PATH\n"
                 "       lcstore_roundtrip fill STORE PATH START:STOP,... FIRST COUNT\n";
    return 2;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const Error& error) {
    std::cerr << "lcstore_roundtrip: " << lcstore::to_string(error.kind()) << ": " << error.what() << '\n';
    return 1;
  } catch (const std::exception& error) {
    std::cerr << "lcstore_roundtrip: " << error.what() << '\n';
    return 1;
  }
}
