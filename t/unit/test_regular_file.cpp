// readRegularFile: what nginx -t reads of the files an operator names, without waiting on them.
#include "regular_file.h"

#include <errno.h>
#include <sys/stat.h>

#include <string>

#include "scratch_dir.h"

namespace {

using tasker::ReadFileResult;
using tasker::readRegularFile;
using tasker::test::g_dir;
using tasker::test::writeFile;

// Reads path with a cap of max; *out starts as "unchanged" so a failure can be seen to leave it.
ReadFileResult readCapped(const std::string& path, size_t max, std::string* out, int* err) {
  *out = "unchanged";
  *err = -1;
  return readRegularFile(path, max, out, err);
}

void test_regular_file_reads_whole_file(void** state) {
  std::string text;
  int err;
  std::string body(10000, 'k');  // several pages
  body[0] = '-';
  assert_true(readCapped(writeFile("k.pem", body), 10000, &text, &err) == ReadFileResult::Ok);
  assert_true(text == body);
  assert_int_equal(err, 0);
  assert_true(readCapped(writeFile("empty", ""), 10, &text, &err) == ReadFileResult::Ok);
  assert_true(text.empty());
}

void test_regular_file_cap_is_inclusive(void** state) {
  std::string text;
  int err;
  std::string at_cap = writeFile("cap", std::string(64, 'x'));
  assert_true(readCapped(at_cap, 64, &text, &err) == ReadFileResult::Ok);
  assert_int_equal(text.size(), 64);
  assert_true(readCapped(at_cap, 63, &text, &err) == ReadFileResult::TooLarge);
  assert_string_equal(text.c_str(), "unchanged");
}

void test_regular_file_refuses_what_is_not_a_file(void** state) {
  std::string text;
  int err;
  assert_true(readCapped(g_dir + "/absent", 10, &text, &err) == ReadFileResult::Unreadable);
  assert_int_equal(err, ENOENT);
  assert_true(readCapped(g_dir, 10, &text, &err) == ReadFileResult::NotRegular);
  assert_int_equal(err, EISDIR);
  assert_true(readCapped("/dev/zero", 10, &text, &err) == ReadFileResult::NotRegular);
  assert_int_equal(err, 0);
  assert_string_equal(text.c_str(), "unchanged");
}

// Opened without blocking and refused: if this test hangs, that is the failure.
void test_regular_file_refuses_fifo_at_once(void** state) {
  std::string fifo = g_dir + "/fifo";
  assert_int_equal(mkfifo(fifo.c_str(), 0600), 0);
  tasker::test::g_files.push_back(fifo);
  std::string text;
  int err;
  assert_true(readCapped(fifo, 10, &text, &err) == ReadFileResult::NotRegular);
  assert_int_equal(err, 0);
}

int setup(void** state) { return tasker::test::scratchSetup("/tmp/tasker-regular-file-XXXXXX"); }

}  // namespace

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_regular_file_reads_whole_file),
      cmocka_unit_test(test_regular_file_cap_is_inclusive),
      cmocka_unit_test(test_regular_file_refuses_what_is_not_a_file),
      cmocka_unit_test(test_regular_file_refuses_fifo_at_once),
  };
  return cmocka_run_group_tests_name("regular_file", tests, setup, tasker::test::scratchTeardown);
}
