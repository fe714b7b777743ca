#include "lcstore/catalog/read_catalog.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>

#include "catalog/parse_support.h"
#include "catalog/readers.h"
#include "lcstore/catalog/column_mapping.h"
#include "lcstore/error.h"

namespace lcstore::catalog {

const char* to_string(Format format) {
  switch (format) {
    case Format::kAsciiHead:
      return "ascii_head";
    case Format::kFitsTable:
      return "fits_1.0";
    case Format::kFitsLdac:
      return "fits_ldac";
    case Format::kEcsv:
      return "ecsv";
    case Format::kCsv:
      return "csv";
  }
  return "unknown";
}

namespace {

[[noreturn]] void fail_io(const std::string& file, const char* what) {
  throw Error(ErrorKind::kIo, file, std::string(what) + ": " + std::strerror(errno));
}

// A file's bytes, read in one go into memory that is not zeroed first.
// (Not mmap: a file truncated while mapped would kill the process with
// SIGBUS instead of failing the read.)
struct FileContents {
  std::unique_ptr<char[]> bytes;
  size_t size = 0;

  std::string_view view() const { return {bytes.get(), size}; }
};

FileContents read_whole_file(const std::string& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail_io(file, "cannot open");
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat info {};
  if (::fstat(fd, &info) != 0) fail_io(file, "cannot stat");
  // Pipes are fine; a device (/dev/zero) would be read until memory runs out.
  if (!S_ISREG(info.st_mode) && !S_ISFIFO(info.st_mode))
    throw Error(ErrorKind::kIo, file, "is not a regular file (a directory or a device)");
  FileContents contents;
  size_t capacity = static_cast<size_t>(info.st_size) + 1;  // + 1: sees the end without another read
  contents.bytes = std::make_unique_for_overwrite<char[]>(capacity);
  while (true) {
    const ssize_t n = ::read(fd, contents.bytes.get() + contents.size, capacity - contents.size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_io(file, "cannot read");
    if (n == 0) break;
    contents.size += static_cast<size_t>(n);
    if (contents.size == capacity) {  // grew while being read, or a pipe
      capacity *= 2;
      auto larger = std::make_unique_for_overwrite<char[]>(capacity);
      std::memcpy(larger.get(), contents.bytes.get(), contents.size);
      contents.bytes = std::move(larger);
    }
  }
  return contents;
}

// "#   1 NUMBER ...": '#', blanks, the column number 1, a blank.
bool is_first_ascii_head_header(std::string_view line) {
  if (!line.starts_with('#')) return false;
  line.remove_prefix(1);
  const size_t number = line.find_first_not_of(" \t");
  if (number == 0 || number == std::string_view::npos) return false;
  line.remove_prefix(number);
  return line.starts_with("1 ") || line.starts_with("1\t");
}

// Decided by the first bytes alone. FITS_1.0 and FITS_LDAC differ only in
// their extensions; the FITS reader tells them apart.
std::optional<Format> detect_format(std::string_view contents) {
  if (contents.starts_with("SIMPLE  =")) return Format::kFitsTable;
  // Text formats have no NUL bytes; binary junk must not pass for a CSV
  // because a comma byte happens to come before the first newline byte.
  if (contents.substr(0, 4096).find('\0') != std::string_view::npos) return std::nullopt;
  const std::string_view first_line = contents.substr(0, contents.find('\n'));
  if (first_line.starts_with("# %ECSV")) return Format::kEcsv;
  if (is_first_ascii_head_header(first_line)) return Format::kAsciiHead;
  if (first_line.find(',') != std::string_view::npos) return Format::kCsv;
  return std::nullopt;
}

}  // namespace

Catalog read_catalog(const std::filesystem::path& path, const ReadOptions& options) {
  const std::string file = path.string();
  const FileContents file_contents = read_whole_file(file);
  const std::string_view contents = file_contents.view();
  if (contents.empty()) detail::fail(file, "", "the file is empty");
  const std::optional<Format> detected = detect_format(contents);
  if (!detected) {
    detail::fail(file, "",
                 "unknown catalog format: not FITS, ECSV, SExtractor ASCII_HEAD or CSV (first line " +
                     detail::quote_cell(contents.substr(0, contents.find('\n'))) + ")");
  }
  Catalog catalog{*detected, Table(file)};
  switch (*detected) {
    case Format::kAsciiHead:
      catalog.table = detail::read_ascii_head(contents, file);
      break;
    case Format::kEcsv:
      catalog.table = detail::read_ecsv(contents, file);
      break;
    case Format::kCsv:
      catalog.table = detail::read_csv(contents, file);
      break;
    case Format::kFitsTable:
    case Format::kFitsLdac:
      catalog.table = detail::read_fits(contents, file, catalog.format);
      break;
  }
  if (options.invalid_to_nan) invalid_magnitudes_to_nan(catalog.table);
  return catalog;
}

}  // namespace lcstore::catalog
