#include "lcstore/error.h"

namespace lcstore {

const char* to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kIo:
      return "i/o error";
    case ErrorKind::kNotFound:
      return "not found";
    case ErrorKind::kInvalidMetadata:
      return "invalid metadata";
    case ErrorKind::kUnsupported:
      return "unsupported";
    case ErrorKind::kCorruptData:
      return "corrupt data";
    case ErrorKind::kInvalidArgument:
      return "invalid argument";
    case ErrorKind::kBadInput:
      return "bad input";
  }
  return "error";
}

namespace {
std::string render(const std::string& subject, const std::string& reason) {
  return subject.empty() ? reason : subject + ": " + reason;
}
}  // namespace

Error::Error(ErrorKind kind, std::string subject, std::string reason)
    : std::runtime_error(render(subject, reason)),
      kind_(kind),
      subject_(std::move(subject)),
      reason_(std::move(reason)) {}

}  // namespace lcstore
