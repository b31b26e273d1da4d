#include "cli/args.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

namespace tasker {
namespace cli {

namespace {

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// The long name a short one stands for ("-p" -> "--permissions"); empty when it has none.
std::string longNameOf(const OptionSpec& spec, const std::string& short_name) {
  for (const auto& [s, long_name] : spec.short_names) {
    if (s == short_name) return long_name;
  }
  return std::string();
}

// Splits an option argument into the name typed and an inline value: "--name=value", and as
// clap takes a short option that has a value, "-nVALUE" and "-n=VALUE". Any other single-dash
// argument longer than two bytes is returned whole as the name (an unknown option).
void splitOption(const std::string& a, const OptionSpec& spec, std::string* name,
                 std::optional<std::string>* inline_value) {
  *name = a;
  if (a.compare(0, 2, "--") == 0) {
    const size_t eq = a.find('=');
    if (eq != std::string::npos) {
      *name = a.substr(0, eq);
      *inline_value = a.substr(eq + 1);
    }
    return;
  }
  if (a.size() <= 2) return;
  const std::string long_name = longNameOf(spec, a.substr(0, 2));
  if (long_name.empty() || !contains(spec.valued, long_name)) return;
  *name = a.substr(0, 2);
  *inline_value = a.substr(a[2] == '=' ? 3 : 2);
}

}  // namespace

std::string shownArgument(const std::string& arg) {
  if (arg.size() > 2 && arg[0] == '-' && arg[1] != '-') return arg.substr(0, 2) + "...";
  const std::string name = arg.substr(0, arg.compare(0, 2, "--") == 0 ? arg.find('=') : arg.npos);
  if (name.size() <= kMaxShownArgumentBytes) return name;
  return name.substr(0, kMaxShownArgumentBytes) + "...";
}

Args::Args(std::string command, const std::vector<std::string>& argv, const OptionSpec& spec)
    : command_(std::move(command)) {
  for (const std::string& a : argv) {
    if (a == "--") break;
    if (a == "--help" || a == "-h") {
      help_ = true;
      return;
    }
  }

  bool options_done = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (options_done || a == "-" || a.empty() || a[0] != '-') {
      // A stray argument is never quoted: it is often a token or key whose option name was
      // left out ("validate-token eyJ..."), and a usage error must not echo a secret.
      if (positional_.size() >= spec.max_positional) {
        fail(spec.max_positional == 0
                 ? "unexpected argument " + std::to_string(i + 1) +
                       " (not shown, as it may be a token or key; did an option name go "
                       "missing?)"
                 : "too many arguments (at most " + std::to_string(spec.max_positional) +
                       "; the extra one is not shown, as it may be a token or key)");
      }
      positional_.push_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    std::string name;
    std::optional<std::string> inline_value;
    splitOption(a, spec, &name, &inline_value);
    const std::string typed = name;  // for messages: "-o", not "--output-dir"
    if (const std::string long_name = longNameOf(spec, name); !long_name.empty()) name = long_name;
    if (contains(spec.flags, name)) {
      if (inline_value) fail("option " + typed + " takes no value");
      flags_[name] = true;
    } else if (contains(spec.valued, name)) {
      if (inline_value) {
        values_[name] = *inline_value;
      } else if (i + 1 < argv.size()) {
        values_[name] = argv[++i];
      } else {
        fail("option " + typed + " needs a value");
      }
    } else if (spec.secret_positional) {
      fail("unknown option (not shown, as it may be a key); a KEY that starts with - goes "
           "after --, or on stdin with -");
    } else {
      fail("unknown option '" + shownArgument(typed) + "'");
    }
  }
}

std::optional<std::string> Args::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string Args::get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

std::string Args::require(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) fail("missing required option " + name);
  if (it->second.empty()) fail("option " + name + " must not be empty");
  return it->second;
}

int64_t Args::integer(const std::string& name, int64_t fallback, int64_t min, int64_t max) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  const std::string& v = it->second;
  char* end = nullptr;
  errno = 0;
  long long n = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno == ERANGE) {
    fail(name + " expects an integer, got '" + v + "'");
  }
  if (n < min || n > max) {
    fail(name + " must be between " + std::to_string(min) + " and " + std::to_string(max) +
         ", got " + v);
  }
  return n;
}

void Args::fail(const std::string& message) const {
  throw UsageError(command_ + ": " + message + " (see 'tasker-ctl " + command_ + " --help')");
}

}  // namespace cli
}  // namespace tasker
