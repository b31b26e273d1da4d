#include "toml_config.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <new>
#include <utility>

// toml++ is header-only here and confined to this file: it is slow to compile and its types must
// not leak into public headers. Exceptions off, so parse errors come back as values; the library
// can still throw std::bad_alloc, which loadAuthToml turns into Status::OutOfMemory.
#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#include <toml++/toml.h>

#include "api_keys.h"
#include "printable.h"
#include "toml_guard.h"

namespace tasker {

namespace {

// Tables tried, in order, when the caller names none (SPEC 2 tasker_auth_config).
const char* const kDefaultTables[] = {"auth", "orchestration.web.auth", "worker.web.auth"};

struct BoolKey {
  const char* name;
  std::optional<bool> AuthSettings::*field;
};
const BoolKey kBoolKeys[] = {
    {"enabled", &AuthSettings::enabled},
    {"strict_validation", &AuthSettings::strict_validation},
    {"log_unknown_permissions", &AuthSettings::log_unknown_permissions},
    {"api_keys_enabled", &AuthSettings::api_keys_enabled},
    {"jwks_url_allow_http", &AuthSettings::jwks_url_allow_http},
};

struct StringKey {
  const char* name;
  std::optional<std::string> AuthSettings::*field;
};
const StringKey kStringKeys[] = {
    {"jwt_issuer", &AuthSettings::jwt_issuer},
    {"jwt_audience", &AuthSettings::jwt_audience},
    {"jwt_public_key_path", &AuthSettings::jwt_public_key_path},
    {"jwt_public_key", &AuthSettings::jwt_public_key},
    {"jwt_verification_method", &AuthSettings::jwt_verification_method},
    {"jwks_url", &AuthSettings::jwks_url},
    {"permissions_claim", &AuthSettings::permissions_claim},
    {"api_key_header", &AuthSettings::api_key_header},
};

struct SecondsKey {
  const char* name;
  std::optional<int64_t> AuthSettings::*field;
};
const SecondsKey kSecondsKeys[] = {
    {"jwks_refresh_interval_seconds", &AuthSettings::jwks_refresh_interval_seconds},
    {"jwks_max_stale_seconds", &AuthSettings::jwks_max_stale_seconds},
    {"jwt_leeway_seconds", &AuthSettings::jwt_leeway_seconds},
};

// Edits (insert, delete, replace, swap two neighbours) between a and b, counted up to limit + 1;
// b at most 63 bytes (a known key), no allocation.
size_t editDistance(std::string_view a, std::string_view b, size_t limit) {
  if ((a.size() > b.size() ? a.size() - b.size() : b.size() - a.size()) > limit) return limit + 1;
  std::array<size_t, 64> before{}, prev{}, cur{};
  if (b.size() >= prev.size()) return limit + 1;
  for (size_t j = 0; j <= b.size(); j++) prev[j] = j;
  for (size_t i = 1; i <= a.size(); i++) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); j++) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        cur[j] = std::min(cur[j], before[j - 2] + 1);
      }
    }
    before.swap(prev);
    prev.swap(cur);
  }
  return std::min(prev[b.size()], limit + 1);
}

// The names of the settings the loader reads (api_keys, a table of entries, aside).
using SettingKeys = std::array<std::string_view, std::size(kBoolKeys) + std::size(kStringKeys) +
                                                     1 + std::size(kSecondsKeys)>;
const SettingKeys& settingKeys() {
  static const SettingKeys keys = [] {
    SettingKeys k;
    size_t n = 0;
    for (const BoolKey& b : kBoolKeys) k[n++] = b.name;
    for (const StringKey& s : kStringKeys) k[n++] = s.name;
    k[n++] = "jwt_allowed_algorithms";
    for (const SecondsKey& i : kSecondsKeys) k[n++] = i.name;
    return k;
  }();
  return keys;
}

// The key an unknown [auth] key was probably meant to be: the directive's name without
// "tasker_" (tasker_jwt_issuer; tasker_auth is "enabled"), without "_seconds" (jwt_leeway), or
// a known key at most two edits away (enable, jwt_audiance). Empty when none.
std::string_view meantKey(std::string_view name) {
  if (name.substr(0, 7) == "tasker_") name.remove_prefix(7);
  if (name == "auth") return "enabled";
  for (const SecondsKey& k : kSecondsKeys) {
    const std::string_view seconds = k.name;
    const bool without_unit = seconds.size() == name.size() + 8 &&  // + "_seconds"
                              seconds.substr(0, name.size()) == name;
    if (without_unit) return seconds;
  }
  for (std::string_view k : settingKeys()) {
    if (name == k) return k;
  }
  // the closest within two edits; a name of 4 bytes or fewer is too short to guess from
  std::string_view best;
  size_t best_edits = 3;
  if (name.size() <= 4) return {};
  for (std::string_view k : settingKeys()) {
    const size_t edits = editDistance(name, k, 2);
    if (edits < best_edits) {
      best = k;
      best_edits = edits;
    }
  }
  return best;
}

// A key the loader reads into AuthSettings (not an ignored or unknown one).
bool isKnownKey(std::string_view name) {
  const SettingKeys& keys = settingKeys();
  return name == "api_keys" || std::find(keys.begin(), keys.end(), name) != keys.end();
}

// Whether the table sets anything the module reads. One that holds only unknown keys, tasker's
// issuing-side keys or sub-tables (`[auth._docs.x]` alone makes an [auth]) is not the table of
// auth settings the operator meant.
bool holdsKnownKey(const toml::table& t) {
  for (auto&& [k, v] : t) {
    if (isKnownKey(k.str())) return true;
  }
  return false;
}

// Keys of tasker's own auth table that concern tasker and not a gateway: the issuing side (its
// private key, the lifetime of the tokens it signs) and the `_docs` tables of its generated
// files. Skipped without a warning, and never read: a private key's text goes nowhere.
const char* const kTaskerOnlyKeys[] = {"jwt_private_key", "jwt_token_expiry_hours", "_docs"};

// Text from the file as a message shows it: printable ASCII kept, every other byte (a newline, an
// escape sequence, UTF-8) as '?', and at most kShownBytes of it, so a file cannot write lines
// or terminal controls into the error log.
constexpr size_t kShownBytes = 64;
std::string printable(std::string_view s) { return shownText(s, kShownBytes); }

// A wrongly typed value, for "must be X, not <this>": scalars as written (strings quoted,
// through printable), containers by kind. A secret (an API key) is only ever named by its kind.
std::string describe(const toml::node& n, bool secret) {
  switch (n.type()) {
    case toml::node_type::string:
      return secret ? "a string" : "\"" + printable(n.as_string()->get()) + "\"";
    case toml::node_type::integer:
      return secret ? "an integer" : std::to_string(n.as_integer()->get());
    case toml::node_type::floating_point: {
      if (secret) return "a float";
      char buf[64];
      std::snprintf(buf, sizeof buf, "%g", n.as_floating_point()->get());
      return buf;
    }
    case toml::node_type::boolean:
      return secret ? "a boolean" : (n.as_boolean()->get() ? "true" : "false");
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    default:
      return "another type";
  }
}

bool isNameStart(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool isNameChar(char c) noexcept { return isNameStart(c) || (c >= '0' && c <= '9'); }

// Expands ${VAR} and ${VAR:-default} from the environment, like the tasker configuration loader:
//  - ${VAR} of an unset variable gives the empty string;
//  - ${VAR:-default} gives default when VAR is unset or empty (as in sh);
//  - a '$' not followed by '{' is copied as is; values are not expanded again.
// False for a "${" that does not form one of those two references (bad name, no closing brace,
// nested reference in the default): a half-expanded secret must not be used literally.
bool expandEnv(std::string_view in, std::string* out) {
  out->clear();
  size_t i = 0;
  while (i < in.size()) {
    if (in[i] != '$' || i + 1 >= in.size() || in[i + 1] != '{') {
      out->push_back(in[i++]);
      continue;
    }
    size_t j = i + 2;
    if (j >= in.size() || !isNameStart(in[j])) return false;
    while (j < in.size() && isNameChar(in[j])) ++j;
    const std::string name(in.substr(i + 2, j - (i + 2)));
    const char* value = std::getenv(name.c_str());
    if (j < in.size() && in[j] == '}') {
      if (value) out->append(value);
      i = j + 1;
    } else if (in.substr(j, 2) == ":-") {
      size_t close = in.find('}', j + 2);
      if (close == std::string_view::npos) return false;
      std::string_view fallback = in.substr(j + 2, close - (j + 2));
      if (fallback.find("${") != std::string_view::npos) return false;
      if (value && *value) {
        out->append(value);
      } else {
        out->append(fallback);
      }
      i = close + 1;
    } else {
      return false;
    }
  }
  return true;
}

// Splits a single-string algorithm list on commas and blanks ("RS256", "RS256, ES256").
std::vector<std::string> splitWords(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ',' || s[i] == ' ' || s[i] == '\t')) ++i;
    size_t start = i;
    while (i < s.size() && s[i] != ',' && s[i] != ' ' && s[i] != '\t') ++i;
    if (i > start) out.emplace_back(s.substr(start, i - start));
  }
  return out;
}

// The node at a dotted path ("orchestration.web.auth"), or nullptr. Every segment but the last
// must be a table. Segments are bare keys: a quoted key containing '.' cannot be named.
const toml::node* findPath(const toml::table& root, std::string_view dotted) {
  const toml::table* t = &root;
  const toml::node* n = nullptr;
  while (true) {
    size_t dot = dotted.find('.');
    n = t->get(dotted.substr(0, dot));
    if (!n || dot == std::string_view::npos) return n;
    t = n->as_table();
    if (!t) return nullptr;
    dotted.remove_prefix(dot + 1);
  }
}

// Walks one auth table into an AuthSettings; the first error ends the walk.
class Loader {
 public:
  Loader(const std::string& file, std::string table_name, std::string* error)
      : file_(file), table_(std::move(table_name)), error_(error) {}

  Status load(const toml::table& auth, AuthSettings* out);

  // Warnings in file order.
  std::vector<std::string> takeWarnings() {
    std::stable_sort(warnings_.begin(), warnings_.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::string> out;
    out.reserve(warnings_.size());
    for (auto& w : warnings_) out.push_back(std::move(w.second));
    return out;
  }

 private:
  static int lineOf(const toml::node& n) { return static_cast<int>(n.source().begin.line); }
  static int lineOf(const toml::key& k) { return static_cast<int>(k.source().begin.line); }

  std::string at(int line) const { return file_ + ":" + std::to_string(line) + ": "; }

  Status fail(int line, std::string_view key, std::string_view what) {
    *error_ = at(line) + "\"" + std::string(key) + "\" " + std::string(what);
    return Status::ConfigInvalid;
  }
  // `"key" must be TYPE, not VALUE`; a secret's value is described by its kind only
  Status typeError(const toml::node& n, std::string_view key, std::string_view type,
                   bool secret = false) {
    return fail(lineOf(n), key, "must be " + std::string(type) + ", not " + describe(n, secret));
  }
  void warnLegacyApiKey(const toml::key& k, const toml::node& v);
  std::string unknownText(const toml::key& k, std::string_view where) const {
    return at(lineOf(k)) + "unknown key \"" + printable(k.str()) + "\" in " + std::string(where);
  }
  void warnUnknown(const toml::key& k, std::string_view where) {
    warnings_.emplace_back(lineOf(k), unknownText(k, where));
  }
  // An unknown key of the auth table: a misspelling of a known key (a directive's name, a
  // duration without _seconds, a typo) is an error, since the setting it meant would silently
  // keep its default (`enable = true` left tasker_auth off); any other name warns (it may be a
  // key of a newer tasker, which ignores unknown keys too). A sub-table is no misspelled
  // setting (`[orchestration.web.auth]` is not "enabled" in [orchestration.web]).
  Status unknownAuthKey(const toml::key& k, const toml::node& v) {
    const std::string_view meant = v.is_table() ? std::string_view() : meantKey(k.str());
    if (meant.empty()) {
      warnUnknown(k, "[" + table_ + "]");
      return Status::Ok;
    }
    *error_ =
        unknownText(k, "[" + table_ + "]") + " (did you mean \"" + std::string(meant) + "\"?)";
    return Status::ConfigInvalid;
  }

  Status getString(const toml::node& n, std::string_view key, std::string* out,
                   bool secret = false);
  Status getStringList(const toml::node& n, std::string_view key, bool comma_list,
                       std::vector<std::string>* out);
  Status getApiKeys(const toml::node& n, std::vector<TomlApiKey>* out);
  Status getApiKey(const toml::table& t, TomlApiKey* out);

  const std::string& file_;
  const std::string table_;
  std::string* error_;
  std::vector<std::pair<int, std::string>> warnings_;
};

Status Loader::getString(const toml::node& n, std::string_view key, std::string* out,
                         bool secret) {
  const toml::value<std::string>* s = n.as_string();
  if (!s) return typeError(n, key, "a string", secret);
  // TOML allows "\u0000"; every consumer (a path, a header name, a key) would see the value cut
  // at it, or take the NUL as part of it. The value is not shown: it may be a key.
  if (s->get().find('\0') != std::string::npos) {
    return fail(lineOf(n), key, "holds a NUL character (\\u0000), which no setting can use");
  }
  if (!expandEnv(s->get(), out)) {
    return fail(lineOf(n), key, "has a malformed ${...} reference");
  }
  return Status::Ok;
}

// An array of strings, or one string: split at commas (permissions, like tasker_api_key) or at
// commas and blanks (algorithm names).
Status Loader::getStringList(const toml::node& n, std::string_view key, bool comma_list,
                             std::vector<std::string>* out) {
  out->clear();
  std::string s;
  if (n.is_string()) {
    Status st = getString(n, key, &s);
    if (st != Status::Ok) return st;
    *out = comma_list ? splitPermissionList(s) : splitWords(s);
    return Status::Ok;
  }
  const toml::array* a = n.as_array();
  if (!a) return typeError(n, key, "an array of strings or a string");
  for (const toml::node& el : *a) {
    if (!el.is_string()) return typeError(el, key, "an array of strings or a string");
    Status st = getString(el, key, &s);
    if (st != Status::Ok) return st;
    out->push_back(std::move(s));
  }
  return Status::Ok;
}

Status Loader::getApiKey(const toml::table& t, TomlApiKey* out) {
  out->line = lineOf(t);
  bool have_key = false;
  for (auto&& [k, v] : t) {
    Status st = Status::Ok;
    if (k.str() == "key") {
      st = getString(v, "key", &out->key, true);
      have_key = true;
    } else if (k.str() == "permissions") {
      st = getStringList(v, "permissions", true, &out->permissions);
    } else if (k.str() == "description") {
      st = getString(v, "description", &out->description);
    } else {
      warnUnknown(k, "[[" + table_ + ".api_keys]]");
    }
    if (st != Status::Ok) return st;
  }
  if (!have_key) return fail(out->line, "key", "is required in [[" + table_ + ".api_keys]]");
  return Status::Ok;
}

Status Loader::getApiKeys(const toml::node& n, std::vector<TomlApiKey>* out) {
  const toml::array* a = n.as_array();
  if (!a) return typeError(n, "api_keys", "an array of tables", true);
  for (const toml::node& el : *a) {
    const toml::table* t = el.as_table();
    if (!t) return typeError(el, "api_keys", "an array of tables", true);
    TomlApiKey key;
    Status st = getApiKey(*t, &key);
    if (st != Status::Ok) return st;
    out->push_back(std::move(key));
  }
  return Status::Ok;
}

// tasker's single legacy `api_key`, to which tasker grants every permission ("*"). The module
// does not take it: a key that opens everything must be declared with its permissions. Empty
// (tasker's own files write api_key = "") it means no key and says nothing; set, it warns,
// without its value.
void Loader::warnLegacyApiKey(const toml::key& k, const toml::node& v) {
  std::string value;
  const toml::value<std::string>* s = v.as_string();
  if (s && expandEnv(s->get(), &value) && value.empty()) return;
  warnings_.emplace_back(lineOf(k), at(lineOf(k)) +
                                        "\"api_key\" (tasker's legacy single key, granted every "
                                        "permission by tasker) is not used: declare the key in [[" +
                                        table_ + ".api_keys]] with the permissions it needs");
}

Status Loader::load(const toml::table& auth, AuthSettings* out) {
  for (auto&& [k, v] : auth) {
    const std::string_view name = k.str();
    bool known = false;
    Status st = Status::Ok;

    if (std::find(std::begin(kTaskerOnlyKeys), std::end(kTaskerOnlyKeys), name) !=
        std::end(kTaskerOnlyKeys)) {
      continue;
    }
    if (name == "api_key") {
      warnLegacyApiKey(k, v);
      continue;
    }

    for (const BoolKey& bk : kBoolKeys) {
      if (name != bk.name) continue;
      known = true;
      const toml::value<bool>* b = v.as_boolean();
      if (!b) return typeError(v, name, "a boolean");
      out->*bk.field = b->get();
    }
    for (const StringKey& sk : kStringKeys) {
      if (name != sk.name) continue;
      known = true;
      std::string s;
      st = getString(v, name, &s);
      if (st != Status::Ok) return st;
      out->*sk.field = std::move(s);
    }
    for (const SecondsKey& ik : kSecondsKeys) {
      if (name != ik.name) continue;
      known = true;
      const toml::value<int64_t>* i = v.as_integer();
      // the range (not negative, the 1 s floor, 10 years) is checked with the directive's
      // words by settings.cpp, which names the value
      if (!i) return typeError(v, name, "an integer");
      out->*ik.field = i->get();
    }
    if (name == "jwt_allowed_algorithms") {
      known = true;
      std::vector<std::string> algs;
      st = getStringList(v, name, false, &algs);
      if (st != Status::Ok) return st;
      out->jwt_allowed_algorithms = std::move(algs);
    } else if (name == "api_keys") {
      known = true;
      std::vector<TomlApiKey> keys;
      st = getApiKeys(v, &keys);
      if (st != Status::Ok) return st;
      out->api_keys = std::move(keys);
    }
    if (known) {
      out->lines[std::string(name)] = lineOf(v);
      continue;
    }
    st = unknownAuthKey(k, v);
    if (st != Status::Ok) return st;
  }
  return Status::Ok;
}

// The one place where toml++ parses text: the whole document into *root, or ConfigFileSyntax
// with "<file>:<line>: <description>". toml_guard.h: toml++ 3.3.0 can abort or hit undefined
// behaviour on malformed text, so the bytes are scanned and parsed in a forked child before this
// process parses them.
Status parseTomlText(const std::string& text, const std::string& path, toml::table* root,
                     std::string* error) {
  Status st = checkTomlText(path, text, error);
  if (st != Status::Ok) return st;

  toml::parse_result parsed = toml::parse(std::string_view(text), std::string_view(path));
  if (!parsed) {
    const toml::parse_error& e = parsed.error();
    // toml++ quotes pieces of the file in its descriptions: no control byte, and no value (an
    // API key written as a bare number), reaches the log
    *error = path + ":" + std::to_string(e.source().begin.line) + ": " +
             tomlErrorText(e.description());
    return Status::ConfigFileSyntax;
  }
  *root = std::move(parsed.table());
  return Status::Ok;
}

const char kDefaultTableNames[] = "[auth], [orchestration.web.auth], [worker.web.auth]";

// The auth table: `table` when the caller names one. Otherwise the first of kDefaultTables that
// holds a key the module reads: one that exists only through its sub-tables (`[auth._docs.x]`
// alone makes an [auth]) or holds only unknown or ignored keys is passed over, or it would hide
// the real settings of a later one. When none holds one, the first that exists (the caller
// names its misspelled keys, then refuses it); none at all is ConfigTableMissing.
Status findAuthTable(const toml::table& root, const std::string& path, std::string_view table,
                     std::string* name, const toml::node** node, std::string* error) {
  if (!table.empty()) {
    *name = std::string(table);
    *node = findPath(root, table);
    if (!*node) *error = path + ": no table [" + *name + "]";
    return *node ? Status::Ok : Status::ConfigTableMissing;
  }
  *node = nullptr;
  for (const char* candidate : kDefaultTables) {
    const toml::node* n = findPath(root, candidate);
    if (n && n->is_table() && holdsKnownKey(*n->as_table())) {
      *name = candidate;
      *node = n;
      return Status::Ok;
    }
    if (n && !*node) {
      *name = candidate;
      *node = n;
    }
  }
  if (!*node) *error = path + ": none of the tables " + kDefaultTableNames + " exists";
  return *node ? Status::Ok : Status::ConfigTableMissing;
}

Status loadAuthTomlImpl(const std::string& path, std::string_view table, AuthSettings* out,
                        std::vector<std::string>* warnings, std::string* error) {
  std::string text;
  Status st = readTomlFile(path, &text, error);  // a regular file of bounded size (toml_guard.h)
  if (st != Status::Ok) return st;

  toml::table root;
  st = parseTomlText(text, path, &root, error);
  if (st != Status::Ok) return st;

  std::string name;
  const toml::node* node = nullptr;
  st = findAuthTable(root, path, table, &name, &node, error);
  if (st != Status::Ok) return st;
  const toml::table* auth = node->as_table();
  if (!auth) {
    *error = path + ":" + std::to_string(node->source().begin.line) + ": \"" + name +
             "\" must be a table";
    return Status::ConfigInvalid;
  }

  AuthSettings settings;
  Loader loader(path, name, error);
  st = loader.load(*auth, &settings);
  if (st != Status::Ok) return st;
  if (!holdsKnownKey(*auth)) {
    // a wrong TABLE argument ([orchestration.web]), or default tables that set nothing
    const std::string only = "only unknown keys, keys it ignores, or sub-tables";
    if (table.empty()) {
      *error = path + ": none of the tables " + kDefaultTableNames +
               " holds an auth setting the module reads ([" + name + "] holds " + only + ")";
    } else {
      *error = path + ": [" + printable(name) + "] holds no auth setting the module reads (" +
               only + "): name the table that holds them";
    }
    return Status::ConfigTableMissing;
  }

  std::vector<std::string> found = loader.takeWarnings();
  if (warnings) warnings->insert(warnings->end(), found.begin(), found.end());
  *out = std::move(settings);
  return Status::Ok;
}

}  // namespace

Status loadAuthToml(const std::string& path, std::string_view table, AuthSettings* out,
                    std::vector<std::string>* warnings, std::string* error) {
  std::string scratch;
  std::string* err = error ? error : &scratch;
  if (!out) return Status::Internal;
  try {
    return loadAuthTomlImpl(path, table, out, warnings, err);
  } catch (const std::bad_alloc&) {
    try {
      *err = path + ": out of memory";
    } catch (...) {
    }
    return Status::OutOfMemory;
  } catch (...) {
    try {
      *err = path + ": unexpected error";
    } catch (...) {
    }
    return Status::Internal;
  }
}

}  // namespace tasker
