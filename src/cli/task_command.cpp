// `tasker-ctl task list`: a minimal tasker API client (SPEC 7) that sends the same client
// credentials a tasker client would, in the same order of precedence.

#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <curl/curl.h>
// The same toml++ configuration as the core (toml_config.cpp, toml_guard.cpp), whose child parse
// runs in this process: header-only toml++ built two ways in one program breaks the One
// Definition Rule (the guard's child parse crashed on valid files).
#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#include <toml++/toml.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "status.h"
#include "toml_guard.h"

namespace tasker {
namespace cli {

namespace {

constexpr const char* kDefaultOrchestrationUrl = "http://localhost:8080";
constexpr const char* kDefaultWorkerUrl = "http://localhost:8081";
constexpr const char* kDefaultApiKeyHeader = "X-API-Key";
constexpr size_t kMaxResponseBytes = 64 * 1024 * 1024;
constexpr long kConnectTimeoutMs = 10000;
constexpr long kTotalTimeoutMs = 60000;

struct CurlEasyCleanup {
  void operator()(CURL* h) const noexcept { curl_easy_cleanup(h); }
};
using CurlPtr = std::unique_ptr<CURL, CurlEasyCleanup>;
struct CurlSlistFree {
  void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};
using CurlSlistPtr = std::unique_ptr<curl_slist, CurlSlistFree>;

// The credential a request carries. Only `source` is ever printed, never `value`.
struct Credential {
  enum class Kind { None, Bearer, ApiKey } kind = Kind::None;
  std::string header;  // API key header name
  std::string value;
  std::string source;  // e.g. "TASKER_AUTH_TOKEN" or "./tasker-client.toml [worker] api_key"
};

// What the client configuration gives one client kind ([orchestration] or [worker]): a table of
// a plain client file, or [profile.default.<kind>] and then [profile.<name>.<kind>] of a profile
// file, each key overriding the one before.
struct ClientConfig {
  std::string path;  // the file read; empty when none was
  std::optional<std::string> base_url, api_key_header;
  std::string base_url_from;              // "<path> [<table>] base_url", for messages
  std::optional<std::string> transport;   // a profile's, lower-case: rest or grpc
  std::string transport_from;
  Credential auth_method, auth_token, api_key;  // Kind::None when not given
};

// How `task list` finds its client configuration (tasker-core's ClientConfig::load and
// load_profile, followed): --config FILE, else a profile (--profile, TASKER_CLIENT_PROFILE) from
// the first profile file found, else the first plain client file found.
struct ConfigChoice {
  std::optional<std::string> file;     // --config
  std::optional<std::string> profile;  // --profile or TASKER_CLIENT_PROFILE
  std::string profile_from;            // which of the two, for messages
};

std::optional<std::string> env(const char* name) {
  const char* v = getenv(name);
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

// The first path of `paths` that exists (a directory or FIFO too: reading it then fails with a
// message, rather than the file being skipped in silence); empty when none does.
std::string firstExisting(const std::vector<std::string>& paths) {
  for (const std::string& p : paths) {
    if (!p.empty() && access(p.c_str(), F_OK) == 0) return p;
  }
  return std::string();
}

// `<dir>/<rest>` for the user's home and configuration directories; empty when unknown.
std::string homePath(const char* rest) {
  const std::optional<std::string> home = env("HOME");
  return home ? *home + rest : std::string();
}

std::string configDirPath(const char* rest) {
  const std::optional<std::string> xdg = env("XDG_CONFIG_HOME");
  return xdg ? *xdg + rest : homePath((std::string("/.config") + rest).c_str());
}

// Plain client files: tasker's own places, then ~/.tasker/client.toml.
std::vector<std::string> clientFilePaths() {
  return {"./tasker-client.toml", "./config/tasker-client.toml", homePath("/.tasker/config.toml"),
          configDirPath("/tasker/client.toml"), homePath("/.tasker/client.toml")};
}

// Profile files, in tasker's order (the unified .config/tasker.toml first).
std::vector<std::string> profileFilePaths() {
  return {".config/tasker.toml", ".config/tasker-client.toml", "./tasker-client.toml",
          configDirPath("/tasker/client.toml"), homePath("/.tasker/client.toml")};
}

bool readStringKey(const toml::table& table, const char* key, const std::string& where,
                   std::optional<std::string>* out, std::string* error) {
  const toml::node* node = table.get(key);
  if (!node) return true;
  const std::optional<std::string> value = node->value<std::string>();
  if (!node->is_string() || !value) {
    *error = where + " " + key + " must be a string";
    return false;
  }
  if (!value->empty()) *out = *value;
  return true;
}

// tasker's own client files (tasker-client's ApiEndpointConfig) give a table's credential as
//   auth = { method = { type = "BearerToken", value = "<token>" } }
//   auth = { method = { type = "ApiKey", value = { key = "<key>", header_name = "X-API-Key" } } }
// or the same in an [orchestration.auth] table. Values are never put in a message.
bool readAuthMethod(const toml::table& table, const std::string& where, Credential* out,
                    std::string* error) {
  const toml::node* auth = table.get("auth");
  if (!auth) return true;
  const std::string name = where + " auth.method";
  const toml::table* m = auth->as_table() ? (*auth->as_table())["method"].as_table() : nullptr;
  if (!m) {
    *error = name + " must be a table: { type = \"BearerToken\", value = \"...\" } or " +
             "{ type = \"ApiKey\", value = { key = \"...\" } }";
    return false;
  }
  const std::optional<std::string> type = (*m)["type"].value<std::string>();
  const toml::node_view<const toml::node> value = (*m)["value"];
  Credential c;
  std::optional<std::string> secret;
  if (type == "BearerToken") {
    if (!value.is_string()) {
      *error = name + " value must be a string (the token)";
      return false;
    }
    c.kind = Credential::Kind::Bearer;
    secret = value.value<std::string>();
  } else if (type == "ApiKey") {
    const toml::table* v = value.as_table();
    if (!v) {
      *error = name + " value must be a table with a key";
      return false;
    }
    std::optional<std::string> header;
    if (!readStringKey(*v, "key", name + " value", &secret, error) ||
        !readStringKey(*v, "header_name", name + " value", &header, error)) {
      return false;
    }
    c.kind = Credential::Kind::ApiKey;
    c.header = header.value_or(kDefaultApiKeyHeader);
  } else {
    *error = name + " type must be \"BearerToken\" or \"ApiKey\"";
    return false;
  }
  if (!secret || secret->empty()) {
    *error = name + (c.kind == Credential::Kind::Bearer ? " value" : " value key") +
             " must be a non-empty string";
    return false;
  }
  c.value = std::move(*secret);
  c.source = name;
  *out = std::move(c);
  return true;
}

// Reads and parses one client file into *root. As for tasker_auth_config (toml_guard.h): a
// regular file of bounded size (a FIFO is not waited on, a directory is an error), and bytes
// that toml++ 3.3.0 would abort on are refused before this process parses them.
bool parseClientFile(const std::string& path, toml::table* root, std::string* error) {
  std::string text;
  if (readTomlFile(path, &text, error) != Status::Ok) {
    *error = "client config file " + *error;
    return false;
  }
  if (checkTomlText(path, text, error) != Status::Ok) {
    *error = "cannot parse " + *error;
    return false;
  }
  toml::parse_result parsed = toml::parse(std::string_view(text), std::string_view(path));
  if (!parsed) {
    const toml::source_position pos = parsed.error().source().begin;
    *error = "cannot parse " + path + ":" + std::to_string(pos.line) + ":" +
             std::to_string(pos.column) + ": " + tomlErrorText(parsed.error().description());
    return false;
  }
  *root = std::move(parsed.table());
  return true;
}

// The table `key` of `parent`, named `where` in messages: nullptr and true when absent, false
// when it is not a table.
bool childTable(const toml::table& parent, const std::string& key, const std::string& where,
                const toml::table** out, std::string* error) {
  *out = nullptr;
  const toml::node* node = parent.get(key);
  if (!node) return true;
  *out = node->as_table();
  if (!*out) *error = where + " must be a table";
  return *out != nullptr;
}

// The keys of one client table, named `where` ("<path> [orchestration]"), over *out.
bool readEndpoint(const toml::table& table, const std::string& where, ClientConfig* out,
                  std::string* error) {
  std::optional<std::string> base_url, token, key;
  if (!readStringKey(table, "base_url", where, &base_url, error) ||
      !readStringKey(table, "auth_token", where, &token, error) ||
      !readStringKey(table, "api_key", where, &key, error) ||
      !readStringKey(table, "api_key_header", where, &out->api_key_header, error) ||
      !readAuthMethod(table, where, &out->auth_method, error)) {
    return false;
  }
  if (base_url) {
    out->base_url = std::move(base_url);
    out->base_url_from = where + " base_url";
  }
  if (token) out->auth_token = {Credential::Kind::Bearer, "", *token, where + " auth_token"};
  if (key) out->api_key = {Credential::Kind::ApiKey, "", *key, where + " api_key"};
  return true;
}

// The client table `key` of `parent` ([orchestration], [profile.auth.worker], ...), named
// `where`, over *out; nothing when absent.
bool readEndpointTable(const toml::table& parent, const char* key, const std::string& where,
                       ClientConfig* out, std::string* error) {
  const toml::table* table = nullptr;
  if (!childTable(parent, key, where, &table, error)) return false;
  return !table || readEndpoint(*table, where, out, error);
}

// [profile.<name>] over *out: its transport and its <table_name> table.
bool applyProfile(const toml::table& profiles, const std::string& name, const char* table_name,
                  ClientConfig* out, std::string* error) {
  const std::string where = out->path + " [profile." + name + "]";
  const toml::table* profile = nullptr;
  if (!childTable(profiles, name, where, &profile, error)) return false;
  if (const toml::node* t = profile->get("transport")) {
    std::string v = t->value<std::string>().value_or("");
    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
    if (v != "rest" && v != "http" && v != "grpc") {
      *error = where + " transport must be \"rest\" or \"grpc\"";
      return false;
    }
    out->transport = v == "grpc" ? "grpc" : "rest";
    out->transport_from = where + " transport";
  }
  return readEndpointTable(*profile, table_name,
                           out->path + " [profile." + name + "." + table_name + "]", out, error);
}

// tasker's profile files: [profile.default], then the chosen profile over it.
bool loadProfile(const toml::table& root, const std::string& name, const std::string& name_from,
                 const char* table_name, ClientConfig* out, std::string* error) {
  const toml::table* profiles = nullptr;
  if (!childTable(root, "profile", out->path + " [profile]", &profiles, error)) return false;
  if (profiles && profiles->contains("default") &&
      !applyProfile(*profiles, "default", table_name, out, error)) {
    return false;
  }
  if (name == "default") return true;
  if (!profiles || !profiles->contains(name)) {
    std::string names;
    if (profiles) {
      for (const auto& [key, value] : *profiles) {
        names += (names.empty() ? "" : ", ") + std::string(key.str());
      }
    }
    *error = "profile '" + name + "' (" + name_from + ") is not in " + out->path +
             (names.empty() ? " (it has no [profile.<name>] tables)" : "; its profiles: " + names);
    return false;
  }
  return applyProfile(*profiles, name, table_name, out, error);
}

bool loadClientConfig(const ConfigChoice& choice, const char* table_name, ClientConfig* out,
                      std::string* error) {
  if (choice.file) {
    out->path = *choice.file;
  } else if (choice.profile) {
    out->path = firstExisting(profileFilePaths());
    if (out->path.empty() && *choice.profile != "default") {
      *error = "profile '" + *choice.profile + "' (" + choice.profile_from +
               ") needs a profile file, and none was found (.config/tasker.toml, "
               ".config/tasker-client.toml, ./tasker-client.toml, ~/.config/tasker/client.toml, "
               "~/.tasker/client.toml)";
      return false;
    }
  } else {
    out->path = firstExisting(clientFilePaths());
  }
  if (out->path.empty()) return true;
  toml::table root;
  if (!parseClientFile(out->path, &root, error)) return false;
  if (choice.profile && !choice.file) {
    return loadProfile(root, *choice.profile, choice.profile_from, table_name, out, error);
  }
  return readEndpointTable(root, table_name, out->path + " [" + table_name + "]", out, error);
}

// SPEC 7: <component> token > TASKER_AUTH_TOKEN > TASKER_API_KEY > the client config file.
Credential chooseCredential(bool worker, const ClientConfig& config) {
  Credential c;
  const char* token_var = worker ? "TASKER_WORKER_AUTH_TOKEN" : "TASKER_ORCHESTRATION_AUTH_TOKEN";
  if (std::optional<std::string> v = env(token_var)) {
    c = {Credential::Kind::Bearer, "", *v, token_var};
  } else if (std::optional<std::string> v = env("TASKER_AUTH_TOKEN")) {
    c = {Credential::Kind::Bearer, "", *v, "TASKER_AUTH_TOKEN"};
  } else if (std::optional<std::string> v = env("TASKER_API_KEY")) {
    std::string header = env("TASKER_API_KEY_HEADER").value_or(kDefaultApiKeyHeader);
    c = {Credential::Kind::ApiKey, header, *v, "TASKER_API_KEY"};
  } else if (config.auth_method.kind != Credential::Kind::None) {
    c = config.auth_method;  // tasker's clients, too, prefer `auth` to the older auth_token
  } else if (config.auth_token.kind != Credential::Kind::None) {
    c = config.auth_token;
  } else if (config.api_key.kind != Credential::Kind::None) {
    c = config.api_key;
    c.header = config.api_key_header.value_or(kDefaultApiKeyHeader);
  }
  return c;
}

// RFC 9110 token characters, so a header name cannot smuggle in another header.
bool isHeaderName(const std::string& s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (c <= 0x20 || c >= 0x7f) return false;
    if (std::string("\"(),/:;<=>?@[\\]{}").find(static_cast<char>(c)) != std::string::npos) {
      return false;
    }
  }
  return true;
}

bool isHeaderValue(const std::string& s) {
  for (unsigned char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

// url for a message: a "user:password@" before the host becomes "***@", so a password given
// in --url or base_url never reaches stderr. Fail safe: everything between "://" and the last
// '@' is hidden, wherever that '@' is, since a password may hold an unescaped '/', '?', '#' or
// '@' (libcurl then reads part of it as the host or path); an '@' in a path or query hides the
// host too.
std::string redactedUrl(const std::string& url) {
  const size_t scheme = url.find("://");
  const size_t start = scheme == std::string::npos ? 0 : scheme + 3;
  const size_t at = url.rfind('@');
  if (at == std::string::npos || at < start) return url;
  return url.substr(0, start) + "***" + url.substr(at);
}

// Either case, as libcurl and the module's tasker_jwks_url take it ("HTTPS://idp").
bool isHttpUrl(const std::string& url) {
  return strncasecmp(url.c_str(), "http://", 7) == 0 ||
         strncasecmp(url.c_str(), "https://", 8) == 0;
}

// Why url cannot be the base URL that /v1/tasks is appended to, as words that follow its name
// in a message ("must start with http:// or https://"); empty when it can be. It needs a host,
// and a query or fragment would end up before the path.
std::string baseUrlProblem(const std::string& url) {
  if (!isHttpUrl(url)) return "must start with http:// or https://";
  const size_t start = url.find("://") + 3;
  const size_t end = std::min(url.find_first_of("/?#", start), url.size());
  std::string host = url.substr(start, end - start);
  const size_t at = host.rfind('@');
  if (at != std::string::npos) host.erase(0, at + 1);
  if (host.compare(0, 1, "[") == 0) {
    host = host.substr(1, host.find(']') - 1);  // "[::1]:8080" -> "::1"
  } else {
    host = host.substr(0, host.find(':'));  // "host:8080" -> "host"
  }
  if (host.empty()) return "has no host";
  if (url.find_first_of("?#", start) != std::string::npos) {
    return "must not have a query or fragment (/v1/tasks is appended to it; a '?' or '#' in a "
           "password is written %3F or %23)";
  }
  return std::string();
}

size_t appendBody(char* data, size_t size, size_t nmemb, void* userdata) {
  std::string* body = static_cast<std::string*>(userdata);
  size_t n = size * nmemb;
  if (body->size() + n > kMaxResponseBytes) return 0;  // aborts the transfer
  body->append(data, n);
  return n;
}

// Server text as a message quotes it: trimmed, and at most kMaxDetailChars bytes, then "...".
// (failure() shows its control bytes as spaces.)
constexpr size_t kMaxDetailChars = 200;
std::string detailText(std::string_view text) {
  const size_t start = text.find_first_not_of(" \t\r\n\f\v");
  if (start == std::string_view::npos) return std::string();
  std::string s = trim(text.substr(start, kMaxDetailChars + 1));
  if (s.size() > kMaxDetailChars) s = s.substr(0, kMaxDetailChars) + "...";
  return s;
}

// The server's "message" member when the body is a JSON error, else its first line.
std::string errorDetail(const std::string& body) {
  JsonPtr j(json_loadb(body.data(), body.size(), 0, nullptr));
  if (j && json_is_object(j.get())) {
    const json_t* m = json_object_get(j.get(), "message");
    if (json_is_string(m)) {
      return detailText(std::string_view(json_string_value(m), json_string_length(m)));
    }
  }
  // nginx's own error pages are HTML: their title ("403 Forbidden") says it all.
  size_t title = body.find("<title>");
  if (title != std::string::npos) {
    size_t end = body.find("</title>", title);
    if (end != std::string::npos) {
      return detailText(std::string_view(body).substr(title + 7, end - title - 7));
    }
  }
  std::string line = detailText(std::string_view(body).substr(0, body.find('\n')));
  return line.empty() ? "(empty response)" : line;
}

// --config, --profile, else TASKER_CLIENT_PROFILE (tasker's CLI: --config > --profile > the
// environment).
ConfigChoice configChoice(const Args& args) {
  ConfigChoice choice;
  choice.file = args.get("--config");
  if (choice.file && choice.file->empty()) args.fail("option --config must not be empty");
  if ((choice.profile = args.get("--profile"))) {
    if (choice.profile->empty()) args.fail("option --profile must not be empty");
    choice.profile_from = "--profile";
  } else if ((choice.profile = env("TASKER_CLIENT_PROFILE"))) {
    choice.profile_from = "TASKER_CLIENT_PROFILE";
  }
  return choice;
}

// The base URL: --url, else TASKER_ORCHESTRATION_URL (TASKER_WORKER_URL), as tasker's clients
// take the environment over the file, else the configuration's base_url, else the default.
bool chooseBaseUrl(const std::optional<std::string>& url_arg, bool worker,
                   const ClientConfig& config, std::string* base, std::string* error) {
  const char* url_var = worker ? "TASKER_WORKER_URL" : "TASKER_ORCHESTRATION_URL";
  const std::optional<std::string> url_env = env(url_var);
  if (!url_arg && !url_env && config.transport == "grpc") {
    *error = "task list calls tasker's REST API, but " + config.transport_from +
             " is \"grpc\": choose a REST profile, or give the REST URL with --url or " + url_var;
    return false;
  }
  *base = url_arg           ? *url_arg
          : url_env         ? *url_env
          : config.base_url ? *config.base_url
          : worker          ? kDefaultWorkerUrl
                            : kDefaultOrchestrationUrl;
  const std::string problem = baseUrlProblem(*base);  // --url was checked as a usage error
  if (!problem.empty()) {
    *error = (url_env ? std::string(url_var) : config.base_url_from) + " " + problem + ", got '" +
             redactedUrl(*base) + "'";
    return false;
  }
  return true;
}

int runTaskList(const Args& args) {
  const bool worker = args.flag("--worker");
  const std::optional<std::string> url_arg = args.get("--url");
  if (const std::string problem = url_arg ? baseUrlProblem(*url_arg) : std::string();
      !problem.empty()) {
    args.fail("--url " + problem + ", got '" + redactedUrl(*url_arg) + "'");
  }

  ClientConfig config;
  std::string error, base;
  if (!loadClientConfig(configChoice(args), worker ? "worker" : "orchestration", &config,
                        &error) ||
      !chooseBaseUrl(url_arg, worker, config, &base, &error)) {
    return failure(error);
  }
  while (!base.empty() && base.back() == '/') base.pop_back();
  const std::string url = base + "/v1/tasks";

  const Credential cred = chooseCredential(worker, config);
  if (cred.kind == Credential::Kind::ApiKey && !isHeaderName(cred.header)) {
    return failure("the API key header name \"" + cred.header + "\" is not a valid header name");
  }
  if (!isHeaderValue(cred.value)) {
    return failure("the credential from " + cred.source + " contains a line break");
  }
  if (cred.kind == Credential::Kind::None) {
    warning("no credentials found (" +
            std::string(worker ? "TASKER_WORKER_AUTH_TOKEN" : "TASKER_ORCHESTRATION_AUTH_TOKEN") +
            ", TASKER_AUTH_TOKEN, TASKER_API_KEY or a client config file); sending none");
  }

  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return failure("cannot initialise libcurl");
  struct GlobalCleanup {
    ~GlobalCleanup() { curl_global_cleanup(); }
  } global_cleanup;

  CurlPtr curl(curl_easy_init());
  if (!curl) return failure("cannot initialise libcurl");
  CurlSlistPtr headers(curl_slist_append(nullptr, "Accept: application/json"));
  if (cred.kind == Credential::Kind::Bearer) {
    headers.reset(
        curl_slist_append(headers.release(), ("Authorization: Bearer " + cred.value).c_str()));
  } else if (cred.kind == Credential::Kind::ApiKey) {
    headers.reset(curl_slist_append(headers.release(), (cred.header + ": " + cred.value).c_str()));
  }
  if (!headers) return failure("out of memory");

  std::string body;
  char errbuf[CURL_ERROR_SIZE] = "";
  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, appendBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, kConnectTimeoutMs);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, kTotalTimeoutMs);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "tasker-ctl");
  // Redirects are not followed: they could carry the credential to another host.
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");

  CURLcode rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    return failure("GET " + redactedUrl(url) + " failed: " +
                   (errbuf[0] ? std::string(errbuf) : std::string(curl_easy_strerror(rc))));
  }
  long code = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);

  // Through std::cout, as all output: main() checks that it was written.
  std::cout.write(body.data(), static_cast<std::streamsize>(body.size()));
  if (!body.empty() && body.back() != '\n') std::cout << '\n';
  std::cout.flush();

  if (code >= 200 && code < 300) return kExitOk;
  const std::string via =
      cred.kind == Credential::Kind::None ? "no credentials" : "credential from " + cred.source;
  if (code == 401) {
    return failure("authentication failed (401): " + errorDetail(body) + " [" + via + "]");
  }
  if (code == 403) {
    return failure("permission denied (403): " + errorDetail(body) + " [" + via + "]");
  }
  return failure("GET " + redactedUrl(url) + " returned HTTP " + std::to_string(code) + ": " +
                 errorDetail(body));
}

const char kTaskListUsage[] =
    "Usage: tasker-ctl task list [--url URL] [--worker] [--profile NAME] [--config FILE]\n"
    "\n"
    "Calls GET <URL>/v1/tasks and prints the response body (exit 0 on 2xx, 1 otherwise).\n"
    "\n"
    "  --url URL       base URL (default: TASKER_ORCHESTRATION_URL, else base_url from the\n"
    "                  client configuration, else http://localhost:8080; with --worker,\n"
    "                  TASKER_WORKER_URL and http://localhost:8081); http(s), with a host\n"
    "                  and without a query or fragment, as /v1/tasks is appended to it\n"
    "  --worker        act as a worker client: TASKER_WORKER_AUTH_TOKEN and the [worker] table\n"
    "  -p, --profile NAME\n"
    "                  a profile of tasker's profile file (default: TASKER_CLIENT_PROFILE):\n"
    "                  [profile.default], then [profile.NAME] over it; the file is the first of\n"
    "                  .config/tasker.toml, .config/tasker-client.toml, ./tasker-client.toml,\n"
    "                  ~/.config/tasker/client.toml, ~/.tasker/client.toml\n"
    "  -c, --config FILE\n"
    "                  read this client file ([orchestration], [worker]) instead of searching\n"
    "                  (wins over a profile)\n"
    "\n"
    "Credentials, first found wins:\n"
    "  1. TASKER_ORCHESTRATION_AUTH_TOKEN (TASKER_WORKER_AUTH_TOKEN with --worker), as Bearer\n"
    "  2. TASKER_AUTH_TOKEN, as Bearer\n"
    "  3. TASKER_API_KEY in header TASKER_API_KEY_HEADER (default X-API-Key)\n"
    "  4. the client configuration: without --config or a profile, the first of\n"
    "     ./tasker-client.toml, ./config/tasker-client.toml, ~/.tasker/config.toml,\n"
    "     ~/.config/tasker/client.toml, ~/.tasker/client.toml; table [orchestration] or\n"
    "     [worker] with base_url, auth_token, api_key, api_key_header, or tasker's auth.method\n"
    "     (which wins over auth_token and api_key)\n"
    "\n"
    "-p and -c may also come before the command, as in tasker's CLI:\n"
    "  tasker-ctl --profile auth task list\n";

}  // namespace

const CommandGroup& taskGroup() {
  static const CommandGroup group{"task",
                                  "call the tasker API with client credentials",
                                  {
                                      {"list",
                                       "GET /v1/tasks with the client credentials",
                                       kTaskListUsage,
                                       {{"--url", "--profile", "--config"},
                                        {"--worker"},
                                        0,
                                        false,
                                        {{"-p", "--profile"}, {"-c", "--config"}}},
                                       runTaskList},
                                  }};
  return group;
}

}  // namespace cli
}  // namespace tasker
