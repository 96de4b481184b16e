/// Who the audit log records for the changes made by the current task: the HTTP service binds
/// it per request to the API key (`api key:<id>`, never the secret) or, without a key, to the
/// client address, so every entry names the key that made it. Unbound, a store records the
/// actor it was opened with (`cli`, `api`).
///
/// It is a task-local value: code that hands work to another thread must bind it there again
/// (`AuditActor.$current.withValue(actor) { ... }`), as the service's worker pools do.
public enum AuditActor {
    @TaskLocal public static var current: String?
}
