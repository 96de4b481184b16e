import Foundation
import NetraIdentity
import NetraImaging
import NetraStore
import NetraTestSupport
import NetraVision
import Testing

@Suite("Enrolling and identifying real people", .tags(.endToEnd))
struct IdentityRoundTripTests {
    @Test("enroll the first photo of each person, identify every other photo; then no image or raw embedding is on disk", .offCooperativePool)
    func roundTrip() throws {
        let temporary = try TemporaryStore()
        let store = try temporary.open()
        let enroller = Enroller(finder: FaceFinder(analyzer: try TestModels.analyzer()), store: store, collectionID: SubjectCollection.defaultID)
        let descriptors = try PublicFaceDescriptors.byFile()
        let manifest = try FaceDataSet.manifest()
        var subjectOf: [String: Int64] = [:]
        var enrolledEmbeddings: [[Float]] = []
        var laterPhotos: [(file: String, identity: String)] = []
        var rejected: [String] = []
        for photo in manifest {
            let image = try ImageDecoder().decode(contentsOf: FaceDataSet.publicFolder.appendingPathComponent(photo.file))
            guard subjectOf[photo.identity] == nil else {
                laterPhotos.append(photo)
                continue
            }
            let subject = try store.createSubject(name: photo.identity)
            let enrollment = try enroller.enroll(image, subjectID: subject.id, largestFace: true)
            subjectOf[photo.identity] = subject.id
            enrolledEmbeddings.append(try #require(store.index.descriptor(faceID: enrollment.face.id)))
        }
        var wrong: [String] = []
        for photo in laterPhotos {
            let image = try ImageDecoder().decode(contentsOf: FaceDataSet.publicFolder.appendingPathComponent(photo.file))
            let descriptor = try #require(descriptors[photo.file], "no face in \(photo.file)")
            let best = store.index.search(descriptor.values, in: SubjectCollection.defaultID, topK: 1).first
            if best?.subjectID != subjectOf[photo.identity] { wrong.append(photo.file) }
            // Enroll it too, so the disk scan below covers every public photo the quality gate accepts.
            do {
                let enrollment = try enroller.enroll(image, subjectID: subjectOf[photo.identity]!, force: true, largestFace: true)
                enrolledEmbeddings.append(try #require(store.index.descriptor(faceID: enrollment.face.id)))
            } catch let error as EnrollmentError {
                rejected.append("\(photo.file): \(error)")
                #expect(error.reason == "face_too_small", "\(photo.file): \(error)")
            }
        }
        print("identified \(laterPhotos.count - wrong.count) of \(laterPhotos.count); enrolled \(enrolledEmbeddings.count) faces; rejected \(rejected)")
        #expect(laterPhotos.count > 50)
        #expect(wrong.isEmpty, "wrong top-1 for \(wrong)")
        #expect(enrolledEmbeddings.count + rejected.count == manifest.count)
        #expect(rejected.count <= 3)

        // While the store is open (its WAL present), nothing on disk may hold image data or a plain embedding.
        let files = try FileManager.default.contentsOfDirectory(at: temporary.folder, includingPropertiesForKeys: nil)
        #expect(Set(files.map(\.lastPathComponent)).isSubset(of: ["netra.db", "netra.db-wal", "netra.db-shm"]))
        for file in files {
            let bytes = try Data(contentsOf: file)
            #expect(bytes.range(of: Data([0xFF, 0xD8, 0xFF])) == nil, "JPEG signature in \(file.lastPathComponent)")
            #expect(bytes.range(of: Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])) == nil, "PNG signature in \(file.lastPathComponent)")
            for embedding in enrolledEmbeddings {
                let raw = embedding.prefix(8).withUnsafeBytes { Data($0) }
                #expect(bytes.range(of: raw) == nil, "plain embedding bytes in \(file.lastPathComponent)")
            }
        }
    }
}
