// Unit tests for src/local_ref.h: the worker-local reference count behind a cached verification
// result. The object must die exactly once, with its last reference, whatever mix of copies,
// moves, assignments and resets got it there.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <string>
#include <utility>
#include <vector>

#include "local_ref.h"

extern "C" {
#include <cmocka.h>
}

namespace {

int live = 0;  // Tracked objects alive now

struct Tracked {
  explicit Tracked(std::string v) : value(std::move(v)) { ++live; }
  Tracked(const Tracked&) = delete;
  ~Tracked() { --live; }
  std::string value;
};

using Ref = tasker::LocalRef<const Tracked>;

void test_local_ref_empty(void** state) {
  Ref r;
  assert_false(static_cast<bool>(r));
  assert_null(r.get());
  assert_int_equal(r.useCount(), 0);
  r.reset();
  Ref copy = r;
  assert_null(copy.get());
}

void test_local_ref_copies_share_and_last_one_frees(void** state) {
  live = 0;
  {
    Ref a = Ref::make("subject");
    assert_int_equal(live, 1);
    assert_int_equal(a.useCount(), 1);
    assert_string_equal(a->value.c_str(), "subject");
    Ref b = a;
    assert_ptr_equal(a.get(), b.get());
    assert_int_equal(a.useCount(), 2);
    {
      Ref c(b);
      assert_int_equal(a.useCount(), 3);
    }
    assert_int_equal(a.useCount(), 2);
    a.reset();
    assert_null(a.get());
    assert_int_equal(live, 1);  // b still holds it
    assert_int_equal(b.useCount(), 1);
    assert_string_equal((*b).value.c_str(), "subject");
  }
  assert_int_equal(live, 0);
}

void test_local_ref_moves_transfer_without_counting(void** state) {
  live = 0;
  Ref a = Ref::make("x");
  Ref b = std::move(a);
  assert_null(a.get());  // NOLINT: a moved-from LocalRef is empty by contract
  assert_int_equal(b.useCount(), 1);
  Ref c;
  c = std::move(b);
  assert_int_equal(c.useCount(), 1);
  assert_int_equal(live, 1);
  c = Ref();
  assert_int_equal(live, 0);
}

void test_local_ref_assignment_releases_the_old_object(void** state) {
  live = 0;
  Ref a = Ref::make("a");
  Ref b = Ref::make("b");
  assert_int_equal(live, 2);
  a = b;  // "a" loses its only reference
  assert_int_equal(live, 1);
  assert_string_equal(a->value.c_str(), "b");
  assert_int_equal(b.useCount(), 2);
  a = a;  // self-assignment keeps the object and the count
  assert_int_equal(a.useCount(), 2);
  a = std::move(a);  // so does self-move
  assert_int_equal(live, 1);
  assert_non_null(a.get());
  b.reset();
  a.reset();
  assert_int_equal(live, 0);
}

void test_local_ref_many_holders(void** state) {
  // A cache entry plus requests in flight: the object outlives all but the last holder.
  live = 0;
  std::vector<Ref> holders;
  holders.push_back(Ref::make("shared"));
  for (int i = 0; i < 1000; ++i) holders.push_back(holders.front());
  assert_int_equal(holders.back().useCount(), 1001);
  while (holders.size() > 1) {
    holders.erase(holders.begin());
    assert_int_equal(live, 1);
  }
  holders.clear();
  assert_int_equal(live, 0);
}

}  // namespace

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_local_ref_empty),
      cmocka_unit_test(test_local_ref_copies_share_and_last_one_frees),
      cmocka_unit_test(test_local_ref_moves_transfer_without_counting),
      cmocka_unit_test(test_local_ref_assignment_releases_the_old_object),
      cmocka_unit_test(test_local_ref_many_holders),
  };
  return cmocka_run_group_tests_name("local_ref", tests, nullptr, nullptr);
}
