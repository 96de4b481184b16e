import CLibcrypto
import Foundation

/// A 256-bit key for sealing embeddings. Held in memory this object owns and zeroes when it
/// goes away; never logged (its description is its id) and never stored in the database.
public final class EncryptionKey: @unchecked Sendable, CustomStringConvertible {
    public static let byteCount = 32

    private let storage: UnsafeMutableRawBufferPointer
    /// A public fingerprint of the key (HMAC-SHA-256 of a fixed label, 16 hex digits): what
    /// the database records, so a wrong key is recognised without revealing the right one.
    public let id: String

    /// Takes a copy of exactly 32 key bytes; the caller should wipe its own copy.
    public init(bytes: [UInt8]) throws(KeyError) {
        guard bytes.count == Self.byteCount else { throw .wrongLength(bytes.count) }
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.byteCount, alignment: 16)
        bytes.withUnsafeBytes { storage.copyMemory(from: $0) }
        self.storage = storage
        id = Self.fingerprint(of: UnsafeRawBufferPointer(storage))
    }

    deinit {
        OPENSSL_cleanse(storage.baseAddress, storage.count)
        storage.deallocate()
    }

    /// A new random key from OpenSSL's CSPRNG.
    public static func generate() throws(KeyError) -> EncryptionKey {
        var bytes = [UInt8](repeating: 0, count: byteCount)
        defer { OPENSSL_cleanse(&bytes, bytes.count) }
        guard RAND_bytes(&bytes, Int32(byteCount)) == 1 else { throw .randomSourceFailed }
        return try EncryptionKey(bytes: bytes)
    }

    /// Derives a key from a passphrase with scrypt (N = 2^15, r = 8, p = 1) and a per-store salt.
    public static func derive(passphrase: String, salt: [UInt8]) throws(KeyError) -> EncryptionKey {
        var output = [UInt8](repeating: 0, count: byteCount)
        defer { OPENSSL_cleanse(&output, output.count) }
        var secret = Array(passphrase.utf8)
        defer { OPENSSL_cleanse(&secret, secret.count) }
        let status = EVP_PBE_scrypt(secret.map { CChar(bitPattern: $0) }, secret.count, salt, salt.count,
                                    1 << 15, 8, 1, 64 << 20, &output, byteCount)
        guard status == 1 else { throw .derivationFailed }
        return try EncryptionKey(bytes: output)
    }

    /// Runs `body` with the raw key bytes; they must not escape it.
    func withBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try body(UnsafeRawBufferPointer(storage))
    }

    public var description: String { "EncryptionKey(id: \(id))" }

    private static func fingerprint(of key: UnsafeRawBufferPointer) -> String {
        let label = Array("netra key id v1".utf8)
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        _ = HMAC(EVP_sha256(), key.baseAddress, Int32(key.count), label, label.count, &digest, &length)
        return digest.prefix(8).map { String(format: "%02x", $0) }.joined()
    }
}

/// Why a key could not be made or used.
public enum KeyError: Error, Equatable, Sendable, CustomStringConvertible {
    case wrongLength(Int)
    case randomSourceFailed
    case derivationFailed
    case invalidBase64
    case keyFileUnreadable(path: String)
    case keyFileTooOpen(path: String, mode: String)
    /// The key text is empty (or only white space).
    case emptyKey
    /// The key file belongs to another user (neither this process's user nor root).
    case keyFileForeignOwner(path: String)
    case emptyKeyFile(path: String)
    /// A passphrase of this many characters, fewer than `KeySource.minimumPassphraseLength`.
    case passphraseTooShort(Int)

    public var description: String {
        switch self {
        case let .wrongLength(count): "a key must be 32 bytes, not \(count)"
        case .randomSourceFailed: "OpenSSL's random source failed"
        case .derivationFailed: "scrypt key derivation failed"
        case .invalidBase64: "the key after 'base64:' is not valid base64 of 32 bytes"
        case let .keyFileUnreadable(path): "the key file \(path) cannot be read"
        case let .keyFileTooOpen(path, mode):
            "the key file \(path) is readable by group or others (mode \(mode)); run: chmod 600 \(path)"
        case .emptyKey: "the key is empty: give \"base64:\" and 32 random bytes, or a passphrase of at least \(KeySource.minimumPassphraseLength) characters"
        case let .emptyKeyFile(path): "the key file \(path) is empty"
        case let .keyFileForeignOwner(path): "the key file \(path) belongs to another user; it must be owned by NETRA's user (or root)"
        case let .passphraseTooShort(count):
            "a passphrase needs at least \(KeySource.minimumPassphraseLength) characters, not \(count) (or give \"base64:\" and 32 random bytes)"
        }
    }
}
