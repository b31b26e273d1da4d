/*
 * ngx_http_tasker_auth_module: tasker API security at the nginx gateway.
 *
 * The thin nginx adapter, laid out like nginx's own access modules: the
 * directive table, the module, create/merge of the configuration, the access
 * handler, the variables and the init. At configuration load each location
 * gets an immutable tasker::AuthPolicy; in the access phase the request's
 * header bytes go to the core (src/), which knows nothing about nginx. Every
 * callback nginx can reach stops C++ exceptions.
 *
 *   src/ngx_tasker_conf.cpp      directive setters, the per-cycle store, the
 *                                tasker_auth_config overlay, policies
 *   src/ngx_tasker_response.cpp  rejections (JSON, gRPC, error_page)
 *   src/ngx_tasker_runtime.cpp   shared zones, JWKS timer, process hooks,
 *                                token cache, metrics endpoint
 */

#include "ngx_tasker_auth.h"

#include <new>

#include "ct_equal.h"


/* what a $tasker_auth_* variable shows (ngx_http_variable_t.data) */
enum {
    NGX_HTTP_TASKER_AUTH_VAR_SUBJECT = 0,
    NGX_HTTP_TASKER_AUTH_VAR_METHOD,
    NGX_HTTP_TASKER_AUTH_VAR_PERMISSIONS
};


static ngx_int_t ngx_http_tasker_auth_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_tasker_auth_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_http_tasker_auth_init(ngx_conf_t *cf);
static void *ngx_http_tasker_auth_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_tasker_auth_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_tasker_auth_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_tasker_auth_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static char *ngx_http_tasker_auth_metrics(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_tasker_auth_check_metrics(ngx_conf_t *cf,
    ngx_http_tasker_auth_loc_conf_t *conf);


static ngx_conf_post_t  ngx_http_tasker_auth_duration_post =
    { ngx_http_tasker_auth_check_duration };

static ngx_conf_post_t  ngx_http_tasker_auth_refresh_post =
    { ngx_http_tasker_auth_check_refresh };

static ngx_conf_post_t  ngx_http_tasker_auth_text_post =
    { ngx_http_tasker_auth_check_text };

static ngx_conf_post_t  ngx_http_tasker_auth_header_post =
    { ngx_http_tasker_auth_check_header };


/* 0 is "off": no success line at all */
static ngx_conf_enum_t  ngx_http_tasker_auth_log_levels[] = {
    { ngx_string("off"), 0 },
    { ngx_string("notice"), NGX_LOG_NOTICE },
    { ngx_string("info"), NGX_LOG_INFO },
    { ngx_string("debug"), NGX_LOG_DEBUG },
    { ngx_null_string, 0 }
};


#define NGX_HTTP_TASKER_AUTH_CONF                                            \
    (NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF)

#define ngx_http_tasker_auth_loc_offset(field)                              \
    offsetof(ngx_http_tasker_auth_loc_conf_t, field)


static ngx_command_t  ngx_http_tasker_auth_commands[] = {

    { ngx_string("tasker_auth"),
      NGX_HTTP_TASKER_AUTH_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      ngx_http_tasker_auth_loc_offset(enable),
      NULL },

    { ngx_string("tasker_permission"),
      NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_tasker_auth_permission,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("tasker_jwt_issuer"),
      NGX_HTTP_TASKER_AUTH_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      ngx_http_tasker_auth_loc_offset(jwt.issuer),
      &ngx_http_tasker_auth_text_post },

    { ngx_string("tasker_jwt_audience"),
      NGX_HTTP_TASKER_AUTH_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      ngx_http_tasker_auth_loc_offset(jwt.audience),
      &ngx_http_tasker_auth_text_post },

    { ngx_string("tasker_jwt_public_key_path"),
      NGX_HTTP_TASKER_AUTH_CONF|NGX_CONF_TAKE1,
      ngx_http_tasker_auth_public_key_path,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("tasker_jwt_public_key"),
      NGX_HTTP_TASKER_AUTH_CONF|NGX_CONF_TAKE1,
      ngx_http_tasker_auth_public_key,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("tasker_jwt_verification_method"),
      NGX_HTTP_TASKER_AUTH_CONF|NGX_CONF_TAKE1,
      ngx_http_tasker_auth_verification_method,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("tasker_jwks_url"),
      NGX_HTTP_TASKER_AUTH_CONF|NGX_CONF_TAKE1,
      ngx_http_tasker_auth_jwks_url,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("tasker_jwks_refresh_interval"),
      NGX_HTTP_TASKER_AUTH_CONF|NGX_CONF_TAKE1,
      ngx_http_tasker_auth_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      ngx_http_tasker_auth_loc_offset(jwks.refresh_interval),
      &ngx_http_tasker_auth_refresh_post },

    { ngx_string("tasker_jwks_max_stale"),
      NGX_HTTP_TASKER_AUTH_CONF|NGX_CONF_TAKE1,
      ngx_http_tasker_auth_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      ngx_http_tasker_auth_loc_offset(jwks.max_stale),
      &ngx_http_tasker_auth_duration_post },

    { ngx_string("tasker_jwt_allowed_algorithms"),
      NGX_HTTP_TASKER_AUTH_CONF|NGX_CONF_1MORE,
      ngx_http_tasker_auth_algorithms,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("tasker_jwt_leeway"),
      NGX_HTTP_TASKER_AUTH_CONF|NGX_CONF_TAKE1,
      ngx_http_tasker_auth_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      ngx_http_tasker_auth_loc_offset(jwt.leeway),
      &ngx_http_tasker_auth_duration_post },

    { ngx_string("tasker_permissions_claim"),
      NGX_HTTP_TASKER_AUTH_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      ngx_http_tasker_auth_loc_offset(jwt.permissions_claim),
      &ngx_http_tasker_auth_text_post },

    { ngx_string("tasker_strict_validation"),
      NGX_HTTP_TASKER_AUTH_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      ngx_http_tasker_auth_loc_offset(jwt.strict),
      NULL },

    { ngx_string("tasker_log_unknown_permissions"),
      NGX_HTTP_TASKER_AUTH_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      ngx_http_tasker_auth_loc_offset(log.unknown_permissions),
      NULL },

    { ngx_string("tasker_api_keys_enabled"),
      NGX_HTTP_TASKER_AUTH_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      ngx_http_tasker_auth_loc_offset(api_keys.enabled),
      NULL },

    { ngx_string("tasker_api_key_header"),
      NGX_HTTP_TASKER_AUTH_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      ngx_http_tasker_auth_loc_offset(api_keys.header),
      &ngx_http_tasker_auth_header_post },

    { ngx_string("tasker_api_key"),
      NGX_HTTP_TASKER_AUTH_CONF|NGX_CONF_TAKE23,
      ngx_http_tasker_auth_api_key,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("tasker_auth_config"),
      NGX_HTTP_TASKER_AUTH_CONF|NGX_CONF_TAKE12,
      ngx_http_tasker_auth_config,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("tasker_auth_success_log_level"),
      NGX_HTTP_TASKER_AUTH_CONF|NGX_CONF_TAKE1,
      ngx_http_tasker_auth_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      ngx_http_tasker_auth_loc_offset(log.success_level),
      &ngx_http_tasker_auth_log_levels },

    { ngx_string("tasker_auth_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_tasker_auth_metrics,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("tasker_jwt_cache_size"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_tasker_auth_cache_size,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_tasker_auth_main_conf_t, jwt_cache_size),
      NULL },

    { ngx_string("tasker_jwks_follow_redirects"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_tasker_auth_main_conf_t, jwks_follow_redirects),
      NULL },

    { ngx_string("tasker_jwks_ca_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_tasker_auth_jwks_ca_file,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("tasker_jwt_claim_set"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_tasker_auth_claim_set,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_tasker_auth_module_ctx = {
    ngx_http_tasker_auth_add_variables,    /* preconfiguration */
    ngx_http_tasker_auth_init,             /* postconfiguration */

    ngx_http_tasker_auth_create_main_conf, /* create main configuration */
    ngx_http_tasker_auth_init_main_conf,   /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_tasker_auth_create_loc_conf,  /* create location configuration */
    ngx_http_tasker_auth_merge_loc_conf    /* merge location configuration */
};


ngx_module_t  ngx_http_tasker_auth_module = {
    NGX_MODULE_V1,
    &ngx_http_tasker_auth_module_ctx,      /* module context */
    ngx_http_tasker_auth_commands,         /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_tasker_auth_init_module,      /* init module */
    ngx_http_tasker_auth_init_process,     /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_tasker_auth_exit_process,     /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* ---- configuration ---------------------------------------------------- */

static void *
ngx_http_tasker_auth_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_tasker_auth_main_conf_t  *mcf;

    mcf = (ngx_http_tasker_auth_main_conf_t *)
              ngx_pcalloc(cf->pool, sizeof(ngx_http_tasker_auth_main_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     mcf->metrics_zone = NULL;
     *     mcf->metrics = NULL;
     *     mcf->jwks_zone = NULL;
     *     mcf->jwks_pool = NULL;
     *     mcf->jwks_shm = NULL;
     */

    if (ngx_http_tasker_auth_create_store(cf, mcf) != NGX_OK) {
        return NULL;
    }

    if (ngx_array_init(&mcf->jwks, cf->pool, 2,
                       sizeof(ngx_http_tasker_auth_jwks_conf_t))
        != NGX_OK)
    {
        return NULL;
    }

    mcf->jwt_cache_size = NGX_CONF_UNSET;
    mcf->jwks_follow_redirects = NGX_CONF_UNSET;

    return mcf;
}


static char *
ngx_http_tasker_auth_init_main_conf(ngx_conf_t *cf, void *conf)
{
    auto  *mcf = static_cast<ngx_http_tasker_auth_main_conf_t *>(conf);

    ngx_conf_init_value(mcf->jwt_cache_size,
                        (ngx_int_t) tasker::kTokenCacheDefaultEntries);
    ngx_conf_init_value(mcf->jwks_follow_redirects, 0);

    return NGX_CONF_OK;
}


static void *
ngx_http_tasker_auth_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_tasker_auth_loc_conf_t  *conf;

    conf = (ngx_http_tasker_auth_loc_conf_t *)
               ngx_pcalloc(cf->pool, sizeof(ngx_http_tasker_auth_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->rules = NULL;
     *     conf->jwt.issuer = { 0, NULL };
     *     conf->jwt.audience = { 0, NULL };
     *     conf->jwt.permissions_claim = { 0, NULL };
     *     conf->jwt.key_path = NULL;
     *     conf->jwt.key_path_name = { 0, NULL };
     *     conf->jwt.key_inline = NULL;
     *     conf->jwt.key = NULL;
     *     conf->jwt.key_name = { 0, NULL };
     *     conf->jwt.algorithms_from = { 0, NULL };
     *     conf->jwt.algorithms_default = 0;
     *     conf->jwt.key_from = { 0, NULL };
     *     conf->jwks.method_from = { 0, NULL };
     *     conf->jwks.url = { 0, NULL };
     *     conf->jwks.url_from = { 0, NULL };
     *     conf->jwks.index = 0;
     *     conf->jwks.max_stale_from = { 0, NULL };
     *     conf->api_keys.header = { 0, NULL };
     *     conf->api_keys.header_lc = { 0, NULL };
     *     conf->api_keys.keys = NULL;
     *     conf->api_keys.keys_from = { 0, NULL };
     *     conf->api_keys.enabled_from = { 0, NULL };
     *     conf->api_keys.header_from = { 0, NULL };
     *     conf->toml = NULL;
     *     conf->policy = NULL;
     *     conf->prefetch = { NULL, ... };
     *     conf->block_file = { 0, NULL };
     *     conf->block_line = 0;
     *     conf->metrics = 0;
     *     conf->enable_from = { 0, NULL };
     */

    conf->enable = NGX_CONF_UNSET;
    conf->jwt.algorithms = NGX_CONF_UNSET_UINT;
    conf->jwt.leeway = NGX_CONF_UNSET;
    conf->jwt.strict = NGX_CONF_UNSET;
    conf->jwks.method = NGX_CONF_UNSET_UINT;
    conf->jwks.refresh_interval = NGX_CONF_UNSET;
    conf->jwks.max_stale = NGX_CONF_UNSET;
    conf->api_keys.enabled = NGX_CONF_UNSET;
    conf->log.unknown_permissions = NGX_CONF_UNSET;
    conf->log.success_level = NGX_CONF_UNSET_UINT;

    /* called as the block opens: cf->conf_file is at its first line */
    if (cf->conf_file != NULL) {
        conf->block_file = cf->conf_file->file.name;
        conf->block_line = cf->conf_file->line;
    }

    return conf;
}


/*
 * The key a block uses: its own (the path wins over inline PEM), else the
 * parent's. The http block's conf is never merged itself, so its own key is
 * taken from its path or inline fields here.
 */
static void
ngx_http_tasker_auth_merge_key(ngx_http_tasker_auth_jwt_conf_t *conf,
    ngx_http_tasker_auth_jwt_conf_t *prev)
{
    if (prev->key == NULL && prev->key_path != NULL) {
        prev->key = prev->key_path;
        prev->key_name = prev->key_path_name;

    } else if (prev->key == NULL && prev->key_inline != NULL) {
        prev->key = prev->key_inline;
        ngx_str_set(&prev->key_name, "<inline PEM>");
    }

    if (conf->key_path != NULL) {
        conf->key = conf->key_path;
        conf->key_name = conf->key_path_name;

    } else if (conf->key_inline != NULL) {
        conf->key = conf->key_inline;
        ngx_str_set(&conf->key_name, "<inline PEM>");

    } else {
        conf->key = prev->key;
        conf->key_name = prev->key_name;
    }
}


/*
 * The fields that point at objects in the cycle store: NULL means "not set"
 * (they are pcalloc'd and filled by their setters), so nginx's pointer merge
 * macro, which expects NGX_CONF_UNSET_PTR, does not fit.
 */
static void
ngx_http_tasker_auth_merge_objects(ngx_conf_t *cf,
    ngx_http_tasker_auth_loc_conf_t *conf,
    ngx_http_tasker_auth_loc_conf_t *prev)
{
    if (conf->jwks.url.data == NULL) {
        conf->jwks.url = prev->jwks.url;
        conf->jwks.url_from = prev->jwks.url_from;
    }

    /* array directives replace, never extend, what they inherit */
    if (conf->rules == NULL) {
        conf->rules = prev->rules;
    }

    if (conf->api_keys.keys == NULL) {
        conf->api_keys.keys = prev->api_keys.keys;
        conf->api_keys.keys_from = prev->api_keys.keys_from;

    } else if (!conf->api_keys.enabled) {
        /* each named as the operator wrote it: directive or file key */
        ngx_str_t  keys = ngx_http_tasker_auth_origin(conf->api_keys.keys_from,
                                                      "tasker_api_key");
        ngx_str_t  enabled = ngx_http_tasker_auth_origin(
                                 conf->api_keys.enabled_from,
                                 "tasker_api_keys_enabled");

        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "tasker_auth: %V is configured but %V is off, "
                           "so the keys are not accepted", &keys, &enabled);
    }

    ngx_http_tasker_auth_merge_key(&conf->jwt, &prev->jwt);
}


/*
 * A key source the block names itself that its verification method would
 * ignore: a conflict (SPEC 2). The block's own values are its directives and
 * its tasker_auth_config file's; each is named as the operator wrote it.
 * Inherited values are not: an inner block may switch the method, leaving the
 * outer URL or key unused.
 */
static char *
ngx_http_tasker_auth_check_key_source(ngx_conf_t *cf,
    ngx_http_tasker_auth_loc_conf_t *conf, bool own_url, bool own_key)
{
    bool        jwks, file;
    ngx_str_t   method, source;

    jwks = conf->jwks.method == (ngx_uint_t) tasker::VerificationMethod::Jwks;
    file = conf->jwks.method_from.len != 0;
    method = ngx_http_tasker_auth_origin(conf->jwks.method_from,
                                         "tasker_jwt_verification_method");

    if (!jwks && own_url && conf->jwt.key != NULL) {
        source = ngx_http_tasker_auth_origin(conf->jwks.url_from,
                                             "tasker_jwks_url");

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "tasker_auth: %V is set in this block, but %V is "
                           "public_key, so the URL would be ignored: remove "
                           "it, or set %s and remove the public key",
                           &source, &method,
                           file ? "jwt_verification_method = \"jwks\""
                                : "\"tasker_jwt_verification_method jwks;\"");
        return NGX_HTTP_TASKER_CONF_ERROR;
    }

    if (jwks && own_key) {
        source = ngx_http_tasker_auth_origin(conf->jwt.key_from,
                                             conf->jwt.key_path != NULL
                                             ? "tasker_jwt_public_key_path"
                                             : "tasker_jwt_public_key");

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "tasker_auth: %V is set in this block, but %V is "
                           "jwks, so the key would be ignored: remove it, or "
                           "use %s", &source, &method,
                           file ? "jwt_verification_method = \"public_key\""
                                : "\"tasker_jwt_verification_method "
                                  "public_key;\"");
        return NGX_HTTP_TASKER_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * The API key header, lower-cased for the request path, which compares it
 * with nginx's lower-cased header names.
 *
 * nginx's request parsers (HTTP/1.x, 2 and 3) mark a header name invalid
 * when it holds anything but letters, digits and '-', or '_' without
 * underscores_in_headers, and with ignore_invalid_headers on, the default,
 * they drop the header before any module runs (logging it, value included,
 * at info). Where API keys are on, a header so named would never arrive:
 * every key would be "missing". The settings are the location's server's;
 * nginx reads them from the default server of the address for HTTP/1.x
 * (README).
 */
static char *
ngx_http_tasker_auth_set_header(ngx_conf_t *cf,
    ngx_http_tasker_auth_loc_conf_t *conf)
{
    char                       c;
    ngx_str_t                  name;
    ngx_http_core_srv_conf_t  *cscf;

    conf->api_keys.header_lc.len = conf->api_keys.header.len;
    conf->api_keys.header_lc.data = (u_char *) ngx_pnalloc(cf->pool,
                                                 conf->api_keys.header.len + 1);
    if (conf->api_keys.header_lc.data == NULL) {
        return (char *) NGX_CONF_ERROR;
    }

    ngx_strlow(conf->api_keys.header_lc.data, conf->api_keys.header.data,
               conf->api_keys.header.len);

    cscf = (ngx_http_core_srv_conf_t *)
               ngx_http_conf_get_module_srv_conf(cf, ngx_http_core_module);

    if (!conf->api_keys.enabled || !cscf->ignore_invalid_headers) {
        return NGX_CONF_OK;
    }

    c = tasker::headerNameByteNginxDrops(
            ngx_http_tasker_auth_sv(&conf->api_keys.header),
            cscf->underscores_in_headers);
    if (c == '\0') {
        return NGX_CONF_OK;
    }

    name = ngx_http_tasker_auth_origin(conf->api_keys.header_from,
                                       "tasker_api_key_header");

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "tasker_auth: %V \"%V\" holds \"%c\", and nginx drops "
                       "a request header so named before any module sees "
                       "it, so no API key would arrive: %s", &name,
                       &conf->api_keys.header, c,
                       c == '_' ? "set \"underscores_in_headers on;\" in "
                                  "the server, or use \"-\""
                                : "use letters, digits and \"-\" only, or "
                                  "set \"ignore_invalid_headers off;\" in "
                                  "the server");
    return NGX_HTTP_TASKER_CONF_ERROR;
}


/*
 * A location that declares its own tasker_permission rules with tasker_auth
 * off (forgotten, its default, or "enabled = false" in a tasker file, which
 * is tasker's own default) is public: nothing checks its rules. A warning,
 * not an error: a server or a location holding nested ones may declare rules
 * for the blocks inside that turn tasker_auth on, so those are left alone.
 */
static void
ngx_http_tasker_auth_warn_unenforced(ngx_conf_t *cf,
    ngx_http_tasker_auth_loc_conf_t *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = (ngx_http_core_loc_conf_t *)
               ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->name.len == 0 || clcf->locations != NULL) {
        return;
    }

    if (conf->enable_from.len != 0) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "tasker_auth: tasker_permission is set in "
                           "location \"%V\", but %V is false, so its rules "
                           "are not enforced and every request passes",
                           &clcf->name, &conf->enable_from);
        return;
    }

    ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                       "tasker_auth: tasker_permission is set in location "
                       "\"%V\", but tasker_auth is off there, so its rules "
                       "are not enforced and every request passes: add "
                       "\"tasker_auth on;\"", &clcf->name);
}


static char *
ngx_http_tasker_auth_merge_block(ngx_conf_t *cf,
    ngx_http_tasker_auth_loc_conf_t *prev,
    ngx_http_tasker_auth_loc_conf_t *conf)
{
    bool  own_rules, own_url, own_key;

    /*
     * tasker_auth_config counts as set in its own block. The http block's
     * conf is never merged itself, only used as a parent, so its file is
     * applied here too (the overlay only fills unset fields: idempotent).
     */
    if ((prev->toml != NULL
         && ngx_http_tasker_auth_apply_settings(cf, prev) != NGX_CONF_OK)
        || (conf->toml != NULL
            && ngx_http_tasker_auth_apply_settings(cf, conf) != NGX_CONF_OK))
    {
        return NGX_HTTP_TASKER_CONF_ERROR;
    }

    /* set by this block's directives or its file (not inherited) */
    own_rules = conf->rules != NULL;
    own_url = conf->jwks.url.data != NULL;
    own_key = conf->jwt.key_path != NULL || conf->jwt.key_inline != NULL;

    if (conf->enable == NGX_CONF_UNSET) {
        conf->enable_from = prev->enable_from;
    }
    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_str_value(conf->jwt.issuer, prev->jwt.issuer,
                             "tasker-core");
    ngx_conf_merge_str_value(conf->jwt.audience, prev->jwt.audience,
                             "tasker-api");
    ngx_conf_merge_str_value(conf->jwt.permissions_claim,
                             prev->jwt.permissions_claim, "permissions");
    if (conf->jwt.algorithms == NGX_CONF_UNSET_UINT) {
        conf->jwt.algorithms_from = prev->jwt.algorithms_from;
        conf->jwt.algorithms_default =
            prev->jwt.algorithms == NGX_CONF_UNSET_UINT
            || prev->jwt.algorithms_default;
    }
    ngx_conf_merge_uint_value(conf->jwt.algorithms, prev->jwt.algorithms,
                              tasker::kDefaultAlgs);
    ngx_conf_merge_sec_value(conf->jwt.leeway, prev->jwt.leeway, 60);
    ngx_conf_merge_value(conf->jwt.strict, prev->jwt.strict, 1);
    if (conf->jwks.method == NGX_CONF_UNSET_UINT) {
        conf->jwks.method_from = prev->jwks.method_from;
    }
    ngx_conf_merge_uint_value(conf->jwks.method, prev->jwks.method,
                              (ngx_uint_t)
                              tasker::VerificationMethod::PublicKey);
    ngx_conf_merge_sec_value(conf->jwks.refresh_interval,
                             prev->jwks.refresh_interval, 3600);
    if (conf->jwks.max_stale == NGX_CONF_UNSET) {
        conf->jwks.max_stale_from = prev->jwks.max_stale_from;
    }
    ngx_conf_merge_sec_value(conf->jwks.max_stale, prev->jwks.max_stale, 0);
    if (conf->api_keys.enabled == NGX_CONF_UNSET) {
        conf->api_keys.enabled_from = prev->api_keys.enabled_from;
    }
    ngx_conf_merge_value(conf->api_keys.enabled, prev->api_keys.enabled, 0);
    if (conf->api_keys.header.data == NULL) {
        conf->api_keys.header_from = prev->api_keys.header_from;
    }
    ngx_conf_merge_str_value(conf->api_keys.header, prev->api_keys.header,
                             "X-API-Key");
    ngx_conf_merge_value(conf->log.unknown_permissions,
                         prev->log.unknown_permissions, 1);
    ngx_conf_merge_uint_value(conf->log.success_level, prev->log.success_level,
                              NGX_LOG_INFO);

    ngx_http_tasker_auth_merge_objects(cf, conf, prev);

    if (!conf->enable) {
        if (own_rules) {
            ngx_http_tasker_auth_warn_unenforced(cf, conf);
        }

        return NGX_CONF_OK;
    }

    if (ngx_http_tasker_auth_check_key_source(cf, conf, own_url, own_key)
        != NGX_CONF_OK)
    {
        return NGX_HTTP_TASKER_CONF_ERROR;
    }

    if (ngx_http_tasker_auth_set_header(cf, conf) != NGX_CONF_OK) {
        return NGX_HTTP_TASKER_CONF_ERROR;
    }

    return ngx_http_tasker_auth_build_policy(cf, conf);
}


/*
 * nginx merges after the whole http block is read, so ngx_conf_log_error
 * would name the line that closes it. The messages of the merge name the
 * line that opens the block being merged instead (its server or location).
 */
static char *
ngx_http_tasker_auth_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    char             *rv;
    ngx_conf_file_t  *closing, block;

    auto  *prev = static_cast<ngx_http_tasker_auth_loc_conf_t *>(parent);
    auto  *conf = static_cast<ngx_http_tasker_auth_loc_conf_t *>(child);

    closing = cf->conf_file;

    if (closing != NULL && conf->block_file.data != NULL) {
        block = *closing;
        block.file.name = conf->block_file;
        block.line = conf->block_line;
        cf->conf_file = &block;
    }

    rv = ngx_http_tasker_auth_check_metrics(cf, conf);

    if (rv == NGX_CONF_OK) {
        rv = ngx_http_tasker_auth_merge_block(cf, prev, conf);
    }

    cf->conf_file = closing;
    return rv;
}


static char *
ngx_http_tasker_auth_metrics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    auto  *lcf = static_cast<ngx_http_tasker_auth_loc_conf_t *>(conf);

    if (lcf->metrics) {
        return (char *) "is duplicate";
    }

    clcf = (ngx_http_core_loc_conf_t *)
               ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    lcf->metrics = 1;

    if (clcf->handler != NULL) {
        /* an earlier proxy_pass & co.; a later one is found at merge */
        return ngx_http_tasker_auth_check_metrics(cf, lcf);
    }

    clcf->handler = ngx_http_tasker_auth_metrics_handler;

    return NGX_CONF_OK;
}


/*
 * A location has one content handler, and nginx keeps whichever directive
 * came last: with proxy_pass (or grpc_pass, stub_status, ...) beside it,
 * tasker_auth_metrics would be dropped, or would drop the other, without a
 * word. Either way the location does not do what it says, so it fails.
 */
static char *
ngx_http_tasker_auth_check_metrics(ngx_conf_t *cf,
    ngx_http_tasker_auth_loc_conf_t *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    if (!conf->metrics) {
        return NGX_CONF_OK;
    }

    clcf = (ngx_http_core_loc_conf_t *)
               ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler != ngx_http_tasker_auth_metrics_handler) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "tasker_auth: tasker_auth_metrics is set in "
                           "location \"%V\", which has another content "
                           "handler too (proxy_pass, grpc_pass, stub_status, "
                           "...): serve the metrics from a location of their "
                           "own", &clcf->name);
        return NGX_HTTP_TASKER_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* ---- access handler --------------------------------------------------- */

/*
 * The first request header called name, and how many there are. lc, when
 * given, is name in lower case: compared with the lower-cased name nginx
 * keeps for each header, it saves a case-insensitive compare per byte.
 */
static TASKER_HOT ngx_table_elt_t *
ngx_http_tasker_auth_find_header(ngx_http_request_t *r, const ngx_str_t *name,
    const ngx_str_t *lc, ngx_uint_t *count)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h, *found;

    found = NULL;
    *count = 0;
    part = &r->headers_in.headers.part;
    h = (ngx_table_elt_t *) part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = (ngx_table_elt_t *) part->elts;
            i = 0;
        }

        if (h[i].key.len != name->len) {
            continue;
        }

        if (lc != NULL && h[i].lowcase_key != NULL
            ? tasker::sameBytes(h[i].lowcase_key, lc->data, lc->len)
            : ngx_strncasecmp(h[i].key.data, name->data, name->len) == 0)
        {
            if (found == NULL) {
                found = &h[i];
            }
            (*count)++;
        }
    }

    return found;
}


/*
 * A request body (Content-Length above 0, chunked, or an HTTP/2 stream still
 * open for DATA, which nginx marks chunked from 1.21.2 on) or a Content-Type:
 * a browser's CORS preflight has neither (Fetch), so an OPTIONS request that
 * has one is not taken for a preflight.
 */
static bool
ngx_http_tasker_auth_has_content(ngx_http_request_t *r)
{
    if (r->headers_in.content_type != NULL
        || r->headers_in.content_length_n > 0
        || r->headers_in.chunked)
    {
        return true;
    }

#if (NGX_HTTP_V2)
    if (r->stream != NULL && !r->stream->in_closed) {
        return true;
    }
#endif

    return false;
}


/* The header bytes the core decides on (views into the request). */
static TASKER_HOT void
ngx_http_tasker_auth_request_view(ngx_http_request_t *r,
    ngx_http_tasker_auth_loc_conf_t *lcf, tasker::RequestView *view)
{
    ngx_str_t         name;
    ngx_uint_t        count;
    ngx_table_elt_t  *h;

    view->method = ngx_http_tasker_auth_sv(&r->method_name);

    if (r->headers_in.authorization != NULL) {
        view->authorization =
            ngx_http_tasker_auth_sv(&r->headers_in.authorization->value);
    }

    if (lcf->api_keys.enabled) {
        h = ngx_http_tasker_auth_find_header(r, &lcf->api_keys.header,
                                             &lcf->api_keys.header_lc, &count);
        if (h != NULL) {
            /* two key headers are ambiguous: treat them as an invalid key */
            view->api_key = count == 1 ? ngx_http_tasker_auth_sv(&h->value)
                                       : std::string_view();
        }
    }

    if (r->method == NGX_HTTP_OPTIONS) {
        ngx_str_set(&name, "Origin");
        view->has_origin =
            ngx_http_tasker_auth_find_header(r, &name, NULL, &count) != NULL;
        ngx_str_set(&name, "Access-Control-Request-Method");
        view->has_acr_method =
            ngx_http_tasker_auth_find_header(r, &name, NULL, &count) != NULL;
        view->has_content = ngx_http_tasker_auth_has_content(r);
    }
}


/*
 * One client request counts at most once in each series, however many
 * checks its internal redirects run (index, try_files, named locations,
 * error_page into another protected location): its first accepted and its
 * first rejected credential (tasker_auth_requests_total and the histogram),
 * its first failure reason, its first denial. A later check adds only what
 * the request has not counted yet, such as the denial, or the strict
 * validation failure, of a location a try_files fallback led it to after a
 * first location let it through.
 */
static TASKER_HOT void
ngx_http_tasker_auth_count(tasker::MetricsWriter m, const tasker::Decision &d,
    ngx_http_tasker_auth_ctx_t *ctx)
{
    bool  counted;

    if (d.method != tasker::AuthMethod::None) {
        counted = d.authenticated ? ctx->counted.success
                                  : ctx->counted.rejection;

        if (!counted) {
            if (d.authenticated) {
                ctx->counted.success = 1;

            } else {
                ctx->counted.rejection = 1;
            }

            if (d.jwt_attempted) {
                tasker::metricsObserveVerification(m, d.authenticated,
                                                   d.verify_ns);
            }

            tasker::metricsCountRequest(m,
                d.method == tasker::AuthMethod::Jwt
                    ? tasker::kMetricsMethodJwt
                    : tasker::kMetricsMethodApiKey,
                d.authenticated);
        }
    }

    if (d.status == tasker::Status::PermDenied
        || d.status == tasker::Status::PermMethodNotCovered)
    {
        if (!ctx->counted.denial) {
            ctx->counted.denial = 1;
            tasker::metricsCountDenial(m,
                d.status == tasker::Status::PermDenied
                    ? tasker::permissionIndex(d.missing_permission)
                    : tasker::kMetricsDenialMethodNotCovered);
        }

    } else if (!d.authenticated && !ctx->counted.failure) {
        ctx->counted.failure = 1;
        tasker::metricsCountFailureStatus(m, d.status);
    }
}


/*
 * Variable values end up in upstream request headers (proxy_set_header,
 * grpc_set_header), which nginx does not escape. A claim is signed, but a
 * CR or LF in it must still never split a header: control bytes become '?'.
 */
static ngx_int_t
ngx_http_tasker_auth_var_copy(ngx_pool_t *pool, std::string_view src,
    ngx_str_t *dst)
{
    size_t  i;

    ngx_str_null(dst);

    if (src.empty()) {
        return NGX_OK;
    }

    dst->data = (u_char *) ngx_pnalloc(pool, src.size());
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    dst->len = src.size();
    ngx_memcpy(dst->data, src.data(), src.size());

    for (i = 0; i < dst->len; i++) {
        if ((dst->data[i] < 0x20 && dst->data[i] != '\t')
            || dst->data[i] == 0x7f)
        {
            dst->data[i] = '?';
        }
    }

    return NGX_OK;
}


/* "a,b,c" in the pool, control bytes replaced as by var_copy */
static ngx_int_t
ngx_http_tasker_auth_join(ngx_pool_t *pool,
    const std::vector<std::string> &items, ngx_str_t *out)
{
    size_t   i, len;
    u_char  *p;

    ngx_str_null(out);

    len = 0;
    for (const std::string &s : items) {
        len += s.size() + 1;
    }

    if (len <= 1) {
        return NGX_OK;
    }

    p = (u_char *) ngx_pnalloc(pool, len - 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    out->data = p;

    /* by position, so empty strings (strict validation off) keep theirs */
    for (i = 0; i < items.size(); i++) {
        if (i != 0) {
            *p++ = ',';
        }
        p = ngx_cpymem(p, items[i].data(), items[i].size());
    }

    out->len = p - out->data;

    for (i = 0; i < out->len; i++) {
        if ((out->data[i] < 0x20 && out->data[i] != '\t')
            || out->data[i] == 0x7f)
        {
            out->data[i] = '?';
        }
    }

    return NGX_OK;
}


static void
ngx_http_tasker_auth_token_cleanup(void *data)
{
    using token_ptr = tasker::VerifiedTokenRef;

    static_cast<token_ptr *>(data)->~token_ptr();
}


static void
ngx_http_tasker_auth_ctx_cleanup(void *data)
{
    /* nothing to free: the handler's address is how a later check finds it */
}


/*
 * The request's context: this location's, or after an internal redirect
 * (which wipes module contexts) the one an earlier check left in a pool
 * cleanup, or a new one. Its identity is reset; what the request has
 * counted is kept.
 */
static TASKER_HOT ngx_http_tasker_auth_ctx_t *
ngx_http_tasker_auth_get_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t          *cln;
    ngx_http_tasker_auth_ctx_t  *ctx, kept;

    ctx = (ngx_http_tasker_auth_ctx_t *)
              ngx_http_get_module_ctx(r, ngx_http_tasker_auth_module);

    if (ctx == NULL && r->internal) {
        for (cln = r->pool->cleanup; cln; cln = cln->next) {
            if (cln->handler == ngx_http_tasker_auth_ctx_cleanup) {
                ctx = (ngx_http_tasker_auth_ctx_t *) cln->data;
                break;
            }
        }
    }

    if (ctx == NULL) {
        cln = ngx_pool_cleanup_add(r->pool,
                                   sizeof(ngx_http_tasker_auth_ctx_t));
        if (cln == NULL) {
            return NULL;
        }

        cln->handler = ngx_http_tasker_auth_ctx_cleanup;
        ctx = (ngx_http_tasker_auth_ctx_t *) cln->data;
        *ctx = ngx_http_tasker_auth_ctx_t();

    } else {
        kept = ngx_http_tasker_auth_ctx_t();
        kept.counted = ctx->counted;
        *ctx = kept;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_tasker_auth_module);

    return ctx;
}


/*
 * Keeps the identity for the variables, as long as r->pool: a JWT's verified
 * result (moved out of the decision, so its cache entry may be evicted
 * meanwhile) or an API key's entry (the configuration's). Nothing is copied.
 */
static TASKER_HOT ngx_int_t
ngx_http_tasker_auth_set_identity(ngx_http_request_t *r,
    ngx_http_tasker_auth_ctx_t *ctx, tasker::Decision *d)
{
    using token_ptr = tasker::VerifiedTokenRef;

    ngx_pool_cleanup_t  *cln;

    if (!d->authenticated) {
        return NGX_OK;
    }

    if (d->owned) {
        cln = ngx_pool_cleanup_add(r->pool, sizeof(token_ptr));
        if (cln == NULL) {
            return NGX_ERROR;
        }

        ctx->token = new (cln->data) token_ptr(std::move(d->owned));
        cln->handler = ngx_http_tasker_auth_token_cleanup;

    } else {
        ctx->api_key = d->api_key;
    }

    ctx->method = tasker::authMethodName(d->method);

    return NGX_OK;
}


/*
 * Copies untrusted text (a subject, a permission list) for a log line: at
 * most NGX_HTTP_TASKER_AUTH_MAX_LOG bytes, non-printable bytes and quotes
 * replaced, so a crafted claim cannot forge log lines.
 */
static ngx_str_t
ngx_http_tasker_auth_log_safe(ngx_pool_t *pool, std::string_view s)
{
    size_t      i, n;
    u_char      c, *p;
    ngx_str_t   out;

    n = ngx_min(s.size(), (size_t) NGX_HTTP_TASKER_AUTH_MAX_LOG);

    p = (u_char *) ngx_pnalloc(pool, n + 3);
    if (p == NULL) {
        ngx_str_null(&out);
        return out;
    }

    for (i = 0; i < n; i++) {
        c = (u_char) s[i];
        p[i] = (c < 0x20 || c > 0x7e || c == '"' || c == '\\') ? '?' : c;
    }

    if (n < s.size()) {
        p[n++] = '.';
        p[n++] = '.';
    }

    out.len = n;
    out.data = p;
    return out;
}


/* One log line per decision (SPEC 6), never with a token or a key. */
static TASKER_HOT void
ngx_http_tasker_auth_log_decision(ngx_http_request_t *r,
    ngx_http_tasker_auth_loc_conf_t *lcf, const tasker::Decision &d,
    tasker::Verdict verdict)
{
    ngx_str_t          subject, list;
    ngx_log_t         *log = r->connection->log;
    const char        *method = tasker::authMethodName(d.method);

    /*
     * A success writes a line only at a level the error_log keeps (the test
     * ngx_log_error makes; the first log of a chain has the highest level).
     * A quiet success costs no copy.
     */
    if (verdict == tasker::Verdict::Allow
        && (lcf->log.success_level == 0
            || log->log_level < lcf->log.success_level)
        && (!lcf->log.unknown_permissions || log->log_level < NGX_LOG_WARN
            || d.unknownPermissions().empty()))
    {
        return;
    }

    subject = ngx_http_tasker_auth_log_safe(r->pool, d.subject());

    if (lcf->log.unknown_permissions && !d.unknownPermissions().empty()
        && d.method == tasker::AuthMethod::Jwt
        && ngx_http_tasker_auth_join(r->pool, d.unknownPermissions(), &list)
           == NGX_OK)
    {
        list = ngx_http_tasker_auth_log_safe(r->pool,
                                             ngx_http_tasker_auth_sv(&list));
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "tasker_auth: unknown permissions subject=\"%V\" "
                      "permissions=\"%V\"", &subject, &list);
    }

    switch (verdict) {

    case tasker::Verdict::Allow:
        if (lcf->log.success_level) {
            ngx_log_error(lcf->log.success_level, log, 0,
                          "tasker_auth: authenticated subject=\"%V\" "
                          "method=%s", &subject, method);
        }
        return;

    case tasker::Verdict::Forbidden:
        if (d.status == tasker::Status::PermDenied) {
            ngx_log_error(NGX_LOG_WARN, log, 0,
                          "tasker_auth: permission denied subject=\"%V\" "
                          "method=%s required=%s", &subject, method,
                          d.missing_permission);
        } else {
            ngx_log_error(NGX_LOG_WARN, log, 0,
                          "tasker_auth: permission denied subject=\"%V\" "
                          "method=%s: no permission rule allows method %V",
                          &subject, method, &r->method_name);
        }
        return;

    case tasker::Verdict::Unauthenticated:
    case tasker::Verdict::Unavailable:
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "tasker_auth: authentication failed method=%s "
                      "reason=%s status=%s%s%V%s",
                      d.method == tasker::AuthMethod::None ? "none" : method,
                      tasker::failureReason(d.status)
                          ? tasker::failureReason(d.status) : "unknown",
                      tasker::statusName(d.status),
                      subject.len ? " subject=\"" : "", &subject,
                      subject.len ? "\"" : "");
        return;

    default:
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "tasker_auth: internal error: %s",
                      tasker::statusName(d.status));
    }
}


static TASKER_HOT ngx_int_t
ngx_http_tasker_auth_handler(ngx_http_request_t *r)
{
    time_t                             now;
    ngx_uint_t                         i;
    tasker::Verdict                    verdict;
    tasker::Decision                   d;
    tasker::TokenCache                *cache;
    tasker::RequestView                view;
    const tasker::KeySet              *keys;
    ngx_http_tasker_auth_ctx_t        *ctx;
    ngx_http_tasker_auth_loc_conf_t   *lcf;
    ngx_http_tasker_auth_main_conf_t  *mcf;

    lcf = (ngx_http_tasker_auth_loc_conf_t *)
              ngx_http_get_module_loc_conf(r, ngx_http_tasker_auth_module);

    if (!lcf->enable || lcf->policy == NULL) {
        return NGX_DECLINED;
    }

    /*
     * What the decision reads, and the metrics lane it counts in (for
     * writing): a fixed number of prefetches, unrolled (GCC keeps the loop
     * at -O2: 30 instructions instead of 12). The lane may still be NULL or
     * a past cycle's; a prefetch never faults.
     */
#pragma GCC unroll 8  /* at least NGX_HTTP_TASKER_AUTH_PREFETCH */
    for (i = 0; i < NGX_HTTP_TASKER_AUTH_PREFETCH; i++) {
        __builtin_prefetch(lcf->prefetch[i]);
    }

    __builtin_prefetch(ngx_http_tasker_auth_lane.lane, 1);

    mcf = (ngx_http_tasker_auth_main_conf_t *)
              ngx_http_get_module_main_conf(r, ngx_http_tasker_auth_module);

    try {
        ngx_http_tasker_auth_request_view(r, lcf, &view);

        now = ngx_time();
        keys = NULL;

        if (lcf->policy->config().jwks) {
            keys = ngx_http_tasker_auth_jwks_keys(mcf, lcf->jwks.index,
                                                  lcf->jwks.max_stale, now);
        }

        /* only a bearer token can use the token cache */
        cache = view.authorization ? ngx_http_tasker_auth_worker_cache(mcf)
                                   : NULL;

        lcf->policy->decide(view, now, keys, &d, cache);

        if (d.preflight) {
            return NGX_DECLINED;
        }

        if (d.status == tasker::Status::TokenUnknownKid
            && lcf->policy->config().jwks)
        {
            ngx_http_tasker_auth_jwks_unknown_kid(mcf, lcf->jwks.index, now);
        }

        ctx = ngx_http_tasker_auth_get_ctx(r);
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_tasker_auth_count(ngx_http_tasker_auth_worker_metrics(mcf),
                                   d, ctx);

        if (ngx_http_tasker_auth_set_identity(r, ctx, &d) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        verdict = tasker::verdictFor(d.status);

        ngx_http_tasker_auth_log_decision(r, lcf, d, verdict);

        switch (verdict) {

        case tasker::Verdict::Allow:
            return NGX_OK;

        case tasker::Verdict::Forbidden:
        case tasker::Verdict::Unauthenticated:
        case tasker::Verdict::Unavailable:
            return ngx_http_tasker_auth_reject(r, d);

        default:
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

    } catch (...) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "tasker_auth: internal error in the access handler");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}


/* ---- variables -------------------------------------------------------- */

/* The kept JWT result, or NULL (an API key, or nothing kept). */
static const tasker::VerifiedToken *
ngx_http_tasker_auth_ctx_token(const ngx_http_tasker_auth_ctx_t *ctx)
{
    return ctx->token != NULL ? ctx->token->get() : NULL;
}


static ngx_int_t
ngx_http_tasker_auth_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t                    s;
    ngx_http_tasker_auth_ctx_t  *ctx;

    ctx = (ngx_http_tasker_auth_ctx_t *)
              ngx_http_get_module_ctx(r, ngx_http_tasker_auth_module);

    ngx_str_null(&s);

    /* not inspected (auth off, preflight) or not authenticated: empty */
    if (ctx != NULL && ctx->method != NULL) {
        switch (data) {

        case NGX_HTTP_TASKER_AUTH_VAR_SUBJECT:
            if (!ctx->subject_built) {
                if (ngx_http_tasker_auth_var_copy(r->pool,
                        tasker::identitySubject(
                            ngx_http_tasker_auth_ctx_token(ctx), ctx->api_key),
                        &ctx->subject)
                    != NGX_OK)
                {
                    return NGX_ERROR;
                }
                ctx->subject_built = 1;
            }
            s = ctx->subject;
            break;

        case NGX_HTTP_TASKER_AUTH_VAR_METHOD:
            s.data = (u_char *) ctx->method;
            s.len = ngx_strlen(ctx->method);
            break;

        default: /* NGX_HTTP_TASKER_AUTH_VAR_PERMISSIONS */
            if (!ctx->permissions_built) {
                if (ngx_http_tasker_auth_join(r->pool,
                        tasker::identityPermissions(
                            ngx_http_tasker_auth_ctx_token(ctx), ctx->api_key),
                        &ctx->permissions)
                    != NGX_OK)
                {
                    return NGX_ERROR;
                }
                ctx->permissions_built = 1;
            }
            s = ctx->permissions;
            break;
        }
    }

    /* an empty value, not "not found" */
    v->len = s.len;
    v->data = s.data ? s.data : (u_char *) "";
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


/*
 * Sets v to what render(claims, &out) gives for the request's verified token,
 * with control bytes replaced (ngx_http_tasker_auth_var_copy); empty when the
 * request was not authenticated by a token or render finds nothing.
 */
template <typename Render>
static ngx_int_t
ngx_http_tasker_auth_render_claim(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, Render render)
{
    ngx_str_t                     value;
    ngx_http_tasker_auth_ctx_t   *ctx;
    const tasker::VerifiedToken  *token;

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->len = 0;
    v->data = (u_char *) "";

    ctx = static_cast<ngx_http_tasker_auth_ctx_t *>(
              ngx_http_get_module_ctx(r, ngx_http_tasker_auth_module));

    token = ctx != NULL ? ngx_http_tasker_auth_ctx_token(ctx) : NULL;

    if (token == NULL || !token->claims) {
        return NGX_OK;
    }

    try {
        std::string  out;

        if (!render(*token->claims, &out)) {
            return NGX_OK;
        }

        if (ngx_http_tasker_auth_var_copy(r->pool, out, &value) != NGX_OK) {
            return NGX_ERROR;
        }

        v->len = value.len;
        v->data = value.data ? value.data : (u_char *) "";
        return NGX_OK;

    } catch (...) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "tasker_auth: internal error rendering a claim");
        return NGX_ERROR;
    }
}


/* $tasker_jwt_claim_<name>: data is the variable's (lower-cased) name */
static ngx_int_t
ngx_http_tasker_auth_claim_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    static const size_t  prefix = sizeof("tasker_jwt_claim_") - 1;

    const ngx_str_t   *name = reinterpret_cast<const ngx_str_t *>(data);
    std::string_view   claim;

    if (name->len > prefix) {
        claim = std::string_view((const char *) name->data + prefix,
                                 name->len - prefix);
    }

    return ngx_http_tasker_auth_render_claim(r, v,
        [claim](const tasker::Claims &c, std::string *out) {
            return !claim.empty() && c.render(claim, out);
        });
}


/*
 * A tasker_jwt_claim_set variable: data is its tasker::ClaimPath (cf->pool).
 * Empty, as the prefix variables, when the claim is absent or the request was
 * not authenticated by a token.
 */
ngx_int_t
ngx_http_tasker_auth_claim_set_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    const auto  *path = reinterpret_cast<const tasker::ClaimPath *>(data);

    return ngx_http_tasker_auth_render_claim(r, v,
        [path](const tasker::Claims &c, std::string *out) {
            return c.renderPath(*path, out);
        });
}


static ngx_http_variable_t  ngx_http_tasker_auth_vars[] = {

    { ngx_string("tasker_auth_subject"), NULL,
      ngx_http_tasker_auth_variable, NGX_HTTP_TASKER_AUTH_VAR_SUBJECT,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("tasker_auth_method"), NULL,
      ngx_http_tasker_auth_variable, NGX_HTTP_TASKER_AUTH_VAR_METHOD,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("tasker_auth_permissions"), NULL,
      ngx_http_tasker_auth_variable, NGX_HTTP_TASKER_AUTH_VAR_PERMISSIONS,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("tasker_jwt_claim_"), NULL,
      ngx_http_tasker_auth_claim_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE|NGX_HTTP_VAR_PREFIX, 0 },

      ngx_http_null_variable
};


static ngx_int_t
ngx_http_tasker_auth_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_tasker_auth_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_tasker_auth_init(ngx_conf_t *cf)
{
    ngx_array_t                       *access;
    ngx_http_handler_pt               *h;
    ngx_http_core_main_conf_t         *cmcf;
    ngx_http_tasker_auth_main_conf_t  *mcf;

    cmcf = (ngx_http_core_main_conf_t *)
               ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = (ngx_http_handler_pt *)
            ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_tasker_auth_handler;

    /*
     * The answer to a rejection recorded under satisfy any runs after every
     * other access handler: first in the array, as nginx runs a phase's
     * handlers from the last registered to the first. The modules after this
     * one in the module order (ngx_http_access_module) register later and
     * run earlier; auth_request and auth_basic registered before, and run
     * between the two.
     */
    access = &cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers;

    if (ngx_array_push(access) == NULL) {
        return NGX_ERROR;
    }

    h = (ngx_http_handler_pt *) access->elts;
    ngx_memmove(&h[1], &h[0],
                (access->nelts - 1) * sizeof(ngx_http_handler_pt));
    h[0] = ngx_http_tasker_auth_pending_handler;

    mcf = (ngx_http_tasker_auth_main_conf_t *)
              ngx_http_conf_get_module_main_conf(cf,
                                                 ngx_http_tasker_auth_module);

    if (ngx_http_tasker_auth_check_reload(cf, mcf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_tasker_auth_jwks_trust(cf, mcf) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_tasker_auth_add_zones(cf, mcf);
}
