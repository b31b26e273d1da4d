#include "json.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "tasker_limits.h"

namespace tasker {

namespace {

void appendCompact(const json_t* v, std::string* out) {
  switch (json_typeof(v)) {
    case JSON_OBJECT: {
      out->push_back('{');
      bool first = true;
      const char* key;
      json_t* member;
      // Casting away const only to iterate: json_object_foreach does not modify the object.
      json_object_foreach(const_cast<json_t*>(v), key, member) {
        if (!first) out->push_back(',');
        first = false;
        jsonAppendQuoted(key, out);
        out->push_back(':');
        appendCompact(member, out);
      }
      out->push_back('}');
      break;
    }
    case JSON_ARRAY: {
      out->push_back('[');
      for (size_t i = 0; i < json_array_size(v); ++i) {
        if (i > 0) out->push_back(',');
        appendCompact(json_array_get(v, i), out);
      }
      out->push_back(']');
      break;
    }
    case JSON_STRING:
      jsonAppendQuoted(jsonStringView(v), out);
      break;
    case JSON_INTEGER:
      out->append(std::to_string(static_cast<long long>(json_integer_value(v))));
      break;
    case JSON_REAL:
      out->append(jsonRealText(json_real_value(v)));
      break;
    case JSON_TRUE:
      out->append("true");
      break;
    case JSON_FALSE:
      out->append("false");
      break;
    case JSON_NULL:
      out->append("null");
      break;
  }
}

}  // namespace

Status jsonCheckDepth(std::string_view text, size_t max_depth) noexcept {
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '{':
      case '[':
        if (++depth > max_depth) return Status::TokenBadJson;
        break;
      case '}':
      case ']':
        // Unbalanced closers are invalid JSON; jansson reports them.
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return Status::Ok;
}

Status jsonParseObject(std::string_view text, JsonPtr* out) noexcept {
  out->reset();
  Status s = jsonCheckDepth(text, kMaxJsonDepth);
  if (s != Status::Ok) return s;
  json_error_t err;
  JsonPtr root(json_loadb(text.data(), text.size(), JSON_REJECT_DUPLICATES, &err));
  if (!root) {
    switch (json_error_code(&err)) {
      case json_error_duplicate_key:
        return Status::TokenDuplicateMember;
      case json_error_out_of_memory:
        return Status::OutOfMemory;
      default:
        return Status::TokenBadJson;
    }
  }
  if (!json_is_object(root.get())) return Status::TokenBadJson;
  *out = std::move(root);
  return Status::Ok;
}

const json_t* jsonMember(const json_t* obj, std::string_view name) noexcept {
  if (!json_is_object(obj)) return nullptr;
  return json_object_getn(obj, name.data(), name.size());
}

std::string_view jsonStringView(const json_t* s) noexcept {
  if (!json_is_string(s)) return {};
  return std::string_view(json_string_value(s), json_string_length(s));
}

Status jsonGetString(const json_t* obj, std::string_view name, std::string_view* out) noexcept {
  const json_t* v = jsonMember(obj, name);
  if (v == nullptr) return Status::TokenMissingClaim;
  if (!json_is_string(v)) return Status::TokenBadClaimType;
  *out = jsonStringView(v);
  return Status::Ok;
}

Status jsonGetNumber(const json_t* obj, std::string_view name, JsonNumber* out) noexcept {
  const json_t* v = jsonMember(obj, name);
  if (v == nullptr) return Status::TokenMissingClaim;
  if (json_is_integer(v)) {
    out->is_integer = true;
    out->integer = static_cast<int64_t>(json_integer_value(v));
    out->real = 0;
    return Status::Ok;
  }
  if (json_is_real(v)) {
    out->is_integer = false;
    out->integer = 0;
    out->real = json_real_value(v);
    return Status::Ok;
  }
  return Status::TokenBadClaimType;
}

Status jsonGetArray(const json_t* obj, std::string_view name, const json_t** out) noexcept {
  const json_t* v = jsonMember(obj, name);
  if (v == nullptr) return Status::TokenMissingClaim;
  if (!json_is_array(v)) return Status::TokenBadClaimType;
  *out = v;
  return Status::Ok;
}

Status jsonGetObject(const json_t* obj, std::string_view name, const json_t** out) noexcept {
  const json_t* v = jsonMember(obj, name);
  if (v == nullptr) return Status::TokenMissingClaim;
  if (!json_is_object(v)) return Status::TokenBadClaimType;
  *out = v;
  return Status::Ok;
}

void jsonAppendQuoted(std::string_view s, std::string* out) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out->append("\\u00");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 0xf]);
        } else {
          out->push_back(ch);  // UTF-8 passes through, as jansson emits it
        }
    }
  }
  out->push_back('"');
}

std::string jsonRealText(double d) {
  // jansson never yields NaN or infinity from parsing; render them as null defensively.
  if (!std::isfinite(d)) return "null";
  char buf[40];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  std::string text(buf);
  if (text.find_first_of(".eE") == std::string::npos) text += ".0";
  return text;
}

std::string jsonCompact(const json_t* value) {
  std::string out;
  if (value != nullptr) appendCompact(value, &out);
  return out;
}

}  // namespace tasker
