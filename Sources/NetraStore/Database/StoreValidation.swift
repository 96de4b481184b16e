import Foundation

/// The checks every backend applies to what a caller asks to store, before any statement runs:
/// one definition, so that a name or metadata one backend accepts the other accepts too.
enum StoreValidation {
    /// Refuses an empty or blank subject name, one longer than 200 code points or holding a
    /// control character, and metadata that is not a JSON object.
    static func validate(name: String, metadata: String) throws(StoreError) {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw .invalidName("a name cannot be empty") }
        // The schemas' length checks count code points, not the grapheme clusters `count` does.
        guard name.unicodeScalars.count <= 200 else { throw .invalidName("a name has at most 200 characters") }
        guard !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .invalidName("a name cannot contain control characters")
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(metadata.utf8)), object is [String: Any] else {
            throw .invalidMetadata
        }
    }

    /// Refuses a collection name that is not 1 to 64 ASCII letters, digits, '-', '_' or '.'
    /// (it appears in URLs and API key bindings).
    static func validate(collectionName name: String) throws(StoreError) {
        guard (1...64).contains(name.unicodeScalars.count) else { throw .invalidCollectionName("a name has 1 to 64 characters") }
        guard name.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0)) }) else {
            throw .invalidCollectionName("use letters, digits, '-', '_' and '.' only")
        }
    }
}
