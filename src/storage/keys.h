// Store key validation shared by the Store implementations.
#pragma once

#include <string_view>

namespace lcstore {

// Throws Error(kInvalidArgument) unless `key` is a valid store key: non-empty
// "/"-separated parts, none of them empty, "." or "..", so that no key
// escapes a directory store's root or names a directory ("a/", "a//b").
void validate_key(std::string_view key);

}  // namespace lcstore
