// Non-blocking JWKS transfer (SPEC 2 tasker_jwks_url, SPEC 8 "JWKS"): one HTTP(S) GET over
// libcurl's multi interface, with a size cap and connect/total timeouts, stepped by the caller.
// It returns the body text only; parsing it is KeySet::fromJwks's job.
//
// This header needs no curl header: the CURL and CURLM handles live in a pimpl in the .cpp.
//
// Usage (nginx worker, from a cancelable ngx_event_t timer; never blocks the event loop):
//   init_module:  fetcherGlobalInit();                   // once per process, before fork
//                 if (!fetcherHasAsyncDns()) warn;        // DNS would block curl_multi_perform
//   refresh due:  f.start(url, opts);                    // no I/O yet; a failure = finished fetch
//   each tick:    bool done; Status s = f.step(&done);   // one curl_multi_perform; never waits
//                 if (!done) re-arm the tick in f.suggestedDelayMs() ms;
//                 else { s == Status::Ok ? publish(f.takeBody())
//                                        : log f.error() with statusName(s);
//                        re-arm for the next refresh; }
//   worker exit:  f.cancel() (or let the destructor do it).
//
// Usage (tasker-ctl, tests):
//   std::string body, err;
//   Status s = fetchBlocking(url, FetchOptions{}, &body, &err);
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "status.h"
#include "tasker_limits.h"

// OpenSSL's X509 and X509_STORE, without its headers here.
struct x509_st;
struct x509_store_st;

namespace tasker {

class CaBundle;

// Severity of a message handed to a FetchLogSink.
enum class FetchLogLevel { Debug, Info, Warn, Error };

// Optional C-style log sink: the adapter forwards to ngx_log_error (adding "tasker_auth: "), and
// tasker-ctl prints to stderr. `msg` is NUL-terminated and valid only during the call. Messages
// never contain response body bytes, and URLs in them have userinfo and query removed. The sink
// must not throw and must not call back into the JwksFetch.
// What is sent: Debug on start and on completion (status, bytes, ms); Warn on start when TLS
// verification is off. A failure is NOT sent at Error: the caller reads result()/error() and logs
// it once, with its own context (e.g. whether stale keys are still served).
using FetchLogSink = void (*)(void* ctx, FetchLogLevel level, const char* msg);

// Knobs of one transfer. Defaults come from tasker_limits.h.
struct FetchOptions {
  long connect_timeout_ms = kJwksConnectTimeoutMs;  // TCP + TLS connect, ms; must be > 0
  long total_timeout_ms = kJwksTotalTimeoutMs;      // whole transfer incl. DNS, ms; must be > 0
  size_t max_bytes = kMaxJwksBytes;                 // body cap, bytes; must be > 0
  bool follow_redirects = false;    // follow at most kJwksMaxRedirects; from https only to https
  // The certificates https is verified against (readCaBundle() of tasker_jwks_ca_file or of
  // systemCaBundlePath()), parsed once and shared: a fetch then reads and parses no CA file, and
  // trusts these certificates only (libcurl's default CA file and CA directory are both switched
  // off). nullptr: libcurl's defaults, which read its CA file at every connection. The fetch
  // keeps a reference until it ends.
  std::shared_ptr<const CaBundle> ca;
  bool verify_tls = true;           // peer certificate and host name; off only for testing
  FetchLogSink log_sink = nullptr;  // may be nullptr
  void* log_ctx = nullptr;          // passed back to log_sink; borrowed
  // How log_sink's messages name the URL (distinctShownUrl's result); empty: its redacted form.
  std::string log_name;
};

// Reads a CA bundle at configuration time (tasker_jwks_ca_file, or the system bundle), so that a
// JWKS fetch in a worker neither opens nor parses it: the path must name a regular file (a FIFO or
// device is refused, not waited on: the file is opened without blocking and its type taken from
// the descriptor) of at most kMaxCaBundleBytes, which OpenSSL parses as PEM
// (PEM_X509_INFO_read_bio, as libcurl loads a CA file: every block must parse) holding at least
// one certificate. Other PEM blocks (CRLs, keys) are accepted and ignored: without CRL checking a
// CRL changes nothing. On failure, *error says what is wrong, without the path (the caller names
// the directive and the value): ConfigFileUnreadable ("cannot be read: <errno text>", "is not a
// regular file") or ConfigInvalid ("is larger than ... bytes", "is not a PEM certificate bundle",
// "holds no PEM certificate").
Status readCaBundle(const std::string& path, std::shared_ptr<const CaBundle>* out,
                    std::string* error);

// The CA file libcurl was built to trust (curl_version_info's cainfo; Debian:
// /etc/ssl/certs/ca-certificates.crt), or nullptr when it has none (a CA directory only).
const char* systemCaBundlePath() noexcept;

// Certificates parsed from a CA bundle, immutable once built (see readCaBundle). Shared by every
// fetch of a configuration; only one thread uses a fetch at a time.
class CaBundle {
 public:
  ~CaBundle();
  CaBundle(const CaBundle&) = delete;
  CaBundle& operator=(const CaBundle&) = delete;

  size_t certificates() const noexcept { return certs_.size(); }

  // Adds every certificate to an OpenSSL X509_STORE (libcurl's, for one connection). False if
  // OpenSSL refused one (out of memory).
  bool addTo(x509_store_st* store) const noexcept;

 private:
  friend Status readCaBundle(const std::string&, std::shared_ptr<const CaBundle>*, std::string*);
  CaBundle() = default;

  std::vector<x509_st*> certs_;  // one reference each
};

// curl_global_init(CURL_GLOBAL_DEFAULT), run at most once per process (thread-safe). Call it from
// init_module; a reload calls it again and that is a no-op. Internal if libcurl fails to init.
// Never undone: curl_global_cleanup is left to process exit.
Status fetcherGlobalInit() noexcept;

// True when this libcurl resolves names asynchronously (CURL_VERSION_ASYNCHDNS), so DNS does not
// block curl_multi_perform. Debian 12's libcurl4 7.88.1 (OpenSSL flavour) reports true, using the
// threaded resolver (no c-ares). If false, the adapter should warn at startup: each fetch of a
// host name may then block a worker for up to the resolver's timeout.
bool fetcherHasAsyncDns() noexcept;

// curl_version(): "libcurl/7.88.1 OpenSSL/3.0.x ...", static storage; for a startup debug line.
const char* fetcherCurlVersion() noexcept;

// Checks a JWKS URL the way start() does, without any I/O: it must parse, have a host, and use
// the http or https scheme (SPEC 8); anything else gives ConfigInvalid and *error says why.
// For nginx -t. *error may be nullptr. Does not resolve the host or check reachability.
Status validateFetchUrl(const std::string& url, std::string* error) noexcept;

// Longest redactFetchUrl result, in bytes (longer ones are cut).
constexpr size_t kMaxShownUrlBytes = 256;

// The URL as safe to log: scheme://host[:port]/path, with userinfo dropped and a query replaced
// by "?...". A URL that validateFetchUrl rejects is shown as written, but with anything before
// the last '@' of its authority replaced by "...@" and its query by "?..." (nginx -t messages).
// At most kMaxShownUrlBytes bytes, printable ASCII.
Status redactFetchUrl(const std::string& url, std::string* out) noexcept;

// *shown (a redactFetchUrl result), made distinct from the shown forms other URLs of the same
// configuration already have: URLs that differ only in their userinfo or query, or after the
// 256 characters shown, would otherwise share one log name and one metrics series. The first
// stays as it is; a later one becomes "<shown>#2", "#3", ... (the first number not taken). A
// shown URL never holds '#' otherwise (a fragment is not shown). OutOfMemory leaves *shown as is.
Status distinctShownUrl(const std::vector<std::string_view>& taken, std::string* shown) noexcept;

// One JWKS transfer, driven by repeated step() calls. Not thread-safe: one thread at a time (an
// nginx worker is single-threaded). Movable; a move keeps a running transfer going.
class JwksFetch {
 public:
  JwksFetch() noexcept;
  ~JwksFetch();  // cancels a running transfer
  JwksFetch(JwksFetch&& other) noexcept;
  JwksFetch& operator=(JwksFetch&& other) noexcept;
  JwksFetch(const JwksFetch&) = delete;
  JwksFetch& operator=(const JwksFetch&) = delete;

  // Begins a GET of `url` (cancelling any transfer still running on this object). No I/O happens
  // here; the first step() connects. Sends "Accept: application/json" and User-Agent
  // "ngx_http_tasker_auth_module"; never sends cookies; no signals (CURLOPT_NOSIGNAL); TLS 1.2
  // or later. Proxies come from libcurl's usual environment variables (http_proxy, https_proxy,
  // no_proxy), which nginx strips from workers unless an `env` directive keeps them.
  // Errors (the object is then finished, with result()/error() set as returned):
  //   ConfigInvalid  url is not http/https (file://, ftp://, no scheme...), or a bad option
  //                  (timeout <= 0, max_bytes == 0). Decided here, before any I/O.
  //   OutOfMemory, Internal (libcurl refused an option).
  Status start(const std::string& url, const FetchOptions& opts) noexcept;

  // Runs curl_multi_perform once (non-blocking: no curl_multi_wait/poll) and reads the result.
  // Asynchronous signals are blocked in the calling thread during that call and restored after,
  // so a resolver thread libcurl starts there never takes nginx's signals.
  // In progress: *done = false, returns Ok. Finished: *done = true, returns result(). Not running
  // (never started, or already finished): *done = true, returns result(). done == nullptr:
  // Internal. The outcome, also in result():
  //   Ok               2xx and the body is within max_bytes
  //   FetchHttpStatus  any other final status (a 3xx too, unless follow_redirects); the body is
  //                    not kept, and the transfer stops at its first body byte
  //   FetchTooLarge    Content-Length or the received body exceeds max_bytes
  //   FetchTimeout     connect or total timeout (CURLE_OPERATION_TIMEDOUT)
  //   FetchFailed      DNS, connect, TLS, protocol, too many redirects, cancelled
  //   OutOfMemory      allocation failure while receiving
  Status step(bool* done) noexcept;

  // Aborts a running transfer and frees its handles and socket; result() becomes FetchFailed,
  // error() "cancelled". No-op when not running. Returns promptly even while a name is still
  // being resolved (the resolver thread is detached, see CURLOPT_QUICK_EXIT in the .cpp).
  void cancel() noexcept;

  // True between a successful start() and the step() that finishes (or cancel()).
  bool running() const noexcept { return impl_ != nullptr; }

  // When to call step() next, ms: libcurl's own timer (curl_multi_timeout) clamped to
  // [kJwksStepMinDelayMs, kJwksStepMaxDelayMs]. The upper clamp is the polling period while
  // curl waits on a socket, since its sockets are not hooked into nginx's event loop.
  // kJwksStepMaxDelayMs when not running.
  long suggestedDelayMs() const noexcept;

  // Outcome of the last transfer; Internal before any transfer finished (and while running).
  Status result() const noexcept { return result_; }

  // Response body when result() is Ok; empty otherwise (an error page is never kept).
  const std::string& body() const noexcept { return body_; }

  // Moves the body out (leaves body() empty); avoids copying up to max_bytes.
  std::string takeBody() noexcept;

  // Last HTTP status received (e.g. 200, 500, 302); 0 if none (connect failed, cancelled...).
  long httpStatus() const noexcept { return http_status_; }

  // Human-readable cause when result() is not Ok: libcurl's error text, "HTTP 500", "body
  // exceeds N bytes", "timeout: ...", "cancelled". Empty on Ok. Never contains response body
  // bytes; control characters are replaced and the length is capped.
  const std::string& error() const noexcept { return error_; }

 private:
  struct Impl;  // libcurl handles and receive state; exists only while running

  void finish(Status s, std::string error) noexcept;  // frees impl_, records the outcome
  void finishFromCurl(int curl_code) noexcept;        // maps a CURLcode and the HTTP status

  std::unique_ptr<Impl> impl_;
  Status result_ = Status::Internal;
  long http_status_ = 0;
  std::string body_;
  std::string error_;
};

// Fetches `url` to completion by looping step() with a short sleep. For tasker-ctl and tests
// ONLY: it blocks the calling thread for up to opts.total_timeout_ms, so the nginx module must
// never call it. Returns result(); *body gets the body on Ok (else empty), *error the cause (empty
// on Ok). body and error may be nullptr.
Status fetchBlocking(const std::string& url, const FetchOptions& opts, std::string* body,
                     std::string* error) noexcept;

}  // namespace tasker
