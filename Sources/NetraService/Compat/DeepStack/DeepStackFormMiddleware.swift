import Hummingbird

/// Reads a DeepStack-compatible request's form once, before its key is checked: DeepStack's
/// clients send the key as an `api_key` form field (or query parameter) beside the images,
/// multipart or urlencoded, with files under any field names. The form is kept in the context
/// for the route, and the key handed to `APIKeyMiddleware`, which runs next. The caller's
/// rate-limit token is taken first, so that reading forms costs anonymous callers too.
struct DeepStackFormMiddleware: RouterMiddleware {
    typealias Context = NetraRequestContext
    let bodies: BodyReader
    let limit: Int
    let limiter: RateLimiter

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        try limiter.admit(context.caller)
        context.rateLimitTaken = true
        let form = try await RequestForm.read(request, from: context.caller, bodies: bodies, limit: limit, imageFields: ["image", "image1", "image2"],
                                              filesByFilename: true, urlencoded: true)
        let parameters = PeerParameters(request, fields: form.fields)
        context.peerForm = form
        context.presentedAPIKey = parameters.string("api_key")
        return try await next(request, context)
    }
}
