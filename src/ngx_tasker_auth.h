/*
 * Declarations shared by the nginx adapter's files:
 *
 *   ngx_http_tasker_auth_module.cpp  directive table, module, create/merge,
 *                                    access handler, variables, init
 *   src/ngx_tasker_conf.cpp          directive setters, the per-cycle store,
 *                                    TOML overlay, policies, key sets, JWKS
 *                                    registration
 *   src/ngx_tasker_response.cpp      JSON and gRPC answers, the challenge
 *                                    header, the buffer sender (also /metrics)
 *   src/ngx_tasker_runtime.cpp       shared zones, the JWKS timer and its
 *                                    slot accessors, process hooks, the token
 *                                    cache, the metrics endpoint
 *
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
#include "hot.h"
#include "jwks_fetcher.h"
#include "jwks_slots.h"
#include "metrics.h"
#include "settings.h"
#include "tasker_limits.h"


/* NGX_CONF_ERROR as the char * every setter and merge returns */
#define NGX_HTTP_TASKER_CONF_ERROR  ((char *) NGX_CONF_ERROR)

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
    std::deque<tasker::Settings>                          settings;
    std::deque<std::vector<tasker::ApiKeySpec>>           key_specs;
    std::deque<std::shared_ptr<const tasker::ApiKeyRegistry>> registries;
    std::deque<tasker::AuthPolicy>                        policies;
    std::deque<std::string>                               strings;
    /* what https JWKS endpoints are verified against: tasker_jwks_ca_file, or
     * the system bundle read at load (ngx_http_tasker_auth_jwks_trust) */
    std::shared_ptr<const tasker::CaBundle>               jwks_ca;
};


/* The API keys one block declares (directives or TOML), built lazily. */
typedef struct {
    std::vector<tasker::ApiKeySpec>  *specs;         /* in the store */
    /* the compiled registry, one per strict_validation value */
    const std::shared_ptr<const tasker::ApiKeyRegistry> *built[2];
} ngx_http_tasker_auth_keys_t;


/* One JWKS URL: the refresh settings every location using it agreed on. */
typedef struct {
    ngx_str_t                         url;
    std::string                      *shown;         /* redacted */
    time_t                            refresh_interval;
    time_t                            max_stale;     /* longest; 0: none */
    ngx_int_t                         metrics_slot;
    uint64_t                          metrics_source; /* metricsUrlSource
                                                         of url */
    /* its slot in the JWKS zone and that slot's epoch, set as the zone is
     * initialised (so inherited by the cycle's workers) */
    ngx_uint_t                        slot;
    uint64_t                          epoch;
} ngx_http_tasker_auth_jwks_conf_t;


/*
 * Per URL in the JWKS zone: the last good document, shared by all workers.
 * One worker at a time claims the fetch (fetching_pid); every worker rebuilds
 * its own parsed KeySet when `version` changes. Guarded by the zone's mutex.
 *
 * A slot belongs to a URL across reloads (matched by URL, not by position),
 * and `epoch` changes whenever a reload gives the slot to another URL. The
 * workers of a cycle act on a slot only while its epoch is the one their
 * cycle saw: a worker of an older cycle, still finishing requests after a
 * reload, can then never publish its URL's keys into another URL's slot.
 */
typedef struct {
    uint64_t                          epoch;
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


/* kJwksZoneSlots slots always (src/jwks_slots.h): the zone keeps its size,
 * so a reload that adds or removes URLs keeps the others' documents */
typedef struct {
    ngx_uint_t                        nslots;
    ngx_http_tasker_auth_jwks_slot_t  slots[tasker::kJwksZoneSlots];
} ngx_http_tasker_auth_jwks_shm_t;


typedef struct {
    ngx_http_tasker_auth_store_t     *store;
    ngx_array_t                       jwks;          /* jwks_conf_t */
    ngx_int_t                         jwt_cache_size;
    ngx_flag_t                        jwks_follow_redirects;
    ngx_shm_zone_t                   *metrics_zone;
    tasker::MetricsBlock             *metrics;
    ngx_shm_zone_t                   *jwks_zone;
    ngx_slab_pool_t                  *jwks_pool;
    ngx_http_tasker_auth_jwks_shm_t  *jwks_shm;
} ngx_http_tasker_auth_main_conf_t;


typedef struct {
    ngx_str_t                         issuer;
    ngx_str_t                         audience;
    ngx_str_t                         permissions_claim;
    ngx_uint_t                        algorithms;    /* tasker::AlgMask */
    time_t                            leeway;
    ngx_flag_t                        strict;
    const tasker::KeySetConstPtr     *key_path;
    ngx_str_t                         key_path_name; /* as written */
    const tasker::KeySetConstPtr     *key_inline;
    const tasker::KeySetConstPtr     *key;           /* effective, merged */
    ngx_str_t                         key_name;      /* for messages */
    ngx_str_t                         algorithms_from;    /* the TOML key,
                                                             or empty */
    ngx_flag_t                        algorithms_default; /* left unset */
    ngx_str_t                         key_from;      /* the TOML key of
                                                        key_path (else of
                                                        key_inline) when the
                                                        block's file set
                                                        them, or empty */
} ngx_http_tasker_auth_jwt_conf_t;


typedef struct {
    ngx_uint_t                        method;        /* VerificationMethod */
    ngx_str_t                         method_from;   /* for messages: the */
    ngx_str_t                         url;
    ngx_str_t                         url_from;      /* TOML key each came
                                                        from, or empty */
    ngx_uint_t                        index;         /* into mcf->jwks */
    time_t                            refresh_interval;
    time_t                            max_stale;
    ngx_str_t                         max_stale_from; /* for messages: the
                                                         TOML key it came
                                                         from, or empty */
} ngx_http_tasker_auth_jwks_loc_conf_t;


typedef struct {
    ngx_flag_t                        enabled;
    ngx_str_t                         header;
    ngx_str_t                         header_lc;    /* lower case, set at merge */
    ngx_http_tasker_auth_keys_t      *keys;
    ngx_str_t                         keys_from;    /* for messages: the */
    ngx_str_t                         enabled_from; /* TOML key each came */
    ngx_str_t                         header_from;  /* from, or empty */
} ngx_http_tasker_auth_api_keys_conf_t;


typedef struct {
    ngx_flag_t                        unknown_permissions;
    ngx_uint_t                        success_level; /* 0: off */
} ngx_http_tasker_auth_log_conf_t;


#define NGX_HTTP_TASKER_AUTH_PREFETCH  6

typedef struct {
    ngx_flag_t                            enable;
    /*
     * what a decision reads (AuthPolicy::requestLines), set with policy;
     * every slot is set (the unused ones repeat the policy)
     */
    const void                           *prefetch[NGX_HTTP_TASKER_AUTH_PREFETCH];
    std::shared_ptr<tasker::RuleSet>     *rules;
    ngx_http_tasker_auth_jwt_conf_t       jwt;
    ngx_http_tasker_auth_jwks_loc_conf_t  jwks;
    ngx_http_tasker_auth_api_keys_conf_t  api_keys;
    ngx_http_tasker_auth_log_conf_t       log;
    const tasker::Settings               *toml;      /* tasker_auth_config */
    const tasker::AuthPolicy             *policy;    /* NULL: not enforced */
    ngx_flag_t                            metrics;   /* own tasker_auth_metrics */
    ngx_str_t                             enable_from; /* for messages: the
                                                          TOML key, or empty */
    /* where the block opens (http, server, location): merge-time errors */
    ngx_str_t                             block_file;
    ngx_uint_t                            block_line;
} ngx_http_tasker_auth_loc_conf_t;


struct ngx_http_tasker_auth_pending_s;  /* ngx_tasker_response.cpp */


/*
 * What the access handler decided, for the $tasker_* variables. The identity
 * is kept, not copied: the variables build their values from it on first
 * read, so a request whose configuration reads none copies nothing.
 */
typedef struct {
    const char                       *method;       /* NULL: not authenticated */
    const tasker::ApiKeyEntry        *api_key;      /* the configuration's */
    /* a JWT's verified result, placement-new in a pool cleanup */
    tasker::VerifiedTokenRef         *token;
    ngx_str_t                         subject;      /* built on first read */
    ngx_str_t                         permissions;  /* built on first read */
    /*
     * satisfy any: a rejection the module answers only when no other access
     * module (auth_request, auth_basic, ...) lets the request through; NULL
     * when there is none (ngx_tasker_response.cpp). A pointer, so that the
     * context every request initialises stays small.
     */
    struct ngx_http_tasker_auth_pending_s  *pending;
    unsigned                          subject_built:1;
    unsigned                          permissions_built:1;
    /*
     * What this request has counted, kept across internal redirects (the
     * context lives in a pool cleanup, found again as realip finds its own):
     * each check counts only what the request has not counted yet.
     */
    struct {
        unsigned                      success:1;
        unsigned                      rejection:1;
        unsigned                      failure:1;
        unsigned                      denial:1;
    }                                 counted;
} ngx_http_tasker_auth_ctx_t;


extern "C" {
extern ngx_module_t  ngx_http_tasker_auth_module;
}


static inline std::string_view
ngx_http_tasker_auth_sv(const ngx_str_t *s)
{
    return std::string_view(reinterpret_cast<const char *>(s->data), s->len);
}


/*
 * How a merge message names a setting: the tasker_auth_config key it came
 * from ("tasker_auth_config auth.toml:4: api_keys_enabled"), recorded by
 * the overlay in a *_from field, or else its directive.
 */
static inline ngx_str_t
ngx_http_tasker_auth_origin(const ngx_str_t &from, const char *directive)
{
    ngx_str_t  name = from;

    if (name.len == 0) {
        name.data = (u_char *) directive;
        name.len = ngx_strlen(directive);
    }

    return name;
}


/*
 * The functions below are shared by the adapter's files only: hidden, so that
 * calls between them are direct, not through the module's PLT (the request
 * path calls several). The module object above stays visible to nginx.
 */
#pragma GCC visibility push(hidden)

/* src/ngx_tasker_conf.cpp */
char *ngx_http_tasker_auth_permission(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_tasker_auth_public_key_path(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_tasker_auth_public_key(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_tasker_auth_verification_method(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
char *ngx_http_tasker_auth_jwks_url(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_tasker_auth_jwks_trust(ngx_conf_t *cf,
    ngx_http_tasker_auth_main_conf_t *mcf);
char *ngx_http_tasker_auth_jwks_ca_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_tasker_auth_sec_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_tasker_auth_check_duration(ngx_conf_t *cf, void *post,
    void *data);
char *ngx_http_tasker_auth_check_refresh(ngx_conf_t *cf, void *post,
    void *data);
char *ngx_http_tasker_auth_check_text(ngx_conf_t *cf, void *post, void *data);
char *ngx_http_tasker_auth_check_header(ngx_conf_t *cf, void *post,
    void *data);
char *ngx_http_tasker_auth_enum_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_tasker_auth_algorithms(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_tasker_auth_api_key(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_tasker_auth_config(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_tasker_auth_cache_size(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_tasker_auth_claim_set(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_tasker_auth_create_store(ngx_conf_t *cf,
    ngx_http_tasker_auth_main_conf_t *mcf);
char *ngx_http_tasker_auth_apply_settings(ngx_conf_t *cf,
    ngx_http_tasker_auth_loc_conf_t *conf);
char *ngx_http_tasker_auth_build_policy(ngx_conf_t *cf,
    ngx_http_tasker_auth_loc_conf_t *conf);

/* ngx_http_tasker_auth_module.cpp: the getter of tasker_jwt_claim_set variables */
ngx_int_t ngx_http_tasker_auth_claim_set_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);

/* src/ngx_tasker_response.cpp */
ngx_int_t ngx_http_tasker_auth_send_buffer(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *type, ngx_buf_t *b);
ngx_int_t ngx_http_tasker_auth_reject(ngx_http_request_t *r,
    const tasker::Decision &d);
ngx_int_t ngx_http_tasker_auth_pending_handler(ngx_http_request_t *r);

/* src/ngx_tasker_runtime.cpp */
ngx_int_t ngx_http_tasker_auth_add_zones(ngx_conf_t *cf,
    ngx_http_tasker_auth_main_conf_t *mcf);
ngx_int_t ngx_http_tasker_auth_check_reload(ngx_conf_t *cf,
    ngx_http_tasker_auth_main_conf_t *mcf);
ngx_int_t ngx_http_tasker_auth_init_module(ngx_cycle_t *cycle);
ngx_int_t ngx_http_tasker_auth_init_process(ngx_cycle_t *cycle);
void ngx_http_tasker_auth_exit_process(ngx_cycle_t *cycle);
ngx_int_t ngx_http_tasker_auth_metrics_handler(ngx_http_request_t *r);
tasker::TokenCache *ngx_http_tasker_auth_worker_cache(
    ngx_http_tasker_auth_main_conf_t *mcf);
/* this worker's metrics lane (the handler prefetches it) */
extern tasker::MetricsWriter  ngx_http_tasker_auth_lane;
tasker::MetricsWriter ngx_http_tasker_auth_worker_metrics(
    ngx_http_tasker_auth_main_conf_t *mcf);
const tasker::KeySet *ngx_http_tasker_auth_jwks_keys(
    ngx_http_tasker_auth_main_conf_t *mcf, ngx_uint_t index, time_t max_stale,
    time_t now);
void ngx_http_tasker_auth_jwks_unknown_kid(
    ngx_http_tasker_auth_main_conf_t *mcf, ngx_uint_t index, time_t now);

#pragma GCC visibility pop
