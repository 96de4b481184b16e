import Foundation

/// One person's photos in a labelled folder.
package struct PersonPhotos {
    package let name: String
    package let photos: [String]
}

/// Labelled photos laid out as one subfolder of JPEG/PNG photos per person, the input of
/// `netra evaluate --dataset` and `netra train`.
package enum PersonFolders {
    /// Photos per person, in name order; people without photos are left out.
    package static func read(_ folder: String) throws -> [PersonPhotos] {
        let root = URL(fileURLWithPath: folder)
        guard let entries = try? FileManager.default.contentsOfDirectory(at: root, includingPropertiesForKeys: [.isDirectoryKey]) else {
            throw ToolError("\(folder) is not a readable folder")
        }
        return entries.filter { (try? $0.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) == true }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
            .map { person in
                let photos = ((try? FileManager.default.contentsOfDirectory(at: person, includingPropertiesForKeys: nil)) ?? [])
                    .filter { ["jpg", "jpeg", "png"].contains($0.pathExtension.lowercased()) }
                    .map(\.path).sorted()
                return PersonPhotos(name: person.lastPathComponent, photos: photos)
            }
            .filter { !$0.photos.isEmpty }
    }
}
