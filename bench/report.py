#!/usr/bin/python3
"""Turns bench/e2e.sh's measurements (runs.tsv, rss.tsv, the environment) into report.md, the
chart data and chart.gp. Medians over rounds; ratios as the issue's goals define them."""
import math
import os
import statistics
import sys

out = sys.argv[1]
env = os.environ
tick = int(env["TICK"])
rsa_us, ecdsa_us, ed_us = (float(env[k]) for k in ("RSA_US", "ECDSA_US", "ED_US"))
ntokens = int(env["NTOKENS"])

runs = {}
order = []
with open(os.path.join(out, "runs.tsv")) as f:
    next(f)
    for line in f:
        rnd, name, reqs, secs, user, sys_ = line.split("\t")
        reqs, secs, user, sys_ = int(reqs), float(secs), int(user), int(sys_)
        if name not in runs:
            runs[name] = []
            order.append(name)
        runs[name].append((reqs / secs, (user + sys_) * 1e6 / tick / reqs, user * 1e6 / tick / reqs))

LABELS = {
    "bare": "bare nginx, same Authorization header (tasker_auth off)",
    "bare_apikey": "bare nginx, same X-API-Key header (tasker_auth off)",
    "api_key": "API key",
    "control": "control: bare nginx again at a second location (A/A, no goal)",
    "rs256_cached": "RS256, one token, cache hit",
    "rs256_nocache": "RS256, one token, cache off",
    "es256_cached": "ES256, one token, cache hit",
    "es256_nocache": "ES256, one token, cache off",
    "eddsa_cached": "EdDSA, one token, cache hit",
    "eddsa_nocache": "EdDSA, one token, cache off",
    "rs256_1token_lua": "RS256, one token, cache hit (wrk Lua script)",
    "many_1worker": f"RS256, {ntokens:,} tokens round-robin, default config, 1 worker",
    "rs256_1token_lua_2workers": "RS256, one token, cache hit (wrk Lua script), 2 workers",
    "many_2workers": f"RS256, {ntokens:,} tokens round-robin, default config, 2 workers",
    "many_nocache": f"RS256, {ntokens:,} tokens round-robin, cache off",
    "many_cache1024": f"RS256, {ntokens:,} tokens round-robin, cache of 1024 (every token new)",
}

med = {n: (statistics.median(r for r, _, _ in v), statistics.median(c for _, c, _ in v),
           statistics.median(u for _, _, u in v)) for n, v in runs.items()}
cpu = {n: m[1] for n, m in med.items()}
usr = {n: m[2] for n, m in med.items()}
bare = cpu["bare"]
# Each workload against bare nginx receiving the same request headers.
BARE_OF = {"bare_apikey": "bare_apikey", "api_key": "bare_apikey"}


def bare_of(n):
    return cpu[BARE_OF.get(n, "bare")]


lines = []
w = lines.append
w("# tasker_auth end-to-end benchmark")
w("")
w(f"nginx pinned to core {env['SCPU']}, wrk (1 thread, {env['CONNS']} connections) pinned to core "
  f"{env['CCPU']}; {env['ROUNDS']} rounds of {env['SECONDS_PER_RUN']} s per workload, in rotating "
  "order; medians over rounds. Server CPU per request = the workers' utime+stime "
  "(/proc/<pid>/stat) over the run / requests wrk completed. Every response was 2xx.")
w("")
w(f"Idle client core: {env.get('HALT_STATE', 'not recorded')}. (On a VM whose idle vCPU halts at "
  "once, waking wrk after each response costs the server a hypervisor exit whenever the server is "
  "slower than wrk: bench/e2e.sh explains why the window is set.)")
w("")
w(f"`openssl speed -seconds 3` in the same run, same core: RSA-2048 verify {rsa_us:.2f} µs, "
  f"ECDSA P-256 verify {ecdsa_us:.2f} µs, Ed25519 verify {ed_us:.2f} µs.")
w("")
w("| workload | req/s | server CPU µs/req | × bare (same headers) | of which user µs/req | "
  "rounds (µs/req) |")
w("|---|---:|---:|---:|---:|---|")
for n in order:
    rps, c, u = med[n]
    each = ", ".join(f"{x:.2f}" for _, x, _ in runs[n])
    w(f"| {LABELS.get(n, n)} | {rps:,.0f} | {c:.2f} | {c / bare_of(n):.3f} | {u:.2f} | {each} |")
w("")
w("User time is the kernel's tick-sampled share of each run's CPU time, so it is noisier than the "
  "total; it is shown because most of a request's CPU here is the kernel's (loopback TCP, "
  "wakeups of the other core), which grows when fewer requests share each wakeup.")
w("")

# ---- close comparisons (pairs.tsv): per-pair ratios, median, distribution-free interval ----
pairs = {}
pairs_path = os.path.join(out, "pairs.tsv")
if os.path.exists(pairs_path):
    with open(pairs_path) as f:
        next(f)
        for line in f:
            rnd, base, name, breqs, bticks, reqs, ticks = line.split("\t")
            ratio = (int(ticks) / int(reqs)) / (int(bticks) / int(breqs))
            pairs.setdefault(name, (base, []))[1].append(ratio)


def median_interval(xs, level=0.90):
    """The median and the widest order-statistic interval [x(k), x(n+1-k)] whose coverage of the
    true median is at least `level` (binomial, no assumption about the distribution)."""
    xs = sorted(xs)
    n = len(xs)
    k = 0
    while k + 1 <= n // 2:
        # coverage of [x(k+1), x(n-k)] is 1 - 2 P(Binomial(n, 1/2) <= k)
        tail = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
        if 1 - 2 * tail < level:
            break
        k += 1
    lo, hi = (xs[k - 1], xs[n - k]) if k > 0 else (float("nan"), float("nan"))
    return statistics.median(xs), lo, hi


close = {name: median_interval(v) for name, (_, v) in pairs.items()}

goals = []


def goal(text, value, limit, shown):
    goals.append((text, shown, f"≤ {limit}", "held" if value <= limit else "**missed**"))




def close_goal(text, n, base, limit):
    """A goal of a few per cent: the median of the back-to-back pairs when they ran (shown with
    its 90 % interval and the rounds' ratio), else the ratio of the rounds' medians."""
    rounds = cpu[n] / cpu[base]
    if n in close:
        m, lo, hi = close[n]
        goal(text, m, limit, f"{m:.3f} × (90 % interval {lo:.3f}–{hi:.3f}; rounds {rounds:.3f} ×)")
    else:
        goal(text, rounds, limit, f"{rounds:.3f} ×")


for n, label in (("rs256_cached", "RS256"), ("es256_cached", "ES256"), ("eddsa_cached", "EdDSA")):
    close_goal(f"cache hit ({label}) ≤ 1.04 × bare", n, "bare", 1.04)
goal("uncached RS256 ≤ bare + 1.3 × openssl verify", (cpu["rs256_nocache"] - bare) / rsa_us, 1.3,
     f"bare + {(cpu['rs256_nocache'] - bare) / rsa_us:.3f} ×")
goal("uncached ES256 ≤ bare + 1.15 × openssl verify", (cpu["es256_nocache"] - bare) / ecdsa_us,
     1.15, f"bare + {(cpu['es256_nocache'] - bare) / ecdsa_us:.3f} ×")
goal("uncached EdDSA ≤ bare + 1.15 × openssl verify", (cpu["eddsa_nocache"] - bare) / ed_us, 1.15,
     f"bare + {(cpu['eddsa_nocache'] - bare) / ed_us:.3f} ×")
close_goal(f"{ntokens:,} tokens, 1 worker, after the first pass ≤ 1.1 × one-token hit",
           "many_1worker", "rs256_1token_lua", 1.1)
close_goal(f"{ntokens:,} tokens, 2 workers, after the first pass ≤ 1.1 × one-token hit (2 workers)",
           "many_2workers", "rs256_1token_lua_2workers", 1.1)
goal(f"every token new ({ntokens:,}-token pass, cache of 1024) ≤ uncached cost (cache off, "
     "same tokens)", cpu["many_cache1024"] / cpu["many_nocache"], 1.0,
     f"{cpu['many_cache1024'] / cpu['many_nocache']:.3f} ×")
close_goal("API key ≤ 1.02 × bare (same X-API-Key header)", "api_key", "bare_apikey", 1.02)

rss = []
with open(os.path.join(out, "rss.tsv")) as f:
    next(f)
    for line in f:
        r, k = line.split()
        rss.append((int(r), int(k)))
first_after = rss[1][1] if len(rss) > 1 else rss[0][1]
growth = rss[-1][1] - first_after
goal(f"worker RSS flat over {rss[-1][0]:,} requests of the {ntokens:,}-token workload "
     "(growth after the first sample ≤ 1 MiB)", growth / 1024.0, 1.0,
     f"{rss[0][1] / 1024:.1f} → {first_after / 1024:.1f} → {rss[-1][1] / 1024:.1f} MiB")

info = [
    ("uncached RS256, user CPU over bare / openssl verify", (usr["rs256_nocache"] - usr["bare"]) / rsa_us),
    ("uncached ES256, user CPU over bare / openssl verify", (usr["es256_nocache"] - usr["bare"]) / ecdsa_us),
    ("uncached EdDSA, user CPU over bare / openssl verify", (usr["eddsa_nocache"] - usr["bare"]) / ed_us),
]
w("## Goals (issue 11)")
w("")
w("| goal | measured | limit | |")
w("|---|---|---|---|")
for g in goals:
    w("| " + " | ".join(g) + " |")
w("")
if close:
    w(f"The cache hits, the API key and the {ntokens:,}-token runs are judged on "
      f"{env.get('PAIR_ROUNDS', '?')} close comparisons: after the rounds, each runs back to "
      f"back with its baseline (bare nginx, or the one-token hit on the same instance; "
      f"{env.get('PAIR_SECONDS', '?')} s each, the order alternating), and the goal takes the "
      "median of the per-pair ratios. The server's CPU per request drifts between levels that "
      "last tens of seconds, by more than a 2 % limit (and, with two workers sharing the core, "
      "by up to 15 % between runs); a pair's two runs share the level, so their ratio does not "
      "see the drift. The level also differs from one nginx start to the next, so the pairs "
      f"span {env.get('PAIR_STARTS', '1')} starts of instances A and C (restarted and warmed "
      "again between rounds). The interval is the order-statistic range that holds "
      "the true median with at least 90 % probability, whatever the distribution. Per pair:")
    w("")
    w("| workload | baseline | pairs | median | 90 % interval | min | max |")
    w("|---|---|---:|---:|---|---:|---:|")
    for name, (base, v) in pairs.items():
        m, lo, hi = close[name]
        w(f"| {LABELS.get(name, name)} | {base} | {len(v)} | {m:.3f} | {lo:.3f}–{hi:.3f} | "
          f"{min(v):.3f} | {max(v):.3f} |")
    w("")
    if "control" in close:
        m, lo, hi = close["control"]
        w(f"The control is an A/A test: bare nginx at a second location (`/control`, tasker_auth "
          f"off, the same bytes served), paired with `/bare` exactly as the API key is. Its "
          f"median, {m:.3f} × (90 % interval {lo:.3f}–{hi:.3f}), is what two identical "
          "workloads measure in this run: read the API key's distance from its 1.02 limit "
          "against it. It is reported, not corrected for.")
        w("")
w(f"Distinct tokens with the cache off cost {cpu['many_nocache'] / cpu['rs256_nocache']:.3f} × "
  "one repeated token with the cache off (same work; the difference is the client script and "
  "noise).")
w("")
w("In user CPU alone (the process's own work, without the kernel's share): " + "; ".join(
    f"{t} {v:.3f} ×" for t, v in info) + ".")
w("")
hit1 = cpu["rs256_1token_lua"]
w("The 1.1 × goals compare with the one-token hit driven by the same wrk Lua script on the same "
  "instance, so both sides pay the same client-side request formatting and the same number of "
  f"workers sharing the server core. For reference, the 2-worker {ntokens:,}-token run is "
  f"{cpu['many_2workers'] / hit1:.3f} × the 1-worker one-token hit, and the 2-worker one-token "
  f"hit {cpu['rs256_1token_lua_2workers'] / hit1:.3f} × the 1-worker one. Ratios hold only "
  "within one run: the "
  "machine is shared, so absolute figures move between runs.")
w("")
# ---- where the time goes (perf, separate pass) ----
GROUPS = (("kernel", "kernel"), ("nginx", "nginx"), ("libc", "libc"),
          ("module", "module and core"), ("jansson", "jansson"), ("libstdc++", "libstdc++"),
          ("libcrypto", "libcrypto"), ("other", "other"))


PREFIXES = (("[kernel", "kernel"), ("nginx", "nginx"), ("libc.so", "libc"),
            ("ngx_http_tasker_auth_module", "module"), ("libjansson", "jansson"),
            ("libstdc++", "libstdc++"), ("libcrypto", "libcrypto"))


def group_of(dso):
    return next((g for prefix, g in PREFIXES if dso.startswith(prefix)), "other")


profile = {}
prof_path = os.path.join(out, "profile.tsv")
if os.path.exists(prof_path):
    with open(prof_path) as f:
        next(f)
        for line in f:
            wl, per_req, dso, pct = line.rstrip("\n").split("\t")
            d = profile.setdefault(wl, {"cpu": float(per_req)})
            g = group_of(dso)
            d[g] = d.get(g, 0.0) + float(pct) * float(per_req) / 100.0
if profile:
    verify_cost = {"rs256_nocache": rsa_us, "es256_nocache": ecdsa_us, "eddsa_nocache": ed_us}
    w("## Where the time goes")
    w("")
    w("A separate pass after the rounds: `perf record -e cpu-clock` on the workers during one run "
      "per workload; each shared object's share of the samples times that run's CPU per request. "
      "The last column compares libcrypto's own time per request with `openssl speed`'s verify "
      "in its tight loop.")
    w("")
    w("| workload | CPU µs/req | " + " | ".join(label for _, label in GROUPS) +
      " | libcrypto / openssl verify |")
    w("|---|---:|" + "---:|" * len(GROUPS) + "---:|")
    for wl, d in profile.items():
        cells = " | ".join(f"{d.get(g, 0.0):.2f}" for g, _ in GROUPS)
        ratio = f"{d.get('libcrypto', 0.0) / verify_cost[wl]:.3f} ×" if wl in verify_cost else ""
        w(f"| {LABELS.get(wl, wl)} | {d['cpu']:.2f} | {cells} | {ratio} |")
    w("")

before, after = int(env["RSS_BEFORE_MANY"]), int(env["RSS_AFTER_MANY"])
w("## Memory")
w("")
w(f"Worker RSS (instance A, default cache): {before / 1024:.1f} MiB before the {ntokens:,}-token "
  f"warm-up, {after / 1024:.1f} MiB after it: {(after - before) * 1024 / ntokens:,.0f} bytes per "
  "cached token (token text, verified result and parsed claims, plus the slots the tokens "
  "touched).")
w("")
w("| requests (cumulative) | worker RSS MiB |")
w("|---:|---:|")
for r, k in rss:
    w(f"| {r:,} | {k / 1024:.1f} |")
w("")
w("![server CPU per request](chart.png)")
with open(os.path.join(out, "report.md"), "w") as f:
    f.write("\n".join(lines) + "\n")

with open(os.path.join(out, "chart.dat"), "w") as f:
    for n in order:
        f.write(f'"{n}" {usr[n]:.3f} {cpu[n] - usr[n]:.3f}\n')
with open(os.path.join(out, "chart.gp"), "w") as f:
    f.write(f"""set terminal pngcairo size 1100,600 noenhanced font ",10"
set output "{out}/chart.png"
set title "tasker_auth: server CPU per request (median of rounds; lower is better)"
set ylabel "µs per request"
set style data histograms
set style histogram rowstacked
set style fill solid 0.8 border -1
set boxwidth 0.8
set xtics rotate by -35 scale 0
set grid ytics
set key top left
set yrange [0:*]
plot "{out}/chart.dat" using 2:xtic(1) title "user µs/req" lc rgb "#4472c4", \\
     "" using 3 title "system µs/req" lc rgb "#a5a5a5", \\
     {bare:.3f} with lines lw 2 lc rgb "#c00000" title "bare nginx", \\
     {bare + rsa_us:.3f} with lines dt 2 lc rgb "#7f7f7f" title "bare + openssl RSA-2048 verify", \\
     {bare + ecdsa_us:.3f} with lines dt 3 lc rgb "#7f7f7f" title "bare + openssl P-256 verify", \\
     {bare + ed_us:.3f} with lines dt 4 lc rgb "#7f7f7f" title "bare + openssl Ed25519 verify"
""")
