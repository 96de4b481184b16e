import CDNNL
import Foundation
import NetraImaging
import NetraTestSupport
@testable import NetraVision
import Testing

@Suite("YuNet run natively, against libfacedetection itself", .tags(.model))
struct YuNetDetectorTests {
    static let yunetFolder = SharedData.models.appendingPathComponent("yunet")
    static let library = yunetFolder.appendingPathComponent("libfacedetection.so")
    static let detector = Result { try YuNetDetector(libraryFile: library, threads: 2) }

    /// One face as the library reports it: integer percent, truncated pixels.
    struct ReferenceFace: Decodable {
        let score: Int
        let box: [Int]
        let landmarks: [Int]
    }

    /// The library's faces for `image`, from `scripts/yunet_reference.py` in its own process.
    static func reference(_ image: RGBImage) throws -> [ReferenceFace] {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("netra-yunet-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let raw = folder.appendingPathComponent("image.rgb")
        try Data(image.pixels).write(to: raw)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", SharedData.repositoryRoot.appendingPathComponent("scripts/yunet_reference.py").path,
                             String(image.width), String(image.height), raw.path, "--library-dir", yunetFolder.path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "yunet_reference.py failed")
        struct Answer: Decodable { let faces: [ReferenceFace] }
        return try JSONDecoder().decode(Answer.self, from: data).faces
    }

    static func photo(_ path: String) throws -> RGBImage {
        try ImageDecoder().decode([UInt8](Data(contentsOf: SharedData.faces.appendingPathComponent(path))))
    }

    /// Group photos, portraits, an image cropped to odd sides and one whose sides are multiples of 32.
    static let images: [(name: String, load: @Sendable () throws -> RGBImage)] = [
        ("multi/dlib_2008_001322 (500x375)", { try photo("multi/images/dlib_2008_001322.jpg") }),
        ("multi/dlib_2008_001322 cropped to 499x373", { try photo("multi/images/dlib_2008_001322.jpg").cropped(x: 1, y: 2, width: 499, height: 373) }),
        ("multi/deepface_selfie-many-people (600x604)", { try photo("multi/images/deepface_selfie-many-people.jpg") }),
        ("multi/dlib_2008_002470 (500x332)", { try photo("multi/images/dlib_2008_002470.jpg") }),
        ("multi/dlib_2009_004587 (400x500)", { try photo("multi/images/dlib_2009_004587.jpg") }),
        ("multi/fr_two_people (1126x661)", { try photo("multi/images/fr_two_people.jpg") }),
        ("multi/dlib_bald_guys (1986x1545)", { try photo("multi/images/dlib_bald_guys.jpg") }),
        ("multi/insightface_t1 at 640x480", { try photo("multi/images/insightface_t1.jpg").resizedByAreaAverage(width: 640, height: 480) }),
        ("public/deepface/img5 (330x512)", { try photo("public/images/deepface/img5.jpg") }),
        ("public/deepface/img12 (560x415)", { try photo("public/images/deepface/img12.jpg") }),
        ("public/deepface/img21 (439x579)", { try photo("public/images/deepface/img21.jpg") }),
    ]

    @Test("the same faces as libfacedetection: boxes and landmarks within 1 px, scores within 1 point", .offCooperativePool,
          arguments: images.indices)
    func agreesWithLibrary(index: Int) throws {
        let (name, load) = Self.images[index]
        let image = try load()
        let expected = try Self.reference(image)
        let found = try Self.detector.get().detect(in: image, scoreThreshold: YuNetDetector.libraryScoreThreshold)
        #expect(found.count == expected.count, "\(name): \(found.count) faces, the library finds \(expected.count)")
        #expect(found.map(\.score) == found.map(\.score).sorted(by: >), "\(name): not best first")
        var values = 0, differing = 0
        for face in expected {
            // Match by box: scores a hair apart may come out in either order.
            let match = try #require(found.min { distance($0, face) < distance($1, face) }, "\(name)")
            #expect(abs(match.score * 100 - Float(face.score)) <= 1, "\(name): score \(match.score) vs \(face.score)")
            let box = [match.box.x, match.box.y, match.box.width, match.box.height]
            for (ours, theirs) in zip(box, face.box) {
                #expect(abs(ours - Float(theirs)) <= 1, "\(name): box \(box) vs \(face.box)")
            }
            let points = match.landmarks.flatMap { [$0.x, $0.y] }
            for (ours, theirs) in zip(points, face.landmarks) {
                #expect(abs(ours - Double(theirs)) <= 1, "\(name): landmarks \(points) vs \(face.landmarks)")
            }
            // The library truncates toward zero (C's float-to-int): so should almost every value of ours.
            values += 15
            differing += (Int(match.score * 100) == face.score ? 0 : 1)
                + zip(box.map { Int($0) }, face.box).filter { $0 != $1 }.count
                + zip(points.map { Int($0) }, face.landmarks).filter { $0 != $1 }.count
        }
        #expect(differing * 50 <= values, "\(name): \(differing) of \(values) values differ from the library's once truncated")
        let confident = try Self.detector.get().detect(in: image)
        #expect(confident.count == expected.filter { $0.score >= 50 }.count, "\(name) at the default threshold 0.5")
    }

    private func distance(_ face: YuNetFace, _ reference: ReferenceFace) -> Float {
        abs(face.box.x - Float(reference.box[0])) + abs(face.box.y - Float(reference.box[1]))
            + abs(face.box.width - Float(reference.box[2])) + abs(face.box.height - Float(reference.box[3]))
    }

    @Test("landmarks come in the library's order: the person's right eye on the image's left, the nose between the eyes and the mouth", .offCooperativePool)
    func landmarkOrder() throws {
        let face = try #require(try Self.detector.get().detect(in: Self.photo("public/images/deepface/img5.jpg")).first)
        #expect(face.rightEye.x < face.leftEye.x)
        #expect(face.rightMouthCorner.x < face.leftMouthCorner.x)
        #expect(face.noseTip.y > face.rightEye.y && face.noseTip.y < face.rightMouthCorner.y)
    }

    @Test("calls from several threads at once get the answers of one call at a time", .offCooperativePool)
    func concurrentCalls() async throws {
        let detector = try Self.detector.get()
        let images = try [Self.images[0].load(), Self.images[2].load(), Self.images[1].load()]
        let serial = try images.map { try detector.detect(in: $0) }
        try await withThrowingTaskGroup(of: (Int, [YuNetFace]).self) { group in
            for round in 0..<12 {
                group.addTask { (round % 3, try detector.detect(in: images[round % 3])) }
            }
            for try await (index, faces) in group {
                #expect(faces == serial[index])
            }
        }
    }

    @Test("tiny and thin images hold no face, as for the library, and never crash", .offCooperativePool)
    func tinyImages() throws {
        for (width, height) in [(1, 1), (2, 2), (3, 1), (1, 40), (31, 33), (0, 0)] {
            let image = RGBImage(width: width, height: height, pixels: [UInt8](repeating: 128, count: width * height * 3))
            #expect(try Self.detector.get().detect(in: image, scoreThreshold: YuNetDetector.libraryScoreThreshold).isEmpty, "\(width) x \(height)")
            if width > 0 { #expect(try Self.reference(image).isEmpty, "\(width) x \(height)") }
        }
    }

    @Test("an image larger than the bound is refused, not run", .offCooperativePool)
    func hugeImage() throws {
        let image = RGBImage(width: 4097, height: 4096, pixels: [UInt8](repeating: 0, count: 4097 * 4096 * 3))
        #expect(throws: VisionError.self) { try Self.detector.get().detect(in: image) }
    }

    @Test("the pipeline's detector shrinks an image too large for YuNet instead of refusing it (no pixel bound)", .offCooperativePool)
    func largeImageThroughPipeline() throws {
        let detector = YuNetFaceDetector(detector: try Self.detector.get())
        let image = RGBImage(width: 5000, height: 4200, pixels: [UInt8](repeating: 128, count: 5000 * 4200 * 3))
        for face in try detector.detect(in: image, options: DetectionOptions(maxPixels: nil)) {
            #expect(face.rect.left > -5000 && face.rect.right < 10000 && face.rect.top > -4200 && face.rect.bottom < 8400)
        }
    }

    @Test("time per 640x480 detection, 1 and 2 threads (reported, not asserted)", .offCooperativePool)
    func timing() throws {
        let image = try Self.photo("multi/images/insightface_t1.jpg").resizedByAreaAverage(width: 640, height: 480)
        for threads in [1, 2] {
            let detector = try YuNetDetector(libraryFile: Self.library, threads: threads)
            for _ in 0..<3 { _ = try detector.detect(in: image) }
            let runs = 20
            let start = ContinuousClock.now
            for _ in 0..<runs { _ = try detector.detect(in: image) }
            let elapsed = ContinuousClock.now - start
            let milliseconds = Double(elapsed.components.attoseconds) / 1e15 / Double(runs) + Double(elapsed.components.seconds) * 1000 / Double(runs)
            print("YuNet 640x480, \(threads) thread(s): \(String(format: "%.2f", milliseconds)) ms per detection (mean of \(runs))")
        }
    }
}

@Suite("The ELF reader YuNet's weights come through", .tags(.model))
struct ELFSymbolsTests {
    static func libraryBytes() throws -> [UInt8] {
        [UInt8](try Data(contentsOf: YuNetDetectorTests.library))
    }

    @Test("reads the 53 layers, 53,184 floats, and the layer table's pointers agree with the symbols", .offCooperativePool)
    func readsWeights() throws {
        let weights = try YuNetWeights(symbols: ELFSymbols(bytes: Self.libraryBytes(), file: "libfacedetection.so"))
        #expect(weights.layers.count == 53)
        #expect(weights.layers.map { $0.weights.count + $0.bias.count }.reduce(0, +) == 53_184)
        #expect(weights.layers[0].spec.symbol == "backbone__model0_pw" && weights.layers[0].weights.count == 16 * 32)
    }

    @Test("a truncated, damaged or foreign file is a clear invalidModel error", .offCooperativePool)
    func damagedFiles() throws {
        let bytes = try Self.libraryBytes()
        func reason(_ damaged: [UInt8]) -> String? {
            do {
                _ = try YuNetWeights(symbols: ELFSymbols(bytes: damaged, file: "x.so"))
                return nil
            } catch {
                guard case let .invalidModel(file, reason) = error, file == "x.so" else { return "wrong error \(error)" }
                return reason
            }
        }
        #expect(reason([]) == "not an ELF file")
        #expect(reason(Array("this is a text file, not a library".utf8)) == "not an ELF file")
        var thirtyTwoBit = bytes
        thirtyTwoBit[4] = 1
        #expect(reason(thirtyTwoBit) == "not a 64-bit little-endian ELF file")
        // Cut in the header, the relocations, the weights, the section headers and the dynamic symbol names
        // (the wheel's repair tool moved those last two to the end of the file).
        for length in [10, 64, 100, 0x3B00, 0x20000, 0x45000, 0x49800, 0x4E000] {
            let message = reason(Array(bytes.prefix(length)))
            #expect(message != nil, "\(length) bytes accepted")
        }
        // A weight renamed in the dynamic symbol names (the last copy of the name; the first is the static symbol table's).
        let name = Array("backbone__model3_dp1_pw_weight".utf8)
        let at = try #require(lastIndex(of: name, in: bytes))
        var renamed = bytes
        renamed[at] = UInt8(ascii: "X")
        #expect(reason(renamed) == "it has no symbol backbone__model3_dp1_pw_weight")
        // A flag of the layer table flipped (layer 2's ReLU).
        let symbols = try ELFSymbols(bytes: bytes, file: "x.so")
        let table = try symbols.symbol("param_pConvInfo")
        let flag = try #require(firstIndex(of: Array(symbols.bytes(at: table.address, count: 64)), in: bytes)) + 64 + 10
        var flipped = bytes
        flipped[flag] ^= 1
        #expect(reason(flipped) == "layer 2 (backbone__model0_dp_dw) is not the one of the YuNet version NETRA runs")
        // Random damage anywhere never crashes (seeded, so a failure reproduces).
        var generator = SeededGenerator(seed: 20_261_201)
        for _ in 0..<200 {
            var damaged = bytes
            for _ in 0..<8 { damaged[Int.random(in: 0..<min(damaged.count, 0x4000), using: &generator)] = .random(in: 0...255, using: &generator) }
            for _ in 0..<8 { damaged[Int.random(in: (damaged.count - 0x3000)..<damaged.count, using: &generator)] = .random(in: 0...255, using: &generator) }
            _ = reason(damaged)
        }
        // Section addresses, offsets and sizes near 2^64, where sums overflow, are errors too.
        func uint64(_ at: Int) -> Int { (0..<8).reduce(0) { $0 | Int(bytes[at + $1]) << (8 * $1) } }
        let headers = uint64(0x28), headerSize = Int(bytes[0x3A]) | Int(bytes[0x3B]) << 8
        let headerCount = Int(bytes[0x3C]) | Int(bytes[0x3D]) << 8
        for _ in 0..<100 {
            var damaged = bytes
            let field = headers + Int.random(in: 0..<headerCount, using: &generator) * headerSize + [16, 24, 32].randomElement(using: &generator)!
            let value = UInt64.max - UInt64.random(in: 0...0x10_0000, using: &generator)
            for byte in 0..<8 { damaged[field + byte] = UInt8(truncatingIfNeeded: value >> (8 * byte)) }
            #expect(reason(damaged)?.hasPrefix("wrong error") != true)
        }
    }

    private func firstIndex(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        (0...(haystack.count - needle.count)).first { haystack[$0..<($0 + needle.count)].elementsEqual(needle) }
    }

    private func lastIndex(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        (0...(haystack.count - needle.count)).last { haystack[$0..<($0 + needle.count)].elementsEqual(needle) }
    }
}

@Suite("YuNet's kernels on hand-computed cases", .tags(.unit))
struct YuNetKernelTests {
    @Test("a grouped (depthwise) oneDNN convolution: each channel its own 3x3 filter, zero padding, bias, ReLU", .offCooperativePool)
    func depthwiseConvolution() throws {
        let shape = TensorShape(batch: 1, height: 3, width: 4, channels: 2)
        var input = (0..<shape.elementCount).map { Float($0 % 7) - 2 }
        // GOIHW, one group per channel: channel 0 sums its neighbourhood, channel 1 takes the left neighbour times -1.
        let weights: [Float] = [Float](repeating: 1, count: 9) + [0, 0, 0, -1, 0, 0, 0, 0, 0]
        let convolution = try DNNLConvolution(input: shape, filters: 2, kernelHeight: 3, kernelWidth: 3, stride: 1, padding: 1,
                                              source: dnnl_f32, weights: weights, weightType: dnnl_f32, bias: [0.5, 1],
                                              outputScales: nil, fusedReLU: true, threads: 1, groups: 2)
        var output = [Float](repeating: .nan, count: shape.elementCount)
        let scratchpad = UnsafeMutableRawPointer.allocate(byteCount: max(64, convolution.scratchpadByteCount), alignment: 64)
        defer { scratchpad.deallocate() }
        let stream = try DNNLEngine.makeStream()
        defer { dnnl_stream_destroy(stream) }
        try input.withUnsafeMutableBufferPointer { source throws(VisionError) in
            try output.withUnsafeMutableBufferPointer { destination throws(VisionError) in
                try convolution.run(input: source.baseAddress!, output: destination.baseAddress!, scratchpad: scratchpad, stream: stream)
            }
        }
        func at(_ y: Int, _ x: Int, _ c: Int) -> Float {
            y < 0 || y >= shape.height || x < 0 || x >= shape.width ? 0 : input[(y * shape.width + x) * 2 + c]
        }
        for y in 0..<shape.height {
            for x in 0..<shape.width {
                var sum: Float = 0.5
                for dy in -1...1 { for dx in -1...1 { sum += at(y + dy, x + dx, 0) } }
                #expect(output[(y * shape.width + x) * 2] == max(0, sum))
                #expect(output[(y * shape.width + x) * 2 + 1] == max(0, 1 - at(y, x - 1, 1)))
            }
        }
    }

    @Test("2x2 max pooling, nearest upsampling plus add, and the padded input", .offCooperativePool)
    func smallKernels() {
        let shape = TensorShape(batch: 1, height: 2, width: 4, channels: 17)
        let input = (0..<shape.elementCount).map { Float(($0 * 37) % 101) - 50 }
        var pooled = [Float](repeating: .nan, count: 2 * 17)
        YuNetKernels.maxPool(input, shape, into: &pooled)
        for x in 0..<2 {
            for c in 0..<17 {
                let window = [(0, 2 * x), (0, 2 * x + 1), (1, 2 * x), (1, 2 * x + 1)].map { input[($0.0 * 4 + $0.1) * 17 + c] }
                #expect(pooled[x * 17 + c] == window.max()!)
            }
        }
        var sum = [Float](repeating: .nan, count: shape.elementCount)
        YuNetKernels.upsampleAdd(pooled, input, shape, into: &sum)
        for y in 0..<2 {
            for x in 0..<4 {
                for c in 0..<17 {
                    #expect(sum[(y * 4 + x) * 17 + c] == pooled[(x / 2) * 17 + c] + input[(y * 4 + x) * 17 + c])
                }
            }
        }
        let pixels: [UInt8] = (0..<(7 * 2 * 3)).map { UInt8($0 * 6) }
        var padded = [Float](repeating: .nan, count: 32 * 32 * 3)
        pixels.withUnsafeBufferPointer { YuNetKernels.fillPadded(&padded, paddedHeight: 32, paddedWidth: 32, from: $0, width: 7, height: 2) }
        #expect(padded[0..<21].elementsEqual(pixels[0..<21].map(Float.init)))
        #expect(padded[96..<117].elementsEqual(pixels[21..<42].map(Float.init)))
        #expect(padded.enumerated().allSatisfy { $0.offset % 96 < 21 && $0.offset < 192 || $0.element == 0 })
    }
}

@Suite("YuNet's decoding and box mapping on hostile values", .tags(.unit))
struct YuNetDecodingTests {
    /// Head outputs for one position: score and objectness logits, box outputs, landmark outputs.
    private func position(logit: Float, box: [Float], landmarks: Float = 0) -> [Float] {
        typealias Head = YuNetArchitecture.Head
        var out = [Float](repeating: landmarks, count: YuNetArchitecture.headChannels)
        out[Head.score.channelOffset] = logit
        out[Head.objectness.channelOffset] = logit
        for (index, value) in box.enumerated() { out[Head.box.channelOffset + index] = value }
        return out
    }

    @Test("boxes or landmarks that overflow (exp of a huge logit) or are NaN are dropped; ties keep level, then position order", .offCooperativePool)
    func hostileOutputs() {
        let finer = position(logit: 50, box: [1e30, 0, 100, 0]) // width exp(100): infinite
            + position(logit: 1e30, box: [0, 0, 0, 0], landmarks: 1e38) // landmarks infinite
            + position(logit: 1e30, box: [.nan, 0, 0, 0])
            + position(logit: 1e30, box: [0, 0, 0, 0]) // kept: centred on its prior (24, 0), 8 px
        let coarser = position(logit: .greatestFiniteMagnitude, box: [4, 0, 0, 0]) // kept: centred on (128, 0), 32 px, same score
        let faces = finer.withUnsafeBufferPointer { finer in
            coarser.withUnsafeBufferPointer { coarser in
                YuNetDecoding.faces(in: [YuNetDecoding.Level(outputs: finer.baseAddress!, rows: 1, columns: 4, stride: 8),
                                         YuNetDecoding.Level(outputs: coarser.baseAddress!, rows: 1, columns: 1, stride: 32)],
                                    scoreThreshold: 0.5)
            }
        }
        #expect(faces.count == 2)
        #expect(faces.map(\.score) == [1, 1])
        #expect(faces.first?.box == YuNetFace.Box(x: 20, y: -4, width: 8, height: 8))
        #expect(faces.last?.box == YuNetFace.Box(x: 112, y: -16, width: 32, height: 32))
        #expect(faces.allSatisfy { $0.landmarks.allSatisfy { $0.x.isFinite && $0.y.isFinite } })
    }

    @Test("non-max suppression: by score, ties in the order given, overlaps above IoU 0.45 dropped", .offCooperativePool)
    func suppression() {
        let box = YuNetFace.Box(x: 0, y: 0, width: 10, height: 10)
        let shifted = YuNetFace.Box(x: 2, y: 0, width: 10, height: 10), apart = YuNetFace.Box(x: 50, y: 0, width: 10, height: 10)
        #expect(YuNetDecoding.suppressingOverlaps([(apart, 0.9), (shifted, 0.9), (box, 0.95)]) == [2, 0])
        #expect(YuNetDecoding.suppressingOverlaps([(shifted, 0.9), (apart, 0.9), (box, 0.8)]) == [0, 1])
        #expect(YuNetDecoding.suppressingOverlaps([(box, 0.9), (apart, 0.8), (shifted, 0.7)], faceLimit: 1) == [0])
        #expect(box.overlap(with: shifted) == Float(80) / 120)
        #expect(box.overlap(with: YuNetFace.Box(x: 10, y: 0, width: 10, height: 10)) == 0)
    }

    @Test("landmarkBox never traps: infinite, NaN and huge boxes give a clamped rectangle", .offCooperativePool)
    func landmarkBoxOfHostileBoxes() {
        let mapping = YuNetBoxMapping.fitted, bound = YuNetBoxMapping.coordinateBound
        let values: [Float] = [.infinity, -.infinity, .nan, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 1e20, -1e20, 0, 100]
        for x in values {
            for size in values {
                let rect = mapping.landmarkBox(for: YuNetFace.Box(x: x, y: -x, width: size, height: size))
                for edge in [rect.left, rect.top, rect.right, rect.bottom] {
                    #expect(abs(edge) <= 2 * bound, "x \(x), size \(size): \(rect)")
                }
                #expect(rect.right >= rect.left && rect.bottom >= rect.top && rect.right - rect.left == rect.bottom - rect.top)
            }
        }
        #expect(mapping.landmarkBox(for: YuNetFace.Box(x: 100, y: 50, width: 40, height: 50)) == PixelRect(left: 98, top: 54, right: 139, bottom: 95))
    }

    @Test("the pipeline's working image always fits YuNet once padded, whatever the image's size and the options", .offCooperativePool)
    func workingImageFits() {
        let shapes = [(5000, 4200), (4097, 4096), (1, 600_000), (600_000, 1), (100_000, 3), (20_000, 20_000), (640, 480), (1, 1)]
        let options = [DetectionOptions(), DetectionOptions(upsample: 8), DetectionOptions(maxPixels: 0),
                       DetectionOptions(upsample: 2, maxPixels: 1 << 40), DetectionOptions(minFaceSize: 10)]
        for (width, height) in shapes {
            for option in options {
                let scaling = YuNetFaceDetector.scaling(imageWidth: width, imageHeight: height, options: option)
                var size = scaling.downscaledSize ?? (width, height)
                for _ in 0..<scaling.upsampleCount { size = RGBImage.pyramidUpSize(width: size.width, height: size.height) }
                #expect(YuNetNetwork.padded(size.width) * YuNetNetwork.padded(size.height) <= YuNetDetector.maximumPixels,
                        "\(width) x \(height), \(option): \(size)")
            }
        }
        #expect(YuNetFaceDetector.scaling(imageWidth: 640, imageHeight: 480, options: DetectionOptions()).downscaledSize == nil)
    }
}
