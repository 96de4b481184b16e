import ArgumentParser
import Foundation
import NetraDescriptor
import NetraIdentity
import NetraStore
import NetraVision

extension BenchCommand {
    /// `netra bench index`: 1:N search speed against the memory-bandwidth floor, for the float32
    /// scan and the float16 and bfloat16 scans (each with its float32 re-rank) over the same
    /// gallery and queries: one index holding the float16 copy (its float32 scan is timed too)
    /// and one holding the bfloat16 copy, filled with the same rows.
    struct Index: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "1:N search on synthetic vectors: single queries (float32, float16 and bfloat16 scans) and batches, and the memory floors."
        )
        @Option(name: .long, help: "Gallery size.") var n = 1_000_000
        @Option(name: .long, help: "Timed single queries (each scan).") var queries = 200
        @Option(name: .long, help: "Queries per batch.") var batch = 64
        @Option(name: .customLong("top-k"), help: "Subjects per query.") var topK = 10
        @Option(name: .long, help: "OpenBLAS threads for the batched search.") var threads = 1
        @Option(name: .customLong("search-threads"), help: "Threads splitting the rows of a single query.") var searchThreads = 1

        func run() async throws {
            ComputeEnvironment.setBLASThreads(threads)
            var generator = SyntheticVectors(seed: 1)
            let index = FaceIndex(capacity: n, precision: .float16), bfloat16Index = FaceIndex(capacity: n, precision: .bfloat16)
            // The index a scan is timed on: the float32 and float16 scans on the first, bfloat16 on the second.
            let scanned: [ScanPrecision: FaceIndex] = [.float32: index, .float16: index, .bfloat16: bfloat16Index]
            let fill = Timing.milliseconds {
                for face in 0..<n {
                    let descriptor = generator.next()
                    index.add(faceID: Int64(face), subjectID: Int64(face / 3), descriptor: descriptor)
                    bfloat16Index.add(faceID: Int64(face), subjectID: Int64(face / 3), descriptor: descriptor)
                }
            }
            let probes = (0..<max(queries, batch)).map { _ in generator.next() }
            let precisions = ScanPrecision.allCases
            var floors: [ScanPrecision: [Double]] = [:]
            for _ in 0..<5 {
                for precision in precisions {
                    let target = scanned[precision]!
                    floors[precision, default: []].append(Timing.milliseconds { _ = target.sequentialPass(precision: precision) })
                }
            }
            // The scans take turns being first, one query after another, so that none gets the quieter moments.
            var singles: [ScanPrecision: [Double]] = [:]
            var singleResults: [[IndexCandidate]] = []
            var identical: [ScanPrecision: Bool] = [.float16: true, .bfloat16: true]
            for (number, probe) in probes.prefix(queries).enumerated() {
                var results: [ScanPrecision: [IndexCandidate]] = [:]
                for turn in 0..<precisions.count {
                    let precision = precisions[(number + turn) % precisions.count], target = scanned[precision]!
                    singles[precision, default: []].append(Timing.milliseconds {
                        results[precision] = target.search(probe, topK: topK, threads: searchThreads, precision: precision)
                    })
                }
                for precision in [ScanPrecision.float16, .bfloat16] {
                    identical[precision] = identical[precision]! && results[precision] == results[.float32]
                }
                singleResults.append(results[.float32] ?? [])
            }
            var perQuery: [Double] = []
            var batchedResults: [[IndexCandidate]] = []
            for start in stride(from: 0, to: probes.count - batch + 1, by: batch) {
                let group = Array(probes[start..<(start + batch)])
                perQuery.append(Timing.milliseconds { batchedResults += index.search(batch: group, topK: topK) } / Double(batch))
            }
            let agree = zip(singleResults, batchedResults).allSatisfy { $0.map(\.faceID) == $1.map(\.faceID) }
            let floor = floors.mapValues { Timing.percentile($0, 0.5) }
            let p50 = singles.mapValues { Timing.percentile($0, 0.5) }, p99 = singles.mapValues { Timing.percentile($0, 0.99) }
            let copyMB = Double(n * ScanPrecision.float16.extraBytesPerFace) / 1e6
            let perMillion = Double(ScanPrecision.float16.extraBytesPerFace) * 1e6 / 1e6
            print(String(format: "gallery %d x 128 float32 (%.0f MB), a float16 copy and a bfloat16 copy (%.0f MB each, %.0f MB per million faces), "
                         + "filled in %.0f ms", n, Double(n * 512) / 1e6, copyMB, perMillion, fill))
            print(String(format: "memory floor (one sequential pass): %.2f ms over float32, %.2f ms over the float16 copy, "
                         + "%.2f ms over the bfloat16 copy", floor[.float32]!, floor[.float16]!, floor[.bfloat16]!))
            print(String(format: "single query top-%d, %d thread(s), float32 scan: p50 %.2f ms, p99 %.2f ms (%.2fx the float32 floor)", topK,
                         searchThreads, p50[.float32]!, p99[.float32]!, p50[.float32]! / floor[.float32]!))
            for precision in [ScanPrecision.float16, .bfloat16] {
                let name = precision == .float16 ? "float16" : "bfloat16"
                print(String(format: "single query top-%d, %d thread(s), ", topK, searchThreads) + name
                      + String(format: " scan + float32 re-rank: p50 %.2f ms, p99 %.2f ms (%.2fx its own floor, %.2fx the float32 scan)",
                               p50[precision]!, p99[precision]!, p50[precision]! / floor[precision]!, p50[precision]! / p50[.float32]!))
            }
            for precision in [ScanPrecision.float16, .bfloat16] {
                let name = precision == .float16 ? "float16" : "bfloat16"
                print("\(name) results identical to float32 results (subjects, faces, order, distances) on every query: "
                      + (identical[precision]! ? "yes" : "NO"))
            }
            print(String(format: "batched, %d per batch, %d BLAS thread(s): p50 %.3f ms per query, p99 %.3f ms", batch, threads,
                         Timing.percentile(perQuery, 0.5), Timing.percentile(perQuery, 0.99)))
            print("batched results identical to single-query results: \(agree ? "yes" : "NO")")
            if !agree || identical.values.contains(false) { throw ExitCode.failure }
        }
    }

    /// `netra bench collections`: a search in one collection of many against one over them all.
    struct Collections: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "1:N search in one collection of a gallery split into collections, against the same search over the whole gallery."
        )
        @Option(name: .long, help: "Collections.") var collections = 10
        @Option(name: .customLong("per-collection"), help: "Faces per collection.") var perCollection = 100_000
        @Option(name: .long, help: "Timed queries of each kind.") var queries = 200
        @Option(name: .customLong("top-k"), help: "Subjects per query.") var topK = 10

        func run() async throws {
            var generator = SyntheticVectors(seed: 1)
            let gallery = FaceGallery(), whole = FaceIndex(capacity: collections * perCollection)
            for face in 0..<(collections * perCollection) {
                let descriptor = generator.next()
                gallery.add(faceID: Int64(face), subjectID: Int64(face / 3), collectionID: Int64(face % collections + 1), descriptor: descriptor)
                whole.add(faceID: Int64(face), subjectID: Int64(face / 3), descriptor: descriptor)
            }
            let probes = (0..<queries).map { _ in generator.next() }
            var inOne: [Double] = [], overAll: [Double] = []
            var confined = true
            for (offset, probe) in probes.enumerated() {
                let collection = Int64(offset % collections + 1)
                var found: [IndexCandidate] = []
                inOne.append(Timing.milliseconds { found = gallery.search(probe, in: collection, topK: topK) })
                confined = confined && found.allSatisfy { gallery.collection(ofFace: $0.faceID) == collection }
                overAll.append(Timing.milliseconds { _ = whole.search(probe, topK: topK) })
            }
            let (one, all) = (Timing.percentile(inOne, 0.5), Timing.percentile(overAll, 0.5))
            print(String(format: "%d collections x %d faces (%d in all)", collections, perCollection, collections * perCollection))
            print(String(format: "search in one collection: p50 %.2f ms, p99 %.2f ms", one, Timing.percentile(inOne, 0.99)))
            print(String(format: "same search over the whole gallery: p50 %.2f ms, p99 %.2f ms", all, Timing.percentile(overAll, 0.99)))
            print(String(format: "ratio: %.3f (1/%d would be %.3f)", one / all, collections, 1 / Double(collections)))
            print("every answer from the collection searched: \(confined ? "yes" : "NO")")
            if !confined { throw ExitCode.failure }
        }
    }

    /// `netra bench load`: time from open to ready with N encrypted rows, in SQLite or (`--url`) PostgreSQL.
    struct Load: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a store with N encrypted synthetic faces, then time opening it (decrypt + index)."
        )
        @Option(name: .long, help: "Stored faces.") var n = 100_000
        @Option(name: .long, help: "Database to create, with the configured key (default: a temporary file and key, removed afterwards).")
        var db: String?
        @Option(name: .long, help: BenchStore.urlHelp) var url: String?

        func run() async throws {
            try await Self.reportingFailures {
                let scratch = try ScratchFolder()
                let target = try BenchStore(url: url, db: db, scratch: scratch)
                let create = try Timing.milliseconds {
                    let store = try target.open()
                    defer { BenchStore.close(store) }
                    try fill(store)
                }
                var store: (any IdentityStore)?
                let open = try Timing.milliseconds { store = try target.open() }
                let loaded = store?.index.count ?? 0
                print(String(format: "%@: %d faces written in %.1f s%@", target.location.backendName, n, create / 1000, target.sizeNote))
                print(String(format: "open to ready (decrypt and index %d faces): %.2f s, %.0f faces/s; RSS %.0f MB", loaded, open / 1000,
                             Double(loaded) / (open / 1000), Double(ProcessMemory.residentBytes()) / 1_048_576))
                if let store { BenchStore.close(store) }
            }
        }

        /// Adds `n` synthetic faces, 3 per subject, through the bulk calls, 30,000 at a time.
        private func fill(_ store: any IdentityStore) throws {
            var generator = SyntheticVectors(seed: 2)
            for start in stride(from: 0, to: n, by: 30_000) {
                let count = min(n, start + 30_000) - start
                let subjects = try store.createSubjects(names: (0..<((count + 2) / 3)).map { "bench \(start / 3 + $0)" },
                                                        in: SubjectCollection.defaultID)
                _ = try store.addFaces((0..<count).map { offset in
                    NewFace(subjectID: subjects[offset / 3].id, descriptor: FaceDescriptor(values: generator.next()),
                            quality: BenchStore.quality)
                })
            }
        }
    }

    /// `netra bench enroll`: store-side enrollment throughput with per-enrollment durability, from one
    /// client or several at once, in SQLite or (`--url`) PostgreSQL.
    struct Enroll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Store-side enrollment rate (seal + durable commit per face), without the vision work."
        )
        @Option(name: .long, help: "Faces to enroll (in all, split between the clients).") var n = 2000
        @Option(name: .long, help: "Database to use (default: a temporary file, removed afterwards).") var db: String?
        @Option(name: .long, help: BenchStore.urlHelp) var url: String?
        @Option(name: .long, help: "Concurrent enrollers, each a thread of its own enrolling to a subject of its own.") var clients = 1
        @Flag(name: .long, help: "Print each face id once its enrollment is durable (for crash tests).") var acknowledge = false

        func validate() throws {
            guard clients >= 1, n >= clients else { throw ValidationError("--clients must be 1 to --n") }
        }

        func run() async throws {
            try await Self.reportingFailures {
                let scratch = try ScratchFolder()
                let target = try BenchStore(url: url, db: db, scratch: scratch)
                let store = try target.open(connections: clients)
                defer { BenchStore.close(store) }
                let subjects = try (0..<clients).map { _ in try store.createSubject(name: "bench") }
                let times = Timings()
                let elapsed = try Timing.milliseconds {
                    try onThreads(clients) { client in
                        try enroll(n / clients + (client < n % clients ? 1 : 0), subjectID: subjects[client].id,
                                   seed: UInt64(ProcessInfo.processInfo.processIdentifier) &+ UInt64(client), into: store, times: times)
                    }
                }
                let all = times.values
                print(String(format: "%@, %d client(s): %d enrollments, each durable: %.0f faces/s; p50 %.2f ms, p99 %.2f ms",
                             target.location.backendName, clients, all.count, Double(all.count) / (elapsed / 1000),
                             Timing.percentile(all, 0.5), Timing.percentile(all, 0.99)))
            }
        }

        /// One client's loop: `count` enrollments, one after another, each timed until durable.
        private func enroll(_ count: Int, subjectID: Int64, seed: UInt64, into store: any IdentityStore, times: Timings) throws {
            var generator = SyntheticVectors(seed: seed)
            for _ in 0..<count {
                let descriptor = FaceDescriptor(values: generator.next())
                var face: StoredFace?
                times.append(try Timing.milliseconds {
                    face = try store.addFace(subjectID: subjectID, descriptor: descriptor, quality: BenchStore.quality)
                })
                if acknowledge, let face {
                    FileHandle.standardOutput.write(Data("acknowledged \(face.id)\n".utf8))
                }
            }
        }
    }
}

/// The store a store benchmark runs on: SQLite at `--db` (default a temporary file with a
/// throwaway key), or the PostgreSQL database at `--url` with the password from
/// `NETRA_DATA_PASSWORD` and the configured key (`NETRA_SECRET_KEY`, `NETRA_KEY_FILE` or
/// `data.key_file`), so that `netra serve` can open what a benchmark wrote.
struct BenchStore {
    let location: StoreLocation
    let key: KeySource

    static let urlHelp = ArgumentHelp(
        "A PostgreSQL database instead of SQLite (postgres://USER@HOST:PORT/DB?sslmode=disable; password from NETRA_DATA_PASSWORD, "
            + "key from NETRA_SECRET_KEY or the configured key file).")

    /// The quality every synthetic face is recorded with.
    static let quality = FaceQuality(width: 120, height: 120, detectorConfidence: 0.9)

    init(url: String?, db: String?, scratch: ScratchFolder) throws {
        guard let url else {
            location = .sqlite(path: db ?? scratch.path("bench.db"))
            key = try benchKey(databasePath: db)
            return
        }
        guard db == nil else { throw CommandFailure(message: "give --db or --url, not both", exitCode: .failure) }
        let password = ProcessInfo.processInfo.environment[StoreLocation.passwordVariable].flatMap { $0.isEmpty ? nil : $0 }
        do {
            location = .postgres(try PostgresLocation(url: url), password: password)
        } catch {
            throw CommandFailure(message: "\(error)", exitCode: .failure)
        }
        key = try StoreSession.key(for: location, configuration: try NetraConfiguration.load(path: nil))
    }

    /// Opens the store, with room for `connections` concurrent transactions on PostgreSQL.
    func open(connections: Int = 4) throws -> any IdentityStore {
        try open(connections: connections, modelVersion: StoreSession.syntheticModelVersion)
    }

    private func open(connections: Int, modelVersion: String) throws(StoreError) -> any IdentityStore {
        switch location {
        case let .sqlite(path):
            try SQLiteStore(path: path, key: key, modelVersion: modelVersion)
        case let .postgres(location, password):
            try PostgresStore(location: location, password: password, key: key, modelVersion: modelVersion, connections: max(4, connections))
        }
    }

    /// Opens the PostgreSQL store as one replica of several (the benchmarks of replicas).
    func openReplica() throws -> PostgresStore {
        guard case let .postgres(location, password) = location else {
            throw CommandFailure(message: "this benchmark needs a PostgreSQL database (--url)", exitCode: .failure)
        }
        return try PostgresStore(location: location, password: password, key: key, modelVersion: StoreSession.syntheticModelVersion)
    }

    /// ", N MB database" for a SQLite file; nothing for PostgreSQL.
    var sizeNote: String {
        guard case let .sqlite(path) = location,
              let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue else { return "" }
        return String(format: " (%.0f MB database)", Double(size) / 1e6)
    }

    /// Closes a PostgreSQL store's connections (a SQLite store closes when released).
    static func close(_ store: any IdentityStore) {
        (store as? PostgresStore)?.close()
    }
}

/// Milliseconds gathered from several threads.
final class Timings: @unchecked Sendable {
    private let lock = NSLock()
    private var gathered: [Double] = []

    func append(_ milliseconds: Double) { lock.withLock { gathered.append(milliseconds) } }

    var values: [Double] { lock.withLock { gathered } }
}

/// Runs `body(0..<count)` each on a thread of its own (not a pool's: every client runs at once
/// even on two cores) and waits for them all; rethrows the first failure.
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) throws -> Void) throws {
    let done = DispatchGroup(), lock = NSLock()
    nonisolated(unsafe) var failure: Error?
    for number in 0..<count {
        done.enter()
        Thread {
            defer { done.leave() }
            do { try body(number) } catch { lock.withLock { failure = failure ?? error } }
        }.start()
    }
    done.wait()
    if let failure = lock.withLock({ failure }) { throw failure }
}

/// Fast deterministic pseudo-random 128-d vectors in the range of real descriptors.
struct SyntheticVectors {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    }

    mutating func next() -> [Float] {
        (0..<FaceIndex.dimension).map { _ in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return (Float(state >> 40) / Float(1 << 24) - 0.5) * 0.3
        }
    }
}

/// A throwaway key for a temporary benchmark store; the configured key for a named one
/// (so `netra serve` can open it afterwards).
private func benchKey(databasePath: String?) throws -> KeySource {
    guard let databasePath else { return .raw(try EncryptionKey.generate()) }
    return try StoreSession.key(for: databasePath, configuration: try NetraConfiguration.load(path: nil))
}

/// A temporary folder for a benchmark's database, removed when the benchmark ends.
final class ScratchFolder {
    private let url = FileManager.default.temporaryDirectory.appendingPathComponent("netra-bench-\(UUID().uuidString)")

    init() throws {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}
