import CLibcrypto
import Foundation

/// Where the store's key comes from, before it is turned into an `EncryptionKey`.
///
/// `NETRA_SECRET_KEY` (or the contents of `NETRA_KEY_FILE`) is either `base64:` followed by
/// 32 random bytes in base64, or a passphrase, which is stretched with scrypt using a salt
/// kept in the database (so the same passphrase gives different keys in different stores).
public enum KeySource: Sendable {
    case raw(EncryptionKey)
    case passphrase(String)

    /// A passphrase shorter than this is refused: scrypt slows guessing, it cannot make a
    /// handful of characters strong.
    public static let minimumPassphraseLength = 12

    /// Parses the text form of a key; an empty key or a passphrase shorter than
    /// `minimumPassphraseLength` characters is refused.
    public static func parse(_ text: String) throws(KeyError) -> KeySource {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw .emptyKey }
        guard trimmed.hasPrefix("base64:") else {
            guard trimmed.count >= minimumPassphraseLength else { throw .passphraseTooShort(trimmed.count) }
            return .passphrase(trimmed)
        }
        guard var bytes = Data(base64Encoded: String(trimmed.dropFirst(7))).map({ [UInt8]($0) }) else {
            throw .invalidBase64
        }
        defer { OPENSSL_cleanse(&bytes, bytes.count) }
        guard bytes.count == EncryptionKey.byteCount else { throw .invalidBase64 }
        return .raw(try EncryptionKey(bytes: bytes))
    }

    /// Reads a key file, refusing one that group or others can read or that another user owns.
    /// A symbolic link (how Kubernetes mounts a Secret) is judged by the file it leads to.
    public static func read(keyFile path: String) throws(KeyError) -> KeySource {
        var status = stat()
        guard stat(path, &status) == 0, let contents = FileManager.default.contents(atPath: path) else {
            throw .keyFileUnreadable(path: path)
        }
        let permissions = Int(status.st_mode) & 0o777
        guard permissions & 0o077 == 0 else { throw .keyFileTooOpen(path: path, mode: String(permissions, radix: 8)) }
        guard status.st_uid == geteuid() || status.st_uid == 0 else { throw .keyFileForeignOwner(path: path) }
        let text = String(decoding: contents, as: UTF8.self)
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw .emptyKeyFile(path: path) }
        return try parse(text)
    }

    /// The key from `NETRA_SECRET_KEY` or `NETRA_KEY_FILE` (the variable wins), or `nil` when neither is set.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws(KeyError) -> KeySource? {
        if let secret = environment["NETRA_SECRET_KEY"], !secret.isEmpty { return try parse(secret) }
        if let file = environment["NETRA_KEY_FILE"], !file.isEmpty { return try read(keyFile: file) }
        return nil
    }

    /// Writes a new random key to `path` with mode 0600 (the development default), refusing
    /// to overwrite an existing file.
    public static func createKeyFile(at path: String) throws -> KeySource {
        var bytes = [UInt8](repeating: 0, count: EncryptionKey.byteCount)
        defer { OPENSSL_cleanse(&bytes, bytes.count) }
        guard RAND_bytes(&bytes, Int32(bytes.count)) == 1 else { throw KeyError.randomSourceFailed }
        let text = "base64:" + Data(bytes).base64EncodedString() + "\n"
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else { throw KeyError.keyFileUnreadable(path: path) }
        defer { close(descriptor) }
        let written = text.withCString { write(descriptor, $0, strlen($0)) }
        guard written == text.utf8.count, fsync(descriptor) == 0 else { throw KeyError.keyFileUnreadable(path: path) }
        return try parse(text)
    }
}
