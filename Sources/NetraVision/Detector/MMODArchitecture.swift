/// dlib's MMOD face detector network (`mmod_human_face_detector.dat`) in forward order:
/// three stride-2 5x5 convolutions that downsample by 8, three 5x5 convolutions with 45
/// filters, and a 9x9 convolution producing one score per position. See `docs/dlib-models.md` §4.
package enum MMODArchitecture {
    package static let layers: [DlibLayerSpec] = {
        var layers: [DlibLayerSpec] = []
        for filters in [16, 32, 32] {
            layers += [.convolution(filters: filters, kernel: 5, stride: 2), .affine, .relu]
        }
        for _ in 0..<3 {
            layers += [.convolution(filters: 45, kernel: 5, stride: 1), .affine, .relu]
        }
        layers.append(.convolution(filters: 1, kernel: 9, stride: 1))
        return layers
    }()
}
