/*
 * ngx_http_tasker_auth_module, configuration half: the directive setters that
 * need the core, the per-cycle store of C++ objects, the tasker_auth_config
 * overlay, and building a location's policy (key sets, API key registries,
 * JWKS registration). Every value is parsed and checked by one function of
 * src/settings.h, whether it comes from a directive or from a TOML file.
 */

#include "ngx_tasker_auth.h"
#include "printable.h"
#include "regular_file.h"

#include <algorithm>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>


static void
ngx_http_tasker_auth_conf_alert(ngx_conf_t *cf, ngx_command_t *cmd)
{
    ngx_conf_log_error(NGX_LOG_ALERT, cf, 0,
                       "tasker_auth: %V: internal error (out of memory?)",
                       &cmd->name);
}


static ngx_http_tasker_auth_store_t *
ngx_http_tasker_auth_cycle_store(ngx_conf_t *cf)
{
    ngx_http_tasker_auth_main_conf_t  *mcf;

    mcf = (ngx_http_tasker_auth_main_conf_t *)
              ngx_http_conf_get_module_main_conf(cf,
                                                 ngx_http_tasker_auth_module);
    return mcf->store;
}


static ngx_int_t
ngx_http_tasker_auth_copy(ngx_pool_t *pool, std::string_view src,
    ngx_str_t *dst)
{
    dst->len = src.size();
    dst->data = (u_char *) ngx_pnalloc(pool, src.size() + 1);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    *ngx_cpymem(dst->data, src.data(), src.size()) = '\0';
    return NGX_OK;
}


static void
ngx_http_tasker_auth_store_cleanup(void *data)
{
    delete static_cast<ngx_http_tasker_auth_store_t *>(data);
}


/* The store lives as long as the cycle's configuration pool. */
ngx_int_t
ngx_http_tasker_auth_create_store(ngx_conf_t *cf,
    ngx_http_tasker_auth_main_conf_t *mcf)
{
    ngx_pool_cleanup_t  *cln;

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    try {
        /* std::deque allocates in its constructor: catch, not nothrow */
        mcf->store = new ngx_http_tasker_auth_store_t;

    } catch (...) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "tasker_auth: out of memory");
        return NGX_ERROR;
    }

    cln->handler = ngx_http_tasker_auth_store_cleanup;
    cln->data = mcf->store;

    return NGX_OK;
}


/* ---- public keys ------------------------------------------------------- */

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


static const char *
ngx_http_tasker_auth_key_problem(tasker::Status s, const std::string &pem)
{
    const char     *private_key;
    static u_char   too_small[64];
    static u_char   multiple[160];

    switch (s) {
    case tasker::Status::KeyTooSmall:
        ngx_snprintf(too_small, sizeof(too_small) - 1,
                     "is an RSA key under %d bits%Z", tasker::kMinRsaBits);
        return (const char *) too_small;
    case tasker::Status::KeyMultiplePemBlocks:
        /* only the count and whether a private key is among them: no key
         * bytes, and no labels copied from the file */
        private_key = (pem.find("PRIVATE KEY-----") != std::string::npos)
                      ? ", among them a private key, which does not belong "
                        "on the gateway"
                      : "";
        ngx_snprintf(multiple, sizeof(multiple) - 1,
                     "holds %uz PEM blocks%s; give exactly one public key%Z",
                     tasker::pemBlockCount(pem), private_key);
        return (const char *) multiple;
    case tasker::Status::KeyUnsupported:
        return "is of an unsupported key type or curve";
    default:
        break;
    }

    if (pem.find("PRIVATE KEY-----") != std::string::npos) {
        return "is not a PEM public key: this is a private key; the gateway "
               "needs the public key (jwt-public-key.pem)";
    }

    return "is not a PEM public key (SPKI, PKCS#1 RSA, EC or Ed25519)";
}


/*
 * Parses a PEM public key once per distinct source and returns the cached
 * set. `path` is the file nginx opens (NULL for inline PEM in `source`);
 * `shown` is the value as the operator wrote it. Errors name the directive,
 * the value as written and, for files, the resolved path.
 */
static const tasker::KeySetConstPtr *
ngx_http_tasker_auth_load_key(ngx_conf_t *cf, const char *directive,
    const std::string *path, const std::string &source, const char *shown)
{
    int                            err;
    std::string                    pem;
    const char                    *problem;
    tasker::Status                 s;
    tasker::KeySetConstPtr         ks;
    ngx_http_tasker_auth_store_t  *store;

    store = ngx_http_tasker_auth_cycle_store(cf);

    std::string cache_key = (path ? "path:" + *path : "pem:" + source);
    auto it = store->key_cache.find(cache_key);
    if (it != store->key_cache.end()) {
        return it->second;
    }

    if (path == NULL) {
        pem = source;

    } else {
        /* without waiting on a FIFO (regular_file.h) */
        switch (tasker::readRegularFile(*path, tasker::kMaxPemFileBytes, &pem,
                                        &err))
        {
        case tasker::ReadFileResult::Ok:
            break;

        case tasker::ReadFileResult::NotRegular:
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "tasker_auth: %s \"%s\" cannot be read: "
                               "\"%s\" is not a regular file", directive,
                               shown, path->c_str());
            return NULL;

        case tasker::ReadFileResult::TooLarge:
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "tasker_auth: %s \"%s\" is not a key: "
                               "\"%s\" is larger than %uz bytes", directive,
                               shown, path->c_str(), tasker::kMaxPemFileBytes);
            return NULL;

        default:
            ngx_conf_log_error(NGX_LOG_EMERG, cf, err,
                               "tasker_auth: %s \"%s\" cannot be read: "
                               "open() \"%s\" failed", directive, shown,
                               path->c_str());
            return NULL;
        }
    }

    s = tasker::KeySet::fromPem(pem, &ks);
    problem = (s == tasker::Status::Ok)
              ? NULL : ngx_http_tasker_auth_key_problem(s, pem);

    /* the file may have been a private key: do not leave it in memory */
    if (!pem.empty()) {
        ngx_explicit_memzero(&pem[0], pem.size());
    }

    if (problem != NULL) {
        if (path) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "tasker_auth: %s \"%s\" %s (%s), read from "
                               "\"%s\"", directive, shown, problem,
                               tasker::statusName(s), path->c_str());
        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "tasker_auth: %s \"%s\" %s (%s)", directive,
                               shown, problem, tasker::statusName(s));
        }
        return NULL;
    }

    store->keysets.push_back(ks);
    const tasker::KeySetConstPtr *p = &store->keysets.back();
    store->key_cache.emplace(cache_key, p);
    return p;
}


/* ---- directive setters ------------------------------------------------- */

static char *
ngx_http_tasker_auth_refuse(ngx_conf_t *cf, ngx_str_t *name,
    const tasker::SettingError &e)
{
    std::string  msg = e.message(ngx_http_tasker_auth_sv(name));

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "tasker_auth: %s", msg.c_str());
    return NGX_HTTP_TASKER_CONF_ERROR;
}


char *
ngx_http_tasker_auth_permission(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    auto  *lcf = static_cast<ngx_http_tasker_auth_loc_conf_t *>(conf);

    try {
        ngx_str_t                      *value;
        ngx_uint_t                      i;
        tasker::SettingError            e;
        std::vector<std::string_view>   args;

        value = (ngx_str_t *) cf->args->elts;

        for (i = 1; i < cf->args->nelts; i++) {
            args.push_back(ngx_http_tasker_auth_sv(&value[i]));
        }

        if (lcf->rules == NULL) {
            /* the first rule of this block replaces the inherited list */
            ngx_http_tasker_auth_store_t  *store;

            store = ngx_http_tasker_auth_cycle_store(cf);
            store->rules.push_back(std::make_shared<tasker::RuleSet>());
            lcf->rules = &store->rules.back();
        }

        if (tasker::parsePermissionRule(args, lcf->rules->get(), &e)
            != tasker::Status::Ok)
        {
            return ngx_http_tasker_auth_refuse(cf, &cmd->name, e);
        }

        return NGX_CONF_OK;

    } catch (...) {
        ngx_http_tasker_auth_conf_alert(cf, cmd);
        return NGX_HTTP_TASKER_CONF_ERROR;
    }
}


char *
ngx_http_tasker_auth_public_key_path(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    auto  *lcf = static_cast<ngx_http_tasker_auth_loc_conf_t *>(conf);

    try {
        ngx_str_t  *value, path;

        if (lcf->jwt.key_path != NULL) {
            return (char *) "is duplicate";
        }

        value = (ngx_str_t *) cf->args->elts;
        path = value[1];

        /* relative to the directory of nginx.conf, like ssl_certificate */
        if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
            return NGX_HTTP_TASKER_CONF_ERROR;
        }

        std::string  resolved(ngx_http_tasker_auth_sv(&path));
        std::string  shown(ngx_http_tasker_auth_sv(&value[1]));

        lcf->jwt.key_path = ngx_http_tasker_auth_load_key(
                                cf, "tasker_jwt_public_key_path", &resolved,
                                resolved, shown.c_str());
        if (lcf->jwt.key_path == NULL) {
            return NGX_HTTP_TASKER_CONF_ERROR;
        }

        lcf->jwt.key_path_name = value[1];
        return NGX_CONF_OK;

    } catch (...) {
        ngx_http_tasker_auth_conf_alert(cf, cmd);
        return NGX_HTTP_TASKER_CONF_ERROR;
    }
}


/*
 * The CA bundle is read, checked and parsed here, once per configuration
 * load, and kept in the cycle's store: a JWKS fetch hands libcurl the parsed
 * certificates and opens no file in the worker. A mistake fails nginx -t, and a
 * reload reads the file again.
 */
char *
ngx_http_tasker_auth_jwks_ca_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    auto  *mcf = static_cast<ngx_http_tasker_auth_main_conf_t *>(conf);

    try {
        ngx_str_t  *value, path;

        if (mcf->store->jwks_ca) {
            return (char *) "is duplicate";
        }

        value = (ngx_str_t *) cf->args->elts;
        path = value[1];

        /* relative to the directory of nginx.conf, like ssl_certificate */
        if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
            return NGX_HTTP_TASKER_CONF_ERROR;
        }

        std::string  error;
        tasker::Status  s = tasker::readCaBundle(
                                std::string(ngx_http_tasker_auth_sv(&path)),
                                &mcf->store->jwks_ca, &error);

        if (s != tasker::Status::Ok) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "tasker_auth: tasker_jwks_ca_file \"%V\" %s "
                               "(read from \"%V\")", &value[1],
                               error.c_str(), &path);
            return NGX_HTTP_TASKER_CONF_ERROR;
        }

        return NGX_CONF_OK;

    } catch (...) {
        ngx_http_tasker_auth_conf_alert(cf, cmd);
        return NGX_HTTP_TASKER_CONF_ERROR;
    }
}


/*
 * Without tasker_jwks_ca_file, https JWKS endpoints are verified against the
 * system CA bundle (libcurl's CA file), read and parsed here once per load for
 * the same reason: left to libcurl, every fetch reads and parses it in the
 * worker (~20 ms for Debian's 220 KB bundle, with requests waiting). An https
 * URL with no readable bundle can never be fetched, so it fails nginx -t. With
 * tasker_jwks_follow_redirects on, an http URL may lead to https: the bundle is
 * read then too, but an unreadable one is left to fail that fetch.
 * Called from postconfiguration, when every location has registered its URL.
 */
ngx_int_t
ngx_http_tasker_auth_jwks_trust(ngx_conf_t *cf,
    ngx_http_tasker_auth_main_conf_t *mcf)
{
    ngx_uint_t                         i;
    const char                        *path;
    ngx_http_tasker_auth_jwks_conf_t  *j, *https;

    if (mcf->store->jwks_ca || mcf->jwks.nelts == 0) {
        return NGX_OK;
    }

    j = (ngx_http_tasker_auth_jwks_conf_t *) mcf->jwks.elts;
    https = NULL;

    for (i = 0; i < mcf->jwks.nelts; i++) {
        if (j[i].url.len >= sizeof("https://") - 1
            && ngx_strncasecmp(j[i].url.data, (u_char *) "https://",
                               sizeof("https://") - 1) == 0)
        {
            https = &j[i];
            break;
        }
    }

    if (https == NULL && !mcf->jwks_follow_redirects) {
        return NGX_OK;
    }

    path = tasker::systemCaBundlePath();
    if (path == NULL) {
        return NGX_OK;  /* a libcurl with a CA directory only: its defaults */
    }

    try {
        std::string     error;
        tasker::Status  s = tasker::readCaBundle(path, &mcf->store->jwks_ca,
                                                 &error);

        if (s != tasker::Status::Ok && https != NULL) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "tasker_auth: tasker_jwks_url \"%s\" is verified "
                          "against the system CA bundle \"%s\", which %s; "
                          "install ca-certificates or set "
                          "tasker_jwks_ca_file", https->shown->c_str(), path,
                          error.c_str());
            return NGX_ERROR;
        }

        return NGX_OK;

    } catch (...) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "tasker_auth: out of memory reading the system CA "
                      "bundle \"%s\"", path);
        return NGX_ERROR;
    }
}


char *
ngx_http_tasker_auth_public_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    auto  *lcf = static_cast<ngx_http_tasker_auth_loc_conf_t *>(conf);

    try {
        ngx_str_t  *value;

        if (lcf->jwt.key_inline != NULL) {
            return (char *) "is duplicate";
        }

        value = (ngx_str_t *) cf->args->elts;

        lcf->jwt.key_inline = ngx_http_tasker_auth_load_key(
                                  cf, "tasker_jwt_public_key", NULL,
                                  std::string(ngx_http_tasker_auth_sv(
                                      &value[1])),
                                  "<inline PEM>");

        return lcf->jwt.key_inline ? NGX_CONF_OK : NGX_HTTP_TASKER_CONF_ERROR;

    } catch (...) {
        ngx_http_tasker_auth_conf_alert(cf, cmd);
        return NGX_HTTP_TASKER_CONF_ERROR;
    }
}


char *
ngx_http_tasker_auth_verification_method(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    auto  *lcf = static_cast<ngx_http_tasker_auth_loc_conf_t *>(conf);

    try {
        ngx_str_t                   *value;
        tasker::SettingError         e;
        tasker::VerificationMethod   m;

        if (lcf->jwks.method != NGX_CONF_UNSET_UINT) {
            return (char *) "is duplicate";
        }

        value = (ngx_str_t *) cf->args->elts;

        if (tasker::parseVerificationMethod(ngx_http_tasker_auth_sv(&value[1]),
                                            &m, &e)
            != tasker::Status::Ok)
        {
            return ngx_http_tasker_auth_refuse(cf, &cmd->name, e);
        }

        lcf->jwks.method = (ngx_uint_t) m;
        return NGX_CONF_OK;

    } catch (...) {
        ngx_http_tasker_auth_conf_alert(cf, cmd);
        return NGX_HTTP_TASKER_CONF_ERROR;
    }
}


char *
ngx_http_tasker_auth_jwks_url(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    auto  *lcf = static_cast<ngx_http_tasker_auth_loc_conf_t *>(conf);

    try {
        ngx_str_t             *value;
        std::string            url;
        tasker::SettingError   e;

        if (lcf->jwks.url.data != NULL) {
            return (char *) "is duplicate";
        }

        value = (ngx_str_t *) cf->args->elts;

        if (tasker::parseJwksUrl(ngx_http_tasker_auth_sv(&value[1]), &url, &e)
            != tasker::Status::Ok)
        {
            return ngx_http_tasker_auth_refuse(cf, &cmd->name, e);
        }

        lcf->jwks.url = value[1];
        return NGX_CONF_OK;

    } catch (...) {
        ngx_http_tasker_auth_conf_alert(cf, cmd);
        return NGX_HTTP_TASKER_CONF_ERROR;
    }
}


char *
ngx_http_tasker_auth_algorithms(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    auto  *lcf = static_cast<ngx_http_tasker_auth_loc_conf_t *>(conf);

    try {
        ngx_str_t                      *value;
        ngx_uint_t                      i;
        tasker::AlgMask                 mask;
        tasker::SettingError            e;
        std::vector<std::string_view>   names;

        if (lcf->jwt.algorithms != NGX_CONF_UNSET_UINT) {
            return (char *) "is duplicate";
        }

        value = (ngx_str_t *) cf->args->elts;

        for (i = 1; i < cf->args->nelts; i++) {
            names.push_back(ngx_http_tasker_auth_sv(&value[i]));
        }

        if (tasker::parseAlgorithms(names, &mask, &e) != tasker::Status::Ok) {
            return ngx_http_tasker_auth_refuse(cf, &cmd->name, e);
        }

        lcf->jwt.algorithms = mask;
        return NGX_CONF_OK;

    } catch (...) {
        ngx_http_tasker_auth_conf_alert(cf, cmd);
        return NGX_HTTP_TASKER_CONF_ERROR;
    }
}


static ngx_http_tasker_auth_keys_t *
ngx_http_tasker_auth_new_keys(ngx_conf_t *cf)
{
    ngx_http_tasker_auth_keys_t   *keys;
    ngx_http_tasker_auth_store_t  *store;

    keys = (ngx_http_tasker_auth_keys_t *)
               ngx_pcalloc(cf->pool, sizeof(ngx_http_tasker_auth_keys_t));
    if (keys == NULL) {
        return NULL;
    }

    store = ngx_http_tasker_auth_cycle_store(cf);
    store->key_specs.emplace_back();
    keys->specs = &store->key_specs.back();

    return keys;
}


char *
ngx_http_tasker_auth_api_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    auto  *lcf = static_cast<ngx_http_tasker_auth_loc_conf_t *>(conf);

    try {
        ngx_str_t             *value, description;
        tasker::ApiKeySpec     spec;
        tasker::SettingError   e;

        value = (ngx_str_t *) cf->args->elts;

        if (lcf->api_keys.keys == NULL) {
            /* the first key of this block replaces the inherited registry */
            lcf->api_keys.keys = ngx_http_tasker_auth_new_keys(cf);
            if (lcf->api_keys.keys == NULL) {
                return NGX_HTTP_TASKER_CONF_ERROR;
            }
        }

        ngx_str_null(&description);
        if (cf->args->nelts > 3) {
            description = value[3];
        }

        std::string source = std::string(ngx_http_tasker_auth_sv(
                                 &cf->conf_file->file.name))
                             + ":" + std::to_string(cf->conf_file->line);

        if (tasker::parseApiKeyEntry(
                ngx_http_tasker_auth_sv(&value[1]),
                tasker::splitPermissionList(ngx_http_tasker_auth_sv(&value[2])),
                ngx_http_tasker_auth_sv(&description), std::move(source),
                &spec, &e)
            != tasker::Status::Ok)
        {
            return ngx_http_tasker_auth_refuse(cf, &cmd->name, e);
        }

        if (tasker::looksLikeUnprefixedDigest(spec.key)) {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "tasker_auth: tasker_api_key \"%s\"%s",
                               tasker::withoutControlBytes(spec.description)
                                   .c_str(),
                               tasker::kUnprefixedDigestWarning);
        }

        lcf->api_keys.keys->specs->push_back(std::move(spec));
        return NGX_CONF_OK;

    } catch (...) {
        ngx_http_tasker_auth_conf_alert(cf, cmd);
        return NGX_HTTP_TASKER_CONF_ERROR;
    }
}


char *
ngx_http_tasker_auth_config(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    auto  *lcf = static_cast<ngx_http_tasker_auth_loc_conf_t *>(conf);

    try {
        ngx_str_t                  *value, path;
        std::string                 error, table;
        std::vector<std::string>    warnings;
        tasker::Status              s;
        tasker::Settings            settings;

        if (lcf->toml != NULL) {
            return (char *) "is duplicate";
        }

        value = (ngx_str_t *) cf->args->elts;
        path = value[1];

        if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
            return NGX_HTTP_TASKER_CONF_ERROR;
        }

        if (cf->args->nelts > 2) {
            table = ngx_http_tasker_auth_sv(&value[2]);
        }

        s = tasker::loadAuthSettings(
                std::string(ngx_http_tasker_auth_sv(&path)), table, &settings,
                &warnings, &error);

        /*
         * the first few, then a count: a 1 MiB file can hold 100,000
         * unknown keys, which were as many log lines at every reload
         */
        const size_t  shown = std::min<size_t>(warnings.size(), 16);

        for (size_t i = 0; i < shown; i++) {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "tasker_auth: tasker_auth_config: %s",
                               warnings[i].c_str());
        }

        if (warnings.size() > shown) {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "tasker_auth: tasker_auth_config: %V: %uz more "
                               "unknown keys not shown", &path,
                               warnings.size() - shown);
        }

        if (s != tasker::Status::Ok) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "tasker_auth: tasker_auth_config \"%V\": %s",
                               &value[1], error.c_str());
            return NGX_HTTP_TASKER_CONF_ERROR;
        }

        ngx_http_tasker_auth_store_t  *store;

        store = ngx_http_tasker_auth_cycle_store(cf);
        store->settings.push_back(std::move(settings));
        lcf->toml = &store->settings.back();

        return NGX_CONF_OK;

    } catch (...) {
        ngx_http_tasker_auth_conf_alert(cf, cmd);
        return NGX_HTTP_TASKER_CONF_ERROR;
    }
}


/* ngx_conf_set_sec_slot's message would not name the value */
char *
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

    value = (ngx_str_t *) cf->args->elts;

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "tasker_auth: %V \"%V\" is not a time (e.g. 30s, 5m, "
                       "1h)", &cmd->name, &value[1]);
    return NGX_HTTP_TASKER_CONF_ERROR;
}


/*
 * The post handlers (cmd->post) of the time and text directives: nginx's
 * slot function has stored the value in `data`; a settings function decides
 * whether it is allowed, and a refusal names the directive and the value.
 */
template <typename Check>
static char *
ngx_http_tasker_auth_post_check(ngx_conf_t *cf, Check check)
{
    ngx_str_t             *value;
    tasker::SettingError   e;

    value = (ngx_str_t *) cf->args->elts;

    try {
        if (check(&e) != tasker::Status::Ok) {
            return ngx_http_tasker_auth_refuse(cf, &value[0], e);
        }

        return NGX_CONF_OK;

    } catch (...) {
        ngx_conf_log_error(NGX_LOG_ALERT, cf, 0,
                           "tasker_auth: %V: internal error", &value[0]);
        return NGX_HTTP_TASKER_CONF_ERROR;
    }
}


char *
ngx_http_tasker_auth_check_duration(ngx_conf_t *cf, void *post, void *data)
{
    time_t     *sp = static_cast<time_t *>(data);
    ngx_str_t  *value = (ngx_str_t *) cf->args->elts;

    return ngx_http_tasker_auth_post_check(cf, [&](tasker::SettingError *e) {
        return tasker::checkDuration(*sp, ngx_http_tasker_auth_sv(&value[1]), e);
    });
}


char *
ngx_http_tasker_auth_check_refresh(ngx_conf_t *cf, void *post, void *data)
{
    time_t     *sp = static_cast<time_t *>(data);
    ngx_str_t  *value = (ngx_str_t *) cf->args->elts;

    return ngx_http_tasker_auth_post_check(cf, [&](tasker::SettingError *e) {
        return tasker::checkJwksRefreshInterval(
                   *sp, ngx_http_tasker_auth_sv(&value[1]), e);
    });
}


char *
ngx_http_tasker_auth_check_text(ngx_conf_t *cf, void *post, void *data)
{
    ngx_str_t  *sp = static_cast<ngx_str_t *>(data);

    return ngx_http_tasker_auth_post_check(cf, [&](tasker::SettingError *e) {
        return tasker::checkText(ngx_http_tasker_auth_sv(sp), e);
    });
}


char *
ngx_http_tasker_auth_check_header(ngx_conf_t *cf, void *post, void *data)
{
    ngx_str_t  *sp = static_cast<ngx_str_t *>(data);

    return ngx_http_tasker_auth_post_check(cf, [&](tasker::SettingError *e) {
        return tasker::checkHeaderName(ngx_http_tasker_auth_sv(sp), e);
    });
}


/*
 * Like ngx_conf_set_enum_slot (cmd->post is the ngx_conf_enum_t table), but
 * its message names the directive and the value, and lists the choices.
 */
char *
ngx_http_tasker_auth_enum_slot(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    u_char           *p, *last, buf[256];
    ngx_str_t        *value;
    ngx_uint_t       *field, n, i;
    ngx_conf_enum_t  *e;

    field = (ngx_uint_t *) ((char *) conf + cmd->offset);
    if (*field != NGX_CONF_UNSET_UINT) {
        return (char *) "is duplicate";
    }

    value = (ngx_str_t *) cf->args->elts;
    e = (ngx_conf_enum_t *) cmd->post;

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
    return NGX_HTTP_TASKER_CONF_ERROR;
}


char *
ngx_http_tasker_auth_cache_size(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    auto  *mcf = static_cast<ngx_http_tasker_auth_main_conf_t *>(conf);

    ngx_str_t  *value;
    ngx_int_t   n;

    if (mcf->jwt_cache_size != NGX_CONF_UNSET) {
        return (char *) "is duplicate";
    }

    value = (ngx_str_t *) cf->args->elts;
    n = ngx_atoi(value[1].data, value[1].len);

    if (n == NGX_ERROR || n > 1048576) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "tasker_auth: tasker_jwt_cache_size \"%V\" must be "
                           "a number of entries from 0 (off) to 1048576",
                           &value[1]);
        return NGX_HTTP_TASKER_CONF_ERROR;
    }

    mcf->jwt_cache_size = n;
    return NGX_CONF_OK;
}


/* ---- tasker_jwt_claim_set --------------------------------------------- */

static void
ngx_http_tasker_auth_claim_path_cleanup(void *data)
{
    static_cast<tasker::ClaimPath *>(data)->~ClaimPath();
}


/*
 * Why "$name" cannot name a tasker_jwt_claim_set variable, or NULL: only
 * letters, digits and '_', not of the $tasker_jwt_claim_ family (it would
 * shadow a claim variable), and not defined before (set, map, a module, an
 * earlier tasker_jwt_claim_set): the identity it carries is never overwritten.
 */
static const char *
ngx_http_tasker_auth_claim_var_problem(ngx_conf_t *cf, ngx_str_t *name)
{
    static const ngx_str_t  family = ngx_string("tasker_jwt_claim_");

    u_char                     *p;
    ngx_uint_t                  i;
    ngx_hash_key_t             *key;
    ngx_http_variable_t        *v;
    ngx_http_core_main_conf_t  *cmcf;

    for (p = name->data; p < name->data + name->len; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9') || *p == '_'))
        {
            return "a variable name has only letters, digits and '_'";
        }
    }

    if (name->len >= family.len
        && ngx_strncasecmp(name->data, family.data, family.len) == 0)
    {
        return "names starting with $tasker_jwt_claim_ belong to the claim "
               "variables, choose another name";
    }

    cmcf = static_cast<ngx_http_core_main_conf_t *>(
               ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module));
    key = static_cast<ngx_hash_key_t *>(cmcf->variables_keys->keys.elts);

    for (i = 0; i < cmcf->variables_keys->keys.nelts; i++) {
        if (key[i].key.len == name->len
            && ngx_strncasecmp(key[i].key.data, name->data, name->len) == 0)
        {
            v = static_cast<ngx_http_variable_t *>(key[i].value);
            return v->get_handler == ngx_http_tasker_auth_claim_set_variable
                   ? "duplicate variable, already set by tasker_jwt_claim_set"
                   : "the variable is already defined elsewhere (set, map, "
                     "a module)";
        }
    }

    return NULL;
}


/*
 * tasker_jwt_claim_set $variable CLAIM;  (http level, like map)
 *
 * Adds $variable with a getter that renders CLAIM, an exact claim name or a
 * dotted path (src/claim_path.h), from the request's verified token.
 */
char *
ngx_http_tasker_auth_claim_set(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_str_t  *value = static_cast<ngx_str_t *>(cf->args->elts);

    try {
        ngx_str_t             name;
        const char           *why;
        tasker::Status        s;
        tasker::ClaimPath    *path;
        ngx_pool_cleanup_t   *cln;
        ngx_http_variable_t  *v;

        if (value[1].len < 2 || value[1].data[0] != '$') {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "tasker_auth: tasker_jwt_claim_set \"%V\": "
                               "the first argument must be a variable name "
                               "starting with '$'", &value[1]);
            return NGX_HTTP_TASKER_CONF_ERROR;
        }

        name.len = value[1].len - 1;
        name.data = value[1].data + 1;

        why = ngx_http_tasker_auth_claim_var_problem(cf, &name);
        if (why != NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "tasker_auth: tasker_jwt_claim_set \"%V\": %s",
                               &value[1], why);
            return NGX_HTTP_TASKER_CONF_ERROR;
        }

        cln = ngx_pool_cleanup_add(cf->pool, sizeof(tasker::ClaimPath));
        if (cln == NULL) {
            return NGX_HTTP_TASKER_CONF_ERROR;
        }

        path = new (cln->data) tasker::ClaimPath();
        cln->handler = ngx_http_tasker_auth_claim_path_cleanup;

        why = NULL;
        s = tasker::ClaimPath::parse(ngx_http_tasker_auth_sv(&value[2]), path,
                                     &why);
        if (s != tasker::Status::Ok) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "tasker_auth: tasker_jwt_claim_set %V \"%V\": "
                               "the claim path %s", &value[1], &value[2],
                               why ? why : tasker::statusName(s));
            return NGX_HTTP_TASKER_CONF_ERROR;
        }

        v = ngx_http_add_variable(cf, &name, NGX_HTTP_VAR_NOCACHEABLE);
        if (v == NULL) {
            return NGX_HTTP_TASKER_CONF_ERROR;
        }

        v->get_handler = ngx_http_tasker_auth_claim_set_variable;
        v->data = reinterpret_cast<uintptr_t>(path);

        return NGX_CONF_OK;

    } catch (...) {
        ngx_http_tasker_auth_conf_alert(cf, cmd);
        return NGX_HTTP_TASKER_CONF_ERROR;
    }
}


/* ---- tasker_auth_config overlay --------------------------------------- */

static ngx_int_t
ngx_http_tasker_auth_overlay_str(ngx_pool_t *pool, ngx_str_t *dst,
    const std::optional<std::string> &src)
{
    if (dst->data != NULL || !src) {
        return NGX_OK;
    }

    return ngx_http_tasker_auth_copy(pool, *src, dst);
}


template <typename T, typename V>
static void
ngx_http_tasker_auth_overlay(T *dst, T unset, const std::optional<V> &src)
{
    if (*dst == unset && src) {
        *dst = static_cast<T>(*src);
    }
}


/* the same, noting where the value came from for the messages of the merge */
static ngx_int_t
ngx_http_tasker_auth_overlay_str_from(ngx_pool_t *pool, ngx_str_t *dst,
    const std::optional<std::string> &src, const tasker::Settings &f,
    std::string_view key, ngx_str_t *from)
{
    if (dst->data != NULL || !src) {
        return NGX_OK;
    }

    if (ngx_http_tasker_auth_copy(pool, *src, dst) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_tasker_auth_copy(pool, f.from(key), from);
}


template <typename T, typename V>
static ngx_int_t
ngx_http_tasker_auth_overlay_from(ngx_pool_t *pool, T *dst, T unset,
    const std::optional<V> &src, const tasker::Settings &f,
    std::string_view key, ngx_str_t *from)
{
    if (*dst != unset || !src) {
        return NGX_OK;
    }

    *dst = static_cast<T>(*src);

    return ngx_http_tasker_auth_copy(pool, f.from(key), from);
}


static char *
ngx_http_tasker_auth_overlay_key(ngx_conf_t *cf,
    ngx_http_tasker_auth_loc_conf_t *conf, const tasker::Settings &f)
{
    if (conf->jwt.key_path != NULL || conf->jwt.key_inline != NULL) {
        return NGX_CONF_OK;
    }

    /*
     * Both are read and checked when the file sets both, as the two
     * directives are in one block; the path wins at merge. Their errors
     * name the file and the line the key was read from.
     */
    if (f.jwt_public_key_path) {
        const std::string  directive = f.from("jwt_public_key_path");

        conf->jwt.key_path = ngx_http_tasker_auth_load_key(
                                 cf, directive.c_str(),
                                 &*f.jwt_public_key_path,
                                 *f.jwt_public_key_path,
                                 f.jwt_public_key_written->c_str());
        if (conf->jwt.key_path == NULL
            || ngx_http_tasker_auth_copy(cf->pool, *f.jwt_public_key_written,
                                         &conf->jwt.key_path_name)
               != NGX_OK)
        {
            return NGX_HTTP_TASKER_CONF_ERROR;
        }
    }

    if (f.jwt_public_key) {
        const std::string  directive = f.from("jwt_public_key");

        conf->jwt.key_inline = ngx_http_tasker_auth_load_key(
                                   cf, directive.c_str(),
                                   NULL, *f.jwt_public_key, "<inline PEM>");
        if (conf->jwt.key_inline == NULL) {
            return NGX_HTTP_TASKER_CONF_ERROR;
        }
    }

    /* the one a message names: the path wins, as at merge */
    if (f.jwt_public_key_path || f.jwt_public_key) {
        return ngx_http_tasker_auth_copy(cf->pool,
                                         f.from(f.jwt_public_key_path
                                                ? "jwt_public_key_path"
                                                : "jwt_public_key"),
                                         &conf->jwt.key_from)
               == NGX_OK ? NGX_CONF_OK : NGX_HTTP_TASKER_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * tasker_auth_config: the file's values (already checked by the core's
 * settings functions) count as set in the block that holds the directive,
 * below the explicit directives of that block. So they fill every field the
 * block left unset, before the usual merge with the parent.
 */
static char *
ngx_http_tasker_auth_overlay_settings(ngx_conf_t *cf,
    ngx_http_tasker_auth_loc_conf_t *conf)
{
    const tasker::Settings  &f = *conf->toml;

    ngx_http_tasker_auth_overlay<time_t>(&conf->jwks.refresh_interval,
                                         NGX_CONF_UNSET,
                                         f.jwks_refresh_interval);
    ngx_http_tasker_auth_overlay<time_t>(&conf->jwt.leeway, NGX_CONF_UNSET,
                                         f.jwt_leeway);
    ngx_http_tasker_auth_overlay<ngx_flag_t>(&conf->jwt.strict, NGX_CONF_UNSET,
                                             f.strict_validation);
    ngx_http_tasker_auth_overlay<ngx_flag_t>(&conf->log.unknown_permissions,
                                             NGX_CONF_UNSET,
                                             f.log_unknown_permissions);

    if (ngx_http_tasker_auth_overlay_from<ngx_flag_t>(cf->pool, &conf->enable,
                                                  NGX_CONF_UNSET, f.enabled, f,
                                                  "enabled", &conf->enable_from)
        != NGX_OK
        || ngx_http_tasker_auth_overlay_from<ngx_uint_t>(cf->pool,
                                                  &conf->jwks.method,
                                                  NGX_CONF_UNSET_UINT,
                                                  f.jwt_verification_method, f,
                                                  "jwt_verification_method",
                                                  &conf->jwks.method_from)
        != NGX_OK
        || ngx_http_tasker_auth_overlay_from<ngx_uint_t>(cf->pool,
                                                  &conf->jwt.algorithms,
                                                  NGX_CONF_UNSET_UINT,
                                                  f.jwt_allowed_algorithms, f,
                                                  "jwt_allowed_algorithms",
                                                  &conf->jwt.algorithms_from)
        != NGX_OK
        || ngx_http_tasker_auth_overlay_from<time_t>(cf->pool,
                                                  &conf->jwks.max_stale,
                                                  NGX_CONF_UNSET,
                                                  f.jwks_max_stale, f,
                                                  "jwks_max_stale_seconds",
                                                  &conf->jwks.max_stale_from)
        != NGX_OK
        || ngx_http_tasker_auth_overlay_from<ngx_flag_t>(cf->pool,
                                                  &conf->api_keys.enabled,
                                                  NGX_CONF_UNSET,
                                                  f.api_keys_enabled, f,
                                                  "api_keys_enabled",
                                                  &conf->api_keys.enabled_from)
        != NGX_OK
        || ngx_http_tasker_auth_overlay_str(cf->pool, &conf->jwt.issuer,
                                         f.jwt_issuer) != NGX_OK
        || ngx_http_tasker_auth_overlay_str(cf->pool, &conf->jwt.audience,
                                            f.jwt_audience) != NGX_OK
        || ngx_http_tasker_auth_overlay_str(cf->pool,
                                            &conf->jwt.permissions_claim,
                                            f.permissions_claim) != NGX_OK
        || ngx_http_tasker_auth_overlay_str_from(cf->pool,
                                                 &conf->api_keys.header,
                                                 f.api_key_header, f,
                                                 "api_key_header",
                                                 &conf->api_keys.header_from)
           != NGX_OK
        || ngx_http_tasker_auth_overlay_str_from(cf->pool, &conf->jwks.url,
                                                 f.jwks_url, f, "jwks_url",
                                                 &conf->jwks.url_from)
           != NGX_OK)
    {
        return NGX_HTTP_TASKER_CONF_ERROR;
    }

    if (conf->api_keys.keys == NULL && f.api_keys) {
        conf->api_keys.keys = ngx_http_tasker_auth_new_keys(cf);
        if (conf->api_keys.keys == NULL) {
            return NGX_HTTP_TASKER_CONF_ERROR;
        }

        *conf->api_keys.keys->specs = *f.api_keys;

        if (ngx_http_tasker_auth_copy(cf->pool, f.from("api_keys"),
                                      &conf->api_keys.keys_from)
            != NGX_OK)
        {
            return NGX_HTTP_TASKER_CONF_ERROR;
        }
    }

    return ngx_http_tasker_auth_overlay_key(cf, conf, f);
}


/* ---- building a location's policy -------------------------------------- */

/*
 * A key's description and permissions come from nginx.conf or a TOML file,
 * either of which can write a control byte ("\n", "\u001b"): shown with
 * each one as '?', so a message stays one line and drives no terminal.
 */
static void
ngx_http_tasker_auth_log_key_error(ngx_conf_t *cf, tasker::Status s,
    const tasker::ApiKeySpec &k, const std::string &detail_text)
{
    const std::string  desc = tasker::withoutControlBytes(k.description);
    const std::string  detail = tasker::withoutControlBytes(detail_text);
    const char        *d = desc.c_str(), *src = k.source.c_str();

    switch (s) {
    case tasker::Status::ConfigBadHash:
        /* the value is not shown: a key may have been pasted after sha256: */
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "tasker_auth: tasker_api_key \"%s\" is not "
                      "sha256:<64 hex digits> (%s; the value is not shown) "
                      "in %s", d, detail.c_str(), src);
        return;

    case tasker::Status::ConfigDuplicateKey:
        /* the key itself is never printed, only where it stands */
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "tasker_auth: tasker_api_key \"%s\" duplicates the key "
                      "first defined in %s, in %s", d, detail.c_str(), src);
        return;

    case tasker::Status::ConfigUnknownPermission:
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "tasker_auth: tasker_api_key \"%s\" holds unknown "
                      "permission \"%s\" (tasker_strict_validation is on) in "
                      "%s", d, detail.c_str(), src);
        return;

    default:
        /* detail says which limit (empty key, too long, too many
         * permissions); the registry never puts the key in it */
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "tasker_auth: tasker_api_key \"%s\" is invalid (%s) in "
                      "%s", d,
                      detail.empty() ? tasker::statusName(s) : detail.c_str(),
                      src);
    }
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

    for (const tasker::ApiKeySpec &k : *keys->specs) {
        std::string     detail;
        tasker::Status  s;

        s = reg->add(k.key, k.permissions, k.description, strict, k.source,
                     &detail);
        if (s != tasker::Status::Ok) {
            ngx_http_tasker_auth_log_key_error(cf, s, k, detail);
            return NULL;
        }
    }

    for (const tasker::ApiKeyEntry &e : reg->entries()) {
        if (!log_unknown) {
            break;
        }

        if (e.unknown.empty()) {
            continue;
        }

        const std::string desc = tasker::withoutControlBytes(e.description);

        for (const std::string &u : e.unknown) {
            ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                          "tasker_auth: tasker_api_key \"%s\" holds unknown "
                          "permission \"%s\", which grants nothing, in %s",
                          desc.c_str(),
                          tasker::withoutControlBytes(u).c_str(),
                          e.source.c_str());
        }
    }

    ngx_http_tasker_auth_store_t *store = ngx_http_tasker_auth_cycle_store(cf);
    store->registries.push_back(std::move(reg));
    keys->built[strict] = &store->registries.back();
    return keys->built[strict];
}


/* SPEC 2: without a key directive, the environment names the key */
static ngx_int_t
ngx_http_tasker_auth_env_key(ngx_conf_t *cf,
    ngx_http_tasker_auth_loc_conf_t *conf)
{
    const char  *path, *pem;

    path = getenv("TASKER_JWT_PUBLIC_KEY_PATH");
    pem = getenv("TASKER_JWT_PUBLIC_KEY");

    if (path != NULL && path[0] != '\0') {
        std::string  p(path);

        conf->jwt.key = ngx_http_tasker_auth_load_key(
                            cf, "TASKER_JWT_PUBLIC_KEY_PATH", &p, p, path);
        ngx_str_set(&conf->jwt.key_name, "$TASKER_JWT_PUBLIC_KEY_PATH");
        return conf->jwt.key ? NGX_OK : NGX_ERROR;
    }

    if (pem != NULL && pem[0] != '\0') {
        conf->jwt.key = ngx_http_tasker_auth_load_key(
                            cf, "TASKER_JWT_PUBLIC_KEY", NULL, pem,
                            "<PEM from the environment>");
        ngx_str_set(&conf->jwt.key_name, "$TASKER_JWT_PUBLIC_KEY");
        return conf->jwt.key ? NGX_OK : NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Records a JWKS URL in the main conf (once per distinct URL) and remembers
 * its index in the location. Locations sharing a URL share one key set; the
 * shortest refresh interval among them wins (each was checked against the
 * floor where it was set, see tasker::checkJwksRefreshInterval), and the
 * longest max_stale (0: no limit) says how long the set still serves anyone.
 */
static ngx_int_t
ngx_http_tasker_auth_register_jwks(ngx_conf_t *cf,
    ngx_http_tasker_auth_loc_conf_t *conf)
{
    ngx_uint_t                          i;
    ngx_http_tasker_auth_jwks_conf_t   *j;
    ngx_http_tasker_auth_main_conf_t   *mcf;

    mcf = (ngx_http_tasker_auth_main_conf_t *)
              ngx_http_conf_get_module_main_conf(cf,
                                                 ngx_http_tasker_auth_module);

    j = (ngx_http_tasker_auth_jwks_conf_t *) mcf->jwks.elts;

    for (i = 0; i < mcf->jwks.nelts; i++) {
        if (j[i].url.len == conf->jwks.url.len
            && ngx_strncmp(j[i].url.data, conf->jwks.url.data,
                           conf->jwks.url.len) == 0)
        {
            j[i].refresh_interval = ngx_min(j[i].refresh_interval,
                                            conf->jwks.refresh_interval);
            j[i].max_stale = (j[i].max_stale == 0 || conf->jwks.max_stale == 0)
                             ? 0 : ngx_max(j[i].max_stale,
                                           conf->jwks.max_stale);
            conf->jwks.index = i;
            return NGX_OK;
        }
    }

    ngx_http_tasker_auth_store_t *store = ngx_http_tasker_auth_cycle_store(cf);
    store->strings.emplace_back();
    tasker::redactFetchUrl(
        std::string(ngx_http_tasker_auth_sv(&conf->jwks.url)),
        &store->strings.back());

    if (mcf->jwks.nelts >= (ngx_uint_t) tasker::kMaxJwksUrls) {
        ngx_str_t  name = ngx_http_tasker_auth_origin(conf->jwks.url_from,
                                                      "tasker_jwks_url");

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "tasker_auth: %V \"%s\": at most %d "
                           "distinct JWKS URLs are supported", &name,
                           store->strings.back().c_str(),
                           tasker::kMaxJwksUrls);
        return NGX_ERROR;
    }

    /*
     * two URLs that show the same way (userinfo, query) get two names;
     * every name fits a metrics label
     */
    static_assert(tasker::kMaxShownUrlBytes + sizeof("#99")
                  <= tasker::kMetricsLabelBytes && tasker::kMaxJwksUrls < 98,
                  "a shown JWKS URL with its #n fits a metrics label");

    std::vector<std::string_view>  taken;

    for (i = 0; i < mcf->jwks.nelts; i++) {
        taken.emplace_back(*j[i].shown);
    }

    if (tasker::distinctShownUrl(taken, &store->strings.back())
        != tasker::Status::Ok)
    {
        return NGX_ERROR;
    }

    j = (ngx_http_tasker_auth_jwks_conf_t *) ngx_array_push(&mcf->jwks);
    if (j == NULL) {
        return NGX_ERROR;
    }

    j->url = conf->jwks.url;
    j->shown = &store->strings.back();
    j->refresh_interval = conf->jwks.refresh_interval;
    j->max_stale = conf->jwks.max_stale;
    j->metrics_slot = -1;
    j->metrics_source = tasker::metricsUrlSource(
                            ngx_http_tasker_auth_sv(&conf->jwks.url));

    conf->jwks.index = mcf->jwks.nelts - 1;
    return NGX_OK;
}


/*
 * An allowed algorithm the public key cannot verify, named as the operator
 * wrote it (directive, file key) or as the default it is, with the
 * algorithm that fits: the Quick Start's EC and Ed25519 keys meet this when
 * RS256, the default, is left in place.
 */
static void
ngx_http_tasker_auth_log_alg_misfit(ngx_conf_t *cf,
    ngx_http_tasker_auth_loc_conf_t *conf, tasker::Alg alg, tasker::KeyType kt)
{
    int         a;
    ngx_str_t   name;
    const char *fits = "RS256";

    for (a = 0; a < tasker::kAlgCount; a++) {
        if (tasker::algFitsKey(static_cast<tasker::Alg>(a), kt)) {
            fits = tasker::algName(static_cast<tasker::Alg>(a));
            break;
        }
    }

    name = ngx_http_tasker_auth_origin(conf->jwt.algorithms_from,
                                       "tasker_jwt_allowed_algorithms");

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "tasker_auth: %V \"%s\"%s does not fit the %s public "
                       "key \"%V\": allow %s (\"tasker_jwt_allowed_algorithms "
                       "%s;\")", &name, tasker::algName(alg),
                       conf->jwt.algorithms_default ? " (the default)" : "",
                       ngx_http_tasker_auth_key_type_name(kt),
                       &conf->jwt.key_name, fits, fits);
}


/*
 * A location that cannot authenticate anything (SPEC 8), named by where
 * tasker_auth, the method and the URL came from: a tasker_auth_config file
 * alone ("enabled = true") or directives.
 */
static void
ngx_http_tasker_auth_log_no_credential(ngx_conf_t *cf,
    ngx_http_tasker_auth_loc_conf_t *conf)
{
    ngx_str_t  url, method;

    if (conf->jwks.url.data != NULL) {
        /* the URL alone does not switch the method */
        url = ngx_http_tasker_auth_origin(conf->jwks.url_from,
                                          "tasker_jwks_url");
        method = ngx_http_tasker_auth_origin(conf->jwks.method_from,
                                             "tasker_jwt_verification_method");

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "tasker_auth: %V is set, but %V is public_key%s "
                           "and there is no public key: %s", &url, &method,
                           conf->jwks.method_from.len ? "" : " (the default)",
                           conf->jwks.method_from.len
                           ? "set jwt_verification_method = \"jwks\""
                           : "add \"tasker_jwt_verification_method jwks;\"");
        return;
    }

    if (conf->enable_from.len != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "tasker_auth: %V is true, but there is no JWT key "
                           "(jwt_public_key_path, jwt_public_key, or jwks_url "
                           "with jwt_verification_method = \"jwks\") or API "
                           "key (api_keys_enabled = true and [[...api_keys]] "
                           "entries), in the file or as their tasker_* "
                           "directives", &conf->enable_from);
        return;
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "tasker_auth: \"tasker_auth on\" needs a JWT key "
                       "(tasker_jwt_public_key_path, tasker_jwt_public_key,"
                       " or tasker_jwks_url with "
                       "tasker_jwt_verification_method jwks) or API keys "
                       "(tasker_api_keys_enabled on and tasker_api_key)");
}


/* The JWT half of a policy: JWKS, or a static key that fits every alg. */
static char *
ngx_http_tasker_auth_build_jwt(ngx_conf_t *cf,
    ngx_http_tasker_auth_loc_conf_t *conf, tasker::PolicyConfig *pc)
{
    if (conf->jwks.method == (ngx_uint_t) tasker::VerificationMethod::Jwks) {
        if (conf->jwks.url.data == NULL) {
            if (conf->jwks.method_from.len != 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "tasker_auth: %V is jwks, but there is no "
                                   "JWKS URL: set jwks_url in the file (an "
                                   "empty one sets none) or tasker_jwks_url",
                                   &conf->jwks.method_from);

            } else {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "tasker_auth: "
                                   "\"tasker_jwt_verification_method jwks\" "
                                   "needs tasker_jwks_url");
            }

            return NGX_HTTP_TASKER_CONF_ERROR;
        }

        tasker::SettingError  e;

        if (tasker::checkJwksMaxStale(conf->jwks.max_stale,
                                      conf->jwks.refresh_interval, &e)
            != tasker::Status::Ok)
        {
            /* the value may come from a tasker_auth_config file */
            ngx_str_t  name = ngx_http_tasker_auth_origin(
                                  conf->jwks.max_stale_from,
                                  "tasker_jwks_max_stale");

            return ngx_http_tasker_auth_refuse(cf, &name, e);
        }

        if (ngx_http_tasker_auth_register_jwks(cf, conf) != NGX_OK) {
            return NGX_HTTP_TASKER_CONF_ERROR;
        }

        pc->jwt = true;
        pc->jwks = true;
        pc->verify.require_kid = true;
        return NGX_CONF_OK;
    }

    if (conf->jwt.key == NULL
        && ngx_http_tasker_auth_env_key(cf, conf) != NGX_OK)
    {
        return NGX_HTTP_TASKER_CONF_ERROR;
    }

    if (conf->jwt.key == NULL) {
        return NGX_CONF_OK;
    }

    const tasker::VerifyKey *k = (*conf->jwt.key)->first();

    for (int a = 0; a < tasker::kAlgCount; a++) {
        tasker::Alg alg = static_cast<tasker::Alg>(a);

        if ((conf->jwt.algorithms & tasker::algBit(alg))
            && !tasker::algFitsKey(alg, k->type()))
        {
            ngx_http_tasker_auth_log_alg_misfit(cf, conf, alg, k->type());
            return NGX_HTTP_TASKER_CONF_ERROR;
        }
    }

    pc->jwt = true;
    pc->static_keys = *conf->jwt.key;
    return NGX_CONF_OK;
}


static char *
ngx_http_tasker_auth_make_policy(ngx_conf_t *cf,
    ngx_http_tasker_auth_loc_conf_t *conf)
{
    size_t                i, n;
    tasker::PolicyConfig  pc;

    pc.verify.issuer = ngx_http_tasker_auth_sv(&conf->jwt.issuer);
    pc.verify.audience = ngx_http_tasker_auth_sv(&conf->jwt.audience);
    pc.verify.algorithms = (tasker::AlgMask) conf->jwt.algorithms;
    pc.verify.leeway_seconds = conf->jwt.leeway;
    pc.verify.permissions_claim =
        ngx_http_tasker_auth_sv(&conf->jwt.permissions_claim);
    pc.verify.strict = conf->jwt.strict;

    if (ngx_http_tasker_auth_build_jwt(cf, conf, &pc) != NGX_CONF_OK) {
        return NGX_HTTP_TASKER_CONF_ERROR;
    }

    pc.api_keys_enabled = conf->api_keys.enabled;

    if (conf->api_keys.keys != NULL) {
        const std::shared_ptr<const tasker::ApiKeyRegistry> *reg;

        reg = ngx_http_tasker_auth_build_keys(cf, conf->api_keys.keys,
                                              conf->jwt.strict != 0,
                                              conf->log.unknown_permissions
                                              != 0);
        if (reg == NULL) {
            return NGX_HTTP_TASKER_CONF_ERROR;
        }

        pc.api_keys = *reg;
    }

    if (!pc.jwt && !(pc.api_keys_enabled && pc.api_keys && pc.api_keys->size()))
    {
        ngx_http_tasker_auth_log_no_credential(cf, conf);
        return NGX_HTTP_TASKER_CONF_ERROR;
    }

    if (conf->rules != NULL) {
        pc.rules = *conf->rules;
    }

    ngx_http_tasker_auth_store_t *store = ngx_http_tasker_auth_cycle_store(cf);
    store->policies.emplace_back(std::move(pc));
    conf->policy = &store->policies.back();
    n = conf->policy->requestLines(conf->prefetch,
                                   NGX_HTTP_TASKER_AUTH_PREFETCH);

    /* the handler prefetches every slot: the unused ones repeat the policy */
    for (i = n; i < NGX_HTTP_TASKER_AUTH_PREFETCH; i++) {
        conf->prefetch[i] = conf->policy;
    }

    return NGX_CONF_OK;
}


/* ---- entry points from the merge: no exception leaves them ------------ */

char *
ngx_http_tasker_auth_apply_settings(ngx_conf_t *cf,
    ngx_http_tasker_auth_loc_conf_t *conf)
{
    try {
        return ngx_http_tasker_auth_overlay_settings(cf, conf);

    } catch (...) {
        ngx_conf_log_error(NGX_LOG_ALERT, cf, 0,
                           "tasker_auth: tasker_auth_config: internal error "
                           "(out of memory?)");
        return NGX_HTTP_TASKER_CONF_ERROR;
    }
}


char *
ngx_http_tasker_auth_build_policy(ngx_conf_t *cf,
    ngx_http_tasker_auth_loc_conf_t *conf)
{
    try {
        return ngx_http_tasker_auth_make_policy(cf, conf);

    } catch (...) {
        ngx_conf_log_error(NGX_LOG_ALERT, cf, 0,
                           "tasker_auth: internal error (out of memory?) "
                           "while building the location's policy");
        return NGX_HTTP_TASKER_CONF_ERROR;
    }
}
