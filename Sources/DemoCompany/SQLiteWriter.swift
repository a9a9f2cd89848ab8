import GRDB
import SQLiteRows

/// The warehouse schema: exactly the tables and columns of `docs/demo-company.md`.
enum WarehouseSchema {
    static let tables: [(name: String, sql: String)] = [
        (
            "cities",
            """
            CREATE TABLE cities (
                city TEXT NOT NULL, country TEXT NOT NULL, region TEXT NOT NULL, population INTEGER NOT NULL)
            """
        ),
        (
            "workspaces",
            """
            CREATE TABLE workspaces (
                workspace_id INTEGER PRIMARY KEY, domain TEXT NOT NULL, name TEXT NOT NULL,
                industry TEXT NOT NULL, country TEXT NOT NULL, city TEXT NOT NULL, tier TEXT NOT NULL,
                plan TEXT NOT NULL, seats INTEGER NOT NULL, created_at TEXT NOT NULL, created_on TEXT NOT NULL)
            """
        ),
        (
            "users",
            """
            CREATE TABLE users (
                user_id INTEGER PRIMARY KEY, workspace_id INTEGER NOT NULL, signed_up_at TEXT NOT NULL,
                signup_date TEXT NOT NULL, channel TEXT NOT NULL, campaign_id INTEGER, platform TEXT NOT NULL,
                country TEXT NOT NULL, city TEXT NOT NULL, activated INTEGER NOT NULL, activated_at TEXT)
            """
        ),
        (
            "campaigns",
            """
            CREATE TABLE campaigns (
                campaign_id INTEGER PRIMARY KEY, name TEXT NOT NULL, slug TEXT NOT NULL, channel TEXT NOT NULL,
                started_on TEXT NOT NULL, ended_on TEXT NOT NULL, budget_usd REAL NOT NULL)
            """
        ),
        (
            "ad_spend",
            """
            CREATE TABLE ad_spend (
                campaign_id INTEGER NOT NULL, spend_date TEXT NOT NULL, impressions INTEGER NOT NULL,
                clicks INTEGER NOT NULL, spend_usd REAL NOT NULL)
            """
        ),
        (
            "events",
            """
            CREATE TABLE events (
                event_id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, workspace_id INTEGER NOT NULL,
                occurred_at TEXT NOT NULL, event_date TEXT NOT NULL, event_name TEXT NOT NULL,
                platform TEXT NOT NULL, app_id INTEGER)
            """
        ),
        (
            "apps",
            """
            CREATE TABLE apps (
                app_id INTEGER PRIMARY KEY, name TEXT NOT NULL, slug TEXT NOT NULL, developer TEXT NOT NULL,
                category TEXT NOT NULL, launched_on TEXT NOT NULL)
            """
        ),
        (
            "subscriptions",
            """
            CREATE TABLE subscriptions (
                subscription_id INTEGER PRIMARY KEY, workspace_id INTEGER NOT NULL, plan TEXT NOT NULL,
                seats INTEGER NOT NULL, mrr_usd REAL NOT NULL, started_on TEXT NOT NULL, ended_on TEXT)
            """
        ),
        (
            "billing_events",
            """
            CREATE TABLE billing_events (
                billing_event_id INTEGER PRIMARY KEY, workspace_id INTEGER NOT NULL, occurred_on TEXT NOT NULL,
                kind TEXT NOT NULL, plan_from TEXT, plan_to TEXT, seats_delta INTEGER NOT NULL,
                mrr_delta_usd REAL NOT NULL)
            """
        ),
        (
            "campaign_billing",
            """
            CREATE TABLE campaign_billing (
                billing_event_id INTEGER PRIMARY KEY, workspace_id INTEGER NOT NULL, campaign_id INTEGER NOT NULL,
                occurred_on TEXT NOT NULL, kind TEXT NOT NULL, plan_from TEXT, plan_to TEXT,
                seats_delta INTEGER NOT NULL, mrr_delta_usd REAL NOT NULL)
            """
        ),
        (
            "mrr_monthly",
            """
            CREATE TABLE mrr_monthly (
                month TEXT NOT NULL, workspace_id INTEGER NOT NULL, plan TEXT NOT NULL, seats INTEGER NOT NULL,
                mrr_usd REAL NOT NULL)
            """
        ),
        (
            "crm_accounts",
            """
            CREATE TABLE crm_accounts (
                account_id INTEGER PRIMARY KEY, workspace_id INTEGER NOT NULL, account_name TEXT NOT NULL,
                account_owner TEXT NOT NULL, owner_email TEXT NOT NULL, segment TEXT NOT NULL,
                renewal_on TEXT NOT NULL, health TEXT NOT NULL, updated_at TEXT NOT NULL)
            """
        ),
        (
            "error_logs",
            """
            CREATE TABLE error_logs (
                error_id INTEGER PRIMARY KEY, occurred_at TEXT NOT NULL, error_date TEXT NOT NULL,
                workspace_id INTEGER NOT NULL, user_id INTEGER NOT NULL, service TEXT NOT NULL,
                error_class TEXT NOT NULL, severity TEXT NOT NULL, message TEXT NOT NULL)
            """
        ),
        (
            "support_tickets",
            """
            CREATE TABLE support_tickets (
                ticket_id INTEGER PRIMARY KEY, workspace_id INTEGER NOT NULL, user_id INTEGER,
                created_at TEXT NOT NULL, created_date TEXT NOT NULL, queue TEXT NOT NULL, priority TEXT NOT NULL,
                channel TEXT NOT NULL, status TEXT NOT NULL, subject TEXT NOT NULL, first_response_at TEXT,
                first_response_minutes INTEGER, solved_at TEXT, csat INTEGER, error_id INTEGER)
            """
        ),
        (
            "experiments",
            """
            CREATE TABLE experiments (
                experiment_id TEXT PRIMARY KEY, name TEXT NOT NULL, hypothesis TEXT NOT NULL,
                started_on TEXT NOT NULL, ended_on TEXT, status TEXT NOT NULL)
            """
        ),
        (
            "experiment_assignments",
            """
            CREATE TABLE experiment_assignments (
                experiment_id TEXT NOT NULL, user_id INTEGER NOT NULL, variant TEXT NOT NULL,
                assigned_at TEXT NOT NULL, assigned_on TEXT NOT NULL)
            """
        ),
        (
            "experiment_conversions",
            """
            CREATE TABLE experiment_conversions (
                experiment_id TEXT NOT NULL, user_id INTEGER NOT NULL, goal TEXT NOT NULL,
                converted_at TEXT NOT NULL, converted_on TEXT NOT NULL)
            """
        ),
    ]

    /// Billing events of workspaces whose first user came from a paid campaign, with that campaign.
    static let campaignBillingSQL = """
        INSERT INTO campaign_billing
        SELECT b.billing_event_id AS billing_event_id, b.workspace_id AS workspace_id, f.campaign_id AS campaign_id,
               b.occurred_on AS occurred_on, b.kind AS kind, b.plan_from AS plan_from, b.plan_to AS plan_to,
               b.seats_delta AS seats_delta, b.mrr_delta_usd AS mrr_delta_usd
        FROM billing_events b
        JOIN (
          SELECT u.workspace_id AS workspace_id, u.campaign_id AS campaign_id
          FROM users u
          JOIN (SELECT workspace_id, MIN(user_id) AS first_user FROM users GROUP BY workspace_id) m
            ON m.first_user = u.user_id
          WHERE u.campaign_id IS NOT NULL
        ) f ON f.workspace_id = b.workspace_id
        ORDER BY b.billing_event_id
        """

    /// Indexes on every time column and every join key (primary keys are indexed already).
    ///
    /// `events` by workspace also holds the time, the person and the event: a customer's
    /// dashboard reads a year of that customer's events (over 100,000 for the biggest at scale 1)
    /// from the index alone, instead of one table lookup per event, which made its first render
    /// take half a second and a morning of new customers' dashboards queue behind each other.
    static let indexes: [(table: String, columns: String)] = [
        ("workspaces", "domain"), ("workspaces", "created_at"), ("workspaces", "created_on"),
        ("users", "workspace_id"), ("users", "signed_up_at"), ("users", "signup_date"), ("users", "campaign_id"),
        ("users", "activated_at"),
        ("ad_spend", "campaign_id, spend_date"), ("ad_spend", "spend_date"),
        ("campaigns", "started_on"), ("campaigns", "ended_on"),
        ("apps", "launched_on"),
        ("events", "occurred_at"), ("events", "event_date"), ("events", "user_id"),
        ("events", "workspace_id, occurred_at, user_id, event_name"),
        ("events", "app_id"),
        ("subscriptions", "workspace_id"), ("subscriptions", "started_on"), ("subscriptions", "ended_on"),
        ("billing_events", "workspace_id"), ("billing_events", "occurred_on"),
        ("campaign_billing", "campaign_id, occurred_on"), ("campaign_billing", "occurred_on"),
        ("mrr_monthly", "month"), ("mrr_monthly", "workspace_id"),
        ("crm_accounts", "workspace_id"), ("crm_accounts", "renewal_on"), ("crm_accounts", "updated_at"),
        ("error_logs", "occurred_at"), ("error_logs", "error_date"), ("error_logs", "workspace_id"),
        ("error_logs", "user_id"),
        ("support_tickets", "created_date"), ("support_tickets", "created_at"), ("support_tickets", "workspace_id"),
        ("support_tickets", "queue"),
        ("experiments", "started_on"), ("experiments", "ended_on"),
        ("experiment_assignments", "experiment_id, user_id"), ("experiment_assignments", "user_id"),
        ("experiment_assignments", "assigned_at"), ("experiment_assignments", "assigned_on"),
        ("experiment_conversions", "experiment_id, user_id"), ("experiment_conversions", "user_id"),
        ("experiment_conversions", "converted_at"), ("experiment_conversions", "converted_on"),
        ("cities", "city, country"),
    ]

    /// Indexes that leave out rows no lookup finds: `events.app_id` is NULL on every event but
    /// `app_used` (about 39 in 40), and indexing those NULLs would cost as much as any other
    /// index on the biggest table. A lookup or join by `app_id` still uses it.
    static let partialIndexes = ["events.app_id": "app_id IS NOT NULL"]

    static func indexSQL(table: String, columns: String) -> String {
        let suffix = String(columns.filter { $0 != " " }.map { $0 == "," ? "_" : $0 })
        let name = "idx_\(table)_\(suffix)"
        let condition = partialIndexes["\(table).\(columns)"].map { " WHERE \($0)" } ?? ""
        return "CREATE INDEX \(name) ON \(table) (\(columns))\(condition)"
    }
}
