// Unit tests for src/metrics.{h,cpp}: the shared counter block and its Prometheus exposition.
#include "metrics.h"

#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

extern "C" {
#include <cmocka.h>
}

#include "permissions.h"
#include "status.h"

using namespace tasker;

namespace {

// A freshly initialised block on the heap (the struct is about 42 KiB).
std::unique_ptr<MetricsBlock> newBlock() {
  std::unique_ptr<MetricsBlock> b(new MetricsBlock());
  metricsInit(b.get());
  return b;
}

std::string render(const MetricsBlock& b) {
  std::string out;
  assert_int_equal(static_cast<int>(writePrometheus(b, &out)), static_cast<int>(Status::Ok));
  return out;
}

// Number of occurrences of `needle` in `hay`.
size_t countOf(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = hay.find(needle); pos != std::string::npos; pos = hay.find(needle, pos + 1))
    ++n;
  return n;
}

// The sample line starting with `series` + " " (e.g. `name{a="b"}`), value only, or "" if absent.
std::string valueOf(const std::string& page, const std::string& series) {
  const std::string key = "\n" + series + " ";
  const size_t pos = page.find(key);
  if (pos == std::string::npos) return "";
  const size_t start = pos + key.size();
  return page.substr(start, page.find('\n', start) - start);
}

// ---- a strict checker for the text exposition format 0.0.4 -------------------------------------
// Returns "" when `page` is well formed, else a description of the first problem. Checks what the
// Prometheus text parser and the format document require: newline-terminated lines, HELP/TYPE at
// most once per family and before its samples, one contiguous group per family, valid names,
// escaped label values, unique series, numeric values; for histograms, le in increasing order,
// cumulative counts, a +Inf bucket equal to _count.

bool isNameChar(char c, bool first, bool colon_ok) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (colon_ok && c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

size_t scanName(std::string_view s, size_t i, bool colon_ok) {
  size_t j = i;
  while (j < s.size() && isNameChar(s[j], j == i, colon_ok)) ++j;
  return j;
}

bool isNumber(std::string_view v) {
  if (v == "+Inf" || v == "-Inf" || v == "NaN") return true;
  size_t i = 0, digits = 0;
  while (i < v.size() && v[i] >= '0' && v[i] <= '9') ++i, ++digits;
  if (i < v.size() && v[i] == '.') {
    ++i;
    while (i < v.size() && v[i] >= '0' && v[i] <= '9') ++i, ++digits;
  }
  return digits > 0 && i == v.size();
}

double toDouble(std::string_view v) {
  if (v == "+Inf") return 1e300;
  return std::stod(std::string(v));
}

struct HistogramState {
  std::string labels;  // the non-le labels of the series being checked
  double last_le = -1;
  double last_count = -1;
  double inf_count = -1;
};

std::string checkExposition(const std::string& page) {
  if (page.empty() || page.back() != '\n') return "page does not end with a newline";
  std::map<std::string, std::string> types;  // family -> type
  std::set<std::string> helps, closed, series;
  std::string current;                         // family whose group is open
  std::map<std::string, HistogramState> hist;  // histogram series (without le) -> state
  size_t start = 0;
  while (start < page.size()) {
    const size_t end = page.find('\n', start);
    const std::string line = page.substr(start, end - start);
    start = end + 1;
    if (line.empty()) return "empty line";
    if (line[0] == '#') {
      const bool help = line.compare(0, 7, "# HELP ") == 0;
      const bool type = line.compare(0, 7, "# TYPE ") == 0;
      if (!help && !type) return "unexpected comment: " + line;
      const size_t name_end = scanName(line, 7, true);
      const std::string name = line.substr(7, name_end - 7);
      if (name.empty() || name_end >= line.size() || line[name_end] != ' ') return "bad: " + line;
      if (name != current) {
        if (!current.empty()) closed.insert(current);
        if (closed.count(name)) return "family appears twice: " + name;
        current = name;
      }
      if (help) {
        if (!helps.insert(name).second) return "second HELP for " + name;
        const std::string text = line.substr(name_end + 1);
        for (size_t k = 0; k < text.size(); ++k) {
          if (text[k] == '\\' &&
              (k + 1 >= text.size() || (text[k + 1] != '\\' && text[k + 1] != 'n')))
            return "bad escape in HELP: " + line;
          if (text[k] == '\\') ++k;
        }
      } else {
        const std::string t = line.substr(name_end + 1);
        if (t != "counter" && t != "gauge" && t != "histogram" && t != "summary" && t != "untyped")
          return "bad type: " + line;
        if (types.count(name)) return "second TYPE for " + name;
        if (series.count("@" + name)) return "TYPE after samples: " + name;
        types[name] = t;
      }
      continue;
    }
    // Sample line.
    const size_t name_end = scanName(line, 0, true);
    if (name_end == 0) return "no metric name: " + line;
    const std::string name = line.substr(0, name_end);
    std::string family = name, suffix;
    for (const char* sfx : {"_bucket", "_sum", "_count"}) {
      const std::string s(sfx);
      if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0 &&
          types.count(name.substr(0, name.size() - s.size())) &&
          types[name.substr(0, name.size() - s.size())] == "histogram") {
        family = name.substr(0, name.size() - s.size());
        suffix = s;
      }
    }
    if (family != current) return "sample outside its family group: " + line;
    if (types.count(family) && types[family] == "histogram" && suffix.empty())
      return "histogram sample without suffix: " + line;
    series.insert("@" + family);
    size_t i = name_end;
    std::vector<std::pair<std::string, std::string>> labels;
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        const size_t ln_end = scanName(line, i, false);
        if (ln_end == i) return "bad label name: " + line;
        const std::string lname = line.substr(i, ln_end - i);
        i = ln_end;
        if (line.compare(i, 2, "=\"") != 0) return "bad label syntax: " + line;
        i += 2;
        std::string value;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\') {
            if (i + 1 >= line.size()) return "dangling escape: " + line;
            const char e = line[i + 1];
            if (e == '\\')
              value += '\\';
            else if (e == '"')
              value += '"';
            else if (e == 'n')
              value += '\n';
            else
              return "bad escape in label value: " + line;
            i += 2;
          } else {
            value += line[i++];
          }
        }
        if (i >= line.size()) return "unterminated label value: " + line;
        ++i;  // closing quote
        for (const auto& l : labels)
          if (l.first == lname) return "duplicate label: " + line;
        labels.emplace_back(lname, value);
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size()) return "unterminated label set: " + line;
      ++i;  // '}'
    }
    if (i >= line.size() || line[i] != ' ') return "no space before value: " + line;
    const std::string value = line.substr(i + 1);
    if (!isNumber(value)) return "bad value: " + line;
    std::string key = name + "{";
    std::string base;  // labels without le
    std::string le;
    for (const auto& l : labels) {
      key += l.first + "=" + l.second + ",";
      if (l.first == "le")
        le = l.second;
      else
        base += l.first + "=" + l.second + ",";
    }
    if (!series.insert(key).second) return "duplicate series: " + line;
    if (!suffix.empty()) {
      HistogramState& h = hist[family + "{" + base];
      const double v = toDouble(value);
      if (suffix == "_bucket") {
        if (le.empty() || !isNumber(le)) return "bucket without numeric le: " + line;
        const double bound = toDouble(le);
        if (bound <= h.last_le) return "le not increasing: " + line;
        if (v < h.last_count) return "buckets not cumulative: " + line;
        h.last_le = bound;
        h.last_count = v;
        if (le == "+Inf") h.inf_count = v;
      } else if (suffix == "_count") {
        if (h.inf_count < 0) return "histogram without +Inf bucket before _count: " + line;
        if (v != h.inf_count) return "+Inf bucket differs from _count: " + line;
      }
    }
  }
  for (const auto& t : types)
    if (!helps.count(t.first)) return "no HELP for " + t.first;
  return "";
}

void assertWellFormed(const std::string& page) {
  const std::string problem = checkExposition(page);
  if (!problem.empty()) fail_msg("%s\n--- page ---\n%s", problem.c_str(), page.c_str());
}

const char* const kFamilies[] = {
    "tasker_auth_requests_total",      "tasker_auth_failures_total",
    "tasker_permission_denials_total", "tasker_auth_jwt_verification_duration_milliseconds",
    "tasker_auth_jwks_refresh_total",  "tasker_auth_jwks_keys",
};

}  // namespace

// ---- layout, init, compatibility ---------------------------------------------------------------

static void test_metrics_layout_is_shareable(void** state) {
  static_assert(std::is_standard_layout<MetricsBlock>::value, "standard layout");
  static_assert(std::atomic<uint64_t>::is_always_lock_free, "lock-free");
  assert_true(alignof(MetricsBlock) <= alignof(std::max_align_t));
  assert_true(sizeof(MetricsBlock) < 64 * 1024);  // fits comfortably in a small zone
  assert_int_equal(offsetof(MetricsBlock, magic), 0);
  // Two workers' lanes never share a cache line (the block itself is page-aligned in nginx).
  assert_int_equal(offsetof(MetricsBlock, lanes) % 64, 0);
  assert_int_equal(sizeof(MetricsLane) % 64, 0);
}

static void test_metrics_init_zeroes_garbage_and_sets_magic(void** state) {
  void* raw = ::operator new(sizeof(MetricsBlock));
  std::memset(raw, 0xA5, sizeof(MetricsBlock));
  MetricsBlock* b = static_cast<MetricsBlock*>(raw);
  assert_false(metricsCompatible(b));
  metricsInit(b);
  b = std::launder(b);
  assert_true(metricsCompatible(b));
  assert_int_equal(b->magic, kMetricsMagic);
  assert_int_equal(b->version, kMetricsLayoutVersion);
  assert_int_equal(b->size, sizeof(MetricsBlock));
  for (auto& lane : b->lanes) {
    assert_int_equal(lane.owner.load(), 0);
    for (auto& m : lane.requests)
      for (auto& c : m) assert_int_equal(c.load(), 0);
    for (auto& c : lane.failures) assert_int_equal(c.load(), 0);
    for (auto& c : lane.denials) assert_int_equal(c.load(), 0);
    for (auto& r : lane.verify_buckets)
      for (auto& c : r) assert_int_equal(c.load(), 0);
    for (auto& c : lane.verify_sum_ns) assert_int_equal(c.load(), 0);
  }
  for (auto& s : b->jwks) {
    assert_int_equal(s.url_len.load(), 0);
    assert_int_equal(s.refresh[0].load() + s.refresh[1].load() + s.keys.load(), 0);
    for (char c : s.url) assert_int_equal(c, 0);
    assert_int_equal(s.source.load(), 0);
  }
  ::operator delete(raw);
}

static void test_metrics_compat_rejects_foreign_layouts(void** state) {
  assert_false(metricsCompatible(nullptr));
  MetricsBlock fresh;  // constructed but never initialised: magic 0
  assert_false(metricsCompatible(&fresh));
  auto b = newBlock();
  assert_true(metricsCompatible(b.get()));
  b->version = kMetricsLayoutVersion + 1;
  assert_false(metricsCompatible(b.get()));
  b->version = kMetricsLayoutVersion;
  b->size = sizeof(MetricsBlock) + 8;
  assert_false(metricsCompatible(b.get()));
  b->size = sizeof(MetricsBlock);
  b->magic = ~kMetricsMagic;
  assert_false(metricsCompatible(b.get()));
  b->magic = kMetricsMagic;
  assert_true(metricsCompatible(b.get()));
}

static void test_metrics_reuse_after_reload_keeps_counts(void** state) {
  auto b = newBlock();
  const int slot = metricsRegisterUrl(b.get(), "https://idp.example/jwks");
  metricsCountRequest(b.get(), kMetricsMethodJwt, true);
  metricsCountJwksRefresh(b.get(), slot, true);
  // What the adapter does on reload: compatible -> keep, re-register the configured URLs.
  assert_true(metricsCompatible(b.get()));
  assert_int_equal(metricsRegisterUrl(b.get(), "https://idp.example/jwks"), slot);
  assert_int_equal(b->lanes[0].requests[kMetricsMethodJwt][kMetricsResultSuccess].load(), 1);
  assert_int_equal(b->jwks[slot].refresh[kMetricsResultSuccess].load(), 1);
  // An incompatible block is re-initialised from scratch.
  metricsInit(b.get());
  assert_int_equal(b->lanes[0].requests[kMetricsMethodJwt][kMetricsResultSuccess].load(), 0);
  assert_int_equal(b->jwks[slot].url_len.load(), 0);
}

// ---- counters ----------------------------------------------------------------------------------

static void test_metrics_count_request_by_method_and_result(void** state) {
  auto b = newBlock();
  metricsCountRequest(b.get(), kMetricsMethodJwt, true);
  metricsCountRequest(b.get(), kMetricsMethodJwt, true);
  metricsCountRequest(b.get(), kMetricsMethodJwt, false);
  metricsCountRequest(b.get(), kMetricsMethodApiKey, false);
  assert_int_equal(b->lanes[0].requests[kMetricsMethodJwt][kMetricsResultSuccess].load(), 2);
  assert_int_equal(b->lanes[0].requests[kMetricsMethodJwt][kMetricsResultFailure].load(), 1);
  assert_int_equal(b->lanes[0].requests[kMetricsMethodApiKey][kMetricsResultSuccess].load(), 0);
  assert_int_equal(b->lanes[0].requests[kMetricsMethodApiKey][kMetricsResultFailure].load(), 1);
  const std::string page = render(*b);
  assert_string_equal(
      valueOf(page, "tasker_auth_requests_total{method=\"jwt\",result=\"success\"}").c_str(), "2");
  assert_string_equal(
      valueOf(page, "tasker_auth_requests_total{method=\"api_key\",result=\"failure\"}").c_str(),
      "1");
}

static void test_metrics_method_index(void** state) {
  assert_int_equal(metricsMethodIndex("jwt"), kMetricsMethodJwt);
  assert_int_equal(metricsMethodIndex("api_key"), kMetricsMethodApiKey);
  assert_int_equal(metricsMethodIndex(""), -1);
  assert_int_equal(metricsMethodIndex("JWT"), -1);
  assert_int_equal(metricsMethodIndex("api-key"), -1);
}

static void test_metrics_failure_reason_index_names(void** state) {
  const char* const names[] = {"missing",         "malformed",           "expired",
                               "not_yet_valid",   "invalid_signature",   "invalid_claims",
                               "unknown_key",     "unknown_permissions", "invalid_api_key",
                               "keys_unavailable"};
  static_assert(sizeof names / sizeof names[0] == kFailureReasonCount, "ten reasons");
  for (int i = 0; i < kFailureReasonCount; ++i) {
    assert_int_equal(failureReasonIndex(names[i]), i);
    assert_string_equal(failureReasonName(i), names[i]);
  }
  assert_int_equal(failureReasonIndex(nullptr), -1);
  assert_int_equal(failureReasonIndex(""), -1);
  assert_int_equal(failureReasonIndex("Expired"), -1);
  assert_int_equal(failureReasonIndex("expired "), -1);
  assert_null(failureReasonName(-1));
  assert_null(failureReasonName(kFailureReasonCount));
}

static void test_metrics_failure_reason_covers_every_status(void** state) {
  // Every Status that status.cpp maps to a reason label must have a metrics slot, and every slot
  // must be reachable from some Status.
  std::set<int> reached;
  for (int s = static_cast<int>(Status::Ok); s <= static_cast<int>(Status::OutOfMemory); ++s) {
    const char* reason = failureReason(static_cast<Status>(s));
    if (reason == nullptr) continue;
    const int idx = failureReasonIndex(reason);
    if (idx < 0)
      fail_msg("reason %s of status %s has no metrics slot", reason,
               statusName(static_cast<Status>(s)));
    reached.insert(idx);
  }
  assert_int_equal(reached.size(), kFailureReasonCount);
  assert_int_equal(failureReasonIndex(failureReason(Status::PermDenied)), -1);
}

static void test_metrics_count_failure_by_reason(void** state) {
  auto b = newBlock();
  metricsCountFailure(b.get(), failureReasonIndex(failureReason(Status::TokenExpired)));
  metricsCountFailure(b.get(), failureReasonIndex(failureReason(Status::TokenBadSignature)));
  metricsCountFailure(b.get(), failureReasonIndex(failureReason(Status::TokenAlgKeyMismatch)));
  metricsCountFailure(b.get(), failureReasonIndex(failureReason(Status::KeysUnavailable)));
  metricsCountFailure(b.get(), failureReasonIndex(failureReason(Status::PermDenied)));  // -1
  assert_int_equal(b->lanes[0].failures[failureReasonIndex("expired")].load(), 1);
  assert_int_equal(b->lanes[0].failures[failureReasonIndex("invalid_signature")].load(), 2);
  assert_int_equal(b->lanes[0].failures[failureReasonIndex("keys_unavailable")].load(), 1);
  uint64_t total = 0;
  for (auto& c : b->lanes[0].failures) total += c.load();
  assert_int_equal(total, 4);
  const std::string page = render(*b);
  assert_string_equal(
      valueOf(page, "tasker_auth_failures_total{reason=\"invalid_signature\"}").c_str(), "2");
  assert_string_equal(valueOf(page, "tasker_auth_failures_total{reason=\"missing\"}").c_str(), "0");
}

static void test_metrics_count_failure_by_status(void** state) {
  auto b = newBlock();
  metricsCountFailureStatus(b.get(), Status::TokenExpired);
  metricsCountFailureStatus(b.get(), Status::TokenAlgKeyMismatch);
  metricsCountFailureStatus(b.get(), Status::CredentialsMissing);
  metricsCountFailureStatus(b.get(), Status::PermDenied);  // no reason label: ignored
  metricsCountFailureStatus(b.get(), Status::Ok);          // ignored
  metricsCountFailureStatus(nullptr, Status::TokenExpired);
  assert_int_equal(b->lanes[0].failures[failureReasonIndex("expired")].load(), 1);
  assert_int_equal(b->lanes[0].failures[failureReasonIndex("invalid_signature")].load(), 1);
  assert_int_equal(b->lanes[0].failures[failureReasonIndex("missing")].load(), 1);
  uint64_t total = 0;
  for (auto& c : b->lanes[0].failures) total += c.load();
  assert_int_equal(total, 3);
}

static void test_metrics_count_denial_by_permission(void** state) {
  auto b = newBlock();
  metricsCountDenial(b.get(), permissionIndex("tasks:create"));
  metricsCountDenial(b.get(), permissionIndex("worker:templates_read"));
  metricsCountDenial(b.get(), permissionIndex("worker:templates_read"));
  metricsCountDenial(b.get(), permissionIndex("tasks:*"));  // -1: not a vocabulary name
  assert_int_equal(b->lanes[0].denials[0].load(), 1);
  assert_int_equal(b->lanes[0].denials[16].load(), 2);
  const std::string page = render(*b);
  for (int i = 0; i < kPermissionCount; ++i) {
    const std::string series = std::string("tasker_permission_denials_total{permission=\"") +
                               permissionTable()[i].name + "\"}";
    const char* expect = i == 0 ? "1" : i == 16 ? "2" : "0";
    assert_string_equal(valueOf(page, series).c_str(), expect);
  }
  assert_string_equal(
      valueOf(page, "tasker_permission_denials_total{permission=\"method_not_covered\"}").c_str(),
      "0");
  assert_int_equal(countOf(page, "\ntasker_permission_denials_total{"), kPermissionCount + 1);
  // a 403 for a method no rule covers has a series of its own
  metricsCountDenial(b.get(), kMetricsDenialMethodNotCovered);
  assert_string_equal(valueOf(render(*b), "tasker_permission_denials_total{permission=\""
                                          "method_not_covered\"}").c_str(),
                      "1");
}

static void test_metrics_ignores_out_of_range_indices(void** state) {
  auto b = newBlock();
  const std::string before = render(*b);
  for (int bad : {-1, -1000, 2, 10, 16, 17, 1 << 30}) {
    if (bad >= kMetricsMethodCount || bad < 0) metricsCountRequest(b.get(), bad, true);
    if (bad >= kFailureReasonCount || bad < 0) metricsCountFailure(b.get(), bad);
    if (bad >= kMetricsDenialCount || bad < 0) metricsCountDenial(b.get(), bad);
    metricsCountJwksRefresh(b.get(), bad, true);  // no URL registered: every slot is ignored
    metricsSetJwksKeys(b.get(), bad, 7);
  }
  metricsCountJwksRefresh(b.get(), 0, false);  // in range, but not registered
  metricsSetJwksKeys(b.get(), 0, 7);
  assert_string_equal(render(*b).c_str(), before.c_str());
  // A null block (metrics disabled) is a no-op everywhere.
  metricsInit(nullptr);
  metricsCountRequest(nullptr, 0, true);
  metricsCountFailure(nullptr, 0);
  metricsCountDenial(nullptr, 0);
  metricsObserveVerification(nullptr, true, 1);
  metricsCountJwksRefresh(nullptr, 0, true);
  metricsSetJwksKeys(nullptr, 0, 1);
  assert_int_equal(metricsRegisterUrl(nullptr, "https://a/"), -1);
  assert_int_equal(static_cast<int>(writePrometheus(*b, nullptr)),
                   static_cast<int>(Status::Internal));
}

// ---- histogram ---------------------------------------------------------------------------------

static void test_metrics_histogram_exact_boundaries(void** state) {
  auto b = newBlock();
  // Bucket i holds (bound[i-1], bound[i]]: an observation equal to a bound belongs to that bound.
  for (int i = 0; i < kVerifyBucketCount; ++i) {
    const uint64_t bound = kVerifyBucketBoundsNs[i];
    metricsObserveVerification(b.get(), true, bound);
    assert_int_equal(b->lanes[0].verify_buckets[kMetricsResultSuccess][i].load(), 1);
    metricsObserveVerification(b.get(), false, bound + 1);
    assert_int_equal(b->lanes[0].verify_buckets[kMetricsResultFailure][i + 1].load(), 1);
  }
  // 0 ns goes to the first bucket; the largest value only to +Inf.
  metricsObserveVerification(b.get(), true, 0);
  assert_int_equal(b->lanes[0].verify_buckets[kMetricsResultSuccess][0].load(), 2);
  metricsObserveVerification(b.get(), true, UINT64_MAX);
  assert_int_equal(b->lanes[0].verify_buckets[kMetricsResultSuccess][kVerifyBucketCount].load(), 1);

  auto e = newBlock();
  metricsObserveVerification(e.get(), true, 5000);  // exactly 0.005 ms
  metricsObserveVerification(e.get(), true, 5001);
  const std::string page = render(*e);
  const std::string p =
      "tasker_auth_jwt_verification_duration_milliseconds_bucket{result=\"success\",";
  assert_string_equal(valueOf(page, p + "le=\"0.005\"}").c_str(), "1");
  assert_string_equal(valueOf(page, p + "le=\"0.01\"}").c_str(), "2");
  assert_string_equal(valueOf(page, p + "le=\"+Inf\"}").c_str(), "2");
}

static void test_metrics_histogram_le_labels(void** state) {
  auto b = newBlock();
  const std::string page = render(*b);
  const char* const les[] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1",
                             "2.5",   "5",    "10",    "25",   "50",  "100",  "+Inf"};
  size_t last = 0;
  for (const char* le : les) {
    const std::string series =
        std::string(
            "tasker_auth_jwt_verification_duration_milliseconds_bucket{result=\"failure\","
            "le=\"") +
        le + "\"} 0\n";
    const size_t pos = page.find(series);
    if (pos == std::string::npos) fail_msg("missing %s", series.c_str());
    assert_true(pos > last);  // increasing order
    last = pos;
  }
  assert_int_equal(countOf(page, "_bucket{"), 2 * (kVerifyBucketCount + 1));
}

static void test_metrics_histogram_buckets_are_cumulative(void** state) {
  auto b = newBlock();
  const uint64_t obs[] = {1, 4'999, 30'000, 30'000, 700'000, 3'000'000, 99'000'000, 200'000'000};
  for (uint64_t ns : obs) metricsObserveVerification(b.get(), false, ns);
  const std::string page = render(*b);
  const std::string p =
      "tasker_auth_jwt_verification_duration_milliseconds_bucket{result=\"failure\",";
  const std::pair<const char*, const char*> expect[] = {
      {"0.005", "2"}, {"0.01", "2"}, {"0.025", "2"}, {"0.05", "4"}, {"0.1", "4"},
      {"0.25", "4"},  {"0.5", "4"},  {"1", "5"},     {"2.5", "5"},  {"5", "6"},
      {"10", "6"},    {"25", "6"},   {"50", "6"},    {"100", "7"},  {"+Inf", "8"},
  };
  for (const auto& e : expect) {
    assert_string_equal(valueOf(page, p + "le=\"" + e.first + "\"}").c_str(), e.second);
  }
  // The success series is untouched.
  assert_string_equal(
      valueOf(page, "tasker_auth_jwt_verification_duration_milliseconds_count{result=\"success\"}")
          .c_str(),
      "0");
  assertWellFormed(page);
}

static void test_metrics_histogram_sum_and_count_consistent(void** state) {
  auto b = newBlock();
  uint64_t total_ns = 0;
  for (uint64_t i = 0; i < 1000; ++i) {
    const uint64_t ns = i * 1'237 + 1;
    metricsObserveVerification(b.get(), true, ns);
    total_ns += ns;
  }
  assert_int_equal(metricsVerificationCount(*b, true), 1000);
  assert_int_equal(metricsVerificationCount(*b, false), 0);
  assert_int_equal(b->lanes[0].verify_sum_ns[kMetricsResultSuccess].load(), total_ns);
  const std::string page = render(*b);
  const std::string n = "tasker_auth_jwt_verification_duration_milliseconds";
  // total_ns = 1237 * 499500 + 1000 = 617,882,500 ns = 617.8825 ms exactly.
  assert_int_equal(total_ns, 617'882'500u);
  assert_string_equal(valueOf(page, n + "_sum{result=\"success\"}").c_str(), "617.8825");
  assert_string_equal(valueOf(page, n + "_count{result=\"success\"}").c_str(), "1000");
  assert_string_equal(valueOf(page, n + "_bucket{result=\"success\",le=\"+Inf\"}").c_str(), "1000");
  assert_string_equal(valueOf(page, n + "_sum{result=\"failure\"}").c_str(), "0");
}

static void test_metrics_histogram_sum_renders_exact_milliseconds(void** state) {
  const std::pair<uint64_t, const char*> cases[] = {
      {0, "0"},
      {1, "0.000001"},
      {10, "0.00001"},
      {5'000, "0.005"},
      {999'999, "0.999999"},
      {1'000'000, "1"},
      {1'234'567, "1.234567"},
      {2'500'000, "2.5"},
      {100'000'000, "100"},
      {UINT64_MAX, "18446744073709.551615"},
  };
  for (const auto& c : cases) {
    auto b = newBlock();
    b->lanes[0].verify_sum_ns[kMetricsResultFailure].store(c.first);
    const std::string page = render(*b);
    assert_string_equal(
        valueOf(page, "tasker_auth_jwt_verification_duration_milliseconds_sum{result=\"failure\"}")
            .c_str(),
        c.second);
  }
}

// ---- JWKS URLs ---------------------------------------------------------------------------------

static void test_metrics_register_url_is_idempotent(void** state) {
  auto b = newBlock();
  assert_int_equal(metricsRegisterUrl(b.get(), "https://a.example/jwks"), 0);
  assert_int_equal(metricsRegisterUrl(b.get(), "https://b.example/jwks"), 1);
  assert_int_equal(metricsRegisterUrl(b.get(), "https://a.example/jwks"), 0);
  assert_int_equal(metricsRegisterUrl(b.get(), std::string("https://b.example/jwks")), 1);
  // A prefix or extension of a registered URL is a different URL.
  assert_int_equal(metricsRegisterUrl(b.get(), "https://a.example/jwk"), 2);
  assert_int_equal(metricsRegisterUrl(b.get(), "https://a.example/jwks2"), 3);
  assert_int_equal(b->jwks[0].url_len.load(), std::strlen("https://a.example/jwks"));
  assert_string_equal(b->jwks[0].url, "https://a.example/jwks");
  assert_int_equal(b->jwks[4].url_len.load(), 0);
}

static void test_metrics_register_url_full(void** state) {
  auto b = newBlock();
  for (int i = 0; i < kMaxJwksUrls; ++i) {
    const std::string url = "https://idp" + std::to_string(i) + ".example/jwks";
    assert_int_equal(metricsRegisterUrl(b.get(), url), i);
  }
  assert_int_equal(metricsRegisterUrl(b.get(), "https://one-too-many.example/jwks"), -1);
  // Already registered URLs are still found when every slot is taken.
  assert_int_equal(metricsRegisterUrl(b.get(), "https://idp7.example/jwks"), 7);
  const std::string page = render(*b);
  assert_int_equal(countOf(page, "\ntasker_auth_jwks_refresh_total{"), 2 * kMaxJwksUrls);
  assert_int_equal(countOf(page, "\ntasker_auth_jwks_keys{"), kMaxJwksUrls);
  assertWellFormed(page);
}

static void test_metrics_register_url_rejects_unstorable(void** state) {
  auto b = newBlock();
  assert_int_equal(metricsRegisterUrl(b.get(), ""), -1);
  assert_int_equal(metricsRegisterUrl(b.get(), std::string_view("https://a/\0b", 12)), -1);
  assert_int_equal(metricsRegisterUrl(b.get(), "https://a/\xff"), -1);          // invalid UTF-8
  assert_int_equal(metricsRegisterUrl(b.get(), "https://a/\xc0\xaf"), -1);      // overlong
  assert_int_equal(metricsRegisterUrl(b.get(), "https://a/\xed\xa0\x80"), -1);  // surrogate
  assert_int_equal(metricsRegisterUrl(b.get(), "https://a/\xe2\x82"), -1);      // truncated
  std::string longest = "https://idp.example/" + std::string(kMetricsLabelBytes, 'x');
  longest.resize(kMetricsLabelBytes - 1);
  std::string too_long = longest + "x";
  assert_int_equal(metricsRegisterUrl(b.get(), too_long), -1);
  for (const auto& s : b->jwks) assert_int_equal(s.url_len.load(), 0);
  assert_int_equal(metricsRegisterUrl(b.get(), longest, 7), 0);
  // The longest label and its NUL stop short of the source beside them.
  assert_int_equal(b->jwks[0].source.load(), 7);
  assert_int_equal(b->jwks[0].url[kMetricsLabelBytes - 1], '\0');
  assert_int_equal(metricsRegisterUrl(b.get(), "https://a/caf\xc3\xa9/\xf0\x9f\x94\x91"), 1);
  const std::string page = render(*b);
  assert_string_equal(valueOf(page, "tasker_auth_jwks_keys{url=\"" + longest + "\"}").c_str(), "0");
  assertWellFormed(page);
}

static void test_metrics_jwks_refresh_and_keys(void** state) {
  auto b = newBlock();
  const int a = metricsRegisterUrl(b.get(), "https://a.example/jwks");
  const int c = metricsRegisterUrl(b.get(), "http://c.example:8080/keys");
  metricsCountJwksRefresh(b.get(), a, true);
  metricsCountJwksRefresh(b.get(), a, true);
  metricsCountJwksRefresh(b.get(), a, false);
  metricsCountJwksRefresh(b.get(), c, false);
  metricsSetJwksKeys(b.get(), a, 5);
  metricsSetJwksKeys(b.get(), a, 3);  // a gauge: the last value wins
  assert_int_equal(b->jwks[a].refresh[kMetricsResultSuccess].load(), 2);
  assert_int_equal(b->jwks[a].refresh[kMetricsResultFailure].load(), 1);
  assert_int_equal(b->jwks[a].keys.load(), 3);
  const std::string page = render(*b);
  const char* expected =
      "# HELP tasker_auth_jwks_refresh_total JWKS refresh attempts by URL and result.\n"
      "# TYPE tasker_auth_jwks_refresh_total counter\n"
      "tasker_auth_jwks_refresh_total{url=\"https://a.example/jwks\",result=\"success\"} 2\n"
      "tasker_auth_jwks_refresh_total{url=\"https://a.example/jwks\",result=\"failure\"} 1\n"
      "tasker_auth_jwks_refresh_total{url=\"http://c.example:8080/keys\",result=\"success\"} 0\n"
      "tasker_auth_jwks_refresh_total{url=\"http://c.example:8080/keys\",result=\"failure\"} 1\n"
      "# HELP tasker_auth_jwks_keys Usable keys in the key set last loaded from the JWKS URL.\n"
      "# TYPE tasker_auth_jwks_keys gauge\n"
      "tasker_auth_jwks_keys{url=\"https://a.example/jwks\"} 3\n"
      "tasker_auth_jwks_keys{url=\"http://c.example:8080/keys\"} 0\n";
  const size_t pos = page.find("# HELP tasker_auth_jwks_refresh_total");
  assert_true(pos != std::string::npos);
  assert_string_equal(page.substr(pos).c_str(), expected);
}

static void test_metrics_unregister_url(void** state) {
  auto b = newBlock();
  const int a = metricsRegisterUrl(b.get(), "https://a.example/jwks");
  const int c = metricsRegisterUrl(b.get(), "https://c.example/jwks");
  metricsCountJwksRefresh(b.get(), a, true);
  metricsSetJwksKeys(b.get(), a, 4);
  metricsUnregisterUrl(b.get(), a);
  metricsUnregisterUrl(b.get(), -1);            // ignored
  metricsUnregisterUrl(b.get(), kMaxJwksUrls);  // ignored
  metricsUnregisterUrl(nullptr, 0);             // ignored
  std::string page = render(*b);
  assert_int_equal(countOf(page, "a.example"), 0);
  assert_int_equal(countOf(page, "\ntasker_auth_jwks_keys{"), 1);
  assertWellFormed(page);
  // The freed slot is reused, starting from zero.
  assert_int_equal(metricsRegisterUrl(b.get(), "https://d.example/jwks"), a);
  assert_int_equal(b->jwks[a].refresh[kMetricsResultSuccess].load(), 0);
  assert_int_equal(b->jwks[a].keys.load(), 0);
  assert_int_equal(metricsRegisterUrl(b.get(), "https://c.example/jwks"), c);
}

// The identity of a raw URL: FNV-1a 64, the same in every process, never the "unknown" 0.
static void test_metrics_url_source(void** state) {
  assert_true(metricsUrlSource("") == 0xcbf29ce484222325ULL);
  assert_true(metricsUrlSource("a") == 0xaf63dc4c8601ec8cULL);
  assert_true(metricsUrlSource("foobar") == 0x85944171f73967e8ULL);
  const uint64_t a = metricsUrlSource("http://idp/jwks.json?tenant=A");
  const uint64_t b = metricsUrlSource("http://idp/jwks.json?tenant=B");
  const uint64_t u = metricsUrlSource("http://user:pw@idp/jwks.json?tenant=A");
  assert_true(a != 0 && b != 0 && u != 0);
  assert_true(a != b && a != u && b != u);
  assert_true(metricsUrlSource(std::string("http://idp/jwks.json?tenant=A")) == a);
}

// A label registered again for the URL it counts for keeps its series; for another URL (a reload
// moved the label) they restart, and only the new URL's processes count there.
static void test_metrics_register_url_source_follows_url(void** state) {
  auto b = newBlock();
  const std::string label = "http://idp/jwks.json?...";
  const uint64_t src_a = metricsUrlSource("http://idp/jwks.json?tenant=A");
  const uint64_t src_b = metricsUrlSource("http://idp/jwks.json?tenant=B");
  const int slot = metricsRegisterUrl(b.get(), label, src_b);
  assert_int_equal(slot, 0);
  assert_true(b->jwks[slot].source.load() == src_b);
  metricsCountJwksRefresh(b.get(), slot, true);
  metricsCountJwksRefresh(b.get(), slot, false);
  metricsSetJwksKeys(b.get(), slot, 3);
  assert_true(metricsSlotIs(b.get(), slot, label, src_b));
  assert_false(metricsSlotIs(b.get(), slot, label, src_a));
  assert_false(metricsSlotIs(b.get(), slot, label + "#2", src_b));
  // Same label, same URL: a reload keeps the counts.
  assert_int_equal(metricsRegisterUrl(b.get(), label, src_b), slot);
  assert_int_equal(b->jwks[slot].refresh[kMetricsResultSuccess].load(), 1);
  assert_int_equal(b->jwks[slot].keys.load(), 3);
  // No source given: matched by label, nothing changes.
  assert_int_equal(metricsRegisterUrl(b.get(), label), slot);
  assert_true(b->jwks[slot].source.load() == src_b);
  assert_int_equal(b->jwks[slot].keys.load(), 3);
  // Same label, another URL: the series restart and name that URL, in the same slot.
  assert_int_equal(metricsRegisterUrl(b.get(), label, src_a), slot);
  assert_int_equal(b->jwks[slot].refresh[kMetricsResultSuccess].load(), 0);
  assert_int_equal(b->jwks[slot].refresh[kMetricsResultFailure].load(), 0);
  assert_int_equal(b->jwks[slot].keys.load(), 0);
  assert_true(b->jwks[slot].source.load() == src_a);
  assert_true(metricsSlotIs(b.get(), slot, label, src_a));
  assert_false(metricsSlotIs(b.get(), slot, label, src_b));
  // The older configuration's processes check before counting, so B's refresh stays out.
  if (metricsSlotIs(b.get(), slot, label, src_b)) metricsCountJwksRefresh(b.get(), slot, true);
  assert_int_equal(b->jwks[slot].refresh[kMetricsResultSuccess].load(), 0);
  const std::string page = render(*b);
  assert_string_equal(valueOf(page, "tasker_auth_jwks_keys{url=\"" + label + "\"}").c_str(), "0");
  assertWellFormed(page);
  // Out of range, unregistered or no block: never "mine".
  assert_false(metricsSlotIs(b.get(), -1, label, src_a));
  assert_false(metricsSlotIs(b.get(), kMaxJwksUrls, label, src_a));
  assert_false(metricsSlotIs(b.get(), 1, "", 0));
  assert_false(metricsSlotIs(nullptr, slot, label, src_a));
}

// A slot a build before `source` wrote (source 0) is adopted by the first registration with a
// source, counts kept: that build matched by label, as the URL itself was then.
static void test_metrics_register_url_adopts_unknown_source(void** state) {
  auto b = newBlock();
  const std::string label = "http://idp/jwks.json?...";
  const uint64_t src_b = metricsUrlSource("http://idp/jwks.json?tenant=B");
  const int slot = metricsRegisterUrl(b.get(), label);  // as the earlier build wrote it
  assert_int_equal(b->jwks[slot].source.load(), 0);
  metricsCountJwksRefresh(b.get(), slot, true);
  metricsSetJwksKeys(b.get(), slot, 3);
  assert_int_equal(metricsRegisterUrl(b.get(), label, src_b), slot);
  assert_true(b->jwks[slot].source.load() == src_b);
  assert_int_equal(b->jwks[slot].refresh[kMetricsResultSuccess].load(), 1);
  assert_int_equal(b->jwks[slot].keys.load(), 3);
  // Unregistering forgets the source with the label.
  metricsUnregisterUrl(b.get(), slot);
  assert_int_equal(b->jwks[slot].source.load(), 0);
  assert_false(metricsSlotIs(b.get(), slot, label, src_b));
}

// The audit's reload: B alone has the bare label; A, added before B, takes it and B becomes
// "#2". Each series then counts for its own URL: A's from 0, B's from 0 until its gauge is set
// (the adapter seeds it from the key set it keeps). Removing A again gives the label back to B.
static void test_metrics_reload_reordering_shared_labels(void** state) {
  auto b = newBlock();
  const std::string bare = "http://idp/jwks.json?...";
  const std::string second = bare + "#2";
  const uint64_t src_a = metricsUrlSource("http://idp/jwks.json?tenant=A");
  const uint64_t src_b = metricsUrlSource("http://idp/jwks.json?tenant=B");
  int slot_b = metricsRegisterUrl(b.get(), bare, src_b);
  metricsCountJwksRefresh(b.get(), slot_b, true);
  metricsCountJwksRefresh(b.get(), slot_b, true);
  metricsSetJwksKeys(b.get(), slot_b, 3);

  // Reload 1: A first (bare), B second (#2).
  const int slot_a = metricsRegisterUrl(b.get(), bare, src_a);
  slot_b = metricsRegisterUrl(b.get(), second, src_b);
  assert_int_equal(slot_a, 0);
  assert_int_equal(slot_b, 1);
  metricsCountJwksRefresh(b.get(), slot_a, true);  // A is new: fetched at once
  metricsSetJwksKeys(b.get(), slot_a, 1);
  metricsSetJwksKeys(b.get(), slot_b, 3);  // B's kept set, seeded by the adapter
  std::string page = render(*b);
  assert_string_equal(valueOf(page, "tasker_auth_jwks_keys{url=\"" + bare + "\"}").c_str(), "1");
  assert_string_equal(
      valueOf(page, "tasker_auth_jwks_refresh_total{url=\"" + bare + "\",result=\"success\"}")
          .c_str(),
      "1");
  assert_string_equal(valueOf(page, "tasker_auth_jwks_keys{url=\"" + second + "\"}").c_str(), "3");
  assert_string_equal(
      valueOf(page, "tasker_auth_jwks_refresh_total{url=\"" + second + "\",result=\"success\"}")
          .c_str(),
      "0");

  // Reload 2: A removed; B takes the bare label back. What A counted there is gone.
  metricsUnregisterUrl(b.get(), slot_b);  // "#2" is no longer configured
  assert_int_equal(metricsRegisterUrl(b.get(), bare, src_b), slot_a);
  assert_int_equal(b->jwks[slot_a].refresh[kMetricsResultSuccess].load(), 0);
  assert_int_equal(b->jwks[slot_a].keys.load(), 0);
  assert_true(metricsSlotIs(b.get(), slot_a, bare, src_b));
  page = render(*b);
  assert_int_equal(countOf(page, "#2"), 0);
  assertWellFormed(page);
}

static void test_metrics_escapes_label_values(void** state) {
  auto b = newBlock();
  const int slot = metricsRegisterUrl(b.get(), "https://a.example/\"q\"\\path\nline");
  assert_true(slot >= 0);
  metricsSetJwksKeys(b.get(), slot, 2);
  const std::string page = render(*b);
  assert_string_equal(
      valueOf(page, "tasker_auth_jwks_keys{url=\"https://a.example/\\\"q\\\"\\\\path\\nline\"}")
          .c_str(),
      "2");
  // The raw newline never reaches the page: every line is a HELP, TYPE or sample line.
  assert_true(page.find("path\nline") == std::string::npos);
  assertWellFormed(page);
}

// ---- exposition
// ----------------------------------------------------------------------------------

static void test_metrics_exposition_snapshot(void** state) {
  auto b = newBlock();
  metricsCountRequest(b.get(), kMetricsMethodJwt, true);
  metricsCountRequest(b.get(), kMetricsMethodJwt, true);
  metricsCountRequest(b.get(), kMetricsMethodJwt, true);
  metricsCountRequest(b.get(), kMetricsMethodJwt, false);
  metricsCountRequest(b.get(), kMetricsMethodJwt, false);
  metricsCountRequest(b.get(), kMetricsMethodApiKey, false);
  metricsCountFailure(b.get(), failureReasonIndex("expired"));
  metricsCountFailure(b.get(), failureReasonIndex("invalid_signature"));
  metricsCountFailure(b.get(), failureReasonIndex("invalid_api_key"));
  metricsCountDenial(b.get(), permissionIndex("tasks:create"));
  metricsCountDenial(b.get(), permissionIndex("worker:templates_read"));
  metricsCountDenial(b.get(), permissionIndex("worker:templates_read"));
  metricsObserveVerification(b.get(), true, 5'000);
  metricsObserveVerification(b.get(), true, 120'000);
  metricsObserveVerification(b.get(), false, 1);
  metricsObserveVerification(b.get(), false, 100'000'001);
  const int slot = metricsRegisterUrl(b.get(), "https://idp.example/.well-known/jwks.json");
  metricsCountJwksRefresh(b.get(), slot, true);
  metricsCountJwksRefresh(b.get(), slot, true);
  metricsCountJwksRefresh(b.get(), slot, false);
  metricsSetJwksKeys(b.get(), slot, 3);

  const char* expected =
      "# HELP tasker_auth_requests_total Authentication attempts by credential method and result; "
      "a request that authenticates and is then denied a permission counts as success.\n"
      "# TYPE tasker_auth_requests_total counter\n"
      "tasker_auth_requests_total{method=\"jwt\",result=\"success\"} 3\n"
      "tasker_auth_requests_total{method=\"jwt\",result=\"failure\"} 2\n"
      "tasker_auth_requests_total{method=\"api_key\",result=\"success\"} 0\n"
      "tasker_auth_requests_total{method=\"api_key\",result=\"failure\"} 1\n"
      "# HELP tasker_auth_failures_total Authentication failures by reason.\n"
      "# TYPE tasker_auth_failures_total counter\n"
      "tasker_auth_failures_total{reason=\"missing\"} 0\n"
      "tasker_auth_failures_total{reason=\"malformed\"} 0\n"
      "tasker_auth_failures_total{reason=\"expired\"} 1\n"
      "tasker_auth_failures_total{reason=\"not_yet_valid\"} 0\n"
      "tasker_auth_failures_total{reason=\"invalid_signature\"} 1\n"
      "tasker_auth_failures_total{reason=\"invalid_claims\"} 0\n"
      "tasker_auth_failures_total{reason=\"unknown_key\"} 0\n"
      "tasker_auth_failures_total{reason=\"unknown_permissions\"} 0\n"
      "tasker_auth_failures_total{reason=\"invalid_api_key\"} 1\n"
      "tasker_auth_failures_total{reason=\"keys_unavailable\"} 0\n"
      "# HELP tasker_permission_denials_total Authenticated requests denied for a missing "
      "permission, by the first missing permission (method_not_covered: no rule covers the "
      "request's method).\n"
      "# TYPE tasker_permission_denials_total counter\n"
      "tasker_permission_denials_total{permission=\"tasks:create\"} 1\n"
      "tasker_permission_denials_total{permission=\"tasks:read\"} 0\n"
      "tasker_permission_denials_total{permission=\"tasks:list\"} 0\n"
      "tasker_permission_denials_total{permission=\"tasks:cancel\"} 0\n"
      "tasker_permission_denials_total{permission=\"tasks:context_read\"} 0\n"
      "tasker_permission_denials_total{permission=\"steps:read\"} 0\n"
      "tasker_permission_denials_total{permission=\"steps:resolve\"} 0\n"
      "tasker_permission_denials_total{permission=\"dlq:read\"} 0\n"
      "tasker_permission_denials_total{permission=\"dlq:update\"} 0\n"
      "tasker_permission_denials_total{permission=\"dlq:stats\"} 0\n"
      "tasker_permission_denials_total{permission=\"templates:read\"} 0\n"
      "tasker_permission_denials_total{permission=\"templates:validate\"} 0\n"
      "tasker_permission_denials_total{permission=\"system:config_read\"} 0\n"
      "tasker_permission_denials_total{permission=\"system:handlers_read\"} 0\n"
      "tasker_permission_denials_total{permission=\"system:analytics_read\"} 0\n"
      "tasker_permission_denials_total{permission=\"worker:config_read\"} 0\n"
      "tasker_permission_denials_total{permission=\"worker:templates_read\"} 2\n"
      "tasker_permission_denials_total{permission=\"method_not_covered\"} 0\n"
      "# HELP tasker_auth_jwt_verification_duration_milliseconds Time spent verifying bearer "
      "tokens (every attempt, malformed tokens included), in milliseconds, by result.\n"
      "# TYPE tasker_auth_jwt_verification_duration_milliseconds histogram\n"
      "tasker_auth_jwt_verification_duration_milliseconds_bucket{result=\"success\",le=\"0.005\"} "
      "1\n"
      "tasker_auth_jwt_verification_duration_milliseconds_bucket{result=\"success\",le=\"0.01\"} "
      "1\n"
      "tasker_auth_jwt_verification_duration_milliseconds_bucket{result=\"success\",le=\"0.025\"} "
      "1\n"
      "tasker_auth_jwt_verification_duration_milliseconds_bucket{result=\"success\",le=\"0.05\"} "
      "1\n"
      "tasker_auth_jwt_verification_duration_milliseconds_bucket{result=\"success\",le=\"0.1\"} 1\n"
      "tasker_auth_jwt_verification_duration_milliseconds_bucket{result=\"success\",le=\"0.25\"} "
      "2\n"
      "tasker_auth_jwt_verification_duration_milliseconds_bucket{result=\"success\",le=\"0.5\"} 2\n"
      "tasker_auth_jwt_verification_duration_milliseconds_bucket{result=\"success\",le=\"1\"} 2\n"
      "tasker_auth_jwt_verification_duration_milliseconds_bucket{result=\"success\",le=\"2.5\"} 2\n"
      "tasker_auth_jwt_verification_duration_milliseconds_bucket{result=\"success\",le=\"5\"} 2\n"
      "tasker_auth_jwt_verification_duration_milliseconds_bucket{result=\"success\",le=\"10\"} 2\n"
      "tasker_auth_jwt_verification_duration_milliseconds_bucket{result=\"success\",le=\"25\"} 2\n"
      "tasker_auth_jwt_verification_duration_milliseconds_bucket{result=\"success\",le=\"50\"} 2\n"
      "tasker_auth_jwt_verification_duration_milliseconds_bucket{result=\"success\",le=\"100\"} 2\n"
      "tasker_auth_jwt_verification_duration_milliseconds_bucket{result=\"success\",le=\"+Inf\"} "
      "2\n"
      "tasker_auth_jwt_verification_duration_milliseconds_sum{result=\"success\"} 0.125\n"
      "tasker_auth_jwt_verification_duration_milliseconds_count{result=\"success\"} 2\n"
      "tasker_auth_jwt_verification_duration_milliseconds_bucket{result=\"failure\",le=\"0.005\"} "
      "1\n"
      "tasker_auth_jwt_verification_duration_milliseconds_bucket{result=\"failure\",le=\"0.01\"} "
      "1\n"
      "tasker_auth_jwt_verification_duration_milliseconds_bucket{result=\"failure\",le=\"0.025\"} "
      "1\n"
      "tasker_auth_jwt_verification_duration_milliseconds_bucket{result=\"failure\",le=\"0.05\"} "
      "1\n"
      "tasker_auth_jwt_verification_duration_milliseconds_bucket{result=\"failure\",le=\"0.1\"} 1\n"
      "tasker_auth_jwt_verification_duration_milliseconds_bucket{result=\"failure\",le=\"0.25\"} "
      "1\n"
      "tasker_auth_jwt_verification_duration_milliseconds_bucket{result=\"failure\",le=\"0.5\"} 1\n"
      "tasker_auth_jwt_verification_duration_milliseconds_bucket{result=\"failure\",le=\"1\"} 1\n"
      "tasker_auth_jwt_verification_duration_milliseconds_bucket{result=\"failure\",le=\"2.5\"} 1\n"
      "tasker_auth_jwt_verification_duration_milliseconds_bucket{result=\"failure\",le=\"5\"} 1\n"
      "tasker_auth_jwt_verification_duration_milliseconds_bucket{result=\"failure\",le=\"10\"} 1\n"
      "tasker_auth_jwt_verification_duration_milliseconds_bucket{result=\"failure\",le=\"25\"} 1\n"
      "tasker_auth_jwt_verification_duration_milliseconds_bucket{result=\"failure\",le=\"50\"} 1\n"
      "tasker_auth_jwt_verification_duration_milliseconds_bucket{result=\"failure\",le=\"100\"} 1\n"
      "tasker_auth_jwt_verification_duration_milliseconds_bucket{result=\"failure\",le=\"+Inf\"} "
      "2\n"
      "tasker_auth_jwt_verification_duration_milliseconds_sum{result=\"failure\"} 100.000002\n"
      "tasker_auth_jwt_verification_duration_milliseconds_count{result=\"failure\"} 2\n"
      "# HELP tasker_auth_jwks_refresh_total JWKS refresh attempts by URL and result.\n"
      "# TYPE tasker_auth_jwks_refresh_total counter\n"
      "tasker_auth_jwks_refresh_total{url=\"https://idp.example/.well-known/jwks.json\","
      "result=\"success\"} 2\n"
      "tasker_auth_jwks_refresh_total{url=\"https://idp.example/.well-known/jwks.json\","
      "result=\"failure\"} 1\n"
      "# HELP tasker_auth_jwks_keys Usable keys in the key set last loaded from the JWKS URL.\n"
      "# TYPE tasker_auth_jwks_keys gauge\n"
      "tasker_auth_jwks_keys{url=\"https://idp.example/.well-known/jwks.json\"} 3\n";
  const std::string page = render(*b);
  assert_string_equal(page.c_str(), expected);
  assertWellFormed(page);
}

static void test_metrics_help_and_type_once_per_family(void** state) {
  auto b = newBlock();
  for (int pass = 0; pass < 2; ++pass) {
    const std::string page = render(*b);
    for (const char* f : kFamilies) {
      assert_int_equal(countOf(page, std::string("# HELP ") + f + " "), 1);
      assert_int_equal(countOf(page, std::string("# TYPE ") + f + " "), 1);
    }
    assert_int_equal(countOf(page, "# HELP "), 6);
    assert_int_equal(countOf(page, "# TYPE "), 6);
    assert_true(
        page.find("# TYPE tasker_auth_jwt_verification_duration_milliseconds histogram\n") !=
        std::string::npos);
    assert_true(page.find("# TYPE tasker_auth_jwks_keys gauge\n") != std::string::npos);
    assertWellFormed(page);
    metricsRegisterUrl(b.get(), "https://a.example/jwks");  // second pass: with a URL
  }
}

static void test_metrics_empty_block_exposition_is_well_formed(void** state) {
  auto b = newBlock();
  const std::string page = render(*b);
  assertWellFormed(page);
  // No URL registered: JWKS families have metadata and no samples.
  assert_true(page.find("\ntasker_auth_jwks_refresh_total{") == std::string::npos);
  assert_true(page.find("\ntasker_auth_jwks_keys{") == std::string::npos);
  assert_int_equal(countOf(page, "\ntasker_auth_requests_total{"), 4);
  assert_int_equal(countOf(page, "\ntasker_auth_failures_total{"), kFailureReasonCount);
}

static void test_metrics_checker_catches_malformed_pages(void** state) {
  // The checker above must itself reject what Prometheus rejects, or it proves nothing.
  const char* const bad[] = {
      "# TYPE x counter\nx 1",                                  // no final newline
      "# HELP x a\n# TYPE x counter\n# TYPE x counter\nx 1\n",  // TYPE twice
      "# HELP x a\n# TYPE x counter\nx{a=\"\\q\"} 1\n",         // bad escape
      "# HELP x a\n# TYPE x counter\nx 1\n# HELP y b\n# TYPE y counter\ny 1\nx 2\n",  // split
      ("# HELP h a\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
       "h_sum 0\nh_count 1\n"),  // not cumulative
      "# HELP h a\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 0\nh_count 1\n",  // count
      "# HELP x a\n# TYPE x counter\nx{a=\"1\"} 1\nx{a=\"1\"} 2\n",  // duplicate series
      "# HELP x a\n# TYPE x counter\nx 1x\n",                        // bad value
  };
  for (const char* page : bad) {
    if (checkExposition(page).empty()) fail_msg("checker accepted:\n%s", page);
  }
  assert_string_equal(checkExposition("# HELP x a\n# TYPE x counter\nx{a=\"\\\\\"} 1\n").c_str(),
                      "");
}

static void test_metrics_write_replaces_output(void** state) {
  auto b = newBlock();
  std::string out = "stale content\n";
  assert_int_equal(static_cast<int>(writePrometheus(*b, &out)), static_cast<int>(Status::Ok));
  assert_true(out.rfind("# HELP tasker_auth_requests_total ", 0) == 0);
  assert_true(out.find("stale") == std::string::npos);
  assert_string_equal(out.c_str(), render(*b).c_str());  // deterministic
}

static void test_metrics_content_type(void** state) {
  assert_string_equal(kPrometheusContentType, "text/plain; version=0.0.4; charset=utf-8");
}

// ---- concurrency -------------------------------------------------------------------------------

// The sum of one counter over every lane, as the exposition computes it.
template <class Pick>
uint64_t total(const MetricsBlock& b, Pick pick) {
  uint64_t sum = 0;
  for (const MetricsLane& lane : b.lanes) sum += pick(lane).load();
  return sum;
}

static void test_metrics_counts_across_processes(void** state) {
  // The real deployment: one block in shared memory, several worker processes counting at once,
  // most in lanes of their own (plain stores), some in the shared lane (atomic adds).
  const size_t bytes = sizeof(MetricsBlock) + 64 * sizeof(int) + sizeof(std::atomic<int>);
  void* mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  assert_true(mem != MAP_FAILED);
  MetricsBlock* b = static_cast<MetricsBlock*>(mem);
  metricsInit(b);
  b = std::launder(b);
  int* lane_of = reinterpret_cast<int*>(static_cast<char*>(mem) + sizeof(MetricsBlock));
  // Owners claimed so far: none releases before all have claimed, so their lanes must differ.
  auto* claimed = new (lane_of + 64) std::atomic<int>(0);
  const int slot = metricsRegisterUrl(b, "https://idp.example/jwks");  // master, before fork
  constexpr int kWorkers = 6;
  constexpr int kOwners = 4;  // workers 0..3 claim lanes, 4..5 share lane 0
  constexpr int kIterations = 20'000;
  pid_t pids[kWorkers];
  for (int w = 0; w < kWorkers; ++w) {
    pids[w] = fork();
    assert_true(pids[w] >= 0);
    if (pids[w] == 0) {
      const uint64_t me = static_cast<uint64_t>(getpid());
      MetricsWriter wr = w < kOwners ? metricsClaimLane(b, me, nullptr) : metricsSharedWriter(b);
      if (wr.exclusive != (w < kOwners)) _exit(2);
      lane_of[w] = static_cast<int>(wr.lane - b->lanes);
      if (w < kOwners) {
        claimed->fetch_add(1);
        while (claimed->load() < kOwners) sched_yield();
      }
      for (int i = 0; i < kIterations; ++i) {
        metricsCountRequest(wr, kMetricsMethodJwt, (i & 1) == 0);
        metricsCountFailure(wr, w);
        metricsCountDenial(wr, i % kPermissionCount);
        metricsObserveVerification(wr, true, static_cast<uint64_t>(i) * 10);
        metricsCountJwksRefresh(b, slot, true);
      }
      metricsReleaseLane(&wr, me);
      _exit(0);
    }
  }
  for (pid_t pid : pids) {
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  std::set<int> owned;
  for (int w = 0; w < kOwners; ++w) {
    assert_in_range(lane_of[w], 1, kMetricsLanes - 1);
    owned.insert(lane_of[w]);
  }
  assert_int_equal(owned.size(), kOwners);  // no two processes won the same lane
  for (int w = kOwners; w < kWorkers; ++w) assert_int_equal(lane_of[w], 0);
  for (const MetricsLane& lane : b->lanes) assert_int_equal(lane.owner.load(), 0);  // released

  const uint64_t all = uint64_t{kWorkers} * kIterations;
  assert_int_equal(total(
                       *b, [](const MetricsLane& l) -> auto& {
                         return l.requests[kMetricsMethodJwt][kMetricsResultSuccess];
                       }),
                   all / 2);
  assert_int_equal(total(
                       *b, [](const MetricsLane& l) -> auto& {
                         return l.requests[kMetricsMethodJwt][kMetricsResultFailure];
                       }),
                   all / 2);
  for (int w = 0; w < kWorkers; ++w) {
    assert_int_equal(total(
                         *b, [w](const MetricsLane& l) -> auto& { return l.failures[w]; }),
                     kIterations);
  }
  uint64_t denials = 0;
  for (int p = 0; p < kPermissionCount; ++p) {
    denials += total(
        *b, [p](const MetricsLane& l) -> auto& { return l.denials[p]; });
  }
  assert_int_equal(denials, all);
  assert_int_equal(metricsVerificationCount(*b, true), all);
  // sum over workers of 10 * (0 + 1 + ... + kIterations-1)
  assert_int_equal(
      total(
          *b, [](const MetricsLane& l) -> auto& { return l.verify_sum_ns[kMetricsResultSuccess]; }),
      uint64_t{kWorkers} * 10 * (uint64_t{kIterations} * (kIterations - 1) / 2));
  assert_int_equal(b->jwks[slot].refresh[kMetricsResultSuccess].load(), all);
  const std::string page = render(*b);
  assertWellFormed(page);
  assert_string_equal(
      valueOf(page, "tasker_auth_requests_total{method=\"jwt\",result=\"success\"}").c_str(),
      std::to_string(all / 2).c_str());
  assert_int_equal(munmap(mem, bytes), 0);
}

// ---- lanes -------------------------------------------------------------------------------------

bool allAlive(uint64_t) { return true; }
bool allButPid1005(uint64_t pid) { return pid != 1005; }

static void test_metrics_lane_claim_and_release(void** state) {
  auto b = newBlock();
  MetricsWriter off = metricsClaimLane(nullptr, 100, allAlive);
  assert_null(off.lane);
  MetricsWriter zero = metricsClaimLane(b.get(), 0, allAlive);  // pid 0 owns nothing
  assert_ptr_equal(zero.lane, &b->lanes[0]);
  assert_false(zero.exclusive);

  MetricsWriter a = metricsClaimLane(b.get(), 100, allAlive);
  MetricsWriter c = metricsClaimLane(b.get(), 101, allAlive);
  assert_true(a.exclusive && c.exclusive);
  assert_ptr_equal(a.lane, &b->lanes[1]);
  assert_ptr_equal(c.lane, &b->lanes[2]);
  assert_int_equal(b->lanes[1].owner.load(), 100);
  // The same process claiming again (a reload in single-process mode) gets its lane back.
  MetricsWriter again = metricsClaimLane(b.get(), 100, allAlive);
  assert_ptr_equal(again.lane, a.lane);

  metricsCountRequest(a, kMetricsMethodApiKey, true);
  // Releasing with another pid frees nothing; the owner's release does, and keeps the counts.
  MetricsWriter wrong = a;
  metricsReleaseLane(&wrong, 999);
  assert_int_equal(b->lanes[1].owner.load(), 100);
  metricsReleaseLane(&a, 100);
  assert_null(a.lane);
  assert_int_equal(b->lanes[1].owner.load(), 0);
  assert_int_equal(b->lanes[1].requests[kMetricsMethodApiKey][kMetricsResultSuccess].load(), 1);
  MetricsWriter shared = metricsSharedWriter(b.get());
  metricsReleaseLane(&shared, 100);  // a shared writer is left alone
  assert_ptr_equal(shared.lane, &b->lanes[0]);

  // The next claim takes the freed lane and adds to its counts.
  MetricsWriter d = metricsClaimLane(b.get(), 102, allAlive);
  assert_ptr_equal(d.lane, &b->lanes[1]);
  metricsCountRequest(d, kMetricsMethodApiKey, true);
  assert_int_equal(b->lanes[1].requests[kMetricsMethodApiKey][kMetricsResultSuccess].load(), 2);
}

static void test_metrics_lanes_full_fall_back_and_dead_owners_are_replaced(void** state) {
  auto b = newBlock();
  for (uint64_t pid = 1000; pid < 1000 + kMetricsLanes - 1; ++pid) {
    assert_true(metricsClaimLane(b.get(), pid, allAlive).exclusive);
  }
  // Every lane taken by a live process: count in the shared lane, atomically.
  MetricsWriter w = metricsClaimLane(b.get(), 2000, allAlive);
  assert_false(w.exclusive);
  assert_ptr_equal(w.lane, &b->lanes[0]);
  assert_false(metricsClaimLane(b.get(), 2000, nullptr).exclusive);  // no liveness check given
  // A crashed worker (1005) never released its lane: the next claim takes it over.
  MetricsWriter t = metricsClaimLane(b.get(), 2000, allButPid1005);
  assert_true(t.exclusive);
  assert_ptr_equal(t.lane, &b->lanes[1 + 5]);
  assert_int_equal(b->lanes[6].owner.load(), 2000);
}

static void test_metrics_exposition_sums_lanes(void** state) {
  auto b = newBlock();
  MetricsWriter w1 = metricsClaimLane(b.get(), 100, allAlive);
  MetricsWriter w2 = metricsClaimLane(b.get(), 101, allAlive);
  metricsCountRequest(b.get(), kMetricsMethodJwt, true);
  metricsCountRequest(w1, kMetricsMethodJwt, true);
  metricsCountRequest(w2, kMetricsMethodJwt, true);
  metricsCountRequest(w2, kMetricsMethodJwt, false);
  metricsCountFailureStatus(w1, Status::TokenExpired);
  metricsCountFailureStatus(b.get(), Status::TokenExpired);
  metricsCountDenial(w2, 3);
  metricsObserveVerification(w1, true, 7'000);       // le 0.01
  metricsObserveVerification(w2, true, 0);           // a cache hit: le 0.005, no sum
  metricsObserveVerification(b.get(), true, 3'000);  // le 0.005
  const std::string page = render(*b);
  assertWellFormed(page);
  auto v = [&](const char* series) { return valueOf(page, series); };
  assert_string_equal(v("tasker_auth_requests_total{method=\"jwt\",result=\"success\"}").c_str(),
                      "3");
  assert_string_equal(v("tasker_auth_requests_total{method=\"jwt\",result=\"failure\"}").c_str(),
                      "1");
  assert_string_equal(v("tasker_auth_failures_total{reason=\"expired\"}").c_str(), "2");
  assert_string_equal(v("tasker_auth_jwt_verification_duration_milliseconds_bucket{result="
                        "\"success\",le=\"0.005\"}")
                          .c_str(),
                      "2");
  assert_string_equal(
      v("tasker_auth_jwt_verification_duration_milliseconds_bucket{result=\"success\",le=\"0.01\"}")
          .c_str(),
      "3");
  assert_string_equal(
      v("tasker_auth_jwt_verification_duration_milliseconds_sum{result=\"success\"}").c_str(),
      "0.01");
  assert_string_equal(
      v("tasker_auth_jwt_verification_duration_milliseconds_count{result=\"success\"}").c_str(),
      "3");
  assert_int_equal(metricsVerificationCount(*b, true), 3);
  const std::string denied = std::string("tasker_permission_denials_total{permission=\"") +
                             permissionTable()[3].name + "\"}";
  assert_string_equal(v(denied.c_str()).c_str(), "1");
}

static void test_metrics_scrape_during_updates_stays_consistent(void** state) {
  // Pages rendered while other threads observe must still satisfy +Inf == _count and cumulative
  // buckets, and a later page never shows a smaller counter.
  auto b = newBlock();
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < 3; ++t) {
    writers.emplace_back([&b, &stop, t] {
      uint64_t i = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        metricsObserveVerification(b.get(), (i & 1) == 0, (i * 7919 + t) % 150'000'000);
        metricsCountRequest(b.get(), kMetricsMethodApiKey, true);
        ++i;
      }
    });
  }
  const std::string inf =
      "tasker_auth_jwt_verification_duration_milliseconds_bucket{result=\"success\",le=\"+Inf\"}";
  uint64_t last_inf = 0;
  for (int scrape = 0; scrape < 200; ++scrape) {
    const std::string page = render(*b);
    const std::string problem = checkExposition(page);
    if (!problem.empty()) {
      stop = true;
      for (auto& w : writers) w.join();
      fail_msg("%s", problem.c_str());
    }
    const uint64_t v = std::stoull(valueOf(page, inf));
    if (v < last_inf) {
      stop = true;
      for (auto& w : writers) w.join();
      fail_msg("+Inf went down: %llu < %llu", static_cast<unsigned long long>(v),
               static_cast<unsigned long long>(last_inf));
    }
    last_inf = v;
  }
  stop = true;
  for (auto& w : writers) w.join();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_metrics_layout_is_shareable),
      cmocka_unit_test(test_metrics_init_zeroes_garbage_and_sets_magic),
      cmocka_unit_test(test_metrics_compat_rejects_foreign_layouts),
      cmocka_unit_test(test_metrics_reuse_after_reload_keeps_counts),
      cmocka_unit_test(test_metrics_count_request_by_method_and_result),
      cmocka_unit_test(test_metrics_method_index),
      cmocka_unit_test(test_metrics_failure_reason_index_names),
      cmocka_unit_test(test_metrics_failure_reason_covers_every_status),
      cmocka_unit_test(test_metrics_count_failure_by_reason),
      cmocka_unit_test(test_metrics_count_failure_by_status),
      cmocka_unit_test(test_metrics_count_denial_by_permission),
      cmocka_unit_test(test_metrics_ignores_out_of_range_indices),
      cmocka_unit_test(test_metrics_histogram_exact_boundaries),
      cmocka_unit_test(test_metrics_histogram_le_labels),
      cmocka_unit_test(test_metrics_histogram_buckets_are_cumulative),
      cmocka_unit_test(test_metrics_histogram_sum_and_count_consistent),
      cmocka_unit_test(test_metrics_histogram_sum_renders_exact_milliseconds),
      cmocka_unit_test(test_metrics_register_url_is_idempotent),
      cmocka_unit_test(test_metrics_register_url_full),
      cmocka_unit_test(test_metrics_register_url_rejects_unstorable),
      cmocka_unit_test(test_metrics_jwks_refresh_and_keys),
      cmocka_unit_test(test_metrics_unregister_url),
      cmocka_unit_test(test_metrics_url_source),
      cmocka_unit_test(test_metrics_register_url_source_follows_url),
      cmocka_unit_test(test_metrics_register_url_adopts_unknown_source),
      cmocka_unit_test(test_metrics_reload_reordering_shared_labels),
      cmocka_unit_test(test_metrics_escapes_label_values),
      cmocka_unit_test(test_metrics_exposition_snapshot),
      cmocka_unit_test(test_metrics_help_and_type_once_per_family),
      cmocka_unit_test(test_metrics_empty_block_exposition_is_well_formed),
      cmocka_unit_test(test_metrics_checker_catches_malformed_pages),
      cmocka_unit_test(test_metrics_write_replaces_output),
      cmocka_unit_test(test_metrics_content_type),
      cmocka_unit_test(test_metrics_counts_across_processes),
      cmocka_unit_test(test_metrics_lane_claim_and_release),
      cmocka_unit_test(test_metrics_lanes_full_fall_back_and_dead_owners_are_replaced),
      cmocka_unit_test(test_metrics_exposition_sums_lanes),
      cmocka_unit_test(test_metrics_scrape_during_updates_stays_consistent),
  };
  return cmocka_run_group_tests_name("metrics", tests, nullptr, nullptr);
}
