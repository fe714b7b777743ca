// Which FITS file holds the image of an epoch (or of the coadd), from the
// options of `lcstore serve`. Only files inside the configured directory are
// ever opened: a name that resolves outside it (through "..", an absolute
// path in the map or a symbolic link) is refused.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lcstore::server {

class ImageFiles {
 public:
  static constexpr const char* kCoadd = "coadd";

  ImageFiles() = default;
  // `directory` holds coadd.fits and epoch_<key>.fits.
  static ImageFiles from_directory(const std::filesystem::path& directory);
  // A CSV file of `epoch,path` rows (an optional `epoch,path` header), paths
  // relative to the map's directory. Throws Error(kBadInput) naming the line.
  static ImageFiles from_map(const std::filesystem::path& map);

  // The file of `epoch` ("coadd" or an epoch key) if it exists inside the
  // directory.
  std::optional<std::filesystem::path> find(const std::string& epoch) const;
  // The epochs of `epochs` with an image, the coadd first.
  std::vector<std::string> available(const std::vector<std::string>& epochs) const;

 private:
  std::filesystem::path root_;                           // canonical; empty: no images
  std::map<std::string, std::filesystem::path> mapped_;  // from_map only
  bool mapped_mode_ = false;
};

}  // namespace lcstore::server
