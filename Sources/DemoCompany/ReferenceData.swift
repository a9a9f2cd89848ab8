/// The fixed vocabulary of the Larkspur story: cities, apps, campaigns, experiments, names.
enum ReferenceData {
    /// A city users sign up from.
    struct City {
        let name: String
        let country: String
        let region: String
        let population: Int
        /// Offset from UTC in hours, used to place activity in the working day.
        let utcOffset: Int
        /// Relative share of sign-ups.
        let weight: Double
    }

    static let cities: [City] = [
        City(
            name: "New York", country: "United States", region: "North America", population: 8_336_817, utcOffset: -5,
            weight: 9),
        City(
            name: "San Francisco", country: "United States", region: "North America", population: 808_437,
            utcOffset: -8, weight: 7),
        City(
            name: "Austin", country: "United States", region: "North America", population: 974_447, utcOffset: -6,
            weight: 4),
        City(
            name: "Chicago", country: "United States", region: "North America", population: 2_665_039, utcOffset: -6,
            weight: 4),
        City(
            name: "Seattle", country: "United States", region: "North America", population: 749_256, utcOffset: -8,
            weight: 4),
        City(
            name: "Boston", country: "United States", region: "North America", population: 650_706, utcOffset: -5,
            weight: 3.5),
        City(
            name: "Los Angeles", country: "United States", region: "North America", population: 3_820_914,
            utcOffset: -8, weight: 4),
        City(
            name: "Denver", country: "United States", region: "North America", population: 716_577, utcOffset: -7,
            weight: 2),
        City(
            name: "Atlanta", country: "United States", region: "North America", population: 510_823, utcOffset: -5,
            weight: 2),
        City(
            name: "Toronto", country: "Canada", region: "North America", population: 2_794_356, utcOffset: -5, weight: 4
        ),
        City(
            name: "Vancouver", country: "Canada", region: "North America", population: 662_248, utcOffset: -8, weight: 2
        ),
        City(
            name: "Montreal", country: "Canada", region: "North America", population: 1_762_949, utcOffset: -5,
            weight: 1.5),
        City(
            name: "Mexico City", country: "Mexico", region: "Latin America", population: 9_209_944, utcOffset: -6,
            weight: 2),
        City(
            name: "São Paulo", country: "Brazil", region: "Latin America", population: 11_451_999, utcOffset: -3,
            weight: 3),
        City(
            name: "Buenos Aires", country: "Argentina", region: "Latin America", population: 3_121_707, utcOffset: -3,
            weight: 1.5),
        City(
            name: "Bogotá", country: "Colombia", region: "Latin America", population: 7_901_653, utcOffset: -5,
            weight: 1),
        City(
            name: "Santiago", country: "Chile", region: "Latin America", population: 6_310_000, utcOffset: -4, weight: 1
        ),
        City(
            name: "London", country: "United Kingdom", region: "Europe", population: 8_866_180, utcOffset: 0, weight: 8),
        City(
            name: "Manchester", country: "United Kingdom", region: "Europe", population: 568_996, utcOffset: 0,
            weight: 1.5),
        City(name: "Dublin", country: "Ireland", region: "Europe", population: 592_713, utcOffset: 0, weight: 2),
        City(name: "Berlin", country: "Germany", region: "Europe", population: 3_878_100, utcOffset: 1, weight: 5),
        City(name: "Munich", country: "Germany", region: "Europe", population: 1_510_378, utcOffset: 1, weight: 2),
        City(name: "Hamburg", country: "Germany", region: "Europe", population: 1_910_160, utcOffset: 1, weight: 1.5),
        City(name: "Paris", country: "France", region: "Europe", population: 2_102_650, utcOffset: 1, weight: 4),
        City(name: "Lyon", country: "France", region: "Europe", population: 522_250, utcOffset: 1, weight: 1),
        City(name: "Amsterdam", country: "Netherlands", region: "Europe", population: 931_298, utcOffset: 1, weight: 3),
        City(name: "Madrid", country: "Spain", region: "Europe", population: 3_332_035, utcOffset: 1, weight: 2),
        City(name: "Barcelona", country: "Spain", region: "Europe", population: 1_620_343, utcOffset: 1, weight: 2),
        City(name: "Lisbon", country: "Portugal", region: "Europe", population: 545_796, utcOffset: 0, weight: 1.5),
        City(name: "Milan", country: "Italy", region: "Europe", population: 1_371_498, utcOffset: 1, weight: 1.5),
        City(name: "Stockholm", country: "Sweden", region: "Europe", population: 984_748, utcOffset: 1, weight: 2),
        City(name: "Copenhagen", country: "Denmark", region: "Europe", population: 660_842, utcOffset: 1, weight: 1.5),
        City(name: "Oslo", country: "Norway", region: "Europe", population: 709_037, utcOffset: 1, weight: 1),
        City(name: "Helsinki", country: "Finland", region: "Europe", population: 674_963, utcOffset: 2, weight: 1),
        City(name: "Zurich", country: "Switzerland", region: "Europe", population: 436_332, utcOffset: 1, weight: 1.5),
        City(name: "Vienna", country: "Austria", region: "Europe", population: 2_005_760, utcOffset: 1, weight: 1),
        City(name: "Warsaw", country: "Poland", region: "Europe", population: 1_861_975, utcOffset: 1, weight: 1.5),
        City(name: "Prague", country: "Czechia", region: "Europe", population: 1_357_326, utcOffset: 1, weight: 1),
        City(
            name: "Tel Aviv", country: "Israel", region: "Middle East & Africa", population: 474_530, utcOffset: 2,
            weight: 1.5),
        City(
            name: "Dubai", country: "United Arab Emirates", region: "Middle East & Africa", population: 3_604_030,
            utcOffset: 4, weight: 1.5),
        City(
            name: "Cape Town", country: "South Africa", region: "Middle East & Africa", population: 4_772_846,
            utcOffset: 2, weight: 1),
        City(
            name: "Lagos", country: "Nigeria", region: "Middle East & Africa", population: 15_388_000, utcOffset: 1,
            weight: 1),
        City(
            name: "Nairobi", country: "Kenya", region: "Middle East & Africa", population: 4_397_073, utcOffset: 3,
            weight: 0.8),
        City(
            name: "Bangalore", country: "India", region: "Asia Pacific", population: 8_443_675, utcOffset: 5, weight: 3),
        City(
            name: "Mumbai", country: "India", region: "Asia Pacific", population: 12_478_447, utcOffset: 5, weight: 1.5),
        City(
            name: "Singapore", country: "Singapore", region: "Asia Pacific", population: 5_917_600, utcOffset: 8,
            weight: 2.5),
        City(
            name: "Tokyo", country: "Japan", region: "Asia Pacific", population: 14_047_594, utcOffset: 9, weight: 2.5),
        City(
            name: "Seoul", country: "South Korea", region: "Asia Pacific", population: 9_411_000, utcOffset: 9,
            weight: 1.5),
        City(
            name: "Sydney", country: "Australia", region: "Asia Pacific", population: 5_450_496, utcOffset: 10,
            weight: 3),
        City(
            name: "Melbourne", country: "Australia", region: "Asia Pacific", population: 5_207_145, utcOffset: 10,
            weight: 2),
        City(
            name: "Auckland", country: "New Zealand", region: "Asia Pacific", population: 1_693_000, utcOffset: 12,
            weight: 1),
    ]

    /// An integration app on the Larkspur platform.
    struct App {
        let name: String
        let slug: String
        let developer: String
        let category: String
        /// `YYYY-MM-DD`.
        let launchedOn: String
    }

    static let apps: [App] = [
        App(name: "Slack", slug: "slack", developer: "Larkspur", category: "Communication", launchedOn: "2023-06-12"),
        App(
            name: "Google Drive", slug: "google-drive", developer: "Larkspur", category: "Files",
            launchedOn: "2023-06-12"),
        App(name: "GitHub", slug: "github", developer: "Larkspur", category: "Engineering", launchedOn: "2023-09-04"),
        App(name: "Zoom", slug: "zoom", developer: "Larkspur", category: "Communication", launchedOn: "2024-02-19"),
        App(
            name: "Figma Embeds", slug: "figma-embeds", developer: "Larkspur", category: "Design",
            launchedOn: "2024-05-06"),
        App(
            name: "Outlook Calendar", slug: "outlook-calendar", developer: "Larkspur", category: "Calendar",
            launchedOn: "2025-02-03"),
        App(
            name: "Jira Bridge", slug: "jira-bridge", developer: "Tandem Works", category: "Engineering",
            launchedOn: "2025-05-12"),
        App(
            name: "Time Tracker", slug: "time-tracker", developer: "Clockwise Labs", category: "Productivity",
            launchedOn: "2026-09-15"),
        App(
            name: "Invoice Sync", slug: "invoice-sync", developer: "Ledgerline", category: "Finance",
            launchedOn: "2026-09-15"),
        App(
            name: "Salesforce Connector", slug: "salesforce-connector", developer: "Northbeam", category: "Sales",
            launchedOn: "2026-09-15"),
        App(
            name: "HubSpot Sync", slug: "hubspot-sync", developer: "Northbeam", category: "Sales",
            launchedOn: "2026-09-15"),
        App(
            name: "Gantt Pro", slug: "gantt-pro", developer: "Meridian Apps", category: "Planning",
            launchedOn: "2026-09-15"),
        App(
            name: "OKR Board", slug: "okr-board", developer: "Meridian Apps", category: "Planning",
            launchedOn: "2026-09-15"),
        App(
            name: "Standup Bot", slug: "standup-bot", developer: "Pebble & Co", category: "Communication",
            launchedOn: "2026-09-15"),
        App(
            name: "Zendesk Tickets", slug: "zendesk-tickets", developer: "Helpwise", category: "Support",
            launchedOn: "2026-09-15"),
        App(
            name: "Intercom Inbox", slug: "intercom-inbox", developer: "Helpwise", category: "Support",
            launchedOn: "2026-09-15"),
        App(
            name: "Miro Boards", slug: "miro-boards", developer: "Canvasly", category: "Design",
            launchedOn: "2026-09-15"),
        App(
            name: "Dropbox Files", slug: "dropbox-files", developer: "Larkspur", category: "Files",
            launchedOn: "2026-09-15"),
        App(
            name: "Budget Planner", slug: "budget-planner", developer: "Ledgerline", category: "Finance",
            launchedOn: "2026-09-22"),
        App(
            name: "Hiring Pipeline", slug: "hiring-pipeline", developer: "Talentry", category: "HR",
            launchedOn: "2026-09-22"),
        App(
            name: "PTO Calendar", slug: "pto-calendar", developer: "Talentry", category: "HR", launchedOn: "2026-09-29"),
        App(
            name: "Docs Linker", slug: "docs-linker", developer: "Paperkite", category: "Files",
            launchedOn: "2026-09-29"),
        App(
            name: "Form Builder", slug: "form-builder", developer: "Paperkite", category: "Productivity",
            launchedOn: "2026-10-06"),
        App(
            name: "Retro Board", slug: "retro-board", developer: "Pebble & Co", category: "Engineering",
            launchedOn: "2026-10-06"),
        App(
            name: "Sentry Alerts", slug: "sentry-alerts", developer: "Tandem Works", category: "Engineering",
            launchedOn: "2026-10-13"),
        App(
            name: "Release Notes", slug: "release-notes", developer: "Tandem Works", category: "Engineering",
            launchedOn: "2026-10-20"),
        App(
            name: "Content Calendar", slug: "content-calendar", developer: "Brightloop", category: "Marketing",
            launchedOn: "2026-10-20"),
        App(
            name: "Campaign Tracker", slug: "campaign-tracker", developer: "Brightloop", category: "Marketing",
            launchedOn: "2026-10-27"),
        App(
            name: "Risk Register", slug: "risk-register", developer: "Meridian Apps", category: "Planning",
            launchedOn: "2026-11-03"),
        App(
            name: "Translation Hub", slug: "translation-hub", developer: "Polyglot", category: "Productivity",
            launchedOn: "2026-11-10"),
        App(
            name: "Workload Heatmap", slug: "workload-heatmap", developer: "Clockwise Labs", category: "Planning",
            launchedOn: "2026-11-17"),
        App(
            name: "Expense Approvals", slug: "expense-approvals", developer: "Ledgerline", category: "Finance",
            launchedOn: "2026-11-24"),
    ]

    /// An ad campaign; `channel` is 0 twitter, 1 search, 2 partner.
    struct Campaign {
        let name: String
        let slug: String
        let channel: String
        let startedOn: String
        let endedOn: String
        let budget: Double
    }

    static let campaigns: [Campaign] = [
        Campaign(
            name: "Winter Search 2024", slug: "winter-search-2024", channel: "search", startedOn: "2024-12-02",
            endedOn: "2025-02-28", budget: 96_000),
        Campaign(
            name: "Brand Search 2025", slug: "brand-search-2025", channel: "search", startedOn: "2025-01-06",
            endedOn: "2025-12-19", budget: 240_000),
        Campaign(
            name: "Timeline Launch on Twitter", slug: "timeline-launch-twitter-2025", channel: "twitter",
            startedOn: "2025-03-11", endedOn: "2025-04-08", budget: 45_000),
        Campaign(
            name: "Spring Partners 2025", slug: "spring-partner-2025", channel: "partner", startedOn: "2025-04-01",
            endedOn: "2025-06-30", budget: 60_000),
        Campaign(
            name: "Mobile 2.0 Launch Search", slug: "mobile-launch-search-2025", channel: "search",
            startedOn: "2025-06-17", endedOn: "2025-07-31", budget: 55_000),
        Campaign(
            name: "Summer Twitter 2025", slug: "summer-twitter-2025", channel: "twitter", startedOn: "2025-07-14",
            endedOn: "2025-08-22", budget: 38_000),
        Campaign(
            name: "Referral Launch Partners", slug: "referral-launch-partner-2025", channel: "partner",
            startedOn: "2025-09-09", endedOn: "2025-10-31", budget: 42_000),
        Campaign(
            name: "Autumn Search 2025", slug: "autumn-search-2025", channel: "search", startedOn: "2025-09-22",
            endedOn: "2025-11-28", budget: 70_000),
        Campaign(
            name: "Holiday Twitter 2025", slug: "holiday-twitter-2025", channel: "twitter", startedOn: "2025-11-24",
            endedOn: "2025-12-19", budget: 30_000),
        Campaign(
            name: "Brand Search 2026", slug: "brand-search-2026", channel: "search", startedOn: "2026-01-05",
            endedOn: "2026-12-18", budget: 280_000),
        Campaign(
            name: "New Pricing Search", slug: "pricing-search-2026", channel: "search", startedOn: "2026-01-20",
            endedOn: "2026-03-31", budget: 64_000),
        Campaign(
            name: "Spring Twitter 2026", slug: "spring-twitter-2026", channel: "twitter", startedOn: "2026-04-14",
            endedOn: "2026-05-12", budget: 150_000),
        Campaign(
            name: "Q2 Partners 2026", slug: "q2-partner-2026", channel: "partner", startedOn: "2026-05-04",
            endedOn: "2026-06-26", budget: 58_000),
        Campaign(
            name: "Summer Search 2026", slug: "summer-search-2026", channel: "search", startedOn: "2026-06-15",
            endedOn: "2026-08-28", budget: 72_000),
        Campaign(
            name: "Marketplace Launch on Twitter", slug: "marketplace-launch-twitter-2026", channel: "twitter",
            startedOn: "2026-09-15", endedOn: "2026-10-09", budget: 40_000),
        Campaign(
            name: "Marketplace Partners", slug: "marketplace-partner-2026", channel: "partner", startedOn: "2026-09-15",
            endedOn: "2026-11-30", budget: 66_000),
        Campaign(
            name: "Black Friday Search 2026", slug: "black-friday-search-2026", channel: "search",
            startedOn: "2026-11-16", endedOn: "2026-11-30", budget: 35_000),
    ]

    /// An A/B experiment on new sign-ups.
    struct Experiment {
        let id: String
        let name: String
        let hypothesis: String
        let goal: String
        let startedOn: String
        /// Planned last day; `nil` while open-ended.
        let endsOn: String?
    }

    static let experiments: [Experiment] = [
        Experiment(
            id: "onboarding-checklist", name: "Onboarding checklist",
            hypothesis: "A checklist on the first screen gets more new users to create their first task within a week.",
            goal: "activated", startedOn: "2026-02-03", endsOn: "2026-03-17"),
        Experiment(
            id: "pricing-page-annual", name: "Annual billing first on the pricing page",
            hypothesis: "Showing annual prices first makes more new workspaces choose annual billing.",
            goal: "annual_plan_selected", startedOn: "2026-05-19", endsOn: "2026-06-30"),
        Experiment(
            id: "invite-nudge", name: "Invite nudge after the first project",
            hypothesis: "Prompting new users to invite a teammate after their first project increases invites.",
            goal: "invite_sent", startedOn: "2026-10-27", endsOn: nil),
    ]

    /// CRM account owners at Larkspur; the first four own the enterprise book.
    static let accountOwners: [(name: String, email: String)] = [
        ("Maya Lindqvist", "maya.lindqvist@larkspur.io"),
        ("Daniel Okafor", "daniel.okafor@larkspur.io"),
        ("Priya Raman", "priya.raman@larkspur.io"),
        ("Tomás Herrera", "tomas.herrera@larkspur.io"),
        ("Hannah Becker", "hannah.becker@larkspur.io"),
        ("Kenji Watanabe", "kenji.watanabe@larkspur.io"),
        ("Aisha Bello", "aisha.bello@larkspur.io"),
        ("Lucas Moreau", "lucas.moreau@larkspur.io"),
        ("Sofia Rossi", "sofia.rossi@larkspur.io"),
        ("Ethan Brooks", "ethan.brooks@larkspur.io"),
        ("Chloe Nguyen", "chloe.nguyen@larkspur.io"),
        ("Oliver Grant", "oliver.grant@larkspur.io"),
    ]

    /// The named major customers (name, domain, industry); the first three decline.
    static let namedMajors: [(name: String, domain: String, industry: String)] = [
        ("Globex Corporation", "globex.com", "Manufacturing"),
        ("Initech", "initech.com", "Software"),
        ("Umbrella Corporation", "umbrella.co", "Healthcare"),
        ("Acme Corporation", "acme.com", "Manufacturing"),
        ("Hooli", "hooli.com", "Software"),
        ("Stark Industries", "starkindustries.com", "Manufacturing"),
        ("Wayne Enterprises", "wayne.com", "Financial Services"),
        ("Cyberdyne Systems", "cyberdyne.io", "Software"),
        ("Tyrell Corporation", "tyrell.com", "Manufacturing"),
        ("Wonka Industries", "wonka.com", "Retail"),
        ("Soylent Corp", "soylent.com", "Retail"),
        ("Massive Dynamic", "massivedynamic.com", "Software"),
        ("Vandelay Industries", "vandelay.com", "Logistics"),
        ("Dunder Mifflin", "dundermifflin.com", "Retail"),
        ("Pied Piper", "piedpiper.com", "Software"),
        ("Aperture Science", "aperture.com", "Education"),
        ("Oscorp", "oscorp.com", "Healthcare"),
        ("Monarch Solutions", "monarch.io", "Consulting"),
        ("Blue Sun Corporation", "bluesun.com", "Media"),
        ("Gringotts Holdings", "gringotts.co", "Financial Services"),
    ]

    static let industries: [String] = [
        "Software", "Marketing & Advertising", "Financial Services", "Healthcare", "Education", "Retail",
        "Manufacturing", "Media", "Nonprofit", "Consulting", "Logistics", "Real Estate", "Legal", "Hospitality",
    ]

    static let namePrefixes: [String] = [
        "Blue", "North", "Silver", "Bright", "Red", "Green", "Quiet", "Swift", "Iron", "Golden", "Maple", "Cedar",
        "Stone", "River", "Sun", "Moon", "Star", "Cloud", "Oak", "Pine", "Clear", "Deep", "High", "Far", "True",
        "Wild", "Little", "Open", "Bold", "Fair", "Rose", "Amber", "Copper", "Jade", "Coral", "Ember", "Frost",
        "Harbor", "Lark", "Meadow", "Nova", "Orbit", "Pixel", "Quill", "Rapid", "Sage", "Tidal", "Urban", "Vivid",
        "West", "East", "South", "Kite", "Lumen", "Mosaic", "Nimble", "Polar", "Summit", "Vector", "Zenith",
    ]

    static let nameStems: [String] = [
        "field", "bridge", "stone", "wave", "path", "works", "forge", "leaf", "point", "light", "gate", "mark",
        "line", "spring", "wood", "brook", "hill", "peak", "port", "shore", "craft", "mill", "yard", "ridge",
        "bay", "crest", "dale", "fox", "hawk", "wing", "beam", "loop", "nest", "root", "sail", "spark", "tide",
        "vale", "well", "bloom", "cast", "desk", "frame", "grid", "hub", "jet", "key", "lane", "mint", "note",
    ]

    static let nameSuffixes: [String] = [
        "Labs", "Studio", "Group", "Systems", "Partners", "Co", "Digital", "Analytics", "Health", "Logistics",
        "Media", "Ventures", "Consulting", "Foods", "Energy", "Learning", "Legal", "Design", "Capital", "Works",
    ]

    static let topLevelDomains: [String] = [".com", ".io", ".co", ".dev", ".app", ".net", ".org", ".ai"]

    /// An error a service logs; `{n}` in the message is replaced by a number.
    struct ErrorKind {
        let errorClass: String
        let message: String
    }

    /// Error kinds per service, in the order `api`, `web`, `sync`, `search`, `billing`.
    static let services: [String] = ["api", "web", "sync", "search", "billing"]
    static let errorKinds: [[ErrorKind]] = [
        [
            ErrorKind(errorClass: "TimeoutError", message: "Request to /v2/projects/{n}/tasks timed out after 30s"),
            ErrorKind(errorClass: "RateLimitExceeded", message: "Rate limit exceeded for token #{n}"),
            ErrorKind(errorClass: "ValidationError", message: "Field due_date of task {n} is not a valid date"),
        ],
        [
            ErrorKind(errorClass: "ChunkLoadError", message: "Loading chunk {n} failed"),
            ErrorKind(
                errorClass: "TypeError",
                message: "Cannot read properties of undefined (reading 'assignee') in board {n}"),
        ],
        [
            ErrorKind(errorClass: "SyncConflictError", message: "Conflicting edits to task {n} could not be merged"),
            ErrorKind(errorClass: "SyncTimeoutError", message: "Sync of project {n} timed out waiting for the replica"),
            ErrorKind(errorClass: "ReplicaLagError", message: "Replica lag of {n}s exceeds the 60s limit"),
        ],
        [
            ErrorKind(errorClass: "IndexUnavailable", message: "Search index shard {n} is unavailable"),
            ErrorKind(errorClass: "QueryTimeout", message: "Search query timed out after {n}ms"),
        ],
        [
            ErrorKind(errorClass: "CardDeclined", message: "Card declined for invoice INV-{n}"),
            ErrorKind(errorClass: "InvoiceGenerationFailed", message: "Invoice INV-{n} could not be rendered"),
        ],
    ]
}
