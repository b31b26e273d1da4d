#include "jwks_fetcher.h"

#include <pthread.h>
#include <signal.h>
#include <strings.h>
#include <time.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <string>
#include <utility>

#include <curl/curl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "printable.h"
#include "regular_file.h"
#include "status.h"
#include "tasker_limits.h"

// Async DNS (checked on Debian 12, libcurl4 7.88.1-10+deb12u15, OpenSSL flavour):
// curl_version_info(CURLVERSION_NOW)->features has CURL_VERSION_ASYNCHDNS and ->ares is NULL, so
// names are resolved by libcurl's threaded resolver (getaddrinfo on a helper thread); DNS does not
// block curl_multi_perform. One catch remains in 7.x: when a transfer ends (timeout, cancel,
// cleanup) while the resolver thread is still inside getaddrinfo, libcurl joins that thread
// (Curl_resolver_kill -> thread_wait_resolv), blocking the caller for up to the resolver's own
// timeout (resolv.conf: 5 s x attempts). CURLOPT_QUICK_EXIT (7.87.0+) makes libcurl detach the
// thread instead; the thread frees its own data when getaddrinfo returns. We set it, and
// test_jwks_fetcher_slow_dns_does_not_block checks both halves with a stalled getaddrinfo
// (without the option, the step that hits the timeout blocks until getaddrinfo returns).
// The resolver thread also inherits the signal mask of the thread calling curl_multi_perform;
// see ScopedSignalBlock for why step() blocks signals around that call.

namespace tasker {

namespace {

struct CurlEasyDeleter {
  void operator()(CURL* h) const noexcept { curl_easy_cleanup(h); }
};
struct CurlMultiDeleter {
  void operator()(CURLM* h) const noexcept { curl_multi_cleanup(h); }
};
struct CurlSlistDeleter {
  void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};
struct CurlUrlDeleter {
  void operator()(CURLU* u) const noexcept { curl_url_cleanup(u); }
};
struct CurlFreeDeleter {
  void operator()(char* p) const noexcept { curl_free(p); }
};
using CurlEasyPtr = std::unique_ptr<CURL, CurlEasyDeleter>;
using CurlMultiPtr = std::unique_ptr<CURLM, CurlMultiDeleter>;
using CurlSlistPtr = std::unique_ptr<curl_slist, CurlSlistDeleter>;
using CurlUrlPtr = std::unique_ptr<CURLU, CurlUrlDeleter>;
using CurlStrPtr = std::unique_ptr<char, CurlFreeDeleter>;

constexpr const char* kUserAgent = "ngx_http_tasker_auth_module";
constexpr size_t kMaxErrorChars = kMaxShownUrlBytes;  // cap on error() text and shown URLs, bytes

bool is2xx(long code) noexcept { return code >= 200 && code <= 299; }

// Printable ASCII only (log injection), capped. Never fed with body bytes in the first place.
std::string sanitize(const std::string& s) {
  std::string out = withoutControlBytes(std::string_view(s).substr(0, kMaxErrorChars), '?', true);
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// Parsed URL parts we care about. Throws std::bad_alloc only.
struct UrlParts {
  bool ok = false;
  std::string why;  // when !ok
  std::string scheme, host, port, path;
  bool has_query = false;
};

UrlParts parseUrl(const std::string& url) {
  UrlParts p;
  if (url.empty()) {
    p.why = "empty URL";
    return p;
  }
  for (char c : url) {
    // A NUL would truncate the C string libcurl sees; spaces and controls are never valid.
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      p.why = "URL contains a space or control character";
      return p;
    }
  }
  // The scheme first, so that "file:///x" is reported as a scheme problem.
  const size_t colon = url.find(':');
  std::string scheme = colon == std::string::npos ? std::string() : url.substr(0, colon);
  for (char& c : scheme) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (scheme.empty() ||
      scheme.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789+-.") != std::string::npos) {
    p.why = "URL has no scheme (http or https)";
    return p;
  }
  if (scheme != "http" && scheme != "https") {
    p.why = "unsupported URL scheme \"" + sanitize(scheme) + "\" (http or https only)";
    return p;
  }
  // libcurl's parser is lenient ("http:///ok" and "http:/ok" both get host "ok"), so insist on
  // the plain form: "://" and then an authority.
  if (url.compare(colon, 3, "://") != 0 || colon + 3 >= url.size() ||
      std::string("/\\?#@").find(url[colon + 3]) != std::string::npos) {
    p.why = "URL must have the form scheme://host[:port]/path";
    return p;
  }
  CurlUrlPtr u(curl_url());
  if (!u) throw std::bad_alloc();
  // Default flags: a scheme is required (no guessing "http" for "host/path").
  CURLUcode uc = curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0);
  if (uc == CURLUE_OUT_OF_MEMORY) throw std::bad_alloc();
  if (uc != CURLUE_OK) {
    p.why = std::string("malformed URL: ") + curl_url_strerror(uc);
    return p;
  }
  auto get = [&](CURLUPart part, std::string* out) -> bool {
    char* raw = nullptr;
    CURLUcode rc = curl_url_get(u.get(), part, &raw, 0);
    CurlStrPtr owned(raw);
    if (rc == CURLUE_OUT_OF_MEMORY) throw std::bad_alloc();
    if (rc != CURLUE_OK || !owned) return false;
    *out = owned.get();
    return true;
  };
  std::string query;
  get(CURLUPART_SCHEME, &p.scheme);  // lower-cased by libcurl
  get(CURLUPART_HOST, &p.host);
  get(CURLUPART_PORT, &p.port);  // only when explicit
  get(CURLUPART_PATH, &p.path);
  p.has_query = get(CURLUPART_QUERY, &query) && !query.empty();
  if (p.scheme != "http" && p.scheme != "https") {
    p.why = "unsupported URL scheme \"" + sanitize(p.scheme) + "\" (http or https only)";
    return p;
  }
  if (p.host.empty()) {
    p.why = "URL has no host";
    return p;
  }
  p.ok = true;
  return p;
}

// Where the text after "://" starts (0 without a scheme).
size_t afterScheme(const std::string& url) {
  const size_t start = url.find("://");
  return start == std::string::npos ? 0 : start + 3;
}

// An '@' after the end of the authority as a parser sees it (the first '/', '?' or '#'): a
// password holding one of those characters unescaped, which a parser takes for a path, query
// or fragment ("http://user:12/ss@host" is host "user", port 12). Shown as text, hidden up to
// that '@'; a path that really holds an '@' is hidden too, which costs nothing.
bool strayAt(const std::string& url) {
  const size_t end = url.find_first_of("/?#", afterScheme(url));
  return end != std::string::npos && url.find('@', end) != std::string::npos;
}

// A URL that does not parse, or holds a stray '@', for a message: whatever precedes its last
// '@' (userinfo, however malformed) becomes "...@", a query or fragment after it "?...". Errs on
// the side of hiding: an '@' in a path hides the host too.
std::string redactedText(const std::string& url) {
  const size_t start = afterScheme(url);
  std::string s = url.substr(0, start);
  const size_t at = url.rfind('@');
  size_t rest = start;
  if (at != std::string::npos && at >= start) {
    s += "...@";
    rest = at + 1;
  }
  const size_t query = std::min(url.find_first_of("?#", rest), url.size());
  s.append(url, rest, query - rest);
  if (query < url.size()) s += "?...";
  return sanitize(s);
}

std::string redacted(const UrlParts& p) {
  std::string s = p.scheme + "://" + p.host;
  if (!p.port.empty()) s += ":" + p.port;
  s += p.path.empty() ? "/" : p.path;
  if (p.has_query) s += "?...";
  return sanitize(s);
}

// Blocks asynchronous signals in this thread for its lifetime, as nginx's own thread pools do
// in their threads. libcurl may start its resolver thread inside curl_multi_perform, and a new
// thread inherits the creator's mask: with the mask open, a SIGHUP/SIGTERM/SIGQUIT sent to the
// worker could run nginx's handler on that thread, and epoll_wait in the event loop would not be
// interrupted. Synchronous faults stay unblocked (blocking them kills the process instead).
class ScopedSignalBlock {
 public:
  ScopedSignalBlock() noexcept {
    sigset_t set;
    sigfillset(&set);
    sigdelset(&set, SIGILL);
    sigdelset(&set, SIGFPE);
    sigdelset(&set, SIGSEGV);
    sigdelset(&set, SIGBUS);
    ok_ = pthread_sigmask(SIG_BLOCK, &set, &old_) == 0;
  }
  ~ScopedSignalBlock() {
    if (ok_) pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  ScopedSignalBlock(const ScopedSignalBlock&) = delete;
  ScopedSignalBlock& operator=(const ScopedSignalBlock&) = delete;

 private:
  sigset_t old_;
  bool ok_ = false;
};

void sleepMs(long ms) noexcept {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

}  // namespace

// ---- tasker_jwks_ca_file --------------------------------------------------------------------------

Status readCaBundle(const std::string& path, std::shared_ptr<const CaBundle>* out,
                    std::string* error) {
  std::string text;
  int err = 0;
  switch (readRegularFile(path, kMaxCaBundleBytes, &text, &err)) {
    case ReadFileResult::Ok:
      break;
    case ReadFileResult::Unreadable:
      *error = std::string("cannot be read: ") + std::strerror(err);
      return Status::ConfigFileUnreadable;
    case ReadFileResult::NotRegular:
      *error = "is not a regular file";
      return Status::ConfigFileUnreadable;
    case ReadFileResult::TooLarge:
      *error = "is larger than " + std::to_string(kMaxCaBundleBytes) + " bytes";
      return Status::ConfigInvalid;
  }

  // As OpenSSL loads a CA file (and libcurl a CAINFO blob): every PEM block must parse.
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(text.data(), static_cast<int>(text.size())), &BIO_free);
  if (!bio) throw std::bad_alloc();
  std::unique_ptr<STACK_OF(X509_INFO), void (*)(STACK_OF(X509_INFO)*)> infos(
      PEM_X509_INFO_read_bio(bio.get(), nullptr, nullptr, nullptr),
      [](STACK_OF(X509_INFO)* s) { sk_X509_INFO_pop_free(s, X509_INFO_free); });
  ERR_clear_error();
  if (!infos) {
    *error = "is not a PEM certificate bundle";
    return Status::ConfigInvalid;
  }
  std::shared_ptr<CaBundle> bundle(new CaBundle);
  bundle->certs_.reserve(static_cast<size_t>(sk_X509_INFO_num(infos.get())));
  for (int i = 0; i < sk_X509_INFO_num(infos.get()); ++i) {
    X509_INFO* info = sk_X509_INFO_value(infos.get(), i);
    if (info->x509 == nullptr) continue;
    bundle->certs_.push_back(info->x509);
    info->x509 = nullptr;  // the bundle holds the reference now
  }
  if (bundle->certs_.empty()) {
    *error = "holds no PEM certificate";
    return Status::ConfigInvalid;
  }
  *out = std::move(bundle);
  return Status::Ok;
}

const char* systemCaBundlePath() noexcept {
  const curl_version_info_data* d = curl_version_info(CURLVERSION_NOW);
  return d != nullptr && d->age >= CURLVERSION_SEVENTH && d->cainfo != nullptr && d->cainfo[0]
             ? d->cainfo
             : nullptr;
}

CaBundle::~CaBundle() {
  for (X509* c : certs_) X509_free(c);
}

bool CaBundle::addTo(X509_STORE* store) const noexcept {
  // X509_STORE_add_cert takes its own reference and accepts a certificate already present.
  for (X509* c : certs_) {
    if (X509_STORE_add_cert(store, c) != 1) return false;
  }
  return true;
}

// ---- process-wide ------------------------------------------------------------------------------

Status fetcherGlobalInit() noexcept {
  // A function-local static runs its initialiser once per process, thread-safely.
  static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
  return rc == CURLE_OK ? Status::Ok : Status::Internal;
}

bool fetcherHasAsyncDns() noexcept {
  const curl_version_info_data* d = curl_version_info(CURLVERSION_NOW);
  return d != nullptr && (d->features & CURL_VERSION_ASYNCHDNS) != 0;
}

const char* fetcherCurlVersion() noexcept { return curl_version(); }

Status validateFetchUrl(const std::string& url, std::string* error) noexcept {
  try {
    UrlParts p = parseUrl(url);
    if (error) *error = p.ok ? std::string() : p.why;
    return p.ok ? Status::Ok : Status::ConfigInvalid;
  } catch (const std::bad_alloc&) {
    return Status::OutOfMemory;
  } catch (...) {
    return Status::Internal;
  }
}

Status redactFetchUrl(const std::string& url, std::string* out) noexcept {
  if (!out) return Status::Internal;
  try {
    UrlParts p = parseUrl(url);
    *out = p.ok && !strayAt(url) ? redacted(p) : redactedText(url);
    return Status::Ok;
  } catch (const std::bad_alloc&) {
    return Status::OutOfMemory;
  } catch (...) {
    return Status::Internal;
  }
}

Status distinctShownUrl(const std::vector<std::string_view>& taken, std::string* shown) noexcept {
  if (!shown) return Status::Internal;
  auto used = [&taken](std::string_view s) {
    return std::find(taken.begin(), taken.end(), s) != taken.end();
  };
  try {
    if (!used(*shown)) return Status::Ok;
    // taken.size() + 2 candidates: at most taken.size() of them can be in use.
    for (size_t n = 2; n <= taken.size() + 2; ++n) {
      std::string candidate = *shown + "#" + std::to_string(n);
      if (!used(candidate)) {
        *shown = std::move(candidate);
        return Status::Ok;
      }
    }
    return Status::Internal;
  } catch (const std::bad_alloc&) {
    return Status::OutOfMemory;
  } catch (...) {
    return Status::Internal;
  }
}

// ---- JwksFetch ---------------------------------------------------------------------------------

struct JwksFetch::Impl {
  CurlMultiPtr multi;
  CurlEasyPtr easy;      // added to `multi` while both exist
  CurlSlistPtr headers;  // referenced by `easy`; freed after it
  char errbuf[CURL_ERROR_SIZE] = {};
  std::string buf;  // body received so far
  size_t max_bytes = 0;
  long bad_status = 0;  // non-2xx status seen at the first body byte
  bool too_large = false;
  bool oom = false;
  bool follow_redirects = false;
  bool saw_https = false;   // a response of this transfer came over https
  bool downgraded = false;  // ... and a later one over plain http: refused
  std::string log_url;  // redacted
  std::shared_ptr<const CaBundle> ca;  // read by onSslCtx while connecting
  FetchLogSink log_sink = nullptr;
  void* log_ctx = nullptr;

  ~Impl() {
    // Order matters: detach the easy handle, free it, then its header list, then the multi.
    if (multi && easy) curl_multi_remove_handle(multi.get(), easy.get());
    easy.reset();
    headers.reset();
    multi.reset();
  }

  // Callers hold a try block: a sink is C-style and should not throw, but one might.
  void log(FetchLogLevel level, const std::string& msg) const {
    if (log_sink) log_sink(log_ctx, level, msg.c_str());
  }

  // CURLOPT_SSL_CTX_FUNCTION: libcurl has built the connection's SSL_CTX (its CA file and CA
  // directory switched off, so its store is empty); the bundle's certificates go into that store.
  // Called inside curl_multi_perform, in the thread that steps the fetch.
  static CURLcode onSslCtx(CURL*, void* ssl_ctx, void* user) noexcept {
    auto* self = static_cast<Impl*>(user);
    X509_STORE* store = SSL_CTX_get_cert_store(static_cast<SSL_CTX*>(ssl_ctx));
    if (store == nullptr || !self->ca || !self->ca->addTo(store)) return CURLE_SSL_CACERT_BADFILE;
    return CURLE_OK;
  }

  // CURLOPT_WRITEFUNCTION. Returning less than `n` makes libcurl abort with CURLE_WRITE_ERROR.
  static size_t onWrite(char* data, size_t size, size_t nmemb, void* user) noexcept {
    auto* self = static_cast<Impl*>(user);
    const size_t n = size * nmemb;  // size is always 1
    if (self->buf.empty() && self->bad_status == 0) {
      // First body byte: an error page is never kept, so stop reading it right away.
      long code = 0;
      curl_easy_getinfo(self->easy.get(), CURLINFO_RESPONSE_CODE, &code);
      if (!is2xx(code)) {
        self->bad_status = code;
        return 0;
      }
    }
    if (n > self->max_bytes - self->buf.size()) {  // buf.size() <= max_bytes always holds
      self->too_large = true;
      return 0;
    }
    try {
      self->buf.append(data, n);
    } catch (...) {
      self->oom = true;
      return 0;
    }
    return n;
  }

  // CURLOPT_HEADERFUNCTION, set when redirects are followed: at each response's status line,
  // the scheme of the URL it answers. REDIR_PROTOCOLS keeps an https URL on https, but an http
  // URL may go to https and back to http; once a hop was https, a plain http one aborts the
  // transfer (CURLE_WRITE_ERROR), before any of its body is taken.
  static size_t onHeader(char* data, size_t size, size_t nmemb, void* user) noexcept {
    auto* self = static_cast<Impl*>(user);
    const size_t n = size * nmemb;
    if (n < 5 || std::memcmp(data, "HTTP/", 5) != 0) return n;
    char* url = nullptr;
    if (curl_easy_getinfo(self->easy.get(), CURLINFO_EFFECTIVE_URL, &url) != CURLE_OK ||
        url == nullptr) {
      return n;
    }
    const bool https = strncasecmp(url, "https://", 8) == 0;
    if (!https && self->saw_https) {
      self->downgraded = true;
      return 0;
    }
    self->saw_https = self->saw_https || https;
    return n;
  }

  // Sets every option of the transfer on easy: CURLE_OK, or the first option libcurl refused
  // (*bad_name names it). Called once, by start().
  CURLcode configure(const std::string& url, const UrlParts& parts, const FetchOptions& opts,
                     const char** bad_name) noexcept {
    CURL* e = easy.get();
    CURLcode bad = CURLE_OK;
    auto set = [&](CURLoption o, const char* name, auto value) {
      CURLcode rc = curl_easy_setopt(e, o, value);
      if (rc != CURLE_OK && bad == CURLE_OK) {
        bad = rc;
        *bad_name = name;
      }
    };
    // Every option carries a reason: this runs inside an nginx worker.
    set(CURLOPT_URL, "URL", url.c_str());   // libcurl copies the string
    set(CURLOPT_NOSIGNAL, "NOSIGNAL", 1L);  // no SIGALRM/SIGPIPE games inside nginx
#if LIBCURL_VERSION_NUM >= 0x075500         // 7.85.0: the bitmask form is deprecated
    set(CURLOPT_PROTOCOLS_STR, "PROTOCOLS_STR", "http,https");
#else
    set(CURLOPT_PROTOCOLS, "PROTOCOLS", static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    if (opts.follow_redirects) {
      // An https JWKS URL must not be downgraded to plain http by a redirect: keys fetched in
      // clear text can be swapped by anyone on the path, which forges every token.
      const bool tls = parts.scheme == "https";
      set(CURLOPT_FOLLOWLOCATION, "FOLLOWLOCATION", 1L);
      set(CURLOPT_MAXREDIRS, "MAXREDIRS", kJwksMaxRedirects);
      set(CURLOPT_HEADERFUNCTION, "HEADERFUNCTION", &Impl::onHeader);
      set(CURLOPT_HEADERDATA, "HEADERDATA", static_cast<void*>(this));
#if LIBCURL_VERSION_NUM >= 0x075500
      set(CURLOPT_REDIR_PROTOCOLS_STR, "REDIR_PROTOCOLS_STR", tls ? "https" : "http,https");
#else
      set(CURLOPT_REDIR_PROTOCOLS, "REDIR_PROTOCOLS",
          static_cast<long>(tls ? CURLPROTO_HTTPS : (CURLPROTO_HTTP | CURLPROTO_HTTPS)));
#endif
    } else {
      set(CURLOPT_FOLLOWLOCATION, "FOLLOWLOCATION", 0L);
    }
    set(CURLOPT_CONNECTTIMEOUT_MS, "CONNECTTIMEOUT_MS", opts.connect_timeout_ms);
    set(CURLOPT_TIMEOUT_MS, "TIMEOUT_MS", opts.total_timeout_ms);
    // Rejects an oversized Content-Length before any body byte; onWrite catches the rest
    // (chunked or close-delimited bodies).
    set(CURLOPT_MAXFILESIZE_LARGE, "MAXFILESIZE_LARGE", static_cast<curl_off_t>(opts.max_bytes));
    set(CURLOPT_WRITEFUNCTION, "WRITEFUNCTION", &Impl::onWrite);
    set(CURLOPT_WRITEDATA, "WRITEDATA", static_cast<void*>(this));  // Impl never moves
    set(CURLOPT_ERRORBUFFER, "ERRORBUFFER", errbuf);
    set(CURLOPT_HTTPHEADER, "HTTPHEADER", headers.get());
    set(CURLOPT_USERAGENT, "USERAGENT", kUserAgent);
    set(CURLOPT_FORBID_REUSE, "FORBID_REUSE", 1L);  // one transfer per handle: close at the end
    set(CURLOPT_SSLVERSION, "SSLVERSION", static_cast<long>(CURL_SSLVERSION_TLSv1_2));
    set(CURLOPT_SSL_VERIFYPEER, "SSL_VERIFYPEER", opts.verify_tls ? 1L : 0L);
    set(CURLOPT_SSL_VERIFYHOST, "SSL_VERIFYHOST", opts.verify_tls ? 2L : 0L);
    if (opts.ca) {
      // Only the bundle is trusted: libcurl's CA file and CA directory (Debian: /etc/ssl/certs,
      // where OpenSSL looks up every issuer the store lacks) are switched off; a CAINFO blob
      // alone would switch off the file but leave the directory on. The certificates were parsed
      // at configuration load, and onSslCtx adds them to each connection's store: a fetch reads
      // and parses no file (Debian's 220 KB bundle took ~20 ms of the worker per connection).
      ca = opts.ca;
      set(CURLOPT_CAINFO, "CAINFO", static_cast<char*>(nullptr));
      set(CURLOPT_CAPATH, "CAPATH", static_cast<char*>(nullptr));
      // A libcurl without the OpenSSL backend refuses the callback, and the fetch fails
      // (Internal, "libcurl refused CURLOPT_SSL_CTX_FUNCTION") rather than trust anything else.
      set(CURLOPT_SSL_CTX_FUNCTION, "SSL_CTX_FUNCTION", &Impl::onSslCtx);
      set(CURLOPT_SSL_CTX_DATA, "SSL_CTX_DATA", static_cast<void*>(this));
    }
#if LIBCURL_VERSION_NUM >= 0x075700  // 7.87.0; see the async DNS note at the top of this file
    // Best effort: an older runtime library answers CURLE_UNKNOWN_OPTION, which is no reason to
    // refuse the fetch (it only loses the prompt cleanup after a DNS stall).
    (void)curl_easy_setopt(e, CURLOPT_QUICK_EXIT, 1L);
#endif
    return bad;
  }
};

JwksFetch::JwksFetch() noexcept = default;
// libcurl's OpenSSL backend leaves entries on the calling thread's OpenSSL error queue (a failed
// certificate check, a TLS shutdown). In an nginx worker that queue is shared with nginx's own
// SSL code, which then reports "ignoring stale global SSL error": clear it on the way out of every
// entry point that runs libcurl.
namespace {
struct ClearOpenSslErrors {
  ~ClearOpenSslErrors() { ERR_clear_error(); }
};
}  // namespace

JwksFetch::~JwksFetch() {
  ClearOpenSslErrors clear;
  impl_.reset();  // Impl's destructor frees the handles
}
JwksFetch::JwksFetch(JwksFetch&& other) noexcept = default;
JwksFetch& JwksFetch::operator=(JwksFetch&& other) noexcept = default;

std::string JwksFetch::takeBody() noexcept {
  std::string out;
  out.swap(body_);
  return out;
}

void JwksFetch::finish(Status s, std::string error) noexcept {
  if (impl_ && impl_->log_sink) {
    try {
      std::string msg = "jwks fetch " + impl_->log_url + ": ";
      if (s == Status::Ok) {
        curl_off_t us = 0;
        if (impl_->easy) curl_easy_getinfo(impl_->easy.get(), CURLINFO_TOTAL_TIME_T, &us);
        msg += "HTTP " + std::to_string(http_status_) + ", " + std::to_string(impl_->buf.size()) +
               " bytes in " + std::to_string(static_cast<long long>(us / 1000)) + " ms";
      } else {
        msg += std::string(statusName(s)) + ": " + error;
      }
      impl_->log(FetchLogLevel::Debug, msg);
    } catch (...) {
      // Logging is best effort.
    }
  }
  result_ = s;
  error_.swap(error);
  if (s == Status::Ok && impl_) {
    body_.swap(impl_->buf);
  } else {
    body_.clear();
  }
  impl_.reset();  // frees the socket now, not at the next start()
}

void JwksFetch::finishFromCurl(int curl_code) noexcept {
  const CURLcode rc = static_cast<CURLcode>(curl_code);
  Impl& im = *impl_;
  long code = 0;
  curl_easy_getinfo(im.easy.get(), CURLINFO_RESPONSE_CODE, &code);
  http_status_ = code;
  try {
    std::string curl_text = im.errbuf[0] ? im.errbuf : curl_easy_strerror(rc);
    // Only libcurl's own text and numbers go into the message, never body bytes.
    if (im.downgraded) {
      finish(Status::FetchFailed, "a redirect from https to http was refused");
    } else if (im.oom) {
      finish(Status::OutOfMemory, "out of memory while receiving the body");
    } else if (code != 0 && !is2xx(code) &&
               (rc == CURLE_OK || rc == CURLE_WRITE_ERROR || rc == CURLE_FILESIZE_EXCEEDED)) {
      std::string e = "HTTP " + std::to_string(code);
      if (code >= 300 && code <= 399 && !im.follow_redirects) e += " (redirects are not followed)";
      finish(Status::FetchHttpStatus, std::move(e));
    } else if (im.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
      finish(Status::FetchTooLarge, "body exceeds " + std::to_string(im.max_bytes) + " bytes");
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
      finish(Status::FetchTimeout, sanitize("timeout: " + curl_text));
    } else if (rc != CURLE_OK) {
      finish(Status::FetchFailed, sanitize(curl_text));
    } else if (code == 0) {
      finish(Status::FetchFailed, "no HTTP response");
    } else {
      finish(Status::Ok, std::string());
    }
  } catch (...) {
    finish(Status::OutOfMemory, std::string());
  }
}

Status JwksFetch::start(const std::string& url, const FetchOptions& opts) noexcept {
  ClearOpenSslErrors clear;
  impl_.reset();  // cancels a running transfer silently
  result_ = Status::Internal;
  http_status_ = 0;
  body_.clear();
  error_.clear();
  try {
    UrlParts parts = parseUrl(url);
    if (!parts.ok) {
      finish(Status::ConfigInvalid, std::move(parts.why));
      return result_;
    }
    if (opts.connect_timeout_ms <= 0 || opts.total_timeout_ms <= 0 || opts.max_bytes == 0) {
      // libcurl reads 0 as "no limit"; an unbounded fetch is never what was meant.
      finish(Status::ConfigInvalid, "timeouts and max_bytes must be positive");
      return result_;
    }
    if (fetcherGlobalInit() != Status::Ok) {
      finish(Status::Internal, "curl_global_init failed");
      return result_;
    }

    auto im = std::make_unique<Impl>();
    im->max_bytes = opts.max_bytes;
    im->follow_redirects = opts.follow_redirects;
    im->log_url = opts.log_name.empty() ? redacted(parts) : opts.log_name;
    im->log_sink = opts.log_sink;
    im->log_ctx = opts.log_ctx;
    im->multi.reset(curl_multi_init());
    im->easy.reset(curl_easy_init());
    curl_slist* h = curl_slist_append(nullptr, "Accept: application/json");
    im->headers.reset(h);
    if (!im->multi || !im->easy || !h) throw std::bad_alloc();

    const char* bad_name = nullptr;
    CURLcode bad = im->configure(url, parts, opts, &bad_name);
    if (bad == CURLE_OUT_OF_MEMORY) throw std::bad_alloc();
    if (bad != CURLE_OK) {
      finish(Status::Internal,
             std::string("libcurl refused CURLOPT_") + bad_name + ": " + curl_easy_strerror(bad));
      return result_;
    }

    CURLMcode mc = curl_multi_add_handle(im->multi.get(), im->easy.get());
    if (mc == CURLM_OUT_OF_MEMORY) throw std::bad_alloc();
    if (mc != CURLM_OK) {
      im->easy.reset();  // never added, so ~Impl must not remove it
      finish(Status::Internal, std::string("curl_multi_add_handle: ") + curl_multi_strerror(mc));
      return result_;
    }

    if (im->log_sink) {
      im->log(FetchLogLevel::Debug, "jwks fetch " + im->log_url + ": GET");
      if (!opts.verify_tls) {
        im->log(FetchLogLevel::Warn,
                "jwks fetch " + im->log_url + ": TLS certificate verification is disabled");
      }
    }
    impl_ = std::move(im);
    return Status::Ok;
  } catch (const std::bad_alloc&) {
    impl_.reset();
    result_ = Status::OutOfMemory;
    error_.clear();
    return result_;
  } catch (...) {
    impl_.reset();
    result_ = Status::Internal;
    error_.clear();
    return result_;
  }
}

Status JwksFetch::step(bool* done) noexcept {
  ClearOpenSslErrors clear;
  if (!done) return Status::Internal;
  if (!impl_) {
    *done = true;
    return result_;
  }
  *done = false;
  int still_running = 0;
  CURLMcode mc;
  {
    ScopedSignalBlock no_signals;  // a resolver thread started here inherits the blocked mask
    mc = curl_multi_perform(impl_->multi.get(), &still_running);
  }
  if (mc != CURLM_OK) {
    try {
      finish(mc == CURLM_OUT_OF_MEMORY ? Status::OutOfMemory : Status::FetchFailed,
             std::string("curl_multi_perform: ") + curl_multi_strerror(mc));
    } catch (...) {
      finish(Status::OutOfMemory, std::string());
    }
    *done = true;
    return result_;
  }
  int queued = 0;
  while (CURLMsg* msg = curl_multi_info_read(impl_->multi.get(), &queued)) {
    if (msg->msg == CURLMSG_DONE && msg->easy_handle == impl_->easy.get()) {
      finishFromCurl(msg->data.result);  // frees impl_; msg is not touched afterwards
      *done = true;
      return result_;
    }
  }
  if (still_running == 0) {
    // libcurl stopped without a DONE message: a broken invariant, not a network outcome.
    try {
      finish(Status::Internal, "transfer ended without a result");
    } catch (...) {
      finish(Status::Internal, std::string());
    }
    *done = true;
    return result_;
  }
  return Status::Ok;
}

void JwksFetch::cancel() noexcept {
  ClearOpenSslErrors clear;
  if (!impl_) return;
  http_status_ = 0;
  try {
    finish(Status::FetchFailed, "cancelled");
  } catch (...) {
    finish(Status::FetchFailed, std::string());
  }
}

long JwksFetch::suggestedDelayMs() const noexcept {
  if (!impl_) return kJwksStepMaxDelayMs;
  long ms = -1;  // -1: libcurl has no timer set
  if (curl_multi_timeout(impl_->multi.get(), &ms) != CURLM_OK || ms < 0) {
    return kJwksStepMaxDelayMs;
  }
  return std::clamp(ms, kJwksStepMinDelayMs, kJwksStepMaxDelayMs);
}

// ---- blocking convenience (tasker-ctl, tests) --------------------------------------------------

Status fetchBlocking(const std::string& url, const FetchOptions& opts, std::string* body,
                     std::string* error) noexcept {
  JwksFetch f;
  Status s = f.start(url, opts);
  bool gave_up = false;
  if (s == Status::Ok) {
    // libcurl enforces total_timeout_ms itself; this deadline only guards against a bug.
    const long give_up_ms = opts.total_timeout_ms + 2000;
    long waited_ms = 0;
    bool done = false;
    for (;;) {
      s = f.step(&done);
      if (done) break;
      if (waited_ms > give_up_ms) {
        f.cancel();
        s = Status::FetchTimeout;
        gave_up = true;
        break;
      }
      const long d = f.suggestedDelayMs();
      sleepMs(d);
      waited_ms += d;
    }
  }
  try {
    if (body) *body = s == Status::Ok ? f.takeBody() : std::string();
    if (error) *error = gave_up ? std::string("timeout: transfer did not finish") : f.error();
  } catch (...) {
    return Status::OutOfMemory;
  }
  return s;
}

}  // namespace tasker
