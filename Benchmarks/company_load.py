#!/usr/bin/env python3
"""A whole company on one portal (issue 17): helpers of readers.sh, mixed-load.sh and soak.sh.

Subcommands:
  prepare ...   write the readers (users.tsv), the morning's mix (plan.tsv) and the search queries
  verify ...    GET every URL of the plan once, as a reader allowed to see it: all must answer 200
  readers ...   one reader vs N distinct readers vs nginx (same bytes), per page, rounds alternating
  mixed ...     warm-up + timed wrk run of the mix (mixed-wrk.lua), portal RSS sampled to a CSV
  views ...     views in the state store (SQLite or PostgreSQL) vs the view-counting requests the portal(s) served

Everything is deterministic (SEED): the same readers, groups, URLs and weights on every run.
Timing helpers (wrk's CPU from wait4, other processes' CPU from /proc/stat, the table printer)
come from bench_helper.py next to this file.
"""
import argparse
import json
import os
import random
import re
import sqlite3
import statistics
import sys
import threading
import time
import urllib.parse
import urllib.request
import http.client

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_helper import busy_cpu_seconds, print_table, process_cpu_seconds, process_tree, run_timed  # noqa: E402


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---------------------------------------------------------------------------------------------
# prepare: readers, the mix, queries

# The SSO groups a reader arrives with, and how common each set is among people who are not in a
# catalog team's member list. Group names are the catalog's own: the teams' ids (the portal
# counts a reader in a group named like a team as a member of that team) and the `access:` lists
# (executives, finance, sales, support, customer-success, growth, product, data-platform; the
# last one is the catalog's admin group). Most people are in one or two of them.
GROUP_SETS = [
    ("sales", 16), ("support", 14), ("product", 11), ("reliability", 10), ("customer-success", 9),
    ("marketing", 8), ("growth", 5), ("growth,product", 5), ("sales,customer-success", 5),
    ("product,reliability", 5), ("support,customer-success", 4), ("marketing,growth", 3),
    ("finance", 2), ("finance,sales", 1), ("data-platform", 0.7), ("executives", 0.3),
]

FIRST_NAMES = """
ada aiden alex alice amara amir ana andrea anton aria ben bianca carlos chen chloe clara dana
daniel david diego elena eli emma erik eva felix fiona gabriel grace hana hannah henry ines isaac
ivan jack jade james jana jonas jose julia kai karin kenji laura leo lina lucas luis maja marco
maria mateo maya mia mila nadia nico nina noah nora olga omar oscar paula pedro quinn rafael
rosa ruth sam sara sofia tara theo tom uma victor vera wei yara yusuf zara zoe
""".split()
LAST_NAMES = """
abbott adams ahmed alvarez andersen baker bauer becker berg bianchi brown campbell carter chen
clark costa cruz davis diaz dubois evans fischer garcia gomez green hall hansen harris hill
hughes ito jensen johnson jones kaur khan kim king klein kowalski lambert larsen lee lewis lopez
martin meyer miller moore morales moreau murphy nagy nakamura nguyen novak olsen park patel
perez petrov pham quinn reed reyes richter rivera roberts rossi ruiz santos schmidt shah silva
smith sousa suzuki taylor thomas torres wagner walker wang weber white wilson wong young zhang
""".split()

# What people type into the search box on a morning at Larkspur: metrics by name and synonym,
# a typo, phrases, filters, teams, launches, and customers, cities, campaigns and apps.
SEARCH_QUERIES = [
    "churn", "mrr", "signups", "sign-ups", "retention", "retension", "revenue", "active users",
    '"daily active users"', "activation rate", "funnel", "referral", "twitter campaign", "ad spend",
    "cost per signup", "errors", "sync errors", "reliability", "mobile adoption", "timeline",
    "marketplace", "a/b test", "onboarding checklist", "pricing", "expansion", "board metrics",
    "sales pipeline", "renewals", "support load", "customer health", "kind:report growth",
    "team:finance", "owner:marketing revenue", "tag:revenue", "status:deprecated", "weekly",
    "stickiness", "arpa", "seats", "new york", "slack", "github", "Brand Search 2026",
    "invite nudge", "paid conversions", "net new mrr",
]
# Words typed into the box letter by letter (the suggestions follow every keystroke from the 2nd).
SUGGEST_TERMS = [
    "retention", "revenue", "signups", "churn", "mrr", "activation", "growth overview", "daily active",
    "twitter", "marketplace", "mobile", "errors", "pipeline", "pricing", "experiment", "new york", "slack",
    "onboarding", "referral", "finance", "support", "engagement",
]
# Reports everyone opens first thing, most popular first; the other active dashboards follow in
# catalog order, with a Zipf-like popularity over the whole list.
POPULAR_REPORTS = [
    "growth-overview", "daily-signups", "revenue-overview", "engagement-overview", "sales-pipeline",
    "support-load", "user-retention", "activation-funnel", "customer-success-portfolio", "sync-health",
]
POPULAR_METRICS = [
    "signups", "mrr", "daily_active_users", "monthly_active_users", "activation_rate", "churned_mrr",
    "paying_workspaces", "net_new_mrr", "errors", "stickiness",
]


def zipf(n, s):
    return [1.0 / (rank ** s) for rank in range(1, n + 1)]


def load_yaml_dir(folder):
    import yaml
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    docs = []
    for name in sorted(os.listdir(folder)):
        if name.endswith((".yaml", ".yml")):
            with open(os.path.join(folder, name)) as f:
                doc = yaml.load(f, Loader=loader)
            if isinstance(doc, dict):
                docs.append(doc)
    return docs


def popular_first(ids, popular):
    head = [i for i in popular if i in ids]
    return head + [i for i in ids if i not in head]


def prepare(args):
    rng = random.Random(args.seed)
    catalog = args.catalog
    teams = load_yaml_dir(os.path.join(catalog, "teams"))
    reports = load_yaml_dir(os.path.join(catalog, "reports"))
    metrics = load_yaml_dir(os.path.join(catalog, "metrics"))
    import yaml
    with open(os.path.join(catalog, "almanac.yaml")) as f:
        settings = yaml.safe_load(f) or {}
    admin_groups = (settings.get("settings") or {}).get("admin_groups") or []

    # --- readers: the catalog's team members with their team as their group, then generated people
    users, seen = [], set()
    members = []
    for team in teams:
        for member in team.get("members") or []:
            email = (member.get("email") or "").lower()
            if email and email not in seen:
                seen.add(email)
                members.append((email, team["id"]))
    # The "one reader" of readers.sh comes first: a team lead opening their team's page.
    members.sort(key=lambda m: (m[0] != args.first_reader, m[0]))
    users.extend(members)
    names = [f"{a}.{b}@{args.email_domain}" for a in FIRST_NAMES for b in LAST_NAMES]
    rng.shuffle(names)
    sets, weights = zip(*GROUP_SETS)
    for email in names:
        if len(users) >= args.readers:
            break
        if email in seen:
            continue
        seen.add(email)
        users.append((email, rng.choices(sets, weights)[0]))
    if len(users) < args.readers:
        sys.exit(f"only {len(users)} distinct reader names could be made (asked for {args.readers})")
    with open(os.path.join(args.out, "users.tsv"), "w") as f:
        for email, groups in users:
            f.write(f"{email}\t{groups}\n")

    # --- the URLs of the morning
    def access(doc):
        return ",".join(doc.get("access") or []) or "-"

    dashboards = [r for r in reports if (r.get("kind") or "dashboard") == "dashboard" and r.get("status") == "active"]
    by_id = {r["id"]: r for r in dashboards}
    report_ids = popular_first([r["id"] for r in dashboards], POPULAR_REPORTS)
    metric_ids = popular_first(
        [m["id"] for m in metrics if (m.get("status") or "active") == "active" and not m.get("access")],
        POPULAR_METRICS)
    team_ids = [t["id"] for t in teams if not t.get("access")]
    tags = {}
    for doc in reports + metrics:
        if doc.get("access") or doc.get("status") in ("retired",):
            continue
        for tag in doc.get("tags") or []:
            tags[tag] = tags.get(tag, 0) + 1
    tag_ids = sorted(tags, key=lambda t: (-tags[t], t))[:12]

    uri = "file:" + urllib.parse.quote(os.path.abspath(args.warehouse)) + "?mode=ro"
    db = sqlite3.connect(uri, uri=True)
    # Customers most looked at: the major accounts, then mid-market, then small ones, biggest first.
    domains = [row[0] for row in db.execute(
        "SELECT domain FROM workspaces ORDER BY CASE tier WHEN 'major' THEN 0 WHEN 'mid' THEN 1 ELSE 2 END,"
        " seats DESC, workspace_id LIMIT ?", (args.domains,))]
    top_names = [row[0] for row in db.execute(
        "SELECT name FROM workspaces WHERE tier = 'major' ORDER BY seats DESC, workspace_id LIMIT 8")]
    db.close()
    if len(domains) < args.domains:
        sys.exit(f"the warehouse has only {len(domains)} workspaces (asked for {args.domains} domains)")

    q = lambda text: urllib.parse.quote(text, safe="")  # noqa: E731
    queries = SEARCH_QUERIES + [n.split()[0].lower() for n in top_names]
    prefixes = []
    for term in SUGGEST_TERMS + [n.lower() for n in top_names[:4]]:
        prefixes += [term[:i] for i in range(2, len(term) + 1) if not term[:i].endswith(" ")]

    plan = {}  # class -> list of (weight, view flag, access, path)

    def add(cls, paths, total, views=False, s=None, access_of=None):
        ws = zipf(len(paths), s) if s else [1.0] * len(paths)
        norm = total / sum(ws)
        for p, w in zip(paths, ws):
            acc = access_of(p) if access_of else "-"
            plan.setdefault(cls, []).append((w * norm, "v" if views else "n", acc, p))

    report_access = lambda path: access(by_id[re.search(r"/reports/([^/?]+)", path).group(1)])  # noqa: E731
    add("search", [f"/search?q={q(t)}" for t in queries], 1.0, s=0.8)
    add("suggest", [f"/api/suggest?q={q(p)}" for p in prefixes], 1.0)
    add("report", [f"/reports/{i}" for i in report_ids], 1.0, views=True, s=1.0, access_of=report_access)
    add("api", [f"/api/reports/{i}" for i in report_ids], 0.40, views=True, s=1.0, access_of=report_access)
    add("api", ["/api/home"], 0.15)
    add("api", ["/api/glossary"], 0.10)
    add("api", [f"/api/glossary/{m}" for m in metric_ids], 0.10, views=True, s=1.0)
    add("api", ["/api/reports"], 0.08)
    add("api", ["/api/teams"], 0.05)
    add("api", [f"/api/search?q={q(t)}&limit=10" for t in queries[:20]], 0.07, s=0.8)
    add("api", [f"/api/reports/{i}/data" for i in report_ids[:5]], 0.05, s=1.0, access_of=report_access)
    add("customer", [f"/templates/customer?domain={q(d)}" for d in domains], 1.0, views=True, s=args.zipf_s)
    add("home", ["/"], 1.0)
    add("browse", ["/browse"], 0.10)
    add("browse", ["/browse?kind=report", "/browse?kind=metric", "/browse?kind=template"], 0.18)
    add("browse", [f"/browse?team={t}" for t in team_ids], 0.12)
    add("browse", [f"/browse?tag={q(t)}" for t in tag_ids], 0.10, s=0.8)
    add("browse", ["/glossary"], 0.15)
    add("browse", [f"/glossary/{m}" for m in metric_ids], 0.20, views=True, s=1.0)
    add("browse", ["/teams"], 0.05)
    add("browse", [f"/teams/{t}" for t in team_ids], 0.10)

    shares = {}
    for part in args.mix.split(","):
        name, value = part.split("=")
        shares[name.strip()] = float(value)
    unknown = set(shares) - set(plan)
    if unknown:
        sys.exit(f"--mix names unknown classes: {', '.join(sorted(unknown))} (known: {', '.join(plan)})")
    with open(os.path.join(args.out, "plan.tsv"), "w") as f:
        f.write("# class\tNAME\tSHARE  |  url\tCLASS\tWEIGHT\tv=counts a view|n\tACCESS (groups, or -)\tPATH\n")
        for cls, share in shares.items():
            f.write(f"class\t{cls}\t{share}\n")
        for cls, urls in plan.items():
            if cls not in shares:
                continue
            for w, flag, acc, path in urls:
                f.write(f"url\t{cls}\t{w:.8f}\t{flag}\t{acc}\t{path}\n")
    with open(os.path.join(args.out, "search-queries.txt"), "w") as f:
        f.write("\n".join(queries) + "\n")

    total_share = sum(shares.values())
    counts = {}
    for _, groups in users:
        counts[groups] = counts.get(groups, 0) + 1
    log(f"readers: {len(users):,} distinct ({len(members)} from the catalog's member lists, the rest generated);"
        f" first (the one reader): {users[0][0]} [{users[0][1]}]; admins (groups {', '.join(admin_groups)}):"
        f" {sum(1 for _, g in users if set(g.split(',')) & set(admin_groups))}")
    log("group sets: " + ", ".join(f"{g} {n}" for g, n in sorted(counts.items(), key=lambda kv: -kv[1])))
    log(f"mix ({total_share:g} in all): " + ", ".join(
        f"{c} {shares[c] / total_share * 100:.0f}% ({len(plan[c])} URLs)" for c in shares))
    log(f"customers: {len(domains)} domains, Zipf s={args.zipf_s} by popularity rank (top: {', '.join(domains[:3])});"
        f" reports: {len(report_ids)} active dashboards (top: {', '.join(report_ids[:3])}); {len(queries)} queries,"
        f" {len(prefixes)} suggestion prefixes, {len(metric_ids)} metrics, {len(team_ids)} teams, {len(tag_ids)} tags")


# ---------------------------------------------------------------------------------------------
# verify: every URL once


def read_users(path):
    users = []
    with open(path) as f:
        for line in f:
            email, groups = line.rstrip("\n").split("\t")
            users.append((email, groups))
    return users


def read_plan(path):
    classes, urls = {}, []
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            parts = line.rstrip("\n").split("\t")
            if parts[0] == "class":
                classes[parts[1]] = float(parts[2])
            else:
                urls.append(dict(cls=parts[1], weight=float(parts[2]), views=parts[3] == "v", access=parts[4],
                                 path=parts[5]))
    return classes, urls


def allowed(groups, access, admin_groups):
    mine = set(groups.split(",")) if groups else set()
    return access == "-" or bool(mine & set(access.split(","))) or bool(mine & admin_groups)


class Client:
    """One keep-alive HTTP/1.1 connection; reconnects when the server closes it."""

    def __init__(self, base):
        parsed = urllib.parse.urlsplit(base)
        self.host, self.port = parsed.hostname, parsed.port
        self.conn = None

    def get(self, path, headers):
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
            try:
                self.conn.request("GET", path, headers=headers)
                response = self.conn.getresponse()
                body = response.read()
                return response.status, body
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise RuntimeError("unreachable")


def verify(args):
    classes, urls = read_plan(args.plan)
    users = read_users(args.users)
    admin_groups = set(args.admin_groups.split(","))
    # A typical reader (the first generated one not in an admin group) unless the URL is restricted.
    typical = next(u for u in users[1:] if not set(u[1].split(",")) & admin_groups)
    client = Client(args.base)
    by_class = {}
    for u in urls:
        by_class.setdefault(u["cls"], []).append(u)
    failures, views, done = [], 0, 0
    started = time.perf_counter()
    for cls, members in by_class.items():
        chosen = members
        if args.sample.get(cls) and len(members) > args.sample[cls]:
            k = args.sample[cls]
            step = (len(members) - 1) / (k - 1)
            chosen = [members[round(i * step)] for i in range(k)]
        statuses = {}
        for u in chosen:
            user = typical if allowed(typical[1], u["access"], set()) else next(
                x for x in users if allowed(x[1], u["access"], set()))
            headers = {args.user_header: user[0], args.groups_header: user[1], "User-Agent": args.user_agent}
            status, body = client.get(u["path"], headers)
            statuses[status] = statuses.get(status, 0) + 1
            done += 1
            if status != 200:
                failures.append(f"{status} {u['path']} as {user[0]} [{user[1]}]: {body[:160]!r}")
            elif u["views"]:
                views += 1
        note = f" (a sample of {len(chosen)} of {len(members)}, spread over the popularity ranks)" \
            if len(chosen) < len(members) else ""
        log(f"  {cls:>8}: {len(chosen)} URLs{note}: " + ", ".join(f"{n} x {s}" for s, n in sorted(statuses.items())))
    log(f"verified {done} URLs in {time.perf_counter() - started:.1f} s; {views} of them count a view")
    with open(args.probes_out, "w") as f:
        f.write(f"{views}\n")
    if failures:
        for line in failures[:20]:
            print("    " + line)
        sys.exit(f"{len(failures)} URLs did not answer 200")


# ---------------------------------------------------------------------------------------------
# wrk runs


def parse_wrkjson(output):
    lines = [l for l in output.splitlines() if l.startswith("WRKJSON ")]
    if not lines:
        print(output[-3000:])
        sys.exit("wrk printed no WRKJSON line")
    return json.loads(lines[-1][len("WRKJSON "):])


def wrk(args, url, seconds, env_extra, out_path, latency=True):
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s", f"--timeout", f"{args.timeout}s",
               "-s", args.lua]
    if latency:
        command.append("--latency")
    command.append(url)
    env = dict(os.environ, WRK_THREADS=str(args.threads), **env_extra)
    wall, cpu, code, output = run_timed(command, env=env)
    with open(out_path, "w") as f:
        f.write(" ".join(command) + "\n" + " ".join(f"{k}={v}" for k, v in env_extra.items()) + "\n" + output)
    if code != 0:
        print(output[-3000:])
        sys.exit(f"wrk exited {code} (command: {' '.join(command)})")
    data = parse_wrkjson(output)
    data.update(wrk_cpu=cpu, wall=wall)
    return data


def socket_errors(d):
    return d["err_connect"] + d["err_read"] + d["err_write"] + d["err_timeout"]


def ms(us):
    return f"{us / 1000:.2f}"


def readers(args):
    targets = []  # (label, pid, base URL, which paths file, readers)
    targets.append(("1 reader", args.portal_pid, args.portal, 0, 1))
    targets.append((f"{args.many:,} readers", args.portal_pid, args.portal, 0, args.many))
    targets.append(("nginx", args.nginx_pid, args.nginx, 1, args.many))
    one, many, base = (t[0] for t in targets)
    os.makedirs(args.out, exist_ok=True)
    summary = {}
    for spec in args.page:
        name, portal_paths, nginx_paths = spec.split("|")
        paths = (portal_paths, nginx_paths)
        with open(portal_paths) as f:
            npaths = sum(1 for line in f if line.strip())
        samples = {t[0]: [] for t in targets}
        log(f"{name}: {args.rounds} round(s) of (warm-up {args.warmup} s, then {args.duration} s) per target, "
            f"targets alternating; {npaths} path(s) rotating")
        for rnd in range(args.rounds):
            order = list(range(len(targets)))
            if rnd % 2 == 1:
                order.reverse()
            for i in order:
                label, pid, url, which, nreaders = targets[i]
                env = dict(PATHS=paths[which], READERS_FILE=args.users, READERS=str(nreaders),
                           USER_HEADER=args.user_header, GROUPS_HEADER=args.groups_header,
                           USER_AGENT=args.user_agent, SEED=str(args.seed + rnd))
                tag = re.sub(r"[^A-Za-z0-9.-]+", "_", f"{name}-{label}-round{rnd + 1}")
                if args.warmup > 0:
                    wrk(args, url, args.warmup, env, os.path.join(args.out, tag + ".warmup.txt"), latency=False)
                pids = process_tree(pid)
                cpu_before, busy_before = process_cpu_seconds(pids), busy_cpu_seconds()
                d = wrk(args, url, args.duration, env, os.path.join(args.out, tag + ".txt"))
                d["server_cpu"] = process_cpu_seconds(pids) - cpu_before
                busy_after = busy_cpu_seconds()
                d["others"] = None if busy_before is None or busy_after is None else \
                    max(0.0, busy_after - busy_before - d["server_cpu"] - d["wrk_cpu"])
                samples[label].append(d)
                others = "?" if d["others"] is None else f"{d['others']:.1f}"
                log(f"  round {rnd + 1} {label:>15}: {d['rps']:,.0f} req/s, p50 {ms(d['p50_us'])} p99 {ms(d['p99_us'])}"
                    f" p99.9 {ms(d['p999_us'])} ms, {d['requests']:,} requests, status > 399: {d['err_status']},"
                    f" socket errors {socket_errors(d)}; server CPU {d['server_cpu']:.1f} s, wrk CPU"
                    f" {d['wrk_cpu']:.1f} s, others {others} s")
        rows = []
        med = lambda label, key: statistics.median(d[key] for d in samples[label])  # noqa: E731
        for rnd in range(args.rounds):
            for label, *_ in targets:
                d = samples[label][rnd]
                rows.append([rnd + 1, label, f"{d['rps']:,.0f}", ms(d["p50_us"]), ms(d["p99_us"]), ms(d["p999_us"]),
                             ms(d["max_us"]), f"{d['requests']:,}", f"{d['err_status']}; {socket_errors(d)}",
                             f"{d['bytes'] / max(1, d['requests']):,.0f}", f"{d['server_cpu']:.1f}",
                             f"{d['wrk_cpu']:.1f}", "?" if d["others"] is None else f"{d['others']:.1f}"])
        if args.rounds > 1:
            for label, *_ in targets:
                runs = samples[label]
                rows.append(["median", label, f"{med(label, 'rps'):,.0f}", ms(med(label, "p50_us")),
                             ms(med(label, "p99_us")), ms(med(label, "p999_us")), ms(med(label, "max_us")),
                             f"{statistics.median(d['requests'] for d in runs):,.0f}",
                             f"{sum(d['err_status'] for d in runs)}; {sum(socket_errors(d) for d in runs)} (sum)",
                             f"{statistics.median(d['bytes'] / max(1, d['requests']) for d in runs):,.0f}",
                             f"{med(label, 'server_cpu'):.1f}", f"{med(label, 'wrk_cpu'):.1f}",
                             "?" if any(d["others"] is None for d in runs) else f"{med(label, 'others'):.1f}"])
        print()
        print(f"{name}: wrk -t{args.threads} -c{args.connections} -d{args.duration}s, wrk and the servers sharing the"
              f" {os.cpu_count()} CPUs; latency percentiles from wrk's histogram")
        print_table(["round", "target", "req/s", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "requests",
                     "errors (non-2xx/3xx; socket)", "bytes/response", "server CPU s", "wrk CPU s",
                     "others' CPU s"], rows)
        ratio = lambda a, b: statistics.median(x["rps"] / y["rps"] for x, y in zip(samples[a], samples[b]))  # noqa: E731
        r_many_nginx, r_many_one, r_one_nginx = ratio(many, base), ratio(many, one), ratio(one, base)
        print(f"ratios of req/s (median of the per-round ratios): {many} vs nginx {r_many_nginx * 100:.1f}%,"
              f" {many} vs 1 reader {r_many_one * 100:.1f}%, 1 reader vs nginx {r_one_nginx * 100:.1f}%;"
              f" p99 {many} / 1 reader {med(many, 'p99_us') / max(1, med(one, 'p99_us')):.2f}x,"
              f" p99.9 {med(many, 'p999_us') / max(1, med(one, 'p999_us')):.2f}x")
        summary[name] = dict(
            many_vs_nginx=r_many_nginx, many_vs_one=r_many_one, one_vs_nginx=r_one_nginx,
            **{label: dict(rps=med(label, "rps"), p50_ms=med(label, "p50_us") / 1000,
                           p99_ms=med(label, "p99_us") / 1000, p999_ms=med(label, "p999_us") / 1000,
                           errors=sum(d["err_status"] + socket_errors(d) for d in samples[label]))
               for label, *_ in targets})
        others = [d["others"] for runs in samples.values() for d in runs if d["others"] is not None]
        if others:
            worst = max(others)
            quiet = worst < 0.05 * args.duration * (os.cpu_count() or 1)
            print(f"Other processes used at most {worst:.1f} CPU s in any {args.duration} s timed run"
                  f" ({args.duration * (os.cpu_count() or 1)} CPU s available): "
                  f"{'the machine was quiet' if quiet else 'NOISY: other work competed for the CPUs'}.")
    print()
    print(f"Summary (medians over {args.rounds} round(s)):")
    rows = []
    for name, s in summary.items():
        rows.append([name, f"{s[one]['rps']:,.0f}", f"{s[many]['rps']:,.0f}", f"{s[base]['rps']:,.0f}",
                     f"{s[one]['p50_ms']:.2f} / {s[one]['p99_ms']:.2f} / {s[one]['p999_ms']:.2f}",
                     f"{s[many]['p50_ms']:.2f} / {s[many]['p99_ms']:.2f} / {s[many]['p999_ms']:.2f}",
                     f"{s[base]['p50_ms']:.2f} / {s[base]['p99_ms']:.2f} / {s[base]['p999_ms']:.2f}",
                     f"{s['many_vs_nginx'] * 100:.1f}%", f"{s['many_vs_one'] * 100:.1f}%",
                     f"{s[one]['errors']}; {s[many]['errors']}; {s[base]['errors']}"])
    print_table(["page", f"{one} req/s", f"{many} req/s", "nginx req/s", f"{one} p50/p99/p99.9 ms",
                 f"{many} p50/p99/p99.9 ms", "nginx p50/p99/p99.9 ms", f"{many} vs nginx", f"{many} vs 1 reader",
                 "errors (1; many; nginx)"], rows)
    with open(args.summary, "w") as f:
        json.dump(summary, f, indent=1)


class RSSSampler(threading.Thread):
    """VmRSS of one process every `every` seconds: (time.monotonic(), phase, kB) samples; and,
    when the portal's /metrics URL is given, the bytes its bounded caches hold at that moment
    (almanac_cache_bytes, all caches, in kB) in `caches`, one per sample (None when unread)."""

    def __init__(self, pid, every, metrics_url=None):
        super().__init__(daemon=True)
        self.pid, self.every, self.metrics_url = pid, every, metrics_url
        self.phase = "warm-up"
        self.samples = []
        self.caches = []
        self.stop = threading.Event()

    def sample(self):
        rss = self.read()
        if rss is not None:
            self.samples.append((time.monotonic(), self.phase, rss))
            self.caches.append(self.cache_kb())

    def cache_kb(self):
        if not self.metrics_url:
            return None
        text = fetch_text(self.metrics_url)
        if not text:
            return None
        total = 0.0
        for line in text.splitlines():
            m = SAMPLE_RE.match(line.strip())
            if m and m.group(1) == "almanac_cache_bytes":
                total += float(m.group(3))
        return total / 1024

    def read(self):
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            return None
        return None

    def run(self):
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(self.every)


def mixed(args):
    os.makedirs(args.out, exist_ok=True)
    classes, urls = read_plan(args.plan)
    env = dict(MIX_PLAN=args.plan, MIX_USERS=args.users, USER_HEADER=args.user_header,
               GROUPS_HEADER=args.groups_header, USER_AGENT=args.user_agent, ADMIN_GROUPS=args.admin_groups,
               SEED=str(args.seed))
    sampler = RSSSampler(args.pid, args.rss_every, args.url.rstrip("/") + "/metrics")
    sampler.start()
    runs = []
    if args.warmup > 0:
        log(f"warm-up: {args.warmup} s of the same mix (not in the figures below; RSS sampled)")
        warm = wrk(args, args.url, args.warmup, env, os.path.join(args.out, "warmup.txt"), latency=False)
        warm["phase"] = "warm-up"
        runs.append(warm)
        log(f"  warm-up: {warm['rps']:,.0f} req/s, {warm['requests']:,} requests, non-2xx {warm['non2xx']},"
            f" socket errors {socket_errors(warm)}")
    pids = process_tree(args.pid)
    cpu_before, busy_before = process_cpu_seconds(pids), busy_cpu_seconds()
    metrics_before = fetch_text(args.url.rstrip("/") + "/metrics")
    zero, sampler.phase = time.monotonic(), "timed"
    sampler.sample()  # one sample right at the start of the timed run
    log(f"timed run: {args.duration} s, wrk -t{args.threads} -c{args.connections} (RSS every {args.rss_every:g} s)")
    d = wrk(args, args.url, args.duration, env, os.path.join(args.out, "timed.txt"))
    d["phase"] = "timed"
    d["server_cpu"] = process_cpu_seconds(pids) - cpu_before
    busy_after = busy_cpu_seconds()
    d["others"] = None if busy_before is None or busy_after is None else \
        max(0.0, busy_after - busy_before - d["server_cpu"] - d["wrk_cpu"])
    runs.append(d)
    sampler.sample()  # and one at its end
    metrics_after = fetch_text(args.url.rstrip("/") + "/metrics")
    sampler.phase = "after"
    time.sleep(min(args.rss_every, 2.0) + 0.1)
    sampler.stop.set()
    sampler.join()
    samples = [(m - zero, phase, rss) for m, phase, rss in sampler.samples]  # seconds since the timed start
    caches = sampler.caches
    with open(args.rss_csv, "w") as f:
        f.write("seconds_since_timed_start,phase,rss_kb,caches_kb\n")
        for (t, phase, rss), cache in zip(samples, caches):
            f.write(f"{t:.1f},{phase},{rss},{'' if cache is None else f'{cache:.0f}'}\n")

    # --- throughput and latency
    print()
    print(f"Mixed load, {args.duration} s timed (after a {args.warmup} s warm-up), wrk -t{args.threads}"
          f" -c{args.connections} --timeout {args.timeout}s, {len(read_users(args.users)):,} distinct readers,"
          f" wrk and the portal sharing the {os.cpu_count()} CPUs")
    print(f"  throughput: {d['rps']:,.1f} req/s ({d['requests']:,} requests, {d['bytes'] / max(1, d['requests']):,.0f}"
          f" bytes/response, {d['bytes'] / d['duration_us']:,.1f} MB/s)")
    print(f"  latency (all classes): p50 {ms(d['p50_us'])} ms, p90 {ms(d['p90_us'])} ms, p99 {ms(d['p99_us'])} ms,"
          f" p99.9 {ms(d['p999_us'])} ms, max {ms(d['max_us'])} ms, mean {d['mean_us'] / 1000:.2f} ms")
    non2xx = d["non2xx"] if d["counted"] else "? (COUNT_RESPONSES=0)"
    print(f"  errors: non-2xx {non2xx} (wrk's own count of status > 399: {d['err_status']}); socket errors"
          f" {socket_errors(d)} (connect {d['err_connect']}, read {d['err_read']}, write {d['err_write']},"
          f" timeout {d['err_timeout']})")
    others = "?" if d["others"] is None else f"{d['others']:.1f}"
    print(f"  CPU s in the timed run: portal {d['server_cpu']:.1f}, wrk {d['wrk_cpu']:.1f}, other processes {others}"
          f" of {d['wall'] * (os.cpu_count() or 1):.0f} available")
    total_share = sum(classes.values())
    rows = []
    completed_all = sum(c["done"] for c in d["classes"].values()) or 1
    for cls, share in classes.items():
        c = d["classes"].get(cls, dict(sent=0, done=0, s2=0, s3=0, s4=0, s5=0, views=0))
        if d["counted"]:
            rows.append([cls, f"{share / total_share * 100:.1f}%", f"{c['sent']:,}", f"{c['done']:,}",
                         f"{c['done'] / completed_all * 100:.1f}%", f"{c['s2']:,}", f"{c['s3']}; {c['s4']}; {c['s5']}",
                         f"{c['views']:,}", f"{c['done'] / (d['duration_us'] / 1e6):,.0f}"])
        else:
            rows.append([cls, f"{share / total_share * 100:.1f}%", f"{c['sent']:,}"] + ["-"] * 6)
    print()
    if not d["counted"]:
        print("Per class (COUNT_RESPONSES=0: wrk's response() hook was off, so only the requests sent are known):")
    else:
        print("Per class (sent = requests wrk wrote; completed = responses read, matched to their class by the"
              " X-Request-ID the portal echoes; view 2xx = 2xx on routes that count a view):")
    print_table(["class", "planned", "sent", "completed", "share of completed", "2xx", "3xx; 4xx; 5xx",
                 "view 2xx", "req/s"], rows)
    if d.get("unmatched"):
        print(f"  responses without a recognisable X-Request-ID: {d['unmatched']}")
    print_route_latency(metrics_before, metrics_after)

    # --- RSS
    timed = sorted((t, rss) for t, phase, rss in samples if phase == "timed")
    before = [rss for t, phase, rss in samples if phase == "warm-up"]
    result = dict(runs=runs, rss_samples=len(samples))
    print()
    if timed:
        mb = lambda kb: kb / 1024  # noqa: E731
        rss_values = [r for _, r in timed]
        first_sample = before[0] if before else rss_values[0]
        print(f"Portal RSS (VmRSS every {args.rss_every:g} s, {len(sampler.samples)} samples in {args.rss_csv}):"
              f" at the start of the warm-up {mb(first_sample):,.1f} MB; timed run min {mb(min(rss_values)):,.1f} MB,"
              f" max {mb(max(rss_values)):,.1f} MB, last {mb(rss_values[-1]):,.1f} MB")
        window = round(args.rss_window or min(60.0, args.duration / 3), 1)
        # The reference is the warm-up's last window when the warm-up is long enough to hold it
        # twice: the timed run is a new wrk with new connections, and when the warm-up's wrk stops
        # the portal gives back 90-200 MB (695 -> 603 MB after a 16-minute warm-up), so the timed
        # run's first window is a low point that the new load fills again, not the load's level.
        # Otherwise (a short warm-up) it is the timed run's first window.
        warm = sorted((t, rss) for t, phase, rss in samples if phase == "warm-up")
        from_warmup = args.warmup >= 2 * window and any(t >= -window for t, _ in warm)
        where = f"the warm-up's last {window:g} s" if from_warmup else f"the first {window:g} s of the timed run"

        def reference(points):
            if from_warmup:
                return [r for t, r in points if t < 0 and t >= -window]
            return [r for t, r in points if 0 <= t < window] or [points[0][1]]

        every = sorted((t, rss) for t, phase, rss in samples if phase in ("warm-up", "timed"))
        first = [r for t, r in timed if t < window] or [timed[0][1]]
        base = reference(every)
        last = [r for t, r in timed if t >= args.duration - window] or [timed[-1][1]]
        f_med, b_med, l_med = statistics.median(first), statistics.median(base), statistics.median(last)
        growth = (l_med - b_med) / b_med * 100
        if from_warmup:
            print(f"  the warm-up's last {window:g} s: median {mb(b_med):,.1f} MB (max {mb(max(base)):,.1f},"
                  f" {len(base)} samples); the timed run's first {window:g} s, after wrk opened new connections:"
                  f" median {mb(f_med):,.1f} MB; its last {window:g} s: median {mb(l_med):,.1f} MB"
                  f" (max {mb(max(last)):,.1f}, {len(last)} samples); growth from the warm-up's end {growth:+.1f}%"
                  f" (from the timed run's first {window:g} s {(l_med - f_med) / f_med * 100:+.1f}%)")
        else:
            print(f"  first {window:g} s of the timed run (after the warm-up): median {mb(f_med):,.1f} MB"
                  f" (max {mb(max(first)):,.1f}, {len(first)} samples); last {window:g} s: median {mb(l_med):,.1f} MB"
                  f" (max {mb(max(last)):,.1f}, {len(last)} samples); growth {growth:+.1f}%")
        result.update(rss_first_mb=mb(b_med), rss_last_mb=mb(l_med), rss_growth_pct=growth, rss_window=window,
                      rss_reference=where, rss_timed_first_mb=mb(f_med))
        # The same without the bytes the bounded caches hold (they fill up to their stated bound:
        # growth there is the cache warming, not a leak).
        outside_all = sorted((t, rss - cache) for (t, phase, rss), cache in zip(samples, caches)
                             if phase in ("warm-up", "timed") and cache is not None)
        outside = [(t, r) for t, r in outside_all if t >= 0]
        if outside and (not from_warmup or any(-window <= t < 0 for t, _ in outside_all)):
            o_first = reference(outside_all)
            o_last = [r for t, r in outside if t >= args.duration - window] or [outside[-1][1]]
            of_med, ol_med = statistics.median(o_first), statistics.median(o_last)
            o_growth = (ol_med - of_med) / of_med * 100
            cache_points = sorted((t, c) for (t, phase, _), c in zip(samples, caches)
                                  if phase in ("warm-up", "timed") and c is not None)
            c_first = statistics.median(reference(cache_points) or [0])
            c_last = statistics.median([c for t, c in cache_points if t >= args.duration - window] or [0])
            print(f"  the caches' bytes (almanac_cache_bytes, within their bounds): median {mb(c_first):,.1f} MB in"
                  f" {where}, {mb(c_last):,.1f} MB in the timed run's last {window:g} s; RSS outside them: median"
                  f" {mb(of_med):,.1f} MB -> {mb(ol_med):,.1f} MB, growth {o_growth:+.1f}%")
            result.update(outside_first_mb=mb(of_med), outside_last_mb=mb(ol_med), outside_growth_pct=o_growth,
                          caches_first_mb=mb(c_first), caches_last_mb=mb(c_last))
        # a coarse profile over time: ten points
        points = timed[::max(1, len(timed) // 10)]
        if points[-1] != timed[-1]:
            points.append(timed[-1])
        print("  over time (s since the timed start: MB): " + ", ".join(f"{t:.0f}: {mb(r):,.0f}" for t, r in points))
    with open(args.summary, "w") as f:
        json.dump(result, f, indent=1)


# ---------------------------------------------------------------------------------------------
# views: the state store against what the portal served

VIEW_ROUTES = ["/reports/{id}", "/api/reports/{id}", "/templates/{id}", "/api/templates/{id}", "/glossary/{id}",
               "/api/glossary/{id}"]
SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+([-+0-9.eEInfa]+)(?:\s+\d+)?$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def served_from_metrics(text):
    """(total, per route) of 2xx GETs on the view-counting routes, from the Prometheus text of
    /metrics; None when the family http_server_requests_total is not there."""
    found, total, per_route = False, 0, {}
    for line in text.splitlines():
        m = SAMPLE_RE.match(line.strip())
        if not m or m.group(1) != "http_server_requests_total":
            continue
        found = True
        labels = dict(LABEL_RE.findall(m.group(2) or ""))
        route = re.sub(r":([A-Za-z_]+)", r"{\1}", labels.get("http_route", ""))
        if route in VIEW_ROUTES and labels.get("http_request_method") == "GET" \
                and labels.get("http_response_status_code", "").startswith("2"):
            n = int(float(m.group(3)))
            total += n
            per_route[route] = per_route.get(route, 0) + n
    return (total, per_route) if found else None


def portal_counters(text):
    """The portal's own view and cache figures from /metrics, when it has them: lines to print."""
    values = {}
    for line in text.splitlines():
        m = SAMPLE_RE.match(line.strip())
        if not m or not m.group(1).startswith(("almanac_views_", "almanac_cache_")):
            continue
        labels = dict(LABEL_RE.findall(m.group(2) or ""))
        key = (m.group(1), labels.get("cache", ""), labels.get("result", ""))
        values[key] = values.get(key, 0) + float(m.group(3))
    lines = []
    views = [f"{name[len('almanac_views_'):]} {v:,.0f}" for (name, _, _), v in sorted(values.items())
             if name.startswith("almanac_views_")]
    if views:
        lines.append("the portal's view counters (/metrics): " + ", ".join(views))
    for cache in sorted({c for (name, c, _) in values if name.startswith("almanac_cache_") and c}):
        hits = values.get(("almanac_cache_requests_total", cache, "hit"), 0)
        stale = values.get(("almanac_cache_requests_total", cache, "stale"), 0)
        misses = values.get(("almanac_cache_requests_total", cache, "miss"), 0)
        mib = values.get(("almanac_cache_bytes", cache, ""), 0) / 2 ** 20
        cap = values.get(("almanac_cache_capacity_bytes", cache, ""), 0) / 2 ** 20
        lines.append(f"cache {cache}: {hits:,.0f} hits, {stale:,.0f} served out of date (figures moved since the render),"
                     f" {misses:,.0f} misses ({(hits + stale) / max(1, hits + stale + misses) * 100:.1f}% answered"
                     f" without waiting for a render), {values.get(('almanac_cache_entries', cache, ''), 0):,.0f}"
                     f" entries, {mib:,.1f} of {cap:,.1f} MiB, {values.get(('almanac_cache_evictions_total', cache, ''), 0):,.0f}"
                     f" evictions")
    return lines


def fetch_text(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.read().decode("utf-8", "replace")
    except OSError:
        return ""


def route_histograms(text):
    """{route: {le: cumulative count}} of http_server_request_duration_seconds over all methods and
    statuses, from the Prometheus text of /metrics."""
    out = {}
    for line in text.splitlines():
        m = SAMPLE_RE.match(line.strip())
        if not m or m.group(1) != "http_server_request_duration_seconds_bucket":
            continue
        labels = dict(LABEL_RE.findall(m.group(2) or ""))
        le = float(labels.get("le", "inf").replace("+Inf", "inf"))
        buckets = out.setdefault(labels.get("http_route", "?"), {})
        buckets[le] = buckets.get(le, 0) + float(m.group(3))
    return out


def print_route_latency(before, after):
    """Per route, the server's own latency over the timed run (the histograms' difference): the
    bucket bound under which 50%, 99% and 99.9% of the requests finished."""
    a, b = route_histograms(after), route_histograms(before)
    rows = []
    for route, buckets in a.items():
        delta = sorted((le, n - b.get(route, {}).get(le, 0)) for le, n in buckets.items())
        count = delta[-1][1] if delta else 0
        if count <= 0:
            continue

        def bound(q):
            le = next(le for le, n in delta if n >= q * count)
            return "> " + fmt_seconds(delta[-2][0]) if le == float("inf") else "<= " + fmt_seconds(le)
        rows.append((count, [route, f"{count:,.0f}", bound(0.5), bound(0.99), bound(0.999)]))
    if rows:
        print()
        print("Server-side latency per route in the timed run (the portal's http_server_request_duration_seconds"
              " histogram, /metrics before and after; the bucket bound each percentile falls under):")
        print_table(["route", "requests", "p50", "p99", "p99.9"], [r for _, r in sorted(rows, key=lambda r: -r[0])])


def fmt_seconds(s):
    return f"{s * 1000:g} ms" if s < 1 else f"{s:g} s"


def state_rows(state, sql):
    """The rows of one query on a state store: a SQLite file (opened read-only) or a postgres:// URL
    (through psql; integers come back as int, the rest as str)."""
    if state.startswith(("postgres://", "postgresql://")):
        import subprocess
        out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-d", state, "-c", sql],
                             check=True, capture_output=True, text=True).stdout
        value = lambda x: int(x) if re.fullmatch(r"-?\d+", x) else x  # noqa: E731
        return [tuple(value(x) for x in line.split("\t")) for line in out.splitlines() if line]
    db = sqlite3.connect(f"file:{urllib.parse.quote(os.path.abspath(state))}?mode=ro", uri=True)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def views(args):
    state = args.state
    stored = state_rows(state, "SELECT count(*) FROM views")[0][0]
    by_kind = state_rows(state, "SELECT item_kind, channel, count(*) FROM views GROUP BY 1, 2 ORDER BY 1, 2")
    viewers = state_rows(state, "SELECT count(DISTINCT viewer) FROM views")[0][0]
    has_rollup = state_rows(state, "SELECT 1 WHERE to_regclass('view_days') IS NOT NULL"
                            if state.startswith(("postgres://", "postgresql://"))
                            else "SELECT 1 FROM sqlite_master WHERE name = 'view_days'")
    rollup = state_rows(state, "SELECT coalesce(sum(views), 0) FROM view_days")[0][0] if has_rollup else None
    summary = json.load(open(args.wrk_summary))
    runs = summary["runs"]
    wrk_views = sum(r["views2xx"] for r in runs)
    non2xx_views = sum(r.get("views_non2xx", 0) for r in runs)
    # View-counting requests wrk wrote and never read the answer of: in flight when a run stopped
    # (without the response() hook: at most one per connection and run).
    in_flight = sum(r["views_sent"] - r["views2xx"] - r["views_non2xx"] for r in runs) \
        if all(r.get("counted", True) for r in runs) else args.connections * len(runs)
    counted = all(r.get("counted", True) for r in runs)
    # Several portals on one state store: their /metrics texts, one file each, read as one (the
    # counters are summed over the files).
    metrics_text = "".join(open(m).read() + "\n" for m in args.metrics or [] if os.path.exists(m)) or None
    metrics = served_from_metrics(metrics_text) if metrics_text else None
    print()
    print(f"Views in the state store after the graceful stop: {stored:,} ({viewers:,} distinct viewers; daily"
          f" rollup {rollup if rollup is not None else '?'}): " + ", ".join(f"{k} {c} {n:,}" for k, c, n in by_kind))
    if len(args.metrics or []) > 1:
        print(f"  (the /metrics of {len(args.metrics)} portals on this state store, their counters summed)")
    for line in portal_counters(metrics_text) if metrics_text else []:
        print("  " + line)
    if metrics is not None:
        served, per_route = metrics
        source = "the portal's /metrics (http_server_requests_total, GET, 2xx)"
        detail = ", ".join(f"{r} {n:,}" for r, n in sorted(per_route.items()))
        print(f"Served view-counting requests, from {source}: {served:,} ({detail}); this includes the"
              f" {args.probes} verification requests")
    elif not counted:
        print("/metrics has no http_server_requests_total family and wrk counted no responses (COUNT_RESPONSES=0):"
              " the views cannot be checked")
        with open(args.out, "w") as f:
            json.dump(dict(stored=stored, served=None, source=None, ok=None, rollup=rollup), f)
        return
    else:
        served = wrk_views + args.probes
        source = "wrk's 2xx responses on view-counting paths (response() per thread, summed in done())"
        print(f"/metrics has no http_server_requests_total family (yet): counting with {source}:"
              f" {wrk_views:,} over {len(runs)} wrk run(s) + {args.probes} verification requests = {served:,}")
    diff = stored - served
    bound = in_flight + non2xx_views
    print(f"  views - served = {diff:+,}; allowed 0..{bound:,}: a view is recorded when the request is handled,"
          f" the response counted when it has been written (server) or read (wrk), so the requests in flight when"
          f" wrk stopped ({in_flight} on view-counting routes over {len(runs)} run(s): written by wrk, their answers"
          f" never read; at most {args.connections} connections per run) may have a view and no count"
          + (f"; plus {non2xx_views} non-2xx responses on view-counting routes (a view may be recorded before the"
             f" error)" if non2xx_views else "") + ". Fewer views than served requests means views were lost.")
    ok = 0 <= diff <= bound and (rollup is None or rollup == stored)
    verdict = "OK" if ok else "MISMATCH"
    print(f"  every view recorded once: {verdict}" + ("" if rollup is None or rollup == stored else
                                                      f" (daily rollup {rollup:,} != raw log {stored:,})"))
    with open(args.out, "w") as f:
        json.dump(dict(stored=stored, served=served, source="metrics" if metrics else "wrk", diff=diff, bound=bound,
                       ok=ok, rollup=rollup), f)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("prepare")
    p.add_argument("--catalog", required=True)
    p.add_argument("--warehouse", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--readers", type=int, default=5000)
    p.add_argument("--domains", type=int, default=600)
    p.add_argument("--zipf-s", type=float, default=1.0)
    p.add_argument("--first-reader", default="priya.raman@larkspur.io")
    p.add_argument("--email-domain", default="larkspur.io")
    p.add_argument("--mix", default="search=20,suggest=20,report=25,api=10,customer=10,home=5,browse=10")
    p.add_argument("--seed", type=int, default=17)

    identity = argparse.ArgumentParser(add_help=False)
    identity.add_argument("--user-header", default="X-Forwarded-User")
    identity.add_argument("--groups-header", default="X-Forwarded-Groups")
    identity.add_argument("--user-agent", required=True)
    identity.add_argument("--admin-groups", default="data-platform")
    identity.add_argument("--users", required=True)

    p = sub.add_parser("verify", parents=[identity])
    p.add_argument("--base", required=True)
    p.add_argument("--plan", required=True)
    p.add_argument("--sample", type=lambda s: {k: int(v) for k, v in (x.split("=") for x in s.split(",") if x)},
                   default={}, help="CLASS=N,...: verify only N URLs of that class")
    p.add_argument("--probes-out", required=True)

    load = argparse.ArgumentParser(add_help=False)
    load.add_argument("--lua", required=True)
    load.add_argument("--threads", type=int, default=2)
    load.add_argument("--connections", type=int, default=64)
    load.add_argument("--duration", type=int, default=20)
    load.add_argument("--warmup", type=int, default=5)
    load.add_argument("--timeout", type=int, default=5)
    load.add_argument("--seed", type=int, default=17)
    load.add_argument("--out", required=True)
    load.add_argument("--summary", required=True)

    p = sub.add_parser("readers", parents=[identity, load])
    p.add_argument("--portal", required=True)
    p.add_argument("--portal-pid", type=int, required=True)
    p.add_argument("--nginx", required=True)
    p.add_argument("--nginx-pid", type=int, required=True)
    p.add_argument("--page", action="append", required=True, help="NAME|PORTAL-PATHS-FILE|NGINX-PATHS-FILE")
    p.add_argument("--many", type=int, default=5000)
    p.add_argument("--rounds", type=int, default=3)

    p = sub.add_parser("mixed", parents=[identity, load])
    p.add_argument("--url", required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--plan", required=True)
    p.add_argument("--rss-every", type=float, default=2.0)
    p.add_argument("--rss-csv", required=True)
    p.add_argument("--rss-window", type=float, default=0, help="seconds; default min(60, duration/3)")

    p = sub.add_parser("views")
    p.add_argument("--state", required=True, help="a SQLite file or a postgres:// URL (read with psql)")
    p.add_argument("--metrics", action="append", help="a portal's /metrics text; repeat for several portals")
    p.add_argument("--wrk-summary", required=True)
    p.add_argument("--probes", type=int, default=0)
    p.add_argument("--connections", type=int, required=True)
    p.add_argument("--out", required=True)

    args = parser.parse_args()
    dict(prepare=prepare, verify=verify, readers=readers, mixed=mixed, views=views)[args.command](args)


if __name__ == "__main__":
    main()
