import Foundation

extension FaceDataSet {
    /// `public/manifest.csv`: each photo's file and identity, in file order.
    public static func manifest() throws -> [(file: String, identity: String)] {
        try rows(of: publicFolder.appendingPathComponent("manifest.csv")).map { ($0[0], $0[1]) }
    }
}
