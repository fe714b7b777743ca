// The library's errors name the option fields of its structs
// (`object_chunk`, `skip_unknown_objects`); a command-line user knows them as
// flags. in_cli_words() says the same error in the CLI's words.
#pragma once

#include "lcstore/error.h"

namespace lcstore::cli {

// The error with its subject, when that is an option field, and every
// `field` its reason names, replaced by the flag that sets the field.
Error in_cli_words(const Error& error);

}  // namespace lcstore::cli
