import Foundation
import NetraImaging
import NetraTestSupport
import Testing

@Suite("netra evaluate", .tags(.endToEnd))
struct EvaluateCommandTests {
    /// The public photos of the people `keep` selects (default: face_recognition's) as a folder
    /// per person (links, not copies).
    static func dataset(keep: (String) -> Bool = { $0.hasPrefix("face_recognition/") }) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("netra-eval-\(UUID().uuidString)")
        for (file, identity) in try FaceDataSet.manifest() where keep(identity) {
            let person = folder.appendingPathComponent(identity.replacingOccurrences(of: "face_recognition/", with: "").replacingOccurrences(of: "/", with: "_"))
            try FileManager.default.createDirectory(at: person, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(at: person.appendingPathComponent((file as NSString).lastPathComponent),
                                                       withDestinationURL: FaceDataSet.publicFolder.appendingPathComponent(file))
        }
        return folder
    }

    @Test("a dataset folder: genuine pairs counted, sampled impostors reported, plots and a FAR calibration written", .offCooperativePool)
    func verification() throws {
        let folder = try Self.dataset()
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("report"), calibration = folder.appendingPathComponent("calibration.json")
        let result = try Netra.run(["evaluate", "--dataset", folder.path, "--json", "--out", out.path,
                                    "--calibrate-far", "0.01", "--calibration", calibration.path])
        #expect(result.exitCode == 0, "\(result.error)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        let verification = try #require(report["verification"] as? [String: Any])
        // obama 12 photos, alex_lacamoire 3, kit_harington 3, biden 2, rose_leslie 2: 66 + 3 + 3 + 1 + 1 genuine pairs.
        #expect(verification["genuine_pairs"] as? Int == 74)
        #expect(report["sampled_impostors"] as? Int == verification["impostor_pairs"] as? Int)
        #expect(verification["accuracy"] as? Double ?? 0 >= 0.95)
        for plot in ["roc.svg", "det.svg", "scores.svg", "report.json"] {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(plot).path), "\(plot) missing")
        }
        for plot in ["roc", "det", "scores"] {
            let svg = try String(contentsOf: out.appendingPathComponent("\(plot).svg"), encoding: .utf8)
            #expect(svg.hasPrefix("<svg") && svg.contains("</svg>"), "\(plot).svg is not an SVG document")
            #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("\(plot).png").path), "a PNG plot is still written")
        }
        let written = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: calibration)) as? [String: Any])
        #expect((written["far_measured"] as? Double ?? 1) <= 0.01)
        #expect((0...1).contains(written["threshold"] as? Double ?? -1))
    }

    @Test("1:N mode: each person's first photo enrolled, the others found", .offCooperativePool)
    func identification() throws {
        let folder = try Self.dataset()
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try Netra.run(["evaluate", "--dataset", folder.path, "--identification", "--json"])
        #expect(result.exitCode == 0, "\(result.error)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        #expect(report["enrolled"] as? Int == 6)
        #expect(report["top1_accuracy"] as? Double ?? 0 >= 0.9)
        #expect(report["false_positive_identification_rate"] as? Double ?? 1 <= 0.1)
    }

    @Test("bad arguments are one-line errors", .offCooperativePool)
    func badArguments() throws {
        let result = try Netra.run(["evaluate", "--identification", "--pairs", "x.csv", "--images", "."])
        #expect(result.exitCode == 64)
        let missing = try Netra.run(["evaluate", "--pairs", "/nonexistent.csv", "--images", "."])
        #expect(missing.exitCode == 1)
        #expect(missing.error == "netra: /nonexistent.csv cannot be read\n")
    }
}
