import CLibcrypto
import Foundation

/// SHA-256 through OpenSSL's libcrypto; files are streamed, never held in memory whole.
public enum SHA256Digest {
    /// Lower-case hex SHA-256 of `bytes`.
    public static func hex(of bytes: [UInt8]) throws -> String {
        try digest { update in try update(bytes) }
    }

    /// Lower-case hex SHA-256 of the file at `url`.
    public static func hex(ofFileAt url: URL) throws -> String {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        return try digest { update in
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                try update([UInt8](chunk))
            }
        }
    }

    /// The raw 32-byte SHA-256 of `bytes`.
    public static func bytes(of bytes: [UInt8]) throws -> [UInt8] {
        let hex = try hex(of: bytes)
        return stride(from: 0, to: hex.count, by: 2).map { offset in
            let start = hex.index(hex.startIndex, offsetBy: offset)
            return UInt8(hex[start..<hex.index(start, offsetBy: 2)], radix: 16)!
        }
    }

    private static func digest(_ feed: ((_ bytes: [UInt8]) throws -> Void) throws -> Void) throws -> String {
        let context = EVP_MD_CTX_new()
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1 else { throw DigestError() }
        try feed { bytes in
            guard EVP_DigestUpdate(context, bytes, bytes.count) == 1 else { throw DigestError() }
        }
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard EVP_DigestFinal_ex(context, &digest, &length) == 1 else { throw DigestError() }
        return digest.prefix(Int(length)).map { String(format: "%02x", $0) }.joined()
    }

    /// libcrypto refused to compute a digest (it does not, short of a broken installation).
    public struct DigestError: Error, CustomStringConvertible {
        public var description: String { "OpenSSL could not compute a SHA-256 digest" }
    }
}
