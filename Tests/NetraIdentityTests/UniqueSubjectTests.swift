import Foundation
import NetraDescriptor
import NetraIdentity
import NetraImaging
import NetraStore
import NetraTestSupport
import NetraVision
import Testing

@Suite("One subject per face of an image", .tags(.endToEnd))
struct UniqueSubjectTests {
    static func photo(_ file: String) throws -> RGBImage {
        try ImageDecoder().decode(contentsOf: FaceDataSet.publicFolder.appendingPathComponent(file))
    }

    /// A group photo whose people are all enrolled, plus a look-alike: two photos of one person
    /// (as with twins, or a poster of the person behind them) beside a photo of another. The
    /// person is enrolled from a third photo and the look-alike subject from a fourth; the two
    /// query photos are those of the public set that are both nearer the same enrolled photo,
    /// by the largest margin (with three or more left, two always lean the same way).
    struct Scene {
        let group: RGBImage
        let personPhoto: String
        let lookAlikePhoto: String
        let otherPhoto: String
        /// Whether both query faces are nearer the person's enrolled photo (else the look-alike's).
        let favoursPerson: Bool
    }

    static func scene() throws -> Scene {
        let photos = Dictionary(grouping: try PublicFaceDescriptors.faces.get(), by: \.identity)
        let person = try #require(photos.filter { $0.value.count >= 5 }.max { $0.value.count < $1.value.count }).value
        let (enrolled, lookAlike) = (person[0], person[1])
        // How much nearer the enrolled photo than the look-alike's each remaining photo is.
        let margins = person.dropFirst(2).map { ($0, $0.descriptor.distance(to: lookAlike.descriptor) - $0.descriptor.distance(to: enrolled.descriptor)) }
            .sorted { $0.1 > $1.1 }
        let favoursPerson = margins[1].1 >= -margins[margins.count - 2].1
        let queries = favoursPerson ? (margins[0].0, margins[1].0) : (margins[margins.count - 1].0, margins[margins.count - 2].0)
        let other = try #require(photos.first { $0.key != enrolled.identity && $0.value.count >= 2 }).value
        let group = RGBImage.sideBySide([try photo(queries.0.file), try photo(other[1].file), try photo(queries.1.file)], height: 400)
        return Scene(group: group, personPhoto: enrolled.file, lookAlikePhoto: lookAlike.file, otherPhoto: other[0].file,
                     favoursPerson: favoursPerson)
    }

    @Test("with the people and a look-alike enrolled, each face gets its own subject; without the rule two faces share one", .offCooperativePool,
          .tags(.endToEnd))
    func groupWithLookAlike() throws {
        let scene = try Self.scene()
        let temporary = try TemporaryStore()
        let store = try temporary.open()
        let finder = FaceFinder(analyzer: try TestModels.analyzer())
        let enroller = Enroller(finder: finder, store: store, collectionID: SubjectCollection.defaultID)
        let person = try enroller.enroll(try Self.photo(scene.personPhoto), subject: .named("person"), largestFace: true).subject
        let lookAlike = try enroller.enroll(try Self.photo(scene.lookAlikePhoto), subject: .named("look-alike"), force: true,
                                            largestFace: true).subject
        let other = try enroller.enroll(try Self.photo(scene.otherPhoto), subject: .named("other"), largestFace: true).subject
        let favoured = scene.favoursPerson ? person : lookAlike

        let identifier = Identifier(finder: finder, store: store, collectionID: SubjectCollection.defaultID)
        let separate = try identifier.identify(scene.group, topK: 3, threshold: 0.7, uniqueSubjects: false)
            .sorted { $0.bbox[0] < $1.bbox[0] }
        #expect(separate.count == 3)
        #expect([separate[0], separate[2]].allSatisfy { $0.candidates.first?.subjectId == favoured.id },
                "searched alone, both faces of the person come back as one subject")
        #expect(separate[1].candidates.first?.subjectId == other.id)

        let unique = try identifier.identify(scene.group, topK: 3, threshold: 0.7).sorted { $0.bbox[0] < $1.bbox[0] }
        let best = unique.map { $0.candidates.first?.subjectId }
        #expect(best[1] == other.id)
        #expect(Set([best[0], best[2]]) == Set([person.id, lookAlike.id]), "the person and the look-alike, one face each")
        let given = unique.compactMap { $0.candidates.first?.subjectId }
        #expect(Set(given).count == given.count)
        for face in unique {
            #expect(!face.candidates.dropFirst().contains { given.contains($0.subjectId) }, "no face lists a subject given to a face")
        }
    }

    @Test("assignment takes pairs best distance first; a face whose subject is taken gets its next one, or none", .offCooperativePool, .tags(.unit))
    func assignment() {
        func hit(_ subject: Int64, _ distance: Float) -> IndexCandidate {
            IndexCandidate(subjectID: subject, faceID: subject * 10, distance: distance)
        }
        let candidates = [[hit(1, 0.30), hit(2, 0.50)], [hit(1, 0.20), hit(3, 0.55)], [hit(1, 0.40)], [hit(2, 0.45), hit(4, 0.58)]]
        let assigned = SubjectAssignment.oneToOne(candidates, topK: 2)
        // (face 1, subject 1, 0.20) first; subject 1 is then taken for faces 0 and 2, and face 3
        // takes subject 2 (0.45) before face 0 reaches it (0.50).
        #expect(assigned[1].map(\.subjectID) == [1, 3])
        #expect(assigned[3].map(\.subjectID) == [2, 4])
        #expect(assigned[0].isEmpty)
        #expect(assigned[2].isEmpty)
        #expect(SubjectAssignment.oneToOne([], topK: 5).isEmpty)
    }
}
