// Tests for src/jwks_fetcher.{h,cpp}. No external network: a tiny HTTP/1.1 server runs on a
// thread of this process, on 127.0.0.1 with an ephemeral port, and answers by path. Name
// resolution is exercised through a getaddrinfo() defined below, which interposes on libc's for
// the reserved ".test" names libcurl's resolver thread looks up (RFC 2606: never on the wire).
#include "jwks_fetcher.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <setjmp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

extern "C" {
#include <cmocka.h>
}
#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "regular_file.h"
#include "scratch_dir.h"
#include "status.h"
#include "tasker_limits.h"
#include "test_cert.h"

using tasker::FetchLogLevel;
using tasker::FetchOptions;
using tasker::JwksFetch;
using tasker::Status;

// ---- getaddrinfo interposer -------------------------------------------------------------------
// "slow.dns.test" stalls for g_slow_dns_ms and then fails, like a resolver that gets no answer;
// "loop.dns.test" resolves to 127.0.0.1; every other name goes to the real getaddrinfo.

namespace {
std::atomic<bool> g_resolver_signals_blocked{false};  // mask seen by the last fake lookup
std::atomic<int> g_slow_dns_in_flight{0};
std::atomic<long> g_slow_dns_ms{1500};
std::atomic<int> g_fake_dns_calls{0};
}  // namespace

// Default visibility: the tests build with -fvisibility=hidden, and a hidden definition stays out
// of the executable's dynamic symbol table, where libcurl's lookup of getaddrinfo would find it.
extern "C" __attribute__((visibility("default"))) int getaddrinfo(const char* node, const char* service, const struct addrinfo* hints,
                           struct addrinfo** res) {
  using Fn = int (*)(const char*, const char*, const struct addrinfo*, struct addrinfo**);
  static Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "getaddrinfo"));
  if (node && strcmp(node, "slow.dns.test") == 0) {
    g_fake_dns_calls++;
    g_slow_dns_in_flight++;
    std::this_thread::sleep_for(std::chrono::milliseconds(g_slow_dns_ms.load()));
    g_slow_dns_in_flight--;
    return EAI_AGAIN;
  }
  if (node && strcmp(node, "loop.dns.test") == 0) {
    g_fake_dns_calls++;
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, nullptr, &cur);
    g_resolver_signals_blocked = sigismember(&cur, SIGTERM) == 1 &&
                                 sigismember(&cur, SIGHUP) == 1 &&
                                 sigismember(&cur, SIGQUIT) == 1 &&
                                 sigismember(&cur, SIGUSR1) == 1 && sigismember(&cur, SIGSEGV) == 0;
    struct addrinfo h = {};
    if (hints) h = *hints;
    h.ai_family = AF_INET;
    h.ai_flags |= AI_NUMERICHOST;
    return real("127.0.0.1", service, &h, res);
  }
  if (node && strlen(node) > 5 && strcmp(node + strlen(node) - 5, ".test") == 0) return EAI_NONAME;
  return real ? real(node, service, hints, res) : EAI_FAIL;
}

namespace {

// True when libcurl will call the getaddrinfo above (it is first in the global symbol scope).
bool dnsInterposed() {
  return dlsym(RTLD_DEFAULT, "getaddrinfo") == reinterpret_cast<void*>(&getaddrinfo);
}

// The tests that need the fake names fail, not skip, without the interposer: it is this file's
// own build that hides it (it did, from -fvisibility=hidden, and two tests skipped unnoticed).
void requireDnsInterposed() {
  if (!dnsInterposed()) fail_msg("getaddrinfo is not interposed: is its definition hidden?");
}

long msSince(std::chrono::steady_clock::time_point t0) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count());
}

constexpr long kPromptStepMs = 50;  // one step() must return within this, ms
const char kJwksJson[] = R"({"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1",)"
                         R"("x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]})";
const char kBodyMarker[] = "SECRET-BODY-MARKER";  // in every error page; must never leak

// ---- loopback HTTP server ---------------------------------------------------------------------

class TestServer {
 public:
  TestServer() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a = {};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;  // ephemeral
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        listen(listen_fd_, 16) != 0) {
      perror("test server bind/listen");
      abort();
    }
    socklen_t len = sizeof a;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    if (pipe(wake_) != 0) abort();
    thread_ = std::thread([this] { run(); });
  }

  ~TestServer() {
    stop_ = true;
    char c = 1;
    (void)!write(wake_[1], &c, 1);
    thread_.join();
    close(listen_fd_);
    close(wake_[0]);
    close(wake_[1]);
  }

  int port() const { return port_; }
  std::string url(const std::string& path, const char* scheme = "http",
                  const char* host = "127.0.0.1") const {
    return std::string(scheme) + "://" + host + ":" + std::to_string(port_) + path;
  }
  int requests() const { return requests_; }
  void reset() {
    requests_ = 0;
    std::lock_guard<std::mutex> g(mu_);
    last_request_.clear();
  }
  std::string lastRequest() const {
    std::lock_guard<std::mutex> g(mu_);
    return last_request_;
  }
  // True while a stalled connection is held open (the client has not closed it yet).
  bool stalling() const { return stalling_; }

 private:
  // Waits until fd is readable or the server stops. False on stop.
  bool waitReadable(int fd, int timeout_ms = -1) {
    pollfd p[2] = {{fd, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    int n = poll(p, 2, timeout_ms);
    return n > 0 && !(p[1].revents & POLLIN) && !stop_;
  }

  void run() {
    while (!stop_) {
      if (!waitReadable(listen_fd_)) continue;
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      timeval tv{2, 0};  // a client that stops reading cannot wedge the server thread
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      handle(fd);
      close(fd);
    }
  }

  void sendAll(int fd, const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      ssize_t n = send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;  // client went away (it aborted), or the send timed out
      off += static_cast<size_t>(n);
    }
  }

  void reply(int fd, const std::string& status_line, const std::string& extra_headers,
             const std::string& body) {
    sendAll(fd, "HTTP/1.1 " + status_line + "\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\nConnection: close\r\n" + extra_headers + "\r\n" + body);
  }

  // Holds the connection until the client closes it or the server stops.
  void stall(int fd) {
    stalling_ = true;
    char buf[512];
    while (waitReadable(fd) && recv(fd, buf, sizeof buf, 0) > 0) {
    }
    stalling_ = false;
  }

  void handle(int fd) {
    std::string req;
    char buf[4096];
    while (req.find("\r\n\r\n") == std::string::npos && req.size() < 65536) {
      if (!waitReadable(fd, 5000)) return;
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return;
      req.append(buf, static_cast<size_t>(n));
      if (static_cast<unsigned char>(req[0]) == 0x16) {  // a TLS ClientHello on a plain port
        sendAll(fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
      }
    }
    requests_++;
    {
      std::lock_guard<std::mutex> g(mu_);
      last_request_ = req;
    }
    // "GET /path?query HTTP/1.1"
    size_t sp1 = req.find(' ');
    size_t sp2 = req.find(' ', sp1 + 1);
    std::string path = req.substr(sp1 + 1, sp2 - sp1 - 1);
    path = path.substr(0, path.find('?'));
    auto sizeAfter = [&](const std::string& prefix) {
      return static_cast<size_t>(std::stoul(path.substr(prefix.size())));
    };
    const std::string error_page = std::string("<html>") + kBodyMarker + " stack trace</html>";

    if (path == "/ok") {
      reply(fd, "200 OK", "Content-Type: application/json\r\n", kJwksJson);
    } else if (path == "/500") {
      reply(fd, "500 Internal Server Error", "Content-Type: text/html\r\n", error_page);
    } else if (path == "/404") {
      reply(fd, "404 Not Found", "", error_page);
    } else if (path.rfind("/big-cl/", 0) == 0) {
      reply(fd, "200 OK", "Content-Type: application/json\r\n",
            std::string(sizeAfter("/big-cl/"), 'x'));
    } else if (path.rfind("/chunked/", 0) == 0) {
      size_t left = sizeAfter("/chunked/");
      sendAll(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
      while (left > 0) {
        size_t n = std::min<size_t>(left, 4096);
        char hex[32];
        snprintf(hex, sizeof hex, "%zx\r\n", n);
        std::string chunk = hex + std::string(n, 'y') + "\r\n";
        ssize_t w = send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
        if (w != static_cast<ssize_t>(chunk.size())) return;
        left -= n;
      }
      sendAll(fd, "0\r\n\r\n");
    } else if (path == "/big-500") {
      reply(fd, "500 Internal Server Error", "", std::string(kMaxBodyForBig500, 'z') + error_page);
    } else if (path == "/stall") {
      stall(fd);
    } else if (path == "/stall-body") {  // headers and a partial body, then nothing
      sendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{\"keys\":[");
      stall(fd);
    } else if (path == "/redirect") {
      reply(fd, "302 Found", "Location: /ok\r\n", error_page);
    } else if (path == "/loop") {
      reply(fd, "302 Found", "Location: /loop\r\n", error_page);
    } else if (path == "/to-file") {
      reply(fd, "302 Found", "Location: file:///etc/passwd\r\n", error_page);
    } else if (path == "/to-ftp") {
      reply(fd, "301 Moved Permanently", "Location: " + url("/ok", "ftp") + "\r\n", "");
    } else {
      reply(fd, "404 Not Found", "", error_page);
    }
  }

  static constexpr size_t kMaxBodyForBig500 = 2 * 1024 * 1024;

  int listen_fd_ = -1;
  int port_ = 0;
  int wake_[2] = {-1, -1};
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::atomic<bool> stalling_{false};
  mutable std::mutex mu_;
  std::string last_request_;
  std::thread thread_;
};

TestServer* g_server = nullptr;

// A port on 127.0.0.1 with nothing listening: bound, then closed.
int closedPort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

struct Drive {
  Status status = Status::Internal;
  long max_step_ms = 0;  // slowest single step() call
  long elapsed_ms = 0;
  int steps = 0;
};

// Steps `f` to completion the way the adapter's timer does, timing every step() call.
Drive drive(JwksFetch& f) {
  Drive d;
  const auto t0 = std::chrono::steady_clock::now();
  for (;;) {
    bool done = false;
    const auto s0 = std::chrono::steady_clock::now();
    Status s = f.step(&done);
    d.max_step_ms = std::max(d.max_step_ms, msSince(s0));
    d.steps++;
    if (done) {
      d.status = s;
      break;
    }
    assert_int_equal(static_cast<int>(s), static_cast<int>(Status::Ok));
    if (msSince(t0) > 20000) fail_msg("transfer did not finish within 20 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(f.suggestedDelayMs()));
  }
  d.elapsed_ms = msSince(t0);
  return d;
}

Drive fetch(JwksFetch& f, const std::string& url, const FetchOptions& o = FetchOptions{}) {
  Status s = f.start(url, o);
  if (s != Status::Ok) {
    Drive d;
    d.status = s;
    return d;
  }
  return drive(f);
}

#define assert_status(expected, actual)                                                         \
  do {                                                                                          \
    Status a_ = (actual);                                                                       \
    if (a_ != (expected))                                                                       \
      fail_msg("status %s, expected %s", tasker::statusName(a_), tasker::statusName(expected)); \
  } while (0)

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

// Collects sink messages.
struct Captured {
  std::vector<std::pair<FetchLogLevel, std::string>> lines;
  std::string all() const {
    std::string s;
    for (const auto& l : lines) s += l.second + "\n";
    return s;
  }
};
void captureSink(void* ctx, FetchLogLevel level, const char* msg) {
  static_cast<Captured*>(ctx)->lines.emplace_back(level, msg);
}

// ---- tests -------------------------------------------------------------------------------------

void test_jwks_fetcher_fetches_json_200(void** state) {
  JwksFetch f;
  Drive d = fetch(f, g_server->url("/ok"));
  assert_status(Status::Ok, d.status);
  assert_status(Status::Ok, f.result());
  assert_int_equal(f.httpStatus(), 200);
  assert_string_equal(f.body().c_str(), kJwksJson);
  assert_true(f.error().empty());
  assert_false(f.running());
  std::string b = f.takeBody();
  assert_string_equal(b.c_str(), kJwksJson);
  assert_true(f.body().empty());
}

void test_jwks_fetcher_sends_accept_and_user_agent(void** state) {
  JwksFetch f;
  assert_status(Status::Ok, fetch(f, g_server->url("/ok")).status);
  const std::string req = g_server->lastRequest();
  assert_true(contains(req, "GET /ok HTTP/1.1\r\n"));
  assert_true(contains(req, "\r\nAccept: application/json\r\n"));
  assert_true(contains(req, "\r\nUser-Agent: ngx_http_tasker_auth_module\r\n"));
  assert_false(contains(req, "Cookie"));
}

void test_jwks_fetcher_http_500_is_http_status(void** state) {
  JwksFetch f;
  Drive d = fetch(f, g_server->url("/500"));
  assert_status(Status::FetchHttpStatus, d.status);
  assert_int_equal(f.httpStatus(), 500);
  assert_string_equal(f.error().c_str(), "HTTP 500");
  assert_true(f.body().empty());

  d = fetch(f, g_server->url("/404"));
  assert_status(Status::FetchHttpStatus, d.status);
  assert_int_equal(f.httpStatus(), 404);
}

void test_jwks_fetcher_huge_error_page_is_http_status(void** state) {
  // A 2 MiB error page is reported as the HTTP status, not as FetchTooLarge.
  JwksFetch f;
  Drive d = fetch(f, g_server->url("/big-500"));
  assert_status(Status::FetchHttpStatus, d.status);
  assert_int_equal(f.httpStatus(), 500);
}

void test_jwks_fetcher_error_never_contains_body(void** state) {
  Captured cap;
  FetchOptions o;
  o.log_sink = captureSink;
  o.log_ctx = &cap;
  const char* paths[] = {"/500", "/404", "/redirect", "/to-file", "/big-500"};
  for (const char* p : paths) {
    JwksFetch f;
    fetch(f, g_server->url(p), o);
    assert_true(f.result() != Status::Ok);
    assert_false(contains(f.error(), kBodyMarker));
    assert_false(contains(f.error(), "<html>"));
    assert_true(f.body().empty());
  }
  o.follow_redirects = true;
  for (const char* p : {"/to-file", "/loop"}) {
    JwksFetch f;
    fetch(f, g_server->url(p), o);
    assert_false(contains(f.error(), kBodyMarker));
  }
  assert_false(contains(cap.all(), kBodyMarker));
}

void test_jwks_fetcher_too_large_by_content_length(void** state) {
  JwksFetch f;
  Drive d = fetch(f, g_server->url("/big-cl/" + std::to_string(tasker::kMaxJwksBytes + 1)));
  assert_status(Status::FetchTooLarge, d.status);
  assert_true(f.body().empty());
  assert_string_equal(f.error().c_str(),
                      ("body exceeds " + std::to_string(tasker::kMaxJwksBytes) + " bytes").c_str());
}

void test_jwks_fetcher_too_large_chunked(void** state) {
  // No Content-Length: the write callback has to stop it.
  JwksFetch f;
  FetchOptions o;
  o.max_bytes = 5000;
  Drive d = fetch(f, g_server->url("/chunked/100000"), o);
  assert_status(Status::FetchTooLarge, d.status);
  assert_string_equal(f.error().c_str(), "body exceeds 5000 bytes");
  assert_true(f.body().empty());
}

void test_jwks_fetcher_exactly_max_bytes_is_ok(void** state) {
  JwksFetch f;
  FetchOptions o;
  o.max_bytes = 5000;
  assert_status(Status::Ok, fetch(f, g_server->url("/chunked/5000"), o).status);
  assert_int_equal(f.body().size(), 5000);
  assert_status(Status::Ok, fetch(f, g_server->url("/big-cl/5000"), o).status);
  assert_int_equal(f.body().size(), 5000);
  assert_status(Status::FetchTooLarge, fetch(f, g_server->url("/chunked/5001"), o).status);
  assert_status(Status::FetchTooLarge, fetch(f, g_server->url("/big-cl/5001"), o).status);
}

void test_jwks_fetcher_stall_times_out(void** state) {
  JwksFetch f;
  FetchOptions o;
  o.total_timeout_ms = 300;
  Drive d = fetch(f, g_server->url("/stall"), o);
  assert_status(Status::FetchTimeout, d.status);
  assert_true(d.elapsed_ms >= 250);
  assert_true(d.elapsed_ms < 2000);
  assert_true(f.error().rfind("timeout", 0) == 0);
  assert_int_equal(f.httpStatus(), 0);

  // Headers and part of the body, then silence: still a timeout, and nothing kept.
  d = fetch(f, g_server->url("/stall-body"), o);
  assert_status(Status::FetchTimeout, d.status);
  assert_true(f.body().empty());
}

void test_jwks_fetcher_step_returns_promptly_while_stalled(void** state) {
  JwksFetch f;
  FetchOptions o;
  o.total_timeout_ms = 300;
  assert_status(Status::Ok, f.start(g_server->url("/stall"), o));
  Drive d = drive(f);
  assert_status(Status::FetchTimeout, d.status);
  assert_true(d.steps >= 3);  // it really was stepped while the server stalled
  if (d.max_step_ms >= kPromptStepMs) fail_msg("a step() took %ld ms", d.max_step_ms);
}

void test_jwks_fetcher_redirect_not_followed_by_default(void** state) {
  JwksFetch f;
  Drive d = fetch(f, g_server->url("/redirect"));
  assert_status(Status::FetchHttpStatus, d.status);
  assert_int_equal(f.httpStatus(), 302);
  assert_string_equal(f.error().c_str(), "HTTP 302 (redirects are not followed)");
  assert_int_equal(g_server->requests(), 1);
}

void test_jwks_fetcher_redirect_followed_when_enabled(void** state) {
  JwksFetch f;
  FetchOptions o;
  o.follow_redirects = true;
  Drive d = fetch(f, g_server->url("/redirect"), o);
  assert_status(Status::Ok, d.status);
  assert_int_equal(f.httpStatus(), 200);
  assert_string_equal(f.body().c_str(), kJwksJson);
  assert_int_equal(g_server->requests(), 2);
}

void test_jwks_fetcher_redirect_loop_capped(void** state) {
  JwksFetch f;
  FetchOptions o;
  o.follow_redirects = true;
  assert_status(Status::FetchFailed, fetch(f, g_server->url("/loop"), o).status);
  assert_int_equal(g_server->requests(), 1 + tasker::kJwksMaxRedirects);
}

void test_jwks_fetcher_redirect_to_other_scheme_refused(void** state) {
  JwksFetch f;
  FetchOptions o;
  o.follow_redirects = true;
  assert_status(Status::FetchFailed, fetch(f, g_server->url("/to-file"), o).status);
  assert_status(Status::FetchFailed, fetch(f, g_server->url("/to-ftp"), o).status);
}

void test_jwks_fetcher_connection_refused(void** state) {
  JwksFetch f;
  const std::string url = "http://127.0.0.1:" + std::to_string(closedPort()) + "/jwks";
  Drive d = fetch(f, url);
  assert_status(Status::FetchFailed, d.status);
  assert_false(f.error().empty());
  assert_int_equal(f.httpStatus(), 0);
}

void test_jwks_fetcher_tls_error_is_fetch_failed(void** state) {
  // https:// against the plain-HTTP server: the handshake fails.
  JwksFetch f;
  FetchOptions o;
  o.total_timeout_ms = 3000;
  Drive d = fetch(f, g_server->url("/ok", "https"), o);
  assert_status(Status::FetchFailed, d.status);
  assert_false(f.error().empty());
}

void test_jwks_fetcher_rejects_non_http_schemes(void** state) {
  // Decided before libcurl sees the URL: ConfigInvalid, and no request is made.
  const std::string port = std::to_string(g_server->port());
  const std::string bad[] = {
      "file:///etc/passwd",
      "ftp://127.0.0.1:" + port + "/ok",
      "gopher://127.0.0.1:" + port + "/ok",
      "dict://127.0.0.1:" + port + "/ok",
      "127.0.0.1:" + port + "/ok",  // no scheme: never guessed
      "",
      "http://",
      "http:///ok",  // libcurl alone would read host "ok"
      "http:/127.0.0.1/ok",
      "http:127.0.0.1/ok",
      "http://@127.0.0.1/ok",
      "http://127.0.0.1:" + port + "/o k",
      std::string("http://127.0.0.1:") + port + "/ok\n",
      std::string("http://127.0.0.1/ok\0.evil", 25),
  };
  for (const std::string& url : bad) {
    JwksFetch f;
    Status s = f.start(url, FetchOptions{});
    if (s != Status::ConfigInvalid) fail_msg("%s for <%s>", tasker::statusName(s), url.c_str());
    assert_false(f.running());
    assert_status(Status::ConfigInvalid, f.result());
    assert_false(f.error().empty());
    bool done = false;
    assert_status(Status::ConfigInvalid, f.step(&done));
    assert_true(done);
    std::string why;
    assert_status(Status::ConfigInvalid, tasker::validateFetchUrl(url, &why));
  }
  assert_int_equal(g_server->requests(), 0);
  std::string why;
  tasker::validateFetchUrl("file:///etc/passwd", &why);
  assert_string_equal(why.c_str(), "unsupported URL scheme \"file\" (http or https only)");
  assert_status(Status::Ok,
                tasker::validateFetchUrl("https://idp.example.com/.well-known/jwks.json", &why));
  assert_true(why.empty());
  assert_status(Status::Ok, tasker::validateFetchUrl("HTTP://127.0.0.1/jwks", nullptr));
}

void test_jwks_fetcher_rejects_bad_options(void** state) {
  FetchOptions o;
  o.max_bytes = 0;  // libcurl would read 0 as "no limit"
  JwksFetch f;
  assert_status(Status::ConfigInvalid, f.start(g_server->url("/ok"), o));
  o = FetchOptions{};
  o.total_timeout_ms = 0;
  assert_status(Status::ConfigInvalid, f.start(g_server->url("/ok"), o));
  o = FetchOptions{};
  o.connect_timeout_ms = -1;
  assert_status(Status::ConfigInvalid, f.start(g_server->url("/ok"), o));
  assert_int_equal(g_server->requests(), 0);
}

void test_jwks_fetcher_cancel_is_prompt_and_final(void** state) {
  JwksFetch f;
  assert_status(Status::Ok, f.start(g_server->url("/stall"), FetchOptions{}));
  bool done = false;
  for (int i = 0; i < 200 && !g_server->stalling(); i++) {
    assert_status(Status::Ok, f.step(&done));
    assert_false(done);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  assert_true(g_server->stalling());
  const auto t0 = std::chrono::steady_clock::now();
  f.cancel();
  assert_true(msSince(t0) < kPromptStepMs);
  assert_false(f.running());
  assert_status(Status::FetchFailed, f.result());
  assert_string_equal(f.error().c_str(), "cancelled");
  assert_status(Status::FetchFailed, f.step(&done));
  assert_true(done);
  f.cancel();  // idempotent
  assert_string_equal(f.error().c_str(), "cancelled");
  // The socket was closed: the server sees EOF and stops stalling.
  for (int i = 0; i < 200 && g_server->stalling(); i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  assert_false(g_server->stalling());
}

void test_jwks_fetcher_step_when_idle(void** state) {
  JwksFetch f;
  assert_false(f.running());
  assert_status(Status::Internal, f.result());
  bool done = false;
  assert_status(Status::Internal, f.step(&done));
  assert_true(done);
  assert_status(Status::Internal, f.step(nullptr));
  assert_int_equal(f.suggestedDelayMs(), tasker::kJwksStepMaxDelayMs);
  f.cancel();  // no-op
  assert_status(Status::Internal, f.result());
}

void test_jwks_fetcher_suggested_delay_is_clamped(void** state) {
  JwksFetch f;
  FetchOptions o;
  o.total_timeout_ms = 300;
  assert_status(Status::Ok, f.start(g_server->url("/stall"), o));
  bool done = false;
  while (!done) {
    long d = f.suggestedDelayMs();
    assert_true(d >= tasker::kJwksStepMinDelayMs && d <= tasker::kJwksStepMaxDelayMs);
    f.step(&done);
    std::this_thread::sleep_for(std::chrono::milliseconds(d));
  }
  assert_status(Status::FetchTimeout, f.result());
}

void test_jwks_fetcher_restart_and_move(void** state) {
  JwksFetch f;
  assert_status(Status::FetchHttpStatus, fetch(f, g_server->url("/500")).status);
  // A second start on the same object, and a running transfer moved mid-flight.
  assert_status(Status::Ok, f.start(g_server->url("/ok"), FetchOptions{}));
  assert_int_equal(f.httpStatus(), 0);
  assert_true(f.error().empty());
  bool done = false;
  f.step(&done);
  JwksFetch g(std::move(f));
  assert_true(g.running());
  Drive d = done ? Drive{g.result()} : drive(g);
  assert_status(Status::Ok, d.status);
  assert_string_equal(g.body().c_str(), kJwksJson);
  // start() while running cancels the old transfer.
  assert_status(Status::Ok, g.start(g_server->url("/stall"), FetchOptions{}));
  g.step(&done);
  assert_status(Status::Ok, g.start(g_server->url("/ok"), FetchOptions{}));
  assert_status(Status::Ok, drive(g).status);
  JwksFetch h;
  h = std::move(g);
  assert_string_equal(h.body().c_str(), kJwksJson);
}

void test_jwks_fetcher_slow_dns_does_not_block(void** state) {
  if (!tasker::fetcherHasAsyncDns()) {
    printf("  no async DNS in this libcurl; skipped\n");
    skip();
  }
  requireDnsInterposed();
  // The resolver thread stalls for 1.5 s; the total timeout is 300 ms. Every step() must stay
  // prompt, including the one that times out (libcurl would join the resolver thread there
  // without CURLOPT_QUICK_EXIT), and the fetch must end near 300 ms, not 1.5 s.
  const int calls_before = g_fake_dns_calls;
  JwksFetch f;
  FetchOptions o;
  o.total_timeout_ms = 300;
  const std::string slow = "http://slow.dns.test:" + std::to_string(g_server->port()) + "/ok";
  assert_status(Status::Ok, f.start(slow, o));
  Drive d = drive(f);
  assert_status(Status::FetchTimeout, d.status);
  assert_true(g_fake_dns_calls > calls_before);  // libcurl really called our getaddrinfo
  if (d.max_step_ms >= kPromptStepMs) fail_msg("a step() took %ld ms", d.max_step_ms);
  if (d.elapsed_ms >= 1000) fail_msg("fetch took %ld ms", d.elapsed_ms);

  // cancel() while the name is still being resolved returns at once too.
  assert_status(Status::Ok, f.start(slow, FetchOptions{}));
  bool done = false;
  for (int i = 0; i < 5; i++) {
    f.step(&done);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  assert_false(done);
  const auto t0 = std::chrono::steady_clock::now();
  f.cancel();
  assert_true(msSince(t0) < kPromptStepMs);

  // Let the detached resolver threads finish before the next test.
  for (int i = 0; i < 400 && g_slow_dns_in_flight > 0; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  assert_int_equal(g_slow_dns_in_flight.load(), 0);
}

void test_jwks_fetcher_resolver_thread_blocks_signals(void** state) {
  if (!tasker::fetcherHasAsyncDns()) {
    printf("  no async DNS in this libcurl; skipped\n");
    skip();
  }
  requireDnsInterposed();
  // A name that resolves, on libcurl's resolver thread, fetches normally; that thread runs with
  // the signals nginx handles blocked, and step() leaves the caller's mask as it was.
  g_resolver_signals_blocked = false;
  const int calls_before = g_fake_dns_calls;
  JwksFetch f;
  const std::string url = "http://loop.dns.test:" + std::to_string(g_server->port()) + "/ok";
  assert_status(Status::Ok, fetch(f, url).status);
  assert_string_equal(f.body().c_str(), kJwksJson);
  assert_true(g_fake_dns_calls > calls_before);
  assert_true(g_resolver_signals_blocked.load());
  sigset_t mine;
  pthread_sigmask(SIG_BLOCK, nullptr, &mine);
  assert_int_equal(sigismember(&mine, SIGTERM), 0);
  assert_int_equal(sigismember(&mine, SIGHUP), 0);
}

void test_jwks_fetcher_async_dns_reported(void** state) {
  const curl_version_info_data* d = curl_version_info(CURLVERSION_NOW);
  const bool async = (d->features & CURL_VERSION_ASYNCHDNS) != 0;
  assert_int_equal(tasker::fetcherHasAsyncDns(), async);
  assert_true(contains(tasker::fetcherCurlVersion(), "libcurl/"));
  printf("  %s: async DNS %s (%s resolver)\n", d->version, async ? "yes" : "NO",
         d->ares ? "c-ares" : (async ? "threaded" : "blocking"));
}

void test_jwks_fetcher_global_init_idempotent(void** state) {
  assert_status(Status::Ok, tasker::fetcherGlobalInit());
  assert_status(Status::Ok, tasker::fetcherGlobalInit());
}

void test_jwks_fetcher_log_sink_redacts_url(void** state) {
  Captured cap;
  FetchOptions o;
  o.log_sink = captureSink;
  o.log_ctx = &cap;
  const std::string url = "http://jwksuser:s3cr3t@127.0.0.1:" + std::to_string(g_server->port()) +
                          "/ok?access_token=tok123";
  JwksFetch f;
  assert_status(Status::Ok, fetch(f, url, o).status);
  const std::string all = cap.all();
  assert_true(cap.lines.size() >= 2);  // start and completion
  assert_true(contains(all, "http://127.0.0.1:" + std::to_string(g_server->port()) + "/ok?..."));
  assert_true(contains(all, "HTTP 200"));
  assert_false(contains(all, "s3cr3t"));
  assert_false(contains(all, "jwksuser"));
  assert_false(contains(all, "tok123"));
  for (const auto& l : cap.lines) assert_int_equal(l.first, FetchLogLevel::Debug);

  cap.lines.clear();
  o.verify_tls = false;
  fetch(f, url, o);
  bool warned = false;
  for (const auto& l : cap.lines) warned |= l.first == FetchLogLevel::Warn;
  assert_true(warned);

  std::string r;
  assert_status(Status::Ok, tasker::redactFetchUrl(url, &r));
  assert_string_equal(r.c_str(),
                      ("http://127.0.0.1:" + std::to_string(g_server->port()) + "/ok?...").c_str());
  // A URL that does not parse is shown for nginx -t, its userinfo and query still hidden.
  assert_status(Status::Ok, tasker::redactFetchUrl("ftp://x/y", &r));
  assert_string_equal(r.c_str(), "ftp://x/y");
  const std::pair<const char*, const char*> malformed[] = {
      {"http://user:S3CRET@idp.example:99999/jwks", "http://...@idp.example:99999/jwks"},
      {"ftp://bob:pw@idp/jwks?api_token=Q", "ftp://...@idp/jwks?..."},
      {"http://user:pa/ss@host/jwks", "http://...@host/jwks"},  // a '/' in the password
      {"user:pw@host", "...@host"},                                // no scheme
      {"http://h/a b?x=S3CRET#frag", "http://h/a b?..."},
      {"http://h/p#S3CRET", "http://h/p"},       // valid: the fragment is dropped
      // a '/', '?' or '#' in the password makes a URL a parser takes for another host and
      // port ("user", 12): everything up to the last '@' stays hidden
      {"http://user:12/S3CRET@idp/jwks", "http://...@idp/jwks"},
      {"http://user:1?S3CRET@idp/jwks?x=1", "http://...@idp/jwks?..."},
      {"http://user:1#S3CRET@idp/jwks", "http://...@idp/jwks"},
      {"http://user:S3?CRET@idp/jwks", "http://...@idp/jwks"},
      {"http://h/p#S3CRET@x", "http://...@x"},     // an '@' after the host: hidden up to it
      {"http://h\r\n/x", "http://h??/x"},
      {"", ""},
  };
  for (const auto& [in, want] : malformed) {
    assert_status(Status::Ok, tasker::redactFetchUrl(in, &r));
    assert_string_equal(r.c_str(), want);
  }
  assert_status(Status::Internal, tasker::redactFetchUrl(url, nullptr));

  // A log name given in the options replaces the redacted form in the sink's messages.
  cap.lines.clear();
  o.verify_tls = true;
  o.log_name = "http://127.0.0.1/ok?...#2";
  assert_status(Status::Ok, fetch(f, url, o).status);
  assert_true(contains(cap.all(), "jwks fetch http://127.0.0.1/ok?...#2: HTTP 200"));
}

// URLs that show the same way get distinct names: the first as it is, the others #2, #3, ...
void test_jwks_fetcher_distinct_shown_url(void** state) {
  std::vector<std::string_view> taken;
  std::string s = "http://idp/jwks?...";
  assert_status(Status::Ok, tasker::distinctShownUrl(taken, &s));
  assert_string_equal(s.c_str(), "http://idp/jwks?...");
  taken.push_back("http://idp/jwks?...");
  taken.push_back("http://idp/other");
  std::string second = "http://idp/jwks?...";
  assert_status(Status::Ok, tasker::distinctShownUrl(taken, &second));
  assert_string_equal(second.c_str(), "http://idp/jwks?...#2");
  taken.push_back(second);
  std::string third = "http://idp/jwks?...";
  assert_status(Status::Ok, tasker::distinctShownUrl(taken, &third));
  assert_string_equal(third.c_str(), "http://idp/jwks?...#3");
  std::string other = "http://idp/third";
  assert_status(Status::Ok, tasker::distinctShownUrl(taken, &other));
  assert_string_equal(other.c_str(), "http://idp/third");
  // Sixteen URLs that all show the same way: sixteen names.
  std::vector<std::string> names;
  std::vector<std::string_view> all;
  names.reserve(16);
  for (int i = 0; i < 16; ++i) {
    std::string n = "http://h/j?...";
    assert_status(Status::Ok, tasker::distinctShownUrl(all, &n));
    names.push_back(n);
    all.push_back(names.back());
  }
  assert_string_equal(names[0].c_str(), "http://h/j?...");
  assert_string_equal(names[15].c_str(), "http://h/j?...#16");
  assert_status(Status::Internal, tasker::distinctShownUrl(all, nullptr));
}

void test_jwks_fetcher_fetch_blocking(void** state) {
  std::string body, err;
  assert_status(Status::Ok,
                tasker::fetchBlocking(g_server->url("/ok"), FetchOptions{}, &body, &err));
  assert_string_equal(body.c_str(), kJwksJson);
  assert_true(err.empty());

  body = "stale";
  assert_status(Status::FetchHttpStatus,
                tasker::fetchBlocking(g_server->url("/500"), FetchOptions{}, &body, &err));
  assert_true(body.empty());
  assert_string_equal(err.c_str(), "HTTP 500");

  assert_status(Status::ConfigInvalid,
                tasker::fetchBlocking("file:///etc/passwd", FetchOptions{}, nullptr, &err));
  assert_false(err.empty());
  assert_status(Status::Ok,
                tasker::fetchBlocking(g_server->url("/ok"), FetchOptions{}, nullptr, nullptr));
}

// ---- readCaBundle (tasker_jwks_ca_file) ---------------------------------------------------------

// A self-signed P-256 certificate, made here so that no key material is committed: a CA for
// "127.0.0.1" (subjectAltName IP), usable both as a trust anchor and as a TLS server's certificate.
struct TestCert {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  explicit TestCert(const char* cn = "tasker test CA") {
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    if (!key) abort();
    cert = tasker::test::selfSignedX509(key, cn,
                                        {{NID_basic_constraints, "critical,CA:TRUE"},
                                         {NID_subject_alt_name, "IP:127.0.0.1"}});
  }
  ~TestCert() {
    X509_free(cert);
    EVP_PKEY_free(key);
  }
  TestCert(const TestCert&) = delete;
  TestCert& operator=(const TestCert&) = delete;
  std::string pem() const { return tasker::test::x509Pem(cert); }
};

std::string selfSignedCertPem() { return TestCert().pem(); }

// A CaBundle read from a scratch file holding `pem`.
std::shared_ptr<const tasker::CaBundle> caBundle(const std::string& name, const std::string& pem) {
  std::shared_ptr<const tasker::CaBundle> ca;
  std::string error;
  assert_status(Status::Ok,
                tasker::readCaBundle(tasker::test::writeFile(name, pem), &ca, &error));
  return ca;
}

void expectCaError(const std::string& path, Status want, const char* text) {
  std::shared_ptr<const tasker::CaBundle> ca;
  std::string error;
  assert_status(want, tasker::readCaBundle(path, &ca, &error));
  assert_string_equal(error.c_str(), text);
  assert_null(ca.get());
}

void test_jwks_fetcher_ca_bundle_read_and_checked(void** state) {
  using tasker::test::writeFile;
  std::string cert = selfSignedCertPem();
  std::string bundle = cert + "# a comment line between certificates\n" + selfSignedCertPem();
  std::string path = writeFile("ca.pem", bundle);
  std::shared_ptr<const tasker::CaBundle> ca;
  std::string error;
  assert_status(Status::Ok, tasker::readCaBundle(path, &ca, &error));
  assert_non_null(ca.get());
  assert_int_equal(ca->certificates(), 2);

  expectCaError(tasker::test::g_dir + "/absent.pem", Status::ConfigFileUnreadable,
                "cannot be read: No such file or directory");
  expectCaError(tasker::test::g_dir, Status::ConfigFileUnreadable, "is not a regular file");
  expectCaError("/dev/zero", Status::ConfigFileUnreadable, "is not a regular file");
  expectCaError(writeFile("empty.pem", ""), Status::ConfigInvalid, "holds no PEM certificate");
  expectCaError(writeFile("text.pem", "not a certificate\n"), Status::ConfigInvalid,
                "holds no PEM certificate");
  expectCaError(writeFile("broken.pem", cert + "-----BEGIN CERTIFICATE-----\nAAAA\n"
                                               "-----END CERTIFICATE-----\n"),
                Status::ConfigInvalid, "is not a PEM certificate bundle");
  expectCaError(writeFile("big.pem", cert + std::string(tasker::kMaxCaBundleBytes, '#')),
                Status::ConfigInvalid, "is larger than 4194304 bytes");
}

// The system bundle, when libcurl names one, reads as a bundle (Debian: ca-certificates).
void test_jwks_fetcher_system_ca_bundle(void** state) {
  const char* path = tasker::systemCaBundlePath();
  if (path == nullptr) skip();
  std::shared_ptr<const tasker::CaBundle> ca;
  std::string error;
  assert_status(Status::Ok, tasker::readCaBundle(path, &ca, &error));
  assert_true(ca->certificates() > 10);
}

// A FIFO is refused at once: opened for reading with blocking I/O it would wait for a writer, and
// `nginx -t` would hang. (If this test hangs, that is the failure.)
void test_jwks_fetcher_ca_bundle_fifo_refused(void** state) {
  std::string fifo = tasker::test::g_dir + "/fifo.pem";
  assert_int_equal(mkfifo(fifo.c_str(), 0600), 0);
  tasker::test::g_files.push_back(fifo);
  expectCaError(fifo, Status::ConfigFileUnreadable, "is not a regular file");
}

// ---- https: what a fetch trusts ---------------------------------------------------------------

// A TLS server on 127.0.0.1 (ephemeral port) answering every connection with a JWKS document, on
// a thread of this process, with `cert` as its certificate.
class TlsServer {
 public:
  explicit TlsServer(const TestCert& cert) {
    ctx_ = SSL_CTX_new(TLS_server_method());
    if (!ctx_ || SSL_CTX_use_certificate(ctx_, cert.cert) != 1 ||
        SSL_CTX_use_PrivateKey(ctx_, cert.key) != 1) {
      abort();
    }
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = {};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd_, 8) != 0) abort();
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~TlsServer() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);  // wakes accept()
    thread_.join();
    close(fd_);
    SSL_CTX_free(ctx_);
  }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/jwks.json"; }
  int handshakes() const { return handshakes_; }

 private:
  void run() {
    while (!stop_) {
      int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      timeval tv{5, 0};
      setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      SSL* ssl = SSL_new(ctx_);
      SSL_set_fd(ssl, c);
      if (SSL_accept(ssl) == 1) {
        handshakes_++;
        char buf[4096];
        // The request (its content does not matter). A client that refused the certificate
        // after the handshake has closed: nothing to answer (and no write into a closed socket).
        if (SSL_read(ssl, buf, sizeof buf) > 0) {
          std::string body = kJwksJson;
          std::string r = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                          "Content-Length: " + std::to_string(body.size()) +
                          "\r\nConnection: close\r\n\r\n" + body;
          SSL_write(ssl, r.data(), static_cast<int>(r.size()));
          SSL_shutdown(ssl);
        }
      }
      SSL_free(ssl);
      ERR_clear_error();
      close(c);
    }
  }

  SSL_CTX* ctx_ = nullptr;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> handshakes_{0};
  std::thread thread_;
};

// A bundle that holds the server's CA is trusted; one that does not fails the fetch, whatever
// the system trusts.
void test_jwks_fetcher_https_trusts_the_bundle(void** state) {
  TestCert server_cert, other("tasker other CA");
  TlsServer server(server_cert);
  JwksFetch f;
  FetchOptions o;

  // (twice: a certificate already in the store is no error)
  o.ca = caBundle("server-ca.pem", other.pem() + server_cert.pem() + server_cert.pem());
  Drive d = fetch(f, server.url(), o);
  assert_status(Status::Ok, d.status);
  assert_string_equal(f.body().c_str(), kJwksJson);

  // The same trusted certificate under another host name (loop.dns.test resolves to 127.0.0.1
  // here): the name is still checked.
  requireDnsInterposed();
  std::string url = server.url();
  url.replace(url.find("127.0.0.1"), 9, "loop.dns.test");
  d = fetch(f, url, o);
  assert_status(Status::FetchFailed, d.status);
  assert_non_null(std::strstr(f.error().c_str(), "loop.dns.test"));

  o.ca = caBundle("other-ca.pem", other.pem());
  d = fetch(f, server.url(), o);
  assert_status(Status::FetchFailed, d.status);
  assert_non_null(std::strstr(f.error().c_str(), "certificate"));

  // libcurl's defaults (no bundle): the system CAs do not know this one either.
  d = fetch(f, server.url());
  assert_status(Status::FetchFailed, d.status);
  // Server side, the handshake completes where the client refuses the name only afterwards.
  assert_int_equal(server.handshakes(), 2);
}

// With a bundle, libcurl's CA directory is not consulted. Left on (libcurl switches only its CA
// file off for a CAINFO blob), OpenSSL looks up every unknown issuer in it (Debian:
// /etc/ssl/certs), so every system CA stayed trusted beside tasker_jwks_ca_file. Shown in a
// child process, in a private mount namespace whose CA directory holds the server's CA: libcurl's
// defaults then trust the server, and a fetch with a bundle that lacks it must still fail. Needs
// CAP_SYS_ADMIN (root in CI); skipped without it.
void test_jwks_fetcher_bundle_ignores_system_ca_directory(void** state) {
  const curl_version_info_data* v = curl_version_info(CURLVERSION_NOW);
  if (v == nullptr || v->capath == nullptr || v->capath[0] == '\0') skip();
  std::string capath = v->capath;
  std::string other_pem = TestCert("tasker other CA").pem();  // another name: looked up apart
  std::string bundle_path = tasker::test::writeFile("dir-other-ca.pem", other_pem);

  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    // 0: as expected; 10: no namespace (skip); anything else: the step that failed.
    auto put = [](const std::string& path, const std::string& text) {
      FILE* out = fopen(path.c_str(), "w");
      if (!out || fputs(text.c_str(), out) < 0 || fclose(out) != 0) _exit(2);
    };
    // libcurl's CA file may live in the directory (Debian's does): keep it there, unchanged.
    std::string cainfo = v->cainfo ? v->cainfo : "", cainfo_text;
    if (cainfo.compare(0, capath.size() + 1, capath + "/") == 0) {
      int err = 0;
      (void)tasker::readRegularFile(cainfo, tasker::kMaxCaBundleBytes, &cainfo_text, &err);
    }
    if (unshare(CLONE_NEWNS) != 0) _exit(10);
    if (mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) _exit(10);
    if (mount("tasker-test", capath.c_str(), "tmpfs", 0, "size=4m") != 0) _exit(10);
    if (!cainfo_text.empty()) put(cainfo, cainfo_text);
    TestCert server_cert;
    char hash[32];
    snprintf(hash, sizeof hash, "/%08lx.0", X509_subject_name_hash(server_cert.cert));
    put(capath + hash, server_cert.pem());
    TlsServer server(server_cert);
    FetchOptions o;
    // No cmocka assertion in the child: a failing one would jump into the copy of the runner.
    auto run = [&](const FetchOptions& opts) {
      JwksFetch f;
      if (f.start(server.url(), opts) != Status::Ok) return f.result();
      for (int i = 0; i < 2000; ++i) {
        bool done = false;
        Status s = f.step(&done);
        if (done) return s;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      return Status::Internal;
    };
    if (run(o) != Status::Ok) _exit(3);  // libcurl's defaults use the directory
    std::string error;
    if (tasker::readCaBundle(bundle_path, &o.ca, &error) != Status::Ok) _exit(4);
    if (run(o) != Status::FetchFailed) _exit(5);  // the leak
    _exit(0);
  }
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  if (WEXITSTATUS(st) == 10) skip();
  assert_int_equal(WEXITSTATUS(st), 0);
}

int setupServer(void** state) {
  if (tasker::test::scratchSetup("/tmp/tasker-ca-XXXXXX") != 0) return -1;
  g_server = new TestServer();
  return 0;
}
int teardownServer(void** state) {
  delete g_server;
  g_server = nullptr;
  return tasker::test::scratchTeardown(state);
}
int resetServer(void** state) {
  g_server->reset();
  return 0;
}

}  // namespace

int main() {
  // Loopback only: keep a proxy from the environment out of the picture.
  for (const char* v : {"http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy",
                        "ALL_PROXY", "no_proxy", "NO_PROXY"}) {
    unsetenv(v);
  }
  // The TLS test server writes with SSL_write, which cannot pass MSG_NOSIGNAL: a client that
  // went away must not kill the test binary.
  signal(SIGPIPE, SIG_IGN);
  if (tasker::fetcherGlobalInit() != Status::Ok) return 1;
#define T(name) cmocka_unit_test_setup(name, resetServer)
  const struct CMUnitTest tests[] = {
      T(test_jwks_fetcher_fetches_json_200),
      T(test_jwks_fetcher_sends_accept_and_user_agent),
      T(test_jwks_fetcher_http_500_is_http_status),
      T(test_jwks_fetcher_huge_error_page_is_http_status),
      T(test_jwks_fetcher_error_never_contains_body),
      T(test_jwks_fetcher_too_large_by_content_length),
      T(test_jwks_fetcher_too_large_chunked),
      T(test_jwks_fetcher_exactly_max_bytes_is_ok),
      T(test_jwks_fetcher_stall_times_out),
      T(test_jwks_fetcher_step_returns_promptly_while_stalled),
      T(test_jwks_fetcher_redirect_not_followed_by_default),
      T(test_jwks_fetcher_redirect_followed_when_enabled),
      T(test_jwks_fetcher_redirect_loop_capped),
      T(test_jwks_fetcher_redirect_to_other_scheme_refused),
      T(test_jwks_fetcher_connection_refused),
      T(test_jwks_fetcher_tls_error_is_fetch_failed),
      T(test_jwks_fetcher_rejects_non_http_schemes),
      T(test_jwks_fetcher_rejects_bad_options),
      T(test_jwks_fetcher_cancel_is_prompt_and_final),
      T(test_jwks_fetcher_step_when_idle),
      T(test_jwks_fetcher_suggested_delay_is_clamped),
      T(test_jwks_fetcher_restart_and_move),
      T(test_jwks_fetcher_slow_dns_does_not_block),
      T(test_jwks_fetcher_resolver_thread_blocks_signals),
      T(test_jwks_fetcher_async_dns_reported),
      T(test_jwks_fetcher_global_init_idempotent),
      T(test_jwks_fetcher_log_sink_redacts_url),
      T(test_jwks_fetcher_distinct_shown_url),
      T(test_jwks_fetcher_fetch_blocking),
      T(test_jwks_fetcher_ca_bundle_read_and_checked),
      T(test_jwks_fetcher_ca_bundle_fifo_refused),
      T(test_jwks_fetcher_system_ca_bundle),
      T(test_jwks_fetcher_https_trusts_the_bundle),
      T(test_jwks_fetcher_bundle_ignores_system_ca_directory),
  };
#undef T
  return cmocka_run_group_tests_name("jwks_fetcher", tests, setupServer, teardownServer);
}
