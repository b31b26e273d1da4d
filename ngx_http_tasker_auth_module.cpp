/*
 * ngx_http_tasker_auth_module: tasker API security at the nginx gateway.
 *
 * This file is the thin nginx adapter. It parses directives, builds an immutable
 * tasker::AuthPolicy per location at configuration load, and in the access phase
 * hands the request's header bytes to the core (src/), which knows nothing about
 * nginx. Every callback nginx can reach is wrapped so that no C++ exception
 * crosses into nginx's C code. Shared memory, the JWKS timer, process hooks and
 * the metrics endpoint are in src/ngx_tasker_runtime.cpp.
 */

#include "ngx_tasker_auth.h"

#include <cstdlib>
#include <cstring>
#include <new>


static ngx_int_t ngx_http_tasker_auth_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_tasker_auth_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_http_tasker_auth_init(ngx_conf_t *cf);
static void *ngx_http_tasker_auth_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_tasker_auth_init_main_conf(ngx_conf_t *cf, void *conf);
static char *ngx_http_tasker_auth_cache_size(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void *ngx_http_tasker_auth_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_tasker_auth_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);

static char *ngx_http_tasker_auth_permission(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_tasker_auth_public_key_path(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_tasker_auth_public_key(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_tasker_auth_enum_slot(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_tasker_auth_sec_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_tasker_auth_jwks_url(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_tasker_auth_algorithms(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_tasker_auth_api_key(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_tasker_auth_config(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_tasker_auth_metrics(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


static ngx_conf_enum_t  ngx_http_tasker_auth_methods[] = {
    { ngx_string("public_key"), NGX_HTTP_TASKER_AUTH_PUBLIC_KEY },
    { ngx_string("jwks"), NGX_HTTP_TASKER_AUTH_JWKS },
    { ngx_null_string, 0 }
};


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


static ngx_command_t  ngx_http_tasker_auth_commands[] = {

    { ngx_string("tasker_auth"),
      NGX_HTTP_TASKER_AUTH_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_tasker_auth_loc_conf_t, enable),
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
      offsetof(ngx_http_tasker_auth_loc_conf_t, issuer),
      NULL },

    { ngx_string("tasker_jwt_audience"),
      NGX_HTTP_TASKER_AUTH_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_tasker_auth_loc_conf_t, audience),
      NULL },

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
      ngx_http_tasker_auth_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_tasker_auth_loc_conf_t, verification_method),
      &ngx_http_tasker_auth_methods },

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
      offsetof(ngx_http_tasker_auth_loc_conf_t, jwks_refresh_interval),
      NULL },

    { ngx_string("tasker_jwks_max_stale"),
      NGX_HTTP_TASKER_AUTH_CONF|NGX_CONF_TAKE1,
      ngx_http_tasker_auth_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_tasker_auth_loc_conf_t, jwks_max_stale),
      NULL },

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
      offsetof(ngx_http_tasker_auth_loc_conf_t, leeway),
      NULL },

    { ngx_string("tasker_permissions_claim"),
      NGX_HTTP_TASKER_AUTH_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_tasker_auth_loc_conf_t, permissions_claim),
      NULL },

    { ngx_string("tasker_strict_validation"),
      NGX_HTTP_TASKER_AUTH_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_tasker_auth_loc_conf_t, strict),
      NULL },

    { ngx_string("tasker_log_unknown_permissions"),
      NGX_HTTP_TASKER_AUTH_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_tasker_auth_loc_conf_t, log_unknown),
      NULL },

    { ngx_string("tasker_api_keys_enabled"),
      NGX_HTTP_TASKER_AUTH_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_tasker_auth_loc_conf_t, api_keys_enabled),
      NULL },

    { ngx_string("tasker_api_key_header"),
      NGX_HTTP_TASKER_AUTH_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_tasker_auth_loc_conf_t, api_key_header),
      NULL },

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
      offsetof(ngx_http_tasker_auth_loc_conf_t, success_log_level),
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
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_tasker_auth_main_conf_t, jwks_ca_file),
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


static ngx_str_t  ngx_http_tasker_auth_json_type = ngx_string("application/json");
static ngx_str_t  ngx_http_tasker_auth_grpc_type = ngx_string("application/grpc");


/* ---- helpers ---------------------------------------------------------- */

static ngx_int_t
ngx_http_tasker_auth_pstr(ngx_pool_t *pool, std::string_view src, ngx_str_t *dst)
{
    dst->len = src.size();
    if (src.empty()) {
        dst->data = NULL;
        return NGX_OK;
    }

    dst->data = static_cast<u_char *>(ngx_pnalloc(pool, src.size()));
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(dst->data, src.data(), src.size());
    return NGX_OK;
}


/*
 * Copies untrusted text (a subject, a permission string) for a log line:
 * at most NGX_HTTP_TASKER_AUTH_MAX_LOG bytes, non-printable bytes and quotes
 * replaced, so a crafted claim cannot forge log lines.
 */
static ngx_str_t
ngx_http_tasker_auth_log_safe(ngx_pool_t *pool, std::string_view s)
{
    size_t      i, n;
    u_char      c, *p;
    ngx_str_t   out;

    n = s.size() > NGX_HTTP_TASKER_AUTH_MAX_LOG ? NGX_HTTP_TASKER_AUTH_MAX_LOG
                                                : s.size();
    p = static_cast<u_char *>(ngx_pnalloc(pool, n + 3));
    if (p == NULL) {
        out.len = 0;
        out.data = NULL;
        return out;
    }

    for (i = 0; i < n; i++) {
        c = static_cast<u_char>(s[i]);
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


/*
 * Variable values end up in upstream request headers (proxy_set_header,
 * grpc_set_header), which nginx does not escape. A claim is signed, but a
 * CR or LF in it must still never split a header: control bytes become '?'.
 */
static void
ngx_http_tasker_auth_header_safe(ngx_str_t *s)
{
    size_t  i;

    for (i = 0; i < s->len; i++) {
        if ((s->data[i] < 0x20 && s->data[i] != '\t') || s->data[i] == 0x7f) {
            s->data[i] = '?';
        }
    }
}


static ngx_int_t
ngx_http_tasker_auth_var_copy(ngx_pool_t *pool, std::string_view src,
    ngx_str_t *dst)
{
    if (ngx_http_tasker_auth_pstr(pool, src, dst) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_tasker_auth_header_safe(dst);
    return NGX_OK;
}


static ngx_http_tasker_auth_store_t *
ngx_http_tasker_auth_store(ngx_conf_t *cf)
{
    ngx_http_tasker_auth_main_conf_t  *mcf;

    mcf = static_cast<ngx_http_tasker_auth_main_conf_t *>(
              ngx_http_conf_get_module_main_conf(cf,
                                                 ngx_http_tasker_auth_module));
    return mcf->store;
}


/*
 * Parses a PEM public key once per distinct source (path or inline text) and
 * returns the cached set. Errors are logged here, naming the directive.
 */
static const tasker::KeySetConstPtr *
ngx_http_tasker_auth_load_key(ngx_conf_t *cf, const char *directive,
    const std::string &source, bool is_path, const char *shown)
{
    tasker::Status                  s;
    tasker::KeySetConstPtr          ks;
    ngx_http_tasker_auth_store_t   *store;

    store = ngx_http_tasker_auth_store(cf);

    std::string cache_key = (is_path ? "path:" : "pem:") + source;
    auto it = store->key_cache.find(cache_key);
    if (it != store->key_cache.end()) {
        return it->second;
    }

    s = is_path ? tasker::KeySet::fromPemFile(source, &ks)
                : tasker::KeySet::fromPem(source, &ks);

    if (s != tasker::Status::Ok) {
        const char *why;

        switch (s) {
        case tasker::Status::KeyUnreadable:
            why = "cannot be read";
            break;
        case tasker::Status::KeyTooSmall:
            why = "is an RSA key under 2048 bits";
            break;
        case tasker::Status::KeyUnsupported:
            why = "is of an unsupported key type or curve";
            break;
        default:
            why = "is not a PEM public key (SPKI, PKCS#1 RSA, EC or Ed25519)";
            break;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, is_path ? ngx_errno : 0,
                           "tasker_auth: %s \"%s\" %s (%s)", directive, shown,
                           why, tasker::statusName(s));
        return NULL;
    }

    store->keysets.push_back(ks);
    const tasker::KeySetConstPtr *p = &store->keysets.back();
    store->key_cache.emplace(cache_key, p);
    return p;
}


static const char *
ngx_http_tasker_auth_key_type_name(tasker::KeyType t)
{
    switch (t) {
    case tasker::KeyType::Rsa:
        return "RSA";
    case tasker::KeyType::EcP256:
        return "EC P-256";
    case tasker::KeyType::EcP384:
        return "EC P-384";
    case tasker::KeyType::EcP521:
        return "EC P-521";
    case tasker::KeyType::Ed25519:
        return "Ed25519";
    }

    return "unknown";
}


/* ---- directives ------------------------------------------------------- */

static char *
ngx_http_tasker_auth_permission(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_tasker_auth_loc_conf_t *lcf =
        static_cast<ngx_http_tasker_auth_loc_conf_t *>(conf);

    try {
        ngx_str_t                      *value;
        ngx_uint_t                      i;
        std::string                     bad;
        tasker::Status                  s;
        std::vector<std::string_view>   args;

        value = static_cast<ngx_str_t *>(cf->args->elts);

        for (i = 1; i < cf->args->nelts; i++) {
            args.push_back(ngx_http_tasker_auth_sv(&value[i]));
        }

        if (lcf->rules == NULL) {
            /* the first rule of this block replaces the inherited list */
            ngx_http_tasker_auth_store_t *store = ngx_http_tasker_auth_store(cf);
            store->rules.push_back(std::make_shared<tasker::RuleSet>());
            lcf->rules = &store->rules.back();
        }

        s = (*lcf->rules)->addRule(args, &bad);

        switch (s) {
        case tasker::Status::Ok:
            return NGX_CONF_OK;

        case tasker::Status::ConfigWildcardRequired:
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "tasker_auth: tasker_permission \"%s\": a "
                               "wildcard cannot be required, name one of the "
                               "17 permissions", bad.c_str());
            return static_cast<char *>(NGX_CONF_ERROR);

        case tasker::Status::ConfigBadMethod:
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "tasker_auth: tasker_permission \"%s\" is not "
                               "an HTTP method (GET HEAD POST PUT DELETE "
                               "PATCH OPTIONS TRACE CONNECT)", bad.c_str());
            return static_cast<char *>(NGX_CONF_ERROR);

        case tasker::Status::ConfigInvalid:
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "tasker_auth: tasker_permission \"%s\" names "
                               "no permission", bad.c_str());
            return static_cast<char *>(NGX_CONF_ERROR);

        default:
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "tasker_auth: tasker_permission \"%s\" is not "
                               "a known permission (see tasker-ctl auth "
                               "show-permissions)", bad.c_str());
            return static_cast<char *>(NGX_CONF_ERROR);
        }

    } catch (...) {
        ngx_conf_log_error(NGX_LOG_ALERT, cf, 0,
                           "tasker_auth: tasker_permission: internal error");
        return static_cast<char *>(NGX_CONF_ERROR);
    }
}


static char *
ngx_http_tasker_auth_public_key_path(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_tasker_auth_loc_conf_t *lcf =
        static_cast<ngx_http_tasker_auth_loc_conf_t *>(conf);

    try {
        ngx_str_t  *value, path;

        if (lcf->key_path != NULL) {
            return const_cast<char *>("is duplicate");
        }

        value = static_cast<ngx_str_t *>(cf->args->elts);
        path = value[1];

        /* relative to the directory of nginx.conf, like ssl_certificate */
        if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
            return static_cast<char *>(NGX_CONF_ERROR);
        }

        std::string p(reinterpret_cast<char *>(path.data), path.len);
        std::string shown(reinterpret_cast<char *>(value[1].data),
                          value[1].len);

        lcf->key_path = ngx_http_tasker_auth_load_key(
                            cf, "tasker_jwt_public_key_path", p, true,
                            shown.c_str());
        if (lcf->key_path == NULL) {
            return static_cast<char *>(NGX_CONF_ERROR);
        }

        lcf->key_path_name = value[1];
        return NGX_CONF_OK;

    } catch (...) {
        ngx_conf_log_error(NGX_LOG_ALERT, cf, 0,
                           "tasker_auth: tasker_jwt_public_key_path: "
                           "internal error");
        return static_cast<char *>(NGX_CONF_ERROR);
    }
}


static char *
ngx_http_tasker_auth_public_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_tasker_auth_loc_conf_t *lcf =
        static_cast<ngx_http_tasker_auth_loc_conf_t *>(conf);

    try {
        ngx_str_t  *value;

        if (lcf->key_inline != NULL) {
            return const_cast<char *>("is duplicate");
        }

        value = static_cast<ngx_str_t *>(cf->args->elts);

        std::string pem(reinterpret_cast<char *>(value[1].data), value[1].len);

        lcf->key_inline = ngx_http_tasker_auth_load_key(
                              cf, "tasker_jwt_public_key", pem, false,
                              "<inline PEM>");

        return lcf->key_inline ? NGX_CONF_OK
                               : static_cast<char *>(NGX_CONF_ERROR);

    } catch (...) {
        ngx_conf_log_error(NGX_LOG_ALERT, cf, 0,
                           "tasker_auth: tasker_jwt_public_key: "
                           "internal error");
        return static_cast<char *>(NGX_CONF_ERROR);
    }
}


/* ngx_conf_set_sec_slot's message would not name the value */
static char *
ngx_http_tasker_auth_sec_slot(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char       *rv;
    ngx_str_t  *value;

    rv = ngx_conf_set_sec_slot(cf, cmd, conf);

    /* it answers "invalid value" for a bad time; pass anything else on */
    if (rv == NGX_CONF_OK || rv == NGX_CONF_ERROR
        || ngx_strcmp(rv, "invalid value") != 0)
    {
        return rv;
    }

    value = static_cast<ngx_str_t *>(cf->args->elts);

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "tasker_auth: %V \"%V\" is not a time (e.g. 30s, 5m, "
                       "1h)", &cmd->name, &value[1]);
    return static_cast<char *>(NGX_CONF_ERROR);
}


/*
 * Like ngx_conf_set_enum_slot (cmd->post is the ngx_conf_enum_t table), but
 * its message names the directive and the value, and lists the choices.
 */
static char *
ngx_http_tasker_auth_enum_slot(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    u_char           *p, *last, buf[256];
    ngx_str_t        *value;
    ngx_uint_t       *field, n, i;
    ngx_conf_enum_t  *e;

    field = reinterpret_cast<ngx_uint_t *>(static_cast<char *>(conf)
                                           + cmd->offset);
    if (*field != NGX_CONF_UNSET_UINT) {
        return const_cast<char *>("is duplicate");
    }

    value = static_cast<ngx_str_t *>(cf->args->elts);
    e = static_cast<ngx_conf_enum_t *>(cmd->post);

    for (n = 0; e[n].name.len; n++) {
        if (e[n].name.len == value[1].len
            && ngx_strncmp(e[n].name.data, value[1].data, value[1].len) == 0)
        {
            *field = e[n].value;
            return NGX_CONF_OK;
        }
    }

    p = buf;
    last = buf + sizeof(buf);

    for (i = 0; i < n; i++) {
        if (i > 0) {
            p = ngx_slprintf(p, last, i + 1 == n ? " or " : ", ");
        }
        p = ngx_slprintf(p, last, "%V", &e[i].name);
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "tasker_auth: %V \"%V\" must be %*s", &cmd->name,
                       &value[1], (size_t) (p - buf), buf);
    return static_cast<char *>(NGX_CONF_ERROR);
}


/*
 * The one check of a JWKS URL, where it is set (directive or TOML file), so
 * the error points at that line: what the fetcher accepts (http or https, a
 * host; tasker::validateFetchUrl) and short enough for a metrics label.
 */
static ngx_int_t
ngx_http_tasker_auth_check_url(ngx_str_t *url, std::string *why)
{
    try {
        std::string u(reinterpret_cast<char *>(url->data), url->len);

        if (tasker::validateFetchUrl(u, why) != tasker::Status::Ok) {
            return NGX_ERROR;
        }

        if (u.size() >= tasker::kMetricsUrlBytes) {
            *why = "longer than " + std::to_string(tasker::kMetricsUrlBytes - 1)
                   + " bytes";
            return NGX_ERROR;
        }

        return NGX_OK;

    } catch (...) {
        return NGX_ERROR;
    }
}


static char *
ngx_http_tasker_auth_jwks_url(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_tasker_auth_loc_conf_t *lcf =
        static_cast<ngx_http_tasker_auth_loc_conf_t *>(conf);

    ngx_str_t  *value;

    if (lcf->jwks_url.data != NULL) {
        return const_cast<char *>("is duplicate");
    }

    value = static_cast<ngx_str_t *>(cf->args->elts);

    std::string  why;

    if (ngx_http_tasker_auth_check_url(&value[1], &why) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "tasker_auth: tasker_jwks_url \"%V\" must be an "
                           "http:// or https:// URL (%s)", &value[1],
                           why.c_str());
        return static_cast<char *>(NGX_CONF_ERROR);
    }

    lcf->jwks_url = value[1];
    return NGX_CONF_OK;
}


static char *
ngx_http_tasker_auth_algorithms(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_tasker_auth_loc_conf_t *lcf =
        static_cast<ngx_http_tasker_auth_loc_conf_t *>(conf);

    ngx_str_t    *value;
    ngx_uint_t    i, mask;
    tasker::Alg   alg;

    if (lcf->algorithms != NGX_CONF_UNSET_UINT) {
        return const_cast<char *>("is duplicate");
    }

    value = static_cast<ngx_str_t *>(cf->args->elts);
    mask = 0;

    for (i = 1; i < cf->args->nelts; i++) {
        if (tasker::parseAlg(ngx_http_tasker_auth_sv(&value[i]), &alg)
            != tasker::Status::Ok)
        {
            /* none and HS* are refused like any unknown name */
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "tasker_auth: tasker_jwt_allowed_algorithms "
                               "\"%V\" is not allowed (use RS256 RS384 RS512 "
                               "PS256 PS384 PS512 ES256 ES384 ES512 EdDSA)",
                               &value[i]);
            return static_cast<char *>(NGX_CONF_ERROR);
        }

        mask |= tasker::algBit(alg);
    }

    lcf->algorithms = mask;
    return NGX_CONF_OK;
}


static char *
ngx_http_tasker_auth_api_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_tasker_auth_loc_conf_t *lcf =
        static_cast<ngx_http_tasker_auth_loc_conf_t *>(conf);

    ngx_str_t                         *value;
    ngx_http_tasker_auth_key_decl_t   *d;

    value = static_cast<ngx_str_t *>(cf->args->elts);

    if (lcf->api_keys == NULL) {
        /* the first key of this block replaces the inherited registry */
        lcf->api_keys = static_cast<ngx_http_tasker_auth_keys_t *>(
                            ngx_pcalloc(cf->pool,
                                        sizeof(ngx_http_tasker_auth_keys_t)));
        if (lcf->api_keys == NULL
            || ngx_array_init(&lcf->api_keys->decls, cf->pool, 4,
                              sizeof(ngx_http_tasker_auth_key_decl_t))
               != NGX_OK)
        {
            return static_cast<char *>(NGX_CONF_ERROR);
        }
    }

    d = static_cast<ngx_http_tasker_auth_key_decl_t *>(
            ngx_array_push(&lcf->api_keys->decls));
    if (d == NULL) {
        return static_cast<char *>(NGX_CONF_ERROR);
    }

    d->key = value[1];
    d->permissions = value[2];
    if (cf->args->nelts > 3) {
        d->description = value[3];
    } else {
        ngx_str_set(&d->description, "api-key");
    }
    d->file = cf->conf_file->file.name;
    d->line = cf->conf_file->line;

    return NGX_CONF_OK;
}


static char *
ngx_http_tasker_auth_config(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_tasker_auth_loc_conf_t *lcf =
        static_cast<ngx_http_tasker_auth_loc_conf_t *>(conf);

    try {
        ngx_str_t                  *value, path;
        std::string                 error;
        std::vector<std::string>    warnings;
        tasker::Status              s;
        tasker::AuthSettings        settings;

        if (lcf->file != NULL) {
            return const_cast<char *>("is duplicate");
        }

        value = static_cast<ngx_str_t *>(cf->args->elts);
        path = value[1];

        if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
            return static_cast<char *>(NGX_CONF_ERROR);
        }

        std::string table;
        if (cf->args->nelts > 2) {
            table.assign(reinterpret_cast<char *>(value[2].data), value[2].len);
        }

        s = tasker::loadAuthToml(
                std::string(reinterpret_cast<char *>(path.data), path.len),
                table, &settings, &warnings, &error);

        for (const std::string &w : warnings) {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "tasker_auth: tasker_auth_config: %s",
                               w.c_str());
        }

        if (s != tasker::Status::Ok) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "tasker_auth: tasker_auth_config \"%V\": %s",
                               &value[1], error.c_str());
            return static_cast<char *>(NGX_CONF_ERROR);
        }

        ngx_http_tasker_auth_store_t *store = ngx_http_tasker_auth_store(cf);
        store->settings.push_back(std::move(settings));
        lcf->file = &store->settings.back();
        lcf->file_name = path;

        return NGX_CONF_OK;

    } catch (...) {
        ngx_conf_log_error(NGX_LOG_ALERT, cf, 0,
                           "tasker_auth: tasker_auth_config: internal error");
        return static_cast<char *>(NGX_CONF_ERROR);
    }
}


/* ---- configuration ---------------------------------------------------- */

static void
ngx_http_tasker_auth_store_cleanup(void *data)
{
    delete static_cast<ngx_http_tasker_auth_store_t *>(data);
}


static void *
ngx_http_tasker_auth_create_main_conf(ngx_conf_t *cf)
{
    ngx_pool_cleanup_t                *cln;
    ngx_http_tasker_auth_main_conf_t  *mcf;

    mcf = static_cast<ngx_http_tasker_auth_main_conf_t *>(
              ngx_pcalloc(cf->pool, sizeof(ngx_http_tasker_auth_main_conf_t)));
    if (mcf == NULL) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    mcf->store = new (std::nothrow) ngx_http_tasker_auth_store_t;
    if (mcf->store == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_tasker_auth_store_cleanup;
    cln->data = mcf->store;

    if (ngx_array_init(&mcf->jwks, cf->pool, 2,
                       sizeof(ngx_http_tasker_auth_jwks_conf_t))
        != NGX_OK)
    {
        return NULL;
    }

    mcf->jwt_cache_size = NGX_CONF_UNSET;
    mcf->jwks_follow_redirects = NGX_CONF_UNSET;

    /*
     * set by ngx_pcalloc():
     *
     *     mcf->jwks_ca_file = { 0, NULL };
     *     mcf->metrics_zone = NULL;
     *     mcf->metrics = NULL;
     *     mcf->jwks_zone = NULL;
     */

    return mcf;
}


static char *
ngx_http_tasker_auth_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_tasker_auth_main_conf_t *mcf =
        static_cast<ngx_http_tasker_auth_main_conf_t *>(conf);

    ngx_conf_init_value(mcf->jwt_cache_size,
                        (ngx_int_t) tasker::kTokenCacheDefaultEntries);
    ngx_conf_init_value(mcf->jwks_follow_redirects, 0);

    return NGX_CONF_OK;
}


static char *
ngx_http_tasker_auth_cache_size(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_tasker_auth_main_conf_t *mcf =
        static_cast<ngx_http_tasker_auth_main_conf_t *>(conf);

    ngx_str_t  *value;
    ngx_int_t   n;

    if (mcf->jwt_cache_size != NGX_CONF_UNSET) {
        return const_cast<char *>("is duplicate");
    }

    value = static_cast<ngx_str_t *>(cf->args->elts);
    n = ngx_atoi(value[1].data, value[1].len);

    if (n == NGX_ERROR || n > 1048576) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "tasker_auth: tasker_jwt_cache_size \"%V\" must be "
                           "a number of entries from 0 (off) to 1048576",
                           &value[1]);
        return static_cast<char *>(NGX_CONF_ERROR);
    }

    mcf->jwt_cache_size = n;
    return NGX_CONF_OK;
}


static void *
ngx_http_tasker_auth_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_tasker_auth_loc_conf_t  *conf;

    conf = static_cast<ngx_http_tasker_auth_loc_conf_t *>(
               ngx_pcalloc(cf->pool, sizeof(ngx_http_tasker_auth_loc_conf_t)));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->rules = NULL;
     *     conf->issuer = { 0, NULL };
     *     conf->audience = { 0, NULL };
     *     conf->key_path = NULL;
     *     conf->key_inline = NULL;
     *     conf->key = NULL;
     *     conf->jwks_url = { 0, NULL };
     *     conf->permissions_claim = { 0, NULL };
     *     conf->api_key_header = { 0, NULL };
     *     conf->api_keys = NULL;
     *     conf->file = NULL;
     *     conf->policy = NULL;
     */

    conf->enable = NGX_CONF_UNSET;
    conf->verification_method = NGX_CONF_UNSET_UINT;
    conf->jwks_refresh_interval = NGX_CONF_UNSET;
    conf->jwks_max_stale = NGX_CONF_UNSET;
    conf->algorithms = NGX_CONF_UNSET_UINT;
    conf->leeway = NGX_CONF_UNSET;
    conf->strict = NGX_CONF_UNSET;
    conf->log_unknown = NGX_CONF_UNSET;
    conf->api_keys_enabled = NGX_CONF_UNSET;
    conf->success_log_level = NGX_CONF_UNSET_UINT;

    return conf;
}


/*
 * tasker_auth_config: the file's values count as set in the block that holds
 * the directive, below the explicit directives of that block. So they are
 * applied to every field the block left unset, before the usual merge with
 * the parent.
 */
static char *
ngx_http_tasker_auth_apply_file(ngx_conf_t *cf,
    ngx_http_tasker_auth_loc_conf_t *conf)
{
    const tasker::AuthSettings  &f = *conf->file;
    const char                  *fname = reinterpret_cast<const char *>(
                                             conf->file_name.data);
    int                          fname_len = static_cast<int>(
                                                 conf->file_name.len);

    auto str = [&](ngx_str_t *dst, const std::optional<std::string> &src)
        -> ngx_int_t {
        if (dst->data != NULL || !src) {
            return NGX_OK;
        }
        return ngx_http_tasker_auth_pstr(cf->pool, *src, dst);
    };

    if (conf->enable == NGX_CONF_UNSET && f.enabled) {
        conf->enable = *f.enabled ? 1 : 0;
    }

    if (str(&conf->issuer, f.jwt_issuer) != NGX_OK
        || str(&conf->audience, f.jwt_audience) != NGX_OK
        || str(&conf->permissions_claim, f.permissions_claim) != NGX_OK
        || str(&conf->api_key_header, f.api_key_header) != NGX_OK)
    {
        return static_cast<char *>(NGX_CONF_ERROR);
    }

    if (conf->verification_method == NGX_CONF_UNSET_UINT
        && f.jwt_verification_method)
    {
        if (*f.jwt_verification_method == "public_key") {
            conf->verification_method = NGX_HTTP_TASKER_AUTH_PUBLIC_KEY;
        } else if (*f.jwt_verification_method == "jwks") {
            conf->verification_method = NGX_HTTP_TASKER_AUTH_JWKS;
        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "tasker_auth: tasker_auth_config \"%*s\": "
                               "jwt_verification_method \"%s\" must be "
                               "public_key or jwks", fname_len, fname,
                               f.jwt_verification_method->c_str());
            return static_cast<char *>(NGX_CONF_ERROR);
        }
    }

    if (conf->jwks_url.data == NULL && f.jwks_url) {
        if (ngx_http_tasker_auth_pstr(cf->pool, *f.jwks_url, &conf->jwks_url)
            != NGX_OK)
        {
            return static_cast<char *>(NGX_CONF_ERROR);
        }

        std::string  why;

        if (ngx_http_tasker_auth_check_url(&conf->jwks_url, &why) != NGX_OK) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "tasker_auth: tasker_auth_config \"%*s\": "
                               "jwks_url \"%V\" must be an http:// or "
                               "https:// URL (%s)", fname_len, fname,
                               &conf->jwks_url, why.c_str());
            return static_cast<char *>(NGX_CONF_ERROR);
        }
    }

    if (conf->jwks_refresh_interval == NGX_CONF_UNSET
        && f.jwks_refresh_interval_seconds)
    {
        conf->jwks_refresh_interval = *f.jwks_refresh_interval_seconds;
    }

    if (conf->jwks_max_stale == NGX_CONF_UNSET && f.jwks_max_stale_seconds) {
        conf->jwks_max_stale = *f.jwks_max_stale_seconds;
    }

    if (conf->leeway == NGX_CONF_UNSET && f.jwt_leeway_seconds) {
        conf->leeway = *f.jwt_leeway_seconds;
    }

    if (conf->algorithms == NGX_CONF_UNSET_UINT && f.jwt_allowed_algorithms) {
        ngx_uint_t   mask = 0;
        tasker::Alg  alg;

        for (const std::string &name : *f.jwt_allowed_algorithms) {
            if (tasker::parseAlg(name, &alg) != tasker::Status::Ok) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "tasker_auth: tasker_auth_config \"%*s\": "
                                   "jwt_allowed_algorithms \"%s\" is not "
                                   "allowed", fname_len, fname, name.c_str());
                return static_cast<char *>(NGX_CONF_ERROR);
            }
            mask |= tasker::algBit(alg);
        }

        conf->algorithms = mask;
    }

    if (conf->strict == NGX_CONF_UNSET && f.strict_validation) {
        conf->strict = *f.strict_validation;
    }

    if (conf->log_unknown == NGX_CONF_UNSET && f.log_unknown_permissions) {
        conf->log_unknown = *f.log_unknown_permissions;
    }

    if (conf->api_keys_enabled == NGX_CONF_UNSET && f.api_keys_enabled) {
        conf->api_keys_enabled = *f.api_keys_enabled;
    }

    if (conf->key_path == NULL && conf->key_inline == NULL) {
        if (f.jwt_public_key_path) {
            /* relative paths resolve against the TOML file's directory */
            std::string p = *f.jwt_public_key_path;
            if (!p.empty() && p[0] != '/') {
                std::string dir(fname, fname_len);
                size_t slash = dir.rfind('/');
                dir = slash == std::string::npos ? "." : dir.substr(0, slash);
                p = dir + "/" + p;
            }

            std::string shown = *f.jwt_public_key_path;
            conf->key_path = ngx_http_tasker_auth_load_key(
                                 cf, "tasker_auth_config jwt_public_key_path",
                                 p, true, shown.c_str());
            if (conf->key_path == NULL) {
                return static_cast<char *>(NGX_CONF_ERROR);
            }
            if (ngx_http_tasker_auth_pstr(cf->pool, shown,
                                          &conf->key_path_name) != NGX_OK)
            {
                return static_cast<char *>(NGX_CONF_ERROR);
            }

        } else if (f.jwt_public_key) {
            conf->key_inline = ngx_http_tasker_auth_load_key(
                                   cf, "tasker_auth_config jwt_public_key",
                                   *f.jwt_public_key, false, "<inline PEM>");
            if (conf->key_inline == NULL) {
                return static_cast<char *>(NGX_CONF_ERROR);
            }
        }
    }

    if (conf->api_keys == NULL && f.api_keys) {
        conf->api_keys = static_cast<ngx_http_tasker_auth_keys_t *>(
                             ngx_pcalloc(cf->pool,
                                         sizeof(ngx_http_tasker_auth_keys_t)));
        if (conf->api_keys == NULL
            || ngx_array_init(&conf->api_keys->decls, cf->pool, 4,
                              sizeof(ngx_http_tasker_auth_key_decl_t))
               != NGX_OK)
        {
            return static_cast<char *>(NGX_CONF_ERROR);
        }

        for (const tasker::TomlApiKey &k : *f.api_keys) {
            ngx_http_tasker_auth_key_decl_t *d =
                static_cast<ngx_http_tasker_auth_key_decl_t *>(
                    ngx_array_push(&conf->api_keys->decls));
            if (d == NULL) {
                return static_cast<char *>(NGX_CONF_ERROR);
            }

            /*
             * The entry is stored like a tasker_api_key line (a comma list),
             * so a comma inside one array element would silently make two
             * strings of it; no permission has a comma, so refuse it.
             */
            std::string perms;
            for (const std::string &p : k.permissions) {
                if (p.find(',') != std::string::npos) {
                    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                       "tasker_auth: tasker_auth_config "
                                       "\"%*s\": %*s:%d: api key permission "
                                       "\"%s\" contains a comma",
                                       fname_len, fname, fname_len, fname,
                                       k.line, p.c_str());
                    return static_cast<char *>(NGX_CONF_ERROR);
                }
                if (!perms.empty()) {
                    perms += ',';
                }
                perms += p;
            }

            if (ngx_http_tasker_auth_pstr(cf->pool, k.key, &d->key) != NGX_OK
                || ngx_http_tasker_auth_pstr(cf->pool, perms, &d->permissions)
                   != NGX_OK
                || ngx_http_tasker_auth_pstr(cf->pool,
                                             k.description.empty()
                                                 ? std::string("api-key")
                                                 : k.description,
                                             &d->description) != NGX_OK)
            {
                return static_cast<char *>(NGX_CONF_ERROR);
            }

            d->file = conf->file_name;
            d->line = static_cast<ngx_uint_t>(k.line);
        }
    }

    return NGX_CONF_OK;
}


/* Compiles the API key declarations for one strict_validation value. */
static const std::shared_ptr<const tasker::ApiKeyRegistry> *
ngx_http_tasker_auth_build_keys(ngx_conf_t *cf,
    ngx_http_tasker_auth_keys_t *keys, bool strict, bool log_unknown)
{
    if (keys->built[strict] != NULL) {
        return keys->built[strict];
    }

    auto reg = std::make_shared<tasker::ApiKeyRegistry>();
    auto *d = static_cast<ngx_http_tasker_auth_key_decl_t *>(keys->decls.elts);

    for (ngx_uint_t i = 0; i < keys->decls.nelts; i++) {
        std::string     detail;
        std::string     source = std::string(
                                     reinterpret_cast<char *>(d[i].file.data),
                                     d[i].file.len)
                                 + ":" + std::to_string(d[i].line);
        tasker::Status  s;

        s = reg->add(ngx_http_tasker_auth_sv(&d[i].key),
                     tasker::splitPermissionList(
                         ngx_http_tasker_auth_sv(&d[i].permissions)),
                     ngx_http_tasker_auth_sv(&d[i].description), strict,
                     source, &detail);

        switch (s) {
        case tasker::Status::Ok:
            break;

        case tasker::Status::ConfigBadHash:
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "tasker_auth: tasker_api_key \"%s\" is not "
                          "sha256:<64 hex digits> in %s", detail.c_str(),
                          source.c_str());
            return NULL;

        case tasker::Status::ConfigDuplicateKey:
            /* the key itself is never printed, only where it stands */
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "tasker_auth: tasker_api_key \"%V\" duplicates "
                          "the key first defined in %s, in %s",
                          &d[i].description, detail.c_str(), source.c_str());
            return NULL;

        case tasker::Status::ConfigUnknownPermission:
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "tasker_auth: tasker_api_key \"%V\" holds unknown "
                          "permission \"%s\" (tasker_strict_validation is on) "
                          "in %s", &d[i].description, detail.c_str(),
                          source.c_str());
            return NULL;

        default:
            /* detail says which limit (empty key, too long, too many
             * permissions); the registry never puts the key in it */
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "tasker_auth: tasker_api_key \"%V\" is invalid "
                          "(%s) in %s", &d[i].description,
                          detail.empty() ? tasker::statusName(s)
                                         : detail.c_str(),
                          source.c_str());
            return NULL;
        }
    }

    if (log_unknown) {
        for (const tasker::ApiKeyEntry &e : reg->entries()) {
            for (const std::string &u : e.unknown) {
                ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                              "tasker_auth: tasker_api_key \"%s\" holds "
                              "unknown permission \"%s\", which grants "
                              "nothing, in %s", e.description.c_str(),
                              u.c_str(), e.source.c_str());
            }
        }
    }

    ngx_http_tasker_auth_store_t *store = ngx_http_tasker_auth_store(cf);
    store->registries.push_back(std::move(reg));
    keys->built[strict] = &store->registries.back();
    return keys->built[strict];
}


static void
ngx_http_tasker_auth_env_key(ngx_conf_t *cf,
    ngx_http_tasker_auth_loc_conf_t *conf)
{
    const char  *path, *pem;

    path = getenv("TASKER_JWT_PUBLIC_KEY_PATH");
    pem = getenv("TASKER_JWT_PUBLIC_KEY");

    if (path != NULL && path[0] != '\0') {
        conf->key = ngx_http_tasker_auth_load_key(
                        cf, "TASKER_JWT_PUBLIC_KEY_PATH", path, true, path);
        ngx_str_set(&conf->key_name, "$TASKER_JWT_PUBLIC_KEY_PATH");
        conf->key_error = (conf->key == NULL);

    } else if (pem != NULL && pem[0] != '\0') {
        conf->key = ngx_http_tasker_auth_load_key(
                        cf, "TASKER_JWT_PUBLIC_KEY", pem, false,
                        "<PEM from the environment>");
        ngx_str_set(&conf->key_name, "$TASKER_JWT_PUBLIC_KEY");
        conf->key_error = (conf->key == NULL);
    }
}


/*
 * Records a JWKS URL in the main conf (once per distinct URL) and remembers
 * its index in the location. Locations sharing a URL share one key set; the
 * shortest refresh interval among them wins.
 */
static ngx_int_t
ngx_http_tasker_auth_register_jwks(ngx_conf_t *cf,
    ngx_http_tasker_auth_loc_conf_t *conf)
{
    ngx_uint_t                          i;
    ngx_http_tasker_auth_jwks_conf_t   *j;
    ngx_http_tasker_auth_main_conf_t   *mcf;

    mcf = static_cast<ngx_http_tasker_auth_main_conf_t *>(
              ngx_http_conf_get_module_main_conf(cf,
                                                 ngx_http_tasker_auth_module));

    j = static_cast<ngx_http_tasker_auth_jwks_conf_t *>(mcf->jwks.elts);

    for (i = 0; i < mcf->jwks.nelts; i++) {
        if (j[i].url.len == conf->jwks_url.len
            && ngx_strncmp(j[i].url.data, conf->jwks_url.data,
                           conf->jwks_url.len) == 0)
        {
            if (conf->jwks_refresh_interval < j[i].refresh_interval) {
                j[i].refresh_interval = conf->jwks_refresh_interval;
            }
            conf->jwks_index = i;
            return NGX_OK;
        }
    }

    /* the URL was checked where it was set (ngx_http_tasker_auth_check_url) */
    std::string url(reinterpret_cast<char *>(conf->jwks_url.data),
                    conf->jwks_url.len);

    if (mcf->jwks.nelts >= static_cast<ngx_uint_t>(tasker::kMaxJwksUrls)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "tasker_auth: tasker_jwks_url \"%V\": at most %d "
                           "distinct JWKS URLs are supported",
                           &conf->jwks_url, tasker::kMaxJwksUrls);
        return NGX_ERROR;
    }

    if (conf->jwks_refresh_interval < 1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "tasker_auth: tasker_jwks_refresh_interval must be "
                           "at least 1s for \"%V\"", &conf->jwks_url);
        return NGX_ERROR;
    }

    j = static_cast<ngx_http_tasker_auth_jwks_conf_t *>(
            ngx_array_push(&mcf->jwks));
    if (j == NULL) {
        return NGX_ERROR;
    }

    ngx_http_tasker_auth_store_t *store = ngx_http_tasker_auth_store(cf);
    store->strings.emplace_back();
    tasker::redactFetchUrl(url, &store->strings.back());

    j->url = conf->jwks_url;
    j->shown = &store->strings.back();
    j->refresh_interval = conf->jwks_refresh_interval;
    j->metrics_slot = -1;

    conf->jwks_index = mcf->jwks.nelts - 1;
    return NGX_OK;
}


static char *
ngx_http_tasker_auth_build_policy(ngx_conf_t *cf,
    ngx_http_tasker_auth_loc_conf_t *conf)
{
    tasker::PolicyConfig  pc;

    pc.verify.issuer.assign(reinterpret_cast<char *>(conf->issuer.data),
                            conf->issuer.len);
    pc.verify.audience.assign(reinterpret_cast<char *>(conf->audience.data),
                              conf->audience.len);
    pc.verify.algorithms = static_cast<tasker::AlgMask>(conf->algorithms);
    pc.verify.leeway_seconds = conf->leeway;
    pc.verify.permissions_claim.assign(
        reinterpret_cast<char *>(conf->permissions_claim.data),
        conf->permissions_claim.len);
    pc.verify.strict = conf->strict;

    if (conf->verification_method == NGX_HTTP_TASKER_AUTH_JWKS) {
        if (conf->jwks_url.data == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "tasker_auth: "
                               "\"tasker_jwt_verification_method jwks\" "
                               "needs tasker_jwks_url");
            return static_cast<char *>(NGX_CONF_ERROR);
        }

        if (ngx_http_tasker_auth_register_jwks(cf, conf) != NGX_OK) {
            return static_cast<char *>(NGX_CONF_ERROR);
        }

        pc.jwt = true;
        pc.jwks = true;
        pc.verify.require_kid = true;

    } else if (conf->key == NULL) {
        /* SPEC 2: without a directive, fall back to the environment */
        ngx_http_tasker_auth_env_key(cf, conf);
        if (conf->key_error) {
            return static_cast<char *>(NGX_CONF_ERROR);
        }
    }

    if (conf->key != NULL && !pc.jwks) {
        const tasker::VerifyKey *k = (*conf->key)->first();

        for (int a = 0; a < tasker::kAlgCount; a++) {
            tasker::Alg alg = static_cast<tasker::Alg>(a);

            if ((conf->algorithms & tasker::algBit(alg))
                && !tasker::algFitsKey(alg, k->type()))
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "tasker_auth: tasker_jwt_allowed_algorithms "
                                   "\"%s\" does not fit the %s public key "
                                   "\"%V\"", tasker::algName(alg),
                                   ngx_http_tasker_auth_key_type_name(
                                       k->type()),
                                   &conf->key_name);
                return static_cast<char *>(NGX_CONF_ERROR);
            }
        }

        pc.jwt = true;
        pc.static_keys = *conf->key;
    }

    pc.api_keys_enabled = conf->api_keys_enabled;

    if (conf->api_keys != NULL) {
        const std::shared_ptr<const tasker::ApiKeyRegistry> *reg;

        reg = ngx_http_tasker_auth_build_keys(cf, conf->api_keys,
                                              conf->strict != 0,
                                              conf->log_unknown != 0);
        if (reg == NULL) {
            return static_cast<char *>(NGX_CONF_ERROR);
        }

        pc.api_keys = *reg;
    }

    if (!pc.jwt && !(pc.api_keys_enabled && pc.api_keys && pc.api_keys->size()))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "tasker_auth: \"tasker_auth on\" needs a JWT key "
                           "(tasker_jwt_public_key_path, tasker_jwt_public_key,"
                           " tasker_jwks_url) or API keys "
                           "(tasker_api_keys_enabled on and tasker_api_key)");
        return static_cast<char *>(NGX_CONF_ERROR);
    }

    if (conf->rules != NULL) {
        pc.rules = *conf->rules;
    }

    ngx_http_tasker_auth_store_t *store = ngx_http_tasker_auth_store(cf);
    store->policies.emplace_back(std::move(pc));
    conf->policy = &store->policies.back();

    return NGX_CONF_OK;
}


static char *
ngx_http_tasker_auth_merge_impl(ngx_conf_t *cf,
    ngx_http_tasker_auth_loc_conf_t *prev,
    ngx_http_tasker_auth_loc_conf_t *conf)
{
    if (conf->file != NULL) {
        if (ngx_http_tasker_auth_apply_file(cf, conf) != NGX_CONF_OK) {
            return static_cast<char *>(NGX_CONF_ERROR);
        }
    }

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_str_value(conf->issuer, prev->issuer, "tasker-core");
    ngx_conf_merge_str_value(conf->audience, prev->audience, "tasker-api");
    ngx_conf_merge_uint_value(conf->verification_method,
                              prev->verification_method,
                              NGX_HTTP_TASKER_AUTH_PUBLIC_KEY);
    ngx_conf_merge_str_value(conf->jwks_url, prev->jwks_url, "");
    ngx_conf_merge_sec_value(conf->jwks_refresh_interval,
                             prev->jwks_refresh_interval, 3600);
    ngx_conf_merge_sec_value(conf->jwks_max_stale, prev->jwks_max_stale, 0);
    ngx_conf_merge_uint_value(conf->algorithms, prev->algorithms,
                              tasker::kDefaultAlgs);
    ngx_conf_merge_sec_value(conf->leeway, prev->leeway, 60);
    ngx_conf_merge_str_value(conf->permissions_claim, prev->permissions_claim,
                             "permissions");
    ngx_conf_merge_value(conf->strict, prev->strict, 1);
    ngx_conf_merge_value(conf->log_unknown, prev->log_unknown, 1);
    ngx_conf_merge_value(conf->api_keys_enabled, prev->api_keys_enabled, 0);
    ngx_conf_merge_str_value(conf->api_key_header, prev->api_key_header,
                             "X-API-Key");
    ngx_conf_merge_uint_value(conf->success_log_level, prev->success_log_level,
                              NGX_LOG_INFO);

    if (conf->jwks_url.len == 0) {
        conf->jwks_url.data = NULL;
    }

    /* the path wins over inline PEM when a block sets both */
    if (conf->key_path != NULL) {
        conf->key = conf->key_path;
        conf->key_name = conf->key_path_name;

    } else if (conf->key_inline != NULL) {
        conf->key = conf->key_inline;
        ngx_str_set(&conf->key_name, "<inline PEM>");

    } else {
        conf->key = prev->key != NULL ? prev->key
                    : prev->key_path != NULL ? prev->key_path
                    : prev->key_inline;
        conf->key_name = prev->key != NULL ? prev->key_name
                         : prev->key_path != NULL ? prev->key_path_name
                         : prev->key_name;
        if (conf->key_name.data == NULL && conf->key != NULL) {
            ngx_str_set(&conf->key_name, "<inline PEM>");
        }
    }

    /* array directives replace, never extend, what they inherit */
    if (conf->rules == NULL) {
        conf->rules = prev->rules;
    }

    if (conf->api_keys == NULL) {
        conf->api_keys = prev->api_keys;
    }

    if (conf->api_keys != NULL && !conf->api_keys_enabled
        && conf->api_keys != prev->api_keys)
    {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "tasker_auth: tasker_api_key is configured but "
                           "tasker_api_keys_enabled is off, so the keys are "
                           "not accepted");
    }

    if (!conf->enable) {
        return NGX_CONF_OK;
    }

    return ngx_http_tasker_auth_build_policy(cf, conf);
}


static char *
ngx_http_tasker_auth_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    try {
        return ngx_http_tasker_auth_merge_impl(
                   cf, static_cast<ngx_http_tasker_auth_loc_conf_t *>(parent),
                   static_cast<ngx_http_tasker_auth_loc_conf_t *>(child));

    } catch (const std::bad_alloc &) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "tasker_auth: out of memory");

    } catch (...) {
        ngx_conf_log_error(NGX_LOG_ALERT, cf, 0,
                           "tasker_auth: internal error while merging");
    }

    return static_cast<char *>(NGX_CONF_ERROR);
}


/* ---- responses -------------------------------------------------------- */

/*
 * grpc-message is percent-encoded: every byte outside ' '..'~', and '%'
 * itself, becomes %XX (gRPC over HTTP/2 protocol).
 */
static ngx_int_t
ngx_http_tasker_auth_grpc_encode(ngx_pool_t *pool, ngx_str_t *src,
    ngx_str_t *dst)
{
    static u_char  hex[] = "0123456789ABCDEF";

    u_char      *p, c;
    ngx_uint_t   i;

    p = static_cast<u_char *>(ngx_pnalloc(pool, src->len * 3));
    if (p == NULL) {
        return NGX_ERROR;
    }

    dst->data = p;

    for (i = 0; i < src->len; i++) {
        c = src->data[i];
        if (c < 0x20 || c > 0x7e || c == '%') {
            *p++ = '%';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 0x0f];
        } else {
            *p++ = c;
        }
    }

    dst->len = p - dst->data;
    return NGX_OK;
}


static ngx_table_elt_t *
ngx_http_tasker_auth_add_header(ngx_http_request_t *r, const char *name,
    ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = static_cast<ngx_table_elt_t *>(
            ngx_list_push(&r->headers_out.headers));
    if (h == NULL) {
        return NULL;
    }

    h->hash = 1;
    h->key.len = ngx_strlen(name);
    h->key.data = (u_char *) name;
    h->value = *value;

    return h;
}


/*
 * Sends a rejection from the access phase and finalizes the request: REST
 * clients get JSON, gRPC clients a Trailers-Only response (SPEC 4).
 */
static ngx_int_t
ngx_http_tasker_auth_reject(ngx_http_request_t *r, tasker::Verdict verdict,
    bool presented, ngx_str_t *message)
{
    ngx_int_t    rc, status, grpc_status;
    ngx_buf_t   *b;
    ngx_str_t    value, error;
    ngx_chain_t  out;
    bool         grpc;

    switch (verdict) {
    case tasker::Verdict::Unauthenticated:
        status = NGX_HTTP_UNAUTHORIZED;
        grpc_status = 16;
        ngx_str_set(&error, "unauthorized");
        break;
    case tasker::Verdict::Forbidden:
        status = NGX_HTTP_FORBIDDEN;
        grpc_status = 7;
        ngx_str_set(&error, "forbidden");
        break;
    case tasker::Verdict::Unavailable:
        status = NGX_HTTP_SERVICE_UNAVAILABLE;
        grpc_status = 14;
        ngx_str_set(&error, "service_unavailable");
        break;
    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    grpc = r->headers_in.content_type != NULL
           && r->headers_in.content_type->value.len >= 16
           && ngx_strncasecmp(r->headers_in.content_type->value.data,
                              (u_char *) "application/grpc", 16) == 0;

    if (status == NGX_HTTP_UNAUTHORIZED) {
        if (presented) {
            ngx_str_set(&value,
                        "Bearer realm=\"tasker\", error=\"invalid_token\"");
        } else {
            ngx_str_set(&value, "Bearer realm=\"tasker\"");
        }

        r->headers_out.www_authenticate =
            ngx_http_tasker_auth_add_header(r, "WWW-Authenticate", &value);
        if (r->headers_out.www_authenticate == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (status == NGX_HTTP_SERVICE_UNAVAILABLE) {
        ngx_str_set(&value, "5");
        if (ngx_http_tasker_auth_add_header(r, "Retry-After", &value) == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (grpc) {
        /* Trailers-Only: HTTP 200, the status in the only HEADERS frame */
        u_char  *p;

        p = static_cast<u_char *>(ngx_pnalloc(r->pool, NGX_INT_T_LEN));
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        value.data = p;
        value.len = ngx_sprintf(p, "%i", grpc_status) - p;

        if (ngx_http_tasker_auth_add_header(r, "grpc-status", &value) == NULL
            || ngx_http_tasker_auth_grpc_encode(r->pool, message, &value)
               != NGX_OK
            || ngx_http_tasker_auth_add_header(r, "grpc-message", &value)
               == NULL)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        r->headers_out.status = NGX_HTTP_OK;
        r->headers_out.content_type = ngx_http_tasker_auth_grpc_type;
        r->headers_out.content_type_len = ngx_http_tasker_auth_grpc_type.len;
        r->headers_out.content_length_n = 0;
        r->header_only = 1;

        rc = ngx_http_send_header(r);
        ngx_http_finalize_request(r, rc == NGX_ERROR ? NGX_ERROR : NGX_OK);
        return NGX_DONE;
    }

    /* {"error":"...","message":"..."}; messages never need JSON escaping */
    size_t len = sizeof("{\"error\":\"\",\"message\":\"\"}\n") - 1 + error.len
                 + message->len;

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_sprintf(b->last, "{\"error\":\"%V\",\"message\":\"%V\"}\n",
                          &error, message);
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = status;
    r->headers_out.content_type = ngx_http_tasker_auth_json_type;
    r->headers_out.content_type_len = ngx_http_tasker_auth_json_type.len;
    r->headers_out.content_length_n = b->last - b->pos;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        ngx_http_finalize_request(r, rc);
        return NGX_DONE;
    }

    out.buf = b;
    out.next = NULL;

    ngx_http_finalize_request(r, ngx_http_output_filter(r, &out));
    return NGX_DONE;
}


static char *
ngx_http_tasker_auth_metrics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = static_cast<ngx_http_core_loc_conf_t *>(
               ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module));
    clcf->handler = ngx_http_tasker_auth_metrics_handler;

    return NGX_CONF_OK;
}


/* ---- access handler --------------------------------------------------- */

static ngx_table_elt_t *
ngx_http_tasker_auth_find_header(ngx_http_request_t *r, ngx_str_t *name,
    ngx_uint_t *count)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h, *found;

    found = NULL;
    *count = 0;
    part = &r->headers_in.headers.part;
    h = static_cast<ngx_table_elt_t *>(part->elts);

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = static_cast<ngx_table_elt_t *>(part->elts);
            i = 0;
        }

        if (h[i].key.len == name->len
            && ngx_strncasecmp(h[i].key.data, name->data, name->len) == 0)
        {
            if (found == NULL) {
                found = &h[i];
            }
            (*count)++;
        }
    }

    return found;
}


static void
ngx_http_tasker_auth_claims_cleanup(void *data)
{
    static_cast<tasker::ClaimsConstPtr *>(data)->~shared_ptr();
}


static ngx_int_t
ngx_http_tasker_auth_join(ngx_pool_t *pool,
    const std::vector<std::string> &items, ngx_str_t *out)
{
    size_t   len = 0;
    u_char  *p;

    for (const std::string &s : items) {
        len += s.size() + 1;
    }

    out->len = 0;
    out->data = NULL;

    if (len == 0) {
        return NGX_OK;
    }

    p = static_cast<u_char *>(ngx_pnalloc(pool, len));
    if (p == NULL) {
        return NGX_ERROR;
    }

    out->data = p;

    for (const std::string &s : items) {
        if (p != out->data) {
            *p++ = ',';
        }
        p = ngx_cpymem(p, s.data(), s.size());
    }

    out->len = p - out->data;
    return NGX_OK;
}


static ngx_int_t
ngx_http_tasker_auth_handle(ngx_http_request_t *r,
    ngx_http_tasker_auth_loc_conf_t *lcf)
{
    ngx_uint_t                   count;
    ngx_str_t                    name, message, subject;
    ngx_table_elt_t             *h;
    ngx_http_tasker_auth_ctx_t  *ctx;
    tasker::RequestView          view;
    tasker::Decision             d;
    tasker::Verdict              verdict;
    const char                  *reason;
    u_char                      *p;
    int                          mi;
    time_t                       now;
    const tasker::KeySet        *keys;
    tasker::MetricsBlock        *m;
    ngx_http_tasker_auth_jwks_slot_t  *slot;
    ngx_http_tasker_auth_main_conf_t  *mcf;

    view.method = ngx_http_tasker_auth_sv(&r->method_name);

    if (r->headers_in.authorization != NULL) {
        view.authorization = ngx_http_tasker_auth_sv(
                                 &r->headers_in.authorization->value);
    }

    if (lcf->api_keys_enabled) {
        h = ngx_http_tasker_auth_find_header(r, &lcf->api_key_header, &count);
        if (h != NULL) {
            /* two key headers are ambiguous: treat them as an invalid key */
            view.api_key = count == 1 ? ngx_http_tasker_auth_sv(&h->value)
                                      : std::string_view();
        }
    }

    if (r->method == NGX_HTTP_OPTIONS) {
        ngx_str_set(&name, "Origin");
        view.has_origin = ngx_http_tasker_auth_find_header(r, &name, &count)
                          != NULL;
        ngx_str_set(&name, "Access-Control-Request-Method");
        view.has_acr_method =
            ngx_http_tasker_auth_find_header(r, &name, &count) != NULL;
    }

    mcf = static_cast<ngx_http_tasker_auth_main_conf_t *>(
              ngx_http_get_module_main_conf(r, ngx_http_tasker_auth_module));

    now = ngx_time();
    keys = NULL;
    slot = NULL;

    if (lcf->verification_method == NGX_HTTP_TASKER_AUTH_JWKS
        && ngx_http_tasker_auth_jwks_locals != NULL
        && mcf->jwks_shm != NULL
        && lcf->jwks_index < ngx_http_tasker_auth_jwks_locals->size())
    {
        slot = &mcf->jwks_shm->slots[lcf->jwks_index];
        keys = (*ngx_http_tasker_auth_jwks_locals)[lcf->jwks_index].keys.get();

        /* past max_stale since the last good refresh, the set is not used */
        if (keys != NULL && lcf->jwks_max_stale > 0
            && now - slot->last_success > lcf->jwks_max_stale)
        {
            keys = NULL;
        }
    }

    lcf->policy->decide(view, now, keys, &d,
                        ngx_http_tasker_auth_worker_cache(mcf));

    if (d.preflight) {
        return NGX_DECLINED;
    }

    if (d.status == tasker::Status::TokenUnknownKid && slot != NULL
        && now - slot->last_fetch >= tasker::kJwksEarlyRefreshSeconds)
    {
        /* a rotated key: ask the timer for an early refresh (rate-limited) */
        slot->early_refresh = 1;
    }

    m = mcf->metrics;

    if (d.jwt_attempted) {
        tasker::metricsObserveVerification(m, d.authenticated, d.verify_ns);
    }

    mi = tasker::metricsMethodIndex(tasker::authMethodName(d.method));
    if (mi >= 0) {
        tasker::metricsCountRequest(m, mi, d.authenticated);
    }

    if (d.status == tasker::Status::PermDenied) {
        tasker::metricsCountDenial(m,
                                   tasker::permissionIndex(d.missing_permission));

    } else if (!d.authenticated) {
        tasker::metricsCountFailure(m, tasker::failureReasonIndex(
                                           tasker::failureReason(d.status)));
    }

    ctx = static_cast<ngx_http_tasker_auth_ctx_t *>(
              ngx_pcalloc(r->pool, sizeof(ngx_http_tasker_auth_ctx_t)));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_tasker_auth_module);

    if (d.authenticated) {
        ctx->method = tasker::authMethodName(d.method);

        if (ngx_http_tasker_auth_var_copy(r->pool, d.subject, &ctx->subject)
            != NGX_OK
            || ngx_http_tasker_auth_join(r->pool, d.permissions,
                                         &ctx->permissions) != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_tasker_auth_header_safe(&ctx->permissions);

        if (d.claims) {
            ngx_pool_cleanup_t *cln = ngx_pool_cleanup_add(
                                          r->pool,
                                          sizeof(tasker::ClaimsConstPtr));
            if (cln == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            ctx->claims = new (cln->data)
                              tasker::ClaimsConstPtr(std::move(d.claims));
            cln->handler = ngx_http_tasker_auth_claims_cleanup;
        }
    }

    /*
     * The log-safe subject is built only when a line is written:
     * ngx_log_error evaluates its arguments after the level check, so a
     * quiet success costs no copy.
     */
    ngx_str_null(&subject);
    bool  subject_ready = false;
    auto  safe_subject = [&]() -> ngx_str_t * {
        if (!subject_ready) {
            subject = ngx_http_tasker_auth_log_safe(r->pool, d.subject);
            subject_ready = true;
        }
        return &subject;
    };

    if (lcf->log_unknown && !d.unknown_permissions.empty()
        && d.method == tasker::AuthMethod::Jwt)
    {
        ngx_str_t  list;

        if (ngx_http_tasker_auth_join(r->pool, d.unknown_permissions, &list)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        list = ngx_http_tasker_auth_log_safe(r->pool,
                                             ngx_http_tasker_auth_sv(&list));
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "tasker_auth: unknown permissions subject=\"%V\" "
                      "permissions=\"%V\"", safe_subject(), &list);
    }

    verdict = tasker::verdictFor(d.status);

    switch (verdict) {

    case tasker::Verdict::Allow:
        if (lcf->success_log_level) {
            ngx_log_error(lcf->success_log_level, r->connection->log, 0,
                          "tasker_auth: authenticated subject=\"%V\" "
                          "method=%s", safe_subject(),
                          tasker::authMethodName(d.method));
        }
        return NGX_OK;

    case tasker::Verdict::Forbidden:
        if (d.status == tasker::Status::PermDenied) {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "tasker_auth: permission denied subject=\"%V\" "
                          "method=%s required=%s", safe_subject(),
                          tasker::authMethodName(d.method),
                          d.missing_permission);

            p = static_cast<u_char *>(ngx_pnalloc(r->pool, 128));
            if (p == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
            message.data = p;
            message.len = ngx_snprintf(p, 128,
                                       "Missing required permission: %s",
                                       d.missing_permission) - p;

        } else {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "tasker_auth: permission denied subject=\"%V\" "
                          "method=%s: no permission rule allows method %V",
                          safe_subject(), tasker::authMethodName(d.method),
                          &r->method_name);

            /* nginx only accepts [A-Z_] method names, safe in JSON */
            p = static_cast<u_char *>(ngx_pnalloc(r->pool,
                                                  64 + r->method_name.len));
            if (p == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
            message.data = p;
            message.len = ngx_sprintf(p, "No permission rule allows method %V",
                                      &r->method_name) - p;
        }

        return ngx_http_tasker_auth_reject(r, verdict, d.presented, &message);

    case tasker::Verdict::Unauthenticated:
    case tasker::Verdict::Unavailable:
        reason = tasker::failureReason(d.status);
        safe_subject();  /* read below, in an unspecified argument order */

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "tasker_auth: authentication failed method=%s "
                      "reason=%s status=%s%s%V%s",
                      d.method == tasker::AuthMethod::None
                          ? "none" : tasker::authMethodName(d.method),
                      reason ? reason : "unknown",
                      tasker::statusName(d.status),
                      subject.len ? " subject=\"" : "", &subject,
                      subject.len ? "\"" : "");

        if (verdict == tasker::Verdict::Unavailable) {
            ngx_str_set(&message, "Authentication keys unavailable");
        } else if (d.method == tasker::AuthMethod::Jwt) {
            ngx_str_set(&message, "Invalid or expired token");
        } else if (d.method == tasker::AuthMethod::ApiKey) {
            ngx_str_set(&message, "Invalid API key");
        } else {
            ngx_str_set(&message, "Missing authentication credentials");
        }

        return ngx_http_tasker_auth_reject(r, verdict, d.presented, &message);

    default:
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "tasker_auth: internal error: %s",
                      tasker::statusName(d.status));
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}


static ngx_int_t
ngx_http_tasker_auth_handler(ngx_http_request_t *r)
{
    ngx_http_tasker_auth_loc_conf_t  *lcf;

    lcf = static_cast<ngx_http_tasker_auth_loc_conf_t *>(
              ngx_http_get_module_loc_conf(r, ngx_http_tasker_auth_module));

    if (!lcf->enable || lcf->policy == NULL) {
        return NGX_DECLINED;
    }

    try {
        return ngx_http_tasker_auth_handle(r, lcf);

    } catch (...) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "tasker_auth: internal error in the access handler");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}


/* ---- variables -------------------------------------------------------- */

static ngx_int_t
ngx_http_tasker_auth_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t                    s;
    ngx_http_tasker_auth_ctx_t  *ctx;

    ctx = static_cast<ngx_http_tasker_auth_ctx_t *>(
              ngx_http_get_module_ctx(r, ngx_http_tasker_auth_module));

    ngx_str_null(&s);

    if (ctx != NULL) {
        switch (data) {
        case 0:
            s = ctx->subject;
            break;
        case 1:
            if (ctx->method != NULL) {
                s.data = (u_char *) ctx->method;
                s.len = ngx_strlen(ctx->method);
            }
            break;
        default:
            s = ctx->permissions;
            break;
        }
    }

    /* not inspected (auth off, preflight): an empty value, not "not found" */
    v->len = s.len;
    v->data = s.data ? s.data : (u_char *) "";
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_tasker_auth_claim_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t                   *name = (ngx_str_t *) data;
    ngx_str_t                    value;
    ngx_http_tasker_auth_ctx_t  *ctx;

    static const size_t  prefix = sizeof("tasker_jwt_claim_") - 1;

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->len = 0;
    v->data = (u_char *) "";

    ctx = static_cast<ngx_http_tasker_auth_ctx_t *>(
              ngx_http_get_module_ctx(r, ngx_http_tasker_auth_module));

    if (ctx == NULL || ctx->claims == NULL || name->len <= prefix) {
        return NGX_OK;
    }

    try {
        std::string out;
        std::string_view claim(reinterpret_cast<char *>(name->data) + prefix,
                               name->len - prefix);

        if (!(*ctx->claims)->render(claim, &out)) {
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


static ngx_http_variable_t  ngx_http_tasker_auth_vars[] = {

    { ngx_string("tasker_auth_subject"), NULL,
      ngx_http_tasker_auth_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("tasker_auth_method"), NULL,
      ngx_http_tasker_auth_variable, 1,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("tasker_auth_permissions"), NULL,
      ngx_http_tasker_auth_variable, 2,
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
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = static_cast<ngx_http_core_main_conf_t *>(
               ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module));

    h = static_cast<ngx_http_handler_pt *>(
            ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers));
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_tasker_auth_handler;

    return ngx_http_tasker_auth_add_zones(
               cf, static_cast<ngx_http_tasker_auth_main_conf_t *>(
                       ngx_http_conf_get_module_main_conf(
                           cf, ngx_http_tasker_auth_module)));
}
