// Unit tests for src/toml_guard.cpp (issue 10, SPEC 8 "Configuration files"): the byte scan that
// rejects toml++ 3.3.0's known crash triggers, the forked child parse that turns any crash or hang
// into a configuration error, and the hook in loadAuthToml.
#include "toml_guard.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

extern "C" {
#include <cmocka.h>
}

#include "scratch_dir.h"

#include "toml_config.h"

namespace tasker {
namespace {

using test::g_dir;
using test::g_files;
using test::scratchTeardown;
using test::writeFile;

int groupSetup(void** state) { return test::scratchSetup("/tmp/tasker_toml_guard_XXXXXX"); }

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

void assertContains(const std::string& s, const std::string& part) {
  if (!contains(s, part)) fail_msg("\"%s\" does not contain \"%s\"", s.c_str(), part.c_str());
}

// Expects prevalidateToml to reject text at `line` with a message containing `what`.
void assertRejected(const std::string& text, int line, const std::string& what) {
  int got_line = 0;
  std::string got_what;
  Status st = prevalidateToml(text, &got_line, &got_what);
  if (st != Status::ConfigFileSyntax) fail_msg("accepted: \"%s\"", text.c_str());
  if (got_line != line) fail_msg("\"%s\": line %d, want %d", text.c_str(), got_line, line);
  assertContains(got_what, what);
}

void assertAccepted(const std::string& text) {
  int line = 0;
  std::string what;
  Status st = prevalidateToml(text, &line, &what);
  if (st != Status::Ok) fail_msg("rejected \"%s\": %d: %s", text.c_str(), line, what.c_str());
}

// ---- prevalidateToml -----------------------------------------------------------------------

void test_toml_guard_rejects_known_parse_key_triggers(void** state) {
  const std::string header = "a table header needs a key";
  assertRejected("[", 1, header);
  assertRejected("[ ", 1, header);
  assertRejected("[\n", 1, header);
  assertRejected("[auth]\nenabled = true\n[\n", 3, header);
  assertRejected("[[[1]]]", 1, header);
  assertRejected("[[=", 1, header);
  assertRejected("[[ \n", 1, header);
  assertRejected("  [\t# comment\n", 1, header);
  assertRejected("[.a]", 1, header);
}

void test_toml_guard_rejects_value_terminator_triggers(void** state) {
  assertRejected("a = [}", 1, "unexpected '}'");
  assertRejected("a = [1,}", 1, "unexpected '}'");
  assertRejected("a = [\n  # c\n  }", 3, "unexpected '}'");
  assertRejected("[t]\nx = { a = [ } }", 2, "unexpected '}'");
}

void test_toml_guard_rejects_non_ascii_outside_strings(void** state) {
  const std::string where = "non-ASCII character outside a string or comment";
  assertRejected("\xC3\xA9 = 1", 1, where);
  assertRejected("a = 1\xC3\xA9", 1, where);
  assertRejected("a = 1\nb = \"x\" \xE3\x80\x80", 2, where);  // U+3000 (ideographic space)
  assertRejected("a = \xC2\xA0 1", 1, where);                 // U+00A0
  assertRejected("a = \"\"\"x\\\xC3\xA9\"\"\"", 1, "after '\\'");
  // Found by fuzz_toml: a backslash, blanks, then non-ASCII (no line end).
  assertRejected("a = \"\"\"\nx \\ \t\xC3\xA9\"\"\"", 2, "after '\\'");
  assertRejected("a = \"\"\"x\\  \n\n  \xC3\xA9\"\"\"", 3, "line-ending backslash");
}

void test_toml_guard_rejects_malformed_bare_values(void** state) {
  const std::string value = "not a TOML value";
  // Found by fuzz_toml: parse_time's precondition after "1979-05-27T".
  assertRejected(std::string("d = 1979-05-27T\0\0:32:00", 23), 1, "control character");
  assertRejected("d = 1979-05-27Tx7:32:00", 1, value);
  assertRejected("a = = 1", 1, value);
  assertRejected("a = tru", 1, value);
  assertRejected("a = [1, 2, x]", 1, value);
  assertRejected("a = 0x", 1, value);
  assertRejected("a = 1__0", 1, value);
  assertRejected("a = 07", 1, value);
  assertRejected("a = 1979-05-27 07:3", 1, value);
  assertRejected("a = 07:32", 1, value);
  assertRejected("a = { b = [1], c = ] }", 1, "unexpected ']'");
}

void test_toml_guard_rejects_invalid_utf8(void** state) {
  assertRejected("a = \"\xFF\"", 1, "invalid UTF-8");
  assertRejected("a = 1\n# \xC0\xAF\n", 2, "invalid UTF-8");          // overlong '/'
  assertRejected("a = '\xED\xA0\x80'", 1, "invalid UTF-8");           // surrogate
  assertRejected("a = '\xF4\x90\x80\x80'", 1, "invalid UTF-8");       // above U+10FFFF
  assertRejected("a = '\xE2\x82'", 1, "invalid UTF-8");               // truncated
}

void test_toml_guard_accepts_valid_toml(void** state) {
  assertAccepted("");
  assertAccepted("\xEF\xBB\xBF[auth]\nenabled = true\n");
  assertAccepted("[auth]\nenabled = true # d\xC3\xA9j\xC3\xA0\n");
  assertAccepted("[orchestration.web.auth]\njwt_issuer = \"t\xC3\xA4sker\"\n");
  assertAccepted("[[auth.api_keys]]\nkey = 'k'\npermissions = [\"tasks:read\", \"dlq:*\"]\n");
  assertAccepted("[ \"quoted key\" . 'x' ]\n[[ a ]]\n[\ta ]\n");
  assertAccepted("a = [\n  [1, 2],\n  [3],\n]\nb = [[1], [\"]\"]]\n");
  assertAccepted("t = { a = 1, b = [1, 2], c = {} }\n");
  assertAccepted("s = \"\"\"\nline \\\n   et\u00e9 \"\" \"\"\"\"\"\n[next]\n");
  assertAccepted("s = '''a [ } ''' \nl = ''''quoted'''''\n");
  assertAccepted("s = \"a\\\"[\"\n[x]\n");
  assertAccepted("s = \"[\" # [\n");
  assertAccepted(
      "b = [true, false]\ni = [0, -1, +2, 1_000, 0xDEAD_beef, 0o755, 0b1_0]\n"
      "f = [1.5, -0.0, 6.02e23, 1E-5, 1e0_1, inf, -inf, +nan, 3_1.4_1]\n"
      "d = [1979-05-27T07:32:00Z, 1979-05-27 07:32:00.999-08:00, 1979-05-27t00:00:00+01:30]\n"
      "l = [1979-05-27, 07:32:00, 00:00:00.5, 1979-05-27T07:32:00]\n"
      "x = 1 # c\ny = [ # c\n  1, # c\n  2 ]\nz = {a=1,b=\"2\",c=[{d=1}]}\n");
}

// ---- the forked child ----------------------------------------------------------------------

void test_toml_guard_child_result(void** state) {
  std::string msg;
  assert_int_equal(static_cast<int>(runTomlChild([] { return std::string("hello"); }, 5000, &msg)),
                   static_cast<int>(Status::Ok));
  assert_string_equal(msg.c_str(), "hello");
  // Long results are cut, not lost.
  assert_int_equal(static_cast<int>(runTomlChild([] { return std::string(100000, 'x'); }, 5000,
                                                 &msg)),
                   static_cast<int>(Status::Ok));
  assert_int_equal(msg.size(), 1024);
}

void test_toml_guard_child_abort_is_an_error(void** state) {
  std::string msg;
  assert_int_equal(static_cast<int>(runTomlChild(
                       []() -> std::string {
                         abort();
                       },
                       5000, &msg)),
                   static_cast<int>(Status::ConfigFileSyntax));
  assert_string_equal(msg.c_str(), "killed by signal 6");
}

void test_toml_guard_child_hang_is_killed(void** state) {
  std::string msg;
  assert_int_equal(static_cast<int>(runTomlChild(
                       []() -> std::string {
                         for (;;) pause();
                       },
                       200, &msg)),
                   static_cast<int>(Status::ConfigFileSyntax));
  assert_string_equal(msg.c_str(), "timed out after 200 ms");
}

void test_toml_guard_child_exit_without_result(void** state) {
  std::string msg;
  assert_int_equal(static_cast<int>(runTomlChild(
                       []() -> std::string {
                         _exit(0);
                       },
                       5000, &msg)),
                   static_cast<int>(Status::ConfigFileSyntax));
  assertContains(msg, "exited without a result");
  assert_int_equal(static_cast<int>(runTomlChild(
                       []() -> std::string {
                         throw 1;
                       },
                       5000, &msg)),
                   static_cast<int>(Status::ConfigFileSyntax));
  assertContains(msg, "exited without a result (status 3)");
}

void test_toml_guard_child_leaves_sigchld_mask(void** state) {
  sigset_t before, after;
  sigprocmask(SIG_BLOCK, nullptr, &before);
  std::string msg;
  runTomlChild([] { return std::string("x"); }, 5000, &msg);
  sigprocmask(SIG_BLOCK, nullptr, &after);
  assert_int_equal(sigismember(&before, SIGCHLD), sigismember(&after, SIGCHLD));
}

// The real toml++ 3.3.0 assertion ("[" then a newline reaches parse_key's precondition) happens
// in the child and comes back as an error naming the file, without the scan's help.
void test_toml_guard_child_catches_real_toml_crash(void** state) {
  std::string error;
  Status st = parseTomlInChild("/etc/tasker/auth.toml", "[auth]\n[\n", 5000, &error);
  assert_int_equal(static_cast<int>(st), static_cast<int>(Status::ConfigFileSyntax));
  assertContains(error, "/etc/tasker/auth.toml: not valid TOML: the TOML parser failed on it (");
}

void test_toml_guard_child_reports_syntax_error(void** state) {
  std::string error;
  Status st = parseTomlInChild("f.toml", "[auth]\nenabled = tru\n", 5000, &error);
  assert_int_equal(static_cast<int>(st), static_cast<int>(Status::ConfigFileSyntax));
  assertContains(error, "f.toml:2: ");
  assert_int_equal(static_cast<int>(parseTomlInChild("f.toml", "[auth]\nx = 1\n", 5000, &error)),
                   static_cast<int>(Status::Ok));
}

// toml++ quotes the text it stopped at; an API key written as a bare number is that text. A
// fragment longer than two bytes is hidden, a character or an escape stays, and so does the
// kind of error.
void test_toml_guard_error_text_hides_quoted_values(void** state) {
  const std::pair<const char*, const char*> cases[] = {
      {"Error while parsing decimal integer: '123456789012345678901234567890' is not "
       "representable in 64 bits",
       "Error while parsing decimal integer: '...' is not representable in 64 bits"},
      {"Error while parsing floating-point: '1e99999' could not be interpreted as a value",
       "Error while parsing floating-point: '...' could not be interpreted as a value"},
      {"an unspecified error occurred while trying to interpret '0xFFFF' as a value",
       "an unspecified error occurred while trying to interpret '...' as a value"},
      {"Error while parsing key-value pair: cannot redefine existing string '\"sk-x\" '",
       "Error while parsing key-value pair: cannot redefine existing string '...'"},
      {"Error while parsing decimal integer: expected digit, saw 'x'",
       "Error while parsing decimal integer: expected digit, saw 'x'"},
      {"expected '0x', saw '''", "expected '0x', saw '''"},
      {"Error while parsing string: unknown escape sequence '\\q'",
       "Error while parsing string: unknown escape sequence '\\q'"},
      {"expected comma or closing ']', saw '\\u00E9'", "expected comma or closing ']', saw '...'"},
      {"Error while parsing octal integer: '0o12345670", "Error while parsing octal integer: '...'"},
      {"a\nb\x1b[31m", "a?b?[31m"},
  };
  for (const auto& [in, want] : cases) {
    const std::string got = tomlErrorText(in);
    if (got != want) fail_msg("\"%s\": got \"%s\", want \"%s\"", in, got.c_str(), want);
  }

  // both parses, the child's and (child parse off) loadAuthToml's own
  const char text[] = "[[auth.api_keys]]\nkey = 123456789012345678901234567890\n";
  std::string error;
  assert_int_equal(static_cast<int>(parseTomlInChild("f.toml", text, 5000, &error)),
                   static_cast<int>(Status::ConfigFileSyntax));
  assert_string_equal(error.c_str(), "f.toml:2: Error while parsing decimal integer: '...' is not "
                                     "representable in 64 bits");
  const std::string path = writeFile("numeric-key.toml", text);
  AuthSettings s;
  for (bool child : {true, false}) {
    setTomlChildParseForTesting(child);
    assert_int_equal(static_cast<int>(loadAuthToml(path, "", &s, nullptr, &error)),
                     static_cast<int>(Status::ConfigFileSyntax));
    assert_string_equal(error.c_str(), (path + ":2: Error while parsing decimal integer: '...' is "
                                               "not representable in 64 bits")
                                           .c_str());
  }
  setTomlChildParseForTesting(true);
}

// ---- readTomlFile, checkTomlText, loadAuthToml ----------------------------------------------

void test_toml_guard_file_checks(void** state) {
  std::string error, text = "unchanged";
  assert_int_equal(static_cast<int>(readTomlFile(g_dir, &text, &error)),
                   static_cast<int>(Status::ConfigFileUnreadable));
  assertContains(error, g_dir + ": cannot read: Is a directory");

  // Refused at once (opened without blocking): if this test hangs, that is the failure.
  std::string fifo = g_dir + "/fifo.toml";
  assert_int_equal(mkfifo(fifo.c_str(), 0600), 0);
  g_files.push_back(fifo);
  assert_int_equal(static_cast<int>(readTomlFile(fifo, &text, &error)),
                   static_cast<int>(Status::ConfigFileUnreadable));
  assertContains(error, fifo + ": cannot read: not a regular file");
  assert_int_equal(static_cast<int>(readTomlFile("/dev/zero", &text, &error)),
                   static_cast<int>(Status::ConfigFileUnreadable));
  assertContains(error, "/dev/zero: cannot read: not a regular file");

  std::string big = writeFile("big.toml", "# " + std::string(kMaxTomlFileBytes, 'x') + "\n");
  assert_int_equal(static_cast<int>(readTomlFile(big, &text, &error)),
                   static_cast<int>(Status::ConfigInvalid));
  assertContains(error, big + ": larger than 1048576 bytes");

  assert_int_equal(static_cast<int>(readTomlFile(g_dir + "/absent.toml", &text, &error)),
                   static_cast<int>(Status::ConfigFileUnreadable));
  assertContains(error, "/absent.toml: cannot read: No such file or directory");
  assert_string_equal(text.c_str(), "unchanged");

  std::string ok = writeFile("ok.toml", "[auth]\n");
  assert_int_equal(static_cast<int>(readTomlFile(ok, &text, &error)), static_cast<int>(Status::Ok));
  assert_string_equal(text.c_str(), "[auth]\n");

  // Exactly at the cap is read whole; an empty file is an empty text.
  std::string full(kMaxTomlFileBytes, '#');
  full.back() = '\n';
  assert_int_equal(static_cast<int>(readTomlFile(writeFile("full.toml", full), &text, &error)),
                   static_cast<int>(Status::Ok));
  assert_true(text == full);
  assert_int_equal(static_cast<int>(readTomlFile(writeFile("empty.toml", ""), &text, &error)),
                   static_cast<int>(Status::Ok));
  assert_true(text.empty());
}

void test_toml_guard_check_text_names_file_and_line(void** state) {
  std::string error;
  assert_int_equal(static_cast<int>(checkTomlText("/x/auth.toml", "[auth]\nenabled = true\n[\n",
                                                  &error)),
                   static_cast<int>(Status::ConfigFileSyntax));
  assert_string_equal(error.c_str(), "/x/auth.toml:3: a table header needs a key after '['");
  assert_int_equal(static_cast<int>(checkTomlText("/x/auth.toml", "[auth]\nenabled = true\n",
                                                  &error)),
                   static_cast<int>(Status::Ok));
}

// The entry point nginx uses: every trigger listed in issue 10 fails cleanly, naming the file.
void test_toml_guard_load_auth_toml_survives_triggers(void** state) {
  const char* triggers[] = {"[", "[ ", "[[[1]]]", "[[=", "[auth]\n[\n", "[auth]\na = [}\n",
                            "[auth]\n\xC3\xA9 = 1\n", "[auth]\nx = \xE3\x80\x80\n"};
  int n = 0;
  for (const char* text : triggers) {
    std::string path = writeFile("trigger" + std::to_string(n++) + ".toml", text);
    AuthSettings settings;
    std::vector<std::string> warnings;
    std::string error;
    Status st = loadAuthToml(path, "", &settings, &warnings, &error);
    if (st != Status::ConfigFileSyntax) fail_msg("%s: %s", text, statusName(st));
    assertContains(error, path + ":");
  }
  // A valid file still loads.
  std::string path = writeFile("good.toml", "[auth]\nenabled = true\njwt_issuer = \"\xC3\xA9\"\n");
  AuthSettings settings;
  std::string error;
  assert_int_equal(static_cast<int>(loadAuthToml(path, "", &settings, nullptr, &error)),
                   static_cast<int>(Status::Ok));
  assert_true(settings.enabled.value_or(false));
  assert_string_equal(settings.jwt_issuer.value_or("").c_str(), "\xC3\xA9");
}

}  // namespace
}  // namespace tasker

int main(void) {
  using namespace tasker;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_toml_guard_rejects_known_parse_key_triggers),
      cmocka_unit_test(test_toml_guard_rejects_value_terminator_triggers),
      cmocka_unit_test(test_toml_guard_rejects_non_ascii_outside_strings),
      cmocka_unit_test(test_toml_guard_rejects_malformed_bare_values),
      cmocka_unit_test(test_toml_guard_rejects_invalid_utf8),
      cmocka_unit_test(test_toml_guard_accepts_valid_toml),
      cmocka_unit_test(test_toml_guard_child_result),
      cmocka_unit_test(test_toml_guard_child_abort_is_an_error),
      cmocka_unit_test(test_toml_guard_child_hang_is_killed),
      cmocka_unit_test(test_toml_guard_child_exit_without_result),
      cmocka_unit_test(test_toml_guard_child_leaves_sigchld_mask),
      cmocka_unit_test(test_toml_guard_child_catches_real_toml_crash),
      cmocka_unit_test(test_toml_guard_child_reports_syntax_error),
      cmocka_unit_test(test_toml_guard_error_text_hides_quoted_values),
      cmocka_unit_test(test_toml_guard_file_checks),
      cmocka_unit_test(test_toml_guard_check_text_names_file_and_line),
      cmocka_unit_test(test_toml_guard_load_auth_toml_survives_triggers),
  };
  return cmocka_run_group_tests_name("toml_guard", tests, groupSetup, scratchTeardown);
}
