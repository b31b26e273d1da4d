/*
 * ngx_http_tasker_auth_module, responses (SPEC 4): the challenge header, the
 * JSON body, gRPC Trailers-Only answers, and the one buffer sender that the
 * metrics endpoint shares.
 *
 * Like auth_basic, a rejection hands its status back to nginx when the
 * location has an error_page for it, so that page answers (the challenge
 * header stays). Without one, the SPEC's JSON body is sent from here and the
 * request finalized (NGX_DONE). gRPC clients always get Trailers-Only.
 */

#include "ngx_tasker_auth.h"


typedef struct {
    ngx_uint_t   status;
    ngx_uint_t   grpc_status;
    ngx_str_t    error;
} ngx_http_tasker_auth_answer_t;


/* satisfy any: a rejection recorded for ngx_http_tasker_auth_pending_handler */
struct ngx_http_tasker_auth_pending_s {
    ngx_http_tasker_auth_answer_t  answer;
    ngx_str_t                      message;
    bool                           presented;
};
typedef struct ngx_http_tasker_auth_pending_s  ngx_http_tasker_auth_pending_t;


static ngx_str_t  ngx_http_tasker_auth_json_type =
    ngx_string("application/json");
static ngx_str_t  ngx_http_tasker_auth_grpc_type =
    ngx_string("application/grpc");


ngx_int_t
ngx_http_tasker_auth_send_buffer(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *type, ngx_buf_t *b)
{
    ngx_int_t    rc;
    ngx_chain_t  out;

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = status;
    r->headers_out.content_type = *type;
    r->headers_out.content_type_len = type->len;
    r->headers_out.content_length_n = b->last - b->pos;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static ngx_table_elt_t *
ngx_http_tasker_auth_add_header(ngx_http_request_t *r, const char *name,
    ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = (ngx_table_elt_t *) ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NULL;
    }

    h->hash = 1;
#if (nginx_version >= 1023000)
    h->next = NULL;   /* multi-value headers are linked since 1.23 */
#endif
    h->key.len = ngx_strlen(name);
    h->key.data = (u_char *) name;
    h->value = *value;

    return h;
}


/* What this module answers with: a header holding one of these is its own */
static ngx_str_t  ngx_http_tasker_auth_challenges[] = {
    ngx_string("Bearer realm=\"tasker\""),
    ngx_string("Bearer realm=\"tasker\", error=\"invalid_token\"")
};

static ngx_str_t  ngx_http_tasker_auth_retry_after = ngx_string("5");


/*
 * Sets a response header this module answers with: replaces one of its own
 * already there (a value from ours), else adds one. An error_page that leads
 * into another protected location keeps the first rejection's headers (nginx
 * keeps them for error pages), and that location's check rejects again: one
 * challenge, not two. Another module's header of the same name (auth_basic's
 * Basic challenge under satisfy any, an authorizer's Negotiate, an upstream's
 * Retry-After) is left as it is.
 */
static ngx_table_elt_t *
ngx_http_tasker_auth_set_header_out(ngx_http_request_t *r, const char *name,
    ngx_str_t *value, const ngx_str_t *ours, ngx_uint_t n)
{
    size_t            len;
    ngx_uint_t        i, k;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    len = ngx_strlen(name);
    part = &r->headers_out.headers.part;
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

        if (h[i].hash == 0 || h[i].key.len != len
            || ngx_strncasecmp(h[i].key.data, (u_char *) name, len) != 0)
        {
            continue;
        }

        for (k = 0; k < n; k++) {
            if (h[i].value.len == ours[k].len
                && ngx_strncmp(h[i].value.data, ours[k].data, ours[k].len)
                   == 0)
            {
                h[i].value = *value;
                return &h[i];
            }
        }
    }

    return ngx_http_tasker_auth_add_header(r, name, value);
}


/* RFC 6750: error="invalid_token" only when a credential was presented */
static ngx_int_t
ngx_http_tasker_auth_challenge(ngx_http_request_t *r, ngx_uint_t status,
    bool presented)
{
    if (status == NGX_HTTP_UNAUTHORIZED) {
        r->headers_out.www_authenticate =
            ngx_http_tasker_auth_set_header_out(r, "WWW-Authenticate",
                &ngx_http_tasker_auth_challenges[presented ? 1 : 0],
                ngx_http_tasker_auth_challenges, 2);
        if (r->headers_out.www_authenticate == NULL) {
            return NGX_ERROR;
        }
    }

    if (status == NGX_HTTP_SERVICE_UNAVAILABLE) {
        if (ngx_http_tasker_auth_set_header_out(r, "Retry-After",
                &ngx_http_tasker_auth_retry_after,
                &ngx_http_tasker_auth_retry_after, 1)
            == NULL)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * A gRPC call: HTTP/2 or later (gRPC needs it) and a content type of
 * application/grpc, alone or followed by "+", ";" or "-" (application/grpc+proto,
 * application/grpc-web). A rejection of one is an HTTP 200 carrying
 * grpc-status, so the version matters: over HTTP/1.x, where no gRPC client
 * is, the content type alone would let any client turn a 401 or 403 into a 200,
 * and an auth_request authorizer (reached by proxy_pass, HTTP/1.x, with the
 * client's Content-Type) into an "allow".
 */
static bool
ngx_http_tasker_auth_is_grpc(ngx_http_request_t *r)
{
    size_t      n;
    ngx_str_t  *ct;

    if (r->http_version < NGX_HTTP_VERSION_20
        || r->headers_in.content_type == NULL)
    {
        return false;
    }

    ct = &r->headers_in.content_type->value;
    n = ngx_http_tasker_auth_grpc_type.len;

    return ct->len >= n
           && ngx_strncasecmp(ct->data, ngx_http_tasker_auth_grpc_type.data, n)
              == 0
           && (ct->len == n || ct->data[n] == '+' || ct->data[n] == ';'
               || ct->data[n] == '-');
}


/* The condition under which ngx_http_special_response_handler uses a page */
static bool
ngx_http_tasker_auth_has_error_page(ngx_http_request_t *r, ngx_uint_t status)
{
    ngx_uint_t                 i;
    ngx_http_err_page_t       *err_page;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = (ngx_http_core_loc_conf_t *)
               ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (r->error_page || clcf->error_pages == NULL || r->uri_changes == 0) {
        return false;
    }

    err_page = (ngx_http_err_page_t *) clcf->error_pages->elts;

    for (i = 0; i < clcf->error_pages->nelts; i++) {
        if (err_page[i].status == (ngx_int_t) status) {
            return true;
        }
    }

    return false;
}


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

    p = (u_char *) ngx_pnalloc(pool, src->len * 3);
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


/* Trailers-Only: HTTP 200, the status in the only HEADERS frame */
static ngx_int_t
ngx_http_tasker_auth_send_grpc(ngx_http_request_t *r, ngx_uint_t grpc_status,
    ngx_str_t *message)
{
    u_char     *p;
    ngx_str_t   value;

    p = (u_char *) ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    value.data = p;
    value.len = ngx_sprintf(p, "%ui", grpc_status) - p;

    if (ngx_http_tasker_auth_add_header(r, "grpc-status", &value) == NULL
        || ngx_http_tasker_auth_grpc_encode(r->pool, message, &value) != NGX_OK
        || ngx_http_tasker_auth_add_header(r, "grpc-message", &value) == NULL)
    {
        return NGX_ERROR;
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_type = ngx_http_tasker_auth_grpc_type;
    r->headers_out.content_type_len = ngx_http_tasker_auth_grpc_type.len;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    return ngx_http_send_header(r) == NGX_ERROR ? NGX_ERROR : NGX_OK;
}


/* {"error":"...","message":"..."}; messages never need JSON escaping */
static ngx_int_t
ngx_http_tasker_auth_send_json(ngx_http_request_t *r,
    ngx_http_tasker_auth_answer_t *a, ngx_str_t *message)
{
    size_t      len;
    ngx_buf_t  *b;

    len = sizeof("{\"error\":\"\",\"message\":\"\"}\n") - 1 + a->error.len
          + message->len;

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->last = ngx_sprintf(b->last, "{\"error\":\"%V\",\"message\":\"%V\"}\n",
                          &a->error, message);

    return ngx_http_tasker_auth_send_buffer(r, a->status,
                                            &ngx_http_tasker_auth_json_type,
                                            b);
}


/* The client-facing message of SPEC 4; the precise reason is only logged. */
static ngx_int_t
ngx_http_tasker_auth_message(ngx_http_request_t *r, const tasker::Decision &d,
    ngx_str_t *message)
{
    u_char  *p;
    size_t   len;

    if (d.status == tasker::Status::PermDenied) {
        len = sizeof("Missing required permission: ") - 1
              + ngx_strlen(d.missing_permission);
        p = (u_char *) ngx_pnalloc(r->pool, len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        message->data = p;
        message->len = ngx_sprintf(p, "Missing required permission: %s",
                                   d.missing_permission) - p;
        return NGX_OK;
    }

    if (tasker::verdictFor(d.status) == tasker::Verdict::Forbidden) {
        /* nginx only accepts [A-Z_] method names, safe in JSON */
        len = sizeof("No permission rule allows method ") - 1
              + r->method_name.len;
        p = (u_char *) ngx_pnalloc(r->pool, len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        message->data = p;
        message->len = ngx_sprintf(p, "No permission rule allows method %V",
                                   &r->method_name) - p;
        return NGX_OK;
    }

    if (tasker::verdictFor(d.status) == tasker::Verdict::Unavailable) {
        ngx_str_set(message, "Authentication keys unavailable");
    } else if (d.method == tasker::AuthMethod::Jwt) {
        ngx_str_set(message, "Invalid or expired token");
    } else if (d.method == tasker::AuthMethod::ApiKey) {
        ngx_str_set(message, "Invalid API key");
    } else {
        ngx_str_set(message, "Missing authentication credentials");
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_tasker_auth_answer(tasker::Verdict verdict,
    ngx_http_tasker_auth_answer_t *a)
{
    switch (verdict) {
    case tasker::Verdict::Unauthenticated:
        a->status = NGX_HTTP_UNAUTHORIZED;
        a->grpc_status = 16;  /* UNAUTHENTICATED */
        ngx_str_set(&a->error, "unauthorized");
        return NGX_OK;

    case tasker::Verdict::Forbidden:
        a->status = NGX_HTTP_FORBIDDEN;
        a->grpc_status = 7;   /* PERMISSION_DENIED */
        ngx_str_set(&a->error, "forbidden");
        return NGX_OK;

    case tasker::Verdict::Unavailable:
        a->status = NGX_HTTP_SERVICE_UNAVAILABLE;
        a->grpc_status = 14;  /* UNAVAILABLE */
        ngx_str_set(&a->error, "service_unavailable");
        return NGX_OK;

    default:
        return NGX_ERROR;
    }
}


/*
 * Answers a rejection: the challenge header, then the gRPC answer, the
 * location's error_page (the status handed back to nginx) or the JSON body.
 * Returns the status for nginx to answer, NGX_DONE after answering here, or
 * 500.
 */
static ngx_int_t
ngx_http_tasker_auth_respond(ngx_http_request_t *r,
    ngx_http_tasker_auth_answer_t *a, ngx_str_t *message, bool presented)
{
    ngx_int_t  rc;

    if (ngx_http_tasker_auth_challenge(r, a->status, presented) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_tasker_auth_is_grpc(r)) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        rc = ngx_http_tasker_auth_send_grpc(r, a->grpc_status, message);
        ngx_http_finalize_request(r, rc);
        return NGX_DONE;
    }

    if (ngx_http_tasker_auth_has_error_page(r, a->status)) {
        return a->status;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    ngx_http_finalize_request(r, ngx_http_tasker_auth_send_json(r, a,
                                                                message));
    return NGX_DONE;
}


/*
 * Answers a rejected request from the access phase. Returns the status for
 * nginx to answer (error_page, or satisfy any, see below), NGX_DONE after
 * answering here, or 500.
 *
 * Under "satisfy any" another access module that runs after this one
 * (auth_request, auth_basic) may still let the request through, so a 401 or
 * 403 is only recorded and handed to nginx, which goes on to the next access
 * handler; ngx_http_tasker_auth_pending_handler, the last one, answers it when
 * none of them did. A 503 ends the access phase under satisfy any too, as
 * nginx does for any status but 401 and 403: it is answered at once.
 */
ngx_int_t
ngx_http_tasker_auth_reject(ngx_http_request_t *r, const tasker::Decision &d)
{
    ngx_str_t                      message;
    ngx_http_core_loc_conf_t      *clcf;
    ngx_http_tasker_auth_ctx_t    *ctx;
    ngx_http_tasker_auth_answer_t  a;

    if (ngx_http_tasker_auth_answer(tasker::verdictFor(d.status), &a)
        != NGX_OK
        || ngx_http_tasker_auth_message(r, d, &message) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    clcf = (ngx_http_core_loc_conf_t *)
               ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (clcf->satisfy == NGX_HTTP_SATISFY_ANY
        && a.status != NGX_HTTP_SERVICE_UNAVAILABLE)
    {
        ctx = (ngx_http_tasker_auth_ctx_t *)
                  ngx_http_get_module_ctx(r, ngx_http_tasker_auth_module);
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->pending = (ngx_http_tasker_auth_pending_t *)
                           ngx_palloc(r->pool, sizeof(*ctx->pending));
        if (ctx->pending == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->pending->answer = a;
        ctx->pending->message = message;
        ctx->pending->presented = d.presented;

        return a.status;
    }

    return ngx_http_tasker_auth_respond(r, &a, &message, d.presented);
}


/*
 * The last access handler: reached under satisfy any only when no access
 * module let the request through (one that does skips the rest of the
 * phase). Answers the rejection reject() recorded, once.
 */
ngx_int_t
ngx_http_tasker_auth_pending_handler(ngx_http_request_t *r)
{
    ngx_http_tasker_auth_ctx_t      *ctx;
    ngx_http_tasker_auth_pending_t  *p;

    ctx = (ngx_http_tasker_auth_ctx_t *)
              ngx_http_get_module_ctx(r, ngx_http_tasker_auth_module);

    if (ctx == NULL || ctx->pending == NULL) {
        return NGX_DECLINED;
    }

    p = ctx->pending;
    ctx->pending = NULL;

    return ngx_http_tasker_auth_respond(r, &p->answer, &p->message,
                                        p->presented);
}
