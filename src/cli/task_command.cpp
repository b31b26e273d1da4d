// `tasker-ctl task list`: a minimal tasker API client (SPEC 7) that sends the same client
// credentials a tasker client would, in the same order of precedence.

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

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

// One table ([orchestration] or [worker]) of the client configuration file.
struct ClientConfig {
  std::string path;  // empty when no file was found
  std::optional<std::string> base_url, auth_token, api_key, api_key_header;
  Credential auth_method;  // tasker's `auth.method`, Kind::None when absent
};

std::optional<std::string> env(const char* name) {
  const char* v = getenv(name);
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

// ./tasker-client.toml, then ~/.tasker/client.toml; empty when neither exists.
std::string findClientConfig() {
  if (access("tasker-client.toml", F_OK) == 0) return "./tasker-client.toml";
  if (std::optional<std::string> home = env("HOME")) {
    std::string path = *home + "/.tasker/client.toml";
    if (access(path.c_str(), F_OK) == 0) return path;
  }
  return std::string();
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

bool loadClientConfig(const char* table_name, ClientConfig* out, std::string* error) {
  out->path = findClientConfig();
  if (out->path.empty()) return true;
  // As for tasker_auth_config (toml_guard.h): a regular file of bounded size (a FIFO is not
  // waited on, a directory is an error), and bytes that toml++ 3.3.0 would abort on are refused
  // before this process parses them.
  std::string text;
  if (readTomlFile(out->path, &text, error) != Status::Ok) {
    *error = "client config file " + *error;
    return false;
  }
  if (checkTomlText(out->path, text, error) != Status::Ok) {
    *error = "cannot parse " + *error;
    return false;
  }
  toml::parse_result parsed = toml::parse(std::string_view(text), std::string_view(out->path));
  if (!parsed) {
    const toml::source_position pos = parsed.error().source().begin;
    *error = "cannot parse " + out->path + ":" + std::to_string(pos.line) + ":" +
             std::to_string(pos.column) + ": " + std::string(parsed.error().description());
    return false;
  }
  const toml::table& root = parsed.table();
  const toml::node* node = root.get(table_name);
  if (!node) return true;
  const toml::table* table = node->as_table();
  const std::string where = out->path + " [" + table_name + "]";
  if (!table) {
    *error = where + " must be a table";
    return false;
  }
  return readStringKey(*table, "base_url", where, &out->base_url, error) &&
         readStringKey(*table, "auth_token", where, &out->auth_token, error) &&
         readStringKey(*table, "api_key", where, &out->api_key, error) &&
         readStringKey(*table, "api_key_header", where, &out->api_key_header, error) &&
         readAuthMethod(*table, where, &out->auth_method, error);
}

// SPEC 7: <component> token > TASKER_AUTH_TOKEN > TASKER_API_KEY > the client config file.
Credential chooseCredential(bool worker, const ClientConfig& config) {
  Credential c;
  const char* token_var = worker ? "TASKER_WORKER_AUTH_TOKEN" : "TASKER_ORCHESTRATION_AUTH_TOKEN";
  const char* table = worker ? "worker" : "orchestration";
  if (std::optional<std::string> v = env(token_var)) {
    c = {Credential::Kind::Bearer, "", *v, token_var};
  } else if (std::optional<std::string> v = env("TASKER_AUTH_TOKEN")) {
    c = {Credential::Kind::Bearer, "", *v, "TASKER_AUTH_TOKEN"};
  } else if (std::optional<std::string> v = env("TASKER_API_KEY")) {
    std::string header = env("TASKER_API_KEY_HEADER").value_or(kDefaultApiKeyHeader);
    c = {Credential::Kind::ApiKey, header, *v, "TASKER_API_KEY"};
  } else if (config.auth_method.kind != Credential::Kind::None) {
    c = config.auth_method;  // tasker's clients, too, prefer `auth` to the older auth_token
  } else if (config.auth_token) {
    c = {Credential::Kind::Bearer, "", *config.auth_token,
         config.path + " [" + table + "] auth_token"};
  } else if (config.api_key) {
    c = {Credential::Kind::ApiKey, config.api_key_header.value_or(kDefaultApiKeyHeader),
         *config.api_key, config.path + " [" + table + "] api_key"};
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
// in --url or base_url never reaches stderr.
std::string redactedUrl(const std::string& url) {
  const size_t scheme = url.find("://");
  const size_t host = scheme == std::string::npos ? 0 : scheme + 3;
  const size_t end = std::min(url.find_first_of("/?#", host), url.size());
  const size_t at = url.rfind('@', end == 0 ? 0 : end - 1);
  if (at == std::string::npos || at < host || at >= end) return url;
  return url.substr(0, host) + "***" + url.substr(at);
}

bool isHttpUrl(const std::string& url) {
  return url.compare(0, 7, "http://") == 0 || url.compare(0, 8, "https://") == 0;
}

size_t appendBody(char* data, size_t size, size_t nmemb, void* userdata) {
  std::string* body = static_cast<std::string*>(userdata);
  size_t n = size * nmemb;
  if (body->size() + n > kMaxResponseBytes) return 0;  // aborts the transfer
  body->append(data, n);
  return n;
}

// The server's "message" member when the body is a JSON error, else its first line.
std::string errorDetail(const std::string& body) {
  JsonPtr j(json_loadb(body.data(), body.size(), 0, nullptr));
  if (j && json_is_object(j.get())) {
    const json_t* m = json_object_get(j.get(), "message");
    if (json_is_string(m)) return json_string_value(m);
  }
  // nginx's own error pages are HTML: their title ("403 Forbidden") says it all.
  size_t title = body.find("<title>");
  if (title != std::string::npos) {
    size_t end = body.find("</title>", title);
    if (end != std::string::npos) return trim(body.substr(title + 7, end - title - 7));
  }
  std::string line = trim(body.substr(0, body.find('\n')));
  if (line.size() > 200) line = line.substr(0, 200) + "...";
  return line.empty() ? "(empty response)" : line;
}

int runTaskList(const Args& args) {
  const bool worker = args.flag("--worker");
  const std::optional<std::string> url_arg = args.get("--url");
  if (url_arg && !isHttpUrl(*url_arg)) {
    args.fail("--url must start with http:// or https://, got '" + redactedUrl(*url_arg) + "'");
  }

  ClientConfig config;
  std::string error;
  if (!loadClientConfig(worker ? "worker" : "orchestration", &config, &error)) {
    return failure(error);
  }
  std::string base = url_arg           ? *url_arg
                     : config.base_url ? *config.base_url
                     : worker          ? kDefaultWorkerUrl
                                       : kDefaultOrchestrationUrl;
  if (!isHttpUrl(base)) {
    return failure(config.path + ": base_url must start with http:// or https://");
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

  std::fwrite(body.data(), 1, body.size(), stdout);
  if (!body.empty() && body.back() != '\n') std::fputc('\n', stdout);
  std::fflush(stdout);

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
    "Usage: tasker-ctl task list [--url URL] [--worker]\n"
    "\n"
    "Calls GET <URL>/v1/tasks and prints the response body (exit 0 on 2xx, 1 otherwise).\n"
    "\n"
    "  --url URL   base URL (default: base_url from the client config file, else\n"
    "              http://localhost:8080, or http://localhost:8081 with --worker)\n"
    "  --worker    act as a worker client: TASKER_WORKER_AUTH_TOKEN and the [worker] table\n"
    "\n"
    "Credentials, first found wins:\n"
    "  1. TASKER_ORCHESTRATION_AUTH_TOKEN (TASKER_WORKER_AUTH_TOKEN with --worker), as Bearer\n"
    "  2. TASKER_AUTH_TOKEN, as Bearer\n"
    "  3. TASKER_API_KEY in header TASKER_API_KEY_HEADER (default X-API-Key)\n"
    "  4. the client config file: ./tasker-client.toml, else ~/.tasker/client.toml, table\n"
    "     [orchestration] or [worker] with base_url, auth_token, api_key, api_key_header,\n"
    "     or tasker's auth.method (which wins over auth_token and api_key)\n";

}  // namespace

const CommandGroup& taskGroup() {
  static const CommandGroup group{"task",
                                  "call the tasker API with client credentials",
                                  {
                                      {"list",
                                       "GET /v1/tasks with the client credentials",
                                       kTaskListUsage,
                                       {{"--url"}, {"--worker"}, 0},
                                       runTaskList},
                                  }};
  return group;
}

}  // namespace cli
}  // namespace tasker
