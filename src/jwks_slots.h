// Which slot of the JWKS shared memory zone each URL of a configuration uses (the adapter's
// zone init, at every load and reload, in the nginx master). Pure logic, no I/O.
//
// The zone has kJwksZoneSlots slots. A slot holds one URL's last good document, and its epoch
// changes whenever it is reset for another URL: workers act on a slot only while its epoch is
// the one their configuration saw (src/ngx_tasker_runtime.cpp). The rules:
//   - a URL the running configuration also uses keeps that slot: its document, no refetch;
//   - any other URL gets a reset slot, so a document is never inherited from a configuration
//     that is not running any more (a URL removed and later added again starts over);
//   - a slot the running configuration uses is never reset: if the new configuration fails to
//     load (nginx runs zone inits before it opens the listening sockets), the running workers
//     keep every slot they use;
//   - a reset takes a never-used slot first, then one no running URL uses.
// With at most kMaxJwksUrls URLs per configuration and twice that many slots, a slot is always
// free.
//
//   std::vector<JwksSlotPlan> plan;
//   assignJwksSlots(slot_urls, live, urls, &plan);   // plan[i].slot, plan[i].reset
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "metrics.h"  // kMaxJwksUrls
#include "status.h"

namespace tasker {

constexpr size_t kJwksZoneSlots = 2 * static_cast<size_t>(kMaxJwksUrls);

struct JwksSlotPlan {
  size_t slot = 0;     // where the URL lives
  bool reset = false;  // the slot must be emptied and given a new epoch for this URL
};

// slot_urls: the URL each slot holds now (empty: never used), kJwksZoneSlots of them.
// live: whether the running configuration uses each slot (all false at the first start).
// urls: the new configuration's URLs, distinct, at most kMaxJwksUrls.
// Out: one plan per URL, in order. Internal when the sizes are wrong (no slot is then free).
Status assignJwksSlots(const std::vector<std::string_view>& slot_urls,
                       const std::vector<bool>& live, const std::vector<std::string_view>& urls,
                       std::vector<JwksSlotPlan>* out);

// A changed document is copied over the slot's body in place, under the zone mutex. A worker
// killed during the copy (kill -9, the OOM killer) would leave half of one document and half of
// another under the old version, which every later worker would fail to parse. So the writer
// sets this bit in the version before the copy and clears it with the increment after: a
// version carrying it is a write that never finished, never a document, and the slot is
// fetched again as soon as the dead writer's claim expires.
constexpr uint64_t kJwksWriting = uint64_t{1} << 63;

// What a worker does with a slot's version against the one its own key set was parsed from.
enum class JwksSlotRead {
  Current,  // the same document: nothing to parse
  Parse,    // a newer document: copy and parse it
  Torn,     // a write that never finished: keep the key set it has
};
JwksSlotRead jwksSlotRead(uint64_t slot_version, uint64_t local_version);

}  // namespace tasker
