#include "cli/cli_util.h"

#include <time.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <openssl/crypto.h>

#include "printable.h"

namespace tasker {
namespace cli {

namespace {

int b64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-' || c == '+') return 62;
  if (c == '_' || c == '/') return 63;
  return -1;
}

bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

}  // namespace

bool readFile(const std::string& path, size_t max_bytes, std::string* out, std::string* error) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    *error = "cannot read " + path + ": " + std::strerror(errno);
    return false;
  }
  std::string data;
  char buf[8192];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    data.append(buf, n);
    if (data.size() > max_bytes) {
      std::fclose(f);
      *error = "cannot read " + path + ": larger than " + std::to_string(max_bytes) + " bytes";
      return false;
    }
  }
  bool failed = std::ferror(f) != 0;
  int err = errno;
  std::fclose(f);
  if (failed) {
    *error = "cannot read " + path + ": " + std::strerror(err);
    return false;
  }
  *out = std::move(data);
  return true;
}

void cleanse(std::string* s) {
  if (!s->empty()) OPENSSL_cleanse(&(*s)[0], s->size());
  s->clear();
}

bool readStdin(size_t max_bytes, std::string* out, std::string* error) {
  std::string data;
  char buf[8192];
  size_t n;
  errno = 0;
  while (data.size() <= max_bytes && (n = std::fread(buf, 1, sizeof buf, stdin)) > 0) {
    data.append(buf, n);
  }
  const int err = errno;
  OPENSSL_cleanse(buf, sizeof buf);
  if (data.size() > max_bytes) {
    *error = "larger than " + std::to_string(max_bytes) + " bytes";
  } else if (std::ferror(stdin)) {
    *error = err != 0 ? std::strerror(err) : "read error";
  } else {
    *out = std::move(data);
    return true;
  }
  cleanse(&data);
  return false;
}

std::string stripTrailingNewline(std::string s) {
  if (!s.empty() && s.back() == '\n') {
    s.pop_back();
    if (!s.empty() && s.back() == '\r') s.pop_back();
  }
  return s;
}

std::string oneLine(std::string_view s) { return withoutControlBytes(s, ' '); }

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && isSpace(s[b])) ++b;
  while (e > b && isSpace(s[e - 1])) --e;
  return std::string(s.substr(b, e - b));
}

std::vector<std::string> splitCommaList(std::string_view csv) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= csv.size()) {
    size_t comma = csv.find(',', start);
    if (comma == std::string_view::npos) comma = csv.size();
    std::string item = trim(csv.substr(start, comma - start));
    if (!item.empty()) out.push_back(std::move(item));
    start = comma + 1;
  }
  return out;
}

bool base64UrlDecode(std::string_view in, std::string* out) {
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  std::string data;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = b64Value(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      data += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  *out = std::move(data);
  return true;
}

JsonPtr decodeJwtSegment(std::string_view token, int index) {
  size_t start = 0;
  for (int i = 0; i < index; ++i) {
    size_t dot = token.find('.', start);
    if (dot == std::string_view::npos) return nullptr;
    start = dot + 1;
  }
  size_t end = token.find('.', start);
  if (end == std::string_view::npos) end = token.size();
  std::string text;
  if (!base64UrlDecode(token.substr(start, end - start), &text)) return nullptr;
  JsonPtr j(json_loadb(text.data(), text.size(), JSON_REJECT_DUPLICATES, nullptr));
  if (!j || !json_is_object(j.get())) return nullptr;
  return j;
}

std::string rfc3339(int64_t unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm;
  if (!gmtime_r(&t, &tm)) return std::to_string(unix_seconds);
  char buf[64];
  if (strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
    return std::to_string(unix_seconds);
  }
  return buf;
}

std::string prettyJson(const json_t* j) {
  char* text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
  if (!text) return "null";
  std::string out(text);
  std::free(text);
  return out;
}

}  // namespace cli
}  // namespace tasker
