/// The 1:N hot loop: squared Euclidean distances from one query to a block of 128-d rows,
/// from dot products and stored squared norms, at memory speed.
enum SimilarityScan {
    /// Calls `visit(row, d²)` for every row whose squared distance is computed; rows are
    /// scanned in order. Written with explicit SIMD and `acc += a * b` (Swift targets baseline
    /// x86-64, where a fused multiply-add would become a library call).
    @inline(__always)
    static func scan(query: UnsafePointer<Float>, queryNorm: Float, matrix: UnsafePointer<Float>, norms: [Float],
                     rows: Range<Int>, visit: (Int, Float) -> Void) {
        let q = UnsafeRawPointer(query)
        let q0 = q.loadUnaligned(fromByteOffset: 0, as: SIMD16<Float>.self)
        let q1 = q.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
        let q2 = q.loadUnaligned(fromByteOffset: 128, as: SIMD16<Float>.self)
        let q3 = q.loadUnaligned(fromByteOffset: 192, as: SIMD16<Float>.self)
        let q4 = q.loadUnaligned(fromByteOffset: 256, as: SIMD16<Float>.self)
        let q5 = q.loadUnaligned(fromByteOffset: 320, as: SIMD16<Float>.self)
        let q6 = q.loadUnaligned(fromByteOffset: 384, as: SIMD16<Float>.self)
        let q7 = q.loadUnaligned(fromByteOffset: 448, as: SIMD16<Float>.self)
        norms.withUnsafeBufferPointer { norms in
            for row in rows {
                let x = UnsafeRawPointer(matrix + row * 128)
                var a = q0 * x.loadUnaligned(fromByteOffset: 0, as: SIMD16<Float>.self)
                var b = q1 * x.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
                a += q2 * x.loadUnaligned(fromByteOffset: 128, as: SIMD16<Float>.self)
                b += q3 * x.loadUnaligned(fromByteOffset: 192, as: SIMD16<Float>.self)
                a += q4 * x.loadUnaligned(fromByteOffset: 256, as: SIMD16<Float>.self)
                b += q5 * x.loadUnaligned(fromByteOffset: 320, as: SIMD16<Float>.self)
                a += q6 * x.loadUnaligned(fromByteOffset: 384, as: SIMD16<Float>.self)
                b += q7 * x.loadUnaligned(fromByteOffset: 448, as: SIMD16<Float>.self)
                let dot = (a + b).sum()
                visit(row, queryNorm + norms[row] - 2 * dot)
            }
        }
    }
}
