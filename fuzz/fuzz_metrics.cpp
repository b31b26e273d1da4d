// libFuzzer target: the metrics label writer (metrics.h). Each input line is offered as a JWKS
// URL label (metricsRegisterUrl), counters are bumped, and writePrometheus renders the page.
// Invariant: the page is well-formed text format 0.0.4 line by line: every line is a "# HELP" or
// "# TYPE" comment or a sample "tasker_...{...} <number>" with well-escaped label values, and
// every registered URL has its gauge line: a raw newline or quote in a URL can never split a
// line or end a label early. (Label values are not compared with the URLs: the page may redact
// credentials in them.)
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.h"
#include "metrics.h"

using namespace tasker;

namespace {

// Checks one sample line and returns its label values, unescaped.
std::vector<std::string> checkSample(std::string_view line) {
  std::vector<std::string> values;
  size_t brace = line.find('{');
  size_t name_end = brace == std::string_view::npos ? line.find(' ') : brace;
  fuzz::check(name_end != std::string_view::npos, "sample without a value");
  for (char c : line.substr(0, name_end)) {
    fuzz::check((c >= 'a' && c <= 'z') || c == '_', "bad metric name");
  }
  size_t i = name_end;
  if (brace != std::string_view::npos) {
    ++i;
    while (true) {
      size_t eq = line.find("=\"", i);
      fuzz::check(eq != std::string_view::npos, "label without =\"");
      for (char c : line.substr(i, eq - i)) {
        fuzz::check((c >= 'a' && c <= 'z') || c == '_', "bad label name");
      }
      i = eq + 2;
      std::string v;
      while (true) {
        fuzz::check(i < line.size(), "unterminated label value");
        char c = line[i++];
        if (c == '"') break;
        if (c == '\\') {
          fuzz::check(i < line.size(), "dangling escape");
          char e = line[i++];
          fuzz::check(e == '\\' || e == '"' || e == 'n', "unknown escape");
          v.push_back(e == 'n' ? '\n' : e);
        } else {
          v.push_back(c);
        }
      }
      values.push_back(std::move(v));
      fuzz::check(i < line.size(), "labels not closed");
      if (line[i] == '}') {
        ++i;
        break;
      }
      fuzz::check(line[i] == ',', "labels not separated by ','");
      ++i;
    }
  }
  fuzz::check(i < line.size() && line[i] == ' ', "no blank before the value");
  std::string_view value = line.substr(i + 1);
  fuzz::check(!value.empty(), "empty value");
  for (char c : value) fuzz::check((c >= '0' && c <= '9') || c == '.', "value is not a number");
  return values;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  static MetricsBlock* block = new MetricsBlock();
  metricsInit(block);

  std::vector<std::string> urls;
  std::string_view in = fuzz::asView(data, size);
  size_t pos = 0;
  int n = 0;
  while (pos <= in.size() && n < 2 * kMaxJwksUrls) {
    size_t end = in.find('\x01', pos);  // URLs are separated by \x01 so '\n' can be inside one
    if (end == std::string_view::npos) end = in.size();
    std::string_view url = in.substr(pos, end - pos);
    int slot = metricsRegisterUrl(block, url);
    if (slot >= 0) {
      fuzz::check(slot < kMaxJwksUrls, "slot out of range");
      metricsCountJwksRefresh(block, slot, (n & 1) != 0);
      metricsSetJwksKeys(block, slot, static_cast<uint64_t>(url.size()));
      if (static_cast<size_t>(slot) == urls.size()) urls.emplace_back(url);
    }
    metricsObserveVerification(block, (n & 1) != 0, static_cast<uint64_t>(url.size()) * 997);
    ++n;
    pos = end + 1;
  }
  metricsCountRequest(block, kMetricsMethodJwt, true);
  metricsCountFailure(block, size % 10);
  metricsCountDenial(block, static_cast<int>(size % kPermissionCount));

  std::string page;
  fuzz::check(writePrometheus(*block, &page) == Status::Ok, "writePrometheus failed");
  fuzz::check(!page.empty() && page.back() == '\n', "page does not end with a newline");
  std::vector<std::string> seen_urls;
  size_t start = 0;
  while (start < page.size()) {
    size_t end = page.find('\n', start);
    std::string_view line(page.data() + start, end - start);
    start = end + 1;
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) continue;
    std::vector<std::string> values = checkSample(line);
    if (line.rfind("tasker_auth_jwks_keys{", 0) == 0) {
      fuzz::check(values.size() == 1, "jwks_keys has one label");
      seen_urls.push_back(values[0]);
    }
  }
  fuzz::check(seen_urls.size() == urls.size(), "every registered URL has its gauge");
  return 0;
}
