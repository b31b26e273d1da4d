#include "regular_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

namespace tasker {

namespace {

// Closes the descriptor when the read is over, whichever way it ends.
class Fd {
 public:
  explicit Fd(int fd) noexcept : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const noexcept { return fd_; }

 private:
  int fd_;
};

// A file that fails may still be a key (a private one, by mistake): what was read is zeroed
// before it is freed.
ReadFileResult wipe(std::string* text, ReadFileResult r) noexcept {
  explicit_bzero(text->data(), text->size());
  return r;
}

}  // namespace

ReadFileResult readRegularFile(const std::string& path, size_t max_bytes, std::string* out,
                               int* err) {
  *err = 0;
  Fd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (fd.get() < 0) {
    *err = errno;
    return ReadFileResult::Unreadable;
  }
  struct stat sb;
  if (::fstat(fd.get(), &sb) != 0) {
    *err = errno;
    return ReadFileResult::Unreadable;
  }
  if (!S_ISREG(sb.st_mode)) {
    *err = S_ISDIR(sb.st_mode) ? EISDIR : 0;
    return ReadFileResult::NotRegular;
  }
  if (static_cast<unsigned long long>(sb.st_size) > max_bytes) return ReadFileResult::TooLarge;

  // Sized from fstat, plus one byte to see the end (or growth) without a second read call; a
  // file that grew while read is read on, in steps, up to one byte over the cap.
  std::string text(static_cast<size_t>(sb.st_size) + 1, '\0');
  size_t got = 0;
  for (;;) {
    if (got == text.size()) {
      if (got > max_bytes) return wipe(&text, ReadFileResult::TooLarge);
      text.resize(std::min(got + 4096, max_bytes + 1));
    }
    const ssize_t n = ::read(fd.get(), &text[got], text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *err = errno;
      return wipe(&text, ReadFileResult::Unreadable);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  if (got > max_bytes) return wipe(&text, ReadFileResult::TooLarge);
  text.resize(got);
  *out = std::move(text);
  return ReadFileResult::Ok;
}

}  // namespace tasker
