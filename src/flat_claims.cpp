#include "flat_claims.h"

#include <cstring>
#include <limits>
#include <new>

#include "json.h"
#include "tasker_limits.h"

namespace tasker {

namespace {

constexpr size_t kMaxFlatIntegerDigits = 18;  // below 2^63 whatever the digits: no overflow

bool isJsonSpace(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool isDigit(char c) noexcept { return c >= '0' && c <= '9'; }

void skipSpace(std::string_view t, size_t* pos) noexcept {
  while (*pos < t.size() && isJsonSpace(t[*pos])) ++*pos;
}

// Bytes a plain string may hold: printable ASCII (0x20-0x7e) but '"' and '\\'.
struct PlainTable {
  bool plain[256] = {};
  constexpr PlainTable() {
    for (int c = 0x20; c <= 0x7e; ++c) plain[c] = c != '"' && c != '\\';
  }
};
constexpr PlainTable kPlain;

// A string with no escapes and only printable ASCII at t[*pos] (the opening quote): *start and
// *len give its bytes between the quotes, *pos ends after the closing quote.
bool readPlainString(std::string_view t, size_t* pos, size_t* start, size_t* len) noexcept {
  size_t i = *pos;
  if (i >= t.size() || t[i] != '"') return false;
  *start = ++i;
  while (i < t.size() && kPlain.plain[static_cast<unsigned char>(t[i])]) ++i;
  if (i >= t.size() || t[i] != '"') return false;  // the end, an escape or another byte
  *len = i - *start;
  *pos = i + 1;
  return true;
}

// FNV-1a: cheap, and only ever compared before the bytes themselves are.
uint32_t nameHash(std::string_view s) noexcept {
  uint32_t h = 2166136261u;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 16777619u;
  }
  return h;
}

// An integer at t[*pos]: '-'? then "0" or a non-zero digit and at most 17 more. What follows
// is the caller's business: a digit, '.', 'e' or 'E' there is not a member separator, so a
// leading zero, a real or an exponent makes the caller decline.
bool readInteger(std::string_view t, size_t* pos, int64_t* out) noexcept {
  size_t i = *pos;
  bool negative = false;
  if (i < t.size() && t[i] == '-') {
    negative = true;
    ++i;
  }
  if (i >= t.size() || !isDigit(t[i])) return false;
  int64_t v = 0;
  if (t[i] == '0') {
    if (negative) return false;  // "-0": jansson's integer 0, but not worth reproducing
    ++i;
  } else {
    size_t digits = 0;
    for (; i < t.size() && isDigit(t[i]); ++i) {
      if (++digits > kMaxFlatIntegerDigits) return false;
      v = v * 10 + (t[i] - '0');
    }
  }
  *out = negative ? -v : v;
  *pos = i;
  return true;
}

// true, false or null at t[*pos].
bool readLiteral(std::string_view t, size_t* pos, FlatKind* kind) noexcept {
  std::string_view rest = t.substr(*pos);
  if (rest.substr(0, 4) == "true") {
    *kind = FlatKind::True;
    *pos += 4;
  } else if (rest.substr(0, 5) == "false") {
    *kind = FlatKind::False;
    *pos += 5;
  } else if (rest.substr(0, 4) == "null") {
    *kind = FlatKind::Null;
    *pos += 4;
  } else {
    return false;
  }
  return true;
}

// An array of plain strings at t[*pos] (the '['); *count is its length.
bool readStringArray(std::string_view t, size_t* pos, int64_t* count) noexcept {
  size_t i = *pos + 1;
  int64_t n = 0;
  skipSpace(t, &i);
  if (i < t.size() && t[i] == ']') {
    *count = 0;
    *pos = i + 1;
    return true;
  }
  for (;;) {
    size_t start, len;
    if (!readPlainString(t, &i, &start, &len)) return false;
    ++n;
    skipSpace(t, &i);
    if (i >= t.size()) return false;
    if (t[i] == ']') break;
    if (t[i] != ',') return false;
    ++i;
    skipSpace(t, &i);
  }
  *count = n;
  *pos = i + 1;
  return true;
}

// One member's value at t[*pos] into *m.
bool readValue(std::string_view t, size_t* pos, FlatMember* m) noexcept {
  if (*pos >= t.size()) return false;
  const size_t start = *pos;
  const char c = t[start];
  size_t vstart = start, vlen = 0;
  if (c == '"') {
    if (!readPlainString(t, pos, &vstart, &vlen)) return false;
    m->kind = FlatKind::String;
  } else if (c == '[') {
    if (!readStringArray(t, pos, &m->integer)) return false;
    m->kind = FlatKind::StringArray;
    vlen = *pos - start;
  } else if (c == '-' || isDigit(c)) {
    if (!readInteger(t, pos, &m->integer)) return false;
    m->kind = FlatKind::Integer;
    vlen = *pos - start;
  } else {
    if (!readLiteral(t, pos, &m->kind)) return false;
    vlen = *pos - start;
  }
  m->value_pos = static_cast<uint32_t>(vstart);
  m->value_len = static_cast<uint32_t>(vlen);
  return true;
}

bool readObject(std::string_view t, FlatMembers* out) {
  size_t pos = 0;
  skipSpace(t, &pos);
  if (pos >= t.size() || t[pos] != '{') return false;
  ++pos;
  skipSpace(t, &pos);
  if (pos < t.size() && t[pos] == '}') {
    ++pos;
  } else {
    for (;;) {
      FlatMember m;
      size_t start, len;
      if (!readPlainString(t, &pos, &start, &len)) return false;
      m.name_pos = static_cast<uint32_t>(start);
      m.name_len = static_cast<uint32_t>(len);
      const std::string_view name = t.substr(start, len);
      m.name_hash = nameHash(name);
      for (const FlatMember& seen : *out) {
        // A duplicate: jansson (JSON_REJECT_DUPLICATES) rejects the document.
        if (seen.name_hash == m.name_hash && seen.name(t) == name) return false;
      }
      if (out->size() == kMaxClaims) return false;  // jansson's path: TokenBadJson
      skipSpace(t, &pos);
      if (pos >= t.size() || t[pos] != ':') return false;
      ++pos;
      skipSpace(t, &pos);
      if (!readValue(t, &pos, &m)) return false;
      out->push_back(m);
      skipSpace(t, &pos);
      if (pos >= t.size()) return false;
      if (t[pos] == '}') {
        ++pos;
        break;
      }
      if (t[pos] != ',') return false;  // also a real, an exponent, a leading zero, "truex"
      ++pos;
      skipSpace(t, &pos);
    }
  }
  skipSpace(t, &pos);
  return pos == t.size();
}

}  // namespace

const FlatMember* FlatMembers::find(std::string_view text, std::string_view name) const noexcept {
  for (const FlatMember& m : *this) {
    if (m.name_len == name.size() &&
        std::memcmp(text.data() + m.name_pos, name.data(), name.size()) == 0) {
      return &m;
    }
  }
  return nullptr;
}

void FlatMembers::clear() noexcept {
  more_.clear();
  size_ = 0;
}

void FlatMembers::push_back(const FlatMember& m) {
  if (size_ < kInline) {
    inline_[size_++] = m;
    return;
  }
  if (size_ == kInline) {
    more_.reserve(2 * kInline);
    more_.assign(inline_.begin(), inline_.end());
  }
  more_.push_back(m);
  ++size_;
}

bool readFlatClaims(std::string_view text, FlatMembers* out) noexcept {
  out->clear();
  if (text.size() > std::numeric_limits<uint32_t>::max()) return false;
  try {
    if (readObject(text, out)) return true;
  } catch (const std::bad_alloc&) {
    // declined: the jansson path reports the shortage
  }
  out->clear();
  return false;
}

bool renderFlatValue(std::string_view text, const FlatMember& m, std::string* out) noexcept {
  try {
    out->clear();
    switch (m.kind) {
      case FlatKind::String:
        out->assign(m.value(text));
        break;
      case FlatKind::Integer:
        *out = std::to_string(static_cast<long long>(m.integer));
        break;
      case FlatKind::True:
        *out = "true";
        break;
      case FlatKind::False:
        *out = "false";
        break;
      case FlatKind::Null:
        break;
      case FlatKind::StringArray: {
        bool first = true;
        forEachFlatString(text, m, [&](std::string_view s) {
          if (!first) out->push_back(',');
          first = false;
          out->append(s);
          return true;
        });
        break;
      }
    }
    return true;
  } catch (const std::bad_alloc&) {
    out->clear();
    return false;
  }
}

std::string flatCompactJson(std::string_view text, const FlatMembers& members) {
  std::string out = "{";
  bool first_member = true;
  for (const FlatMember& m : members) {
    if (!first_member) out.push_back(',');
    first_member = false;
    jsonAppendQuoted(m.name(text), &out);
    out.push_back(':');
    switch (m.kind) {
      case FlatKind::String:
        jsonAppendQuoted(m.value(text), &out);
        break;
      case FlatKind::Integer:
        out.append(std::to_string(static_cast<long long>(m.integer)));
        break;
      case FlatKind::True:
        out.append("true");
        break;
      case FlatKind::False:
        out.append("false");
        break;
      case FlatKind::Null:
        out.append("null");
        break;
      case FlatKind::StringArray: {
        out.push_back('[');
        bool first = true;
        forEachFlatString(text, m, [&](std::string_view s) {
          if (!first) out.push_back(',');
          first = false;
          jsonAppendQuoted(s, &out);
          return true;
        });
        out.push_back(']');
        break;
      }
    }
  }
  out.push_back('}');
  return out;
}

}  // namespace tasker
