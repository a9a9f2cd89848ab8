import Testing

/// The portal tests that need real sockets: a browser, report apps behind the proxy, remote
/// generators. They run one at a time (beside the in-process tests), so that however many
/// there are, the machine is never busy with more than one of them; every other portal test
/// calls the routes in process.
@Suite(.serialized, .timeLimit(.minutes(10))) enum RealSocketTests {}
