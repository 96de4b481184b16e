import Foundation

/// A compiled network whose callers borrow their scratch memory from a `PlanWorkspacePool`.
protocol WorkspacePlan: AnyObject {
    associatedtype Workspace
    /// Bytes one workspace holds: what keeping an idle one costs the shared budget.
    var workspaceByteCount: Int { get }
    /// A new workspace for this plan.
    func makeWorkspace() throws(VisionError) -> Workspace
}

/// The pool of the dlib networks' plans (`NetworkPlan`).
typealias WorkspacePool = PlanWorkspacePool<NetworkPlan>

extension NetworkPlan: WorkspacePlan {
    func makeWorkspace() throws(VisionError) -> Workspace { try Workspace(for: self) }
}

/// Reusable workspaces for one plan, so steady-state calls allocate nothing.
///
/// Idle workspaces are kept only within a process-wide byte budget: a detector workspace for
/// a large image holds hundreds of megabytes, and keeping one per image size and concurrent
/// call would let memory grow with every new size. Over the budget, a returned workspace is
/// freed and the next call of that size allocates again.
final class PlanWorkspacePool<Plan: WorkspacePlan>: @unchecked Sendable {
    /// What idle workspaces of all pools may hold together.
    static var idleBudget: MemoryBudget { MemoryBudget.idleWorkspaces }

    private let plan: Plan
    private let lock = NSLock()
    private var idle: [Plan.Workspace] = []

    init(plan: Plan) {
        self.plan = plan
    }

    deinit {
        Self.idleBudget.release(idle.count * plan.workspaceByteCount)
    }

    func borrow() throws(VisionError) -> Plan.Workspace {
        if let workspace = lock.withLock({ idle.popLast() }) {
            Self.idleBudget.release(plan.workspaceByteCount)
            return workspace
        }
        return try plan.makeWorkspace()
    }

    func giveBack(_ workspace: Plan.Workspace) {
        guard Self.idleBudget.reserve(plan.workspaceByteCount) else { return }
        lock.withLock { idle.append(workspace) }
    }
}

/// A count of bytes that may be reserved up to a limit, shared between threads.
final class MemoryBudget: @unchecked Sendable {
    /// The budget every `PlanWorkspacePool` keeps its idle workspaces within.
    static let idleWorkspaces = MemoryBudget(bytes: 512 << 20)

    let limit: Int
    private let lock = NSLock()
    private var reserved = 0

    init(bytes: Int) {
        limit = bytes
    }

    /// Reserves `bytes` if they fit under the limit.
    func reserve(_ bytes: Int) -> Bool {
        lock.withLock {
            guard reserved + bytes <= limit else { return false }
            reserved += bytes
            return true
        }
    }

    func release(_ bytes: Int) {
        lock.withLock { reserved = max(0, reserved - bytes) }
    }

    var reservedBytes: Int { lock.withLock { reserved } }
}
