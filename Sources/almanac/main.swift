import AlmanacCLI
import NIOCore
import NIOPosix

// Swift concurrency runs on NIO's event loop threads rather than a second pool of its own:
// on a small machine, one set of threads (one per core) serves requests with less switching
// and a fairer tail (Benchmarks/search-http.sh: p99 … ms instead of … ms at 32 connections).
_ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
await AlmanacMain.run()
