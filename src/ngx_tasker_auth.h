/*
 * Declarations shared by the nginx adapter's two files:
 * ngx_http_tasker_auth_module.cpp (directives, configuration, access handler,
 * variables) and src/ngx_tasker_runtime.cpp (shared memory zones, the JWKS
 * timer, process hooks, the per-worker token cache, the metrics endpoint).
 * Only src/ngx_* files may include nginx headers; the core never does.
 */

#pragma once

/* OpenSSL headers pulled in by ngx_http.h need INT_MAX in C++ */
#include <climits>

extern "C" {
#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
}

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth_engine.h"
#include "jwks_fetcher.h"
#include "metrics.h"
#include "tasker_limits.h"
#include "toml_config.h"


#define NGX_HTTP_TASKER_AUTH_PUBLIC_KEY  0
#define NGX_HTTP_TASKER_AUTH_JWKS        1

#define NGX_HTTP_TASKER_AUTH_MAX_LOG     128


/*
 * C++ objects built at configuration load (key sets, rule sets, registries,
 * policies) live in one store per configuration cycle. The store is deleted by
 * a cleanup on cf->pool, so a reload frees the old cycle's objects with it.
 * Conf structs only hold raw pointers into the store.
 */
struct ngx_http_tasker_auth_store_t {
    std::deque<tasker::KeySetConstPtr>                    keysets;
    std::map<std::string, const tasker::KeySetConstPtr *> key_cache;
    std::deque<std::shared_ptr<tasker::RuleSet>>          rules;
    std::deque<tasker::AuthSettings>                      settings;
    std::deque<std::shared_ptr<const tasker::ApiKeyRegistry>> registries;
    std::deque<tasker::AuthPolicy>                        policies;
    std::deque<std::string>                               strings;
};


typedef struct {
    ngx_str_t                         key;
    ngx_str_t                         permissions;   /* comma-separated */
    ngx_str_t                         description;
    ngx_str_t                         file;
    ngx_uint_t                        line;
} ngx_http_tasker_auth_key_decl_t;


typedef struct {
    ngx_array_t                       decls;         /* key_decl_t */
    /* the compiled registry, one per strict_validation value */
    const std::shared_ptr<const tasker::ApiKeyRegistry> *built[2];
} ngx_http_tasker_auth_keys_t;


/* One JWKS URL: the refresh settings every location using it agreed on. */
typedef struct {
    ngx_str_t                         url;
    std::string                      *shown;         /* redacted, for logs */
    time_t                            refresh_interval;
    ngx_int_t                         metrics_slot;
} ngx_http_tasker_auth_jwks_conf_t;


/*
 * Per URL in the JWKS zone: the last good document, shared by all workers.
 * One worker at a time claims the fetch (fetching_pid); every worker rebuilds
 * its own parsed KeySet when `version` changes. Guarded by the zone's mutex.
 */
typedef struct {
    u_char                            url[tasker::kMetricsUrlBytes];
    size_t                            url_len;
    uint64_t                          version;       /* 0: never loaded */
    time_t                            last_success;
    time_t                            last_fetch;    /* start of last fetch */
    time_t                            next_fetch;
    time_t                            claimed_at;
    ngx_pid_t                         fetching_pid;  /* 0: nobody fetches */
    ngx_uint_t                        failures;      /* consecutive */
    ngx_uint_t                        early_refresh;
    size_t                            body_len;
    u_char                            body[tasker::kMaxJwksBytes];
} ngx_http_tasker_auth_jwks_slot_t;


typedef struct {
    ngx_uint_t                        nslots;
    ngx_http_tasker_auth_jwks_slot_t  slots[1];
} ngx_http_tasker_auth_jwks_shm_t;


typedef struct {
    ngx_http_tasker_auth_store_t     *store;
    ngx_array_t                       jwks;          /* jwks_conf_t */
    ngx_str_t                         jwks_ca_file;
    ngx_int_t                         jwt_cache_size;
    ngx_flag_t                        jwks_follow_redirects;
    ngx_shm_zone_t                   *metrics_zone;
    tasker::MetricsBlock             *metrics;
    ngx_shm_zone_t                   *jwks_zone;
    ngx_slab_pool_t                  *jwks_pool;
    ngx_http_tasker_auth_jwks_shm_t  *jwks_shm;
} ngx_http_tasker_auth_main_conf_t;


/* Worker-local view of one JWKS URL. */
struct ngx_http_tasker_auth_jwks_local_t {
    uint64_t                          version = 0;
    tasker::KeySetConstPtr            keys;
    tasker::JwksFetch                 fetch;
};

/* per worker, indexed like main_conf->jwks; NULL until init_process */
extern std::vector<ngx_http_tasker_auth_jwks_local_t>
                                     *ngx_http_tasker_auth_jwks_locals;


typedef struct {
    ngx_flag_t                        enable;
    std::shared_ptr<tasker::RuleSet> *rules;
    ngx_str_t                         issuer;
    ngx_str_t                         audience;
    const tasker::KeySetConstPtr     *key_path;
    ngx_str_t                         key_path_name;
    const tasker::KeySetConstPtr     *key_inline;
    const tasker::KeySetConstPtr     *key;           /* effective, merged */
    ngx_str_t                         key_name;      /* for messages */
    ngx_uint_t                        verification_method;
    ngx_str_t                         jwks_url;
    ngx_uint_t                        jwks_index;
    time_t                            jwks_refresh_interval;
    time_t                            jwks_max_stale;
    ngx_uint_t                        algorithms;
    time_t                            leeway;
    ngx_str_t                         permissions_claim;
    ngx_flag_t                        strict;
    ngx_flag_t                        log_unknown;
    ngx_flag_t                        api_keys_enabled;
    ngx_str_t                         api_key_header;
    ngx_http_tasker_auth_keys_t      *api_keys;
    const tasker::AuthSettings       *file;
    ngx_str_t                         file_name;
    ngx_uint_t                        success_log_level;
    const tasker::AuthPolicy         *policy;
    unsigned                          key_error:1;
} ngx_http_tasker_auth_loc_conf_t;


typedef struct {
    ngx_str_t                         subject;
    ngx_str_t                         permissions;
    const char                       *method;
    tasker::ClaimsConstPtr           *claims;        /* placement-new in r->pool */
} ngx_http_tasker_auth_ctx_t;


extern "C" {
extern ngx_module_t  ngx_http_tasker_auth_module;
}


static inline std::string_view
ngx_http_tasker_auth_sv(const ngx_str_t *s)
{
    return std::string_view(reinterpret_cast<const char *>(s->data), s->len);
}


/* src/ngx_tasker_runtime.cpp */
ngx_int_t ngx_http_tasker_auth_add_zones(ngx_conf_t *cf,
    ngx_http_tasker_auth_main_conf_t *mcf);
ngx_int_t ngx_http_tasker_auth_init_module(ngx_cycle_t *cycle);
ngx_int_t ngx_http_tasker_auth_init_process(ngx_cycle_t *cycle);
void ngx_http_tasker_auth_exit_process(ngx_cycle_t *cycle);
ngx_int_t ngx_http_tasker_auth_metrics_handler(ngx_http_request_t *r);
tasker::TokenCache *ngx_http_tasker_auth_worker_cache(
    ngx_http_tasker_auth_main_conf_t *mcf);
