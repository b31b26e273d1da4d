#include "seeded_hash.h"

#include <openssl/err.h>
#include <openssl/rand.h>

namespace tasker {

SeededHash::SeededHash() noexcept {
  if (RAND_bytes(reinterpret_cast<unsigned char*>(seed_), sizeof seed_) != 1) {
    ERR_clear_error();
    seed_[0] = kK0;
    seed_[1] = kK1;
  }
}

}  // namespace tasker
