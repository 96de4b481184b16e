import Foundation

/// The labelled photos in `shared/data/faces/`.
public enum FaceDataSet {
    public static let publicFolder = SharedData.faces.appendingPathComponent("public")
    public static let multiFolder = SharedData.faces.appendingPathComponent("multi")

    /// One row of `public/pairs.csv`.
    public struct Pair: Sendable {
        public let a: String
        public let b: String
        public let same: Bool
        public let origin: String

        /// Whether a peer project's unit test (a `.py` test file, not a data set) checks this pair.
        public var isPeerUnitTest: Bool {
            origin.split(separator: ";").contains { $0.hasSuffix(".py") }
        }
    }

    public static func pairs() throws -> [Pair] {
        try rows(of: publicFolder.appendingPathComponent("pairs.csv")).map {
            Pair(a: $0[0], b: $0[1], same: $0[2] == "1", origin: $0[3])
        }
    }

    /// One box-annotated photo of `multi/ground_truth.csv`: boxes as (left, top, width, height).
    public struct AnnotatedPhoto: Sendable {
        public let file: String
        public let faceCount: Int
        public let boxes: [[Int]]
    }

    public static func annotatedPhotos() throws -> [AnnotatedPhoto] {
        try rows(of: multiFolder.appendingPathComponent("ground_truth.csv")).map { row in
            let boxes = (try? JSONDecoder().decode([[Int]].self, from: Data(row[4].utf8))) ?? []
            return AnnotatedPhoto(file: row[0], faceCount: Int(row[2]) ?? -1, boxes: boxes)
        }
    }

    /// CSV rows after the header; fields may be double-quoted (with commas inside).
    public static func rows(of url: URL) throws -> [[String]] {
        let text = try String(contentsOf: url, encoding: .utf8)
        return text.split(whereSeparator: \.isNewline).dropFirst().map { line in
            var fields: [String] = [], field = "", quoted = false
            for character in line {
                switch character {
                case "\"": quoted.toggle()
                case "," where !quoted: fields.append(field); field = ""
                default: field.append(character)
                }
            }
            fields.append(field)
            return fields
        }
    }
}
