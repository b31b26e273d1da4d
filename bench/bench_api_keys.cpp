// Benchmark (not a test) for ApiKeyRegistry::lookup: shows that its cost depends neither on which
// key matches (first, last, none) nor on how many keys the registry holds, only on how the key
// was configured: as itself (the plain index, no SHA-256) or as sha256:<hex> (one SHA-256).
//
// Build and run (make bench-micro builds it and runs it with the defaults):
//   build/bench/bench_api_keys [iterations] [registry sizes...]     (default: 1000000 10 10000)
//
// Each cell is the median (and min) of several rounds, by the wall clock (std::chrono) and by the
// thread's CPU time; rounds visit the cases in rotation so that clock drift, frequency scaling and
// noise from other processes hit every case alike. Keys are never printed.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include <openssl/evp.h>

#include "api_keys.h"

namespace tasker {
namespace {

constexpr int kRounds = 9;

// Random printable keys of one fixed length, so every lookup hashes the same number of bytes.
std::vector<std::string> makeKeys(size_t n, uint64_t seed) {
  static const char kAlphabet[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::mt19937_64 rng(seed);
  std::vector<std::string> keys;
  keys.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    std::string k = "sk-";
    for (int j = 0; j < 40; ++j) k.push_back(kAlphabet[rng() % (sizeof(kAlphabet) - 1)]);
    keys.push_back(std::move(k));
  }
  return keys;
}

// Keeps results alive without a measurable cost.
volatile uintptr_t g_sink;

// Thread CPU time in ns: unlike the wall clock, it does not count time the scheduler gave to
// other processes, which matters on a shared build machine.
double cpuNowNs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

struct Sample {
  double wall_ns;  // std::chrono::steady_clock, per operation
  double cpu_ns;   // CLOCK_THREAD_CPUTIME_ID, per operation
};

template <typename F>
Sample nsPerOp(long iterations, F&& op) {
  uintptr_t acc = 0;
  double cpu_start = cpuNowNs();
  auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < iterations; ++i) acc ^= op();
  auto end = std::chrono::steady_clock::now();
  double cpu_end = cpuNowNs();
  g_sink = acc;
  return {std::chrono::duration<double, std::nano>(end - start).count() / iterations,
          (cpu_end - cpu_start) / iterations};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Case {
  const char* name;
  std::string key;  // presented key
  bool expect_hit;
  const ApiKeyRegistry* reg;
};

int runRegistry(size_t size, long iterations) {
  if (size < 4) size = 4;
  std::vector<std::string> keys = makeKeys(size, 0x7a5e5 + size);
  // reg: even keys configured as themselves, odd ones as sha256:<hex>. plain: the even ones only.
  ApiKeyRegistry reg, plain;
  for (size_t i = 0; i < keys.size(); ++i) {
    std::string configured = (i % 2) ? hashApiKey(keys[i]) : keys[i];
    std::string detail;
    Status st = reg.add(configured, {"tasks:read"}, "svc-" + std::to_string(i), true,
                        "bench:" + std::to_string(i), &detail);
    if (st == Status::Ok && i % 2 == 0) {
      st = plain.add(keys[i], {"tasks:read"}, "svc-" + std::to_string(i), true,
                     "bench:" + std::to_string(i), &detail);
    }
    if (st != Status::Ok) {
      std::fprintf(stderr, "add failed: %s %s\n", statusName(st), detail.c_str());
      return 1;
    }
  }
  const size_t last_even = (keys.size() - 1) & ~size_t{1};
  const size_t last_odd = keys.size() % 2 ? keys.size() - 2 : keys.size() - 1;
  const std::string missing = makeKeys(1, 0xdeadbeef).front();
  std::vector<Case> cases = {
      {"plain", keys[0], true, &reg},
      {"plain, last", keys[last_even], true, &reg},
      {"sha256:", keys[1], true, &reg},
      {"sha256:, last", keys[last_odd], true, &reg},
      {"missing", missing, false, &reg},
      {"missing, all plain", missing, false, &plain},
  };
  for (const Case& c : cases) {
    if ((c.reg->lookup(c.key) != nullptr) != c.expect_hit) {
      std::fprintf(stderr, "lookup of the %s key gave the wrong answer\n", c.name);
      return 1;
    }
  }

  // Reference: one SHA-256 through EVP of a key of the same length.
  const std::string& probe = cases[0].key;
  unsigned char md[EVP_MAX_MD_SIZE];
  auto hashOnly = [&]() -> uintptr_t {
    unsigned int len = 0;
    EVP_Digest(probe.data(), probe.size(), md, &len, EVP_sha256(), nullptr);
    return md[0];
  };

  const size_t n_cols = cases.size() + 1;
  std::vector<std::vector<double>> wall(n_cols), cpu(n_cols);
  for (const Case& c : cases) {  // warm-up
    nsPerOp(iterations / 10, [&] { return reinterpret_cast<uintptr_t>(c.reg->lookup(c.key)); });
  }
  for (int round = 0; round < kRounds; ++round) {
    for (size_t j = 0; j < n_cols; ++j) {
      size_t col = (j + round) % n_cols;  // rotate the order each round
      Sample s;
      if (col < cases.size()) {
        const std::string& key = cases[col].key;
        const ApiKeyRegistry* r = cases[col].reg;
        s = nsPerOp(iterations, [&] { return reinterpret_cast<uintptr_t>(r->lookup(key)); });
      } else {
        s = nsPerOp(iterations, hashOnly);
      }
      wall[col].push_back(s.wall_ns);
      cpu[col].push_back(s.cpu_ns);
    }
  }
  for (size_t col = 0; col < n_cols; ++col) {
    const char* name = col < cases.size() ? cases[col].name : "(EVP sha256 only)";
    std::printf("%9zu  %-19s %10.1f %10.1f %10.1f %10.1f\n", size, name, median(wall[col]),
                *std::min_element(wall[col].begin(), wall[col].end()), median(cpu[col]),
                *std::min_element(cpu[col].begin(), cpu[col].end()));
  }
  return 0;
}

}  // namespace
}  // namespace tasker

int main(int argc, char** argv) {
  long iterations = argc > 1 ? std::atol(argv[1]) : 1000000;
  std::vector<size_t> sizes;
  for (int i = 2; i < argc; ++i) sizes.push_back(static_cast<size_t>(std::atol(argv[i])));
  if (sizes.empty()) sizes = {10, 10000};
  if (iterations < 10) iterations = 10;

  std::printf("ApiKeyRegistry::lookup, 43-byte keys, %ld lookups per cell, median of %d rounds\n",
              iterations, tasker::kRounds);
  std::printf("%9s  %-19s %10s %10s %10s %10s\n", "registry", "key", "wall ns/op", "wall min",
              "cpu ns/op", "cpu min");
  for (size_t n : sizes) {
    if (n == 0 || tasker::runRegistry(n, iterations) != 0) return 1;
  }
  return 0;
}
