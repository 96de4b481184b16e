import Foundation
import NetraDescriptor

/// A collection (gallery) of subjects: the unit a search, a listing and an API key bound to
/// one are confined to. Every store has `default` (id `SubjectCollection.defaultID`).
public struct SubjectCollection: Sendable, Equatable, Codable {
    /// The collection every store has, holding what was enrolled before collections existed
    /// and what is enrolled without naming one.
    public static let defaultID: Int64 = 1
    public static let defaultName = "default"

    public let id: Int64
    public let name: String
    public let createdAt: String
    public var subjectCount: Int
    public var faceCount: Int
    /// Whether the compatible APIs may name a subject of this collection beyond NETRA's
    /// threshold (`false`: the peers' "always the nearest", which Viseron needs); `nil` follows
    /// the `compat.strict_unknown` setting.
    public var strictUnknown: Bool?

    public init(id: Int64, name: String, createdAt: String, subjectCount: Int = 0, faceCount: Int = 0, strictUnknown: Bool? = nil) {
        self.id = id
        self.name = name
        self.createdAt = createdAt
        self.subjectCount = subjectCount
        self.faceCount = faceCount
        self.strictUnknown = strictUnknown
    }
}

/// A person known to the store.
public struct Subject: Sendable, Equatable, Codable {
    public let id: Int64
    /// The collection the subject belongs to; it never changes.
    public let collectionID: Int64
    public var name: String
    /// A JSON object the operator attaches (badge number, department...).
    public var metadata: String
    public let createdAt: String
    public var updatedAt: String
    public var faceCount: Int
}

/// One enrolled face: everything but its (sealed) embedding.
public struct StoredFace: Sendable, Equatable, Codable {
    public let id: Int64
    public let subjectID: Int64
    public let modelVersion: String
    public let keyID: String
    public let faceWidth: Int
    public let faceHeight: Int
    public let detectorConfidence: Double
    public let createdAt: String
}

/// Size and detector facts of an enrolled face, kept for audits and quality reports.
public struct FaceQuality: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var detectorConfidence: Double

    public init(width: Int, height: Int, detectorConfidence: Double) {
        self.width = width
        self.height = height
        self.detectorConfidence = detectorConfidence
    }
}

/// A face to store in a bulk import (`FaceRepository.addFaces`).
public struct NewFace: Sendable {
    public var subjectID: Int64
    public var descriptor: FaceDescriptor
    public var quality: FaceQuality

    public init(subjectID: Int64, descriptor: FaceDescriptor, quality: FaceQuality) {
        self.subjectID = subjectID
        self.descriptor = descriptor
        self.quality = quality
    }
}

/// What loading (or checking) the stored faces found.
public struct LoadReport: Sendable, Equatable {
    /// Faces decrypted and, for the active model version, placed in the index.
    public var loaded = 0
    /// Rows whose ciphertext does not authenticate: tampered, moved, or damaged. Never used.
    public var tamperedFaceIDs: [Int64] = []
    /// Rows of another model version (re-enroll them to use them).
    public var otherModelVersion = 0
    /// Rows sealed with a key that was not supplied, by key id.
    public var unavailableKeys: [String: Int] = [:]
    /// Subjects whose name or metadata do not match their MAC (edited outside NETRA).
    public var tamperedSubjectIDs: [Int64] = []
    /// What `netra db check` found wrong with the audit log's chain; empty when intact (not
    /// checked at opening).
    public var auditProblems: [String] = []

    /// Faces of any model version that could not be opened: tampered, or under a missing key.
    public var unreadableFaceCount: Int { tamperedFaceIDs.count + unavailableKeys.values.reduce(0, +) }

    /// One sentence per reason faces could not be opened; empty when every face was.
    public var problems: [String] {
        var problems: [String] = []
        if !tamperedFaceIDs.isEmpty {
            problems.append("\(tamperedFaceIDs.count) stored faces fail authentication and are not used (see netra db check)")
        }
        for (keyID, count) in unavailableKeys.sorted(by: { $0.key < $1.key }) {
            problems.append("\(count) stored faces are sealed with key \(keyID), which was not supplied; finish netra keys rotate or supply that key")
        }
        if !tamperedSubjectIDs.isEmpty {
            problems.append("\(tamperedSubjectIDs.count) subjects' names or metadata fail authentication (ids \(tamperedSubjectIDs.map(String.init).joined(separator: ", "))); they are not answered")
        }
        return problems + auditProblems
    }
}

/// One audit-log entry.
public struct AuditEntry: Sendable, Equatable, Codable {
    public let id: Int64
    public let at: String
    public let actor: String
    public let action: String
    public let subjectID: Int64?
    public let faceID: Int64?
    public let result: String
    public let detail: String
}

enum Timestamp {
    /// Now, as ISO 8601 UTC with milliseconds.
    static func now() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date())
    }
}
