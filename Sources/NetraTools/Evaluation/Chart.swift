import Foundation

/// A chart described once and drawn as SVG (`svg()`):
/// coordinates are fractions of the plot area, (0, 0) bottom left, (1, 1) top right.
package struct Chart {
    package struct Color: Equatable {
        let red, green, blue: UInt8
        var hex: String { String(format: "#%02x%02x%02x", red, green, blue) }

        static let blue = Color(red: 0x1f, green: 0x77, blue: 0xb4)
        static let red = Color(red: 0xd6, green: 0x27, blue: 0x28)
        static let green = Color(red: 0x2c, green: 0xa0, blue: 0x2c)
        static let frame = Color(red: 0x44, green: 0x44, blue: 0x44)
        static let grid = Color(red: 0xdd, green: 0xdd, blue: 0xdd)
    }

    package struct Line {
        let points: [(x: Double, y: Double)]
        let color: Color
    }

    /// A half-transparent bar from the x axis up to `top`.
    package struct Bar {
        let x0, x1, top: Double
        let color: Color
    }

    package var title: String
    package var xLabel: String
    package var yLabel: String
    package var xTicks: [(position: Double, label: String)]
    package var yTicks: [(position: Double, label: String)]
    package var lines: [Line] = []
    package var bars: [Bar] = []
    /// A dashed vertical line (the threshold).
    package var markerX: Double?
    /// A legend line at the top right of the plot area.
    package var note: String?

    package static let (width, height, margin) = (560.0, 420.0, 60.0)

    /// Pixel position of a chart coordinate, clamped to the plot area.
    package static func pixel(_ x: Double, _ y: Double) -> (x: Double, y: Double) {
        (margin + min(max(x, 0), 1) * (width - 2 * margin), height - margin - min(max(y, 0), 1) * (height - 2 * margin))
    }

    package func svg() -> String {
        let (width, height, margin) = (Self.width, Self.height, Self.margin)
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(width / 2)" y="24" text-anchor="middle" font-size="15">\(title)</text>
            <rect x="\(margin)" y="\(margin)" width="\(width - 2 * margin)" height="\(height - 2 * margin)" fill="none" stroke="\(Color.frame.hex)"/>
            <text x="\(width / 2)" y="\(height - 16)" text-anchor="middle">\(xLabel)</text>
            <text x="16" y="\(height / 2)" text-anchor="middle" transform="rotate(-90 16 \(height / 2))">\(yLabel)</text>

            """
        for (position, label) in xTicks {
            let x = Self.pixel(position, 0).x
            svg += "<line x1=\"\(x)\" y1=\"\(height - margin)\" x2=\"\(x)\" y2=\"\(margin)\" stroke=\"\(Color.grid.hex)\"/>"
                + "<text x=\"\(x)\" y=\"\(height - margin + 16)\" text-anchor=\"middle\">\(label)</text>\n"
        }
        for (position, label) in yTicks {
            let y = Self.pixel(0, position).y
            svg += "<line x1=\"\(margin)\" y1=\"\(y)\" x2=\"\(width - margin)\" y2=\"\(y)\" stroke=\"\(Color.grid.hex)\"/>"
                + "<text x=\"\(margin - 6)\" y=\"\(y + 4)\" text-anchor=\"end\">\(label)</text>\n"
        }
        func point(_ x: Double, _ y: Double) -> String {
            let p = Self.pixel(x, y)
            return String(format: "%.1f,%.1f", p.x, p.y)
        }
        for bar in bars {
            svg += "<polygon fill=\"\(bar.color.hex)\" fill-opacity=\"0.5\" points=\"\(point(bar.x0, 0)) \(point(bar.x0, bar.top)) "
                + "\(point(bar.x1, bar.top)) \(point(bar.x1, 0))\"/>\n"
        }
        for line in lines {
            svg += "<polyline fill=\"none\" stroke=\"\(line.color.hex)\" stroke-width=\"2\" points=\"\(line.points.map { point($0.x, $0.y) }.joined(separator: " "))\"/>\n"
        }
        if let markerX {
            let x = Self.pixel(markerX, 0).x
            svg += "<line stroke=\"black\" stroke-dasharray=\"6 4\" stroke-width=\"2\" x1=\"\(x)\" y1=\"\(height - margin)\" x2=\"\(x)\" y2=\"\(margin)\"/>\n"
        }
        if let note {
            svg += "<text x=\"\(width - margin - 4)\" y=\"\(margin + 16)\" text-anchor=\"end\">\(note)</text>\n"
        }
        return svg + "</svg>\n"
    }
}
