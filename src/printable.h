// Text from a file, a request or a library, as a message may show it: no byte that could end a
// log line or drive a terminal reaches the log or the console.
#pragma once

#include <string>
#include <string_view>

namespace tasker {

// s with each control byte (below 0x20, and 0x7f) replaced by `with`; with ascii_only, each byte
// above 0x7e (UTF-8 included) as well.
inline std::string withoutControlBytes(std::string_view s, char with = '?',
                                       bool ascii_only = false) {
  std::string out(s);
  for (char& c : out) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || (ascii_only && u > 0x7e)) c = with;
  }
  return out;
}

// At most max bytes of s, as withoutControlBytes shows them with ascii_only, and "..." when s
// was longer. With quotes, '"' and '\\' become '?' too: for text a message puts between quotes.
inline std::string shownText(std::string_view s, size_t max, bool quotes = false) {
  std::string out = withoutControlBytes(s.substr(0, max), '?', true);
  if (quotes) {
    for (char& c : out) {
      if (c == '"' || c == '\\') c = '?';
    }
  }
  if (s.size() > max) out += "...";
  return out;
}

}  // namespace tasker
