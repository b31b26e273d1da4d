#include "jwks_slots.h"

#include <new>

namespace tasker {

Status assignJwksSlots(const std::vector<std::string_view>& slot_urls,
                       const std::vector<bool>& live, const std::vector<std::string_view>& urls,
                       std::vector<JwksSlotPlan>* out) {
  const size_t n = slot_urls.size();
  if (out == nullptr || live.size() != n || urls.size() > static_cast<size_t>(kMaxJwksUrls) ||
      n < 2 * urls.size()) {
    return Status::Internal;
  }
  try {
    std::vector<JwksSlotPlan> plan(urls.size());
    std::vector<bool> taken(n, false);
    std::vector<bool> placed(urls.size(), false);

    // A URL the running configuration uses keeps its slot.
    for (size_t i = 0; i < urls.size(); ++i) {
      for (size_t s = 0; s < n; ++s) {
        if (live[s] && !taken[s] && !urls[i].empty() && slot_urls[s] == urls[i]) {
          plan[i].slot = s;
          taken[s] = true;
          placed[i] = true;
          break;
        }
      }
    }

    // Every other URL resets a slot nobody runs on: a never-used one first.
    for (size_t i = 0; i < urls.size(); ++i) {
      if (placed[i]) continue;
      size_t pick = n;
      for (size_t s = 0; s < n && pick == n; ++s) {
        if (!live[s] && !taken[s] && slot_urls[s].empty()) pick = s;
      }
      for (size_t s = 0; s < n && pick == n; ++s) {
        if (!live[s] && !taken[s]) pick = s;
      }
      if (pick == n) return Status::Internal;  // more live slots than the sizes allow
      plan[i].slot = pick;
      plan[i].reset = true;
      taken[pick] = true;
    }

    *out = std::move(plan);
    return Status::Ok;
  } catch (const std::bad_alloc&) {
    return Status::OutOfMemory;
  }
}

JwksSlotRead jwksSlotRead(uint64_t slot_version, uint64_t local_version) {
  if (slot_version & kJwksWriting) return JwksSlotRead::Torn;
  return slot_version == local_version ? JwksSlotRead::Current : JwksSlotRead::Parse;
}

}  // namespace tasker
