import AlmanacCLI
import Foundation
import NIOCore
import NIOPosix

// Swift concurrency runs on NIO's event loop threads rather than a second pool of its own:
// on a small machine, one set of threads (one per core) serves requests with less switching
// and a fairer tail (/api/search under wrk, 32 connections: p99 13.16 ms instead of 68.97 ms;
// Benchmarks/README.md). ALMANAC_EXECUTOR=swift keeps Swift's own pool.
if ProcessInfo.processInfo.environment["ALMANAC_EXECUTOR"] != "swift" {
    _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
}
await AlmanacMain.run()
