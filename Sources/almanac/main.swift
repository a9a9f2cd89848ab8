import AlmanacCLI
import Foundation
import NIOCore
import NIOPosix

#if os(Linux)
/// glibc's `mallopt` (malloc.h, which the Glibc module leaves out).
@_silgen_name("mallopt") func mallopt(_ parameter: Int32, _ value: Int32) -> Int32
/// `M_ARENA_MAX` in malloc.h.
let mallocArenaMax: Int32 = -8

// glibc gives threads that allocate at once their own heap arenas, up to eight per core, and
// memory freed into one arena is not reused by the others: a server that builds pages on every
// event loop thread grows for a long while. Two arenas kept the 10-minute soak's RSS within
// 10% where the default did not (Benchmarks/README.md). MALLOC_ARENA_MAX, when set, decides.
if ProcessInfo.processInfo.environment["MALLOC_ARENA_MAX"] == nil {
    _ = mallopt(mallocArenaMax, 2)
}
#endif

// Swift concurrency runs on NIO's event loop threads rather than a second pool of its own:
// on a small machine, one set of threads (one per core) serves requests with less switching
// and a fairer tail (/api/search under wrk, 32 connections: p99 13.16 ms instead of 68.97 ms;
// Benchmarks/README.md). ALMANAC_EXECUTOR=swift keeps Swift's own pool.
if ProcessInfo.processInfo.environment["ALMANAC_EXECUTOR"] != "swift" {
    _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
}
await AlmanacMain.run()
