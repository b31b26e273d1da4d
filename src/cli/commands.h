// The tasker-ctl command table (SPEC 7): groups ("auth", "task") of commands, each with its
// options, its --help text and the function that runs it.
#pragma once

#include <string>
#include <vector>

#include "cli/args.h"

namespace tasker {
namespace cli {

// Exit statuses (SPEC 7): success, failure of the checked thing, usage error.
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

struct Command {
  const char* name;     // "generate-keys"
  const char* summary;  // one line for the group's help
  const char* usage;    // the full --help text
  OptionSpec options;
  int (*run)(const Args& args);  // returns an exit status; usage mistakes throw UsageError
};

struct CommandGroup {
  const char* name;     // "auth"
  const char* summary;  // one line for the top-level help
  std::vector<Command> commands;
};

const CommandGroup& authGroup();  // auth_commands.cpp
const CommandGroup& taskGroup();  // task_command.cpp

// Prints "tasker-ctl: <message>" on stderr and returns kExitFailure.
int failure(const std::string& message);

// Prints "tasker-ctl: warning: <message>" on stderr.
void warning(const std::string& message);

}  // namespace cli
}  // namespace tasker
