#include "toml_guard.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <new>
#include <string>

// Same configuration as src/toml_config.cpp (see there): header-only, no exceptions.
#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#include <toml++/toml.h>

#include "printable.h"
#include "regular_file.h"

namespace tasker {

namespace {

bool g_child_parse = true;  // setTomlChildParseForTesting

constexpr size_t kMaxChildMessage = 1024;

bool isBareKeyChar(unsigned char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

bool isBlank(unsigned char c) noexcept { return c == ' ' || c == '\t'; }

// Length of the well-formed UTF-8 sequence at text[i] (1..4), or 0 (RFC 3629: no overlong forms,
// no surrogates, nothing above U+10FFFF).
size_t utf8SequenceLength(std::string_view text, size_t i) noexcept {
  const unsigned char c = static_cast<unsigned char>(text[i]);
  if (c < 0x80) return 1;
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;  // bounds of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (text.size() - i < len) return 0;
  for (size_t k = 1; k < len; ++k) {
    const unsigned char b = static_cast<unsigned char>(text[i + k]);
    if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return 0;
  }
  return len;
}

// Counts the newlines in text[from, to).
int newlines(std::string_view text, size_t from, size_t to) noexcept {
  int n = 0;
  for (size_t i = from; i < to && i < text.size(); ++i) n += text[i] == '\n';
  return n;
}

// ---- bare values (TOML 1.0: booleans, numbers, dates and times) ----

bool isDigit(char c) noexcept { return c >= '0' && c <= '9'; }
bool isHexDigit(char c) noexcept {
  return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Consumes digits accepted by `ok`, single '_' allowed only between two of them. False when
// none was found or an underscore is misplaced.
bool digitsWithUnderscores(std::string_view s, size_t* i, bool (*ok)(char)) noexcept {
  if (*i >= s.size() || !ok(s[*i])) return false;
  ++*i;
  while (*i < s.size()) {
    if (ok(s[*i])) {
      ++*i;
    } else if (s[*i] == '_' && *i + 1 < s.size() && ok(s[*i + 1])) {
      *i += 2;
    } else {
      break;
    }
  }
  return true;
}

bool isOctDigit(char c) noexcept { return c >= '0' && c <= '7'; }
bool isBinDigit(char c) noexcept { return c == '0' || c == '1'; }

bool isNumber(std::string_view v) noexcept {
  size_t i = 0;
  if (v.size() > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'o' || v[1] == 'b')) {
    i = 2;
    bool (*ok)(char) = v[1] == 'x' ? isHexDigit : v[1] == 'o' ? isOctDigit : isBinDigit;
    return digitsWithUnderscores(v, &i, ok) && i == v.size();
  }
  if (i < v.size() && (v[i] == '+' || v[i] == '-')) ++i;
  std::string_view rest = v.substr(i);
  if (rest == "inf" || rest == "nan") return true;
  // Integer part: 0, or no leading zero.
  if (i < v.size() && v[i] == '0' && i + 1 < v.size() && isDigit(v[i + 1])) return false;
  if (!digitsWithUnderscores(v, &i, isDigit)) return false;
  if (i < v.size() && v[i] == '.') {
    ++i;
    if (!digitsWithUnderscores(v, &i, isDigit)) return false;
  }
  if (i < v.size() && (v[i] == 'e' || v[i] == 'E')) {
    ++i;
    if (i < v.size() && (v[i] == '+' || v[i] == '-')) ++i;
    if (!digitsWithUnderscores(v, &i, isDigit)) return false;
  }
  return i == v.size();
}

// Exactly n digits at v[*i].
bool fixedDigits(std::string_view v, size_t* i, size_t n) noexcept {
  for (size_t k = 0; k < n; ++k, ++*i) {
    if (*i >= v.size() || !isDigit(v[*i])) return false;
  }
  return true;
}

bool isDate(std::string_view v, size_t* i) noexcept {
  return fixedDigits(v, i, 4) && *i < v.size() && v[(*i)++] == '-' && fixedDigits(v, i, 2) &&
         *i < v.size() && v[(*i)++] == '-' && fixedDigits(v, i, 2);
}

// HH:MM:SS[.fraction], then, when `offset`, an optional Z or +HH:MM / -HH:MM.
bool isTime(std::string_view v, size_t* i, bool offset) noexcept {
  if (!(fixedDigits(v, i, 2) && *i < v.size() && v[(*i)++] == ':' && fixedDigits(v, i, 2) &&
        *i < v.size() && v[(*i)++] == ':' && fixedDigits(v, i, 2))) {
    return false;
  }
  if (*i < v.size() && v[*i] == '.') {
    ++*i;
    if (*i >= v.size() || !isDigit(v[*i])) return false;
    while (*i < v.size() && isDigit(v[*i])) ++*i;
  }
  if (!offset || *i == v.size()) return true;
  if (v[*i] == 'Z' || v[*i] == 'z') {
    ++*i;
    return true;
  }
  if (v[*i] != '+' && v[*i] != '-') return false;
  ++*i;
  return fixedDigits(v, i, 2) && *i < v.size() && v[(*i)++] == ':' && fixedDigits(v, i, 2);
}

// A whole bare value token: what toml++'s value parsers are safe with.
bool isBareValue(std::string_view v) noexcept {
  if (v == "true" || v == "false") return true;
  if (isNumber(v)) return true;
  size_t i = 0;
  if (isTime(v, &i, false) && i == v.size()) return true;  // local time
  i = 0;
  if (!isDate(v, &i)) return false;
  if (i == v.size()) return true;  // local date
  if (v[i] != 'T' && v[i] != 't' && v[i] != ' ') return false;
  ++i;
  return isTime(v, &i, true) && i == v.size();
}

bool isValueTerminator(unsigned char c) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',' || c == ']' || c == '}' ||
         c == '#';
}

// A small TOML 1.0 lexer: strings, comments, table headers, the nesting of arrays and inline
// tables, and where a value starts. It accepts every valid TOML 1.0 document and rejects the
// shapes toml++ 3.3.0 cannot handle safely; other invalid text is left to toml++'s own errors.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  Status run(int* line, std::string* what);

 private:
  enum class State { Normal, Comment, Basic, Literal, MultiBasic, MultiLiteral };

  Status fail(const char* why, int* line, std::string* what) {
    *line = line_;
    *what = why;
    return Status::ConfigFileSyntax;
  }
  bool at(size_t i, char c) const noexcept { return i < text_.size() && text_[i] == c; }
  bool tripleAt(size_t i, char c) const noexcept { return at(i, c) && at(i + 1, c) && at(i + 2, c); }
  unsigned char byte(size_t i) const noexcept { return static_cast<unsigned char>(text_[i]); }
  bool inArray() const noexcept { return !nesting_.empty() && nesting_.back() == '['; }

  std::string_view text_;
  size_t i_ = 0;
  int line_ = 1;
  std::string nesting_;  // open '[' (arrays) and '{' (inline tables), innermost last
};

Status Scanner::run(int* line, std::string* what) {
  const size_t n = text_.size();

  // TOML is UTF-8 throughout; toml++'s decoder is not trusted with anything else.
  for (size_t i = 0; i < n;) {
    const size_t len = utf8SequenceLength(text_, i);
    if (len == 0) {
      line_ = 1 + newlines(text_, 0, i);
      return fail("invalid UTF-8", line, what);
    }
    i += len;
  }
  line_ = 1;
  if (text_.substr(0, 3) == "\xEF\xBB\xBF") i_ = 3;  // byte order mark

  State state = State::Normal;
  bool line_start = true;     // Normal state, nothing but blanks so far on this line
  bool expect_value = false;  // after '=', or after '[' / ',' in an array
  while (i_ < n) {
    const unsigned char c = byte(i_);
    switch (state) {
      case State::Normal: {
        if (c == '\n') {
          ++line_;
          line_start = true;
          if (nesting_.empty()) expect_value = false;  // "a =" then a newline: toml++'s error
          ++i_;
          continue;
        }
        if (c == ' ' || c == '\t' || c == '\r') {
          ++i_;
          continue;
        }
        if (c == '#') {
          state = State::Comment;
          ++i_;
          continue;
        }
        // toml++ classifies such a code point with is_non_ascii_horizontal_whitespace(), which
        // reaches __builtin_unreachable() for most of them. TOML 1.0 allows non-ASCII only in
        // strings and comments, and control characters nowhere outside them.
        if (c >= 0x80) return fail("non-ASCII character outside a string or comment", line, what);
        if (c < 0x20 || c == 0x7F) return fail("control character", line, what);
        const bool value_start = expect_value;
        expect_value = false;
        line_start = line_start && c == '[';  // read below, then cleared
        if (c == '"' || c == '\'') {
          if (tripleAt(i_, static_cast<char>(c))) {
            state = c == '"' ? State::MultiBasic : State::MultiLiteral;
            i_ += 3;
          } else {
            state = c == '"' ? State::Basic : State::Literal;
            ++i_;
          }
          line_start = false;
          continue;
        }
        if (c == '[' && line_start && nesting_.empty() && !value_start) {
          // A table header: toml++ asserts that a key (or ']') follows '[' or '[['.
          size_t j = i_ + 1;
          while (j < n && isBlank(byte(j))) ++j;
          if (at(j, '[')) ++j;
          while (j < n && isBlank(byte(j))) ++j;
          if (j >= n ||
              !(isBareKeyChar(byte(j)) || byte(j) == '"' || byte(j) == '\'' || byte(j) == ']')) {
            return fail("a table header needs a key after '['", line, what);
          }
          i_ = j;
          line_start = false;
          continue;
        }
        line_start = false;
        if (value_start && c != '[' && c != '{' && c != ']' && c != '}' && c != ',') {
          // A bare value: toml++'s number and date-time parsers assert on shapes they did not
          // expect (a NUL after "1979-05-27T", ...), so only well-formed TOML 1.0 values pass.
          size_t j = i_;
          while (j < n && !isValueTerminator(byte(j))) ++j;
          // "1979-05-27 07:32:00": a date, one space, then a time is one value.
          if (j - i_ == 10 && at(j, ' ') && j + 1 < n && isDigit(text_[j + 1])) {
            ++j;
            while (j < n && !isValueTerminator(byte(j))) ++j;
          }
          for (size_t k = i_; k < j; ++k) {
            if (byte(k) >= 0x80) {
              return fail("non-ASCII character outside a string or comment", line, what);
            }
            if (byte(k) < 0x20 || byte(k) == 0x7F) return fail("control character", line, what);
          }
          if (!isBareValue(text_.substr(i_, j - i_))) {
            return fail("not a TOML value (string, number, boolean, date or time)", line, what);
          }
          i_ = j;
          continue;
        }
        if (c == '[') {
          nesting_.push_back('[');
          expect_value = true;
        } else if (c == '{') {
          nesting_.push_back('{');
        } else if (c == ']' || c == '}') {
          // toml++ asserts that a value follows '[' or ',' in an array; '}' is not one.
          if (!nesting_.empty() && nesting_.back() != (c == ']' ? '[' : '{')) {
            return fail(c == ']' ? "unexpected ']'" : "unexpected '}'", line, what);
          }
          if (!nesting_.empty()) nesting_.pop_back();
        } else if (c == ',') {
          expect_value = inArray();
        } else if (c == '=') {
          expect_value = true;
        }
        ++i_;
        continue;
      }

      case State::Comment:
        if (c == '\n') {
          state = State::Normal;
        } else {
          ++i_;
        }
        continue;

      case State::Basic:
      case State::Literal:
        if (c == '\n') {  // a syntax error toml++ reports itself
          state = State::Normal;
          continue;
        }
        if (state == State::Basic && c == '\\') {
          i_ += at(i_ + 1, '\n') ? 1 : 2;
          continue;
        }
        if (c == (state == State::Basic ? '"' : '\'')) state = State::Normal;
        ++i_;
        continue;

      case State::MultiBasic:
      case State::MultiLiteral: {
        const char quote = state == State::MultiBasic ? '"' : '\'';
        if (c == '\n') {
          ++line_;
          ++i_;
          continue;
        }
        if (state == State::MultiBasic && c == '\\') {
          // toml++ tests the escaped character, and after a line-ending backslash every character
          // it skips, with is_whitespace(), which is unsafe for non-ASCII code points.
          size_t j = i_ + 1;
          if (j < n && byte(j) >= 0x80) {
            return fail("non-ASCII character after '\\' in a multi-line string", line, what);
          }
          size_t k = j;
          while (k < n && (isBlank(byte(k)) || byte(k) == '\r')) ++k;
          if (k > j && k < n && byte(k) >= 0x80) {
            // "\ é": toml++ skips the blanks with is_whitespace() before it finds no line end.
            return fail("non-ASCII character after '\\' in a multi-line string", line, what);
          }
          if (at(k, '\n')) {
            while (k < n && (isBlank(byte(k)) || byte(k) == '\r' || byte(k) == '\n')) {
              line_ += byte(k) == '\n';
              ++k;
            }
            if (k < n && byte(k) >= 0x80) {
              return fail("non-ASCII character after a line-ending backslash", line, what);
            }
            i_ = k;
          } else {
            i_ = j + (j < n ? 1 : 0);
          }
          continue;
        }
        if (tripleAt(i_, quote)) {
          // Up to two more quotes belong to the string's content.
          i_ += 3;
          for (int extra = 0; extra < 2 && at(i_, quote); ++extra) ++i_;
          state = State::Normal;
          continue;
        }
        ++i_;
        continue;
      }
    }
  }
  return Status::Ok;
}

// Writes all of data to fd; false on error.
bool writeAll(int fd, const char* data, size_t len) noexcept {
  while (len > 0) {
    ssize_t w = ::write(fd, data, len);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += w;
    len -= static_cast<size_t>(w);
  }
  return true;
}

int64_t nowMs() noexcept {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// Restores the signal mask when the wait is over, whatever path leaves it.
class SigchldBlock {
 public:
  SigchldBlock() noexcept {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    ok_ = sigprocmask(SIG_BLOCK, &set, &old_) == 0;
  }
  ~SigchldBlock() {
    if (ok_) sigprocmask(SIG_SETMASK, &old_, nullptr);
  }
  SigchldBlock(const SigchldBlock&) = delete;
  SigchldBlock& operator=(const SigchldBlock&) = delete;

 private:
  sigset_t old_;
  bool ok_ = false;
};

// Waits for pid, polling until deadline_ms and then killing it. Returns the wait status, or -1
// when the child was reaped elsewhere (SIGCHLD ignored by the caller's environment).
int reap(pid_t pid, int64_t deadline_ms, bool* killed) noexcept {
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return -1;
    if (nowMs() >= deadline_ms) {
      kill(pid, SIGKILL);
      *killed = true;
      while ((r = waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
      }
      return r == pid ? status : -1;
    }
    struct timespec ts = {0, 2 * 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
}

// Runs in the child: never returns.
[[noreturn]] void childMain(int fd, const std::function<std::string()>& child) noexcept {
  // A crash must end the child: no handler inherited from the caller (a test framework's, say)
  // may take over. No core files for an expected crash, no assertion text on nginx's stderr.
  for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGSYS, SIGTRAP}) signal(sig, SIG_DFL);
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  int devnull = ::open("/dev/null", O_WRONLY);
  if (devnull >= 0) {
    dup2(devnull, STDERR_FILENO);
    if (devnull != STDERR_FILENO) ::close(devnull);
  }
  std::string message;
  try {
    message = child();
  } catch (...) {
    _exit(3);
  }
  if (message.size() > kMaxChildMessage) message.resize(kMaxChildMessage);
  // 'R' marks a complete result: a child that dies mid-write is told apart from a finished one.
  const char mark = 'R';
  if (!writeAll(fd, &mark, 1) || !writeAll(fd, message.data(), message.size())) _exit(4);
  _exit(0);
}

std::string describeParseError(const std::string& path, const toml::parse_error& e) {
  return path + ":" + std::to_string(e.source().begin.line) + ": " + tomlErrorText(e.description());
}

// Where the fragment opened by the quote at `open` ends: its closing quote, the first one that
// ends the text or comes before a space or punctuation (toml++ writes "'x' is ...", "'x', saw",
// "'x'"); npos when it runs to the end (cut by toml++'s 512-byte message buffer).
size_t fragmentEnd(std::string_view s, size_t open) {
  for (size_t j = open + 1; j < s.size(); ++j) {
    if (s[j] != '\'') continue;
    if (j + 1 == s.size() || std::strchr(" ,.;:)", s[j + 1]) != nullptr) return j;
  }
  return std::string_view::npos;
}

}  // namespace

std::string tomlErrorText(std::string_view description) {
  constexpr size_t kShownBytes = 2;
  std::string out;
  size_t i = 0;
  while (i < description.size()) {
    if (description[i] != '\'') {
      out.push_back(description[i++]);
      continue;
    }
    // one character, a quote included ("saw '''"), or else up to the closing quote
    const bool one = i + 2 < description.size() && description[i + 2] == '\'';
    const size_t close = one ? i + 2 : fragmentEnd(description, i);
    if (close != std::string_view::npos && close - i - 1 <= kShownBytes) {
      out.append(description.substr(i, close - i + 1));
    } else {
      out.append("'...'");
    }
    i = close == std::string_view::npos ? description.size() : close + 1;
  }
  return withoutControlBytes(out);
}

Status prevalidateToml(std::string_view text, int* line, std::string* what) {
  Scanner scanner(text);
  return scanner.run(line, what);
}

Status runTomlChild(const std::function<std::string()>& child, int timeout_ms,
                    std::string* message) {
  message->clear();
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    *message = std::string("pipe() failed: ") + std::strerror(errno);
    return Status::Internal;
  }
  SigchldBlock block;
  const int64_t deadline = nowMs() + (timeout_ms > 0 ? timeout_ms : 0);
  pid_t pid = fork();
  if (pid < 0) {
    const int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    *message = std::string("fork() failed: ") + std::strerror(err);
    return Status::Internal;
  }
  if (pid == 0) {
    ::close(fds[0]);
    childMain(fds[1], child);
  }
  ::close(fds[1]);

  std::string got;
  bool timed_out = false;
  bool eof = false;
  char buf[512];
  while (!eof) {
    const int64_t left = deadline - nowMs();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    struct pollfd p = {fds[0], POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left));
    if (r < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (r == 0) continue;  // the loop head notices the deadline
    ssize_t len = ::read(fds[0], buf, sizeof(buf));
    if (len < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      break;
    }
    if (len == 0) {
      eof = true;
    } else if (got.size() < kMaxChildMessage + 1) {
      got.append(buf, static_cast<size_t>(len));
    }
  }
  ::close(fds[0]);

  bool killed = false;
  const int status = reap(pid, timed_out ? nowMs() : deadline, &killed);
  if (timed_out || (killed && got.empty())) {
    *message = "timed out after " + std::to_string(timeout_ms) + " ms";
    return Status::ConfigFileSyntax;
  }
  if (status != -1 && WIFSIGNALED(status)) {
    *message = "killed by signal " + std::to_string(WTERMSIG(status));
    return Status::ConfigFileSyntax;
  }
  if (!eof || got.empty() || got[0] != 'R' || (status != -1 && WEXITSTATUS(status) != 0)) {
    *message = "exited without a result";
    if (status != -1 && WIFEXITED(status)) {
      *message += " (status " + std::to_string(WEXITSTATUS(status)) + ")";
    }
    return Status::ConfigFileSyntax;
  }
  message->assign(got, 1, kMaxChildMessage);
  return Status::Ok;
}

Status parseTomlInChild(const std::string& path, std::string_view text, int timeout_ms,
                        std::string* error) {
  std::string result;
  Status st = runTomlChild(
      [&]() -> std::string {
        toml::parse_result parsed = toml::parse(text, std::string_view(path));
        if (parsed) return "ok";
        return "error " + describeParseError(path, parsed.error());
      },
      timeout_ms, &result);
  if (st == Status::Internal) {
    *error = path + ": cannot check the file: " + result;
    return st;
  }
  if (st != Status::Ok) {
    *error = path + ": not valid TOML: the TOML parser failed on it (" + result + ")";
    return st;
  }
  if (result.compare(0, 6, "error ") == 0) {
    *error = result.substr(6);
    return Status::ConfigFileSyntax;
  }
  if (result != "ok") {
    *error = path + ": not valid TOML: the TOML parser gave no verdict";
    return Status::ConfigFileSyntax;
  }
  return Status::Ok;
}

Status readTomlFile(const std::string& path, std::string* text, std::string* error) {
  int err = 0;
  switch (readRegularFile(path, kMaxTomlFileBytes, text, &err)) {
    case ReadFileResult::Ok:
      return Status::Ok;
    case ReadFileResult::Unreadable:
      *error = path + ": cannot read: " + std::strerror(err);
      return Status::ConfigFileUnreadable;
    case ReadFileResult::NotRegular:
      *error = path + ": cannot read: " + (err != 0 ? std::strerror(err) : "not a regular file");
      return Status::ConfigFileUnreadable;
    case ReadFileResult::TooLarge:
      break;
  }
  *error = path + ": larger than " + std::to_string(kMaxTomlFileBytes) + " bytes";
  return Status::ConfigInvalid;
}

Status checkTomlText(const std::string& path, std::string_view text, std::string* error) {
  try {
    if (text.size() > kMaxTomlFileBytes) {
      *error = path + ": larger than " + std::to_string(kMaxTomlFileBytes) + " bytes";
      return Status::ConfigInvalid;
    }
    int line = 0;
    std::string what;
    Status st = prevalidateToml(text, &line, &what);
    if (st != Status::Ok) {
      *error = path + ":" + std::to_string(line) + ": " + what;
      return st;
    }
    if (!g_child_parse) return Status::Ok;
    return parseTomlInChild(path, text, kTomlChildTimeoutMs, error);
  } catch (const std::bad_alloc&) {
    return Status::OutOfMemory;
  }
}

void setTomlChildParseForTesting(bool enabled) { g_child_parse = enabled; }

}  // namespace tasker
