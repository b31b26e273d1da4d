// Metrics core (SPEC 6 and 8): a fixed-layout block of lock-free counters that the caller places in
// memory it owns, plus the Prometheus text exposition (format 0.0.4) of that block.
//
// The block is meant to live in an nginx shared memory zone shared by every worker process, so it
// holds only std::atomic<uint64_t> counters (address-free because always lock-free) and fixed-size
// plain data: no pointers, no heap, no constructors that must run per process. Every label set is
// fixed, so cardinality is bounded: 2x2 request series, 10 reasons, 17 permissions, 2 histograms
// and at most kMaxJwksUrls URLs.
//
// Usage (adapter, master process, shared zone init; single-threaded):
//   MetricsBlock* block = old_data;                       // the previous cycle's block, if any
//   if (!metricsCompatible(block)) {                      // first start, or another layout
//     block = static_cast<MetricsBlock*>(slab_alloc(sizeof(MetricsBlock)));  // fresh memory
//     metricsInit(block);
//   }                                                     // else: reuse, counts survive reload
// Usage (adapter, master process, once nginx committed the cycle: init_module, not init_zone,
// which runs before nginx may still reject the new configuration and keep the running one):
//   metricsUnregisterUrl(block, slot);                    // each slot no configured URL names
//   int slot = metricsRegisterUrl(block, label,           // once per configured JWKS URL
//                                 metricsUrlSource(raw_url));
// Usage (a worker process: claim a lane once, count into it on the request path, lock-free):
//   MetricsWriter w = metricsClaimLane(block, getpid(), processAlive);
//   metricsCountRequest(w, kMetricsMethodJwt, true);
//   metricsCountFailure(w, failureReasonIndex(failureReason(status)));
//   metricsObserveVerification(w, ok, elapsed_ns);
//   metricsReleaseLane(&w, getpid());                      // at process exit
// The MetricsBlock* overloads count into the shared lane (any process or thread, atomic).
// Usage (metrics endpoint):
//   std::string body;
//   if (writePrometheus(*block, &body) == Status::Ok) { /* send with kPrometheusContentType */ }
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include "permissions.h"
#include "status.h"

namespace tasker {

// Bump whenever the layout of MetricsBlock (or the meaning of any field) changes, so a reload into
// a module build with another layout starts from a fresh block instead of misreading the old one.
constexpr uint32_t kMetricsLayoutVersion = 3;  // 2: per-worker lanes; 3: method_not_covered
constexpr uint32_t kMetricsMagic = 0x4d4b5354;  // "TSKM" little-endian: marks an initialised block

// Content-Type of the body writePrometheus produces (SPEC 8).
inline constexpr const char kPrometheusContentType[] = "text/plain; version=0.0.4; charset=utf-8";

// `method` label of tasker_auth_requests_total: index 0 "jwt", 1 "api_key".
constexpr int kMetricsMethodJwt = 0;
constexpr int kMetricsMethodApiKey = 1;
constexpr int kMetricsMethodCount = 2;

// `result` label index used by every {result} array in MetricsBlock: 0 "success", 1 "failure".
constexpr int kMetricsResultSuccess = 0;
constexpr int kMetricsResultFailure = 1;
constexpr int kMetricsResultCount = 2;

// Number of `reason` label values of tasker_auth_failures_total (see failureReasonName).
constexpr int kFailureReasonCount = 10;

// Finite upper bounds of the verification histogram, in nanoseconds; rendered in milliseconds
// as le="0.005" ... le="100". An observation v lands in the first bucket with v <= bound; one above
// the last bound lands only in le="+Inf".
constexpr int kVerifyBucketCount = 14;
inline constexpr uint64_t kVerifyBucketBoundsNs[kVerifyBucketCount] = {
    5'000,     10'000,    25'000,    50'000,     100'000,    250'000,    500'000,
    1'000'000, 2'500'000, 5'000'000, 10'000'000, 25'000'000, 50'000'000, 100'000'000,
};

// JWKS URL slots: at most this many distinct URLs get tasker_auth_jwks_* series.
constexpr int kMaxJwksUrls = 16;
// A JWKS URL including a terminating NUL: the configuration refuses longer ones (SPEC 8), and the
// JWKS zone stores them in this many bytes.
constexpr size_t kMetricsUrlBytes = 512;
// Storage for one `url` label including its NUL: labels of kMetricsLabelBytes bytes or more are
// not registered. The label field was kMetricsUrlBytes long; its last 8 bytes now hold the slot's
// `source`, in the same layout version. No label ever reached them (redactFetchUrl shows at most
// 256 bytes, distinctShownUrl adds at most "#17"), so they read 0 in a block an earlier build
// wrote, and a module upgrade by reload may keep that block.
constexpr size_t kMetricsLabelBytes = kMetricsUrlBytes - sizeof(uint64_t);

// One JWKS URL's series. `url_len` is the publication flag: 0 means the slot is free; it is stored
// (release) only after `url` is completely written and never changes afterwards, so a reader that
// loads a non-zero url_len (acquire) may read url[0, url_len) without further synchronisation.
// `url` is the label (the redacted URL, made distinct by "#2"...); `source` says which configured
// URL the series counts for, since two URLs can swap labels at a reload (see metricsRegisterUrl).
struct MetricsJwksSlot {
  std::atomic<uint64_t> url_len{0};                      // bytes of url; 0 = unregistered
  std::atomic<uint64_t> refresh[kMetricsResultCount]{};  // refresh attempts by result
  std::atomic<uint64_t> keys{0};   // usable keys in the last loaded set (gauge)
  char url[kMetricsLabelBytes]{};  // NUL-terminated, raw (unescaped) bytes
  // metricsUrlSource() of the raw URL the series counts for; 0 = not known (a block of a build
  // before this field, or a registration that gave none).
  std::atomic<uint64_t> source{0};
};

static_assert(sizeof(MetricsJwksSlot) == 4 * sizeof(uint64_t) + kMetricsUrlBytes &&
                  offsetof(MetricsJwksSlot, source) == 4 * sizeof(uint64_t) + kMetricsLabelBytes,
              "MetricsJwksSlot keeps the size and offsets of layout 3 (metricsCompatible)");

// Lanes: the request-path counters of one writer. Every request used to do one or two locked
// read-modify-writes on lines all workers share; now each worker process claims a lane of its
// own (metricsClaimLane) and counts with plain loads and stores, no locked instruction and no
// line shared with another worker. Lane 0 is shared: the MetricsBlock* writers count there with
// atomic read-modify-writes, and so does a worker that found no free lane. The exposition sums
// every lane. A lane's counts outlive its owner: a later owner adds to them, so every series only
// grows whichever processes come and go.
constexpr int kMetricsLanes = 64;  // lane 0 shared, 63 for worker processes

// Denial series: one per permission of the vocabulary, then one for a method no rule covers.
constexpr int kMetricsDenialMethodNotCovered = kPermissionCount;
constexpr int kMetricsDenialCount = kPermissionCount + 1;

struct MetricsLane {
  // pid of the process counting here without atomics; 0 = free. Claimed and released only with
  // compare-and-swap (metricsClaimLane, metricsReleaseLane); lane 0 is never claimed.
  std::atomic<uint64_t> owner{0};
  // tasker_auth_requests_total[method][result]
  std::atomic<uint64_t> requests[kMetricsMethodCount][kMetricsResultCount]{};
  // tasker_auth_failures_total[reason index]
  std::atomic<uint64_t> failures[kFailureReasonCount]{};
  // tasker_permission_denials_total[permission index of permissionTable(), or
  // kMetricsDenialMethodNotCovered]
  std::atomic<uint64_t> denials[kMetricsDenialCount]{};
  // Verification histogram per result, NOT cumulative: [i] counts observations in
  // (bound[i-1], bound[i]] and [kVerifyBucketCount] those above the last bound. The exposition
  // sums them, so le="+Inf" and _count are the same number by construction.
  std::atomic<uint64_t> verify_buckets[kMetricsResultCount][kVerifyBucketCount + 1]{};
  // Sum of observed verification durations per result, in nanoseconds.
  std::atomic<uint64_t> verify_sum_ns[kMetricsResultCount]{};
  // Pads the lane to whole cache lines (the static_assert below says when to adjust it).
  uint64_t reserved[7]{};
};

// All counters of the module. Standard layout, no pointers, fixed size: valid in shared memory
// mapped at different addresses, and byte-for-byte reusable across `nginx -s reload` when
// metricsCompatible() says so. Counters only grow (the keys gauge aside); they wrap at 2^64.
// Tests and the adapter may read any field directly with load(); only the functions below write.
// Lanes start on 64-byte boundaries of the block (nginx's slab gives a block this size whole,
// page-aligned pages), so two workers' lanes never share a cache line.
struct MetricsBlock {
  uint32_t magic = 0;    // kMetricsMagic once metricsInit has run
  uint32_t version = 0;  // kMetricsLayoutVersion of the build that initialised the block
  uint64_t size = 0;     // sizeof(MetricsBlock) of that build: a backstop for a forgotten bump
  uint64_t reserved[6]{};  // pads the header to 64 bytes

  MetricsLane lanes[kMetricsLanes];
  // tasker_auth_jwks_refresh_total and tasker_auth_jwks_keys, by registered URL.
  MetricsJwksSlot jwks[kMaxJwksUrls];
};

static_assert(sizeof(MetricsLane) % 64 == 0, "a lane fills whole cache lines");
static_assert(offsetof(MetricsBlock, lanes) == 64, "lanes start on a cache line");

// Where one process counts: a lane, and whether the process owns it (plain stores) or shares it
// (atomic read-modify-writes). Default: metrics off, every writer a no-op.
struct MetricsWriter {
  MetricsLane* lane = nullptr;
  bool exclusive = false;
};

static_assert(std::atomic<uint64_t>::is_always_lock_free,
              "metrics counters live in shared memory: they must be lock-free (address-free)");
static_assert(std::is_standard_layout<MetricsJwksSlot>::value, "MetricsJwksSlot layout");
static_assert(std::is_standard_layout<MetricsBlock>::value, "MetricsBlock must be standard-layout");
static_assert(std::is_trivially_destructible<MetricsBlock>::value,
              "MetricsBlock is never destroyed: shared memory is simply unmapped");

// Constructs a fresh block in place at `block` (memory of at least sizeof(MetricsBlock) bytes,
// aligned to alignof(MetricsBlock); its previous contents are ignored): every counter, gauge and
// URL slot zero, then magic/version/size set. Not safe while other processes use the block: when
// a reload finds an incompatible old block, old workers may still be counting into it, so
// initialise newly allocated memory rather than the old block.
void metricsInit(MetricsBlock* block) noexcept;

// True when `block` was initialised by a build with this exact layout (magic, version and size
// match), i.e. it may be reused as is after a reload. False for nullptr.
bool metricsCompatible(const MetricsBlock* block) noexcept;

// Index 0..9 of a `reason` label value, as returned by failureReason(Status): missing, malformed,
// expired, not_yet_valid, invalid_signature, invalid_claims, unknown_key, unknown_permissions,
// invalid_api_key, keys_unavailable. -1 for nullptr or any other string (case-sensitive).
int failureReasonIndex(const char* reason) noexcept;

// The `reason` label value of index 0..9 (static storage), or nullptr when out of range.
const char* failureReasonName(int index) noexcept;

// Index of a `method` label value: "jwt" -> kMetricsMethodJwt, "api_key" -> kMetricsMethodApiKey,
// anything else (including "") -> -1. Accepts authMethodName() output.
int metricsMethodIndex(std::string_view method) noexcept;

// The identity of a raw JWKS URL (as configured, userinfo and query included) for
// metricsRegisterUrl: a 64-bit FNV-1a hash, unseeded, so the same in every process and build;
// never 0. Not a secret and not collision-proof against a chosen URL: the URLs come from the
// operator's configuration.
uint64_t metricsUrlSource(std::string_view raw_url) noexcept;

// Registers a JWKS URL's label `url` for the raw URL whose metricsUrlSource() is `source`, and
// returns its slot 0..kMaxJwksUrls-1. A label already registered (byte-exact compare) returns its
// existing slot, which is how counts survive a reload. Labels are assigned in configuration order
// ("#2" for the second URL that shows the same way), so a reload can give a label to another URL:
// when the slot's recorded source is another non-zero one, its refresh counters and keys gauge
// restart at 0 and it records `source`. A slot without a source (0: written by an earlier build)
// takes `source` and keeps its counts; `source` 0 matches any slot and changes nothing.
// Returns -1 when block is nullptr, url is empty, contains a NUL byte, is not valid UTF-8
// (Prometheus label values must be UTF-8), is kMetricsLabelBytes bytes or longer, or every slot
// is taken. Only metricsUnregisterUrl frees a slot. NOT thread-safe against other registrations:
// call it from one process at a time (the master, in init_module). Concurrent readers and
// counters in other processes are safe (see MetricsJwksSlot::url_len), though a refresh counted
// at the instant of a reset may land on either side of it.
int metricsRegisterUrl(MetricsBlock* block, std::string_view url, uint64_t source = 0) noexcept;

// Whether the slot is registered with the label `url` (byte-exact), whatever its source.
bool metricsSlotShows(const MetricsJwksSlot& slot, std::string_view url) noexcept;

// Whether `slot` is registered with the label `url` for `source` (both as metricsRegisterUrl was
// given them): a process of an older configuration checks it before counting, since a reload may
// have given the slot, or its label, to another URL. False for nullptr or a slot out of range.
bool metricsSlotIs(const MetricsBlock* block, int slot, std::string_view url,
                   uint64_t source) noexcept;

// Unregisters a slot whose URL the configuration no longer names (a reload removed it): its
// series leave the page, and its counters restart at zero if the slot is registered again.
// Same threading rule as metricsRegisterUrl; a page rendered at that instant may still show the
// slot. No-op for nullptr or a slot out of range.
void metricsUnregisterUrl(MetricsBlock* block, int slot) noexcept;

// The shared lane 0, counted into atomically; metrics off for nullptr.
MetricsWriter metricsSharedWriter(MetricsBlock* block) noexcept;

// Claims a lane for process `pid` (non-zero) to count into without atomics: the lane this pid
// already owns (a reload in single-process mode claims again), else a free one, else one whose
// owner `alive` says has died (a crashed worker never released it; nullptr: none is taken over).
// Every claim is a compare-and-swap, so two processes never win the same lane. When all lanes
// are taken, the shared writer. Call once per process, not per request (it may read every lane's
// owner and call `alive`).
MetricsWriter metricsClaimLane(MetricsBlock* block, uint64_t pid,
                               bool (*alive)(uint64_t pid)) noexcept;

// Frees the lane *w holds if `pid` still owns it (its counts stay) and turns *w off; a shared or
// off writer is left as it is. Call it when the process stops counting (at exit).
void metricsReleaseLane(MetricsWriter* w, uint64_t pid) noexcept;

// The writers below never block: one relaxed atomic read-modify-write each in a shared lane,
// one relaxed load and store in an owned one. Each is a no-op when metrics are off (nullptr
// block or lane) or an index is out of range; the JWKS ones also ignore a slot that is not
// registered. The MetricsBlock* forms count into the shared lane.

// tasker_auth_requests_total{method, result}: method is kMetricsMethodJwt or kMetricsMethodApiKey.
void metricsCountRequest(MetricsWriter w, int method, bool success) noexcept;
void metricsCountRequest(MetricsBlock* block, int method, bool success) noexcept;

// tasker_auth_failures_total{reason}: reason is failureReasonIndex(...) (so -1 is ignored).
void metricsCountFailure(MetricsWriter w, int reason) noexcept;
void metricsCountFailure(MetricsBlock* block, int reason) noexcept;

// The same for a rejected request's Status: counted under failureReason(status); a status
// without a reason label (Ok, Perm*, configuration statuses) is ignored.
void metricsCountFailureStatus(MetricsWriter w, Status status) noexcept;
void metricsCountFailureStatus(MetricsBlock* block, Status status) noexcept;

// tasker_permission_denials_total{permission}: permission is a permissionIndex() 0..16, or
// kMetricsDenialMethodNotCovered (rules exist, none for the request's method: a 403 without a
// missing permission), shown as permission="method_not_covered".
void metricsCountDenial(MetricsWriter w, int permission) noexcept;
void metricsCountDenial(MetricsBlock* block, int permission) noexcept;

// One observation of tasker_auth_jwt_verification_duration_milliseconds{result}; duration in
// nanoseconds (rendered in milliseconds).
void metricsObserveVerification(MetricsWriter w, bool success, uint64_t duration_ns) noexcept;
void metricsObserveVerification(MetricsBlock* block, bool success, uint64_t duration_ns) noexcept;

// tasker_auth_jwks_refresh_total{url, result} for a slot from metricsRegisterUrl.
void metricsCountJwksRefresh(MetricsBlock* block, int slot, bool success) noexcept;

// Sets the gauge tasker_auth_jwks_keys{url} to `keys` (usable keys) for a registered slot.
void metricsSetJwksKeys(MetricsBlock* block, int slot, uint64_t keys) noexcept;

// Observation count of the verification histogram for one result: the sum of its buckets over
// every lane, the same number the exposition prints as _count and le="+Inf".
uint64_t metricsVerificationCount(const MetricsBlock& block, bool success) noexcept;

// Renders every metric family of SPEC 6 in the Prometheus text format 0.0.4 (serve it with
// kPrometheusContentType). Each family is one contiguous group: `# HELP`, `# TYPE`, then every
// fixed label combination, zeros included (denials for all 17 permissions); JWKS series only for
// registered URLs (HELP/TYPE are printed even when there are none). Histogram: cumulative
// _bucket{le} in increasing order ending with "+Inf", then _sum in milliseconds (exact decimal,
// up to 6 fractional digits) and _count. Label values are escaped (\\, \", \n).
// Each series is the sum of its counter in every lane. Counters are read one by one with relaxed
// loads while workers keep counting, so the page is not an atomic snapshot (e.g. _sum may lag its
// buckets by an in-flight observation); each series still never decreases between pages, and
// le="+Inf" always equals _count.
// On success *out is replaced by the page and Ok is returned; on std::bad_alloc *out is left
// unchanged and OutOfMemory is returned. Internal when out is nullptr.
Status writePrometheus(const MetricsBlock& block, std::string* out) noexcept;

}  // namespace tasker
