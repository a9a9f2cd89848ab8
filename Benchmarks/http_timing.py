#!/usr/bin/env python3
"""Helpers of template-dashboard.sh and proxy-overhead.sh (see Benchmarks/README.md).

Subcommands:
  inprocess --out JSON -- ALMANAC bench-template ...
        runs `almanac bench-template` (uncached template renders against the same SQL run bare,
        same process, same warehouse), prints its per-value lines as a table and p50/p95 over the
        values of render and bare, and the ratio p95(render) / p95(bare)
  http --base URL --template ID --parameter NAME --values CSV --out JSON ...
        waits until the portal's search has the customers (the background indexing that starts
        with `almanac serve`), then times GET /templates/ID?NAME=VALUE over one keep-alive
        connection: once per value (cold: rendered by the request), then CACHED more times per
        value (served from the portal's render cache)
  template-summary JSON...
        the final summary block of template-dashboard.sh, one part per scale and the targets
  proxy --target LABEL=URL ... --process NAME=PID ... --compare TITLE:PROXIED:DIRECT:KIND ...
        wrk against every target (proxied pages and the backends directly, references), the
        order reversing every round: latency with one connection (p50 added per round) and
        throughput with many (ratio per round), CPU of each server per request

Percentiles are nearest-rank: the p-th percentile of n sorted samples is the ceil(p/100 * n)-th
one, an actual sample (no interpolation), so p95 of 30 values is the 29th smallest (the second
largest) and p95 of 600 requests the 570th. Times are printed with three decimals, as measured;
verdicts compare the unrounded numbers.
"""
import argparse
import http.client
import json
import math
import os
import statistics
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_helper import (busy_cpu_seconds, print_table, process_cpu_seconds,  # noqa: E402
                          process_tree, run_timed, run_wrk)


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def nearest_rank(samples, p):
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def cpus():
    return os.cpu_count() or 1


def opt(x, digits=1):
    return "?" if x is None else f"{x:.{digits}f}"


def quiet_word(others, wall):
    if others is None:
        return "?"
    return "quiet" if others < 0.05 * wall * cpus() else "NOISY: other work competed for the CPUs"


# ---------------------------------------------------------------------------------------------
# template-dashboard.sh, in-process half


def inprocess(args):
    command = args.command[1:] if args.command and args.command[0] == "--" else args.command
    busy_before = busy_cpu_seconds()
    wall, cpu, code, output = run_timed(command)
    busy_after = busy_cpu_seconds()
    with open(args.out + ".txt", "w") as f:
        f.write(" ".join(command) + "\n" + output)
    if code != 0:
        print(output[-3000:])
        sys.exit(f"almanac bench-template exited {code}")
    rows = []
    for line in output.splitlines():
        if not line.startswith("value="):
            continue
        fields = dict(part.split("=", 1) for part in line.split())
        rows.append(dict(value=fields["value"], statements=int(fields["statements"]),
                         render_ms=float(fields["render_ms"]), bare_ms=float(fields["bare_ms"]),
                         render_text=fields["render_ms"], bare_text=fields["bare_ms"]))
    if not rows:
        print(output[-3000:])
        sys.exit("almanac bench-template printed no value= lines")
    others = None
    if busy_before is not None and busy_after is not None:
        others = max(0.0, busy_after - busy_before - cpu)
    print_table(["value", "statements", "render ms (median)", "bare SQL ms (median)", "render / bare"],
                [[r["value"], r["statements"], r["render_text"], r["bare_text"],
                  f"{r['render_ms'] / r['bare_ms']:.3f}" if r["bare_ms"] > 0 else "?"] for r in rows])
    render = [r["render_ms"] for r in rows]
    bare = [r["bare_ms"] for r in rows]
    result = dict(values=len(rows), rounds=args.rounds, statements=sorted({r["statements"] for r in rows}),
                  render_p50=nearest_rank(render, 50), render_p95=nearest_rank(render, 95),
                  bare_p50=nearest_rank(bare, 50), bare_p95=nearest_rank(bare, 95),
                  render_max=max(render), bare_max=max(bare),
                  per_value_ratio_median=statistics.median(r["render_ms"] / r["bare_ms"] for r in rows if r["bare_ms"] > 0),
                  wall=wall, cpu=cpu, others=others, rows=rows)
    result["ratio_p95"] = result["render_p95"] / result["bare_p95"]
    result["ratio_p50"] = result["render_p50"] / result["bare_p50"]
    print(f"{len(rows)} values, each the median of {args.rounds} rounds (render and bare alternating which goes"
          f" first); nearest-rank percentiles over the values:")
    print(f"  uncached render: p50 {result['render_p50']:.3f} ms, p95 {result['render_p95']:.3f} ms,"
          f" max {result['render_max']:.3f} ms")
    print(f"  bare SQL:        p50 {result['bare_p50']:.3f} ms, p95 {result['bare_p95']:.3f} ms,"
          f" max {result['bare_max']:.3f} ms")
    print(f"  p95(render) / p95(bare) = {result['ratio_p95']:.3f} (target <= 2); p50 ratio {result['ratio_p50']:.3f};"
          f" median of the per-value ratios {result['per_value_ratio_median']:.3f}")
    print(f"  the process took {wall:.1f} s of wall clock and {cpu:.1f} CPU s; other processes used"
          f" {opt(others)} CPU s of {wall * cpus():.1f} available"
          f" ({quiet_word(others, wall)})")
    with open(args.out, "w") as f:
        json.dump(result, f)


# ---------------------------------------------------------------------------------------------
# template-dashboard.sh, HTTP half


class Client:
    """One keep-alive HTTP/1.1 connection; reconnects (and counts it) if the server closes it."""

    def __init__(self, base):
        parsed = urllib.parse.urlsplit(base)
        self.host, self.port = parsed.hostname, parsed.port
        self.reconnects = 0
        self.conn = None

    def get(self, path):
        """(status, body, seconds from sending the request to the last byte of the body read)."""
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=900)
                self.conn.connect()
            try:
                started = time.perf_counter()
                self.conn.request("GET", path, headers={"Accept": "text/html"})
                response = self.conn.getresponse()
                body = response.read()
                seconds = time.perf_counter() - started
                if response.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                    self.reconnects += 1
                return response.status, body, seconds
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = None
                self.reconnects += 1
                if attempt:
                    raise
        raise RuntimeError("unreachable")


def wait_for_search(client, value, entity_kind, limit_seconds):
    """Polls /api/search?q=VALUE until its first hit is of kind entity_kind; returns seconds waited."""
    started = time.perf_counter()
    path = "/api/search?" + urllib.parse.urlencode({"q": value})
    last = None
    while True:
        status, body, _ = client.get(path)
        if status == 200:
            try:
                hits = json.loads(body).get("hits") or []
            except ValueError:
                hits = []
            last = (hits[0].get("kind"), hits[0].get("title")) if hits else None
            if last and last[0] == entity_kind:
                return time.perf_counter() - started, last
        if time.perf_counter() - started > limit_seconds:
            sys.exit(f"search did not return a '{entity_kind}' first for '{value}' within {limit_seconds} s"
                     f" (last first hit: {last}, HTTP {status})")
        time.sleep(0.5)


def http_bench(args):
    values = [v for v in args.values.split(",") if v]
    client = Client(args.base)
    log(f"waiting for search to have the {args.entity_kind} values (GET /api/search?q={values[0]} until its first"
        f" hit has kind '{args.entity_kind}'; at most {args.search_wait} s)")
    waited, first = wait_for_search(client, values[0], args.entity_kind, args.search_wait)
    log(f"search ready after {waited:.1f} s more (first hit: {first[0]} '{first[1]}'); waiting {args.settle} s for"
        f" the server to settle")
    time.sleep(args.settle)
    pids = process_tree(args.server_pid) if args.server_pid else []
    idle_before = process_cpu_seconds(pids)
    time.sleep(2)
    idle_cpu = process_cpu_seconds(pids) - idle_before
    log(f"server CPU while idle: {idle_cpu:.2f} s in 2 s (background work left over, if well above 0)")

    def url(value):
        return f"/templates/{args.template}?" + urllib.parse.urlencode({args.parameter: value})

    records = dict(cold=[], cached=[])
    statuses = dict(cold={}, cached={})
    missing = dict(cold=0, cached=0)
    sizes = {}
    cold_at = {}
    past_ttl = 0
    phase_stats = {}
    for phase in ("cold", "cached"):
        cpu_before, busy_before, started = process_cpu_seconds(pids), busy_cpu_seconds(), time.perf_counter()
        client_before = time.process_time()
        passes = 1 if phase == "cold" else args.cached
        for _ in range(passes):
            for value in values:
                now = time.perf_counter()
                if phase == "cold":
                    cold_at[value] = now
                elif now - cold_at[value] > args.ttl:
                    past_ttl += 1
                status, body, seconds = client.get(url(value))
                records[phase].append((value, seconds * 1000))
                statuses[phase][status] = statuses[phase].get(status, 0) + 1
                if args.expect.encode() not in body:
                    missing[phase] += 1
                sizes.setdefault(value, len(body))
        wall = time.perf_counter() - started
        server_cpu = process_cpu_seconds(pids) - cpu_before
        busy_after = busy_cpu_seconds()
        client_cpu = time.process_time() - client_before
        others = None
        if busy_before is not None and busy_after is not None:
            others = max(0.0, busy_after - busy_before - server_cpu - client_cpu)
        phase_stats[phase] = dict(wall=wall, server_cpu=server_cpu, client_cpu=client_cpu, others=others)

    cold = [ms for _, ms in records["cold"]]
    cached = [ms for _, ms in records["cached"]]
    cached_by_value = {}
    for value, ms in records["cached"]:
        cached_by_value.setdefault(value, []).append(ms)
    print_table(["value", "bytes", "cold ms", "cached ms (median of %d)" % args.cached, "cached ms (max)"],
                [[v, f"{sizes[v]:,}", f"{ms:.3f}", f"{statistics.median(cached_by_value[v]):.3f}",
                  f"{max(cached_by_value[v]):.3f}"] for v, ms in records["cold"]])
    result = dict(values=len(values), cached_per_value=args.cached, search_wait=waited,
                  cold_n=len(cold), cached_n=len(cached),
                  cold_p50=nearest_rank(cold, 50), cold_p95=nearest_rank(cold, 95), cold_max=max(cold),
                  cached_p50=nearest_rank(cached, 50), cached_p95=nearest_rank(cached, 95),
                  cached_p99=nearest_rank(cached, 99), cached_max=max(cached),
                  statuses={k: {str(s): n for s, n in v.items()} for k, v in statuses.items()},
                  missing=missing, reconnects=client.reconnects, past_ttl=past_ttl,
                  bytes_min=min(sizes.values()), bytes_max=max(sizes.values()),
                  phases=phase_stats, idle_cpu=idle_cpu)
    all_ok = all(set(v) == {200} for v in statuses.values()) and not any(missing.values())
    result["all_ok"] = all_ok
    print(f"GET /templates/{args.template}?{args.parameter}=…, one keep-alive connection, sequential, time from"
          f" sending the request to the last byte of the body; nearest-rank percentiles:")
    print(f"  cold (first request per value, rendered): n={len(cold)}, p50 {result['cold_p50']:.3f} ms, p95"
          f" {result['cold_p95']:.3f} ms, max {result['cold_max']:.3f} ms")
    print(f"  cached ({args.cached} more per value, render cache): n={len(cached)}, p50 {result['cached_p50']:.3f} ms,"
          f" p95 {result['cached_p95']:.3f} ms, p99 {result['cached_p99']:.3f} ms, max {result['cached_max']:.3f} ms")
    print(f"  status codes: cold {statuses['cold']}, cached {statuses['cached']}; responses without"
          f" '{args.expect}': cold {missing['cold']}, cached {missing['cached']}; pages {result['bytes_min']:,}–"
          f"{result['bytes_max']:,} bytes; reconnects {client.reconnects}; cached requests sent more than"
          f" {args.ttl} s after their value's cold one (cache entry could have expired): {past_ttl}")
    for phase, st in phase_stats.items():
        print(f"  {phase}: {st['wall']:.1f} s wall; CPU s: server {st['server_cpu']:.1f}, this client"
              f" {st['client_cpu']:.1f}, other processes {opt(st['others'])} of {st['wall'] * cpus():.1f} available"
              f" ({quiet_word(st['others'], st['wall'])})")
    if not all_ok:
        print("  NOT ALL OK: a response was not 200 or lacked the expected text")
    with open(args.out, "w") as f:
        json.dump(result, f)


def template_summary(args):
    parts = []
    for path in args.json:
        with open(path) as f:
            parts.append(json.load(f))
    print()
    print("Summary (nearest-rank percentiles; in-process: per-value medians of the rounds; HTTP: per request)")
    rows = []
    for p in parts:
        ip, h = p["inprocess"], p["http"]
        rows.append([p["scale"], f"{p['events']:,}", ip["values"],
                     f"{ip['render_p50']:.3f} / {ip['render_p95']:.3f}", f"{ip['bare_p50']:.3f} / {ip['bare_p95']:.3f}",
                     f"{ip['ratio_p95']:.3f}",
                     f"{h['cold_p50']:.3f} / {h['cold_p95']:.3f}",
                     f"{h['cold_p95'] / ip['bare_p95']:.3f}",
                     f"{h['cached_p50']:.3f} / {h['cached_p95']:.3f}",
                     "yes" if h["all_ok"] else "NO",
                     f"{h['search_wait']:.1f}"])
    print_table(["scale", "events", "values", "render p50 / p95 ms", "bare SQL p50 / p95 ms", "p95 render / bare",
                 "HTTP cold p50 / p95 ms", "HTTP cold p95 / bare p95", "HTTP cached p50 / p95 ms",
                 "all 200 + 'Ocean chart'", "search wait s"], rows)
    print()
    uncached_ok = all(p["inprocess"]["ratio_p95"] <= 2 for p in parts)
    cached_ok = all(p["http"]["cached_p95"] <= 5 and p["http"]["all_ok"] for p in parts)
    detail = "; ".join(f"scale {p['scale']}: {p['inprocess']['ratio_p95']:.3f}" for p in parts)
    print(f"Target: uncached p95 <= 2 x bare SQL p95 (in-process) at every scale: {'MET' if uncached_ok else 'MISSED'}"
          f" ({detail})")
    detail = "; ".join(f"scale {p['scale']}: {p['http']['cached_p95']:.3f} ms"
                       f"{'' if p['http']['all_ok'] else ' (not all 200 with the chart)'}" for p in parts)
    print(f"Target: cached p95 <= 5 ms over HTTP at every scale: {'MET' if cached_ok else 'MISSED'} ({detail})")
    detail = "; ".join(f"scale {p['scale']}: cold p95 {p['http']['cold_p95']:.3f} ms vs bare p95"
                       f" {p['inprocess']['bare_p95']:.3f} ms" for p in parts)
    print(f"For information, HTTP cold vs bare SQL: {detail}")


# ---------------------------------------------------------------------------------------------
# proxy-overhead.sh


def parse_pairs(items, what):
    out = []
    for item in items or []:
        name, sep, value = item.partition("=")  # URLs may hold "=", names do not
        if not sep or not name:
            sys.exit(f"--{what} wants NAME=VALUE, got {item!r}")
        out.append((name, value))
    return out


def proxy(args):
    """wrk against every target URL, the targets' order reversing every round, so that each pair
    of adjacent targets alternates which goes first. Comparisons (--compare) pair a proxied target
    with its direct one: latency added = proxied p50 - direct p50 and throughput ratio = proxied
    req/s / direct req/s, per round; the figure is the median over the rounds."""
    targets = [dict(label=label, url=url) for label, url in parse_pairs(args.target, "target")]
    labels = [t["label"] for t in targets]
    processes = [(name, int(pid)) for name, pid in parse_pairs(args.process, "process")]
    compares = []
    for spec in args.compare:
        parts = spec.rsplit(":", 3)
        if len(parts) != 4 or parts[1] not in labels or parts[2] not in labels or parts[3] not in ("target", "reference"):
            sys.exit(f"--compare wants 'TITLE:PROXIED:DIRECT:target|reference' with known targets, got {spec!r}")
        compares.append(dict(title=parts[0], proxied=parts[1], direct=parts[2], kind=parts[3]))
    os.makedirs(args.out, exist_ok=True)
    phases = [("latency", 1, 1), ("throughput", args.threads, args.connections)]
    results = {}
    for name, threads, connections in phases:
        wrk_args = argparse.Namespace(threads=threads, connections=connections, lua=args.lua)
        samples = {label: [] for label in labels}
        log(f"{name}: wrk -t{threads} -c{connections} -d{args.duration}s --latency after a {args.warmup} s warm-up,"
            f" {args.rounds} rounds over {len(targets)} targets ({', '.join(labels)}), the order reversing every round")
        for rnd in range(args.rounds):
            order = targets if rnd % 2 == 0 else list(reversed(targets))
            for target in order:
                tag = f"{name}-{target['label']}-round{rnd + 1}"
                warm = 0
                if args.warmup > 0:
                    warm = run_wrk(wrk_args, target["url"], args.warmup, False,
                                   os.path.join(args.out, tag + ".warmup.txt"))["requests"]
                trees = {pname: process_tree(pid) for pname, pid in processes}
                before = {pname: process_cpu_seconds(pids) for pname, pids in trees.items()}
                busy0 = busy_cpu_seconds()
                started = time.perf_counter()
                d = run_wrk(wrk_args, target["url"], args.duration, True, os.path.join(args.out, tag + ".txt"))
                d["wall"] = time.perf_counter() - started
                d["cpu"] = {pname: process_cpu_seconds(pids) - before[pname] for pname, pids in trees.items()}
                busy1 = busy_cpu_seconds()
                d["others"] = None if busy0 is None or busy1 is None else max(
                    0.0, busy1 - busy0 - sum(d["cpu"].values()) - d["wrk_cpu"])
                d["warmup_requests"] = warm
                d["socket_errors"] = d["err_connect"] + d["err_read"] + d["err_write"] + d["err_timeout"]
                samples[target["label"]].append(d)
                cpu_text = ", ".join(f"{pname} {c:.1f}" for pname, c in d["cpu"].items())
                log(f"  round {rnd + 1} {target['label']:>12}: {d['rps']:,.1f} req/s, p50 {d['p50_us'] / 1000:.3f} ms,"
                    f" p99 {d['p99_us'] / 1000:.3f} ms, {d['requests']:,} requests, non-2xx/3xx {d['err_status']},"
                    f" socket errors {d['socket_errors']}; CPU s: {cpu_text}, wrk {d['wrk_cpu']:.1f},"
                    f" others {opt(d['others'])}")
        results[name] = samples

    # Per comparison and round: added p50 (latency) and ratio (throughput).
    for c in compares:
        lat, thr = results["latency"], results["throughput"]
        c["added_ms"] = [(p["p50_us"] - d["p50_us"]) / 1000 for p, d in zip(lat[c["proxied"]], lat[c["direct"]])]
        c["ratios"] = [p["rps"] / d["rps"] for p, d in zip(thr[c["proxied"]], thr[c["direct"]])]
        c["median_added_ms"] = statistics.median(c["added_ms"])
        c["median_ratio"] = statistics.median(c["ratios"])
        for key, phase, field, scale in (("proxied_p50_ms", "latency", "p50_us", 1000), ("direct_p50_ms", "latency", "p50_us", 1000),
                                         ("proxied_rps", "throughput", "rps", 1), ("direct_rps", "throughput", "rps", 1)):
            label = c["proxied"] if key.startswith("proxied") else c["direct"]
            c[key] = statistics.median(d[field] / scale for d in results[phase][label])

    def table(name, extra_header, extra):
        samples = results[name]
        rows = []
        for rnd in range(args.rounds):
            order = labels if rnd % 2 == 0 else list(reversed(labels))
            for label in order:
                d = samples[label][rnd]
                rows.append([rnd + 1, label, f"{d['rps']:,.1f}", f"{d['p50_us'] / 1000:.3f}", f"{d['p90_us'] / 1000:.3f}",
                             f"{d['p99_us'] / 1000:.3f}", f"{d['max_us'] / 1000:.3f}", f"{d['requests']:,}",
                             f"{d['err_status']}; {d['socket_errors']}", f"{d['bytes'] / max(1, d['requests']):,.0f}",
                             *[f"{d['cpu'][pname]:.1f}" for pname, _ in processes], f"{d['wrk_cpu']:.1f}",
                             opt(d["others"]), extra(label, rnd)])
        print_table(["round", "target", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "requests",
                     "errors (non-2xx/3xx; socket)", "bytes/response", *[f"{pname} CPU s" for pname, _ in processes],
                     "wrk CPU s", "others' CPU s", extra_header], rows)

    def compare_cell(key, fmt):
        def cell(label, rnd):
            return "; ".join(fmt(c[key][rnd]) + f" vs {c['direct']}" for c in compares if c["proxied"] == label)
        return cell

    def cpu_table(name):
        # Median over the rounds of each process's CPU per completed request, in microseconds.
        rows = []
        for label in labels:
            runs = results[name][label]
            per = {pname: statistics.median(d["cpu"][pname] / max(1, d["requests"]) * 1e6 for d in runs)
                   for pname, _ in processes}
            served = statistics.median(sum(d["cpu"].values()) / max(1, d["requests"]) * 1e6 for d in runs)
            wrk = statistics.median(d["wrk_cpu"] / max(1, d["requests"]) * 1e6 for d in runs)
            rows.append([label, f"{statistics.median(d['requests'] for d in runs):,.0f}",
                         *[f"{per[pname]:.1f}" for pname, _ in processes], f"{served:.1f}", f"{wrk:.1f}"])
        print_table(["target", "requests (median)", *[f"{pname} µs/req" for pname, _ in processes],
                     "servers' µs/req (sum)", "wrk µs/req"], rows)

    print()
    print("Targets:")
    for t in targets:
        print(f"  {t['label']:>12}  {t['url']}")
    print()
    print(f"Latency, one connection (wrk -t1 -c1 -d{args.duration}s --latency); added = proxied p50 - direct p50 of"
          f" the same round:")
    table("latency", "p50 added ms", compare_cell("added_ms", lambda a: f"{a:.3f}"))
    print()
    print(f"Throughput (wrk -t{args.threads} -c{args.connections} -d{args.duration}s --latency), wrk and every server"
          f" sharing the {cpus()} CPUs; ratio = proxied req/s / direct req/s of the same round:")
    table("throughput", "proxied / direct", compare_cell("ratios", lambda r: f"{r * 100:.1f}%"))
    print()
    print("CPU per completed request (each process's user+sys CPU s in the timed run / wrk's completed requests;"
          " median over the rounds), latency runs (1 connection):")
    cpu_table("latency")
    print()
    print(f"The same, throughput runs ({args.connections} connections):")
    cpu_table("throughput")
    all_runs = [d for s in results.values() for runs in s.values() for d in runs]
    errors = sum(d["err_status"] + d["socket_errors"] for d in all_runs)
    worst = max((d["others"] for d in all_runs if d["others"] is not None), default=None)
    if worst is not None:
        print(f"Other processes (not the servers listed or wrk) used at most {worst:.1f} CPU s in any {args.duration} s"
              f" timed run ({args.duration * cpus()} CPU s available): "
              f"{'the machine was quiet' if worst < 0.05 * args.duration * cpus() else 'NOISY: other work competed for the CPUs, re-run on a quiet machine'}.")
    summary = dict(compares=compares, errors=errors,
                   requests={name: {label: sum(d["requests"] for d in runs) for label, runs in s.items()}
                             for name, s in results.items()},
                   warmup_requests={name: {label: sum(d["warmup_requests"] for d in runs) for label, runs in s.items()}
                                    for name, s in results.items()},
                   connections={"latency": 1, "throughput": args.connections}, rounds=args.rounds,
                   warmup=args.warmup,
                   medians={label: dict(latency_p50_ms=statistics.median(d["p50_us"] / 1000 for d in results["latency"][label]),
                                        throughput_rps=statistics.median(d["rps"] for d in results["throughput"][label]))
                            for label in labels})
    print()
    print("Summary (medians over the rounds)")
    for label in labels:
        m = summary["medians"][label]
        print(f"  {label:>12}: 1 connection p50 {m['latency_p50_ms']:.3f} ms; {args.connections} connections"
              f" {m['throughput_rps']:,.1f} req/s")
    for c in compares:
        print(f"  {c['title']} ({c['proxied']} vs {c['direct']}): p50 added per round"
              f" {', '.join(f'{a:.3f}' for a in c['added_ms'])} ms, median {c['median_added_ms']:.3f} ms;"
              f" throughput ratio per round {', '.join(f'{r * 100:.1f}%' for r in c['ratios'])},"
              f" median {c['median_ratio'] * 100:.1f}% ({c['proxied_rps']:,.1f} vs {c['direct_rps']:,.1f} req/s)")
    print(f"  errors (non-2xx/3xx + socket) over all timed runs: {errors}")
    for c in compares:
        word = "Target" if c["kind"] == "target" else "Reference (not a target)"
        print(f"{word}, {c['title']}: <= 1 ms added at p50: {'MET' if c['median_added_ms'] <= 1 else 'MISSED'}"
              f" ({c['median_added_ms']:.3f} ms); throughput >= 70% of direct:"
              f" {'MET' if c['median_ratio'] >= 0.7 else 'MISSED'} ({c['median_ratio'] * 100:.1f}%)")
    with open(args.summary, "w") as f:
        json.dump(summary, f)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command_name", required=True)
    p = sub.add_parser("inprocess")
    p.add_argument("--out", required=True)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("command", nargs=argparse.REMAINDER)
    p.set_defaults(func=inprocess)
    p = sub.add_parser("http")
    p.add_argument("--base", required=True)
    p.add_argument("--template", default="customer")
    p.add_argument("--parameter", default="domain")
    p.add_argument("--values", required=True)
    p.add_argument("--cached", type=int, default=20)
    p.add_argument("--entity-kind", default="customer")
    p.add_argument("--search-wait", type=float, default=600)
    p.add_argument("--settle", type=float, default=2)
    p.add_argument("--ttl", type=float, default=300)
    p.add_argument("--expect", default="Ocean chart")
    p.add_argument("--server-pid", type=int)
    p.add_argument("--out", required=True)
    p.set_defaults(func=http_bench)
    p = sub.add_parser("template-summary")
    p.add_argument("json", nargs="+")
    p.set_defaults(func=template_summary)
    p = sub.add_parser("proxy")
    p.add_argument("--target", action="append", required=True, help="LABEL=URL, in the order of the first round")
    p.add_argument("--process", action="append", default=[], help="NAME=PID: a server whose CPU (with its children) is measured")
    p.add_argument("--compare", action="append", default=[], help="TITLE:PROXIED:DIRECT:target|reference")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--duration", type=int, default=20)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--lua", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--summary", required=True)
    p.set_defaults(func=proxy)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
