// tasker-ctl: command-line companion of ngx_http_tasker_auth_module (SPEC 7). Dispatches
// `tasker-ctl <group> <command> [options]` to the command table in commands.h.
//
// Exit statuses: 0 success, 1 failure of the checked thing, 2 usage error. Every error is one
// line on stderr ("tasker-ctl: ..."; oneLine() keeps it so whatever the message quotes), and so
// is every warning ("tasker-ctl: warning: ..."). No exception leaves main(). A command's output
// goes through std::cout only: main() checks that it reached stdout (exit 1 when not).

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <new>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/cli_util.h"
#include "cli/commands.h"

namespace tasker {
namespace cli {

namespace {

constexpr const char* kVersion = "0.1.0";

const std::vector<const CommandGroup*>& groups() {
  static const std::vector<const CommandGroup*> all{&authGroup(), &taskGroup()};
  return all;
}

void printTopHelp() {
  std::cout << "tasker-ctl " << kVersion
            << ": keys, tokens and API keys for ngx_http_tasker_auth_module\n\n"
               "Usage: tasker-ctl [-p PROFILE] [-c FILE] <group> <command> [options]\n\n"
               "Commands:\n";
  for (const CommandGroup* g : groups()) {
    for (const Command& c : g->commands) {
      std::string name = std::string(g->name) + " " + c.name;
      char line[256];
      std::snprintf(line, sizeof line, "  %-24s %s\n", name.c_str(), c.summary);
      std::cout << line;
    }
  }
  std::cout << "\nRun 'tasker-ctl <group> <command> --help' for the options of a command.\n"
               "-p/--profile and -c/--config choose the client configuration of the task\n"
               "commands (see 'tasker-ctl task list --help'); the auth commands ignore them.\n"
               "Exit status: 0 success, 1 failure (invalid token, HTTP error, ...), 2 usage "
               "error.\n";
}

void printGroupHelp(const CommandGroup& g) {
  std::cout << "Usage: tasker-ctl " << g.name << " <command> [options]\n\n"
            << "tasker-ctl " << g.name << ": " << g.summary << "\n\nCommands:\n";
  for (const Command& c : g.commands) {
    char line[256];
    std::snprintf(line, sizeof line, "  %-18s %s\n", c.name, c.summary);
    std::cout << line;
  }
  std::cout << "\nRun 'tasker-ctl " << g.name << " <command> --help' for its options.\n";
}

std::string commandNames(const CommandGroup& g) {
  std::string names;
  for (const Command& c : g.commands) {
    if (!names.empty()) names += ", ";
    names += c.name;
  }
  return names;
}

// `globals` are options given before the group (tasker's -p/--profile, -c/--config), put before
// the command's own so that those win; only the task commands read them.
int runGroup(const CommandGroup& g, const std::vector<std::string>& argv,
             const std::vector<std::string>& globals) {
  if (argv.empty()) {
    throw UsageError(std::string("missing ") + g.name + " command: one of " + commandNames(g) +
                     " (see 'tasker-ctl " + g.name + " --help')");
  }
  const std::string& name = argv[0];
  if (name == "--help" || name == "-h" || name == "help") {
    printGroupHelp(g);
    return kExitOk;
  }
  for (const Command& c : g.commands) {
    if (name != c.name) continue;
    std::vector<std::string> own(argv.begin() + 1, argv.end());
    if (&g == &taskGroup()) own.insert(own.begin(), globals.begin(), globals.end());
    Args args(std::string(g.name) + " " + c.name, own, c.options);
    if (args.help()) {
      std::cout << c.usage;
      return kExitOk;
    }
    return c.run(args);
  }
  throw UsageError("unknown " + std::string(g.name) + " command '" + shownArgument(name) +
                   "': one of " + commandNames(g) + " (see 'tasker-ctl " + g.name + " --help')");
}

// Takes the options tasker's CLI accepts before the command (-p/--profile NAME, -c/--config
// FILE, or glued: -pNAME, -p=NAME) off the front of argv.
std::vector<std::string> takeGlobalOptions(std::vector<std::string>* argv) {
  std::vector<std::string> globals;
  size_t i = 0;
  for (; i < argv->size(); ++i) {
    const std::string& a = (*argv)[i];
    const bool glued_short = a.size() > 2 && (a.rfind("-p", 0) == 0 || a.rfind("-c", 0) == 0);
    if (a.rfind("--profile=", 0) == 0 || a.rfind("--config=", 0) == 0 || glued_short) {
      globals.push_back(a);
    } else if (a == "--profile" || a == "-p" || a == "--config" || a == "-c") {
      if (i + 1 >= argv->size()) throw UsageError("option " + a + " needs a value");
      globals.push_back(a);
      globals.push_back((*argv)[++i]);
    } else {
      break;
    }
  }
  argv->erase(argv->begin(), argv->begin() + static_cast<std::ptrdiff_t>(i));
  return globals;
}

int run(std::vector<std::string> argv) {
  const std::vector<std::string> globals = takeGlobalOptions(&argv);
  if (argv.empty()) throw UsageError("missing command: auth or task (see 'tasker-ctl --help')");
  const std::string& first = argv[0];
  if (first == "--help" || first == "-h" || first == "help") {
    printTopHelp();
    return kExitOk;
  }
  if (first == "--version") {
    std::cout << "tasker-ctl " << kVersion << "\n";
    return kExitOk;
  }
  for (const CommandGroup* g : groups()) {
    if (first == g->name) {
      return runGroup(*g, std::vector<std::string>(argv.begin() + 1, argv.end()), globals);
    }
  }
  throw UsageError("unknown command '" + shownArgument(first) +
                   "': auth or task (see 'tasker-ctl --help')");
}

// std::cout's buffer, in front of the one it had (stdio's stdout), keeping the errno of the
// first write that failed: stdio drops what it could not write, and by the time main() checks,
// later calls may have changed errno. Once a write failed, or from the start when stdout was
// closed (EBADF), every write fails.
class CheckedStdout : public std::streambuf {
 public:
  CheckedStdout(std::streambuf* inner, bool closed) : inner_(inner), error_(closed ? EBADF : 0) {}
  std::streambuf* inner() const noexcept { return inner_; }
  int error() const noexcept { return error_; }
  void fail(int err) noexcept {
    if (error_ == 0) error_ = err != 0 ? err : EIO;
  }

 protected:
  int_type overflow(int_type c) override {
    if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
    const char ch = traits_type::to_char_type(c);
    return xsputn(&ch, 1) == 1 ? c : traits_type::eof();
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    if (error_ != 0) return 0;
    errno = 0;
    const std::streamsize written = inner_->sputn(s, n);
    if (written < n) fail(errno);
    return written;
  }
  int sync() override {
    if (error_ != 0) return -1;
    errno = 0;
    if (inner_->pubsync() == 0) return 0;
    fail(errno);
    return -1;
  }

 private:
  std::streambuf* inner_;
  int error_;
};

// Keeps descriptors 1 and 2 taken: one that is closed gets /dev/null, so that no file or socket
// this process opens (a key's temporary file, task list's connection) becomes stdout or stderr
// and receives output meant for them. Returns whether stdout was closed.
bool reserveStdoutAndStderr() {
  bool stdout_closed = false;
  for (int fd : {STDOUT_FILENO, STDERR_FILENO}) {
    if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    if (fd == STDOUT_FILENO) stdout_closed = true;
    const int null_fd = open("/dev/null", O_WRONLY);
    if (null_fd >= 0 && null_fd != fd) {
      dup2(null_fd, fd);
      close(null_fd);
    }
  }
  return stdout_closed;
}

// The exit status once the output is flushed: a command that succeeded but whose output did not
// reach stdout fails (one line saying why). A command that failed already said why.
int checkedExit(int rc, CheckedStdout* out) {
  std::cout.flush();
  errno = 0;
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) out->fail(errno);
  if (out->error() == 0 || rc != kExitOk) return rc;
  std::cerr << "tasker-ctl: cannot write to standard output: " << std::strerror(out->error())
            << "\n";
  return kExitFailure;
}

int runCatching(int argc, char** argv) {
  try {
    return run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const UsageError& e) {
    std::cerr << "tasker-ctl: " << oneLine(e.what()) << "\n";
    return kExitUsage;
  } catch (const std::bad_alloc&) {
    std::cerr << "tasker-ctl: out of memory\n";
  } catch (const std::exception& e) {
    std::cerr << "tasker-ctl: unexpected error: " << oneLine(e.what()) << "\n";
  } catch (...) {
    std::cerr << "tasker-ctl: unexpected error\n";
  }
  return kExitFailure;
}

}  // namespace

int failure(const std::string& message) {
  std::cerr << "tasker-ctl: " << oneLine(message) << "\n";
  return kExitFailure;
}

void warning(const std::string& message) {
  std::cerr << "tasker-ctl: warning: " << oneLine(message) << "\n";
}

}  // namespace cli
}  // namespace tasker

int main(int argc, char** argv) {
  using namespace tasker::cli;
  CheckedStdout out(std::cout.rdbuf(), reserveStdoutAndStderr());
  std::cout.rdbuf(&out);
  const int rc = checkedExit(runCatching(argc, argv), &out);
  std::cout.rdbuf(out.inner());  // `out` ends here; std::cout is flushed again at exit
  return rc;
}
