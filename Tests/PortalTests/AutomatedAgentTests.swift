import Testing

@testable import Portal

/// Crawlers and monitors are told from people by their user agents, in any case and anywhere in
/// the string, without counting people whose browsers merely look similar.
@Suite struct AutomatedAgentTests {
    @Test(arguments: [
        "Googlebot/2.1 (+http://www.google.com/bot.html)", "kube-probe/1.29", "Mozilla/5.0 (compatible; BINGBOT/2.0)",
        "ELB-HealthChecker/2.0", "Prometheus/2.51.0", "blackbox-exporter/0.25", "Pingdom.com_bot_version_1.4",
        "UptimeRobot/2.0", "my-HEALTH-CHECK", "Site Monitor", "crawler", "ébot ünicode",
    ])
    func automatedAgentsAreRecognised(agent: String) {
        #expect(ViewContext.isAutomated(agent: agent))
    }

    @Test(arguments: [
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
        "curl/8.5.0", "b", "bo", "b-o-t", "Bo", "monito", "MÖNITOR", "",
    ])
    func peopleAreNotAutomated(agent: String) {
        #expect(!ViewContext.isAutomated(agent: agent))
    }
}
