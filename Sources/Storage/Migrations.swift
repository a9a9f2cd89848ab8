/// The state schema, as named, append-only migrations shared by every backend.
///
/// A migration's name never changes once released and its SQL is never edited; a change
/// is a new migration. Each backend applies the same names in the same order, so
/// `appliedMigrations()` can be compared across backends.
enum StateMigrations {
    struct Migration {
        let name: String
        let sqlite: String
    }

    static let all: [Migration] = [
        Migration(
            name: "v1-views-lifecycle-runs",
            sqlite: """
                CREATE TABLE views (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    item_kind TEXT NOT NULL,
                    item_id TEXT NOT NULL,
                    viewer TEXT,
                    viewed_at REAL NOT NULL
                );
                CREATE INDEX views_item ON views(item_kind, item_id, viewed_at);
                CREATE INDEX views_time ON views(viewed_at);

                CREATE TABLE catalog_items (
                    item_kind TEXT NOT NULL,
                    item_id TEXT NOT NULL,
                    digest TEXT NOT NULL,
                    title TEXT NOT NULL,
                    owner TEXT,
                    first_seen_at REAL NOT NULL,
                    changed_at REAL NOT NULL,
                    PRIMARY KEY (item_kind, item_id)
                );

                CREATE TABLE lifecycle_events (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    item_kind TEXT NOT NULL,
                    item_id TEXT NOT NULL,
                    action TEXT NOT NULL,
                    title TEXT NOT NULL,
                    actor TEXT,
                    detail TEXT,
                    catalog_version TEXT,
                    at REAL NOT NULL
                );
                CREATE INDEX lifecycle_item ON lifecycle_events(item_kind, item_id, at);
                CREATE INDEX lifecycle_time ON lifecycle_events(at);

                CREATE TABLE runs (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    kind TEXT NOT NULL,
                    target TEXT NOT NULL,
                    started_at REAL NOT NULL,
                    duration_ms INTEGER NOT NULL,
                    rows INTEGER NOT NULL DEFAULT 0,
                    bytes INTEGER NOT NULL DEFAULT 0,
                    error TEXT
                );
                CREATE INDEX runs_time ON runs(kind, started_at);
                """),
        Migration(
            name: "v2-view-context",
            sqlite: """
                ALTER TABLE views ADD COLUMN parameters_hash TEXT;
                ALTER TABLE views ADD COLUMN source TEXT NOT NULL DEFAULT 'direct';
                ALTER TABLE views ADD COLUMN channel TEXT NOT NULL DEFAULT 'page';
                """),
        Migration(
            name: "v3-usage-rollups-lifecycle-actions",
            sqlite: """
                -- Usage figures never read the raw log: it is kept for the record (who, when, from
                -- where), append-only, without secondary indexes, so writing it stays cheap.
                DROP INDEX views_item;
                DROP INDEX views_time;
                -- Views per item and UTC day (day = unix seconds / 86400) with the item's running
                -- total up to that day: the views in any range of days are two lookups per item,
                -- cumulative(last day) - cumulative(day before the first), whatever the history's size.
                CREATE TABLE view_days (
                    item_kind TEXT NOT NULL,
                    item_id TEXT NOT NULL,
                    day INTEGER NOT NULL,
                    views INTEGER NOT NULL,
                    cumulative INTEGER NOT NULL,
                    PRIMARY KEY (item_kind, item_id, day)
                ) WITHOUT ROWID;
                -- Each viewer's newest day per item: viewers in the last N days count the rows since.
                CREATE TABLE view_viewers (
                    item_kind TEXT NOT NULL,
                    item_id TEXT NOT NULL,
                    viewer TEXT NOT NULL,
                    last_day INTEGER NOT NULL,
                    PRIMARY KEY (item_kind, item_id, viewer)
                ) WITHOUT ROWID;
                -- Every item ever viewed, with its total: the list usage scans walk.
                CREATE TABLE view_items (
                    item_kind TEXT NOT NULL,
                    item_id TEXT NOT NULL,
                    total INTEGER NOT NULL,
                    PRIMARY KEY (item_kind, item_id)
                ) WITHOUT ROWID;
                INSERT INTO view_days (item_kind, item_id, day, views, cumulative)
                    SELECT item_kind, item_id, day, views,
                        SUM(views) OVER (PARTITION BY item_kind, item_id ORDER BY day)
                    FROM (
                        SELECT item_kind, item_id, CAST(viewed_at / 86400 AS INTEGER) AS day, COUNT(*) AS views
                        FROM views GROUP BY 1, 2, 3);
                INSERT INTO view_viewers (item_kind, item_id, viewer, last_day)
                    SELECT item_kind, item_id, COALESCE(viewer, ''), MAX(CAST(viewed_at / 86400 AS INTEGER))
                    FROM views GROUP BY 1, 2, 3;
                INSERT INTO view_items (item_kind, item_id, total)
                    SELECT item_kind, item_id, COUNT(*) FROM views GROUP BY 1, 2;

                -- Lifecycle actions: the replacement named, and the action's value (a new owner team,
                -- a snooze's end). `detail` holds the reason.
                ALTER TABLE lifecycle_events ADD COLUMN replacement TEXT;
                ALTER TABLE lifecycle_events ADD COLUMN value TEXT;
                -- The lifecycle fields each file declares (status, owner, certified), and per field the
                -- id of the newest lifecycle event when the file last changed it ({"status": 42}): the
                -- ledger decides from it which earlier actions the file overrides.
                ALTER TABLE catalog_items ADD COLUMN declared TEXT;
                ALTER TABLE catalog_items ADD COLUMN declared_marks TEXT;
                """),
        Migration(
            name: "v4-job-runs",
            sqlite: """
                -- One row per job and scheduled time: inserting it is the claim, so that one run
                -- happens per time across restarts and across portal instances sharing the store.
                CREATE TABLE job_runs (
                    job TEXT NOT NULL,
                    scheduled_for REAL NOT NULL,
                    status TEXT NOT NULL,
                    late INTEGER NOT NULL DEFAULT 0,
                    instance TEXT,
                    claimed_at REAL NOT NULL,
                    finished_at REAL,
                    detail TEXT,
                    PRIMARY KEY (job, scheduled_for)
                );
                CREATE INDEX job_runs_time ON job_runs(claimed_at);
                """),
        Migration(
            name: "v5-deliveries",
            sqlite: """
                -- The outbox: one row per message to one recipient, written when a digest or a
                -- trigger's action is composed. The idempotency key is unique, so composing the
                -- same scheduled run again (a retried job, a second instance) adds nothing.
                CREATE TABLE deliveries (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    idempotency_key TEXT NOT NULL UNIQUE,
                    job TEXT NOT NULL,
                    scheduled_for REAL NOT NULL,
                    channel TEXT NOT NULL,
                    recipient TEXT NOT NULL,
                    subject TEXT NOT NULL,
                    payload TEXT NOT NULL,
                    status TEXT NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at REAL NOT NULL,
                    claimed_by TEXT,
                    claimed_until REAL,
                    last_error TEXT,
                    created_at REAL NOT NULL,
                    sent_at REAL
                );
                CREATE INDEX deliveries_due ON deliveries(status, next_attempt_at);
                CREATE INDEX deliveries_job ON deliveries(job, created_at);
                -- Every attempt to send one delivery, with what happened.
                CREATE TABLE delivery_attempts (
                    delivery_id INTEGER NOT NULL REFERENCES deliveries(id),
                    attempt INTEGER NOT NULL,
                    instance TEXT NOT NULL,
                    started_at REAL NOT NULL,
                    finished_at REAL NOT NULL,
                    outcome TEXT NOT NULL,
                    error TEXT,
                    PRIMARY KEY (delivery_id, attempt)
                );
                -- When a trigger fired for an entity, and until when it stays quiet for it.
                CREATE TABLE trigger_firings (
                    trigger_id TEXT NOT NULL,
                    entity_key TEXT NOT NULL,
                    entity_label TEXT NOT NULL,
                    fired_at REAL NOT NULL,
                    cooldown_until REAL NOT NULL,
                    detail TEXT,
                    PRIMARY KEY (trigger_id, entity_key, fired_at)
                );
                CREATE INDEX trigger_firings_recent ON trigger_firings(fired_at);
                """),
        Migration(
            name: "v6-item-access-api-tokens",
            sqlite: """
                -- Who may see each catalog object: its access group lists as JSON ([["finance"]];
                -- [] for everyone). Copied onto the object's removal event, so that its tombstone
                -- answers only those who could see it.
                ALTER TABLE catalog_items ADD COLUMN access TEXT;
                ALTER TABLE lifecycle_events ADD COLUMN access TEXT;
                -- API tokens for programs: only a SHA-256 of the secret is kept. Groups and scopes
                -- are JSON arrays; revocation is a time, read on every use by every instance.
                CREATE TABLE api_tokens (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    subject TEXT NOT NULL,
                    secret_hash TEXT NOT NULL UNIQUE,
                    groups TEXT NOT NULL,
                    scopes TEXT NOT NULL,
                    created_by TEXT NOT NULL,
                    created_at REAL NOT NULL,
                    expires_at REAL,
                    last_used_at REAL,
                    revoked_at REAL,
                    revoked_by TEXT
                );
                """),
        Migration(
            name: "v7-search-log",
            sqlite: """
                -- What people searched for (issue 18), per UTC day and normalised query, and never
                -- who: the search box's blind spots and the results people open.
                CREATE TABLE search_queries (
                    day INTEGER NOT NULL,
                    query TEXT NOT NULL,
                    searches INTEGER NOT NULL,
                    zero_results INTEGER NOT NULL,
                    PRIMARY KEY (day, query)
                );
                -- Which result was opened from a query's results: `kind/id`, or for an entity
                -- value `template/id?parameter=value`.
                CREATE TABLE search_clicks (
                    day INTEGER NOT NULL,
                    query TEXT NOT NULL,
                    item TEXT NOT NULL,
                    clicks INTEGER NOT NULL,
                    PRIMARY KEY (day, query, item)
                );
                """),
    ]
}
