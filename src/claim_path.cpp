#include "claim_path.h"

#include <new>
#include <utility>

#include "claim_path_internal.h"
#include "json.h"
#include "tasker_limits.h"

namespace tasker {

namespace {

static_assert(kMaxClaimPathBytes == 256 && kMaxClaimPathDepth == 16,
              "the parse reasons below name these limits");

// Sets *why (when wanted) and returns ConfigInvalid.
Status invalid(const char** why, const char* reason) noexcept {
  if (why != nullptr) *why = reason;
  return Status::ConfigInvalid;
}

}  // namespace

Status ClaimPath::parse(std::string_view text, ClaimPath* out, const char** why) noexcept {
  if (text.empty()) return invalid(why, "is empty");
  if (text.size() > kMaxClaimPathBytes) {
    return invalid(why, "is longer than 256 bytes");
  }
  try {
    std::vector<std::string> segments(1);
    for (size_t i = 0; i < text.size(); ++i) {
      const unsigned char c = static_cast<unsigned char>(text[i]);
      if (c < 0x20 || c == 0x7f) return invalid(why, "contains a control character");
      if (c == '\\') {
        if (i + 1 == text.size()) return invalid(why, "ends with a lone backslash");
        const char next = text[++i];
        if (next != '.' && next != '\\') {
          return invalid(why, "has a backslash that escapes neither '.' nor '\\'");
        }
        segments.back().push_back(next);
      } else if (c == '.') {
        if (segments.back().empty()) {
          return invalid(why, "has an empty member name (a leading, trailing or double '.')");
        }
        if (segments.size() == kMaxClaimPathDepth) {
          return invalid(why, "has more than 16 levels");
        }
        segments.emplace_back();
      } else {
        segments.back().push_back(static_cast<char>(c));
      }
    }
    if (segments.back().empty()) {
      return invalid(why, "has an empty member name (a leading, trailing or double '.')");
    }
    out->segments_ = std::move(segments);
    return Status::Ok;
  } catch (const std::bad_alloc&) {
    return Status::OutOfMemory;
  }
}

const json_t* claimPathLookup(const json_t* root, const ClaimPath& path) noexcept {
  const json_t* v = root;
  for (const std::string& name : path.segments()) {
    v = jsonMember(v, name);  // nullptr when v is not an object or lacks the member
    if (v == nullptr) return nullptr;
  }
  return v == root ? nullptr : v;
}

bool renderClaimValue(const json_t* v, std::string* out) noexcept {
  try {
    out->clear();
    switch (json_typeof(v)) {
      case JSON_STRING:
        out->assign(jsonStringView(v));
        return true;
      case JSON_INTEGER:
        *out = std::to_string(static_cast<long long>(json_integer_value(v)));
        return true;
      case JSON_TRUE:
        *out = "true";
        return true;
      case JSON_FALSE:
        *out = "false";
        return true;
      case JSON_NULL:
        return true;
      case JSON_ARRAY: {
        bool all_strings = true;
        for (size_t i = 0; i < json_array_size(v) && all_strings; ++i) {
          all_strings = json_is_string(json_array_get(v, i));
        }
        if (!all_strings) break;
        for (size_t i = 0; i < json_array_size(v); ++i) {
          if (i > 0) out->push_back(',');
          out->append(jsonStringView(json_array_get(v, i)));
        }
        return true;
      }
      default:  // objects and reals
        break;
    }
    *out = jsonCompact(v);
    return true;
  } catch (const std::bad_alloc&) {
    out->clear();
    return false;
  }
}

}  // namespace tasker
