// Command-line parsing for tasker-ctl: one Args per (sub)command, built from an OptionSpec.
// Mistakes throw UsageError, which main() turns into one stderr line and exit status 2.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace tasker {
namespace cli {

// A command-line mistake. main() prints what() as one line and exits 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An unknown option or command as a message quotes it: its name only, never a value glued to
// it, as that may be a token or key ("-teyJ..." is shown "-t...", "--name=value" "--name"), and
// at most kMaxShownArgumentBytes bytes of it, then "...".
constexpr size_t kMaxShownArgumentBytes = 32;
std::string shownArgument(const std::string& arg);

// The options one command accepts, by long name including the dashes ("--output-dir").
struct OptionSpec {
  std::vector<std::string> valued;  // take a value: "--name VALUE" or "--name=VALUE"
  std::vector<std::string> flags;   // take none: "--force"
  size_t max_positional = 0;        // positional arguments allowed ("-" counts as one)
  // The positional argument is a secret (hash-api-key's KEY): usage errors do not quote an
  // unknown option either, since a dash-led one may be the key itself. (A stray positional
  // argument is never quoted, in any command.)
  bool secret_positional = false;
  // Short names, each for a long option above ({"-p", "--permissions"}): "-p VALUE", or glued
  // as clap takes them, "-pVALUE" and "-p=VALUE". They are those of tasker's own tasker-ctl, so
  // its scripts run unchanged.
  std::vector<std::pair<std::string, std::string>> short_names = {};
};

// Parsed arguments of one command. "--help" or "-h" anywhere (before "--") sets help() and
// skips every other check, so `--help` always works. A repeated option keeps its last value.
class Args {
 public:
  // command is the full command name for messages, e.g. "auth generate-token".
  Args(std::string command, const std::vector<std::string>& argv, const OptionSpec& spec);

  bool help() const noexcept { return help_; }
  const std::string& command() const noexcept { return command_; }

  bool has(const std::string& name) const { return values_.count(name) != 0; }
  bool flag(const std::string& name) const { return flags_.count(name) != 0; }
  std::optional<std::string> get(const std::string& name) const;
  std::string get(const std::string& name, const std::string& fallback) const;
  // The value of a mandatory option; UsageError when absent or empty.
  std::string require(const std::string& name) const;
  // An integer option within [min, max]; UsageError when not a number or out of range.
  int64_t integer(const std::string& name, int64_t fallback, int64_t min, int64_t max) const;

  const std::vector<std::string>& positional() const noexcept { return positional_; }

  // UsageError "<command>: <message>".
  [[noreturn]] void fail(const std::string& message) const;

 private:
  std::string command_;
  bool help_ = false;
  std::map<std::string, std::string> values_;
  std::map<std::string, bool> flags_;
  std::vector<std::string> positional_;
};

}  // namespace cli
}  // namespace tasker
