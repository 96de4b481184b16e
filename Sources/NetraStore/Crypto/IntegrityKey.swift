import CLibcrypto
import Foundation

/// The key that authenticates the rows the sealed embeddings do not cover: each subject's id,
/// name, metadata and collection (a MAC per row) and the audit log (a chain of MACs, each over the entry
/// and the one before it, so an entry edited, removed or inserted breaks the chain from there).
///
/// It is 32 random bytes made with the store and kept in `store_settings` sealed under the
/// active store key (AES-256-GCM), so a key rotation re-seals this one value instead of
/// recomputing every MAC, and whoever can edit the database but lacks the store key cannot
/// forge a row.
struct IntegrityKey: Sendable {
    private let bytes: [UInt8]

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    static func generate() throws(KeyError) -> IntegrityKey {
        var bytes = [UInt8](repeating: 0, count: 32)
        guard RAND_bytes(&bytes, 32) == 1 else { throw .randomSourceFailed }
        return IntegrityKey(bytes: bytes)
    }

    /// The MAC of a subject row. It covers the subject's collection too: a subject moved into
    /// another collection by editing the database fails it. Subjects of the default collection
    /// keep the form of schema 3, which had no collections, so their MACs stay valid.
    func subjectMAC(id: Int64, name: String, metadata: String, collectionID: Int64) -> [UInt8] {
        let collection = collectionID == SubjectCollection.defaultID ? [] : ["collection", String(collectionID)]
        return mac(Self.fields(["netra-subject-v1", String(id), name, metadata] + collection))
    }

    /// The chain value of an audit entry that follows the entry whose chain is `previous`
    /// (32 zero bytes for the first entry).
    func auditChain(previous: [UInt8], entry: AuditEntry) -> [UInt8] {
        mac(previous + Self.fields(["netra-audit-v1", String(entry.id), entry.at, entry.actor, entry.action,
                                    entry.subjectID.map(String.init) ?? "", entry.faceID.map(String.init) ?? "",
                                    entry.result, entry.detail]))
    }

    /// The MAC of the newest chain value, kept in `store_settings`: removing entries from the
    /// end of the log leaves a head that no longer matches.
    func auditHead(lastID: Int64, chain: [UInt8]) -> [UInt8] {
        mac(Self.fields(["netra-audit-head-v1", String(lastID)]) + chain)
    }

    /// The key as AES-GCM seals it (its bytes as the plaintext), bound to the setting it is stored in.
    func sealed(with sealer: EmbeddingSealer) throws(SealError) -> SealedEmbedding {
        try sealer.seal(bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }, binding: Self.binding(keyID: sealer.key.id))
    }

    /// The sealed key as one setting value: nonce, tag, then ciphertext.
    static func settingValue(of sealed: SealedEmbedding) -> Data {
        Data(sealed.nonce + sealed.tag + sealed.ciphertext)
    }

    /// The sealed key read back from its setting value (an empty seal, which never opens, when
    /// the value is too short).
    static func sealed(fromSetting value: Data) -> SealedEmbedding {
        let bytes = [UInt8](value)
        guard bytes.count > 28 else { return SealedEmbedding(nonce: [], ciphertext: [], tag: []) }
        return SealedEmbedding(nonce: Array(bytes[0..<12]), ciphertext: Array(bytes[28...]), tag: Array(bytes[12..<28]))
    }

    static func open(_ sealed: SealedEmbedding, with sealer: EmbeddingSealer) throws(SealError) -> IntegrityKey {
        let values = try sealer.open(sealed, binding: binding(keyID: sealer.key.id))
        return IntegrityKey(bytes: values.withUnsafeBytes { Array($0) })
    }

    /// Face id 0 and subject id 0 never occur in the database: the sealed key cannot be moved
    /// into a face row, nor a face into the setting.
    private static func binding(keyID: String) -> EmbeddingSealer.Binding {
        EmbeddingSealer.Binding(faceID: 0, subjectID: 0, modelVersion: "netra-integrity-key-v1", keyID: keyID)
    }

    /// Fields joined unambiguously: each is preceded by its length in bytes.
    private static func fields(_ values: [String]) -> [UInt8] {
        values.flatMap { value -> [UInt8] in
            let utf8 = Array(value.utf8)
            return Array("\(utf8.count):".utf8) + utf8
        }
    }

    private func mac(_ message: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        _ = HMAC(EVP_sha256(), bytes, Int32(bytes.count), message, message.count, &digest, &length)
        return Array(digest.prefix(Int(length)))
    }
}
