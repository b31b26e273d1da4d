// `tasker-ctl auth ...`: keys, tokens, token validation, API key hashes and JWKS (SPEC 7, 8).
// Token validation calls the module's own verifier (tasker::verifyToken), so a token this tool
// accepts is a token the module accepts under the same options.

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <jansson.h>

#include "algorithms.h"
#include "api_keys.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/public_jwk.h"
#include "keys.h"
#include "permissions.h"
#include "signer.h"
#include "status.h"
#include "tasker_limits.h"
#include "verify.h"

namespace tasker {
namespace cli {

namespace {

constexpr size_t kMaxKeyFileBytes = 1024 * 1024;
constexpr size_t kMaxStdinKeyBytes = 64 * 1024;
constexpr double kMaxExpiryHours = 24.0 * 366 * 10;  // ten years
constexpr const char* kPrivateKeyFile = "jwt-private-key.pem";
constexpr const char* kPublicKeyFile = "jwt-public-key.pem";

// ---- small helpers --------------------------------------------------------------------------

std::string joined(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += sep;
    out += items[i];
  }
  return out;
}

std::string algList(AlgMask mask) {
  std::vector<std::string> names;
  for (int i = 0; i < kAlgCount; ++i) {
    if (mask & algBit(static_cast<Alg>(i))) names.push_back(algName(static_cast<Alg>(i)));
  }
  return joined(names, ",");
}

json_t* stringArray(const std::vector<std::string>& items) {
  json_t* a = json_array();
  for (const std::string& s : items) json_array_append_new(a, json_stringn(s.data(), s.size()));
  return a;
}

// Seconds beyond which a real time claim is printed as a number, not a date: far past any
// calendar year gmtime renders, and well inside the range of int64_t.
constexpr double kMaxRenderedSeconds = 1e15;

// JSON_ENCODE_ANY: a scalar ("alg":1) is text too, not an empty string.
std::string compactJson(const json_t* j,
                        size_t flags = JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) {
  char* text = json_dumps(j, flags);
  if (!text) return std::string();
  std::string out(text);
  free(text);
  return out;
}

// mkdir -p; new directories get 0700 because they are meant to hold a private key.
bool makeDirs(const std::string& path, std::string* error) {
  std::string partial;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    partial = path.substr(0, slash);
    pos = slash + 1;
    if (partial.empty()) continue;
    if (mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
      *error = "cannot create directory " + partial + ": " + std::strerror(errno);
      return false;
    }
  }
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    *error = path + " is not a directory";
    return false;
  }
  return true;
}

// A file written in full beside its destination and not yet renamed into place. The destructor
// removes it unless it was installed.
struct TempFile {
  std::string path;
  TempFile() = default;
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    if (!path.empty()) unlink(path.c_str());
  }
};

// Writes data to a new temporary file in the directory of path, with mode (0600 from creation
// until then, so a private key is never readable by others), and syncs it.
bool writeTemp(const std::string& path, const std::string& data, mode_t mode, TempFile* tmp,
               std::string* error) {
  std::string name = path + ".tmp.XXXXXX";
  int fd = mkstemp(&name[0]);  // created with mode 0600
  if (fd < 0) {
    *error = "cannot create " + path + ": " + std::strerror(errno);
    return false;
  }
  tmp->path = name;
  bool ok = fchmod(fd, mode) == 0;
  size_t off = 0;
  while (ok && off < data.size()) {
    ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    off += static_cast<size_t>(n);
  }
  if (ok) ok = fsync(fd) == 0;
  int err = errno;
  if (close(fd) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (!ok) *error = "cannot write " + path + ": " + std::strerror(err);
  return ok;
}

// Puts a written key pair in place, the public key first. If the private key's rename then fails,
// the public key is put back as it was (or removed if there was none), so a failure leaves the
// old pair or no pair, never a new key beside the other half of the old one. The old public key
// is kept for that under a second name (a hard link) until the private key is in place; on a file
// system without hard links the rollback is skipped.
bool installKeyPair(TempFile* priv, const std::string& priv_path, TempFile* pub,
                    const std::string& pub_path, std::string* error) {
  struct stat st;
  const bool had_pub = lstat(pub_path.c_str(), &st) == 0;
  TempFile old_pub;
  if (had_pub && link(pub_path.c_str(), (pub->path + ".old").c_str()) == 0) {
    old_pub.path = pub->path + ".old";
  }
  if (rename(pub->path.c_str(), pub_path.c_str()) != 0) {
    *error = "cannot write " + pub_path + ": " + std::strerror(errno);
    return false;
  }
  pub->path.clear();
  if (rename(priv->path.c_str(), priv_path.c_str()) != 0) {
    *error = "cannot write " + priv_path + ": " + std::strerror(errno);
    if (!old_pub.path.empty()) {
      if (rename(old_pub.path.c_str(), pub_path.c_str()) == 0) old_pub.path.clear();
    } else if (!had_pub) {
      unlink(pub_path.c_str());
    }
    return false;
  }
  priv->path.clear();
  return true;
}

std::string absolutePath(const std::string& path) {
  char buf[PATH_MAX];
  if (realpath(path.c_str(), buf)) return buf;
  return path;
}

// Loads a public key file exactly as tasker_jwt_public_key_path does.
int loadPublicKey(const std::string& path, KeySetConstPtr* out) {
  std::string pem, error;
  if (!readFile(path, kMaxKeyFileBytes, &pem, &error)) return failure(error);
  Status s = KeySet::fromPem(pem, out);
  if (s == Status::Ok) return kExitOk;
  std::string hint;
  const bool has_private = pem.find("PRIVATE KEY") != std::string::npos;
  if (s == Status::KeyMultiplePemBlocks) {
    hint = " (the file holds " + std::to_string(pemBlockCount(pem)) + " PEM blocks" +
           (has_private ? ", among them a private key" : "") + "; give exactly one public key)";
  } else if (has_private) {
    hint = " (this is a private key; pass the public key, e.g. jwt-public-key.pem)";
  } else if (s == Status::KeyTooSmall) {
    hint = " (RSA keys under 2048 bits are refused)";
  } else if (s == Status::KeyUnsupported) {
    hint = " (supported: RSA, EC P-256/P-384/P-521, Ed25519)";
  } else if (s == Status::KeyInvalidPem) {
    hint = " (expected a PEM public key: BEGIN PUBLIC KEY or BEGIN RSA PUBLIC KEY)";
  }
  if (has_private) cleanse(&pem);
  return failure("cannot load public key " + path + ": " + statusName(s) + hint);
}

// ---- generate-keys --------------------------------------------------------------------------

// The --algorithm choices: what to generate, how to describe it, and the alg it signs with.
struct KeyChoice {
  const char* name;
  KeyAlgorithm algorithm;
  const char* label;
  Alg alg;
};
constexpr KeyChoice kKeyChoices[] = {
    {"rsa", KeyAlgorithm::Rsa, "an RSA", Alg::RS256},
    {"ec-p256", KeyAlgorithm::EcP256, "an EC P-256", Alg::ES256},
    {"ed25519", KeyAlgorithm::Ed25519, "an Ed25519", Alg::EdDSA},
};

int runGenerateKeys(const Args& args) {
  const std::string algorithm = args.get("--algorithm", "rsa");
  const KeyChoice* choice = nullptr;
  for (const KeyChoice& c : kKeyChoices) {
    if (algorithm == c.name) choice = &c;
  }
  if (!choice) args.fail("--algorithm must be rsa, ec-p256 or ed25519, got '" + algorithm + "'");
  const KeyAlgorithm ka = choice->algorithm;

  int bits = 0;
  if (ka == KeyAlgorithm::Rsa) {
    int64_t n = args.integer("--key-size", kMinRsaBits, INT64_MIN, INT64_MAX);
    if (n < kMinRsaBits) {
      args.fail("--key-size " + std::to_string(n) + " is too small: RSA keys under " +
                std::to_string(kMinRsaBits) + " bits are refused");
    }
    if (n > kMaxRsaBits) {
      args.fail("--key-size " + std::to_string(n) + " is too large (at most " +
                std::to_string(kMaxRsaBits) + ")");
    }
    bits = static_cast<int>(n);
  } else if (args.has("--key-size")) {
    warning("--key-size applies to rsa keys only; ignored for " + algorithm);
  }

  std::string dir = args.get("--output-dir", "./keys");
  if (dir.empty()) args.fail("--output-dir must not be empty");
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  const std::string priv_path = dir + "/" + kPrivateKeyFile;
  const std::string pub_path = dir + "/" + kPublicKeyFile;

  std::string error;
  if (!makeDirs(dir, &error)) return failure(error);
  // Either half: a public key alone may be what verifiers use, its private key kept elsewhere.
  struct stat st;
  if (lstat(priv_path.c_str(), &st) == 0 && !args.flag("--force")) {
    return failure("refusing to overwrite the existing private key " + priv_path +
                   " (use --force to replace it; tokens signed with it will stop verifying)");
  }
  if (lstat(pub_path.c_str(), &st) == 0 && !args.flag("--force")) {
    return failure("refusing to overwrite the existing public key " + pub_path +
                   " (use --force to replace it; tokens it verifies will stop verifying)");
  }

  std::unique_ptr<SigningKey> key;
  Status s = SigningKey::generate(ka, bits, &key);
  if (s != Status::Ok) return failure(std::string("key generation failed: ") + statusName(s));
  std::string priv_pem, pub_pem;
  if ((s = key->privatePem(&priv_pem)) != Status::Ok ||
      (s = key->publicPem(&pub_pem)) != Status::Ok) {
    cleanse(&priv_pem);
    return failure(std::string("cannot export the key: ") + statusName(s));
  }
  // Both files are written in full before either replaces anything.
  TempFile priv_tmp, pub_tmp;
  bool written = writeTemp(priv_path, priv_pem, 0600, &priv_tmp, &error);
  cleanse(&priv_pem);
  if (!written || !writeTemp(pub_path, pub_pem, 0644, &pub_tmp, &error) ||
      !installKeyPair(&priv_tmp, priv_path, &pub_tmp, pub_path, &error)) {
    return failure(error);
  }

  std::string size = ka == KeyAlgorithm::Rsa ? " " + std::to_string(bits) + "-bit" : "";
  std::cout << "Generated " << choice->label << size << " key pair:\n"
            << "  private key: " << priv_path << "  (mode 0600; keep it secret, it signs tokens)\n"
            << "  public key:  " << pub_path << "\n\n"
            << "nginx configuration:\n"
            << "    tasker_jwt_public_key_path " << absolutePath(pub_path) << ";\n"
            << "    tasker_jwt_allowed_algorithms " << algName(choice->alg) << ";\n\n"
            << "Next: tasker-ctl auth generate-token --private-key " << priv_path
            << " --permissions tasks:read,tasks:list\n";
  return kExitOk;
}

// ---- generate-token -------------------------------------------------------------------------

double parseExpiryHours(const Args& args) {
  std::string v = args.get("--expiry-hours", "24");
  // Plain decimal hours ("24", "0.5", ".5"): strtod alone would also take "0x10", "1e1", " 24"
  // and "inf".
  size_t digits = 0, dots = 0;
  for (char c : v) {
    if (c >= '0' && c <= '9') {
      ++digits;
    } else if (c == '.') {
      ++dots;
    } else {
      digits = 0;
      break;
    }
  }
  char* end = nullptr;
  double h = std::strtod(v.c_str(), &end);
  if (digits == 0 || dots > 1 || v.back() == '.' || *end != '\0' || !std::isfinite(h)) {
    args.fail("--expiry-hours expects a number of hours, got '" + v + "'");
  }
  if (h <= 0 || h > kMaxExpiryHours) {
    args.fail("--expiry-hours must be greater than 0 and at most " +
              std::to_string(static_cast<int>(kMaxExpiryHours)) + ", got " + v);
  }
  return h;
}

std::string nonEmpty(const Args& args, const std::string& name, const std::string& fallback) {
  std::string v = args.get(name, fallback);
  if (v.empty()) args.fail(name + " must not be empty");
  return v;
}

// JSON strings must be UTF-8: jansson returns no string for other bytes, and the claim (or the
// list item) would silently be left out of the token.
void requireUtf8(const Args& args, const std::string& name, const std::string& value) {
  JsonPtr j(json_stringn(value.data(), value.size()));
  if (!j) args.fail(name + " is not valid UTF-8 (a JSON string must be)");
}

// Loads the private key of generate-token; on failure prints why and returns kExitFailure.
int loadSigningKey(const std::string& key_path, std::unique_ptr<SigningKey>* key) {
  std::string pem, error;
  if (!readFile(key_path, kMaxKeyFileBytes, &pem, &error)) return failure(error);
  Status s = SigningKey::fromPem(pem, key);
  const size_t blocks = pemBlockCount(pem);
  cleanse(&pem);
  if (s == Status::Ok) return kExitOk;
  std::string hint;
  if (s == Status::KeyMultiplePemBlocks) {
    hint = " (the file holds " + std::to_string(blocks) +
           " PEM blocks; give a file with exactly one private key)";
  } else if (s == Status::KeyTooSmall) {
    hint = " (RSA keys under " + std::to_string(kMinRsaBits) + " bits are refused)";
  } else if (s == Status::KeyUnsupported) {
    hint = " (supported: RSA, EC P-256/P-384/P-521, Ed25519)";
  } else {
    hint = " (expected an unencrypted PKCS#8, PKCS#1 or SEC1 PEM private key)";
  }
  return failure("cannot load private key " + key_path + ": " + statusName(s) + hint);
}

int runGenerateToken(const Args& args) {
  const std::string key_path = args.require("--private-key");
  if (!args.has("--permissions")) {
    args.fail(
        "missing required option --permissions (comma-separated, e.g. tasks:read,tasks:list)");
  }
  const std::vector<std::string> permissions = splitPermissionList(*args.get("--permissions"));
  if (permissions.empty()) {
    args.fail("--permissions is empty: a token needs at least one permission");
  }
  const std::string subject = nonEmpty(args, "--subject", "tasker-client");
  const std::string issuer = nonEmpty(args, "--issuer", "tasker-core");
  const std::string audience = nonEmpty(args, "--audience", "tasker-api");
  const double hours = parseExpiryHours(args);
  const std::vector<std::string> namespaces = splitCommaList(args.get("--worker-namespaces", ""));
  const std::optional<std::string> kid = args.get("--kid");
  if (kid && kid->empty()) args.fail("--kid must not be empty");
  for (const std::string& p : permissions) requireUtf8(args, "--permissions", p);
  requireUtf8(args, "--subject", subject);
  requireUtf8(args, "--issuer", issuer);
  requireUtf8(args, "--audience", audience);
  for (const std::string& n : namespaces) requireUtf8(args, "--worker-namespaces", n);
  if (kid) requireUtf8(args, "--kid", *kid);

  std::unique_ptr<SigningKey> key;
  if (int rc = loadSigningKey(key_path, &key); rc != kExitOk) return rc;

  std::vector<std::string> unknown;
  for (const std::string& p : permissions) {
    if (!isKnownPermissionString(p)) unknown.push_back(p);
  }
  for (const std::string& p : unknown) {
    warning("unknown permission \"" + p +
            "\": not one of the 17 permissions or 7 wildcards (see tasker-ctl auth "
            "show-permissions); the module rejects this token under strict validation");
  }

  const Alg alg = key->defaultAlg();
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  int64_t lifetime = static_cast<int64_t>(std::llround(hours * 3600.0));
  if (lifetime < 1) lifetime = 1;
  const int64_t exp = now + lifetime;

  JsonPtr header(json_object());
  json_object_set_new(header.get(), "alg", json_string(algName(alg)));
  json_object_set_new(header.get(), "typ", json_string("JWT"));
  if (kid) json_object_set_new(header.get(), "kid", json_stringn(kid->data(), kid->size()));

  JsonPtr claims(json_object());
  json_object_set_new(claims.get(), "sub", json_stringn(subject.data(), subject.size()));
  json_object_set_new(claims.get(), "iss", json_stringn(issuer.data(), issuer.size()));
  json_object_set_new(claims.get(), "aud", json_stringn(audience.data(), audience.size()));
  json_object_set_new(claims.get(), "iat", json_integer(now));
  json_object_set_new(claims.get(), "exp", json_integer(exp));
  json_object_set_new(claims.get(), "permissions", stringArray(permissions));
  json_object_set_new(claims.get(), "worker_namespaces", stringArray(namespaces));

  std::string token;
  Status s = signJwt(*key, alg, compactJson(header.get()), compactJson(claims.get()), &token);
  if (s != Status::Ok) return failure(std::string("signing failed: ") + statusName(s));
  if (token.size() > kMaxTokenBytes) {
    return failure("the token would be " + std::to_string(token.size()) +
                   " bytes, over the module's limit of " + std::to_string(kMaxTokenBytes) +
                   " bytes (it rejects longer tokens as token_too_large); shorten --subject, "
                   "--permissions or the other claims");
  }

  std::cout << token << "\n";
  // oneLine: a control character in a value (an escape sequence, a line break) is not sent to
  // the terminal as it is.
  std::cerr << "Token generated:\n"
            << "  subject:     " << oneLine(subject) << "\n"
            << "  permissions: " << oneLine(joined(permissions, ", ")) << "\n"
            << "  expires:     " << rfc3339(exp) << "\n"
            << "  algorithm:   " << algName(alg) << "\n";
  if (kid) std::cerr << "  kid:         " << oneLine(*kid) << "\n";
  if (!namespaces.empty()) {
    std::cerr << "  worker namespaces: " << oneLine(joined(namespaces, ", ")) << "\n";
  }
  return kExitOk;
}

// ---- show-permissions -----------------------------------------------------------------------

int runShowPermissions(const Args&) {
  const PermissionInfo* table = permissionTable();
  std::cout << "Permissions (" << kPermissionCount << "), grouped by resource:\n";
  std::string resource;
  for (int i = 0; i < kPermissionCount; ++i) {
    if (resource != table[i].resource) {
      resource = table[i].resource;
      std::cout << "\n" << resource << "\n";
    }
    char line[160];
    std::snprintf(line, sizeof line, "  %-24s %s\n", table[i].name, table[i].description);
    std::cout << line;
  }

  size_t count = 0;
  const char* const* wildcards = wildcardTable(&count);
  std::cout << "\nWildcards (" << count << "), granted only (never required by a location):\n";
  for (size_t w = 0; w < count; ++w) {
    std::string name = wildcards[w];
    std::string description;
    if (name == "*") {
      description = "every permission (superuser)";
    } else {
      std::string res = name.substr(0, name.size() - 2);
      std::vector<std::string> members;
      for (int i = 0; i < kPermissionCount; ++i) {
        if (res == table[i].resource) members.push_back(table[i].name);
      }
      description = "every " + res + " permission: " + joined(members, ", ");
    }
    char line[512];
    std::snprintf(line, sizeof line, "  %-24s %s\n", name.c_str(), description.c_str());
    std::cout << line;
  }
  return kExitOk;
}

// ---- validate-token -------------------------------------------------------------------------

std::string claimString(const json_t* claims, const char* name) {
  const json_t* v = claims ? json_object_get(claims, name) : nullptr;
  if (json_is_string(v)) return json_string_value(v);
  if (v) return compactJson(v);
  return "(absent)";
}

// A NumericDate claim as RFC 3339. A real the verifier accepted (exp 1e300 never expires) is
// shown as written when far off: converting one outside int64_t is undefined behaviour.
std::string timeText(const json_t* v) {
  if (json_is_integer(v)) return rfc3339(json_integer_value(v));
  const double d = json_real_value(v);
  if (std::fabs(d) < kMaxRenderedSeconds) return rfc3339(static_cast<int64_t>(d));
  return compactJson(v);
}

std::string claimTime(const json_t* claims, const char* name) {
  const json_t* v = claims ? json_object_get(claims, name) : nullptr;
  if (json_is_number(v)) return timeText(v);
  return "(absent)";
}

// One sentence explaining a verification failure to a person.
std::string explain(Status s, const std::string& token, const VerifyOptions& opts,
                    const VerifiedToken& vt, int64_t now) {
  JsonPtr header = decodeJwtSegment(token, 0);
  JsonPtr claims = decodeJwtSegment(token, 1);
  const std::string leeway = std::to_string(opts.leeway_seconds) + " s";
  switch (s) {
    case Status::TokenTooLarge:
      return "the token is longer than " + std::to_string(kMaxTokenBytes) + " bytes";
    case Status::TokenMalformed:
      return "the token is not three dot-separated segments";
    case Status::TokenBadEncoding:
      return "a segment is not strict unpadded base64url";
    case Status::TokenBadJson:
      return "the header or the claims are not a JSON object (or nest deeper than " +
             std::to_string(kMaxJsonDepth) + ")";
    case Status::TokenDuplicateMember:
      return "a member name appears twice in the header or the claims";
    case Status::TokenAlgNotAllowed:
      return "the token's alg " + claimString(header.get(), "alg") +
             " is not in the allowed algorithms (" + algList(opts.algorithms) +
             "); change them with --algorithms";
    case Status::TokenCritUnsupported:
      return "the header carries crit, and no extension is understood";
    case Status::TokenKidMissing:
      return "the token header has no kid, which --jwks requires (generate-token --kid)";
    case Status::TokenUnknownKid:
      return "no key in the JWKS has kid \"" + vt.kid + "\"";
    case Status::TokenAlgKeyMismatch:
      return "the token's alg " + claimString(header.get(), "alg") +
             " does not fit the key (its type, or the JWK's own alg)";
    case Status::TokenBadSignature:
      return "the signature does not verify with this key (tampered, or signed by another key)";
    case Status::TokenExpired:
      return "the token expired at " + claimTime(claims.get(), "exp") + " (now " + rfc3339(now) +
             ", leeway " + leeway + ")";
    case Status::TokenNotYetValid:
      return "the token is not valid yet: nbf " + claimTime(claims.get(), "nbf") + ", iat " +
             claimTime(claims.get(), "iat") + " (now " + rfc3339(now) + ", leeway " + leeway + ")";
    case Status::TokenMissingClaim:
      return "a required claim is missing (sub, iss, aud, exp and iat are all required)";
    case Status::TokenBadClaimType:
      return "a registered claim has the wrong JSON type (sub, iss and aud are strings, exp, iat "
             "and nbf are numbers)";
    case Status::TokenBadIssuer:
      return "iss is " + claimString(claims.get(), "iss") + ", expected \"" + opts.issuer +
             "\" (change it with --issuer)";
    case Status::TokenBadAudience:
      return "aud is " + claimString(claims.get(), "aud") + ", which does not contain \"" +
             opts.audience + "\" (change it with --audience)";
    case Status::TokenBadPermissionsClaim:
      return "the \"" + opts.permissions_claim +
             "\" claim is neither an array of strings nor one space-separated string";
    case Status::TokenUnknownPermission:
      return "the token holds unknown permissions (" + joined(vt.unknown, ", ") +
             "), which strict validation rejects (--no-strict accepts them)";
    case Status::OutOfMemory:
      return "out of memory";
    default:
      return "verification failed";
  }
}

int runValidateToken(const Args& args) {
  std::string token = args.require("--token");
  const bool has_key = args.has("--public-key");
  const bool has_jwks = args.has("--jwks");
  if (has_key == has_jwks) args.fail("give exactly one of --public-key FILE and --jwks FILE");

  VerifyOptions opts;  // the module's defaults: RS256 only, strict, 60 s leeway
  // As in nginx.conf and generate-token, an empty issuer or audience is a mistake: no token
  // could match it.
  if (args.has("--issuer")) opts.issuer = args.require("--issuer");
  if (args.has("--audience")) opts.audience = args.require("--audience");
  if (args.has("--permissions-claim")) opts.permissions_claim = args.require("--permissions-claim");
  opts.leeway_seconds = args.integer("--leeway", opts.leeway_seconds, 0, 86400 * 365);
  opts.strict = !args.flag("--no-strict");
  if (args.has("--algorithms")) {
    const std::vector<std::string> names = splitCommaList(*args.get("--algorithms"));
    if (names.empty()) args.fail("--algorithms is empty (e.g. --algorithms RS256,ES256)");
    opts.algorithms = 0;
    for (const std::string& name : names) {
      Alg a;
      if (parseAlg(name, &a) != Status::Ok) {
        args.fail("unknown algorithm '" + name +
                  "' (allowed: RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA)");
      }
      opts.algorithms |= algBit(a);
    }
  }

  if (token == "-") {
    std::string error;
    if (!readStdin(kMaxTokenBytes * 4, &token, &error)) {
      return failure("cannot read the token from stdin: " + error);
    }
  }
  token = trim(token);
  if (token.empty()) args.fail("the token is empty");

  KeySetConstPtr keys;
  if (has_key) {
    int rc = loadPublicKey(args.require("--public-key"), &keys);
    if (rc != kExitOk) return rc;
  } else {
    const std::string path = args.require("--jwks");
    std::string json, error;
    if (!readFile(path, kMaxJwksBytes, &json, &error)) return failure(error);
    std::vector<std::string> skipped;
    Status s = KeySet::fromJwks(json, &keys, &skipped);
    // Each reason names itself: "key #0 (kid \"r1\") skipped: ..." or "... keys ... ignored".
    for (const std::string& why : skipped) warning("JWKS " + path + ": " + why);
    if (s != Status::Ok) return failure("cannot load JWKS " + path + ": " + statusName(s));
    opts.require_kid = true;  // JWKS mode: the kid selects the key, as in the module
  }

  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  VerifiedToken vt;
  Status s = verifyToken(token, *keys, opts, now, &vt);
  if (s != Status::Ok) {
    // One line, as every error: the status name (as the module logs it), then why.
    std::cerr << "invalid: " << statusName(s) << ": " << oneLine(explain(s, token, opts, vt, now))
              << "\n";
    return kExitFailure;
  }

  // The claims exactly as the verifier parsed them, re-indented for reading.
  const std::string claims_text = vt.claims ? vt.claims->toJson() : std::string();
  JsonPtr claims(json_loadb(claims_text.data(), claims_text.size(), 0, nullptr));
  if (!claims) return failure("internal error: the verified claims cannot be printed");
  JsonPtr header = decodeJwtSegment(token, 0);
  std::cout << prettyJson(claims.get()) << "\n";
  for (const char* name : {"iat", "nbf", "exp"}) {
    const json_t* v = json_object_get(claims.get(), name);
    if (json_is_number(v)) std::cout << name << ": " << timeText(v) << "\n";
  }
  std::cerr << "valid: " << oneLine(claimString(header.get(), "alg")) << " token for subject \""
            << oneLine(vt.subject) << "\"";
  if (!vt.kid.empty() && opts.require_kid) std::cerr << ", kid \"" << oneLine(vt.kid) << "\"";
  if (!vt.unknown.empty())
    std::cerr << " (unknown permissions kept: " << oneLine(joined(vt.unknown, ", ")) << ")";
  std::cerr << "\n";
  return kExitOk;
}

// ---- hash-api-key ---------------------------------------------------------------------------

int runHashApiKey(const Args& args) {
  if (args.positional().empty()) args.fail("missing KEY (or - to read it from stdin)");
  std::string key = args.positional()[0];
  if (key == "-") {
    // An I/O failure, not a usage error (exit 1), as for validate-token --token -.
    std::string error;
    if (!readStdin(kMaxStdinKeyBytes, &key, &error)) {
      return failure("cannot read the key from stdin: " + error);
    }
    key = stripTrailingNewline(std::move(key));  // exactly one: what `echo` or `<<<` adds
  }
  if (key.empty()) args.fail("the API key is empty");
  if (key.find_first_of(std::string("\r\n\0", 3)) != std::string::npos) {
    cleanse(&key);
    args.fail("the API key contains a line break or a NUL byte, which no HTTP header can carry "
              "(with -, only one trailing newline is removed)");
  }
  if (key.front() == ' ' || key.front() == '\t' || key.back() == ' ' || key.back() == '\t') {
    warning("the API key starts or ends with a space or tab; HTTP header values exclude "
            "surrounding whitespace (RFC 9110), so a request cannot reliably present this key");
  }
  if (key.size() > kMaxApiKeyBytes) {
    cleanse(&key);
    args.fail("the API key is longer than " + std::to_string(kMaxApiKeyBytes) +
              " bytes; the module never accepts such a key");
  }
  const std::string hash = hashApiKey(key);
  cleanse(&key);
  if (hash.empty()) return failure("cannot hash the key (SHA-256 unavailable)");
  std::cout << hash << "\n";
  return kExitOk;
}

// ---- jwks -----------------------------------------------------------------------------------

int runJwks(const Args& args) {
  const std::string path = args.require("--public-key");
  const std::optional<std::string> kid_arg = args.get("--kid");
  if (kid_arg && kid_arg->empty()) args.fail("--kid must not be empty");
  KeySetConstPtr keys;
  int rc = loadPublicKey(path, &keys);
  if (rc != kExitOk) return rc;
  PublicJwk jwk;
  Status s = publicJwkOf(*keys->first(), &jwk);
  if (s != Status::Ok) return failure("cannot export " + path + " as a JWK: " + statusName(s));
  const std::string kid = kid_arg ? *kid_arg : jwkThumbprint(jwk);
  if (kid.empty()) return failure("cannot compute the JWK thumbprint");
  std::cout << jwksDocument(jwk, kid) << "\n";
  return kExitOk;
}

// ---- the group --------------------------------------------------------------------------------

const char kGenerateKeysUsage[] =
    "Usage: tasker-ctl auth generate-keys [--output-dir DIR] [--key-size BITS]\n"
    "                                     [--algorithm rsa|ec-p256|ed25519] [--force]\n"
    "\n"
    "Generates a signing key pair and prints the nginx lines that use it.\n"
    "\n"
    "  --output-dir DIR   where to write the keys (default ./keys; created with mode 0700)\n"
    "  --key-size BITS    RSA modulus size (default 2048; under 2048 is refused)\n"
    "  --algorithm ALG    rsa (RS256), ec-p256 (ES256) or ed25519 (EdDSA); default rsa\n"
    "  --force            replace an existing jwt-private-key.pem or jwt-public-key.pem\n"
    "\n"
    "Writes DIR/jwt-private-key.pem (PKCS#8, mode 0600) and DIR/jwt-public-key.pem (SPKI).\n"
    "An existing private or public key is never replaced without --force (exit 1).\n"
    "Short forms, as in tasker's own tasker-ctl: -o DIR, -k BITS.\n";

const char kGenerateTokenUsage[] =
    "Usage: tasker-ctl auth generate-token --private-key FILE --permissions P1,P2\n"
    "           [--subject S] [--expiry-hours H] [--issuer I] [--audience A]\n"
    "           [--worker-namespaces N1,N2] [--kid K]\n"
    "\n"
    "Signs a bearer token and prints it alone on stdout; details go to stderr.\n"
    "\n"
    "  --private-key FILE        PEM private key: PKCS#8, PKCS#1 (RSA) or SEC1 (EC); one key\n"
    "                            per file (a second PEM block is refused)\n"
    "  --permissions LIST        comma-separated granted permissions (required, not empty)\n"
    "  --subject S               sub claim (default tasker-client)\n"
    "  --expiry-hours H          lifetime in hours, may be fractional (default 24)\n"
    "  --issuer I                iss claim (default tasker-core)\n"
    "  --audience A              aud claim, a string (default tasker-api)\n"
    "  --worker-namespaces LIST  worker_namespaces claim (default empty)\n"
    "  --kid K                   kid header (needed when verifiers use a JWKS)\n"
    "\n"
    "The algorithm follows the key: RS256 (RSA), ES256/ES384/ES512 (EC P-256/P-384/P-521),\n"
    "EdDSA (Ed25519). Unknown permissions are warned about on stderr (exit 0 anyway).\n"
    "Short forms, as in tasker's own tasker-ctl: -p LIST, -s S, -e H.\n";

const char kShowPermissionsUsage[] =
    "Usage: tasker-ctl auth show-permissions\n"
    "\n"
    "Lists the 17 permissions grouped by resource, with descriptions, then the 7 wildcards.\n";

const char kValidateTokenUsage[] =
    "Usage: tasker-ctl auth validate-token --token TOKEN|- (--public-key FILE | --jwks FILE)\n"
    "           [--issuer I] [--audience A] [--algorithms A1,A2] [--leeway SECONDS]\n"
    "           [--no-strict] [--permissions-claim NAME]\n"
    "\n"
    "Verifies a token with the module's own verifier and the module's defaults.\n"
    "\n"
    "  --token TOKEN|-           the token; - reads it from stdin\n"
    "  --public-key FILE         PEM public key (as tasker_jwt_public_key_path)\n"
    "  --jwks FILE               JWKS document; the token's kid selects the key\n"
    "  --issuer I                required iss (default tasker-core)\n"
    "  --audience A              required aud (default tasker-api)\n"
    "  --algorithms LIST         allowed algorithms, comma-separated (default RS256)\n"
    "  --leeway SECONDS          clock skew allowed on exp, nbf, iat (default 60)\n"
    "  --no-strict               keep unknown permissions instead of rejecting the token\n"
    "  --permissions-claim NAME  claim holding the permissions (default permissions)\n"
    "\n"
    "Valid (exit 0): the claims as JSON on stdout, then iat/nbf/exp in RFC 3339 UTC, and\n"
    "\"valid: <alg> token for subject ...\" on stderr.\n"
    "Invalid (exit 1): one line on stderr, \"invalid: <reason>: <explanation>\"; <reason> is\n"
    "the status name the module logs (token_expired, token_bad_signature, ...).\n"
    "Short form, as in tasker's own tasker-ctl: -t TOKEN.\n";

const char kHashApiKeyUsage[] =
    "Usage: tasker-ctl auth hash-api-key -       (reads the key from stdin; preferred)\n"
    "       tasker-ctl auth hash-api-key KEY\n"
    "\n"
    "Prints sha256:<hex> of the key, for a line like\n"
    "    tasker_api_key sha256:<hex> \"tasks:read\" \"my client\";\n"
    "\n"
    "  -     read the key from stdin and strip one trailing newline (\"\\n\" or \"\\r\\n\"), so\n"
    "        both `printf %s \"$KEY\" |` and `echo \"$KEY\" |` give the digest of the key itself.\n"
    "        Nothing else is stripped. This keeps the key out of `ps` and the shell history.\n"
    "  KEY   the key as an argument: visible to other users in `ps` while this runs.\n"
    "        A KEY that starts with - goes after --: tasker-ctl auth hash-api-key -- -KEY\n"
    "\n"
    "The digest is that of `printf %s \"$KEY\" | sha256sum`. A key holding a line break or\n"
    "a NUL byte is refused (exit 2): no HTTP header can carry it.\n";

const char kJwksUsage[] =
    "Usage: tasker-ctl auth jwks --public-key FILE [--kid K]\n"
    "\n"
    "Prints a JWKS document {\"keys\":[...]} for a PEM public key, with use \"sig\", the\n"
    "key's algorithm, and kid K (default: the RFC 7638 thumbprint of the key).\n";

}  // namespace

const CommandGroup& authGroup() {
  static const CommandGroup group{
      "auth",
      "keys, tokens and API key hashes",
      {
          {"generate-keys",
           "write a signing key pair and print the nginx lines for it",
           kGenerateKeysUsage,
           {{"--output-dir", "--key-size", "--algorithm"},
            {"--force"},
            0,
            false,
            {{"-o", "--output-dir"}, {"-k", "--key-size"}}},
           runGenerateKeys},
          {"generate-token",
           "sign a bearer token with a private key",
           kGenerateTokenUsage,
           {{"--private-key", "--permissions", "--subject", "--expiry-hours", "--issuer",
             "--audience", "--worker-namespaces", "--kid"},
            {},
            0,
            false,
            {{"-p", "--permissions"}, {"-s", "--subject"}, {"-e", "--expiry-hours"}}},
           runGenerateToken},
          {"show-permissions",
           "list the permissions and wildcards",
           kShowPermissionsUsage,
           {{}, {}, 0},
           runShowPermissions},
          {"validate-token",
           "verify a token exactly as the module does",
           kValidateTokenUsage,
           {{"--token", "--public-key", "--jwks", "--issuer", "--audience", "--algorithms",
             "--leeway", "--permissions-claim"},
            {"--no-strict"},
            0,
            false,
            {{"-t", "--token"}}},
           runValidateToken},
          {"hash-api-key",
           "print sha256:<hex> of an API key",
           kHashApiKeyUsage,
           {{}, {}, 1, true},
           runHashApiKey},
          {"jwks",
           "print a JWKS document for a public key",
           kJwksUsage,
           {{"--public-key", "--kid"}, {}, 0},
           runJwks},
      }};
  return group;
}

}  // namespace cli
}  // namespace tasker
