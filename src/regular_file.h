// Reading a file an operator names (a key, a CA bundle, a TOML file) at configuration time,
// without ever waiting on it: the path is opened without blocking (a FIFO opened for reading would
// otherwise wait for a writer, and `nginx -t` or a reload would hang), and the type and size are
// taken from the descriptor opened, so a file renamed over the path after a check is not the one
// read. Callers word their own messages from the result.
//
// Usage:
//   std::string text;
//   int err = 0;
//   switch (readRegularFile(path, kMaxBytes, &text, &err)) {
//     case ReadFileResult::Ok:         ... text holds the whole file ...
//     case ReadFileResult::Unreadable: ... std::strerror(err) ...
//     case ReadFileResult::NotRegular: ... err is EISDIR for a directory, else 0 ...
//     case ReadFileResult::TooLarge:   ... more than kMaxBytes ...
//   }
#pragma once

#include <cstddef>
#include <string>

namespace tasker {

enum class ReadFileResult {
  Ok,
  Unreadable,  // open, fstat or read failed: *err is errno
  NotRegular,  // a FIFO, device, socket or directory (*err: EISDIR for a directory, else 0)
  TooLarge,    // more than max_bytes (by its size when opened, or as it grew while read)
};

// Reads the whole regular file at path, at most max_bytes, into *out (left unchanged unless Ok).
// Throws std::bad_alloc only; the descriptor is closed on every path.
ReadFileResult readRegularFile(const std::string& path, size_t max_bytes, std::string* out,
                               int* err);

}  // namespace tasker
