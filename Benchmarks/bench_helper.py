#!/usr/bin/env python3
"""Helpers for the Almanac benchmarks (see Benchmarks/README.md).

Subcommands:
  make-catalog SRC DST --files N   replicate the demo catalog SRC into DST, exactly N YAML files
  yaml-load DIR                    parse every YAML file under DIR with PyYAML's CSafeLoader
  catalog-bench ...                time `almanac catalog check` against the baselines, print a table
  demo-bench ...                   time `almanac demo` against an SQLite copy of the same rows
  generation-bench ...             run `almanac bench-generation` per scale, print the overhead table
  serve-bench ...                  wrk against Almanac and nginx serving the same bytes, alternating

Every timing is the wall clock of a whole child process (start to exit), measured with
time.perf_counter() around subprocess; CPU time is user+sys of the child from wait4().
Runs of the tools are interleaved (tool A, tool B, ..., then the next run) so that a
slow moment of the machine does not land on one tool only.
"""
import argparse
import hashlib
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time

ID_RE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")

# Kinds kept as they are (one copy) and kinds cloned once per batch.
FIXED_KINDS = ["teams", "sources", "annotations", "backends"]
CLONED_KINDS = ["metrics", "reports", "templates", "entities", "subscriptions", "triggers"]

# Which scalar keys (or flow/block lists) of a cloned kind name another cloned object.
# key -> kind of the object it references. `panels[].metric` is covered by "metric".
REFERENCE_KEYS = {
    "metrics": {"numerator": "metrics", "denominator": "metrics"},
    "reports": {"metric": "metrics"},
    "templates": {"metric": "metrics", "entity": "entities"},
    "entities": {"template": "templates"},
    "subscriptions": {"metrics": "metrics", "report": "reports"},
    "triggers": {"metric": "metrics", "entity": "entities"},
}


def log(message):
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", flush=True)


def need_yaml():
    try:
        import yaml  # noqa: F401
    except ImportError:
        sys.exit("PyYAML is not installed (the scripts install it; see Benchmarks/README.md)")
    if not getattr(yaml, "__with_libyaml__", False) or not hasattr(yaml, "CSafeLoader"):
        sys.exit("PyYAML is installed without libyaml: yaml.CSafeLoader is missing")
    return yaml


# ---------------------------------------------------------------------------------------------
# make-catalog


def suffixed(ident, batch):
    """signups -> signups_0042, growth-overview -> growth-overview-0042; batch 0 keeps the id."""
    if batch == 0:
        return ident
    separator = "-" if "-" in ident else "_"
    return f"{ident}{separator}{batch:04d}"


def expected_clone(kind, doc, batch):
    """The parsed document a clone must equal: the original with its id and references renamed."""
    import copy

    doc = copy.deepcopy(doc)
    doc["id"] = suffixed(doc["id"], batch)
    s = lambda x: suffixed(x, batch)  # noqa: E731
    if kind == "metrics":
        for key in ("numerator", "denominator"):
            if key in doc:
                doc[key] = s(doc[key])
    if kind in ("reports", "templates"):
        for panel in doc.get("panels", []):
            panel["metric"] = s(panel["metric"])
    if kind in ("templates", "triggers") and "entity" in doc:
        doc["entity"] = s(doc["entity"])
    if kind == "triggers":
        doc["metric"] = s(doc["metric"])
    if kind == "entities":
        doc["template"] = s(doc["template"])
    if kind == "subscriptions":
        if "metrics" in doc:
            doc["metrics"] = [s(m) for m in doc["metrics"]]
        if "report" in doc:
            doc["report"] = s(doc["report"])
    return doc


def dependencies(kind, doc):
    """(kind, id) pairs a cloned object references among cloned kinds."""
    deps = set()
    if kind == "metrics":
        deps |= {("metrics", doc[k]) for k in ("numerator", "denominator") if k in doc}
    if kind in ("reports", "templates"):
        deps |= {("metrics", p["metric"]) for p in doc.get("panels", [])}
    if kind in ("templates", "triggers") and "entity" in doc:
        deps.add(("entities", doc["entity"]))
    if kind == "triggers":
        deps.add(("metrics", doc["metric"]))
    if kind == "entities":
        deps.add(("templates", doc["template"]))
    if kind == "subscriptions":
        deps |= {("metrics", m) for m in doc.get("metrics", [])}
        if "report" in doc:
            deps.add(("reports", doc["report"]))
    return deps


LINE_RE = re.compile(
    r"^(?P<pre>\s*(?:-\s+)*)(?P<key>[a-z_]+):(?P<sp>[ \t]*)(?P<val>[^#]*?)(?P<trail>\s*(?:#.*)?)$")
ITEM_RE = re.compile(r"^(?P<pre>\s*-\s+)(?P<val>[^#\s][^#]*?)(?P<trail>\s*(?:#.*)?)$")


def rewrite_text(kind, text, batch, ids):
    """Renames the id and the references of one file, keeping its layout and comments."""
    if batch == 0:
        return text
    refs = REFERENCE_KEYS[kind]

    def rename(value, target):
        quote = value[0] if value[:1] in ("'", '"') and value[-1:] == value[:1] else ""
        bare = value[1:-1] if quote else value
        if bare in ids[target]:
            return f"{quote}{suffixed(bare, batch)}{quote}"
        return value

    out = []
    block_list_target = None  # a `metrics:` written as a block list
    block_indent = -1
    for line in text.split("\n"):
        if block_list_target is not None:
            item = ITEM_RE.match(line)
            if item and len(item.group("pre")) - len(item.group("pre").lstrip()) >= block_indent:
                line = item.group("pre") + rename(item.group("val"), block_list_target) + item.group("trail")
                out.append(line)
                continue
            block_list_target = None
        m = LINE_RE.match(line)
        if m:
            key, val = m.group("key"), m.group("val")
            top_level = m.group("pre") == ""
            if key == "id" and top_level:
                val = rename(val, kind)
            elif key in refs:
                target = refs[key]
                if val.startswith("[") and val.endswith("]"):
                    items = [v.strip() for v in val[1:-1].split(",") if v.strip()]
                    val = "[" + ", ".join(rename(v, target) for v in items) + "]"
                elif val == "":
                    block_list_target = target
                    block_indent = len(m.group("pre"))
                else:
                    val = rename(val, target)
            line = m.group("pre") + key + ":" + m.group("sp") + val + m.group("trail")
        out.append(line)
    return "\n".join(out)


def make_catalog(args):
    yaml = need_yaml()
    src, dst, total = args.src, args.dst, args.files
    folders = sorted(e for e in os.listdir(src) if os.path.isdir(os.path.join(src, e)) and not e.startswith("."))
    unknown = set(folders) - set(FIXED_KINDS) - set(CLONED_KINDS)
    if unknown:
        sys.exit(f"make-catalog: the demo catalog has folders this generator does not know: {sorted(unknown)}")

    def yaml_files(folder):
        path = os.path.join(src, folder)
        if not os.path.isdir(path):
            return []
        return sorted(f for f in os.listdir(path) if f.endswith((".yaml", ".yml")) and not f.startswith("."))

    # Originals: text and parsed document of each cloned object.
    originals = {}  # (kind, id) -> (file name, text, doc)
    ids = {kind: set() for kind in CLONED_KINDS}
    for kind in CLONED_KINDS:
        for name in yaml_files(kind):
            with open(os.path.join(src, kind, name), encoding="utf-8") as f:
                text = f.read()
            doc = yaml.load(text, Loader=yaml.CSafeLoader)
            stem = os.path.splitext(name)[0]
            if doc.get("id") != stem:
                sys.exit(f"make-catalog: {kind}/{name} has id {doc.get('id')!r}, not its file name")
            originals[(kind, stem)] = (name, text, doc)
            ids[kind].add(stem)

    fixed_count = 1 + sum(len(yaml_files(kind)) for kind in FIXED_KINDS)  # 1 = almanac.yaml
    per_batch = len(originals)
    clone_budget = total - fixed_count
    if clone_budget < per_batch:
        sys.exit(f"make-catalog: {total} files is fewer than one copy of the demo catalog")
    full_batches = clone_budget // per_batch  # batch 0 (the originals, ids unchanged) is one of them
    remainder = clone_budget - full_batches * per_batch

    # The last, partial batch must be closed under references: group objects that reference each
    # other in a cycle (a template and its entity), order the groups so that every group comes
    # after what it references, and take whole groups while they fit.
    deps = {key: dependencies(key[0], doc) for key, (_, _, doc) in originals.items()}
    for key, d in deps.items():
        missing = [x for x in d if x not in originals]
        if missing:
            sys.exit(f"make-catalog: {key} references {missing}, which the demo catalog does not define")

    def reach(start):
        seen, stack = set(), [start]
        while stack:
            for nxt in deps[stack.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return seen

    reachable = {key: reach(key) for key in originals}
    order = sorted(originals, key=lambda k: (CLONED_KINDS.index(k[0]), k[1]))
    groups, grouped = [], set()
    for key in order:
        if key in grouped:
            continue
        group = [k for k in order if k == key or (k in reachable[key] and key in reachable[k])]
        grouped |= set(group)
        groups.append(group)
    partial, remaining = set(), remainder
    progress = True
    while remaining > 0 and progress:
        progress = False
        for group in groups:
            if group[0] in partial or len(group) > remaining:
                continue
            needs = set().union(*(deps[k] for k in group)) - set(group)
            if needs <= partial:
                partial |= set(group)
                remaining -= len(group)
                progress = True
                if remaining == 0:
                    break
    if remaining:
        sys.exit(f"make-catalog: cannot pick a reference-closed partial batch of {remainder} objects")

    if os.path.exists(dst):
        shutil.rmtree(dst)
    os.makedirs(dst)
    shutil.copy(os.path.join(src, "almanac.yaml"), os.path.join(dst, "almanac.yaml"))
    written = 1
    for kind in FIXED_KINDS:
        if yaml_files(kind):
            os.makedirs(os.path.join(dst, kind))
        for name in yaml_files(kind):
            shutil.copy(os.path.join(src, kind, name), os.path.join(dst, kind, name))
            written += 1
    for kind in CLONED_KINDS:
        os.makedirs(os.path.join(dst, kind), exist_ok=True)

    digest = hashlib.sha256()
    batches = list(range(full_batches)) + ([full_batches] if remainder else [])
    for batch in batches:
        keys = order if batch < full_batches else [k for k in order if k in partial]
        for kind, ident in keys:
            name, text, doc = originals[(kind, ident)]
            new_id = suffixed(ident, batch)
            if not ID_RE.match(new_id):
                sys.exit(f"make-catalog: id {new_id!r} does not match {ID_RE.pattern}")
            new_text = rewrite_text(kind, text, batch, ids)
            # The clone must parse to exactly the original with renamed id and references.
            if yaml.load(new_text, Loader=yaml.CSafeLoader) != expected_clone(kind, doc, batch):
                sys.exit(f"make-catalog: rewriting {kind}/{name} for batch {batch} went wrong")
            extension = os.path.splitext(name)[1]
            path = os.path.join(dst, kind, new_id + extension)
            if os.path.exists(path):
                sys.exit(f"make-catalog: {path} written twice")
            with open(path, "w", encoding="utf-8") as f:
                f.write(new_text)
            digest.update(f"{kind}/{new_id}{extension}\0".encode() + new_text.encode() + b"\0")
            written += 1

    count = sum(
        1 for _, _, files in os.walk(dst) for f in files if f.endswith((".yaml", ".yml")))
    if written != total or count != total:
        sys.exit(f"make-catalog: wrote {written} files, found {count}, wanted exactly {total}")
    per_kind = {k: len(os.listdir(os.path.join(dst, k))) for k in FIXED_KINDS + CLONED_KINDS
                if os.path.isdir(os.path.join(dst, k))}
    print(f"  catalog: exactly {count} YAML files (almanac.yaml included) in {dst}")
    print(f"  kept as they are: almanac.yaml + {fixed_count - 1} files of {', '.join(FIXED_KINDS)}")
    print(f"  cloned: {per_batch} objects per batch; batch 0000 = the original ids (annotations"
          f" reference them), batches 0001-{full_batches - 1:04d} full"
          + (f", batch {full_batches:04d} partial ({remainder} objects, closed under references)"
             if remainder else ""))
    print("  per folder: " + ", ".join(f"{k} {v}" for k, v in per_kind.items()))
    print(f"  sha256 of the generated clones (determinism check): {digest.hexdigest()[:16]}")


# ---------------------------------------------------------------------------------------------
# yaml-load: the parse-only baseline


def yaml_load(args):
    yaml = need_yaml()
    loader = yaml.CSafeLoader
    count = 0
    for root, dirs, files in os.walk(args.dir):
        dirs.sort()
        for name in sorted(files):
            if name.endswith((".yaml", ".yml")):
                with open(os.path.join(root, name), "rb") as f:
                    yaml.load(f.read(), Loader=loader)
                count += 1
    print(f"parsed {count} files")


# ---------------------------------------------------------------------------------------------
# timing


def run_timed(command, cwd=None, env=None, stdout_path=None):
    """Runs command; returns (wall seconds, cpu seconds, exit code, output)."""
    out = open(stdout_path, "wb") if stdout_path else subprocess.PIPE
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    output = b""
    if not stdout_path:
        output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if stdout_path:
        out.close()
    else:
        proc.stdout.close()
    return wall, usage.ru_utime + usage.ru_stime, proc.returncode, output.decode("utf-8", "replace")


def busy_cpu_seconds():
    """CPU seconds all processes on the machine have used since boot (from /proc/stat), or None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def report_contention(busy_before, samples, wall):
    """Prints how much CPU other processes used while the timed runs ran: a noisy neighbour
    (a compiler, a test run) slows the multi-threaded tool more than the single-threaded ones."""
    busy_after = busy_cpu_seconds()
    if busy_before is None or busy_after is None:
        return
    ours = sum(c for runs in samples.values() for _, c in runs)
    others = max(0.0, busy_after - busy_before - ours)
    print(f"Other processes used {others:.1f} CPU s while the timed runs took {wall:.1f} s of wall clock on"
          f" {os.cpu_count()} CPUs (load average now {open('/proc/loadavg').read().split()[0]});"
          f" {'the machine was quiet' if others < 0.05 * wall * (os.cpu_count() or 1) else 'NOISY: other work competed for the CPUs, re-run on a quiet machine'}.")


def summary(samples):
    walls = [w for w, _ in samples]
    cpus = [c for _, c in samples]
    return statistics.median(walls), min(walls), max(walls), statistics.median(cpus)


def fmt(x, digits=3):
    return f"{x:.{digits}f}"


def print_table(headers, rows):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    print(line(headers))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print(line(r))


def catalog_bench(args):
    directory, almanac, runs = args.dir, args.almanac, args.runs
    files = sum(1 for _, _, fs in os.walk(directory) for f in fs if f.endswith((".yaml", ".yml")))
    tools = [
        ("almanac catalog check (release)", [almanac, "catalog", "check", directory]),
        ("PyYAML CSafeLoader, parse only (baseline)", [sys.executable, os.path.abspath(__file__), "yaml-load", directory]),
        ("cat all files > /dev/null (I/O floor)",
         ["bash", "-c", 'find "$1" -type f \\( -name "*.yaml" -o -name "*.yml" \\) -print0 | xargs -0 cat > /dev/null',
          "cat", directory]),
    ]
    log(f"warm-up: one untimed run of each tool ({files} files; the page cache is warm for every timed run)")
    for label, command in tools:
        wall, _, code, output = run_timed(command)
        if code != 0:
            print(output)
            sys.exit(f"{label} exited {code}")
        if label.startswith("almanac"):
            last = output.strip().splitlines()[-1] if output.strip() else ""
            print(f"  almanac says: {last}")
            if not re.search(rf": OK\b.*\b({files}|{files:,}) files\b", last):
                print(output[-4000:])
                sys.exit("almanac catalog check did not print OK for every file")
    samples = {label: [] for label, _ in tools}
    busy_before, timed_start = busy_cpu_seconds(), time.perf_counter()
    for run in range(1, runs + 1):
        for label, command in tools:
            wall, cpu, code, output = run_timed(command)
            if code != 0:
                print(output[-4000:])
                sys.exit(f"{label} exited {code} on run {run}")
            samples[label].append((wall, cpu))
        log(f"run {run}/{runs}: " + ", ".join(f"{label.split(' (')[0].split(',')[0]} {samples[label][-1][0]:.3f}s"
                                             for label, _ in tools))
    timed_wall = time.perf_counter() - timed_start
    baseline = statistics.median(w for w, _ in samples[tools[1][0]])
    rows = []
    for label, _ in tools:
        med, lo, hi, cpu = summary(samples[label])
        rows.append([label, runs, fmt(med), fmt(lo), fmt(hi), fmt(cpu), f"{files / med:,.0f}", f"{med / baseline:.2f}x"])
    print()
    print(f"Catalog load, {files} YAML files, {runs} timed runs each, wall clock of the whole process"
          f" (ratio = median time / baseline median time; < 1 is faster than the baseline)")
    print_table(["tool", "runs", "median s", "min s", "max s", "median CPU s (user+sys)", "files/s (median)",
                 "time vs PyYAML"], rows)
    report_contention(busy_before, samples, timed_wall)
    almanac_median = summary(samples[tools[0][0]])[0]
    target = args.target
    verdict = "MET" if almanac_median < target else "NOT MET"
    print()
    print(f"Target: {files} files loaded and validated in under {target:g} s (release): {verdict}"
          f" (median {almanac_median:.3f} s over {runs} runs)")


def table_rows(path):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        return {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        db.close()


PRAGMAS = [  # the generator's pragmas (Sources/DemoCompany/Writer.swift)
    "PRAGMA journal_mode = OFF;", "PRAGMA synchronous = OFF;", "PRAGMA locking_mode = EXCLUSIVE;",
    "PRAGMA temp_store = MEMORY;", "PRAGMA cache_size = -262144;",
]


def copy_script(source_path, exact_schema):
    """SQL that copies every row of source_path into the main database, then indexes and analyzes it."""
    db = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
    try:
        tables = db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
        ).fetchall()
        indexes = [r[0] for r in db.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY rowid")]
    finally:
        db.close()
    quoted = source_path.replace("'", "''")
    lines = [*PRAGMAS, f"ATTACH DATABASE '{quoted}' AS src;", "BEGIN;"]
    for name, sql in tables:
        if exact_schema:
            lines.append(sql.strip() + ";")
            lines.append(f'INSERT INTO main."{name}" SELECT * FROM src."{name}";')
        else:
            lines.append(f'CREATE TABLE main."{name}" AS SELECT * FROM src."{name}";')
    lines.append("COMMIT;")
    lines += [sql.strip() + ";" for sql in indexes]
    lines += ["PRAGMA analysis_limit = 1000;", "ANALYZE;", "DETACH DATABASE src;"]
    return "\n".join(lines) + "\n", len(tables), len(indexes)


def demo_bench(args):
    almanac, runs, workdir, sqlite_cli = args.almanac, args.runs, args.workdir, args.sqlite3
    demo_dir = os.path.join(workdir, "demo")
    warehouse = os.path.join(demo_dir, "warehouse.sqlite")
    copy_path = os.path.join(workdir, "copy.sqlite")
    demo_cmd = [almanac, "demo", "--no-serve", "--force", "--dir", demo_dir]
    if args.scale != 1:
        demo_cmd += ["--scale", str(args.scale)]
    labels = {
        "demo": "almanac demo --no-serve --force (release)",
        "ctas": "sqlite3: CREATE TABLE AS SELECT + same indexes + ANALYZE (baseline)",
        "exact": "sqlite3: same CREATE TABLE DDL, INSERT SELECT + same indexes + ANALYZE",
    }
    samples = {k: [] for k in labels}
    reference_rows = None
    busy_before, timed_start = busy_cpu_seconds(), time.perf_counter()
    for run in range(1, runs + 1):
        wall, cpu, code, output = run_timed(demo_cmd, cwd=args.repo)
        if code != 0:
            print(output[-4000:])
            sys.exit(f"almanac demo exited {code}")
        samples["demo"].append((wall, cpu))
        wrote = [l for l in output.splitlines() if l.startswith("Wrote ")]
        rows = table_rows(warehouse)
        if reference_rows is None:
            reference_rows = rows
            print(f"  almanac says: {wrote[-1] if wrote else output.strip().splitlines()[-1]}")
        elif rows != reference_rows:
            sys.exit("almanac demo wrote different row counts on a second run: the data is not the same")
        log(f"run {run}/{runs}: almanac demo {wall:.3f}s (CPU {cpu:.3f}s)")
        for key, exact in (("ctas", False), ("exact", True)):
            script, n_tables, n_indexes = copy_script(os.path.abspath(warehouse), exact)
            if os.path.exists(copy_path):
                os.remove(copy_path)
            script_path = os.path.join(workdir, f"copy-{key}.sql")
            with open(script_path, "w") as f:
                f.write(script)
            wall, cpu, code, output = run_timed(
                ["bash", "-c", 'exec "$1" -bail "$2" < "$3"', "sqlite3", sqlite_cli, copy_path, script_path])
            if code != 0:
                print(output[-4000:])
                sys.exit(f"sqlite3 copy ({key}) exited {code}")
            copied = table_rows(copy_path)
            if copied != reference_rows:
                sys.exit(f"sqlite3 copy ({key}) does not hold the same rows as the warehouse")
            samples[key].append((wall, cpu))
            log(f"run {run}/{runs}: {labels[key].split(':')[0]} {key} copy of {n_tables} tables + {n_indexes}"
                f" indexes {wall:.3f}s (CPU {cpu:.3f}s)")
            os.remove(copy_path)
    timed_wall = time.perf_counter() - timed_start
    total_rows = sum(reference_rows.values())
    events = reference_rows.get("events", 0)
    baseline = statistics.median(w for w, _ in samples["ctas"])
    rows = []
    for key, label in labels.items():
        med, lo, hi, cpu = summary(samples[key])
        rows.append([label, runs, fmt(med), fmt(lo), fmt(hi), fmt(cpu), f"{total_rows / med:,.0f}",
                     f"{med / baseline:.2f}x"])
    size = os.path.getsize(warehouse)
    print()
    print(f"Demo warehouse, scale {args.scale}: {total_rows:,} rows in {len(reference_rows)} tables"
          f" ({events:,} events), {size / 1e6:,.1f} MB; {runs} timed runs each, wall clock of the whole process"
          f" (ratio = median time / baseline median time)")
    print("Rows per table: " + ", ".join(f"{t} {n:,}" for t, n in sorted(reference_rows.items())))
    print_table(["tool", "runs", "median s", "min s", "max s", "median CPU s (user+sys)", "rows/s (median)",
                 "time vs CTAS baseline"], rows)
    report_contention(busy_before, samples, timed_wall)
    demo_median = summary(samples["demo"])[0]
    verdict = "MET" if demo_median < args.target and events >= 2_000_000 else "NOT MET"
    print()
    print(f"Target: 2M events in under {args.target:g} s (release): {verdict}"
          f" ({events:,} events, median {demo_median:.3f} s over {runs} runs)")


# ---------------------------------------------------------------------------------------------
# generation-bench: `almanac bench-generation` (generation vs. the same SQL bare, in one process)


def parse_keyvalues(output):
    values = {}
    for line in output.splitlines():
        for token in line.split():
            if "=" in token:
                key, value = token.split("=", 1)
                values[key] = value
    return values


def generation_bench(args):
    results = []
    busy_all, started_all = busy_cpu_seconds(), time.perf_counter()
    for case in args.case:
        scale, warehouse, runs = case.split(":", 2)[0], case.split(":", 2)[1], int(case.split(":", 2)[2])
        counts = table_rows(warehouse)
        events = counts.get("events", 0)
        command = [args.almanac, "bench-generation", "--catalog", args.catalog, "--warehouse", warehouse,
                   "--as-of", args.as_of, "--runs", str(runs), "--parallelism", str(args.parallelism),
                   "--web", args.web]
        log(f"scale {scale} ({events:,} events, {os.path.getsize(warehouse) / 1e6:,.1f} MB): "
            f"{' '.join(os.path.basename(c) if i == 0 else c for i, c in enumerate(command))}")
        busy_before = busy_cpu_seconds()
        wall, cpu, code, output = run_timed(command, cwd=args.repo)
        busy_after = busy_cpu_seconds()
        if code != 0:
            print(output[-4000:])
            sys.exit(f"almanac bench-generation exited {code} at scale {scale}")
        kv = parse_keyvalues(output)
        try:
            bare = [float(x) for x in kv["bare_sql_seconds"].split(",")]
            full = [float(x) for x in kv["generation_seconds"].split(",")]
        except KeyError:
            print(output[-4000:])
            sys.exit("almanac bench-generation did not print bare_sql_seconds / generation_seconds")
        for line in output.strip().splitlines():
            print(f"    almanac says: {line}")
        if int(kv.get("failed", "0")) != 0:
            sys.exit(f"{kv['failed']} reports failed to generate at scale {scale}: the comparison is not valid")
        med_bare, med_full = statistics.median(bare), statistics.median(full)
        others = None
        if busy_before is not None and busy_after is not None:
            others = max(0.0, busy_after - busy_before - cpu)
        noisy = others is not None and others >= 0.05 * wall * (os.cpu_count() or 1)
        log(f"scale {scale}: process wall {wall:.1f} s, CPU {cpu:.1f} s; other processes used "
            f"{'?' if others is None else f'{others:.1f}'} CPU s meanwhile"
            f"{' (NOISY)' if noisy else ' (quiet)'}; per-round overhead "
            + ", ".join(f"{(f / b - 1) * 100:.1f}%" for b, f in zip(bare, full)))
        results.append(dict(scale=scale, events=events, statements=int(kv["statements"]), reports=int(kv["reports"]),
                            runs=runs, bare=bare, full=full, med_bare=med_bare, med_full=med_full,
                            overhead=(med_full / med_bare - 1) * 100, others=others, wall=wall, noisy=noisy))
    rows = []
    for r in results:
        met = "yes" if r["overhead"] <= args.target else "NO"
        rows.append([r["scale"], f"{r['events']:,}", r["reports"], r["statements"], r["runs"],
                     f"{r['med_bare']:.3f} ({min(r['bare']):.3f}-{max(r['bare']):.3f})",
                     f"{r['med_full']:.3f} ({min(r['full']):.3f}-{max(r['full']):.3f})",
                     f"{r['overhead']:.1f}", met,
                     "?" if r["others"] is None else f"{r['others']:.1f} of {r['wall'] * (os.cpu_count() or 1):.0f}"
                     + (" NOISY" if r["noisy"] else " quiet")])
    print()
    print(f"Generation of every demo aggregate report vs. the same compiled SQL run bare: same process, same warehouse,"
          f" parallelism {args.parallelism}, as-of {args.as_of}, rounds alternate bare/generation after one untimed"
          f" capture generation (overhead = median generation / median bare - 1)")
    print_table(["scale", "events", "reports", "statements", "runs", "median bare SQL s (min-max)",
                 "median generation s (min-max)", "overhead %", f"target <= {args.target:g}% met?",
                 "other processes' CPU s of available"], rows)
    if busy_all is not None:
        print(f"Whole comparison: {time.perf_counter() - started_all:.0f} s wall clock; load average now "
              f"{open('/proc/loadavg').read().split()[0]}.")
    verdicts = [r["overhead"] <= args.target for r in results]
    print()
    print(f"Target: generation overhead <= {args.target:g}% over bare SQL at every scale: "
          f"{'MET' if all(verdicts) else 'NOT MET'} ("
          + "; ".join(f"scale {r['scale']}: {r['overhead']:.1f}% over {r['runs']} runs" for r in results) + ")")
    if args.summary:
        import json
        with open(args.summary, "w") as f:
            json.dump(dict(met=all(verdicts), results=results), f)


# ---------------------------------------------------------------------------------------------
# serve-bench: wrk against Almanac and nginx serving the same bytes, alternating


def process_cpu_seconds(pids):
    """user+sys CPU seconds of the given processes (all their threads), from /proc/PID/stat."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return total


def process_tree(root):
    """root and its descendants (nginx master + workers)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    out, stack = [], [root]
    while stack:
        pid = stack.pop()
        out.append(pid)
        stack.extend(children.get(pid, []))
    return out


def run_wrk(args, url, seconds, latency, out_path):
    import json
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s", "-s", args.lua]
    if latency:
        command.insert(4, "--latency")
    command.append(url)
    wall, cpu, code, output = run_timed(command)
    with open(out_path, "w") as f:
        f.write(" ".join(command) + "\n" + output)
    if code != 0:
        print(output[-3000:])
        sys.exit(f"wrk exited {code}")
    line = [l for l in output.splitlines() if l.startswith("WRKJSON ")]
    if not line:
        print(output[-3000:])
        sys.exit("wrk printed no WRKJSON line")
    data = json.loads(line[-1][len("WRKJSON "):])
    data["wrk_cpu"] = cpu
    data["command"] = " ".join(command)
    return data


def serve_bench(args):
    import json
    servers = []
    for spec in args.server:
        label, pid = spec.split("|", 1)
        servers.append(dict(label=label, pid=int(pid)))
    pages = []
    for spec in args.page:
        name, *urls = spec.split("|")
        if len(urls) != len(servers):
            sys.exit(f"--page {spec}: needs one URL per server")
        pages.append(dict(name=name, urls=urls))
    os.makedirs(args.out, exist_ok=True)
    summary = dict(requests={}, ratios={})
    for page in pages:
        rounds = args.rounds if page is pages[0] else args.extra_rounds
        if rounds <= 0:
            continue
        samples = {s["label"]: [] for s in servers}
        log(f"{page['name']}: {rounds} rounds of (warm-up {args.warmup} s, then {args.duration} s with --latency)"
            f" per server, servers alternating (the first server of a round alternates too)")
        for rnd in range(rounds):
            order = list(range(len(servers)))
            if rnd % 2 == 1:
                order.reverse()
            for i in order:
                server, url = servers[i], page["urls"][i]
                tag = f"{page['name']}-{server['label']}-round{rnd + 1}".replace(" ", "_").replace("/", "_")
                warm = run_wrk(args, url, args.warmup, False, os.path.join(args.out, tag + ".warmup.txt"))
                pids = process_tree(server["pid"])
                cpu_before, busy_before = process_cpu_seconds(pids), busy_cpu_seconds()
                started = time.perf_counter()
                data = run_wrk(args, url, args.duration, True, os.path.join(args.out, tag + ".txt"))
                wall = time.perf_counter() - started
                server_cpu = process_cpu_seconds(pids) - cpu_before
                busy_after = busy_cpu_seconds()
                others = None
                if busy_before is not None and busy_after is not None:
                    others = max(0.0, busy_after - busy_before - server_cpu - data["wrk_cpu"])
                data.update(server_cpu=server_cpu, others=others, wall=wall, warmup_requests=warm["requests"])
                samples[server["label"]].append(data)
                errors = data["err_connect"] + data["err_read"] + data["err_write"] + data["err_timeout"]
                log(f"  round {rnd + 1} {server['label']:>8}: {data['rps']:,.0f} req/s, p50 {data['p50_us'] / 1000:.2f} ms,"
                    f" p99 {data['p99_us'] / 1000:.2f} ms, {data['requests']:,} requests, non-2xx/3xx {data['err_status']},"
                    f" socket errors {errors}; server CPU {server_cpu:.1f} s, wrk CPU {data['wrk_cpu']:.1f} s,"
                    f" others {'?' if others is None else f'{others:.1f}'} CPU s")
        total = {label: sum(d["requests"] + d["warmup_requests"] for d in runs) for label, runs in samples.items()}
        summary["requests"][page["name"]] = total
        base = servers[-1]["label"]  # the baseline is the last server (nginx)
        rows = []
        for rnd in range(rounds):
            for server in servers:
                d = samples[server["label"]][rnd]
                ratio = d["rps"] / samples[base][rnd]["rps"]
                errors = d["err_connect"] + d["err_read"] + d["err_write"] + d["err_timeout"]
                rows.append([rnd + 1, server["label"], f"{d['rps']:,.0f}", f"{d['p50_us'] / 1000:.2f}",
                             f"{d['p99_us'] / 1000:.2f}", f"{d['max_us'] / 1000:.2f}", f"{d['requests']:,}",
                             f"{d['err_status']}; {errors}", f"{d['bytes'] / max(1, d['requests']):,.0f}",
                             f"{d['server_cpu']:.1f}", f"{d['wrk_cpu']:.1f}",
                             "?" if d["others"] is None else f"{d['others']:.1f}", f"{ratio * 100:.1f}%"])
        for server in servers:
            runs = samples[server["label"]]
            med = lambda key: statistics.median(d[key] for d in runs)  # noqa: E731
            ratios = [d["rps"] / b["rps"] for d, b in zip(runs, samples[base])]
            rows.append(["median", server["label"], f"{med('rps'):,.0f}", f"{med('p50_us') / 1000:.2f}",
                         f"{med('p99_us') / 1000:.2f}", f"{med('max_us') / 1000:.2f}",
                         f"{statistics.median(d['requests'] for d in runs):,.0f}",
                         f"{sum(d['err_status'] for d in runs)}; "
                         f"{sum(d['err_connect'] + d['err_read'] + d['err_write'] + d['err_timeout'] for d in runs)} (sum)",
                         f"{statistics.median(d['bytes'] / max(1, d['requests']) for d in runs):,.0f}",
                         f"{med('server_cpu'):.1f}", f"{med('wrk_cpu'):.1f}",
                         "?" if any(d["others"] is None for d in runs) else f"{med('others'):.1f}",
                         f"{statistics.median(ratios) * 100:.1f}%"])
            summary["ratios"].setdefault(page["name"], {})[server["label"]] = statistics.median(ratios)
        print()
        print(f"{page['name']}: wrk -t{args.threads} -c{args.connections} -d{args.duration}s --latency, {rounds} rounds,"
              f" wrk and the server sharing the {os.cpu_count()} CPUs; ratio = req/s / {base} req/s of the same round")
        print_table(["round", "server", "req/s", "p50 ms", "p99 ms", "max ms", "requests",
                     "errors (non-2xx/3xx; socket)", "bytes/response", "server CPU s", "wrk CPU s",
                     "others' CPU s", f"vs {base}"], rows)
        all_others = [d["others"] for runs in samples.values() for d in runs if d["others"] is not None]
        if all_others:
            worst = max(all_others)
            quiet = worst < 0.05 * args.duration * (os.cpu_count() or 1)
            print(f"Other processes (not the server, not wrk) used at most {worst:.1f} CPU s in any {args.duration} s"
                  f" timed run ({args.duration * (os.cpu_count() or 1)} CPU s available): "
                  f"{'the machine was quiet' if quiet else 'NOISY: other work competed for the CPUs, re-run on a quiet machine'}.")
    with open(args.summary, "w") as f:
        json.dump(summary, f)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("make-catalog")
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--files", type=int, default=10_000)
    p.set_defaults(func=make_catalog)
    p = sub.add_parser("yaml-load")
    p.add_argument("dir")
    p.set_defaults(func=yaml_load)
    p = sub.add_parser("catalog-bench")
    p.add_argument("--dir", required=True)
    p.add_argument("--almanac", required=True)
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--target", type=float, default=2.0)
    p.set_defaults(func=catalog_bench)
    p = sub.add_parser("demo-bench")
    p.add_argument("--repo", required=True)
    p.add_argument("--workdir", required=True)
    p.add_argument("--almanac", required=True)
    p.add_argument("--sqlite3", default="sqlite3")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--scale", type=int, default=1)
    p.add_argument("--target", type=float, default=20.0)
    p.set_defaults(func=demo_bench)
    p = sub.add_parser("generation-bench")
    p.add_argument("--repo", required=True)
    p.add_argument("--almanac", required=True)
    p.add_argument("--catalog", required=True)
    p.add_argument("--web", required=True)
    p.add_argument("--as-of", required=True)
    p.add_argument("--parallelism", type=int, default=2)
    p.add_argument("--case", action="append", required=True, help="SCALE:WAREHOUSE:RUNS")
    p.add_argument("--target", type=float, default=15.0)
    p.add_argument("--summary")
    p.set_defaults(func=generation_bench)
    p = sub.add_parser("serve-bench")
    p.add_argument("--server", action="append", required=True, help="LABEL|PID (baseline last)")
    p.add_argument("--page", action="append", required=True, help="NAME|URL-for-each-server...")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--extra-rounds", type=int, default=2, help="rounds for every page after the first")
    p.add_argument("--duration", type=int, default=20)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--lua", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--summary", required=True)
    p.set_defaults(func=serve_bench)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
