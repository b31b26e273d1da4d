// The JWKS zone's slot plan (src/jwks_slots.h): which slot each URL of a new configuration uses,
// and which slots are reset, at a first start and across reloads, failed ones included.
#include "jwks_slots.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <string>
#include <string_view>
#include <vector>

extern "C" {
#include <cmocka.h>
}

namespace tasker {
namespace {

// A zone: what each slot holds, and which slots the running configuration uses.
struct Zone {
  std::vector<std::string> url = std::vector<std::string>(kJwksZoneSlots);
  std::vector<bool> live = std::vector<bool>(kJwksZoneSlots, false);
  std::vector<int> epoch = std::vector<int>(kJwksZoneSlots, 0);

  // Plans `urls` and applies the plan as the adapter does; the new configuration then runs.
  std::vector<JwksSlotPlan> load(const std::vector<std::string>& urls, bool commit = true) {
    std::vector<std::string_view> slot_urls(url.begin(), url.end());
    std::vector<std::string_view> want(urls.begin(), urls.end());
    std::vector<JwksSlotPlan> plan;
    assert_int_equal(assignJwksSlots(slot_urls, live, want, &plan), Status::Ok);
    assert_int_equal(plan.size(), urls.size());
    std::vector<bool> used(kJwksZoneSlots, false);
    for (size_t i = 0; i < urls.size(); ++i) {
      const size_t s = plan[i].slot;
      assert_true(s < kJwksZoneSlots);
      assert_false(used[s]);  // one URL per slot
      used[s] = true;
      if (plan[i].reset) {
        assert_false(live[s]);  // a slot the running configuration uses is never reset
        url[s] = urls[i];
        epoch[s]++;
      } else {
        assert_true(live[s]);  // kept only what runs
        assert_true(url[s] == urls[i]);
      }
    }
    if (commit) live = used;  // a failed load leaves the running configuration as it was
    return plan;
  }
};

std::vector<std::string> urlsNamed(const char* prefix, int n) {
  std::vector<std::string> v;
  for (int i = 0; i < n; ++i) v.push_back(std::string("https://") + prefix + std::to_string(i));
  return v;
}

void test_jwks_slots_first_start_resets_never_used_slots(void** state) {
  Zone z;
  auto plan = z.load({"https://a", "https://b"});
  assert_int_equal(plan[0].slot, 0);
  assert_int_equal(plan[1].slot, 1);
  assert_true(plan[0].reset && plan[1].reset);
}

void test_jwks_slots_kept_urls_keep_their_slot_whatever_the_order(void** state) {
  Zone z;
  z.load({"https://a", "https://b"});
  // another URL first, the two swapped: each keeps its slot and document
  auto plan = z.load({"https://c", "https://b", "https://a"});
  assert_true(plan[0].reset);
  assert_int_equal(plan[0].slot, 2);
  assert_false(plan[1].reset);
  assert_int_equal(plan[1].slot, 1);
  assert_false(plan[2].reset);
  assert_int_equal(plan[2].slot, 0);
  // one removed: the other still keeps its slot
  plan = z.load({"https://a"});
  assert_false(plan[0].reset);
  assert_int_equal(plan[0].slot, 0);
}

void test_jwks_slots_a_removed_url_added_again_starts_over(void** state) {
  Zone z;
  z.load({"https://x"});
  z.load({"https://y"});  // x's slot still holds its URL and document
  auto plan = z.load({"https://x"});
  assert_true(plan[0].reset);  // no document from a configuration that stopped running
}

void test_jwks_slots_a_failed_load_never_resets_a_running_slot(void** state) {
  Zone z;
  const auto live = urlsNamed("live", kMaxJwksUrls);
  z.load(live);
  const auto live_epochs = z.epoch;
  // a configuration with 16 new URLs fails to load (nginx runs zone inits first) ...
  z.load(urlsNamed("failed", kMaxJwksUrls), /*commit=*/false);
  // ... then another one loads: the running slots were never touched
  z.load(urlsNamed("next", kMaxJwksUrls), /*commit=*/false);
  for (size_t s = 0; s < kJwksZoneSlots; ++s) {
    if (z.live[s]) assert_int_equal(z.epoch[s], live_epochs[s]);
  }
  // a load keeping half of the running URLs and replacing the rest
  std::vector<std::string> mixed(live.begin(), live.begin() + kMaxJwksUrls / 2);
  for (const std::string& u : urlsNamed("new", kMaxJwksUrls / 2)) mixed.push_back(u);
  auto plan = z.load(mixed);
  for (int i = 0; i < kMaxJwksUrls; ++i) assert_int_equal(plan[i].reset, i >= kMaxJwksUrls / 2);
}

void test_jwks_slots_every_url_swapped_many_times(void** state) {
  // 16 URLs replaced by 16 others, over and over: a free slot every time
  Zone z;
  for (int round = 0; round < 10; ++round) {
    auto plan = z.load(urlsNamed(("r" + std::to_string(round) + "-").c_str(), kMaxJwksUrls));
    for (const JwksSlotPlan& p : plan) assert_true(p.reset);
  }
}

void test_jwks_slots_refuses_wrong_sizes(void** state) {
  std::vector<std::string_view> slots(kJwksZoneSlots), urls(kMaxJwksUrls + 1, "https://a");
  std::vector<bool> live(kJwksZoneSlots, false);
  std::vector<JwksSlotPlan> plan;
  assert_int_equal(assignJwksSlots(slots, live, urls, &plan), Status::Internal);
  urls.resize(1);
  assert_int_equal(assignJwksSlots(slots, std::vector<bool>(3), urls, &plan), Status::Internal);
  assert_int_equal(assignJwksSlots(slots, live, urls, nullptr), Status::Internal);
  assert_int_equal(assignJwksSlots(slots, live, urls, &plan), Status::Ok);
}

}  // namespace
}  // namespace tasker

// A version carrying kJwksWriting is a write whose writer died: never parsed, whatever this
// worker holds; otherwise the same version is current and any other one is parsed.
void test_jwks_slots_a_torn_write_is_never_read(void** state) {
  using tasker::jwksSlotRead;
  using tasker::JwksSlotRead;
  using tasker::kJwksWriting;
  assert_int_equal(static_cast<int>(jwksSlotRead(0, 0)), static_cast<int>(JwksSlotRead::Current));
  assert_int_equal(static_cast<int>(jwksSlotRead(7, 7)), static_cast<int>(JwksSlotRead::Current));
  assert_int_equal(static_cast<int>(jwksSlotRead(8, 7)), static_cast<int>(JwksSlotRead::Parse));
  assert_int_equal(static_cast<int>(jwksSlotRead(1, 0)), static_cast<int>(JwksSlotRead::Parse));
  assert_int_equal(static_cast<int>(jwksSlotRead(kJwksWriting | 7, 7)),
                   static_cast<int>(JwksSlotRead::Torn));
  assert_int_equal(static_cast<int>(jwksSlotRead(kJwksWriting | 7, 0)),
                   static_cast<int>(JwksSlotRead::Torn));
  assert_int_equal(static_cast<int>(jwksSlotRead(kJwksWriting, 0)),
                   static_cast<int>(JwksSlotRead::Torn));
}

int main(void) {
  using namespace tasker;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_jwks_slots_first_start_resets_never_used_slots),
      cmocka_unit_test(test_jwks_slots_kept_urls_keep_their_slot_whatever_the_order),
      cmocka_unit_test(test_jwks_slots_a_removed_url_added_again_starts_over),
      cmocka_unit_test(test_jwks_slots_a_failed_load_never_resets_a_running_slot),
      cmocka_unit_test(test_jwks_slots_every_url_swapped_many_times),
      cmocka_unit_test(test_jwks_slots_refuses_wrong_sizes),
      cmocka_unit_test(test_jwks_slots_a_torn_write_is_never_read),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
