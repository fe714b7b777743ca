#include "server/images.h"

#include <fstream>

#include "lcstore/error.h"

namespace lcstore::server {

namespace fs = std::filesystem;

namespace {

fs::path canonical_directory(const fs::path& directory) {
  std::error_code error;
  fs::path root = fs::canonical(directory, error);
  if (error || !fs::is_directory(root)) throw Error(ErrorKind::kNotFound, directory.string(), "is not a directory");
  return root;
}

}  // namespace

ImageFiles ImageFiles::from_directory(const fs::path& directory) {
  ImageFiles files;
  files.root_ = canonical_directory(directory);
  return files;
}

ImageFiles ImageFiles::from_map(const fs::path& map) {
  std::ifstream in(map);
  if (!in) throw Error(ErrorKind::kIo, map.string(), "cannot be read");
  ImageFiles files;
  files.root_ = canonical_directory(map.parent_path().empty() ? fs::path(".") : map.parent_path());
  files.mapped_mode_ = true;
  uint64_t number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (number == 1 && line == "epoch,path")) continue;
    const size_t comma = line.find(',');
    if (comma == std::string::npos || comma == 0 || comma + 1 == line.size())
      throw Error(ErrorKind::kBadInput, map.string() + ":" + std::to_string(number), "expected `epoch,path`");
    files.mapped_[line.substr(0, comma)] = line.substr(comma + 1);
  }
  return files;
}

std::optional<fs::path> ImageFiles::find(const std::string& epoch) const {
  if (root_.empty()) return std::nullopt;
  fs::path name;
  if (mapped_mode_) {
    auto found = mapped_.find(epoch);
    if (found == mapped_.end()) return std::nullopt;
    name = found->second;
  } else {
    name = epoch == kCoadd ? fs::path("coadd.fits") : fs::path("epoch_" + epoch + ".fits");
  }
  std::error_code error;
  const fs::path file = fs::canonical(root_ / name, error);
  if (error || !fs::is_regular_file(file)) return std::nullopt;
  // Within the root: the root is a prefix of the canonical path, element by element.
  auto [root_end, file_at] = std::mismatch(root_.begin(), root_.end(), file.begin(), file.end());
  if (root_end != root_.end()) return std::nullopt;
  return file;
}

std::vector<std::string> ImageFiles::available(const std::vector<std::string>& epochs) const {
  std::vector<std::string> found;
  if (find(kCoadd)) found.push_back(kCoadd);
  for (const std::string& epoch : epochs)
    if (find(epoch)) found.push_back(epoch);
  return found;
}

}  // namespace lcstore::server
