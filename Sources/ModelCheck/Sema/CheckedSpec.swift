import PTState

/// The properties a spec can ask for, by their stable names (the spelling in `check`
/// lines, reports and JSON). Reports list them in this order. What each one means, how it
/// is decided and how it is explained is its descriptor (`Properties/PropertyTable.swift`).
public enum PropertyKind: String, Sendable, CaseIterable, Comparable {
  case noStaleRead = "no_stale_read"
  case cmpxchgTerminates = "cmpxchg_terminates"
  case noLostDirty = "no_lost_dirty"
  case deadlockFree = "deadlock_free"
  case lazyBalanced = "lazy_balanced"
  case noLostUpdate = "no_lost_update"
  case lazyNesting = "lazy_nesting"
  case noSleepInAtomic = "no_sleep_in_atomic"
  case noStaleTLB = "no_stale_tlb"
  case noPTLeak = "no_pt_leak"
  case terminates = "terminates"
  case reachable = "reachable"
  case noBug = "no_bug"
  case noWarn = "no_warn"
  case assertions = "assertions"
  case invariant = "invariant"

  public var name: String { rawValue }

  public init?(name: String) { self.init(rawValue: name) }

  /// Checked when a spec has no `check` line; the others are opt-in.
  public static let defaults: [PropertyKind] = [
    .noStaleRead, .cmpxchgTerminates, .noLostDirty, .deadlockFree,
  ]

  /// The position in `allCases`: the property's bit, and its place in reports.
  public var index: Int { PropertyKind.indices[self] ?? 0 }
  private static let indices: [PropertyKind: Int] = Dictionary(
    uniqueKeysWithValues: allCases.enumerated().map { ($0.element, $0.offset) })

  public var bit: UInt32 { 1 << UInt32(index) }
  public static func < (a: Self, b: Self) -> Bool { a.index < b.index }
}

/// A kernel operation with its operands resolved to indices.
public enum KernelOp: Sendable, Hashable {
  case spinLock(Int)
  case spinUnlock(Int)
  case enterLazy, leaveLazy, flushLazy
  case setPTE(Int, [ExprOp])
  case ptepGet(Int)
  case getAndClear(Int)
  case xchg(Int, [ExprOp])
  case cmpxchg(Int, [ExprOp], [ExprOp])
  case modifyProtStart(Int)
  case modifyProtCommit(Int, [ExprOp])
  case flushTLB(Int)
  case touch(Int, AccessKind)
  /// `ptep_get_and_clear_full(p, full)`: `full` is a compile-time constant.
  case getAndClearFull(Int, full: Bool)
  case mmget, mmput
  case lazyMMUEnable, lazyMMUDisable, lazyMMUPause, lazyMMUResume
  case preemptDisable, preemptEnable, mightSleep, irqDisable, irqEnable
  case flushTLBStart(Int)
  case flushTLBWait(Int)
  case setPGD(Int, [ExprOp])
  case pgdGet(Int)
  case loadCR3, flushTLBMM
  case ptAlloc(Int)
  case ptFree(Int)
  /// `cover()`: the spec's claim that some execution gets here; `reachable(cond)`: that
  /// some execution gets here with `cond` true (checked by the `reachable` property).
  case cover
  case reachable([ExprOp])
  /// Kernel state the spec declares (`global`, `percpu`, `pertask`): a read into the
  /// destination register, a write, an add of a constant (`this_cpu_inc`, `atomic_dec`),
  /// and an exchange that returns the old value (`test_and_clear_ti_thread_flag`).
  case variableRead(VariableRef)
  case variableWrite(VariableRef, [ExprOp])
  case variableAdd(VariableRef, Int)
  case variableExchange(VariableRef, [ExprOp])
  /// `smp_processor_id()`: the CPU the program runs on now.
  case processorID
  case irqsDisabled
  /// Xen's multicall buffer, used by backend code: `mmu_update(p, v)` (preserving A/D with
  /// `mmu_update_preserve_ad`), and `HYPERVISOR_multicall()` that issues it.
  case multicallUpdate(Int, [ExprOp], MulticallEntry)
  /// `HYPERVISOR_mmu_update(p, v)`: one request, issued at once, not through the buffer.
  case hypercallUpdate(Int, [ExprOp])
  case multicallIssue
  /// `BUG_ON(cond)`, `WARN_ON(cond)`, `assert(cond)`...: fails when `cond` holds (for
  /// `assert`, when it does not: Sema negates it).
  case check(CheckKind, [ExprOp])
  /// `smp_call_function_many(mask, f, wait)`: `function` indexes
  /// `CheckedSpec.crossCallFunctions`; `wait` is a compile-time constant.
  case crossCall(mask: [ExprOp], function: Int, wait: Bool)
  /// `local_flush_tlb_page(p)`.
  case localFlushTLB(Int)
  /// `local_flush_tlb_pages(mask)` and `flush_tlb_pages(mask)`: a set of PTEs, bit i for PTE i
  /// (`pte_bit(p)`), flushed on this CPU or on every CPU.
  case localFlushTLBPages([ExprOp])
  case flushTLBPages([ExprOp])
  /// `on_each_cpu_mask`'s wait, after its local call.
  case crossCallWait(mask: [ExprOp], function: Int)

  /// The PTE the operation names, if any.
  var pte: Int? {
    switch self {
    case .multicallUpdate(let p, _, _), .hypercallUpdate(let p, _): return p
    case .setPTE(let p, _), .ptepGet(let p), .getAndClear(let p), .xchg(let p, _),
      .cmpxchg(let p, _, _), .modifyProtStart(let p), .modifyProtCommit(let p, _),
      .flushTLB(let p), .touch(let p, _), .getAndClearFull(let p, _), .flushTLBStart(let p),
      .flushTLBWait(let p), .localFlushTLB(let p):
      return p
    default: return nil
    }
  }
}

/// Which property an assertion in the code reports to.
public enum CheckKind: String, Sendable, Hashable {
  /// `BUG_ON`, `VM_BUG_ON`: the kernel panics.
  case bug
  /// `WARN_ON`, `WARN_ON_ONCE`, `VM_WARN_ON`: the kernel warns and goes on.
  case warn
  /// `assert`: the spec writer's own claim.
  case assertion

  public var property: PropertyKind {
    switch self {
    case .bug: return .noBug
    case .warn: return .noWarn
    case .assertion: return .assertions
    }
  }
}

/// Where a declared variable lives.
public enum VariableScope: String, Sendable, Hashable {
  case global, percpu, pertask
}

/// A variable the spec declares: `global`, `percpu` or `pertask`, of a small range of
/// values (`bool`, `lo..hi`, an `enum`), optionally an array of `elements`.
public struct CheckedVariable: Sendable {
  public var name: String
  public var scope: VariableScope
  public var low: Int
  public var high: Int
  public var elements: Int
  public var initial: Int
  /// The enum it holds, for printing its values by name.
  public var enumName: String?
  public var isBool: Bool
  public var range: SourceRange
}

/// Which copy of a variable an access means.
public enum VariableInstance: Sendable, Hashable {
  case global
  /// This CPU's (`this_cpu_*`).
  case thisCPU
  /// Another CPU's, by an expression (`per_cpu(x, cpu)`).
  case cpu([ExprOp])
  /// The current task's (`current.x`, `set_thread_flag`).
  case current
  /// A named task's (in invariants).
  case task(Int)
  /// The task a context switch switches from or to, named by the parameter of
  /// `arch_start_context_switch(prev)` / `arch_end_context_switch(next)` (in hook code).
  case switchPrev, switchNext
  /// A named CPU's (in invariants: `per_cpu(x, cpu1)`).
  case namedCPU(Int)
}

/// One access to a declared variable: which variable, which copy, which element.
public struct VariableRef: Sendable, Hashable {
  public var variable: Int
  public var instance: VariableInstance
  /// The element of an array (nil: a scalar, or element 0).
  public var index: [ExprOp]?
}

/// `invariant NAME: expr`, checked in every reachable state.
public struct CheckedInvariant: Sendable {
  public var name: String
  /// Postfix code whose `.stateRead(i)` operands read `reads[i]`.
  public var code: [ExprOp]
  public var reads: [StateRead]
  public var range: SourceRange
  public var text: String
}

/// A field of the state an invariant reads: a variable's copy and element, or a PTE's
/// value in memory.
public enum StateRead: Sendable, Hashable {
  case variable(Int, VariableInstance, element: Int)
  case pte(Int)
}

/// A statement with every name resolved and every expression in postfix form.
public indirect enum CheckedStmt: Sendable {
  case assign(Int, [ExprOp])
  /// A kernel operation, with the name of its catalogue entry (`OperationCatalogue`).
  case op(KernelOp, dst: Int?, SourceRange, operation: String)
  case ifElse([ExprOp], [CheckedStmt], [CheckedStmt])
  case repeatN(Int, [CheckedStmt], SourceRange)
  case loop([CheckedStmt], SourceRange)
  case breakLoop
  case either([[CheckedStmt]], SourceRange)
  /// `atomic { ... }`: the body's instructions run as one step.
  case atomic([CheckedStmt], SourceRange)
  /// A function's body, inlined at a call (`name` called at `call`); `returnCall` leaves it.
  case inlined([CheckedStmt], name: String, call: SourceRange)
  case returnCall
  /// `on_each_cpu_mask`'s local part: the body runs only when the caller's CPU is in the mask.
  case ifCallerIn([ExprOp], [CheckedStmt])
}

/// A context: a CPU's pinned program, a task, or an interrupt handler (the name is kept
/// for compatibility: in specs without tasks, context k is CPU k's program).
public struct CheckedCPU: Sendable {
  public var name: String
  /// The CPU a `cpu` program is pinned to; the CPU a task starts on; the CPU a handler
  /// interrupts. At most one is set (a task that starts off-CPU has none).
  public var pinnedCPU: Int?
  public var initialCPU: Int?
  public var handlerCPU: Int?
  /// A synthetic context that runs the spec's context-switch hooks on this CPU (`cpu0/sched`):
  /// its body is the inlined `arch_start_context_switch(prev)`, then the inlined
  /// `arch_end_context_switch(next)`.
  public var switcherCPU: Int?
  /// A synthetic context that runs cross-call function `crossCallFunctions[i]` on its
  /// `handlerCPU` (`cpu1/ipi:f`), as an interrupt handler.
  public var crossCallFunction: Int?
  public var registers: [String]
  /// Registers only ever given truth values (from `touch`, comparisons, `pte_present`...),
  /// shown as true/false in traces.
  public var booleanRegisters: Set<Int>
  /// Registers only ever given integer literals or `pte_pfn(...)` (a count, a pfn), shown
  /// as numbers in traces (`tries = 3`, not `tries = present|write`).
  public var numberRegisters: Set<Int> = []
  /// Registers that only ever hold values of one enum, with its name.
  public var enumRegisters: [Int: String] = [:]
  public var body: [CheckedStmt]
  public var range: SourceRange
}

/// What a spec declares it expects: every property passes, or exactly these fail.
public struct Expectation: Sendable, Equatable {
  public var failing: Set<PropertyKind>
  public var description: String {
    failing.isEmpty ? "pass" : "fail " + failing.sorted().map(\.name).joined(separator: ", ")
  }
}

/// A spec after semantic checks: ready to lower.
public struct CheckedSpec: Sendable {
  public var title = ""
  public var mode = ParavirtMode.native
  public var batchLimit = SpecLimits.defaultBatchLimit
  public var pteNames: [String] = []
  public var initialPTEs: [PTE] = []
  public var lockNames: [String] = []
  public var ptlOf: [Int?] = []
  public var cpus: [CheckedCPU] = []
  /// (cpu, pte, kind) for every declared spontaneous hardware access.
  public var hardware: [(cpu: Int, pte: Int, kind: AccessKind)] = []
  public var properties: [PropertyKind] = []
  public var retryBound: Int?
  public var trackAccessed = false
  public var expectation = Expectation(failing: [])
  /// CPUs that run the mm at the start (`mm cpu0, cpu1`), or nil when mm_users is not tracked.
  public var mmUsers: [Int]?
  /// `lazy_disables_preemption`: the arch disables preemption for a lazy section.
  public var lazyDisablesPreemption = false
  /// `tlb cpu1: a, b`: (cpu, pte) TLB slots that start filled with the PTE's translation.
  public var tlbEntries: [(cpu: Int, pte: Int)] = []
  public var pgdNames: [String] = []
  public var initialPGDs: [PTE] = []
  public var lockOfPGD: [Int?] = []
  public var pgdOf: [Int?] = []
  public var ptPageNames: [String] = []
  /// The physical CPUs (`cpu` declarations, with or without a program).
  public var cpuNames: [String] = []
  public var lazyPerTask = false
  public var contextSwitchHooks = false
  public var interruptsNeverLazy = false
  /// The spec defines `arch_start_context_switch` / `arch_end_context_switch`.
  public var definesSwitchHooks = false
  /// The functions `smp_call_function_many` calls, in order of first use.
  public var crossCallFunctions: [String] = []
  /// The text it came from, for quoting operations in reports.
  public var sourceFile: SourceFile?
  /// Declared kernel state: `enum`s (their case names, in value order) and variables.
  public var enums: [String: [String]] = [:]
  public var variables: [CheckedVariable] = []
  public var invariants: [CheckedInvariant] = []
  /// Per program: the task instance its `pertask` variables live in (nil for a handler,
  /// whose `current` is the task it interrupted).
  public var taskInstance: [Int?] = []
  public var taskCount: Int { taskInstance.compactMap { $0 }.count }
}
