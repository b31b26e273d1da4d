// tasker-ctl: command-line companion of ngx_http_tasker_auth_module (SPEC 7). Dispatches
// `tasker-ctl <group> <command> [options]` to the command table in commands.h.
//
// Exit statuses: 0 success, 1 failure of the checked thing, 2 usage error. Every error is one
// line on stderr ("tasker-ctl: ..."; oneLine() keeps it so whatever the message quotes), and so
// is every warning ("tasker-ctl: warning: ..."). No exception leaves main().

#include <cstdio>
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
               "Usage: tasker-ctl <group> <command> [options]\n\nCommands:\n";
  for (const CommandGroup* g : groups()) {
    for (const Command& c : g->commands) {
      std::string name = std::string(g->name) + " " + c.name;
      char line[256];
      std::snprintf(line, sizeof line, "  %-24s %s\n", name.c_str(), c.summary);
      std::cout << line;
    }
  }
  std::cout << "\nRun 'tasker-ctl <group> <command> --help' for the options of a command.\n"
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

int runGroup(const CommandGroup& g, const std::vector<std::string>& argv) {
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
    Args args(std::string(g.name) + " " + c.name,
              std::vector<std::string>(argv.begin() + 1, argv.end()), c.options);
    if (args.help()) {
      std::cout << c.usage;
      return kExitOk;
    }
    return c.run(args);
  }
  throw UsageError("unknown " + std::string(g.name) + " command '" + name + "': one of " +
                   commandNames(g) + " (see 'tasker-ctl " + g.name + " --help')");
}

int run(const std::vector<std::string>& argv) {
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
      return runGroup(*g, std::vector<std::string>(argv.begin() + 1, argv.end()));
    }
  }
  throw UsageError("unknown command '" + first + "': auth or task (see 'tasker-ctl --help')");
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
