import Foundation

/// The audit log's chain rules, the same for every backend: how a new entry is chained to the
/// one before it, and how a whole log is verified. The backends only read and write the rows.
struct AuditChain {
    let key: IntegrityKey

    /// The value before the first entry.
    static let start = [UInt8](repeating: 0, count: 32)

    /// The chain value and the new head for `entry`, appended after `previous` (the entry before
    /// it and its stored chain, `nil` for the first) while the store's head is `head`.
    ///
    /// When the head does not name the entry before it (the newest entries were removed), the
    /// new entry is chained to a value that never verifies, so the gap stays reported instead of
    /// being papered over by the next write.
    func append(_ entry: AuditEntry, after previous: (id: Int64, chain: [UInt8]?)?, head: Data?) -> (chain: [UInt8], head: [UInt8]) {
        var previousChain = previous?.chain ?? Self.start
        let expectedHead = previous.map { Data(key.auditHead(lastID: $0.id, chain: previousChain)) }
        if head != expectedHead { previousChain = [UInt8](repeating: 0xFF, count: 32) }
        let chain = key.auditChain(previous: previousChain, entry: entry)
        return (chain, key.auditHead(lastID: entry.id, chain: chain))
    }

    /// Verifies a log entry by entry, in id order (`take`), then its head (`problems`).
    struct Verification {
        let key: IntegrityKey
        private var previous = AuditChain.start
        private var last: (id: Int64, chain: [UInt8])?
        private var broken: Int64?

        init(key: IntegrityKey) {
            self.key = key
        }

        /// Takes the next entry and its stored chain; false once the chain is broken (stop reading).
        mutating func take(_ entry: AuditEntry, stored: Data?) -> Bool {
            guard broken == nil else { return false }
            let expected = key.auditChain(previous: previous, entry: entry)
            guard stored.map({ [UInt8]($0) }) == expected else {
                broken = entry.id
                return false
            }
            previous = expected
            last = (entry.id, expected)
            return true
        }

        /// What is wrong with the log read so far, given the store's head; empty when intact.
        func problems(head: Data?) -> [String] {
            if let broken {
                return ["the audit log does not authenticate from entry \(broken) on (an entry was edited, removed or inserted there)"]
            }
            let expectedHead = last.map { Data(key.auditHead(lastID: $0.id, chain: $0.chain)) }
            guard head == expectedHead else {
                return ["the audit log's newest entries were removed (its head does not match entry \(last?.id ?? 0))"]
            }
            return []
        }
    }
}
