import Foundation
@testable import NetraStore
import NetraTestSupport
import Testing

@Suite("Sealing embeddings with AES-256-GCM", .tags(.unit))
struct CryptoTests {
    let values = (0..<128).map { Float($0) / 100 }
    let binding = EmbeddingSealer.Binding(faceID: 7, subjectID: 3, modelVersion: "m1", keyID: "k")

    func sealer(_ byte: UInt8 = 1) throws -> EmbeddingSealer {
        EmbeddingSealer(key: try EncryptionKey(bytes: [UInt8](repeating: byte, count: 32)))
    }

    @Test("a sealed embedding opens to the same values, with a fresh nonce each time", .offCooperativePool)
    func roundTrip() throws {
        let sealer = try sealer()
        let first = try sealer.seal(values, binding: binding), second = try sealer.seal(values, binding: binding)
        #expect(first.nonce.count == 12 && first.tag.count == 16 && first.ciphertext.count == 512)
        #expect(first.nonce != second.nonce && first.ciphertext != second.ciphertext)
        #expect(try sealer.open(first, binding: binding) == values)
        #expect(first.ciphertext != values.withUnsafeBytes { Array($0) })
    }

    @Test("any changed byte, another row's binding or another key fails to open", .offCooperativePool)
    func tamperingIsDetected() throws {
        let sealer = try sealer()
        let sealed = try sealer.seal(values, binding: binding)
        var flippedCiphertext = sealed, flippedTag = sealed, flippedNonce = sealed
        flippedCiphertext.ciphertext[100] ^= 1
        flippedTag.tag[0] ^= 1
        flippedNonce.nonce[5] ^= 1
        var truncated = sealed
        truncated.ciphertext.removeLast(4)
        for damaged in [flippedCiphertext, flippedTag, flippedNonce, truncated] {
            #expect(throws: SealError.authenticationFailed) { try sealer.open(damaged, binding: binding) }
        }
        var otherRow = binding
        otherRow.faceID = 8
        var otherSubject = binding
        otherSubject.subjectID = 4
        for moved in [otherRow, otherSubject] {
            #expect(throws: SealError.authenticationFailed) { try sealer.open(sealed, binding: moved) }
        }
        #expect(throws: SealError.authenticationFailed) { try self.sealer(2).open(sealed, binding: binding) }
    }

    @Test("key ids identify keys without revealing them; base64 keys and passphrases parse", .offCooperativePool)
    func keys() throws {
        let a = try EncryptionKey(bytes: [UInt8](repeating: 1, count: 32))
        let b = try EncryptionKey(bytes: [UInt8](repeating: 2, count: 32))
        #expect(a.id.count == 16 && a.id != b.id)
        #expect(a.id == (try EncryptionKey(bytes: [UInt8](repeating: 1, count: 32))).id)
        #expect("\(a)" == "EncryptionKey(id: \(a.id))")
        #expect(throws: KeyError.wrongLength(31)) { try EncryptionKey(bytes: [UInt8](repeating: 1, count: 31)) }
        #expect(throws: KeyError.invalidBase64) { try KeySource.parse("base64:AAAA") }
        guard case .passphrase("correct horse") = try KeySource.parse("correct horse\n") else {
            Issue.record("a plain string is a passphrase")
            return
        }
        let salt = [UInt8](repeating: 5, count: 16)
        let derived = try EncryptionKey.derive(passphrase: "correct horse", salt: salt)
        #expect(derived.id == (try EncryptionKey.derive(passphrase: "correct horse", salt: salt)).id)
        #expect(derived.id != (try EncryptionKey.derive(passphrase: "correct horse", salt: [UInt8](repeating: 6, count: 16))).id)
    }

    @Test("an empty key, a white-space key file and a passphrase under 12 characters are refused with a clear message", .offCooperativePool)
    func trivialKeys() throws {
        #expect(throws: KeyError.emptyKey) { try KeySource.parse("") }
        #expect(throws: KeyError.emptyKey) { try KeySource.parse(" \n\t") }
        #expect(throws: KeyError.passphraseTooShort(1)) { try KeySource.parse("x") }
        #expect(throws: KeyError.passphraseTooShort(11)) { try KeySource.parse("  eleven-char \n") }
        guard case .passphrase("twelve chars") = try KeySource.parse("twelve chars") else {
            Issue.record("a 12-character passphrase is accepted")
            return
        }
        #expect("\(KeyError.passphraseTooShort(3))".contains("at least 12 characters"))
        let store = try TemporaryStore()
        for (name, contents) in [("empty.key", ""), ("blank.key", "  \n\n")] {
            let path = store.folder.appendingPathComponent(name).path
            #expect(FileManager.default.createFile(atPath: path, contents: Data(contents.utf8), attributes: [.posixPermissions: 0o600]))
            #expect(throws: KeyError.emptyKeyFile(path: path)) { _ = try KeySource.read(keyFile: path) }
            #expect(throws: KeyError.emptyKeyFile(path: path)) { _ = try KeySource.fromEnvironment(["NETRA_KEY_FILE": path]) }
        }
        #expect(throws: KeyError.emptyKey) { _ = try KeySource.fromEnvironment(["NETRA_SECRET_KEY": "   "]) }
    }

    @Test("a key file reached through a symbolic link is judged by its target, as Kubernetes mounts Secrets", .offCooperativePool)
    func keyFileThroughSymlink() throws {
        let store = try TemporaryStore()
        let target = store.folder.appendingPathComponent("..data-netra.key").path
        let link = store.folder.appendingPathComponent("netra.key").path
        #expect(FileManager.default.createFile(atPath: target, contents: Data("a passphrase that is long enough".utf8),
                                               attributes: [.posixPermissions: 0o600]))
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        guard case .passphrase("a passphrase that is long enough") = try KeySource.read(keyFile: link) else {
            Issue.record("the key behind the link is read")
            return
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: target)
        #expect(throws: KeyError.keyFileTooOpen(path: link, mode: "640")) { _ = try KeySource.read(keyFile: link) }
    }

    @Test("a new store's database files are readable by their owner only", .offCooperativePool)
    func databaseFilesOwnerOnly() throws {
        let temporary = try TemporaryStore()
        let store = try temporary.open()
        _ = try store.createSubject(name: "Ada")
        let files = try FileManager.default.contentsOfDirectory(atPath: temporary.folder.path).filter { $0.hasPrefix("netra.db") }
        #expect(files.contains("netra.db") && files.contains("netra.db-wal"))
        for file in files {
            let mode = (try FileManager.default.attributesOfItem(atPath: temporary.folder.appendingPathComponent(file).path)[.posixPermissions]
                as? NSNumber)?.intValue ?? -1
            #expect(mode & 0o077 == 0, "\(file) has mode \(String(mode, radix: 8))")
        }
    }

    @Test("a key file readable by others is refused; a new one is created with mode 0600", .offCooperativePool)
    func keyFiles() throws {
        let store = try TemporaryStore()
        let path = store.folder.appendingPathComponent("netra.key").path
        _ = try KeySource.createKeyFile(at: path)
        let mode = (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue
        #expect(mode == 0o600)
        _ = try KeySource.read(keyFile: path)
        #expect(throws: (any Error).self) { _ = try KeySource.createKeyFile(at: path) }
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        #expect(throws: KeyError.keyFileTooOpen(path: path, mode: "644")) { _ = try KeySource.read(keyFile: path) }
    }
}
