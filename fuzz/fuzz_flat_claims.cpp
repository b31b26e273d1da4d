// libFuzzer target, differential: the flat claims reader (src/flat_claims.h) against the jansson
// path it stands in for. The input is claims text, as a verified token's decoded claims segment.
// Declining is always allowed (nothing requires the reader to take a document, however flat it
// looks); whatever it takes must come out exactly as jansson would have it.
//
// Invariants checked (a violation aborts, so libFuzzer records the input):
//  - a taken document is one jansson takes too (jsonParseObject plus the kMaxClaims cap), with
//    the same member names in the same order;
//  - the claim checks (verifyClaimsText, Flat against Jansson) give the same status, subject,
//    permissions, unknown strings and grant for several option sets and clocks, including ones
//    built from the document's own iss, aud and times so that the later checks are reached;
//  - Claims::render of every member name and of a few absent names, renderPath of one- and
//    two-name paths, checkTimes at several clocks and leeways, and toJson are identical.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "claim_path.h"
#include "flat_claims.h"
#include "fuzz_common.h"
#include "json.h"
#include "jwt.h"
#include "verify.h"
#include "verify_internal.h"

using namespace tasker;

namespace {

// Names looked up besides the document's own: registered claims, permission claims, and a few
// that are never there.
const char* const kExtraNames[] = {"sub", "iss", "aud", "exp", "iat", "nbf", "permissions",
                                   "scope", "", "a.b", "SUB", "sub "};

void checkSame(const std::string& a, const std::string& b, const char* why) {
  fuzz::check(a == b, why);
}

void checkSameList(const std::vector<std::string>& a, const std::vector<std::string>& b,
                   const char* why) {
  fuzz::check(a == b, why);
}

// render through both, starting from the same non-empty scratch text.
void compareRender(const Claims& f, const Claims& j, std::string_view name) {
  std::string fo = "x", jo = "x";
  bool fr = f.render(name, &fo), jr = j.render(name, &jo);
  fuzz::check(fr == jr, "render found a claim on one side only");
  checkSame(fo, jo, "render texts differ");
}

void compareRenderPath(const Claims& f, const Claims& j, std::string_view text) {
  ClaimPath path;
  if (ClaimPath::parse(text, &path) != Status::Ok) return;
  std::string fo = "x", jo = "x";
  bool fr = f.renderPath(path, &fo), jr = j.renderPath(path, &jo);
  fuzz::check(fr == jr, "renderPath found a claim on one side only");
  checkSame(fo, jo, "renderPath texts differ");
}

void compareClaims(const Claims& f, const Claims& j, std::string_view text,
                   const FlatMembers& members, const std::vector<int64_t>& clocks) {
  for (const FlatMember& m : members) {
    const std::string_view name = m.name(text);
    compareRender(f, j, name);
    // As a path: one name (dots escaped), and two names (never found: nothing is an object).
    std::string escaped;
    for (char c : name) {
      if (c == '.' || c == '\\') escaped.push_back('\\');
      escaped.push_back(c);
    }
    compareRenderPath(f, j, escaped);
    compareRenderPath(f, j, escaped + ".x");
    compareRenderPath(f, j, "x." + escaped);
  }
  for (const char* name : kExtraNames) {
    compareRender(f, j, name);
    compareRenderPath(f, j, name);
  }
  for (int64_t now : clocks) {
    for (int64_t leeway : {int64_t{-5}, int64_t{0}, int64_t{60}}) {
      fuzz::check(f.checkTimes(leeway, now) == j.checkTimes(leeway, now), "checkTimes differ");
    }
  }
  checkSame(f.toJson(), j.toJson(), "toJson differ");
}

// The integer or string value of a member, for options and clocks built from the document.
bool integerOf(std::string_view text, const FlatMembers& members, std::string_view name,
               int64_t* out) {
  const FlatMember* m = members.find(text, name);
  if (m == nullptr || m->kind != FlatKind::Integer) return false;
  *out = m->integer;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  FlatMembers members;
  const bool flat = readFlatClaims(text, &members);
  JsonPtr root;
  const Status parsed = parseJwtClaims(std::string_view(text), &root);
  if (!flat) {
    fuzz::check(members.size() == 0, "a declined document left members behind");
    return 0;  // declining is always allowed, whatever jansson says
  }
  fuzz::check(parsed == Status::Ok, "the flat reader took a document jansson rejects");
  fuzz::check(json_object_size(root.get()) == members.size(), "member counts differ");
  {
    size_t i = 0;
    const char* key;
    json_t* value;
    json_object_foreach(root.get(), key, value) {
      fuzz::check(members[i].name(text) == key, "member names or order differ");
      ++i;
    }
  }

  // Option sets: the defaults, then iss and aud taken from the document so that the later checks
  // run, with either permission claim, strict or not.
  std::vector<VerifyOptions> option_sets(1);
  {
    VerifyOptions o;
    const FlatMember* iss = members.find(text, "iss");
    if (iss != nullptr && iss->kind == FlatKind::String) o.issuer = std::string(iss->value(text));
    const FlatMember* aud = members.find(text, "aud");
    if (aud != nullptr && aud->kind == FlatKind::String) {
      o.audience = std::string(aud->value(text));
    } else if (aud != nullptr && aud->kind == FlatKind::StringArray) {
      forEachFlatString(text, *aud, [&](std::string_view s) {
        o.audience = std::string(s);
        return false;  // the first
      });
    }
    option_sets.push_back(o);
    o.strict = false;
    o.permissions_claim = "scope";
    option_sets.push_back(o);
    o.strict = true;
    o.leeway_seconds = 0;
    option_sets.push_back(o);
  }
  // Clocks: the fixed one, and around the document's own times.
  std::vector<int64_t> clocks = {fuzz::kNow};
  int64_t t;
  if (integerOf(text, members, "iat", &t)) clocks.insert(clocks.end(), {t, t - 61, t + 1});
  if (integerOf(text, members, "exp", &t)) clocks.insert(clocks.end(), {t, t - 1, t - 60});
  if (integerOf(text, members, "nbf", &t)) clocks.insert(clocks.end(), {t - 60, t - 61});

  bool compared = false;  // the Claims objects: once is enough, they do not depend on the options
  for (const VerifyOptions& opts : option_sets) {
    for (int64_t now : clocks) {
      VerifiedToken f, j;
      const Status fs = verifyClaimsText(ClaimsReader::Flat, text, opts, now, &f);
      const Status js = verifyClaimsText(ClaimsReader::Jansson, text, opts, now, &j);
      fuzz::check(fs != Status::Internal, "the flat reader declined a document it took");
      fuzz::check(fs == js, "claim check statuses differ");
      checkSame(f.subject, j.subject, "subjects differ");
      checkSameList(f.permissions, j.permissions, "permissions differ");
      checkSameList(f.unknown, j.unknown, "unknown lists differ");
      fuzz::check(f.grant.bits == j.grant.bits, "grants differ");
      fuzz::check((f.claims == nullptr) == (j.claims == nullptr), "claims kept on one side only");
      VerifiedToken a;
      fuzz::check(verifyClaimsText(ClaimsReader::Auto, text, opts, now, &a) == fs,
                  "Auto differs from Flat");
      if (f.claims && j.claims && !compared) {
        compareClaims(*f.claims, *j.claims, text, members, clocks);
        compared = true;
      }
    }
  }
  return 0;
}
