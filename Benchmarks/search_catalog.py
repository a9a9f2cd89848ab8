#!/usr/bin/env python3
"""Convert the search harness's catalog.jsonl into an Almanac catalog folder.

    search_catalog.py --data .data/search-harness/data/n100000 --out .data/search-catalog-n100000
    search_catalog.py --data DIR --out OUT [--templates template|report] [--force] [--check ALMANAC]

The search benchmark (/work/shared/bench/search, copied to Benchmarks/.data/search-harness) feeds
its engines DIR/catalog.jsonl; `almanac serve` needs a catalog folder instead. This writes one that
`almanac catalog check OUT` accepts, keeping every entry's searchable text (title, description,
tags, synonyms) so the HTTP benchmark searches the same corpus as the in-process one:

  harness entry                        Almanac object
  -----------------------------------  ------------------------------------------------------------
  every distinct `team` value          teams/<slug>.yaml: name = the team's name; description, tags
   (+ the owner entry, subtype team)     and slack from its owner entry when there is one
  owner, subtype person                a member of its team (name; role from its job title; the
                                         person who leads a team is that team's `lead`). A person
                                         entry's own description and tags have no place in Almanac
                                         and are dropped (4,000 of 100,000 entries at N=100000).
  metric                               metrics/<id>.yaml: name = title, description, synonyms, tags,
                                         owner = its team, certified: false, type: count on the one
                                         source `events`. The harness's sql, unit and status are not
                                         kept (Almanac metrics have no status).
  report, report_type dashboard        reports/<id>.yaml: title, description, tags, owner = its team,
                                         status (active / deprecated / draft), one panel on the first
                                         metric the entry lists (by title; else the first metric)
  report, report_type template         templates/<id>.yaml with its parameters and one panel that
                                         filters on each of them (template status is dropped: Almanac
                                         templates have none); with --templates report they become
                                         reports instead, like dashboards
  -                                    sources/events.yaml (one warehouse table with every column the
                                         filters name), almanac.yaml (minimal settings)

Ids: metric, report and template ids are the harness ids (met-0000002, rpt-0000001: already valid
Almanac ids, so search hits can be compared with the harness's); team ids are slugs of the team
names ("Data Platform — Payments" -> data-platform-payments), de-duplicated with -2, -3 ....
OUT/.search-catalog.json (hidden, so the loader ignores it) records the input's sha256, the
counts and the team id of every team name; a rerun with the same input and options is skipped
unless --force. OUT is only ever replaced when it holds that marker (or is empty).

Standard library only.
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import unicodedata

FORMAT = 1  # bump when the output changes, so older folders are rewritten
MARKER = ".search-catalog.json"
ID_RE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
SQL_ID_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")

# The one warehouse table every metric counts; the columns are those the template filters name.
SOURCE_ID = "events"
SOURCE_COLUMNS = [
    ("event_id", "integer", "Surrogate key."),
    ("occurred_at", "timestamp", "When the event happened (UTC)."),
    ("event_date", "date", "The UTC date of occurred_at."),
    ("region", "string", None),
    ("city", "string", None),
    ("segment", "string", None),
    ("product_area", "string", None),
    ("plan", "string", None),
    ("channel", "string", None),
    ("currency", "string", None),
    ("experiment_id", "string", None),
    ("start_date", "date", None),
    ("end_date", "date", None),
    ("cohort_month", "date", None),
]
SOURCE_DIMENSIONS = ["region", "city", "segment", "product_area", "plan", "channel"]


def q(s):
    """A YAML double-quoted scalar (JSON string syntax, which YAML accepts), non-ASCII kept."""
    out = json.dumps(s, ensure_ascii=False)
    # Characters YAML treats as line breaks or refuses unescaped.
    for ch in ("\u0085", "\u2028", "\u2029", "\ufeff"):
        out = out.replace(ch, "\\u%04x" % ord(ch))
    return out


def qlist(items):
    return "[" + ", ".join(q(x) for x in items) + "]"


def slug(text):
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def make_id(text, taken, prefix="t"):
    base = slug(text) or prefix
    if not base[0].isalpha():
        base = f"{prefix}-{base}"
    base = base[:60].rstrip("-")
    cand, k = base, 2
    while cand in taken:
        cand = f"{base}-{k}"
        k += 1
    assert ID_RE.match(cand), cand
    taken.add(cand)
    return cand


def member_role(job):
    j = (job or "").lower()
    if "engineer" in j or "developer" in j:
        return "engineer"
    if "analyst" in j or "scientist" in j:
        return "analyst"
    return "member"


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write(path, lines):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")


def convert(entries, out, templates_as):
    counts = {"teams": 0, "members": 0, "metrics": 0, "reports": 0, "templates": 0,
              "person_entries_folded": 0, "sources": 1}
    for kind in ("teams", "sources", "metrics", "reports", "templates"):
        os.makedirs(os.path.join(out, kind), exist_ok=True)

    # ---- teams: every team name, in order of first appearance
    team_ids, taken = {}, set()
    team_entry = {}
    for e in entries:
        if e["kind"] == "owner" and e.get("subtype") == "team":
            team_entry.setdefault(e["title"], e)
        for name in ([e["title"]] if e["kind"] == "owner" and e.get("subtype") == "team" else []) + [e.get("team")]:
            if name and name not in team_ids:
                team_ids[name] = make_id(name, taken)
    # members: person entries, plus people who own entries but have no entry of their own (small N)
    members = {name: {} for name in team_ids}   # team name -> {person: role}
    for e in entries:
        if e["kind"] == "owner" and e.get("subtype") == "person":
            members[e["team"]].setdefault(e["title"], member_role(e.get("role")))
            counts["person_entries_folded"] += 1
    known = {p for m in members.values() for p in m}
    for e in entries:
        if e["kind"] in ("metric", "report") and e.get("owner") and e["owner"] not in known:
            members[e["team"]].setdefault(e["owner"], "member")
    for name, te in team_entry.items():
        lead = te.get("owner")
        if lead:
            members[name][lead] = "lead"   # a team's lead may belong to another team as well

    for name, tid in team_ids.items():
        te = team_entry.get(name)
        lines = [f"id: {tid}", f"name: {q(name)}"]
        if te and te.get("description"):
            lines.append(f"description: {q(te['description'])}")
        if te and te.get("slack_channel"):
            lines.append(f"slack: {q(te['slack_channel'])}")
        ms = members[name]
        if ms:
            lines.append("members:")
            # the lead first, then in order of first appearance
            for person, role in sorted(ms.items(), key=lambda kv: kv[1] != "lead"):
                lines.append(f"  - name: {q(person)}")
                lines.append(f"    role: {role}")
                counts["members"] += 1
        if te and te.get("tags"):
            lines.append(f"tags: {qlist(te['tags'])}")
        write(os.path.join(out, "teams", tid + ".yaml"), lines)
        counts["teams"] += 1

    # ---- the one source
    first_team = next(iter(team_ids.values()))
    lines = [f"id: {SOURCE_ID}", "name: Events",
             "description: One row per tracked event; every metric of the search benchmark counts rows of it.",
             f"owner: {first_team}", "table: events", "time_column: occurred_at",
             "freshness:", "  column: occurred_at", "  expected_within: 26h", "columns:"]
    for col, typ, desc in SOURCE_COLUMNS:
        lines += [f"  - name: {col}", f"    type: {typ}"] + ([f"    description: {q(desc)}"] if desc else [])
    lines.append("dimensions:")
    for d in SOURCE_DIMENSIONS:
        lines += [f"  - id: {d}", f"    column: {d}"]
    write(os.path.join(out, "sources", SOURCE_ID + ".yaml"), lines)
    columns = {c for c, _, _ in SOURCE_COLUMNS}

    # ---- metrics (before reports: a report's panel names the latest metric with its title)
    metric_by_title = {}
    first_metric = None
    for e in entries:
        eid = e["id"]
        if not ID_RE.match(eid):
            raise SystemExit(f"harness id {eid!r} is not a valid Almanac id; the converter keeps harness ids")
        if e["kind"] != "metric":
            continue
        lines = [f"id: {eid}", f"name: {q(e['title'])}",
                 f"description: {q(e.get('description') or e['title'])}",
                 f"owner: {team_ids[e['team']]}"]
        if e.get("synonyms"):
            lines.append(f"synonyms: {qlist(e['synonyms'])}")
        lines += ["certified: false", f"source: {SOURCE_ID}", "type: count"]
        if e.get("tags"):
            lines.append(f"tags: {qlist(e['tags'])}")
        write(os.path.join(out, "metrics", eid + ".yaml"), lines)
        counts["metrics"] += 1
        first_metric = first_metric or eid
    if first_metric is None:
        raise SystemExit("the catalog has no metric; reports need one for their panel")

    # ---- reports and templates, in file order (metric titles resolve to the latest metric
    # with that title that comes before the report, as the generator picked them)
    for e in entries:
        if e["kind"] == "metric":
            metric_by_title[e["title"]] = e["id"]
            continue
        if e["kind"] != "report":
            continue
        eid = e["id"]
        metric, panel_title = first_metric, None
        for title in e.get("metrics") or []:
            if title in metric_by_title:
                metric, panel_title = metric_by_title[title], title
                break
        panel_title = panel_title or "Trend"
        is_template = e.get("report_type") == "template" and templates_as == "template"
        lines = [f"id: {eid}", f"title: {q(e['title'])}"]
        if e.get("description"):
            lines.append(f"description: {q(e['description'])}")
        lines.append(f"owner: {team_ids[e['team']]}")
        if not is_template:
            status = e.get("status") or "active"
            if status not in ("draft", "active", "deprecated", "retired"):
                status = "active"
            lines.append(f"status: {status}")
        if e.get("tags"):
            lines.append(f"tags: {qlist(e['tags'])}")
        filters = []
        if is_template:
            lines.append("parameters:")
            params = e.get("parameters") or [{"name": "region", "type": "string", "required": True}]
            for p in params:
                name = p["name"]
                if not SQL_ID_RE.match(name) or name not in columns:
                    raise SystemExit(f"{eid}: template parameter {name!r} is not a column of the events source")
                ptype = p.get("type") if p.get("type") in ("string", "integer", "date") else "string"
                lines += [f"  - name: {name}", f"    type: {ptype}",
                          f"    required: {'true' if p.get('required', True) else 'false'}"]
                filters.append(name)
        lines += ["panels:", f"  - title: {q(panel_title)}", f"    metric: {metric}", "    chart: line"]
        if filters:
            lines.append("    filters:")
            for name in filters:
                lines += [f"      - column: {name}", "        op: eq", f"        parameter: {name}"]
        folder = "templates" if is_template else "reports"
        write(os.path.join(out, folder, eid + ".yaml"), lines)
        counts[folder] += 1

    # ---- settings (the demo catalog's almanac.yaml, minimally)
    write(os.path.join(out, "almanac.yaml"), [
        "# Written by Benchmarks/search_catalog.py from the search harness's catalog.jsonl.",
        "company:",
        "  name: Search benchmark (harness catalog)",
        "timezone: UTC",
        "warehouse:",
        "  dialect: sqlite",
        "settings:",
        "  admin_groups: [data-platform]",
        "  default_grain: day",
        "  default_range: 180d",
    ])
    return counts, team_ids


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="folder holding the harness's catalog.jsonl (or the file itself)")
    ap.add_argument("--out", required=True, help="the Almanac catalog folder to write")
    ap.add_argument("--templates", choices=["template", "report"], default="template",
                    help="what harness templates (report_type: template) become (default: Almanac templates)")
    ap.add_argument("--force", action="store_true", help="rewrite even if OUT is up to date")
    ap.add_argument("--check", metavar="ALMANAC", help="run `ALMANAC catalog check OUT` afterwards")
    args = ap.parse_args()

    src = args.data if args.data.endswith(".jsonl") else os.path.join(args.data, "catalog.jsonl")
    if not os.path.isfile(src):
        raise SystemExit(f"no catalog.jsonl at {src}")
    out = os.path.abspath(args.out)
    digest = sha256_file(src)
    marker_path = os.path.join(out, MARKER)
    wanted = {"format": FORMAT, "source_sha256": digest, "templates": args.templates}
    old = None
    if os.path.exists(marker_path):
        try:
            with open(marker_path, encoding="utf-8") as f:
                old = json.load(f)
        except (OSError, ValueError):
            old = None
    if old and not args.force and all(old.get(k) == v for k, v in wanted.items()):
        print(f"{out}: up to date ({old['entries']} entries, sha256 {digest[:16]}); --force rewrites it",
              file=sys.stderr)
    else:
        if os.path.isdir(out) and os.listdir(out) and old is None:
            raise SystemExit(f"{out} exists and was not written by this script ({MARKER} missing); not touching it")
        t0 = time.perf_counter()
        with open(src, encoding="utf-8") as f:
            entries = [json.loads(line) for line in f if line.strip()]
        tmp = out + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        counts, team_ids = convert(entries, tmp, args.templates)
        marker = dict(wanted, source=os.path.abspath(src), entries=len(entries), counts=counts,
                      files=counts["teams"] + counts["metrics"] + counts["reports"] + counts["templates"] + 1,
                      team_ids=team_ids)
        with open(os.path.join(tmp, MARKER), "w", encoding="utf-8") as f:
            json.dump(marker, f, ensure_ascii=False, indent=1)
            f.write("\n")
        shutil.rmtree(out, ignore_errors=True)
        os.rename(tmp, out)
        c = counts
        print(f"{out}: {len(entries)} harness entries -> {c['teams']} teams ({c['members']} members; "
              f"{c['person_entries_folded']} person entries folded into them), {c['metrics']} metrics, "
              f"{c['reports']} reports, {c['templates']} templates, 1 source "
              f"in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    if args.check:
        t0 = time.perf_counter()
        r = subprocess.run([args.check, "catalog", "check", "--format", "json", out],
                           capture_output=True, text=True)
        try:
            res = json.loads(r.stdout)
        except ValueError:
            sys.stderr.write(r.stdout[-2000:] + r.stderr[-2000:])
            raise SystemExit(f"`{args.check} catalog check` did not print JSON (exit {r.returncode})")
        diags = res.get("diagnostics") or []
        warnings = res.get("warnings", sum(1 for d in diags if d.get("severity") == "warning"))
        print(f"almanac catalog check: ok={res.get('ok')} errors={res.get('errors')} warnings={warnings} "
              f"({time.perf_counter() - t0:.1f} s, exit {r.returncode})", file=sys.stderr)
        for d in diags[:10]:
            print(f"  {d}", file=sys.stderr)
        if r.returncode != 0:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
