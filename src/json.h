// RAII and typed getters over jansson. Internal to the core: only .cpp files include this header,
// so the public headers (and the nginx adapter) never see jansson types.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <jansson.h>

#include "status.h"

namespace tasker {

// Drops one jansson reference.
struct JsonDeleter {
  void operator()(json_t* j) const noexcept { json_decref(j); }
};
// An owned jansson reference.
using JsonPtr = std::unique_ptr<json_t, JsonDeleter>;

// Checks that objects/arrays in `text` nest at most max_depth deep ("{}" is depth 1), counting
// brackets outside strings. Runs before jansson so a hostile document cannot make the parser
// recurse. Does not validate the JSON otherwise. Deeper: TokenBadJson.
Status jsonCheckDepth(std::string_view text, size_t max_depth) noexcept;

// Parses `text` as one JSON object: depth pre-scan (kMaxJsonDepth, tasker_limits.h), then
// jansson with JSON_REJECT_DUPLICATES. Too deep, invalid, trailing bytes, embedded NUL or not an
// object: TokenBadJson; a member name twice in any object: TokenDuplicateMember; allocation
// failure: OutOfMemory. Callers outside token parsing map these to their own statuses.
Status jsonParseObject(std::string_view text, JsonPtr* out) noexcept;

// A JSON number, which is either an integer or a real in jansson.
struct JsonNumber {
  bool is_integer = true;
  int64_t integer = 0;  // valid when is_integer
  double real = 0;      // valid when !is_integer
};

// Typed member getters. `obj` must be an object (borrowed). Each returns Ok, TokenMissingClaim
// when the member is absent, or TokenBadClaimType when it has another JSON type. Views and
// pointers are borrowed from `obj` and live as long as it does.
Status jsonGetString(const json_t* obj, std::string_view name, std::string_view* out) noexcept;
Status jsonGetNumber(const json_t* obj, std::string_view name, JsonNumber* out) noexcept;
Status jsonGetArray(const json_t* obj, std::string_view name, const json_t** out) noexcept;
Status jsonGetObject(const json_t* obj, std::string_view name, const json_t** out) noexcept;

// The member `name` of obj (borrowed), or nullptr when absent or obj is not an object.
const json_t* jsonMember(const json_t* obj, std::string_view name) noexcept;

// The string value of a jansson string as a view (may contain no NUL: we never parse with
// JSON_ALLOW_NUL). Empty view for non-strings.
std::string_view jsonStringView(const json_t* s) noexcept;

// Compact JSON text of any value, members in document order, reals in the shortest form that
// reads back to the same double (1.5, 0.1, 1e+300; always with '.' or 'e'). May throw bad_alloc.
std::string jsonCompact(const json_t* value);

// Appends s as a JSON string literal (quotes and escapes) to *out. May throw bad_alloc.
void jsonAppendQuoted(std::string_view s, std::string* out);

// Shortest text of a double that reads back to the same value, as JSON (with '.' or 'e').
std::string jsonRealText(double d);

}  // namespace tasker
