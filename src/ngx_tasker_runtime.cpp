/*
 * ngx_http_tasker_auth_module, runtime: the shared memory zones (metrics,
 * JWKS documents), the per-worker JWKS timer that drives libcurl off the
 * request path, the small functions through which the access handler reads
 * and updates a JWKS slot (always under the zone's mutex), process hooks, the
 * per-worker token cache and the Prometheus endpoint.
 *
 * While the zone mutex is held only plain C runs: no allocation, nothing
 * that can throw, so no exception can leave the mutex locked.
 */

#include "ngx_tasker_auth.h"

#include <new>
#include <string>
#include <string_view>
#include <vector>


/* Worker-local view of one JWKS URL. */
struct ngx_http_tasker_auth_jwks_local_t {
    uint64_t                          version = 0;       /* `keys` parsed from */
    time_t                            last_success = 0;  /* of `keys` */
    uint64_t                          failed_version = 0;  /* logged once */
    tasker::KeySetConstPtr            keys;
    tasker::JwksFetch                 fetch;
};

/* per worker, indexed like main_conf->jwks; NULL until init_process */
static std::vector<ngx_http_tasker_auth_jwks_local_t>
                                     *ngx_http_tasker_auth_jwks_locals;

static ngx_event_t                    ngx_http_tasker_auth_jwks_timer;
static ngx_http_tasker_auth_main_conf_t
                                     *ngx_http_tasker_auth_jwks_mcf;

/* per worker: verified tokens, valid for the cycle they were verified in */
static tasker::TokenCache            *ngx_http_tasker_auth_cache;
static ngx_cycle_t                   *ngx_http_tasker_auth_cache_cycle;

/* per worker: its own lane of the metrics block, claimed once per cycle */
tasker::MetricsWriter                 ngx_http_tasker_auth_lane;
static ngx_cycle_t                   *ngx_http_tasker_auth_lane_cycle;


/* ---- shared memory: metrics and JWKS ---------------------------------- */

/* A URL that a reload removed stops being exported. */
static void
ngx_http_tasker_auth_forget_urls(ngx_http_tasker_auth_main_conf_t *mcf,
    tasker::MetricsBlock *block)
{
    int                                 slot;
    ngx_uint_t                          i;
    ngx_http_tasker_auth_jwks_conf_t   *j;

    j = static_cast<ngx_http_tasker_auth_jwks_conf_t *>(mcf->jwks.elts);

    for (slot = 0; slot < tasker::kMaxJwksUrls; slot++) {
        if (block->jwks[slot].url_len.load(std::memory_order_acquire) == 0) {
            continue;
        }

        for (i = 0; i < mcf->jwks.nelts; i++) {
            if (tasker::metricsSlotShows(block->jwks[slot], *j[i].shown)) {
                break;
            }
        }

        if (i == mcf->jwks.nelts) {
            tasker::metricsUnregisterUrl(block, slot);
        }
    }
}


static ngx_int_t
ngx_http_tasker_auth_init_metrics_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_slab_pool_t                    *shpool;
    tasker::MetricsBlock               *block;
    ngx_http_tasker_auth_main_conf_t   *mcf, *omcf;

    mcf = static_cast<ngx_http_tasker_auth_main_conf_t *>(shm_zone->data);
    omcf = static_cast<ngx_http_tasker_auth_main_conf_t *>(data);
    shpool = reinterpret_cast<ngx_slab_pool_t *>(shm_zone->shm.addr);

    block = NULL;

    /* a reload keeps the counters when the layout is the same */
    if (omcf != NULL && tasker::metricsCompatible(omcf->metrics)) {
        block = omcf->metrics;

    } else if (shm_zone->shm.exists && shpool->data != NULL) {
        block = static_cast<tasker::MetricsBlock *>(shpool->data);
    }

    if (block == NULL || !tasker::metricsCompatible(block)) {
        block = static_cast<tasker::MetricsBlock *>(
                    ngx_slab_calloc(shpool, sizeof(tasker::MetricsBlock)));
        if (block == NULL) {
            return NGX_ERROR;
        }

        tasker::metricsInit(block);
        shpool->data = block;
    }

    /* the URL slots change in init_module, once the cycle is committed */
    mcf->metrics = block;

    return NGX_OK;
}


/*
 * Points the metrics URL slots at this cycle's URLs: forgets those it no
 * longer names, registers the new ones. Not in init_zone: nginx may still
 * reject the cycle after that (a listen port in use), keep the running one,
 * and that one's URLs must keep their series.
 */
static void
ngx_http_tasker_auth_register_urls(ngx_cycle_t *cycle)
{
    ngx_uint_t                          i;
    ngx_http_tasker_auth_jwks_conf_t   *j;
    ngx_http_tasker_auth_main_conf_t   *mcf;

    if (cycle->conf_ctx[ngx_http_module.index] == NULL) {
        return;
    }

    mcf = static_cast<ngx_http_tasker_auth_main_conf_t *>(
              ngx_http_cycle_get_module_main_conf(cycle,
                                                  ngx_http_tasker_auth_module));

    if (mcf == NULL || mcf->metrics == NULL) {
        return;
    }

    ngx_http_tasker_auth_forget_urls(mcf, mcf->metrics);

    j = static_cast<ngx_http_tasker_auth_jwks_conf_t *>(mcf->jwks.elts);
    for (i = 0; i < mcf->jwks.nelts; i++) {
        /*
         * the label is the redacted URL: no userinfo, no query secrets; the
         * source says which URL it counts for when a reload moves labels
         */
        j[i].metrics_slot = tasker::metricsRegisterUrl(mcf->metrics,
                                                       *j[i].shown,
                                                       j[i].metrics_source);
    }
}


/*
 * The core's slot plan for mcf's URLs (src/jwks_slots.h). The running
 * configuration (omcf, NULL at a first start) counts only for the slots that
 * still hold what it saw. Runs in the master, which alone writes slot URLs
 * and epochs, so they are read without the lock.
 */
static ngx_int_t
ngx_http_tasker_auth_plan_jwks_slots(ngx_log_t *log,
    ngx_http_tasker_auth_jwks_shm_t *sh, ngx_http_tasker_auth_main_conf_t *mcf,
    ngx_http_tasker_auth_main_conf_t *omcf,
    std::vector<tasker::JwksSlotPlan> *plan)
{
    ngx_uint_t                          i, n;
    ngx_http_tasker_auth_jwks_conf_t   *j, *oj;

    j = static_cast<ngx_http_tasker_auth_jwks_conf_t *>(mcf->jwks.elts);

    try {
        std::vector<bool>              live(sh->nslots, false);
        std::vector<std::string_view>  slot_urls, urls;

        if (omcf != NULL && omcf->jwks_shm == sh) {
            oj = static_cast<ngx_http_tasker_auth_jwks_conf_t *>(
                     omcf->jwks.elts);

            for (i = 0; i < omcf->jwks.nelts; i++) {
                if (oj[i].slot < sh->nslots
                    && sh->slots[oj[i].slot].epoch == oj[i].epoch)
                {
                    live[oj[i].slot] = true;
                }
            }
        }

        for (n = 0; n < sh->nslots; n++) {
            slot_urls.emplace_back(reinterpret_cast<char *>(sh->slots[n].url),
                                   sh->slots[n].url_len);
        }

        for (i = 0; i < mcf->jwks.nelts; i++) {
            urls.push_back(ngx_http_tasker_auth_sv(&j[i].url));
        }

        if (tasker::assignJwksSlots(slot_urls, live, urls, plan)
            != tasker::Status::Ok)
        {
            ngx_log_error(NGX_LOG_EMERG, log, 0,
                          "tasker_auth: no free JWKS slot");
            return NGX_ERROR;
        }

        return NGX_OK;

    } catch (...) {
        ngx_log_error(NGX_LOG_EMERG, log, 0,
                      "tasker_auth: out of memory in the JWKS zone");
        return NGX_ERROR;
    }
}


/*
 * Runs in the master at every (re)load, before nginx opens the listening
 * sockets (so the new configuration may still fail to load). The slots are
 * planned by the core (src/jwks_slots.h): a URL the running configuration
 * uses keeps its slot and document, any other URL gets a reset slot with a
 * new epoch, and no slot the running configuration uses is ever reset. Only
 * the master writes a slot's URL and epoch, so they are read here without
 * the lock; the changes are applied under it (plain C only).
 */
static ngx_int_t
ngx_http_tasker_auth_init_jwks_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_uint_t                          i, n;
    ngx_slab_pool_t                    *shpool;
    ngx_http_tasker_auth_jwks_shm_t    *sh;
    ngx_http_tasker_auth_jwks_slot_t   *slot;
    ngx_http_tasker_auth_jwks_conf_t   *j;
    ngx_http_tasker_auth_main_conf_t   *mcf, *omcf;

    mcf = static_cast<ngx_http_tasker_auth_main_conf_t *>(shm_zone->data);
    omcf = static_cast<ngx_http_tasker_auth_main_conf_t *>(data);
    shpool = reinterpret_cast<ngx_slab_pool_t *>(shm_zone->shm.addr);

    sh = NULL;

    if (omcf != NULL && omcf->jwks_shm != NULL) {
        sh = omcf->jwks_shm;

    } else if (shm_zone->shm.exists && shpool->data != NULL) {
        sh = static_cast<ngx_http_tasker_auth_jwks_shm_t *>(shpool->data);
    }

    if (sh == NULL) {
        /* not calloc: a body's pages are touched only when it is written */
        sh = static_cast<ngx_http_tasker_auth_jwks_shm_t *>(
                 ngx_slab_alloc(shpool, sizeof(ngx_http_tasker_auth_jwks_shm_t)));
        if (sh == NULL) {
            return NGX_ERROR;
        }

        sh->nslots = tasker::kJwksZoneSlots;

        for (n = 0; n < sh->nslots; n++) {
            ngx_memzero(&sh->slots[n],
                        offsetof(ngx_http_tasker_auth_jwks_slot_t, body));
        }

        shpool->data = sh;
        omcf = NULL;  /* nothing runs on this zone yet */
    }

    j = static_cast<ngx_http_tasker_auth_jwks_conf_t *>(mcf->jwks.elts);

    std::vector<tasker::JwksSlotPlan>  plan;

    if (ngx_http_tasker_auth_plan_jwks_slots(shm_zone->shm.log, sh, mcf, omcf,
                                             &plan)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_shmtx_lock(&shpool->mutex);

    for (i = 0; i < mcf->jwks.nelts; i++) {
        slot = &sh->slots[plan[i].slot];

        if (plan[i].reset) {
            uint64_t epoch = slot->epoch;

            ngx_memzero(slot, offsetof(ngx_http_tasker_auth_jwks_slot_t, body));
            slot->epoch = epoch + 1;
            ngx_memcpy(slot->url, j[i].url.data, j[i].url.len);
            slot->url_len = j[i].url.len;

        } else {
            /*
             * let the new workers refresh on their own schedule, which a
             * shorter tasker_jwks_refresh_interval brings forward
             */
            slot->fetching_pid = 0;
            slot->next_fetch = ngx_min(slot->next_fetch,
                                       slot->last_fetch + j[i].refresh_interval);
        }

        j[i].slot = plan[i].slot;
        j[i].epoch = slot->epoch;
    }

    ngx_shmtx_unlock(&shpool->mutex);

    mcf->jwks_pool = shpool;
    mcf->jwks_shm = sh;

    return NGX_OK;
}


ngx_int_t
ngx_http_tasker_auth_add_zones(ngx_conf_t *cf,
    ngx_http_tasker_auth_main_conf_t *mcf)
{
    size_t      size;
    ngx_str_t   name;

    ngx_str_set(&name, "tasker_auth_metrics");
    size = 8 * ngx_pagesize + sizeof(tasker::MetricsBlock);

    mcf->metrics_zone = ngx_shared_memory_add(cf, &name, size,
                                              &ngx_http_tasker_auth_module);
    if (mcf->metrics_zone == NULL) {
        return NGX_ERROR;
    }

    mcf->metrics_zone->init = ngx_http_tasker_auth_init_metrics_zone;
    mcf->metrics_zone->data = mcf;

    if (mcf->jwks.nelts == 0) {
        return NGX_OK;
    }

    /*
     * One size whatever the URL count: a reload reuses a zone only at the
     * same size, and one that adds a URL must keep the others' documents.
     * Slots no URL uses cost address space, not memory (see init).
     */
    ngx_str_set(&name, "tasker_auth_jwks");
    size = sizeof(ngx_http_tasker_auth_jwks_shm_t)
           + sizeof(ngx_http_tasker_auth_jwks_shm_t) / 32  /* page descriptors */
           + 16 * ngx_pagesize;

    mcf->jwks_zone = ngx_shared_memory_add(cf, &name, size,
                                           &ngx_http_tasker_auth_module);
    if (mcf->jwks_zone == NULL) {
        return NGX_ERROR;
    }

    mcf->jwks_zone->init = ngx_http_tasker_auth_init_jwks_zone;
    mcf->jwks_zone->data = mcf;

    return NGX_OK;
}


/* ---- JWKS refresh (per worker, off the request path) ------------------ */

#define NGX_HTTP_TASKER_AUTH_JWKS_IDLE_MS   250
#define NGX_HTTP_TASKER_AUTH_JWKS_MAX_BACKOFF  300


static void
ngx_http_tasker_auth_fetch_log(void *ctx, tasker::FetchLogLevel level,
    const char *msg)
{
    ngx_log_t  *log = static_cast<ngx_log_t *>(ctx);

    if (level == tasker::FetchLogLevel::Debug) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, log, 0, "tasker_auth: %s", msg);
        return;
    }

    ngx_uint_t  lvl = (level == tasker::FetchLogLevel::Info) ? NGX_LOG_INFO
                                                             : NGX_LOG_WARN;

    ngx_log_error(lvl, log, 0, "tasker_auth: %s", msg);
}


/*
 * URL i's slot, while it is still the slot this process's cycle gave that URL;
 * NULL when a later reload gave it to another URL (this process is a worker
 * of an older cycle, finishing its requests). Call with the mutex held.
 */
static ngx_http_tasker_auth_jwks_slot_t *
ngx_http_tasker_auth_own_slot(ngx_http_tasker_auth_main_conf_t *mcf,
    ngx_uint_t i)
{
    ngx_http_tasker_auth_jwks_conf_t   *j;
    ngx_http_tasker_auth_jwks_slot_t   *slot;

    j = &static_cast<ngx_http_tasker_auth_jwks_conf_t *>(mcf->jwks.elts)[i];
    slot = &mcf->jwks_shm->slots[j->slot];

    return slot->epoch == j->epoch ? slot : NULL;
}


/*
 * Whether URL j's metrics slot still counts for it: a reload that drops the
 * URL may give the slot to another one, and one that reorders URLs showing
 * the same way may give its label to another URL, while a worker of the
 * older cycle still finishes a fetch.
 */
static bool
ngx_http_tasker_auth_metrics_slot_is(ngx_http_tasker_auth_main_conf_t *mcf,
    const ngx_http_tasker_auth_jwks_conf_t *j)
{
    return tasker::metricsSlotIs(mcf->metrics, (int) j->metrics_slot,
                                 *j->shown, j->metrics_source);
}


/* A fetch this process claimed and will not finish: free it for the others. */
static void
ngx_http_tasker_auth_jwks_release(ngx_http_tasker_auth_main_conf_t *mcf)
{
    ngx_uint_t                          i;
    ngx_http_tasker_auth_jwks_slot_t   *slot;

    ngx_shmtx_lock(&mcf->jwks_pool->mutex);

    for (i = 0; i < mcf->jwks.nelts; i++) {
        slot = ngx_http_tasker_auth_own_slot(mcf, i);
        if (slot != NULL && slot->fetching_pid == ngx_pid) {
            slot->fetching_pid = 0;
        }
    }

    ngx_shmtx_unlock(&mcf->jwks_pool->mutex);
}


/*
 * The slot holds a write that never finished (kJwksWriting): its writer
 * died during the copy. This worker keeps the set it has; the slot is
 * fetched again once the dead writer's claim expires. Logged once per
 * version by each worker.
 */
static void
ngx_http_tasker_auth_jwks_log_torn(ngx_http_tasker_auth_main_conf_t *mcf,
    ngx_uint_t i, ngx_log_t *log, uint64_t version)
{
    ngx_http_tasker_auth_jwks_conf_t   *j;
    ngx_http_tasker_auth_jwks_local_t  &local =
                                     (*ngx_http_tasker_auth_jwks_locals)[i];

    if (local.failed_version == version) {
        return;
    }

    local.failed_version = version;
    j = &static_cast<ngx_http_tasker_auth_jwks_conf_t *>(mcf->jwks.elts)[i];

    ngx_log_error(NGX_LOG_ALERT, log, 0,
                  "tasker_auth: JWKS url=%s: the worker writing a new key set "
                  "into shared memory died during the copy; %s until it is "
                  "fetched again", j->shown->c_str(),
                  local.keys ? "keeping this worker's key set"
                             : "no key set here, JWT requests get 503");
}


/*
 * The keys gauge of URL i from a set this worker parsed from the zone: a
 * reload keeps a URL's document without fetching it, and its gauge may have
 * restarted at 0 (its label named another URL before). Only while the slot
 * still holds that version: a refresh that published a newer one since sets
 * the gauge itself, after its own store under the same mutex.
 */
static void
ngx_http_tasker_auth_jwks_seed_keys(ngx_http_tasker_auth_main_conf_t *mcf,
    ngx_uint_t i, uint64_t version, size_t nkeys)
{
    ngx_http_tasker_auth_jwks_conf_t   *j;
    ngx_http_tasker_auth_jwks_slot_t   *slot;

    j = &static_cast<ngx_http_tasker_auth_jwks_conf_t *>(mcf->jwks.elts)[i];

    if (!ngx_http_tasker_auth_metrics_slot_is(mcf, j)) {
        return;
    }

    ngx_shmtx_lock(&mcf->jwks_pool->mutex);

    slot = ngx_http_tasker_auth_own_slot(mcf, i);
    if (slot != NULL && slot->version == version) {
        tasker::metricsSetJwksKeys(mcf->metrics, (int) j->metrics_slot, nkeys);
    }

    ngx_shmtx_unlock(&mcf->jwks_pool->mutex);
}


/* Rebuilds this worker's KeySet when the zone holds a newer document. */
static void
ngx_http_tasker_auth_jwks_sync(ngx_http_tasker_auth_main_conf_t *mcf,
    ngx_uint_t i, ngx_log_t *log)
{
    time_t                               last_success;
    uint64_t                             version;
    std::string                          body;
    tasker::Status                       s;
    tasker::KeySetConstPtr               ks;
    ngx_http_tasker_auth_jwks_slot_t    *slot;
    ngx_http_tasker_auth_jwks_local_t   &local =
                                     (*ngx_http_tasker_auth_jwks_locals)[i];

    size_t                               len;

    ngx_shmtx_lock(&mcf->jwks_pool->mutex);
    slot = ngx_http_tasker_auth_own_slot(mcf, i);
    version = slot ? slot->version : local.version;
    last_success = slot ? slot->last_success : local.last_success;
    ngx_shmtx_unlock(&mcf->jwks_pool->mutex);

    /*
     * A refresh that brought the same document moves only last_success.
     * local.version advances only when a parse succeeds, so the time never
     * goes to keys parsed from another document.
     */
    switch (tasker::jwksSlotRead(version, local.version)) {

    case tasker::JwksSlotRead::Current:
        if (version != 0) {
            local.last_success = last_success;
        }
        return;

    case tasker::JwksSlotRead::Torn:
        ngx_http_tasker_auth_jwks_log_torn(mcf, i, log, version);
        return;

    case tasker::JwksSlotRead::Parse:
        break;
    }

    /* allocate before taking the lock: only memcpy runs under it */
    body.resize(sizeof(slot->body));

    ngx_shmtx_lock(&mcf->jwks_pool->mutex);
    slot = ngx_http_tasker_auth_own_slot(mcf, i);
    if (slot == NULL) {
        ngx_shmtx_unlock(&mcf->jwks_pool->mutex);
        return;
    }
    version = slot->version;
    if (tasker::jwksSlotRead(version, local.version)
        != tasker::JwksSlotRead::Parse)
    {
        /* torn since the first look: the next tick logs it */
        ngx_shmtx_unlock(&mcf->jwks_pool->mutex);
        return;
    }
    last_success = slot->last_success;
    len = slot->body_len;
    ngx_memcpy(&body[0], slot->body, len);
    ngx_shmtx_unlock(&mcf->jwks_pool->mutex);

    body.resize(len);

    s = tasker::KeySet::fromJwks(body, &ks, NULL);

    if (s != tasker::Status::Ok) {
        /*
         * The publisher parsed the same bytes, so this is out of memory or
         * alike: keep what we have (max_stale still counts from its time)
         * and try again at the next tick, logging once per version.
         */
        if (local.failed_version != version) {
            ngx_log_error(NGX_LOG_ALERT, log, 0,
                          "tasker_auth: JWKS document version %uL unusable: %s",
                          version, tasker::statusName(s));
            local.failed_version = version;
        }
        return;
    }

    ngx_http_tasker_auth_jwks_seed_keys(mcf, i, version, ks->size());

    local.keys = std::move(ks);
    local.version = version;
    local.last_success = last_success;
}


static void
ngx_http_tasker_auth_jwks_log_failure(ngx_log_t *log,
    ngx_http_tasker_auth_jwks_conf_t *j, const std::string &cause,
    uint64_t version, time_t age, ngx_uint_t failures)
{
    if (version == 0) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "tasker_auth: JWKS fetch failed url=%s: %s; no key set "
                      "loaded yet, JWT requests get 503 (failure %ui)",
                      j->shown->c_str(), cause.c_str(), failures);
        return;
    }

    if (j->max_stale != 0 && age > j->max_stale) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "tasker_auth: JWKS fetch failed url=%s: %s; the key set "
                      "loaded %T s ago is past tasker_jwks_max_stale (%T s), "
                      "JWT requests get 503 (failure %ui)", j->shown->c_str(),
                      cause.c_str(), age, j->max_stale, failures);
        return;
    }

    ngx_log_error(NGX_LOG_ERR, log, 0,
                  "tasker_auth: JWKS fetch failed url=%s: %s; serving the key "
                  "set loaded %T s ago (failure %ui)", j->shown->c_str(),
                  cause.c_str(), age, failures);
}


/* Whether the slot's body is these bytes; under the zone mutex. */
static bool
ngx_http_tasker_auth_jwks_holds(const ngx_http_tasker_auth_jwks_slot_t *slot,
    const std::string &body)
{
    return slot->body_len == body.size()
           && ngx_memcmp(slot->body, body.data(), body.size()) == 0;
}


/*
 * A finished fetch into its slot, under the zone mutex (plain C only): a
 * good document and its times, or a failure and its back-off. The same
 * document again (the usual refresh) keeps its version, so no worker parses
 * it again; only a changed one is copied.
 */
static void
ngx_http_tasker_auth_jwks_store(ngx_http_tasker_auth_jwks_slot_t *slot,
    const ngx_http_tasker_auth_jwks_conf_t *j, bool ok,
    const std::string &body, time_t now)
{
    time_t  delay;

    if (ok) {
        if (slot->version == 0 || (slot->version & tasker::kJwksWriting)
            || !ngx_http_tasker_auth_jwks_holds(slot, body))
        {
            uint64_t  next = (slot->version & ~tasker::kJwksWriting) + 1;

            /*
             * if this process dies during the copy, the slot says so, and
             * is fetched again as soon as the claim expires; the barriers
             * keep the compiler from dropping these stores as overwritten
             */
            slot->version |= tasker::kJwksWriting;
            slot->next_fetch = 0;
            ngx_memory_barrier();

            ngx_memcpy(slot->body, body.data(), body.size());
            slot->body_len = body.size();
            ngx_memory_barrier();

            slot->version = next;
        }

        slot->last_success = now;
        slot->failures = 0;
        slot->next_fetch = now + j->refresh_interval;

    } else {
        slot->failures++;
        /* back off: 5s, 10s, 20s ... at most 300s or the refresh interval */
        delay = 5 << ngx_min(slot->failures - 1, 6);
        delay = ngx_min(delay, NGX_HTTP_TASKER_AUTH_JWKS_MAX_BACKOFF);
        delay = ngx_min(delay, j->refresh_interval);
        slot->next_fetch = now + delay;
    }

    slot->fetching_pid = 0;
}


/*
 * Whether a fetched body is the document this worker's key set was parsed
 * from, as the slot still holds it: then it is not parsed again (a set of
 * many EC keys takes tens of milliseconds, which every request of this
 * worker would wait for, and a client can ask for an early refresh).
 */
static bool
ngx_http_tasker_auth_jwks_unchanged(ngx_http_tasker_auth_main_conf_t *mcf,
    ngx_uint_t i, const std::string &body)
{
    bool                                 same;
    ngx_http_tasker_auth_jwks_slot_t    *slot;
    ngx_http_tasker_auth_jwks_local_t   &local =
                                     (*ngx_http_tasker_auth_jwks_locals)[i];

    if (local.keys == NULL || local.version == 0) {
        return false;
    }

    ngx_shmtx_lock(&mcf->jwks_pool->mutex);

    slot = ngx_http_tasker_auth_own_slot(mcf, i);
    same = slot != NULL && slot->version == local.version
           && ngx_http_tasker_auth_jwks_holds(slot, body);

    ngx_shmtx_unlock(&mcf->jwks_pool->mutex);

    return same;
}


/*
 * Publishes the result of a finished fetch: a good document goes into the
 * slot for every worker (this one keeps the set it parsed); a failure backs
 * off. Only plain C runs under the zone mutex.
 */
static void
ngx_http_tasker_auth_jwks_publish(ngx_http_tasker_auth_main_conf_t *mcf,
    ngx_uint_t i, ngx_log_t *log)
{
    time_t                               now;
    size_t                               nkeys;
    tasker::Status                       s;
    std::string                          body, cause;
    std::vector<std::string>             skipped;
    tasker::KeySetConstPtr               ks;
    ngx_http_tasker_auth_jwks_conf_t    *j;
    ngx_http_tasker_auth_jwks_slot_t    *slot;
    ngx_http_tasker_auth_jwks_local_t   &local =
                                     (*ngx_http_tasker_auth_jwks_locals)[i];

    j = &static_cast<ngx_http_tasker_auth_jwks_conf_t *>(mcf->jwks.elts)[i];
    now = ngx_time();

    s = local.fetch.result();

    if (s == tasker::Status::Ok) {
        body = local.fetch.takeBody();

        if (ngx_http_tasker_auth_jwks_unchanged(mcf, i, body)) {
            /* the usual refresh: the set this worker parsed from it */
            ks = local.keys;

        } else {
            s = tasker::KeySet::fromJwks(body, &ks, &skipped);
            if (s != tasker::Status::Ok) {
                cause = tasker::statusName(s);
            }
        }

    } else {
        cause = local.fetch.error();
    }

    for (const std::string &why : skipped) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "tasker_auth: JWKS url=%s: skipped a key: %s",
                      j->shown->c_str(), why.c_str());
    }

    nkeys = ks ? ks->size() : 0;

    if (s == tasker::Status::Ok && body.size() > sizeof(slot->body)) {
        s = tasker::Status::JwksTooLarge;
        cause = tasker::statusName(s);
    }

    ngx_shmtx_lock(&mcf->jwks_pool->mutex);

    slot = ngx_http_tasker_auth_own_slot(mcf, i);

    if (slot == NULL) {
        /* a reload gave the slot to another URL: this result is not its */
        ngx_shmtx_unlock(&mcf->jwks_pool->mutex);
        ngx_log_error(NGX_LOG_INFO, log, 0,
                      "tasker_auth: JWKS url=%s: fetch of an older "
                      "configuration discarded", j->shown->c_str());
        return;
    }

    ngx_http_tasker_auth_jwks_store(slot, j, s == tasker::Status::Ok, body,
                                    now);

    uint64_t version = slot->version;
    time_t last_success = slot->last_success;
    ngx_uint_t failures = slot->failures;

    ngx_shmtx_unlock(&mcf->jwks_pool->mutex);

    bool counted = ngx_http_tasker_auth_metrics_slot_is(mcf, j);

    if (counted) {
        tasker::metricsCountJwksRefresh(mcf->metrics, (int) j->metrics_slot,
                                        s == tasker::Status::Ok);
    }

    if (s != tasker::Status::Ok) {
        ngx_http_tasker_auth_jwks_log_failure(log, j, cause, version,
                                              now - last_success, failures);
        return;
    }

    local.keys = std::move(ks);
    local.version = version;
    local.last_success = last_success;

    if (counted) {
        tasker::metricsSetJwksKeys(mcf->metrics, (int) j->metrics_slot, nkeys);
    }
    ngx_log_error(NGX_LOG_INFO, log, 0,
                  "tasker_auth: JWKS refreshed url=%s keys=%uz version=%uL",
                  j->shown->c_str(), nkeys, version);
}


static void
ngx_http_tasker_auth_jwks_start(ngx_http_tasker_auth_main_conf_t *mcf,
    ngx_uint_t i, ngx_log_t *log)
{
    bool                                 due;
    time_t                               now;
    ngx_http_tasker_auth_jwks_conf_t    *j;
    ngx_http_tasker_auth_jwks_slot_t    *slot;
    ngx_http_tasker_auth_jwks_local_t   &local =
                                     (*ngx_http_tasker_auth_jwks_locals)[i];

    j = &static_cast<ngx_http_tasker_auth_jwks_conf_t *>(mcf->jwks.elts)[i];
    now = ngx_time();

    /* one worker fetches for everybody; a dead claimant loses its claim */
    ngx_shmtx_lock(&mcf->jwks_pool->mutex);

    slot = ngx_http_tasker_auth_own_slot(mcf, i);

    due = slot != NULL
          && (slot->fetching_pid == 0
              || now - slot->claimed_at
                 > tasker::kJwksTotalTimeoutMs / 1000 + 5)
          && (now >= slot->next_fetch
              || (slot->early_refresh
                  && now - slot->last_fetch
                     >= tasker::kJwksEarlyRefreshSeconds));

    if (due) {
        slot->fetching_pid = ngx_pid;
        slot->claimed_at = now;
        slot->last_fetch = now;
        slot->early_refresh = 0;
    }

    ngx_shmtx_unlock(&mcf->jwks_pool->mutex);

    if (!due) {
        return;
    }

    tasker::FetchOptions  opts;

    opts.follow_redirects = mcf->jwks_follow_redirects != 0;
    opts.log_sink = ngx_http_tasker_auth_fetch_log;
    opts.log_ctx = log;
    /* parsed at configuration load: no CA file opened or parsed here */
    opts.ca = mcf->store->jwks_ca;
    /* the name the module's own messages and metrics use (#2 etc.) */
    opts.log_name = *j->shown;

    std::string url(reinterpret_cast<char *>(j->url.data), j->url.len);

    if (local.fetch.start(url, opts) != tasker::Status::Ok) {
        ngx_http_tasker_auth_jwks_publish(mcf, i, log);
    }
}


static void
ngx_http_tasker_auth_jwks_tick(ngx_event_t *ev)
{
    bool                               done;
    long                               delay;
    ngx_uint_t                         i;
    ngx_http_tasker_auth_main_conf_t  *mcf = ngx_http_tasker_auth_jwks_mcf;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        /* no more fetches here: give a claimed one back at once */
        try {
            for (ngx_http_tasker_auth_jwks_local_t &local :
                 *ngx_http_tasker_auth_jwks_locals)
            {
                local.fetch.cancel();
            }

        } catch (...) {
            /* cancel does not throw; the loop needs no allocation */
        }

        ngx_http_tasker_auth_jwks_release(mcf);
        return;
    }

    delay = NGX_HTTP_TASKER_AUTH_JWKS_IDLE_MS;

    try {
        for (i = 0; i < mcf->jwks.nelts; i++) {
            ngx_http_tasker_auth_jwks_local_t &local =
                (*ngx_http_tasker_auth_jwks_locals)[i];

            if (local.fetch.running()) {
                local.fetch.step(&done);
                if (done) {
                    ngx_http_tasker_auth_jwks_publish(mcf, i, ev->log);
                }

            } else {
                ngx_http_tasker_auth_jwks_start(mcf, i, ev->log);
            }

            if (local.fetch.running()) {
                delay = ngx_min(delay, local.fetch.suggestedDelayMs());
            }

            ngx_http_tasker_auth_jwks_sync(mcf, i, ev->log);
        }

    } catch (...) {
        ngx_log_error(NGX_LOG_ALERT, ev->log, 0,
                      "tasker_auth: internal error in the JWKS timer");
    }

    ngx_add_timer(ev, static_cast<ngx_msec_t>(delay));
}


ngx_int_t
ngx_http_tasker_auth_init_module(ngx_cycle_t *cycle)
{
    if (tasker::fetcherGlobalInit() != tasker::Status::Ok) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "tasker_auth: libcurl initialisation failed");
        return NGX_ERROR;
    }

    if (!tasker::fetcherHasAsyncDns()) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "tasker_auth: %s resolves names synchronously; a JWKS "
                      "URL with a host name may stall a worker during DNS",
                      tasker::fetcherCurlVersion());
    }

    ngx_http_tasker_auth_register_urls(cycle);

    return NGX_OK;
}


ngx_int_t
ngx_http_tasker_auth_init_process(ngx_cycle_t *cycle)
{
    ngx_http_tasker_auth_main_conf_t  *mcf;

    /* not in the cache manager and cache loader processes */
    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    if (cycle->conf_ctx[ngx_http_module.index] == NULL) {
        return NGX_OK;
    }

    mcf = static_cast<ngx_http_tasker_auth_main_conf_t *>(
              ngx_http_cycle_get_module_main_conf(cycle,
                                                  ngx_http_tasker_auth_module));

    if (mcf == NULL || mcf->jwks.nelts == 0 || mcf->jwks_shm == NULL) {
        return NGX_OK;
    }

    try {
        delete ngx_http_tasker_auth_jwks_locals;
        ngx_http_tasker_auth_jwks_locals =
            new std::vector<ngx_http_tasker_auth_jwks_local_t>(mcf->jwks.nelts);

    } catch (...) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "tasker_auth: out of memory");
        return NGX_ERROR;
    }

    ngx_http_tasker_auth_jwks_mcf = mcf;

    /*
     * The documents the zone already holds (a reload), before the first
     * request: a new worker has its key sets at once, no 503 window.
     */
    try {
        for (ngx_uint_t i = 0; i < mcf->jwks.nelts; i++) {
            ngx_http_tasker_auth_jwks_sync(mcf, i, cycle->log);
        }

    } catch (...) {
        /* the timer's first tick tries again */
    }

    ngx_memzero(&ngx_http_tasker_auth_jwks_timer, sizeof(ngx_event_t));
    ngx_http_tasker_auth_jwks_timer.handler = ngx_http_tasker_auth_jwks_tick;
    ngx_http_tasker_auth_jwks_timer.log = cycle->log;
    ngx_http_tasker_auth_jwks_timer.data = mcf;
    ngx_http_tasker_auth_jwks_timer.cancelable = 1;

    /* the first tick loads a document a previous cycle left, or fetches */
    ngx_add_timer(&ngx_http_tasker_auth_jwks_timer, 1);

    ngx_log_error(NGX_LOG_INFO, cycle->log, 0,
                  "tasker_auth: JWKS refresh timer started for %ui URL(s)",
                  mcf->jwks.nelts);

    return NGX_OK;
}


void
ngx_http_tasker_auth_exit_process(ngx_cycle_t *cycle)
{
    /* cancels transfers and drops key sets before the process exits */
    if (ngx_http_tasker_auth_jwks_mcf != NULL
        && ngx_http_tasker_auth_jwks_mcf->jwks_shm != NULL)
    {
        ngx_http_tasker_auth_jwks_release(ngx_http_tasker_auth_jwks_mcf);
    }

    delete ngx_http_tasker_auth_jwks_locals;
    ngx_http_tasker_auth_jwks_locals = NULL;
    ngx_http_tasker_auth_jwks_mcf = NULL;

    delete ngx_http_tasker_auth_cache;
    ngx_http_tasker_auth_cache = NULL;

    /*
     * The counts stay in the lane; a later worker may claim it. A lane of an
     * older cycle (a single-process reload, no request since) is left alone:
     * its block may be gone, and a dead owner's lane is claimed anyway.
     */
    if (ngx_http_tasker_auth_lane_cycle == ngx_cycle) {
        tasker::metricsReleaseLane(&ngx_http_tasker_auth_lane,
                                   (uint64_t) ngx_pid);
    }

    ngx_http_tasker_auth_lane_cycle = NULL;
}


/* ---- metrics endpoint ------------------------------------------------- */

ngx_int_t
ngx_http_tasker_auth_metrics_handler(ngx_http_request_t *r)
{
    ngx_int_t                          rc;
    ngx_buf_t                         *b;
    ngx_str_t                          type;
    ngx_http_tasker_auth_main_conf_t  *mcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    mcf = static_cast<ngx_http_tasker_auth_main_conf_t *>(
              ngx_http_get_module_main_conf(r, ngx_http_tasker_auth_module));

    if (mcf->metrics == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    try {
        std::string page;

        if (tasker::writePrometheus(*mcf->metrics, &page)
            != tasker::Status::Ok)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        b = ngx_create_temp_buf(r->pool, page.size());
        if (b == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        b->last = ngx_cpymem(b->last, page.data(), page.size());

    } catch (...) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "tasker_auth: internal error rendering metrics");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    type.data = (u_char *) tasker::kPrometheusContentType;
    type.len = sizeof(tasker::kPrometheusContentType) - 1;

    return ngx_http_tasker_auth_send_buffer(r, NGX_HTTP_OK, &type, b);
}


/*
 * The worker's token cache for the current cycle. A new cycle (a reload in
 * single-process mode) has new policies, so entries never cross it.
 */
TASKER_HOT tasker::TokenCache *
ngx_http_tasker_auth_worker_cache(ngx_http_tasker_auth_main_conf_t *mcf)
{
    if (ngx_http_tasker_auth_cache_cycle != ngx_cycle) {
        delete ngx_http_tasker_auth_cache;
        ngx_http_tasker_auth_cache =
            mcf->jwt_cache_size > 0
                ? new tasker::TokenCache(
                      static_cast<size_t>(mcf->jwt_cache_size))
                : NULL;
        ngx_http_tasker_auth_cache_cycle = (ngx_cycle_t *) ngx_cycle;
    }

    return ngx_http_tasker_auth_cache;
}


/* A lane whose owner crashed is free again; EPERM means someone else's pid. */
static bool
ngx_http_tasker_auth_pid_alive(uint64_t pid)
{
    return kill((ngx_pid_t) pid, 0) == 0 || ngx_errno != NGX_ESRCH;
}


/*
 * Where this worker counts: a lane of its own in the shared block (plain
 * stores on the request path), or the shared lane when all are taken. Claimed
 * on the first request of a cycle, like the token cache; a new cycle in
 * single-process mode may bring a new block.
 */
TASKER_HOT tasker::MetricsWriter
ngx_http_tasker_auth_worker_metrics(ngx_http_tasker_auth_main_conf_t *mcf)
{
    if (ngx_http_tasker_auth_lane_cycle != ngx_cycle) {
        ngx_http_tasker_auth_lane =
            tasker::metricsClaimLane(mcf->metrics, (uint64_t) ngx_pid,
                                     ngx_http_tasker_auth_pid_alive);
        ngx_http_tasker_auth_lane_cycle = (ngx_cycle_t *) ngx_cycle;
    }

    return ngx_http_tasker_auth_lane;
}


/* ---- JWKS slot accessors for the access handler ----------------------- */

/*
 * The key set a location may use at `now`: this worker's parsed set, unless
 * max_stale (0: no limit) has passed since the last good refresh. NULL when
 * none is usable (the policy answers 503).
 */
const tasker::KeySet *
ngx_http_tasker_auth_jwks_keys(ngx_http_tasker_auth_main_conf_t *mcf,
    ngx_uint_t index, time_t max_stale, time_t now)
{
    const ngx_http_tasker_auth_jwks_local_t  *local;

    if (ngx_http_tasker_auth_jwks_locals == NULL || mcf->jwks_shm == NULL
        || ngx_http_tasker_auth_jwks_mcf != mcf
        || index >= ngx_http_tasker_auth_jwks_locals->size())
    {
        return NULL;
    }

    local = &(*ngx_http_tasker_auth_jwks_locals)[index];

    /*
     * last_success is the slot's, copied by the timer (every 250 ms) or by
     * this worker's own refresh: no lock on the request path.
     */
    if (local->keys == NULL
        || (max_stale != 0 && now - local->last_success > max_stale))
    {
        return NULL;
    }

    return local->keys.get();
}


/*
 * A token named a kid the set does not hold (a rotated key): ask the timer
 * for an early refresh. The timer starts it kJwksEarlyRefreshSeconds after
 * the previous fetch at the earliest (SPEC 8): a request sooner than that
 * defers it rather than being forgotten.
 */
void
ngx_http_tasker_auth_jwks_unknown_kid(ngx_http_tasker_auth_main_conf_t *mcf,
    ngx_uint_t index, time_t now)
{
    ngx_http_tasker_auth_jwks_slot_t  *slot;

    if (mcf->jwks_shm == NULL || index >= mcf->jwks.nelts) {
        return;
    }

    ngx_shmtx_lock(&mcf->jwks_pool->mutex);

    slot = ngx_http_tasker_auth_own_slot(mcf, index);

    if (slot != NULL) {
        slot->early_refresh = 1;
    }

    ngx_shmtx_unlock(&mcf->jwks_pool->mutex);
}


/*
 * With "master_process off", a reload builds a new cycle in the same process
 * but never runs init_process again: the JWKS timer and the worker's key
 * sets would stay on the old cycle (and its freed memory). Such a reload is
 * refused while JWKS is used; the running configuration keeps serving.
 */
ngx_int_t
ngx_http_tasker_auth_check_reload(ngx_conf_t *cf,
    ngx_http_tasker_auth_main_conf_t *mcf)
{
    if (ngx_process != NGX_PROCESS_SINGLE
        || ngx_is_init_cycle((ngx_cycle_t *) ngx_cycle)
        || (mcf->jwks.nelts == 0 && ngx_http_tasker_auth_jwks_mcf == NULL))
    {
        return NGX_OK;
    }

    ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                  "tasker_auth: a reload with \"master_process off\" cannot "
                  "replace the JWKS key sets (tasker_jwks_url); restart nginx "
                  "instead");
    return NGX_ERROR;
}
