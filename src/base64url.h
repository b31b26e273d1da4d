// Strict unpadded base64url (RFC 4648 section 5, RFC 7515 section 2). Internal to the core.
#pragma once

#include <string>
#include <string_view>

#include "status.h"

namespace tasker {

// Decodes unpadded base64url. Rejects, with TokenBadEncoding: '=', '+', '/', whitespace and any
// other byte outside [A-Za-z0-9_-], an impossible length (len % 4 == 1), and non-zero unused bits
// in the last character (so every byte string has exactly one accepted encoding). The empty input
// decodes to the empty string. *out is replaced (cleared on failure).
Status base64urlDecode(std::string_view in, std::string* out);

// Encodes bytes as unpadded base64url.
std::string base64urlEncode(std::string_view bytes);

}  // namespace tasker
