// Small helpers shared by the tasker-ctl commands: files, stdin, base64url, time, jansson.
// CLI-only: the module never links this.
#pragma once

#include <jansson.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tasker {
namespace cli {

struct JsonDecref {
  void operator()(json_t* j) const noexcept { json_decref(j); }
};
using JsonPtr = std::unique_ptr<json_t, JsonDecref>;

// Reads a whole file, at most max_bytes. On failure returns false and sets *error to a sentence
// naming the path (never the content).
bool readFile(const std::string& path, size_t max_bytes, std::string* out, std::string* error);

// Zeroes a string that held secret material (a private key PEM, an API key), and empties it.
void cleanse(std::string* s);

// Reads all of stdin, at most max_bytes. False when larger ("larger than N bytes" in *error)
// or unreadable (strerror in *error); the bytes read are then zeroed, as they may be a secret.
bool readStdin(size_t max_bytes, std::string* out, std::string* error);

// Removes one trailing newline ("\n" or "\r\n"), as `echo` and here-strings add; nothing else.
std::string stripTrailingNewline(std::string s);

// s with every control character (line breaks included) replaced by a space, so that a message
// built from file names, library errors or server text stays one line on stderr.
std::string oneLine(std::string_view s);

// Removes leading and trailing ASCII whitespace.
std::string trim(std::string_view s);

// Splits on commas, trims each item and drops empty items.
std::vector<std::string> splitCommaList(std::string_view csv);

// Lenient base64url decoding (padding tolerated) for display only; the verifier decodes
// strictly on its own. False on characters outside the alphabet.
bool base64UrlDecode(std::string_view in, std::string* out);

// Decodes segment `index` (0 header, 1 claims) of a compact JWS as a JSON object, or nullptr.
JsonPtr decodeJwtSegment(std::string_view token, int index);

// "2025-01-31T12:00:00Z".
std::string rfc3339(int64_t unix_seconds);

// Pretty JSON text (2-space indent, members in document order), without a trailing newline.
std::string prettyJson(const json_t* j);

}  // namespace cli
}  // namespace tasker
