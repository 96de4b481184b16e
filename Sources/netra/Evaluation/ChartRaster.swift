import NetraImaging

/// Draws a `Chart` into pixels for the PNG plots: lines, bars, grid and text in a built-in
/// 5x7 pixel font (capitals, digits and the punctuation plot labels use), drawn at 2x.
enum ChartRaster {
    static func draw(_ chart: Chart) -> RGBImage {
        var canvas = Canvas(width: Int(Chart.width), height: Int(Chart.height))
        let (width, height, margin) = (Chart.width, Chart.height, Chart.margin)
        for (position, label) in chart.xTicks {
            let x = Chart.pixel(position, 0).x
            canvas.line(from: (x, margin), to: (x, height - margin), color: .grid)
            canvas.text(label, centeredAt: (x, height - margin + 14), scale: 1)
        }
        for (position, label) in chart.yTicks {
            let y = Chart.pixel(0, position).y
            canvas.line(from: (margin, y), to: (width - margin, y), color: .grid)
            canvas.text(label, rightAlignedAt: (margin - 6, y), scale: 1)
        }
        for bar in chart.bars {
            let (x0, top) = Chart.pixel(bar.x0, bar.top), (x1, bottom) = Chart.pixel(bar.x1, 0)
            canvas.blend(x0: x0, y0: top, x1: x1, y1: bottom, color: bar.color)
        }
        canvas.rectangle(x0: margin, y0: margin, x1: width - margin, y1: height - margin, color: .frame)
        for line in chart.lines {
            let points = line.points.map { Chart.pixel($0.x, $0.y) }
            for (a, b) in zip(points, points.dropFirst()) { canvas.line(from: a, to: b, color: line.color, thickness: 2) }
        }
        if let markerX = chart.markerX {
            let x = Chart.pixel(markerX, 0).x
            canvas.line(from: (x, margin), to: (x, height - margin), color: .black, thickness: 2, dash: 6)
        }
        canvas.text(chart.title, centeredAt: (width / 2, 22), scale: 2)
        canvas.text(chart.xLabel, centeredAt: (width / 2, height - 22), scale: 1)
        canvas.text(chart.yLabel, centeredAt: (14, height / 2), scale: 1, vertical: true)
        if let note = chart.note { canvas.text(note, rightAlignedAt: (width - margin - 4, margin + 12), scale: 1) }
        return RGBImage(width: canvas.width, height: canvas.height, pixels: canvas.pixels)
    }

    /// A white RGB raster with the few drawing operations charts need.
    struct Canvas {
        let width: Int
        let height: Int
        private(set) var pixels: [UInt8]

        init(width: Int, height: Int) {
            self.width = width
            self.height = height
            pixels = [UInt8](repeating: 255, count: width * height * 3)
        }

        mutating func set(_ x: Int, _ y: Int, _ color: Chart.Color) {
            guard x >= 0, y >= 0, x < width, y < height else { return }
            let offset = (y * width + x) * 3
            pixels[offset] = color.red
            pixels[offset + 1] = color.green
            pixels[offset + 2] = color.blue
        }

        /// A straight line, `thickness` pixels wide; with `dash`, drawn `dash` pixels on, `dash` off.
        mutating func line(from a: (x: Double, y: Double), to b: (x: Double, y: Double), color: Chart.Color,
                           thickness: Int = 1, dash: Int? = nil) {
            let steps = max(1, Int(max(abs(b.x - a.x), abs(b.y - a.y)).rounded()))
            for step in 0...steps {
                if let dash, (step / dash) % 2 == 1 { continue }
                let t = Double(step) / Double(steps)
                let x = Int((a.x + (b.x - a.x) * t).rounded()), y = Int((a.y + (b.y - a.y) * t).rounded())
                for dx in 0..<thickness { for dy in 0..<thickness { set(x + dx - thickness / 2, y + dy - thickness / 2, color) } }
            }
        }

        mutating func rectangle(x0: Double, y0: Double, x1: Double, y1: Double, color: Chart.Color) {
            line(from: (x0, y0), to: (x1, y0), color: color)
            line(from: (x1, y0), to: (x1, y1), color: color)
            line(from: (x1, y1), to: (x0, y1), color: color)
            line(from: (x0, y1), to: (x0, y0), color: color)
        }

        /// Fills a rectangle with `color` at half opacity over what is there.
        mutating func blend(x0: Double, y0: Double, x1: Double, y1: Double, color: Chart.Color) {
            for y in max(0, Int(y0.rounded()))..<min(height, Int(y1.rounded())) {
                for x in max(0, Int(x0.rounded()))..<min(width, Int(x1.rounded())) {
                    let offset = (y * width + x) * 3
                    pixels[offset] = UInt8((Int(pixels[offset]) + Int(color.red)) / 2)
                    pixels[offset + 1] = UInt8((Int(pixels[offset + 1]) + Int(color.green)) / 2)
                    pixels[offset + 2] = UInt8((Int(pixels[offset + 2]) + Int(color.blue)) / 2)
                }
            }
        }

        mutating func text(_ string: String, centeredAt center: (x: Double, y: Double), scale: Int, vertical: Bool = false) {
            let length = Double(string.count * 6 * scale)
            if vertical {
                draw(string, x: Int(center.x) - 3 * scale, y: Int(center.y + length / 2), scale: scale, vertical: true)
            } else {
                draw(string, x: Int(center.x - length / 2), y: Int(center.y) - 3 * scale, scale: scale, vertical: false)
            }
        }

        mutating func text(_ string: String, rightAlignedAt end: (x: Double, y: Double), scale: Int) {
            draw(string, x: Int(end.x) - string.count * 6 * scale, y: Int(end.y) - 3 * scale, scale: scale, vertical: false)
        }

        /// Glyphs left to right from (x, y) (their top left corner), or bottom to top when `vertical`.
        private mutating func draw(_ string: String, x: Int, y: Int, scale: Int, vertical: Bool) {
            for (index, character) in string.uppercased().enumerated() {
                let rows = PixelFont.glyph(character)
                for (row, bits) in rows.enumerated() {
                    for (column, bit) in bits.enumerated() where bit == "#" {
                        for dx in 0..<scale {
                            for dy in 0..<scale {
                                let u = index * 6 * scale + column * scale + dx, v = row * scale + dy
                                if vertical { set(x + v, y - u, .black) } else { set(x + u, y + v, .black) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A 5x7 pixel font: each glyph is seven rows of five cells, `#` inked.
enum PixelFont {
    static func glyph(_ character: Character) -> [String] {
        glyphs[character] ?? glyphs["?"]!
    }

    private static let glyphs: [Character: [String]] = [
        " ": [".....", ".....", ".....", ".....", ".....", ".....", "....."],
        "A": [".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"],
        "B": ["####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."],
        "C": [".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."],
        "D": ["####.", "#...#", "#...#", "#...#", "#...#", "#...#", "####."],
        "E": ["#####", "#....", "#....", "####.", "#....", "#....", "#####"],
        "F": ["#####", "#....", "#....", "####.", "#....", "#....", "#...."],
        "G": [".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".####"],
        "H": ["#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"],
        "I": [".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."],
        "J": ["..###", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.."],
        "K": ["#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"],
        "L": ["#....", "#....", "#....", "#....", "#....", "#....", "#####"],
        "M": ["#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"],
        "N": ["#...#", "#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#"],
        "O": [".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."],
        "P": ["####.", "#...#", "#...#", "####.", "#....", "#....", "#...."],
        "Q": [".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#"],
        "R": ["####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"],
        "S": [".####", "#....", "#....", ".###.", "....#", "....#", "####."],
        "T": ["#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."],
        "U": ["#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."],
        "V": ["#...#", "#...#", "#...#", "#...#", "#...#", ".#.#.", "..#.."],
        "W": ["#...#", "#...#", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#."],
        "X": ["#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#"],
        "Y": ["#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#.."],
        "Z": ["#####", "....#", "...#.", "..#..", ".#...", "#....", "#####"],
        "0": [".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."],
        "1": ["..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."],
        "2": [".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"],
        "3": ["#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."],
        "4": ["...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."],
        "5": ["#####", "#....", "####.", "....#", "....#", "#...#", ".###."],
        "6": ["..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."],
        "7": ["#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."],
        "8": [".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."],
        "9": [".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."],
        ".": [".....", ".....", ".....", ".....", ".....", ".##..", ".##.."],
        ",": [".....", ".....", ".....", ".....", ".##..", "..#..", ".#..."],
        ":": [".....", ".##..", ".##..", ".....", ".##..", ".##..", "....."],
        ";": [".....", ".##..", ".##..", ".....", ".##..", "..#..", ".#..."],
        "-": [".....", ".....", ".....", "#####", ".....", ".....", "....."],
        "+": [".....", "..#..", "..#..", "#####", "..#..", "..#..", "....."],
        "(": ["...#.", "..#..", ".#...", ".#...", ".#...", "..#..", "...#."],
        ")": [".#...", "..#..", "...#.", "...#.", "...#.", "..#..", ".#..."],
        "%": ["##...", "##..#", "...#.", "..#..", ".#...", "#..##", "...##"],
        "/": [".....", "....#", "...#.", "..#..", ".#...", "#....", "....."],
        "_": [".....", ".....", ".....", ".....", ".....", ".....", "#####"],
        "?": [".###.", "#...#", "....#", "...#.", "..#..", ".....", "..#.."],
    ]
}
