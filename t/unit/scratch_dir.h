// A scratch directory for unit tests that read files: created by a group setup (mkdtemp),
// filled by writeFile, removed with its files by scratchTeardown. One per test binary.
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>
#include <vector>

extern "C" {
#include <cmocka.h>
}

namespace tasker {
namespace test {

inline std::string g_dir;                 // the mkdtemp directory
inline std::vector<std::string> g_files;  // files written into it (or created by a test)

// A cmocka group setup body: `tmpl` ends in XXXXXX, as mkdtemp wants. 0 on success.
inline int scratchSetup(std::string tmpl) {
  if (!mkdtemp(&tmpl[0])) return -1;
  g_dir = tmpl;
  return 0;
}

inline int scratchTeardown(void** state) {
  for (const std::string& f : g_files) unlink(f.c_str());
  rmdir(g_dir.c_str());
  return 0;
}

// Writes text to <dir>/<name> and returns the path.
inline std::string writeFile(const std::string& name, const std::string& text) {
  std::string path = g_dir + "/" + name;
  FILE* f = fopen(path.c_str(), "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(text.data(), 1, text.size(), f), text.size());
  assert_int_equal(fclose(f), 0);
  g_files.push_back(path);
  return path;
}

}  // namespace test
}  // namespace tasker
