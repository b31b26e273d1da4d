// The flat claims reader: the usual claims object read without jansson. Internal to the core
// (verify.cpp, the unit tests and fuzz/fuzz_flat_claims.cpp).
//
// A claims object is "flat" when every member is a plain string, an integer, true, false, null
// or an array of plain strings; most tokens are. readFlatClaims either takes such a document,
// with exactly the members, order and values jansson (jsonParseObject plus the kMaxClaims cap)
// would give, or declines, and the caller then parses it with jansson as before, which decides
// the status. Declining is always allowed: the reader only takes what it can reproduce exactly.
//
//   FlatMembers members;
//   if (readFlatClaims(text, &members)) { ... members.find("sub") ... }  // else: jansson
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tasker {

// The JSON type of a flat member's value.
enum class FlatKind : uint8_t {
  String,   // a string of printable ASCII without escapes
  Integer,  // an integer of at most 18 digits (no "-0")
  True,
  False,
  Null,
  StringArray,  // an array (maybe empty) of such strings
};

// One member. Positions are byte offsets into the text that was read, not pointers, so that
// the text can be moved (a short std::string keeps its bytes inline) without the member dangling.
struct FlatMember {
  uint32_t name_pos = 0;  // the name's bytes, between its quotes
  uint32_t name_len = 0;
  uint32_t value_pos = 0;  // String: the bytes between the quotes; StringArray: '[' to ']'
  uint32_t value_len = 0;  // inclusive; other kinds: the literal's text
  uint32_t name_hash = 0;  // of the name's bytes (duplicate detection)
  FlatKind kind = FlatKind::Null;
  int64_t integer = 0;  // Integer: the value; StringArray: the element count

  std::string_view name(std::string_view text) const noexcept {
    return text.substr(name_pos, name_len);
  }
  std::string_view value(std::string_view text) const noexcept {
    return text.substr(value_pos, value_len);
  }
};

// The members of a flat claims object in document order. The first kInline live inside the
// object (no allocation for the usual token); past that, all of them move to a vector, which
// grows by doubling (no capacity reserved up front: verified claims stay in the token cache).
class FlatMembers {
 public:
  static constexpr size_t kInline = 16;

  size_t size() const noexcept { return size_; }
  const FlatMember* begin() const noexcept {
    return size_ <= kInline ? inline_.data() : more_.data();
  }
  const FlatMember* end() const noexcept { return begin() + size_; }
  const FlatMember& operator[](size_t i) const noexcept { return begin()[i]; }
  // The member called `name` in `text` (the text these members were read from), or nullptr.
  const FlatMember* find(std::string_view text, std::string_view name) const noexcept;
  void clear() noexcept;
  // May throw std::bad_alloc (past kInline members).
  void push_back(const FlatMember& m);

 private:
  std::array<FlatMember, kInline> inline_;
  std::vector<FlatMember> more_;  // all members, once there are more than kInline
  size_t size_ = 0;
};

// Reads `text` as a flat claims object into *out. True when `text` is, with JSON whitespace
// (space, tab, LF, CR) allowed between tokens:
//  - one object of at most kMaxClaims members with distinct names and nothing after it;
//  - member names and string values of printable ASCII (0x20-0x7e) without '\\';
//  - integers in JSON grammar with at most 18 digits, except "-0" (reals and exponents decline);
//  - true, false, null, and arrays whose elements are all such strings ([] included).
// For such a text jsonParseObject gives Ok and an object with the same members in the same
// order, each of the same type and value. False (out cleared) for anything else, valid JSON or
// not, and on allocation failure: the caller then uses the jansson path, whose status stands.
bool readFlatClaims(std::string_view text, FlatMembers* out) noexcept;

// Calls f(element) for each string of a StringArray member, in order; f returns false to stop.
template <class F>
void forEachFlatString(std::string_view text, const FlatMember& m, F&& f) {
  // The reader checked the array: its strings contain neither '"' nor '\\', so quotes pair up.
  std::string_view arr = m.value(text);
  size_t pos = 0;
  for (;;) {
    size_t open = arr.find('"', pos);
    if (open == std::string_view::npos) return;
    size_t close = arr.find('"', open + 1);
    if (!f(arr.substr(open + 1, close - open - 1))) return;
    pos = close + 1;
  }
}

// Renders a member's value as renderClaimValue (claim_path_internal.h) renders the jansson value
// of the same JSON: strings raw, integers and booleans as text, null as "", arrays comma-joined.
// False, with *out cleared, only when memory runs out.
bool renderFlatValue(std::string_view text, const FlatMember& m, std::string* out) noexcept;

// The object as compact JSON, as jsonCompact gives for the jansson object of the same text.
// May throw std::bad_alloc.
std::string flatCompactJson(std::string_view text, const FlatMembers& members);

}  // namespace tasker
