import Foundation

/// Reads a model file from disk into a parsed form, turning every failure into a
/// `VisionError.invalidModel` that names the file.
package enum ModelFileReader {
    package static func bytes(at url: URL) throws(VisionError) -> [UInt8] {
        do {
            return [UInt8](try Data(contentsOf: url))
        } catch {
            let reason = FileManager.default.fileExists(atPath: url.path)
                ? "it cannot be read" : "it does not exist (run `netra models fetch`)"
            throw .invalidModel(file: url.path, reason: reason)
        }
    }

    package static func network(at url: URL, layout: [DlibLayerSpec]) throws(VisionError) -> DlibNetworkFile {
        let data = try bytes(at: url)
        do {
            return try DlibNetworkFile.parse(data, layout: layout)
        } catch {
            throw .invalidModel(file: url.path, reason: "\(error) (a wrong or truncated file)")
        }
    }
}
