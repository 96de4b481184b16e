import CLibcrypto

/// An embedding sealed with AES-256-GCM: what a `faces` row stores.
public struct SealedEmbedding: Sendable, Equatable {
    public var nonce: [UInt8]
    public var ciphertext: [UInt8]
    public var tag: [UInt8]
}

/// Seals and opens embeddings with AES-256-GCM (OpenSSL EVP).
///
/// Each seal uses a fresh random 96-bit nonce. The associated data binds the ciphertext to
/// its row (face id, subject id, model version, key id): moved to another row, or with any
/// of those changed, it no longer opens.
public struct EmbeddingSealer: Sendable {
    public let key: EncryptionKey

    public init(key: EncryptionKey) {
        self.key = key
    }

    /// What a ciphertext is bound to.
    public struct Binding: Sendable, Equatable {
        public var faceID: Int64
        public var subjectID: Int64
        public var modelVersion: String
        public var keyID: String

        public init(faceID: Int64, subjectID: Int64, modelVersion: String, keyID: String) {
            self.faceID = faceID
            self.subjectID = subjectID
            self.modelVersion = modelVersion
            self.keyID = keyID
        }

        var associatedData: [UInt8] {
            var builder = AssociatedDataBuilder(modelVersion: modelVersion, keyID: keyID)
            return builder.bytes(faceID: faceID, subjectID: subjectID)
        }
    }

    public func seal(_ values: [Float], binding: Binding) throws(SealError) -> SealedEmbedding {
        var nonce = [UInt8](repeating: 0, count: 12)
        guard RAND_bytes(&nonce, 12) == 1 else { throw .cryptoFailure("random nonce") }
        var plaintext = values.withUnsafeBytes { Array($0) }
        defer { OPENSSL_cleanse(&plaintext, plaintext.count) }
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count)
        var tag = [UInt8](repeating: 0, count: 16)
        let context = EVP_CIPHER_CTX_new()
        defer { EVP_CIPHER_CTX_free(context) }
        let associated = binding.associatedData
        var length: Int32 = 0
        var final = [UInt8](repeating: 0, count: 16)  // GCM writes nothing at the end; EVP wants a buffer
        let ok = key.withBytes { key in
            EVP_EncryptInit_ex(context, EVP_aes_256_gcm(), nil, key.bindMemory(to: UInt8.self).baseAddress, nonce) == 1
                && EVP_EncryptUpdate(context, nil, &length, associated, Int32(associated.count)) == 1
                && EVP_EncryptUpdate(context, &ciphertext, &length, plaintext, Int32(plaintext.count)) == 1
                && EVP_EncryptFinal_ex(context, &final, &length) == 1
                && EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, 16, &tag) == 1
        }
        guard ok else { throw .cryptoFailure("AES-GCM seal") }
        return SealedEmbedding(nonce: nonce, ciphertext: ciphertext, tag: tag)
    }

    /// The embedding, or `.authenticationFailed` when the row was altered, moved or sealed with another key.
    public func open(_ sealed: SealedEmbedding, binding: Binding) throws(SealError) -> [Float] {
        guard sealed.nonce.count == 12, sealed.tag.count == 16, sealed.ciphertext.count % 4 == 0 else {
            throw .authenticationFailed
        }
        var plaintext = [UInt8](repeating: 0, count: sealed.ciphertext.count)
        defer { OPENSSL_cleanse(&plaintext, plaintext.count) }
        var tag = sealed.tag
        let context = EVP_CIPHER_CTX_new()
        defer { EVP_CIPHER_CTX_free(context) }
        let associated = binding.associatedData
        var length: Int32 = 0
        var final = [UInt8](repeating: 0, count: 16)
        let ok = key.withBytes { key in
            EVP_DecryptInit_ex(context, EVP_aes_256_gcm(), nil, key.bindMemory(to: UInt8.self).baseAddress, sealed.nonce) == 1
                && EVP_DecryptUpdate(context, nil, &length, associated, Int32(associated.count)) == 1
                && EVP_DecryptUpdate(context, &plaintext, &length, sealed.ciphertext, Int32(sealed.ciphertext.count)) == 1
                && EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, 16, &tag) == 1
                && EVP_DecryptFinal_ex(context, &final, &length) == 1
        }
        guard ok else { throw .authenticationFailed }
        return plaintext.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }
}

/// Why an embedding could not be sealed or opened.
public enum SealError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The tag does not verify: the row was tampered with, moved, or sealed with another key.
    case authenticationFailed
    case cryptoFailure(String)

    public var description: String {
        switch self {
        case .authenticationFailed: "the ciphertext does not authenticate (tampered, moved to another row, or another key)"
        case let .cryptoFailure(step): "OpenSSL failed: \(step)"
        }
    }
}

/// Opens many sealed embeddings with one cipher context keyed once: the start-up path that
/// decrypts every stored face (about 1 µs per row).
final class BulkOpener {
    private let context: OpaquePointer
    private let keyID: String
    private var tag = [UInt8](repeating: 0, count: 16)
    private var final = [UInt8](repeating: 0, count: 16)

    init(key: EncryptionKey) throws(SealError) {
        guard let context = EVP_CIPHER_CTX_new() else { throw .cryptoFailure("cipher context") }
        self.context = context
        keyID = key.id
        let ok = key.withBytes { key in
            EVP_DecryptInit_ex(context, EVP_aes_256_gcm(), nil, key.bindMemory(to: UInt8.self).baseAddress, nil) == 1
        }
        guard ok else { throw .cryptoFailure("AES-GCM key setup") }
    }

    deinit { EVP_CIPHER_CTX_free(context) }

    /// Decrypts `ciphertext` (512 bytes) into `output` (128 floats); false when it does not authenticate.
    func open(nonce: UnsafeRawBufferPointer, ciphertext: UnsafeRawBufferPointer, tag sealedTag: UnsafeRawBufferPointer,
              associatedData: [UInt8], into output: UnsafeMutablePointer<Float>) -> Bool {
        guard nonce.count == 12, sealedTag.count == 16, ciphertext.count == 512 else { return false }
        var length: Int32 = 0
        for index in 0..<16 { tag[index] = sealedTag[index] }
        let plaintext = UnsafeMutableRawPointer(output).assumingMemoryBound(to: UInt8.self)
        let ok = EVP_DecryptInit_ex(context, nil, nil, nil, nonce.bindMemory(to: UInt8.self).baseAddress) == 1
            && EVP_DecryptUpdate(context, nil, &length, associatedData, Int32(associatedData.count)) == 1
            && EVP_DecryptUpdate(context, plaintext, &length, ciphertext.bindMemory(to: UInt8.self).baseAddress,
                                 Int32(ciphertext.count)) == 1
            && EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, 16, &tag) == 1
            && EVP_DecryptFinal_ex(context, &final, &length) == 1
        if !ok { output.update(repeating: 0, count: 128) }
        return ok
    }
}

/// Builds `netra-face-v1|<face id>|<subject id>|<model version>|<key id>`, the associated data
/// that binds a ciphertext to its row, without allocating per row.
struct AssociatedDataBuilder {
    private var buffer: [UInt8] = []
    private let suffix: [UInt8]
    private static let prefix = Array("netra-face-v1|".utf8)

    init(modelVersion: String, keyID: String) {
        suffix = Array("|\(modelVersion)|\(keyID)".utf8)
        buffer.reserveCapacity(64 + suffix.count)
    }

    mutating func bytes(faceID: Int64, subjectID: Int64) -> [UInt8] {
        buffer.removeAll(keepingCapacity: true)
        buffer += Self.prefix
        appendDecimal(faceID)
        buffer.append(UInt8(ascii: "|"))
        appendDecimal(subjectID)
        buffer += suffix
        return buffer
    }

    private mutating func appendDecimal(_ value: Int64) {
        if value < 0 { buffer.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        let start = buffer.count
        repeat {
            buffer.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        buffer[start...].reverse()
    }
}
