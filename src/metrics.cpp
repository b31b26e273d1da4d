#include "metrics.h"

#include <charconv>
#include <cstring>
#include <new>

#include "hot.h"

namespace tasker {

namespace {

constexpr const char* kMethodNames[kMetricsMethodCount] = {"jwt", "api_key"};
constexpr const char* kResultNames[kMetricsResultCount] = {"success", "failure"};

// Order is the SPEC 6 table order, which is also the exposition order.
constexpr const char* kReasonNames[kFailureReasonCount] = {
    "missing",           "malformed",        "expired",     "not_yet_valid",
    "invalid_signature", "invalid_claims",   "unknown_key", "unknown_permissions",
    "invalid_api_key",   "keys_unavailable",
};

constexpr const char kRequestsName[] = "tasker_auth_requests_total";
constexpr const char kFailuresName[] = "tasker_auth_failures_total";
constexpr const char kDenialsName[] = "tasker_permission_denials_total";
constexpr const char kVerifyName[] = "tasker_auth_jwt_verification_duration_milliseconds";
constexpr const char kVerifyBucketName[] =
    "tasker_auth_jwt_verification_duration_milliseconds_bucket";
constexpr const char kVerifySumName[] = "tasker_auth_jwt_verification_duration_milliseconds_sum";
constexpr const char kVerifyCountName[] =
    "tasker_auth_jwt_verification_duration_milliseconds_count";
constexpr const char kRefreshName[] = "tasker_auth_jwks_refresh_total";
constexpr const char kKeysName[] = "tasker_auth_jwks_keys";

constexpr auto kRelaxed = std::memory_order_relaxed;

inline int resultIndex(bool success) {
  return success ? kMetricsResultSuccess : kMetricsResultFailure;
}

// Adds n to a counter of w's lane: a plain load and store in a lane this process owns (no other
// process writes it; readers load whole aligned words, never a torn value), an atomic
// read-modify-write in the shared one.
inline void add(const MetricsWriter& w, std::atomic<uint64_t>& c, uint64_t n) noexcept {
  if (w.exclusive) {
    c.store(c.load(kRelaxed) + n, kRelaxed);
  } else {
    c.fetch_add(n, kRelaxed);
  }
}

// The sum over every lane of the counter `pick` selects, each read once (relaxed).
template <class Pick>
uint64_t sumLanes(const MetricsBlock& block, Pick pick) noexcept {
  uint64_t total = 0;
  for (const MetricsLane& lane : block.lanes) total += pick(lane).load(kRelaxed);
  return total;
}

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
bool isValidUtf8(std::string_view s) noexcept {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      return false;
    }
    if (n - i < len) return false;
    const unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
    if (c1 < lo || c1 > hi) return false;
    for (size_t k = 2; k < len; ++k) {
      const unsigned char ck = static_cast<unsigned char>(s[i + k]);
      if (ck < 0x80 || ck > 0xBF) return false;
    }
    i += len;
  }
  return true;
}

// The slot of a registered URL, or nullptr for a null block, a bad index or a free slot.
MetricsJwksSlot* registeredSlot(MetricsBlock* block, int slot) noexcept {
  if (block == nullptr || slot < 0 || slot >= kMaxJwksUrls) return nullptr;
  MetricsJwksSlot* s = &block->jwks[slot];
  return s->url_len.load(std::memory_order_acquire) != 0 ? s : nullptr;
}

// Writes nanoseconds as an exact decimal number of milliseconds: integer part, then up to six
// fractional digits without trailing zeros ("0", "0.005", "2.5", "1.234567"). Returns the length.
// buf must hold 32 bytes (20 integer digits, a dot, 6 digits).
size_t formatMs(char* buf, uint64_t ns) noexcept {
  char* end = std::to_chars(buf, buf + 20, ns / 1'000'000).ptr;
  uint64_t frac = ns % 1'000'000;
  if (frac != 0) {
    char digits[6];
    for (int i = 5; i >= 0; --i) {
      digits[i] = static_cast<char>('0' + frac % 10);
      frac /= 10;
    }
    int n = 6;
    while (digits[n - 1] == '0') --n;
    *end++ = '.';
    std::memcpy(end, digits, static_cast<size_t>(n));
    end += n;
  }
  return static_cast<size_t>(end - buf);
}

// Appends the page text; every append may throw std::bad_alloc, caught in writePrometheus.
class PageWriter {
 public:
  explicit PageWriter(std::string* page) : page_(page) {}

  // `# HELP` and `# TYPE` lines opening a family. help must need no escaping (no \ or newline).
  void family(const char* name, const char* type, const char* help) {
    page_->append("# HELP ").append(name).append(" ").append(help).append("\n");
    page_->append("# TYPE ").append(name).append(" ").append(type).append("\n");
  }

  // Starts a sample line: the metric name; follow with labels, then a value.
  PageWriter& name(const char* metric) {
    page_->append(metric);
    first_label_ = true;
    return *this;
  }

  // Adds one label; the value is escaped as the text format requires.
  PageWriter& label(const char* key, std::string_view value) {
    page_->push_back(first_label_ ? '{' : ',');
    first_label_ = false;
    page_->append(key).append("=\"");
    for (char c : value) {
      switch (c) {
        case '\\':
          page_->append("\\\\");
          break;
        case '"':
          page_->append("\\\"");
          break;
        case '\n':
          page_->append("\\n");
          break;
        default:
          page_->push_back(c);
          break;
      }
    }
    page_->push_back('"');
    return *this;
  }

  // Ends the sample line with an integer value.
  void value(uint64_t v) {
    char buf[24];
    closeLabels();
    page_->append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
    page_->push_back('\n');
  }

  // Ends the sample line with a millisecond value given in nanoseconds.
  void valueMs(uint64_t ns) {
    char buf[32];
    closeLabels();
    page_->append(buf, formatMs(buf, ns));
    page_->push_back('\n');
  }

 private:
  void closeLabels() {
    if (!first_label_) page_->push_back('}');
    page_->push_back(' ');
  }

  std::string* page_;
  bool first_label_ = true;
};

void writeVerificationHistogram(const MetricsBlock& block, PageWriter& w) {
  w.family(kVerifyName, "histogram",
           "Time spent verifying bearer tokens (every attempt, malformed tokens included), "
           "in milliseconds, by result.");
  for (int r = 0; r < kMetricsResultCount; ++r) {
    // Each bucket is read once; le="+Inf" and _count are both the running total of those reads.
    uint64_t cumulative = 0;
    char le[32];
    for (int i = 0; i < kVerifyBucketCount; ++i) {
      cumulative +=
          sumLanes(block, [&](const MetricsLane& l) -> auto& { return l.verify_buckets[r][i]; });
      const size_t n = formatMs(le, kVerifyBucketBoundsNs[i]);
      w.name(kVerifyBucketName).label("result", kResultNames[r]).label("le", {le, n});
      w.value(cumulative);
    }
    cumulative += sumLanes(block, [&](const MetricsLane& l) -> auto& {
      return l.verify_buckets[r][kVerifyBucketCount];
    });
    w.name(kVerifyBucketName).label("result", kResultNames[r]).label("le", "+Inf");
    w.value(cumulative);
    w.name(kVerifySumName).label("result", kResultNames[r]);
    w.valueMs(sumLanes(block, [&](const MetricsLane& l) -> auto& { return l.verify_sum_ns[r]; }));
    w.name(kVerifyCountName).label("result", kResultNames[r]);
    w.value(cumulative);
  }
}

void writeJwks(const MetricsBlock& block, PageWriter& w) {
  // Snapshot which slots are registered once, so both families list the same URLs.
  uint64_t lens[kMaxJwksUrls];
  for (int i = 0; i < kMaxJwksUrls; ++i) {
    lens[i] = block.jwks[i].url_len.load(std::memory_order_acquire);
    if (lens[i] >= kMetricsLabelBytes) lens[i] = 0;  // never written so; treat as unregistered
  }
  w.family(kRefreshName, "counter", "JWKS refresh attempts by URL and result.");
  for (int i = 0; i < kMaxJwksUrls; ++i) {
    if (lens[i] == 0) continue;
    const std::string_view url(block.jwks[i].url, lens[i]);
    for (int r = 0; r < kMetricsResultCount; ++r) {
      w.name(kRefreshName).label("url", url).label("result", kResultNames[r]);
      w.value(block.jwks[i].refresh[r].load(kRelaxed));
    }
  }
  w.family(kKeysName, "gauge", "Usable keys in the key set last loaded from the JWKS URL.");
  for (int i = 0; i < kMaxJwksUrls; ++i) {
    if (lens[i] == 0) continue;
    w.name(kKeysName).label("url", std::string_view(block.jwks[i].url, lens[i]));
    w.value(block.jwks[i].keys.load(kRelaxed));
  }
}

void writePage(const MetricsBlock& block, std::string* page) {
  PageWriter w(page);

  w.family(kRequestsName, "counter",
           "Authentication attempts by credential method and result; a request that "
           "authenticates and is then denied a permission counts as success.");
  for (int m = 0; m < kMetricsMethodCount; ++m) {
    for (int r = 0; r < kMetricsResultCount; ++r) {
      w.name(kRequestsName).label("method", kMethodNames[m]).label("result", kResultNames[r]);
      w.value(sumLanes(block, [&](const MetricsLane& l) -> auto& { return l.requests[m][r]; }));
    }
  }

  w.family(kFailuresName, "counter", "Authentication failures by reason.");
  for (int i = 0; i < kFailureReasonCount; ++i) {
    w.name(kFailuresName).label("reason", kReasonNames[i]);
    w.value(sumLanes(block, [&](const MetricsLane& l) -> auto& { return l.failures[i]; }));
  }

  w.family(kDenialsName, "counter",
           "Authenticated requests denied for a missing permission, by the first missing "
           "permission (method_not_covered: no rule covers the request's method).");
  const PermissionInfo* perms = permissionTable();
  for (int i = 0; i < kMetricsDenialCount; ++i) {
    w.name(kDenialsName)
        .label("permission", i == kMetricsDenialMethodNotCovered ? "method_not_covered"
                                                                 : perms[i].name);
    w.value(sumLanes(block, [&](const MetricsLane& l) -> auto& { return l.denials[i]; }));
  }

  writeVerificationHistogram(block, w);
  writeJwks(block, w);
}

}  // namespace

void metricsInit(MetricsBlock* block) noexcept {
  if (block == nullptr) return;
  // Start the lifetime of a fresh, zeroed block over whatever bytes were there.
  MetricsBlock* b = ::new (static_cast<void*>(block)) MetricsBlock();
  b->magic = kMetricsMagic;
  b->version = kMetricsLayoutVersion;
  b->size = sizeof(MetricsBlock);
}

bool metricsCompatible(const MetricsBlock* block) noexcept {
  return block != nullptr && block->magic == kMetricsMagic &&
         block->version == kMetricsLayoutVersion && block->size == sizeof(MetricsBlock);
}

int failureReasonIndex(const char* reason) noexcept {
  if (reason == nullptr) return -1;
  for (int i = 0; i < kFailureReasonCount; ++i) {
    if (std::strcmp(reason, kReasonNames[i]) == 0) return i;
  }
  return -1;
}

const char* failureReasonName(int index) noexcept {
  return index >= 0 && index < kFailureReasonCount ? kReasonNames[index] : nullptr;
}

int metricsMethodIndex(std::string_view method) noexcept {
  for (int i = 0; i < kMetricsMethodCount; ++i) {
    if (method == kMethodNames[i]) return i;
  }
  return -1;
}

uint64_t metricsUrlSource(std::string_view raw_url) noexcept {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a 64 offset basis
  for (const char c : raw_url) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;  // FNV-1a 64 prime
  }
  return h != 0 ? h : 1;  // 0 means "not known"
}

int metricsRegisterUrl(MetricsBlock* block, std::string_view url, uint64_t source) noexcept {
  if (block == nullptr || url.empty() || url.size() >= kMetricsLabelBytes ||
      url.find('\0') != std::string_view::npos || !isValidUtf8(url)) {
    return -1;
  }
  int found = -1;
  int free_slot = -1;
  for (int i = 0; i < kMaxJwksUrls && found < 0; ++i) {
    const MetricsJwksSlot& s = block->jwks[i];
    const uint64_t len = s.url_len.load(std::memory_order_acquire);
    if (len == 0) {
      if (free_slot < 0) free_slot = i;
    } else if (metricsSlotShows(s, url)) {
      found = i;
    }
  }
  if (found >= 0) {
    MetricsJwksSlot& s = block->jwks[found];
    const uint64_t was = s.source.load(kRelaxed);
    if (source == 0 || was == source) return found;
    // The label names another URL now (a reload reordered URLs that show the same way): its
    // series start again, as a new URL's would, and a process of the older configuration stops
    // counting here (metricsSlotIs).
    s.source.store(source, kRelaxed);
    if (was != 0) {
      for (auto& r : s.refresh) r.store(0, kRelaxed);
      s.keys.store(0, kRelaxed);
    }
    return found;
  }
  if (free_slot < 0) return -1;
  MetricsJwksSlot& s = block->jwks[free_slot];
  std::memcpy(s.url, url.data(), url.size());
  s.url[url.size()] = '\0';
  s.source.store(source, kRelaxed);
  // Publish: readers that see the length also see the bytes (and the source).
  s.url_len.store(url.size(), std::memory_order_release);
  return free_slot;
}

bool metricsSlotShows(const MetricsJwksSlot& slot, std::string_view url) noexcept {
  const uint64_t len = slot.url_len.load(std::memory_order_acquire);
  return len != 0 && len == url.size() && std::memcmp(slot.url, url.data(), len) == 0;
}

bool metricsSlotIs(const MetricsBlock* block, int slot, std::string_view url,
                   uint64_t source) noexcept {
  if (block == nullptr || slot < 0 || slot >= kMaxJwksUrls) return false;
  const MetricsJwksSlot& s = block->jwks[slot];
  return metricsSlotShows(s, url) && s.source.load(kRelaxed) == source;
}

void metricsUnregisterUrl(MetricsBlock* block, int slot) noexcept {
  if (block == nullptr || slot < 0 || slot >= kMaxJwksUrls) return;
  MetricsJwksSlot& s = block->jwks[slot];
  s.url_len.store(0, std::memory_order_release);
  for (auto& r : s.refresh) r.store(0, kRelaxed);
  s.keys.store(0, kRelaxed);
  s.source.store(0, kRelaxed);
}

MetricsWriter metricsSharedWriter(MetricsBlock* block) noexcept {
  MetricsWriter w;
  if (block != nullptr) w.lane = &block->lanes[0];
  return w;
}

MetricsWriter metricsClaimLane(MetricsBlock* block, uint64_t pid,
                               bool (*alive)(uint64_t pid)) noexcept {
  MetricsWriter w = metricsSharedWriter(block);
  if (block == nullptr || pid == 0) return w;
  auto claim = [&](int i, uint64_t from) {
    if (!block->lanes[i].owner.compare_exchange_strong(from, pid, std::memory_order_acq_rel)) {
      return false;
    }
    w.lane = &block->lanes[i];
    w.exclusive = true;
    return true;
  };
  for (int i = 1; i < kMetricsLanes; ++i) {
    if (claim(i, pid)) return w;  // already ours: the swap from pid to pid succeeds
  }
  for (int i = 1; i < kMetricsLanes; ++i) {
    if (claim(i, 0)) return w;
  }
  if (alive != nullptr) {
    for (int i = 1; i < kMetricsLanes; ++i) {
      const uint64_t owner = block->lanes[i].owner.load(std::memory_order_acquire);
      if (owner != 0 && owner != pid && !alive(owner) && claim(i, owner)) return w;
    }
  }
  return w;
}

void metricsReleaseLane(MetricsWriter* w, uint64_t pid) noexcept {
  if (w == nullptr || w->lane == nullptr || !w->exclusive) return;
  uint64_t expected = pid;
  w->lane->owner.compare_exchange_strong(expected, 0, std::memory_order_acq_rel);
  *w = MetricsWriter();
}

TASKER_HOT
void metricsCountRequest(MetricsWriter w, int method, bool success) noexcept {
  if (w.lane == nullptr || method < 0 || method >= kMetricsMethodCount) return;
  add(w, w.lane->requests[method][resultIndex(success)], 1);
}

void metricsCountFailure(MetricsWriter w, int reason) noexcept {
  if (w.lane == nullptr || reason < 0 || reason >= kFailureReasonCount) return;
  add(w, w.lane->failures[reason], 1);
}

void metricsCountFailureStatus(MetricsWriter w, Status status) noexcept {
  metricsCountFailure(w, failureReasonIndex(failureReason(status)));
}

void metricsCountDenial(MetricsWriter w, int permission) noexcept {
  if (w.lane == nullptr || permission < 0 || permission >= kMetricsDenialCount) return;
  add(w, w.lane->denials[permission], 1);
}

void metricsObserveVerification(MetricsWriter w, bool success, uint64_t duration_ns) noexcept {
  if (w.lane == nullptr) return;
  int i = 0;
  while (i < kVerifyBucketCount && duration_ns > kVerifyBucketBoundsNs[i]) ++i;
  const int r = resultIndex(success);
  add(w, w.lane->verify_buckets[r][i], 1);
  // A cache hit is observed untimed (0): no write for a sum it does not change.
  if (duration_ns != 0) add(w, w.lane->verify_sum_ns[r], duration_ns);
}

void metricsCountRequest(MetricsBlock* block, int method, bool success) noexcept {
  metricsCountRequest(metricsSharedWriter(block), method, success);
}

void metricsCountFailure(MetricsBlock* block, int reason) noexcept {
  metricsCountFailure(metricsSharedWriter(block), reason);
}

void metricsCountFailureStatus(MetricsBlock* block, Status status) noexcept {
  metricsCountFailureStatus(metricsSharedWriter(block), status);
}

void metricsCountDenial(MetricsBlock* block, int permission) noexcept {
  metricsCountDenial(metricsSharedWriter(block), permission);
}

void metricsObserveVerification(MetricsBlock* block, bool success, uint64_t duration_ns) noexcept {
  metricsObserveVerification(metricsSharedWriter(block), success, duration_ns);
}

void metricsCountJwksRefresh(MetricsBlock* block, int slot, bool success) noexcept {
  if (MetricsJwksSlot* s = registeredSlot(block, slot)) {
    s->refresh[resultIndex(success)].fetch_add(1, kRelaxed);
  }
}

void metricsSetJwksKeys(MetricsBlock* block, int slot, uint64_t keys) noexcept {
  if (MetricsJwksSlot* s = registeredSlot(block, slot)) s->keys.store(keys, kRelaxed);
}

uint64_t metricsVerificationCount(const MetricsBlock& block, bool success) noexcept {
  const int r = resultIndex(success);
  uint64_t total = 0;
  for (int i = 0; i <= kVerifyBucketCount; ++i) {
    total += sumLanes(block, [&](const MetricsLane& l) -> auto& { return l.verify_buckets[r][i]; });
  }
  return total;
}

Status writePrometheus(const MetricsBlock& block, std::string* out) noexcept {
  if (out == nullptr) return Status::Internal;
  try {
    std::string page;
    page.reserve(16 * 1024);
    writePage(block, &page);
    out->swap(page);
    return Status::Ok;
  } catch (const std::bad_alloc&) {
    return Status::OutOfMemory;
  } catch (...) {
    return Status::Internal;
  }
}

}  // namespace tasker
