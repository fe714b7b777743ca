// The one error type of lcstore.
//
// Every failure that reaches a caller is an lcstore::Error: a category (what
// kind of thing failed), the subject (the path, key or column it failed on)
// and the reason. what() renders "subject: reason" so a command-line user sees
// where to look without a stack trace.
#pragma once

#include <stdexcept>
#include <string>

namespace lcstore {

enum class ErrorKind {
  kIo,               // the operating system refused a file operation
  kNotFound,         // a node, key or label that must exist does not
  kInvalidMetadata,  // zarr.json is not valid JSON or not valid Zarr v3
  kUnsupported,      // valid Zarr that lcstore does not implement (unknown codec...)
  kCorruptData,      // stored bytes do not decode (truncated chunk, bad checksum)
  kInvalidArgument,  // the caller asked for something impossible (selection out of range...)
  kBadInput,         // user input (catalog, epoch list) is malformed
};

// Short lower-case name of a kind, e.g. "corrupt data".
const char* to_string(ErrorKind kind);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string subject, std::string reason);

  ErrorKind kind() const { return kind_; }
  const std::string& subject() const { return subject_; }
  const std::string& reason() const { return reason_; }

 private:
  ErrorKind kind_;
  std::string subject_;
  std::string reason_;
};

}  // namespace lcstore
