import Foundation
import NetraStore

/// A subject as NETRA prints it (API and command line). `metadata` is the client's own JSON,
/// whose keys come back unchanged.
public struct SubjectJSON: Encodable, Sendable {
    public let id: Int64
    public let name: String
    public let metadata: JSONObject
    public let createdAt: String
    public let updatedAt: String
    public let faceCount: Int
    public var faces: [StoredFaceJSON]?

    enum CodingKeys: String, CodingKey {
        case id, name, metadata, faces
        case createdAt = "created_at", updatedAt = "updated_at", faceCount = "face_count"
    }

    public init(_ subject: Subject, faces: [StoredFace]? = nil) {
        id = subject.id
        name = subject.name
        metadata = JSONObject(text: subject.metadata)
        createdAt = subject.createdAt
        updatedAt = subject.updatedAt
        faceCount = subject.faceCount
        self.faces = faces?.map(StoredFaceJSON.init)
    }
}

/// An enrolled face as NETRA prints it: never its embedding.
public struct StoredFaceJSON: Encodable, Sendable {
    public let id: Int64
    public let subjectId: Int64
    public let modelVersion: String
    public let faceWidth: Int
    public let faceHeight: Int
    public let detectorConfidence: Double
    public let createdAt: String

    enum CodingKeys: String, CodingKey {
        case id
        case subjectId = "subject_id", modelVersion = "model_version", faceWidth = "face_width"
        case faceHeight = "face_height", detectorConfidence = "detector_confidence", createdAt = "created_at"
    }

    public init(_ face: StoredFace) {
        id = face.id
        subjectId = face.subjectID
        modelVersion = face.modelVersion
        faceWidth = face.faceWidth
        faceHeight = face.faceHeight
        detectorConfidence = face.detectorConfidence
        createdAt = face.createdAt
    }
}

/// A JSON object stored as text, embedded as an object in responses.
public struct JSONObject: Encodable, Sendable {
    public let text: String

    public func encode(to encoder: Encoder) throws {
        let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
        try AnyJSON(object).encode(to: encoder)
    }
}

/// Encodes values from `JSONSerialization` (objects, arrays, strings, numbers, booleans, null).
struct AnyJSON: Encodable {
    let value: Any

    init(_ value: Any) {
        self.value = value
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch value {
        case let object as [String: Any]:
            var keyed = encoder.container(keyedBy: AnyKey.self)
            for (key, element) in object { try keyed.encode(AnyJSON(element), forKey: AnyKey(key)) }
        case let array as [Any]:
            var unkeyed = encoder.unkeyedContainer()
            for element in array { try unkeyed.encode(AnyJSON(element)) }
        case let text as String: try container.encode(text)
        case let number as NSNumber where String(cString: number.objCType) == "c":
            // JSONSerialization's booleans are NSNumbers of type char: they go back as true/false.
            try container.encode(number.boolValue)
        case let number as NSNumber:
            if let integer = Int64(exactly: number.doubleValue), !"\(number)".contains(".") {
                try container.encode(integer)
            } else {
                try container.encode(number.doubleValue)
            }
        default: try container.encodeNil()
        }
    }

    struct AnyKey: CodingKey {
        let stringValue: String
        let intValue: Int? = nil
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
