import CLibcrypto
import Foundation
import Logging
@testable import NetraStore
import PostgresNIO
#if canImport(Glibc)
import Glibc
import Synchronization
#endif

/// A throwaway PostgreSQL server for the tests of the PostgreSQL store: one per test process,
/// started on first use (`shared`) and stopped when the process exits.
///
/// It is Debian's `postgresql` package (`scripts/dev test` installs it), the highest version
/// under `/usr/lib/postgresql/*/bin`: `initdb` into a temporary folder, then `pg_ctl start` on
/// a free loopback port with the Unix socket in that folder. The only role is `netra`, logging
/// in with a random password over scram-sha-256, so that tests can also present a wrong one.
/// PostgreSQL refuses to run as root and CI runs as root: then the binaries run as Debian's
/// `postgres` system user (`runuser -u postgres`); any other user runs them directly.
///
/// Stopping: an `atexit` handler sends the postmaster SIGQUIT (immediate shutdown), waits for
/// it to go and removes the folder. A test process killed outright cannot run it, so each new
/// cluster first stops and removes the clusters whose test process is gone (the folders
/// `/tmp/netra-pg-*`, each recording its owner's pid).
/// `fsync` stays on: the tests check durability only logically, but run as a server would.
public final class PostgresCluster: Sendable {
    public let port: Int
    public let password: String
    /// The folder holding the data directory, the socket, the password file and the log.
    public let folder: URL
    let binaries: URL
    private let owner: (uid: uid_t, gid: gid_t)?
    private let counter = Counter()

    /// The process's cluster, started on first use; throws (with what to install) when
    /// PostgreSQL is missing or does not start, on every call.
    public static var shared: PostgresCluster {
        get throws { try started.get() }
    }

    private static let started: Result<PostgresCluster, PostgresClusterError> = Result { () throws(PostgresClusterError) in
        try PostgresCluster()
    }

    /// A cluster of the caller's own, for tests that stop, freeze or restart the server (the
    /// shared one serves every other test meanwhile); `remove` it when done (else at exit).
    public static func dedicated() throws -> PostgresCluster {
        try PostgresCluster()
    }

    /// The folder name prefix of the clusters (see `removeAbandoned`).
    static let folderPrefix = "netra-pg-"
    /// Where the clusters' folders are: `/tmp`, not `$TMPDIR`, which may be closed to the
    /// `postgres` user or too long for a Unix socket path (107 bytes).
    static let parent = URL(fileURLWithPath: "/tmp")

    private init() throws(PostgresClusterError) {
        let binaries = try Self.findBinaries()
        Self.removeAbandoned()
        let owner = try Self.runAsUser()
        let folder = Self.parent.appendingPathComponent(Self.folderPrefix + UUID().uuidString.prefix(8).lowercased())
        let password = Self.randomHex(bytes: 16)
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try Data("\(getpid())\n".utf8).write(to: folder.appendingPathComponent("owner.pid"))
            let passwordFile = folder.appendingPathComponent("password")
            try Data((password + "\n").utf8).write(to: passwordFile)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: passwordFile.path)
            if let owner {
                for path in [folder.path, passwordFile.path] { _ = chown(path, owner.uid, owner.gid) }
            }
        } catch {
            throw .failed("could not prepare \(folder.path): \(error)")
        }
        let data = Self.dataFolder(folder)
        // --no-sync: initdb's own final flush only (the cluster is thrown away); the server keeps fsync on.
        try Self.run(binaries.appendingPathComponent("initdb"), ["-D", data, "-U", "netra", "--auth=scram-sha-256",
                                                                  "--pwfile=\(folder.appendingPathComponent("password").path)",
                                                                  "-E", "UTF8", "--locale=C", "--no-sync"],
                     as: owner, log: folder.appendingPathComponent("initdb.log"))
        var lastError: (any Error)?
        var started: Int?
        for _ in 0..<3 where started == nil {
            let port = Self.freePort()
            do {
                try Self.startServer(binaries: binaries, folder: folder, port: port, as: owner)
                started = port
            } catch {
                lastError = error
            }
        }
        guard let started else {
            try? FileManager.default.removeItem(at: folder)
            throw (lastError as? PostgresClusterError) ?? .failed("PostgreSQL did not start")
        }
        Self.stopAtExit(folder: folder)
        self.binaries = binaries
        self.folder = folder
        self.password = password
        self.owner = owner
        port = started
    }

    private static func dataFolder(_ folder: URL) -> String { folder.appendingPathComponent("data").path }

    private static func startServer(binaries: URL, folder: URL, port: Int, as owner: (uid: uid_t, gid: gid_t)?) throws(PostgresClusterError) {
        try run(binaries.appendingPathComponent("pg_ctl"), [
            "-D", dataFolder(folder), "-l", folder.appendingPathComponent("server.log").path, "-w", "-t", "30",
            "-o", "-p \(port) -k \(folder.path) -c listen_addresses=127.0.0.1 -c shared_buffers=32MB -c max_connections=300",
            "start",
        ], as: owner, log: folder.appendingPathComponent("pg_ctl.log"))
    }

    // MARK: Faults (dedicated clusters)

    /// Shuts the server down (`pg_ctl stop -m fast`: sessions ended, in-flight transactions
    /// rolled back, committed ones kept), as a PostgreSQL restart or failover does.
    public func stopServer() throws {
        try Self.run(binaries.appendingPathComponent("pg_ctl"), ["-D", Self.dataFolder(folder), "-m", "fast", "-w", "-t", "30", "stop"],
                     as: owner, log: folder.appendingPathComponent("pg_ctl-stop.log"))
    }

    /// Starts the server again on its port, with its data.
    public func startServer() throws {
        try Self.startServer(binaries: binaries, folder: folder, port: port, as: owner)
    }

    /// Stops (`SIGSTOP`) or resumes (`SIGCONT`) the postmaster and every server process: a
    /// server that no longer answers while its connections stay open, as a network dropping
    /// packets looks to a client.
    public func freeze(_ frozen: Bool) {
        guard let postmaster = Self.postmasterPID(folder.path) else { return }
        let signal = frozen ? SIGSTOP : SIGCONT
        kill(postmaster, signal)
        for child in Self.children(of: postmaster) { kill(child, signal) }
    }

    /// Stops this cluster's server and removes its folder now.
    public func remove() {
        freeze(false)
        Self.stop(folder: folder.path)
        Self.folders.withLock { $0.removeAll { $0 == folder.path } }
    }

    private static func postmasterPID(_ folder: String) -> pid_t? {
        guard let text = try? String(contentsOfFile: "\(folder)/data/postmaster.pid", encoding: .utf8),
              let line = text.split(separator: "\n").first, let pid = pid_t(line.trimmingCharacters(in: .whitespaces)), pid > 1
        else { return nil }
        return pid
    }

    /// The processes whose parent is `parent` (from `/proc/<pid>/stat`).
    private static func children(of parent: pid_t) -> [pid_t] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { name -> pid_t? in
            guard let pid = pid_t(name), let stat = try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            // After "pid (comm) ": the state, then the parent's pid.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && pid_t(fields[1]) == parent ? pid : nil
        }
    }

    /// A new, empty database of its own (`CREATE DATABASE` with a unique name), owned by
    /// `netra`, with the location and password that reach it.
    public func makeDatabase() throws -> (location: PostgresLocation, password: String) {
        let name = "netra_test_\(counter.next())_\(Self.randomHex(bytes: 4))"
        try execute("CREATE DATABASE \(name)")
        return (location(database: name), password)
    }

    /// Drops a database made by `makeDatabase`, closing its sessions first (errors ignored:
    /// the whole cluster goes at exit anyway).
    public func dropDatabase(_ name: String) {
        try? execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    /// `database` on this cluster, over TCP without TLS.
    public func location(database: String) -> PostgresLocation {
        PostgresLocation(host: "127.0.0.1", port: port, username: "netra", database: database, tls: .disable)
    }

    /// Runs one fixed SQL command in `database` (never with values from a test spliced in: the
    /// callers pass names they built themselves).
    ///
    /// Through postgres-nio, not a `psql` process: the `postgres` database's commands (every
    /// test database made and dropped) share one connection logged in once, and the others
    /// get a connection of their own for the command. A `psql` per command meant a process and
    /// a scram-sha-256 login for every test database, while the test process keeps both cores
    /// busy; its 5 s connect timeout then expired (CI, 2026-12-02).
    public func execute(_ command: String, database: String = "postgres") throws {
        if database == "postgres" {
            try admin.withLock { admin throws in
                let connections = try admin ?? connect(to: database)
                admin = connections
                try Self.execute(command, on: connections)
            }
        } else {
            let connections = try connect(to: database)
            defer { connections.close() }
            try Self.execute(command, on: connections)
        }
    }

    /// The cluster's connection to `postgres`, opened on first use.
    private let admin = Mutex<PostgresConnections?>(nil)

    private func connect(to database: String) throws -> PostgresConnections {
        try PostgresConnections(location: location(database: database), password: password, capacity: 1,
                                connectTimeout: .seconds(Self.commandSeconds))
    }

    private static func execute(_ command: String, on connections: PostgresConnections) throws {
        try connections.withConnection { connection in
            try PostgresSQL(connection: connection, logger: logger, timeout: TimeInterval(commandSeconds))
                .execute(PostgresQuery(unsafeSQL: command))
        }
    }

    /// How long the harness waits to log in or for a command: long, as a loaded machine is no
    /// failure of the code under test; a server that never answers still ends the test.
    private static let commandSeconds: Int64 = 120
    private static let logger = Logger(label: "netra.test.postgres")

    // MARK: Starting

    /// `/usr/lib/postgresql/N/bin` of the highest N that has `initdb`.
    private static func findBinaries() throws(PostgresClusterError) -> URL {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .filter { FileManager.default.isExecutableFile(atPath: "\(root)/\($0)/bin/initdb") }
            .sorted { (Double($0) ?? 0) > (Double($1) ?? 0) }
        guard let version = versions.first else {
            throw .notInstalled("PostgreSQL is not installed (no \(root)/*/bin/initdb): install Debian's postgresql package (scripts/dev test does)")
        }
        return URL(fileURLWithPath: "\(root)/\(version)/bin")
    }

    /// Whom to run the server as: `nil` for this process's user, the `postgres` user when root.
    private static func runAsUser() throws(PostgresClusterError) -> (uid: uid_t, gid: gid_t)? {
        guard getuid() == 0 else { return nil }
        guard let entry = getpwnam("postgres") else {
            throw .notInstalled("running as root, PostgreSQL needs the postgres system user (Debian's postgresql package creates it)")
        }
        return (entry.pointee.pw_uid, entry.pointee.pw_gid)
    }

    /// Runs `executable` (as the `postgres` user when `owner` is set) in `/tmp` and waits; its
    /// output goes to `log`, quoted in the error when it fails.
    ///
    /// `posix_spawn` and `waitpid`, not Foundation's `Process`: its `waitUntilExit` was seen
    /// never to return for `runuser … pg_ctl start` (the child left a zombie, never reaped), and
    /// the child gets only descriptors 0-2, so the server keeps none of the test process's.
    private static func run(_ executable: URL, _ arguments: [String], as owner: (uid: uid_t, gid: gid_t)?, log: URL) throws(PostgresClusterError) {
        let command = owner != nil ? ["/usr/sbin/runuser", "-u", "postgres", "--", executable.path] + arguments : [executable.path] + arguments
        let variables = ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        _ = spawnExtensions.addChdir?(&actions, "/tmp")
        _ = spawnExtensions.addClosefrom?(&actions, 3)
        let argv = command.map { strdup($0) } + [nil]
        let envp = variables.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, command[0], &actions, nil, argv, envp)
        guard spawned == 0 else {
            throw .failed("\(executable.lastPathComponent) could not be run: \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { throw .failed("\(executable.lastPathComponent): waitpid failed (errno \(errno))") }
        }
        // WIFEXITED and WEXITSTATUS, which Swift does not import.
        let exited = status & 0x7f == 0, code = (status >> 8) & 0xff
        guard exited && code == 0 else {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            throw .failed("\(executable.lastPathComponent) \(arguments.last ?? "") failed (wait status \(status)): \(text.suffix(2000))")
        }
    }

    /// glibc's `posix_spawn_file_actions_addchdir_np` and `…_addclosefrom_np` (2.29, 2.34),
    /// which its headers declare only for `_GNU_SOURCE`: looked up at run time.
    private static let spawnExtensions: SpawnExtensions = {
        typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
        typealias AddClosefrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        let handle = dlopen(nil, RTLD_NOW)
        return SpawnExtensions(
            addChdir: dlsym(handle, "posix_spawn_file_actions_addchdir_np").map { unsafeBitCast($0, to: AddChdir.self) },
            addClosefrom: dlsym(handle, "posix_spawn_file_actions_addclosefrom_np").map { unsafeBitCast($0, to: AddClosefrom.self) })
    }()

    private struct SpawnExtensions: @unchecked Sendable {
        var addChdir: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32)?
        var addClosefrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)?
    }

    /// A loopback port nobody listens on now (the kernel's pick for port 0).
    public static func freePort() -> Int {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketFD >= 0 else { return 54_321 }
        defer { close(socketFD) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFD, $0, length) == 0 && getsockname(socketFD, $0, &length) == 0 }
        }
        return bound ? Int(UInt16(bigEndian: address.sin_port)) : 54_321
    }

    static func randomHex(bytes count: Int) -> String {
        var bytes = [UInt8](repeating: 0, count: count)
        if RAND_bytes(&bytes, Int32(count)) != 1 {
            for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255) }
        }
        return bytes.map { String(format: "%02x", $0) }.joined()
    }

    // MARK: Stopping

    /// The folders `atexit` removes: the shared cluster's and any dedicated one not removed yet.
    private static let folders = Mutex<[String]>([])

    private static func stopAtExit(folder: URL) {
        let first = folders.withLock { folders -> Bool in
            folders.append(folder.path)
            return folders.count == 1
        }
        guard first else { return }
        atexit {
            for folder in PostgresCluster.folders.withLock({ $0 }) { PostgresCluster.stop(folder: folder) }
        }
    }

    /// Stops the postmaster of the cluster in `folder` (SIGQUIT: immediate shutdown), waits up
    /// to 10 s for it to exit, and removes the folder.
    static func stop(folder: String) {
        if let pid = postmasterPID(folder) {
            // A frozen server (`freeze`) takes no signal but this one until it is resumed.
            for process in [pid] + children(of: pid) { kill(process, SIGCONT) }
            kill(pid, SIGQUIT)
            for _ in 0..<200 where kill(pid, 0) == 0 { usleep(50_000) }
        }
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Stops and removes the clusters of test processes that are gone (killed before their
    /// `atexit` ran).
    private static func removeAbandoned() {
        let temporary = parent
        for name in (try? FileManager.default.contentsOfDirectory(atPath: temporary.path)) ?? [] where name.hasPrefix(folderPrefix) {
            let folder = temporary.appendingPathComponent(name).path
            guard let text = try? String(contentsOfFile: "\(folder)/owner.pid", encoding: .utf8),
                  let owner = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), owner > 1,
                  kill(owner, 0) != 0, errno == ESRCH
            else { continue }
            stop(folder: folder)
        }
    }

    /// Numbers for unique database names.
    private final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0

        func next() -> Int {
            lock.withLock {
                value += 1
                return value
            }
        }
    }
}

/// Why there is no test PostgreSQL.
public enum PostgresClusterError: Error, Sendable, CustomStringConvertible {
    /// PostgreSQL (or the `postgres` user) is missing.
    case notInstalled(String)
    /// It is installed but did not start; the message quotes the tool's output.
    case failed(String)

    public var description: String {
        switch self {
        case let .notInstalled(message), let .failed(message): "test PostgreSQL: \(message)"
        }
    }
}
