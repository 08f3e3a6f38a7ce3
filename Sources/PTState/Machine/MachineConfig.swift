/// The static shape of one machine: how many CPUs, PTEs and locks, which lock protects
/// which PTE, the paging mode and batch limit. Fixed for a whole run; the state layout
/// is computed from it once.
public struct MachineConfig: Sendable {
  public var mode: ParavirtMode
  public var cpuCount: Int
  public var pteCount: Int
  public var lockCount: Int
  /// `ptlOf[p]` is the lock that protects PTE `p` (its page-table page's spinlock), or nil.
  public var ptlOf: [Int?]
  /// Entries a lazy batch holds; queuing the `batchLimit`-th entry flushes the batch.
  public var batchLimit: Int
  /// Local registers of each context's program (a context is a CPU's pinned program, a
  /// task, or an interrupt handler; their number is `registerCount.count`).
  public var registerCount: [Int]
  /// Program counter values each context needs (instruction count + 1).
  public var pcLimit: [Int]
  /// `tlbCached[c][p]`: whether CPU `c`'s hardware may ever hold a TLB entry for `p`
  /// (only then is a TLB slot allotted in the state).
  public var tlbCached: [[Bool]]
  /// Which hardware bits `no_lost_dirty` protects: `dirty` always, `accessed` on request.
  public var trackedHardwareBits: UInt8
  public var initialPTEs: [PTE]
  /// Whether `no_lost_update` is checked (only then are its ghost fields allotted).
  public var tracksLostUpdates: Bool = false
  /// Whether `no_stale_read` judges a program's own TLB hits (it is checked and some program
  /// `touch`es a PTE): a program that issued the latest write of a PTE is entitled to it.
  public var tracksOwnTLBUse: Bool = false
  /// The latest writer of each PTE is kept (for `no_lost_update` or own TLB use).
  public var tracksLastWriter: Bool { tracksLostUpdates || tracksOwnTLBUse }
  /// CPUs that run the mm at the start, when the spec tracks mm_users (nil: it does not,
  /// and every CPU's hardware may always act).
  public var initialMMUsers: [Int]? = nil
  /// Whether programs use the nesting counters (lazy_mmu_mode_enable/disable/pause/resume)
  /// or preempt_disable/enable: only then are those counters allotted.
  public var usesNestingCounters: Bool = false
  public var usesPreemptCount: Bool = false
  /// The arch disables preemption for the whole lazy section (powerpc since b9ef323ea168,
  /// sparc since a1d416bf9faf): sleeping inside one is sleeping in atomic context.
  public var lazyDisablesPreemption: Bool = false
  /// `initialTLB[c][p]`: CPU `c` starts with `p`'s initial translation in its TLB.
  public var initialTLB: [[Bool]] = []
  /// Whether `no_stale_tlb` is checked (only then are its ghost fields allotted).
  public var tracksStaleTLB: Bool = false
  /// Whether programs use the asynchronous shootdown (flush_tlb_start / flush_tlb_wait).
  public var usesAsyncShootdown: Bool = false
  /// PAE top-level entries (PDPTEs): their initial values, the lock that protects each,
  /// and for each PTE the entry it sits under (nil: none is modelled; an empty `pgdOf`
  /// means no PTE sits under one).
  public var initialPGDs: [PTE] = []
  public var lockOfPGD: [Int?] = []
  public var pgdOf: [Int?] = []
  /// Page-table pages whose lifetime is tracked (`no_pt_leak`).
  public var ptPageCount: Int = 0
  /// Tasks and interrupts. Per context: the CPU a program is pinned to (a `cpu` block), the
  /// CPU a task starts on (nil: not running), the CPU a handler interrupts (nil: not one).
  public var pinnedCPU: [Int?] = []
  public var initialCPU: [Int?] = []
  public var handlerCPU: [Int?] = []
  /// Per context: the CPU whose context switches it runs (the spec's
  /// `arch_start_context_switch` / `arch_end_context_switch` hooks), or nil: not a switcher.
  /// Only specs that define a hook have switchers.
  public var switcherCPU: [Int?] = []
  /// Per context: whether it is a cross-call handler (a function `smp_call_function_many`
  /// queues on its handler CPU); its `fired` bit is then the call's pending bit. Only specs
  /// that cross-call have them.
  public var crossCallHandler: [Bool] = []
  /// Where lazy mode lives: per CPU (sparc, old powerpc: the default) or per task (Xen's
  /// TIF_LAZY_MMU_UPDATES, arm64, the 2025 generic counters).
  public var lazyPerTask: Bool = false
  /// Xen's start/end_context_switch hooks: leave (flush) and remember on the way out,
  /// re-enter on the way in.
  public var contextSwitchHooks: Bool = false
  /// Interrupt context is never lazy (Xen's xen_get_lazy_mode(), the 2025 generic code).
  public var interruptsNeverLazy: Bool = false
  public var usesIRQDisable: Bool = false
  /// Kernel state the spec declares (`global`, `percpu`, `pertask` variables).
  public var variables: [VariableShape] = []
  /// Per program: the task whose `pertask` copies it uses as `current` (nil: a handler,
  /// whose `current` is the task it interrupted); `taskCount` tasks in all.
  public var taskOfProgram: [Int?] = []
  public var taskCount: Int { taskOfProgram.compactMap { $0 }.count }
  /// Whether each CPU's idle task has `pertask` copies too (after the tasks', one per CPU):
  /// the spec has tasks, so a CPU can be idle, and a switch from or to idle, or an
  /// interrupt on an idle CPU, has the idle task as `prev`, `next` or `current`.
  public var hasIdleTasks = false

  @inlinable public var contextCount: Int { registerCount.count }
  public var hasTasks: Bool { (0..<contextCount).contains { isTask($0) } }
  public var hasHandlers: Bool { handlerCPU.contains { $0 != nil } }
  @inlinable public func isHandler(_ k: Int) -> Bool {
    k < handlerCPU.count && handlerCPU[k] != nil
  }
  @inlinable public func isTask(_ k: Int) -> Bool {
    k < pinnedCPU.count && pinnedCPU[k] == nil && !isHandler(k) && !isSwitcher(k)
  }
  @inlinable public func isSwitcher(_ k: Int) -> Bool {
    k < switcherCPU.count && switcherCPU[k] != nil
  }
  public var hasSwitchers: Bool { switcherCPU.contains { $0 != nil } }
  @inlinable public func isCrossCall(_ k: Int) -> Bool {
    k < crossCallHandler.count && crossCallHandler[k]
  }

  /// Largest nesting / preempt count a CPU can reach before it saturates (3 bits).
  public static let maxCount = 7

  public init(
    mode: ParavirtMode, cpuCount: Int, pteCount: Int, lockCount: Int, ptlOf: [Int?],
    batchLimit: Int, registerCount: [Int], pcLimit: [Int], tlbCached: [[Bool]],
    trackedHardwareBits: UInt8, initialPTEs: [PTE]
  ) {
    self.mode = mode
    self.cpuCount = cpuCount
    self.pteCount = pteCount
    self.lockCount = lockCount
    self.ptlOf = ptlOf
    self.batchLimit = batchLimit
    self.registerCount = registerCount
    self.pcLimit = pcLimit
    self.tlbCached = tlbCached
    self.trackedHardwareBits = trackedHardwareBits
    self.initialPTEs = initialPTEs
  }
}

/// The shape of one declared variable: how many copies (1 global, one per CPU, one per
/// task), elements per copy, the values it may hold, and where it starts.
public struct VariableShape: Sendable, Equatable {
  public enum Copies: Sendable, Equatable { case global, perCPU, perTask }
  public var copies: Copies
  public var elements: Int
  public var low: UInt8
  public var high: UInt8
  public var initial: UInt8

  public init(copies: Copies, elements: Int, low: UInt8, high: UInt8, initial: UInt8) {
    self.copies = copies
    self.elements = elements
    self.low = low
    self.high = high
    self.initial = initial
  }
}
