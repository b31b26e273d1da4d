// libFuzzer target: tasker_auth_config through loadAuthToml(), the entry point nginx calls, with
// the input as the file's bytes. The guard (toml_guard.h) runs as in nginx except for its forked
// child parse, which is switched off here: a fork per input is slow, and libFuzzer cannot see the
// coverage of a child. So this target checks the guard's in-process promise: bytes that pass
// checkFile/prevalidateToml never crash toml++ or the loader. A finding is a gap in
// prevalidateToml (nginx itself would still survive it, through the child parse), and becomes a
// t/fuzz/toml/ regression plus a scan rule.
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "fuzz_common.h"
#include "toml_config.h"
#include "toml_guard.h"

using namespace tasker;

namespace {

std::string g_dir;
std::string g_path;

void cleanup() {
  unlink(g_path.c_str());
  rmdir(g_dir.c_str());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  setTomlChildParseForTesting(false);
  char tmpl[] = "/tmp/tasker_fuzz_toml_XXXXXX";
  fuzz::check(mkdtemp(tmpl) != nullptr, "mkdtemp");
  g_dir = tmpl;
  g_path = g_dir + "/auth.toml";
  atexit(cleanup);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > kMaxTomlFileBytes) return 0;
  FILE* f = std::fopen(g_path.c_str(), "wb");
  fuzz::check(f != nullptr, "cannot write the input file");
  fuzz::check(std::fwrite(data, 1, size, f) == size && std::fclose(f) == 0, "short write");

  AuthSettings settings;
  std::vector<std::string> warnings;
  std::string error;
  Status s = loadAuthToml(g_path, "", &settings, &warnings, &error);
  if (s != Status::Ok) {
    fuzz::check(!error.empty() && error.find(g_path) != std::string::npos,
                "a failed load whose message does not name the file");
  }
  return 0;
}
