// A reference-counted pointer for an object that never leaves one thread.
//
// std::shared_ptr counts with atomic read-modify-writes (lock-prefixed on x86) in any process
// that may run threads, and every nginx worker is such a process. A token cache hit took one
// reference (the request keeps the result) and released it when the request ended: two locked
// operations, a fifth of the module's own time on a hit (perf). A verification result lives in
// one worker: its token cache, the decision that used it and the request that keeps it are all on
// that worker's thread, so plain counts are exact.
//
//   LocalRef<const VerifiedToken> r = LocalRef<const VerifiedToken>::make(std::move(vt));
//   LocalRef<const VerifiedToken> copy = r;   // refs 2, no atomic operation
//   copy.get()->subject; r.reset();           // the object dies with its last reference
//
// Not thread-safe by design: never share one object's references between threads.
#pragma once

#include <cstdint>
#include <type_traits>
#include <utility>

namespace tasker {

template <class T>
class LocalRef {
 public:
  LocalRef() noexcept = default;
  LocalRef(const LocalRef& other) noexcept : box_(other.box_) {
    if (box_ != nullptr) ++box_->refs;
  }
  LocalRef(LocalRef&& other) noexcept : box_(std::exchange(other.box_, nullptr)) {}
  LocalRef& operator=(const LocalRef& other) noexcept {
    LocalRef(other).swap(*this);
    return *this;
  }
  LocalRef& operator=(LocalRef&& other) noexcept {
    LocalRef(std::move(other)).swap(*this);
    return *this;
  }
  ~LocalRef() { release(); }

  // A new object constructed from args, with one reference. Throws what new or T's constructor
  // throws (std::bad_alloc).
  template <class... Args>
  static LocalRef make(Args&&... args) {
    LocalRef r;
    r.box_ = new Box(std::forward<Args>(args)...);
    return r;
  }

  T* get() const noexcept { return box_ != nullptr ? &box_->value : nullptr; }
  T& operator*() const noexcept { return box_->value; }
  T* operator->() const noexcept { return &box_->value; }
  explicit operator bool() const noexcept { return box_ != nullptr; }

  // References to this object, 0 for an empty LocalRef (for tests).
  uint32_t useCount() const noexcept { return box_ != nullptr ? box_->refs : 0; }

  void reset() noexcept { LocalRef().swap(*this); }
  void swap(LocalRef& other) noexcept { std::swap(box_, other.box_); }

 private:
  struct Box {
    template <class... Args>
    explicit Box(Args&&... args) : value(std::forward<Args>(args)...) {}
    std::remove_const_t<T> value;
    uint32_t refs = 1;  // bounded by the requests in flight plus the cache entry
  };

  void release() noexcept {
    if (box_ != nullptr && --box_->refs == 0) destroy(box_);
    box_ = nullptr;
  }

  // Out of line: the common release only decrements, and GCC 12's -Wuse-after-free, which
  // cannot tell that a copy's count was above one, has no inlined delete to warn about.
  [[gnu::noinline]] static void destroy(Box* box) noexcept { delete box; }

  Box* box_ = nullptr;
};

}  // namespace tasker
