/// The parsed spec, as written: names are still strings, nothing is resolved.
public struct Name: Sendable, Equatable {
  public var text: String
  public var range: SourceRange
}

public indirect enum Expr: Sendable, Equatable {
  case integer(Int, SourceRange)
  case name(Name)
  case unary(String, Expr, SourceRange)
  case binary(String, Expr, Expr, SourceRange)
  case call(Name, [Expr], SourceRange)
  /// `current.field`, `t0.field`: a task's variable (only where a variable is expected).
  case member(Expr, Name, SourceRange)
  /// `buf[i]`: an element of an array variable (only where a variable is expected).
  case index(Expr, Expr, SourceRange)

  public var range: SourceRange {
    switch self {
    case .integer(_, let r), .unary(_, _, let r), .binary(_, _, _, let r), .call(_, _, let r),
      .member(_, _, let r), .index(_, _, let r):
      return r
    case .name(let n): return n.range
    }
  }
}

public indirect enum Stmt: Sendable, Equatable {
  case varDecl([(Name, Expr?)])
  /// `x = e`: a register assignment, or `x = op(...)` with a kernel operation.
  case assign(Name, Expr, SourceRange)
  /// `op(...)` on its own: a kernel operation whose result (if any) is discarded.
  case call(Name, [Expr], SourceRange)
  case ifElse(Expr, [Stmt], [Stmt]?, SourceRange)
  case repeatN(Int, [Stmt], SourceRange)
  case loop([Stmt], SourceRange)
  case breakLoop(SourceRange)
  case either([[Stmt]], SourceRange)
  /// `atomic { ... }`: the body runs as one step (SPIN's `d_step`).
  case atomic([Stmt], SourceRange)
  /// `return` or `return e`, in a function.
  case returnStmt(Expr?, SourceRange)

  public static func == (a: Stmt, b: Stmt) -> Bool { "\(a)" == "\(b)" }
}

/// A `cpu` (with a pinned program, or bare: tasks run on it), a `task` (optionally starting
/// on a CPU), or an `interrupt` handler on a CPU.
public struct CPUDecl: Sendable {
  public enum Kind: Sendable { case cpu, task, interrupt }
  public var kind: Kind = .cpu
  public var name: Name
  /// nil for a bare `cpu`.
  public var body: [Stmt]?
  /// `on CPU`: where a task starts, or which CPU a handler interrupts.
  public var on: Name?

  public init(kind: Kind = .cpu, name: Name, body: [Stmt]?, on: Name? = nil) {
    self.kind = kind
    self.name = name
    self.body = body
    self.on = on
  }
}

/// `enum xen_lazy_mode { XEN_LAZY_NONE, XEN_LAZY_MMU, XEN_LAZY_CPU }`.
public struct EnumDecl: Sendable {
  public var name: Name
  public var cases: [Name]
}

/// The type of a declared variable.
public enum TypeDecl: Sendable {
  case bool(SourceRange)
  /// `lo..hi`, inclusive.
  case range(Int, Int, SourceRange)
  /// `enum NAME` or just `NAME`.
  case named(Name)
}

/// `global|percpu|pertask NAME: TYPE ([N])? (= INIT)?`.
public struct VariableDecl: Sendable {
  public var scope: Name
  public var name: Name
  public var type: TypeDecl
  public var elements: (Int, SourceRange)?
  public var initial: Expr?
}

/// `fn NAME(a, b) { ... }`: kernel code a program, a hook or another function calls.
public struct FunctionDecl: Sendable {
  public var name: Name
  public var parameters: [Name]
  public var body: [Stmt]
}

/// `invariant NAME: expr`.
public struct InvariantDecl: Sendable {
  public var name: Name
  public var expr: Expr
}

public struct PTEDecl: Sendable {
  public var name: Name
  public var initial: Expr
  /// `under g0`: the PAE top-level entry this PTE sits under.
  public var under: Name?
}

public struct LockDecl: Sendable {
  public var name: Name
  public var protects: [Name]
}

public struct HardwareDecl: Sendable {
  public var cpu: Name
  public var accesses: [(kind: Name, pte: Name)]
}

public struct CheckDecl: Sendable {
  public var property: Name
  public var bound: Int?
}

public struct ExpectDecl: Sendable {
  public var range: SourceRange
  /// Empty for `expect pass`.
  public var failing: [Name]
}

public struct SpecAST: Sendable {
  public var title: (String, SourceRange)?
  public var mode: Name?
  public var batchLimit: (Int, SourceRange)?
  public var ptes: [PTEDecl] = []
  public var locks: [LockDecl] = []
  public var hardware: [HardwareDecl] = []
  public var checks: [CheckDecl] = []
  public var tracked: [Name] = []
  public var expect: ExpectDecl?
  /// `mm cpu0, cpu1`: the CPUs that run the mm at the start (mm_users is tracked).
  public var mm: [Name]?
  public var lazyDisablesPreemption = false
  /// `lazy_state per_task` (default per_cpu), `context_switch_hooks`, `interrupts_never_lazy`.
  public var lazyState: Name?
  public var contextSwitchHooks = false
  public var interruptsNeverLazy = false
  /// `tlb cpu1: a, b`: TLB slots for a CPU's hardware, filled at the start.
  public var tlb: [(cpu: Name, ptes: [Name])] = []
  /// `pgd g0 = expr`: PAE top-level entries; `ptpage pmd0, pmd1`: page-table pages.
  public var pgds: [PTEDecl] = []
  public var ptPages: [Name] = []
  public var cpus: [CPUDecl] = []
  public var enums: [EnumDecl] = []
  public var variables: [VariableDecl] = []
  public var invariants: [InvariantDecl] = []
  public var functions: [FunctionDecl] = []
  /// `include "path"`: files of functions, enums, variables and invariants.
  public var includes: [(path: String, range: SourceRange)] = []
  public var endOfFile: SourceRange = SourceRange(start: .init(line: 1, column: 1), length: 1)
}
