import Testing

/// The tests that run the built `almanac` binary (and servers it starts): one at a time, so
/// that the machine is never busy with more than one of them beside the in-process tests.
@Suite(.serialized, .timeLimit(.minutes(10))) enum BinaryTests {}
