import Foundation

/// Sign-up channels, in the order the generator indexes them.
enum Channel {
    static let names = ["search", "twitter", "referral", "organic", "partner", "invite"]
    static let search: UInt8 = 0
    static let twitter: UInt8 = 1
    static let referral: UInt8 = 2
    static let organic: UInt8 = 3
    static let partner: UInt8 = 4
    static let invite: UInt8 = 5
    /// Baseline share of sign-ups per channel.
    static let baseShares: [Double] = [0.22, 0.04, 0.07, 0.20, 0.06, 0.41]
    /// Probability that a sign-up from the channel creates a task within 7 days.
    static let activation: [Double] = [0.40, 0.30, 0.50, 0.42, 0.45, 0.55]
}

/// Platforms, in the order the generator indexes them.
enum Platform {
    static let names = ["web", "ios", "android"]

    /// Platform mix of sign-ups and of events away from a user's own platform on `day`.
    static func mix(on day: Int) -> [Double] {
        day >= Milestone.mobile2 ? [0.60, 0.25, 0.15] : [0.80, 0.13, 0.07]
    }
}

/// Workspace tiers.
enum Tier {
    static let names = ["major", "mid", "smb"]
    static let major: UInt8 = 0
    static let mid: UInt8 = 1
    static let smb: UInt8 = 2
}

/// One user account, packed for the hot loops.
struct UserRecord {
    /// Seconds since 1970 UTC.
    var signup: Int = 0
    /// Seconds since 1970 UTC of the first `task_created`, or -1.
    var activated: Int = -1
    var workspace: Int32 = 0
    /// Last day (day number) the user may be active: after it they have left for good.
    var lastActiveDay: Int32 = 0
    /// Relative number of events on the days the user is active.
    var weight: Int32 = 1
    /// How keen the user is, before onboarding, launches and their workspace's fortunes
    /// (see ``EngagementModel``): below 0 they tend to stay dormant, above about 1.6 to be power users.
    var engagement: Float = 0
    var city: Int16 = 0
    var campaign: Int16 = -1
    var channel: UInt8 = 0
    var platform: UInt8 = 0
    var isFounder = false

    var signupDay: Int { signup / 86_400 }
}

/// One customer workspace.
struct WorkspaceRecord {
    var name = ""
    var domain = ""
    var industry = ""
    var city = 0
    var tier: UInt8 = Tier.smb
    var founder = 0
    /// Seconds since 1970 UTC (the founder's sign-up).
    var created = 0
    /// Relative chance that a new user joins it.
    var attraction = 1.0
    /// Loses active users from 2026-08-01.
    var declining = false
    /// Day number the workspace stops paying for good, if it churns by story.
    var churnDay: Int?
    /// Current plan (index into ``Billing/planNames``) and seats, filled by billing.
    var plan = 0
    var seats = 0

    var createdDay: Int { created / 86_400 }
}

/// An experiment row with its window resolved against the history.
struct ExperimentWindow {
    let experiment: ReferenceData.Experiment
    let startDay: Int
    /// Last day of assignment (inclusive).
    let lastAssignDay: Int
    let concluded: Bool
}

/// An experiment assignment or conversion, kept until written.
struct ExperimentRow {
    var experiment: Int
    var user: Int
    var treatment: Bool
    var at: Int
}

/// Everything about who the customers and users are: the output of the population phase.
struct Population {
    var users: [UserRecord] = []
    var workspaces: [WorkspaceRecord] = []
    var assignments: [ExperimentRow] = []
    var conversions: [ExperimentRow] = []
    var experiments: [ExperimentWindow] = []
    /// Campaign day ranges (start, end inclusive) and channel index.
    var campaignDays: [(start: Int, end: Int, channel: UInt8)] = []
    /// Running sums of the pricing-page-annual experiment's systematic sampling, per arm.
    private var pricingSystematic = [0.5, 0.5]
}

extension Population {
    static func generate(plan: GenerationPlan) -> Population {
        var population = Population()
        population.campaignDays = ReferenceData.campaigns.map { campaign in
            let channel = UInt8(Channel.names.firstIndex(of: campaign.channel) ?? 0)
            return (CivilCalendar.parse(campaign.startedOn)!, CivilCalendar.parse(campaign.endedOn)!, channel)
        }
        population.experiments = ReferenceData.experiments.compactMap { experiment in
            let start = CivilCalendar.parse(experiment.startedOn)!
            guard start <= plan.lastDay else { return nil }
            let end = experiment.endsOn.flatMap(CivilCalendar.parse)
            let concluded = end.map { $0 <= plan.lastDay } ?? false
            return ExperimentWindow(
                experiment: experiment, startDay: start, lastAssignDay: min(end ?? plan.lastDay, plan.lastDay),
                concluded: concluded)
        }
        population.generateSignups(plan: plan)
        population.generateWorkspaces(plan: plan)
        population.assignUsers(plan: plan)
        population.assignEngagement(plan: plan)
        return population
    }

    /// Channel weights of sign-ups on `day` (shares × launch and campaign multipliers).
    func channelWeights(on day: Int) -> [Double] {
        var weights = Channel.baseShares
        if day >= Milestone.referralProgramme { weights[Int(Channel.referral)] *= 2.0 }
        if day >= Milestone.springTwitterStart && day <= Milestone.springTwitterEnd {
            weights[Int(Channel.twitter)] *= 7.0
        } else if campaignDays.contains(where: { $0.channel == Channel.twitter && day >= $0.start && day <= $0.end }) {
            weights[Int(Channel.twitter)] *= 1.8
        }
        if campaignDays.contains(where: { $0.channel == Channel.search && day >= $0.start && day <= $0.end }) {
            weights[Int(Channel.search)] *= 1.25
        }
        if campaignDays.contains(where: { $0.channel == Channel.partner && day >= $0.start && day <= $0.end }) {
            weights[Int(Channel.partner)] *= 1.5
        }
        return weights
    }

    /// Seasonal factor shared by sign-ups and activity: weekends, December holidays.
    static func seasonality(_ day: Int) -> Double {
        var factor = CivilCalendar.isWeekend(day) ? 0.4 : 1.0
        let date = CivilCalendar.civil(day)
        if (date.month == 12 && date.day >= 20) || (date.month == 1 && date.day <= 2) {
            factor *= 0.5
        } else if date.month == 12 {
            factor *= 0.88
        }
        return factor
    }

    /// Splits `total` into integer parts proportional to `weights` (largest remainder).
    static func apportion(_ total: Int, weights: [Double]) -> [Int] {
        let sum = weights.reduce(0, +)
        var counts = [Int](repeating: 0, count: weights.count)
        var remainders: [(Double, Int)] = []
        remainders.reserveCapacity(weights.count)
        var assigned = 0
        for (index, weight) in weights.enumerated() {
            let exact = Double(total) * weight / sum
            let whole = Int(exact.rounded(.down))
            counts[index] = whole
            assigned += whole
            remainders.append((exact - Double(whole), index))
        }
        remainders.sort { $0.0 != $1.0 ? $0.0 > $1.0 : $0.1 < $1.1 }
        // Floating-point error can leave the floors a unit above or below the total; settle it here.
        var position = 0
        while assigned < total {
            counts[remainders[position % remainders.count].1] += 1
            assigned += 1
            position += 1
        }
        position = remainders.count - 1
        while assigned > total {
            let index = remainders[(position + remainders.count) % remainders.count].1
            if counts[index] > 0 {
                counts[index] -= 1
                assigned -= 1
            }
            position -= 1
        }
        return counts
    }

    /// UTC hour weights of sign-ups (Europe and the Americas awake).
    static let signupHourWeights: [Double] = [
        1.2, 1.0, 0.8, 0.8, 0.9, 1.2, 2.0, 3.0, 4.2, 4.8, 5.0, 4.8, 4.6, 5.2, 5.8, 5.8, 5.4, 4.8, 4.2, 3.6, 3.0, 2.5,
        2.0, 1.5,
    ]

    private mutating func generateSignups(plan: GenerationPlan) {
        var rng = Rng(seed: plan.seed, stream: 1)
        let growth = log(1.45) / 730  // plus referral doubling and campaigns ≈ 60% over two years
        let days = Array(plan.originDay...plan.lastDay)
        let weights = days.map { day -> Double in
            let noise = max(0.75, min(1.25, 1 + 0.07 * rng.normal()))
            let channels = channelWeights(on: day).reduce(0, +)
            return exp(growth * Double(day - plan.firstDay)) * Population.seasonality(day) * noise * channels
        }
        let counts = Population.apportion(plan.userCount, weights: weights)
        var hourCumulative: [Double] = []
        var running = 0.0
        for weight in Population.signupHourWeights {
            running += weight
            hourCumulative.append(running)
        }
        users.reserveCapacity(plan.userCount)
        var seconds: [Int] = []
        for (offset, count) in counts.enumerated() where count > 0 {
            let day = days[offset]
            seconds.removeAll(keepingCapacity: true)
            for _ in 0..<count {
                let target = rng.unit() * running
                var hour = 0
                while hour < 23 && hourCumulative[hour] <= target { hour += 1 }
                seconds.append(hour * 3600 + rng.below(3600))
            }
            seconds.sort()
            for second in seconds {
                var user = UserRecord()
                user.signup = day * 86_400 + second
                users.append(user)
            }
        }
    }

    private mutating func generateWorkspaces(plan: GenerationPlan) {
        var rng = Rng(seed: plan.seed, stream: 2)
        let count = plan.workspaceCount
        let midCount = max(1, count / 10)
        let smbCount = count - plan.majorCount - midCount
        let userCount = users.count
        var taken = [Bool](repeating: false, count: userCount)
        var usedDomains = Set<String>()
        let cityWeights = ReferenceData.cities.map(\.weight)
        let decliners = Set(["globex.com", "initech.com", "umbrella.co"])
        workspaces.reserveCapacity(count)
        for index in 0..<count {
            var workspace = WorkspaceRecord()
            let founderRange: Int
            if index < plan.majorCount {
                workspace.tier = Tier.major
                founderRange = max(1, userCount * 12 / 100)
                workspace.attraction = 0.24 / Double(plan.majorCount) * exp(0.35 * rng.normal())
            } else if index < plan.majorCount + midCount {
                workspace.tier = Tier.mid
                founderRange = max(1, userCount * 55 / 100)
                workspace.attraction = 0.30 / Double(midCount) * exp(0.5 * rng.normal())
            } else {
                workspace.tier = Tier.smb
                founderRange = userCount
                workspace.attraction = 0.46 / Double(smbCount) * exp(0.6 * rng.normal())
            }
            var founder = rng.below(founderRange)
            while taken[founder] { founder = (founder + 1) % userCount }
            taken[founder] = true
            workspace.founder = founder
            workspace.city = rng.pick(cityWeights)
            if index < min(plan.majorCount, ReferenceData.namedMajors.count) {
                let named = ReferenceData.namedMajors[index]
                workspace.name = named.name
                workspace.domain = named.domain
                workspace.industry = named.industry
                workspace.declining = decliners.contains(named.domain)
                if named.domain == "umbrella.co" { workspace.churnDay = Milestone.umbrellaChurn }
            } else {
                var attempt = 0
                while true {
                    let prefix = ReferenceData.namePrefixes[rng.below(ReferenceData.namePrefixes.count)]
                    let stem = ReferenceData.nameStems[rng.below(ReferenceData.nameStems.count)]
                    let tld = ReferenceData.topLevelDomains[rng.below(ReferenceData.topLevelDomains.count)]
                    let suffix = ReferenceData.nameSuffixes[rng.below(ReferenceData.nameSuffixes.count)]
                    let word = prefix + stem
                    let number = attempt >= 12 ? String(rng.between(2, 999)) : ""
                    let domain = word.lowercased() + number + tld
                    attempt += 1
                    guard !usedDomains.contains(domain) else { continue }
                    workspace.name = number.isEmpty ? "\(word) \(suffix)" : "\(word) \(number) \(suffix)"
                    workspace.domain = domain
                    break
                }
                workspace.industry = ReferenceData.industries[rng.below(ReferenceData.industries.count)]
            }
            usedDomains.insert(workspace.domain)
            workspaces.append(workspace)
        }
        // The very first user founds a workspace, so every later user has one to join.
        if !taken[0], let earliest = workspaces.indices.min(by: { workspaces[$0].founder < workspaces[$1].founder }) {
            workspaces[earliest].founder = 0
        }
        for index in workspaces.indices {
            workspaces[index].created = users[workspaces[index].founder].signup
        }
    }

    private mutating func assignUsers(plan: GenerationPlan) {
        var rng = Rng(seed: plan.seed, stream: 3)
        let order = workspaces.indices.sorted { workspaces[$0].founder < workspaces[$1].founder }
        var cumulative: [Double] = []
        cumulative.reserveCapacity(order.count)
        var running = 0.0
        for index in order {
            running += workspaces[index].attraction
            cumulative.append(running)
        }
        var foundedBy = [Int32](repeating: -1, count: users.count)
        for (index, workspace) in workspaces.enumerated() { foundedBy[workspace.founder] = Int32(index) }
        let cityWeights = ReferenceData.cities.map(\.weight)
        var cityCumulative: [Double] = []
        var cityTotal = 0.0
        for weight in cityWeights {
            cityTotal += weight
            cityCumulative.append(cityTotal)
        }
        let onboardingIndex = experiments.firstIndex { $0.experiment.id == "onboarding-checklist" }
        var systematic = [rng.unit(), rng.unit()]
        let lastSecond = plan.lastDay * 86_400 + 86_399
        var available = 0
        var cachedDay = Int.min
        var cachedChannels: [Double] = []
        var cachedFounderChannels: [Double] = []
        var cachedPlatforms: [Double] = []
        var cachedCampaigns: [Int] = []

        for index in users.indices {
            var user = users[index]
            let day = user.signupDay
            if day != cachedDay {
                cachedDay = day
                cachedChannels = channelWeights(on: day)
                cachedFounderChannels = cachedChannels
                cachedFounderChannels[Int(Channel.invite)] = 0
                cachedPlatforms = Platform.mix(on: day)
                cachedCampaigns = campaignDays.indices.filter {
                    day >= campaignDays[$0].start && day <= campaignDays[$0].end
                }
            }
            while available < order.count && workspaces[order[available]].founder <= index { available += 1 }

            // Workspace.
            let workspaceIndex: Int
            if foundedBy[index] >= 0 {
                workspaceIndex = Int(foundedBy[index])
                user.isFounder = true
            } else {
                var chosen = order[max(0, available - 1)]
                for _ in 0..<64 {
                    let target = rng.unit() * cumulative[available - 1]
                    var low = 0
                    var high = available - 1
                    while low < high {
                        let mid = (low + high) / 2
                        if cumulative[mid] <= target { low = mid + 1 } else { high = mid }
                    }
                    let candidate = order[low]
                    let workspace = workspaces[candidate]
                    if let churn = workspace.churnDay, day >= churn { continue }
                    if workspace.declining && day >= Milestone.declineStart && !rng.chance(0.1) { continue }
                    chosen = candidate
                    break
                }
                workspaceIndex = chosen
            }
            let workspace = workspaces[workspaceIndex]
            user.workspace = Int32(workspaceIndex)

            // Where from, how, on what.
            if user.isFounder || rng.chance(0.6) {
                user.city = Int16(workspace.city)
            } else {
                let target = rng.unit() * cityTotal
                user.city = Int16(cityCumulative.firstIndex { $0 > target } ?? cityCumulative.count - 1)
            }
            user.channel = UInt8(rng.pick(user.isFounder ? cachedFounderChannels : cachedChannels))
            if user.channel == Channel.twitter || user.channel == Channel.search || user.channel == Channel.partner {
                if let campaign = cachedCampaigns.last(where: { campaignDays[$0].channel == user.channel }),
                    rng.chance(0.75)
                {
                    user.campaign = Int16(campaign)
                }
            }
            user.platform = UInt8(rng.pick(cachedPlatforms))

            // Activation, with the onboarding-checklist experiment's lift for its treatment group.
            var activationChance = Channel.activation[Int(user.channel)]
            if workspace.tier == Tier.major { activationChance *= 1.1 }
            if user.platform != 0 { activationChance *= 0.92 }
            var activates: Bool
            var onboardingTreatment: Bool?
            if let experimentIndex = onboardingIndex,
                day >= experiments[experimentIndex].startDay && day <= experiments[experimentIndex].lastAssignDay
            {
                let treatment = rng.chance(0.5)
                onboardingTreatment = treatment
                let arm = treatment ? 1 : 0
                let before = systematic[arm]
                systematic[arm] += activationChance * (treatment ? 1.12 : 1.0)
                activates = systematic[arm].rounded(.down) > before.rounded(.down)
            } else {
                activates = rng.chance(activationChance)
            }
            if activates {
                let roll = rng.unit()
                let delay =
                    roll < 0.55
                    ? rng.between(90, 1_800)
                    : roll < 0.8 ? rng.between(3_600, 86_400) : rng.between(86_400, 7 * 86_400 - 60)
                let at = user.signup + delay
                if at <= lastSecond { user.activated = at } else { activates = false }
            }

            users[index] = user

            recordExperiments(
                user: user, index: index, onboardingTreatment: onboardingTreatment, lastSecond: lastSecond, rng: &rng)
        }
    }

    /// How long each user stays (the last day they may be active) and how engaged and busy they are.
    ///
    /// Most people who activate stay for years (some leave their team early); of those who never
    /// activate, many drift away within three weeks and the rest within a year or two. The
    /// declining majors lose most of their people between 2026-08-01 and the end of November,
    /// and everyone at the churning one before it churns.
    private mutating func assignEngagement(plan: GenerationPlan) {
        var rng = Rng(seed: plan.seed, stream: 10)
        for index in users.indices {
            var user = users[index]
            let workspace = workspaces[Int(user.workspace)]
            let day = user.signupDay
            let activated = user.activated >= 0
            let tierLife = workspace.tier == Tier.major ? 1.5 : workspace.tier == Tier.mid ? 1.2 : 1.0
            var last: Int
            if activated {
                last =
                    rng.chance(0.12)
                    ? day + 7 + Int(rng.exponential(mean: 150 * tierLife))
                    : day + 7 + Int(rng.exponential(mean: 3_000 * tierLife))
            } else {
                last = rng.chance(0.4) ? day + rng.between(0, 21) : day + Int(rng.exponential(mean: 300 * tierLife))
            }
            if workspace.declining && last >= Milestone.declineStart {
                if let churn = workspace.churnDay {
                    last = min(last, Milestone.declineStart + rng.below(max(1, churn - Milestone.declineStart)))
                } else if rng.chance(0.6) {
                    last = min(last, Milestone.declineStart + rng.below(122))
                }
            }
            user.lastActiveDay = Int32(clamping: max(day, last))
            let tierBonus = workspace.tier == Tier.major ? 0.15 : workspace.tier == Tier.mid ? 0.05 : 0
            let inviteBonus = user.channel == Channel.invite ? 0.1 : 0
            user.engagement = Float((activated ? 0.62 : -0.78) + 0.75 * rng.normal() + tierBonus + inviteBonus)
            let tierWeight = workspace.tier == Tier.major ? 1.3 : workspace.tier == Tier.mid ? 1.1 : 1.0
            user.weight = Int32(max(1, min(100_000, 100 * exp(0.6 * rng.normal()) * tierWeight)))
            users[index] = user
        }
    }

    private mutating func recordExperiments(
        user: UserRecord, index: Int, onboardingTreatment: Bool?, lastSecond: Int, rng: inout Rng
    ) {
        let day = user.signupDay
        for (experimentIndex, window) in experiments.enumerated()
        where day >= window.startDay && day <= window.lastAssignDay {
            let endOfDay = day * 86_400 + 86_399
            let assignedAt = min(user.signup + rng.between(5, 45), endOfDay)
            let treatment: Bool
            var convertedAt: Int?
            switch window.experiment.id {
            case "onboarding-checklist":
                treatment = onboardingTreatment ?? false
                if user.activated >= 0 { convertedAt = user.activated }
            case "pricing-page-annual":
                // Systematic sampling per arm, so the (absent) effect is not drowned or faked by noise.
                treatment = rng.chance(0.5)
                let arm = treatment ? 1 : 0
                let before = pricingSystematic[arm]
                pricingSystematic[arm] += treatment ? 0.062 : 0.060
                if pricingSystematic[arm].rounded(.down) > before.rounded(.down) {
                    convertedAt = assignedAt + 60 + Int(rng.exponential(mean: 2 * 86_400))
                }
            default:
                treatment = rng.chance(0.5)
                if rng.chance(treatment ? 0.21 : 0.18) {
                    convertedAt = assignedAt + 60 + Int(rng.exponential(mean: 1.5 * 86_400))
                }
            }
            assignments.append(
                ExperimentRow(experiment: experimentIndex, user: index, treatment: treatment, at: assignedAt))
            if let convertedAt, convertedAt <= lastSecond {
                conversions.append(
                    ExperimentRow(experiment: experimentIndex, user: index, treatment: treatment, at: convertedAt))
            }
        }
    }
}
