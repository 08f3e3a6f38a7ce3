/// A decoded, readable copy of one packed state, for reports and tests (never used in
/// the explorer's inner loop).
public struct MachineSnapshot: Equatable, Sendable {
  /// A program: a CPU's pinned program, a task, or an interrupt handler.
  public struct Context: Equatable, Sendable {
    public var pc: Int
    public var registers: [UInt8]
    public var enableCount: Int = 0
    public var pauseCount: Int = 0
    public var preemptCount: Int = 0
    /// With per-task lazy state: the task's lazy flag.
    public var lazy: Bool = false
    /// Xen's TIF_LAZY_MMU_UPDATES, remembered across a context switch.
    public var tif: Bool = false
    /// A handler has fired.
    public var fired: Bool = false
    /// The CPU it runs on now (nil: off every CPU, or a handler not running).
    public var cpu: Int?
  }

  /// A physical CPU: its lazy state (when per CPU), batch, TLB and what runs on it.
  public struct CPU: Equatable, Sendable {
    public var lazy: Bool
    public var lazyLocks: UInt64
    public var batch: [BatchEntry]
    /// Per PTE: the cached translation (`none`: no entry).
    public var tlb: [PTE]
    /// Per PTE: a shootdown IPI is pending.
    public var ipiPending: [Bool] = []
    /// The task running here (nil: idle, or the CPU runs its pinned program).
    public var current: Int?
    /// The handler running here, if any.
    public var inIRQ: Int?
    public var irqsOff: Bool = false
    /// A context switch with spec-defined hooks is in progress here, to `switchNext` (nil:
    /// to idle); `current` is still `prev`.
    public var inSwitch: Bool = false
    public var switchNext: Int?
  }

  public struct BatchEntry: Equatable, Sendable {
    public var pte: Int
    public var value: PTE
    public var preserveAD: Bool
    /// A queued flush_tlb of the PTE rather than a write.
    public var isFlush: Bool = false
    /// The context that queued it.
    public var writer: Int = 0
  }

  public var mem: [PTE]
  public var shadow: [PTE]?
  public var logical: [PTE]
  public var unowned: [UInt8]
  public var tlbFlushed: [Bool]
  /// Per PTE (with `no_stale_tlb`): a flush is owed, and the lock was released since.
  public var flushOwed: [Bool] = []
  public var exposed: [Bool] = []
  /// PAE top-level entries in memory, each CPU's cached copies, and page-table pages
  /// (0 never allocated, 1 allocated, 2 freed).
  public var pgd: [PTE] = []
  public var pgdCache: [[PTE]] = []
  public var ptPages: [Int] = []
  /// nil = free, else the holding context.
  public var lockHolder: [Int?]
  /// Per CPU: it runs the mm (always true when mm_users is not tracked).
  public var runsMM: [Bool]
  public var contexts: [Context]
  public var cpus: [CPU]
  /// Per declared variable: every copy's every element (copy-major), as in the layout.
  public var variables: [[Int]] = []

  /// Whether context `k`'s writes are batched now (its lazy flag, wherever it lives).
  public func isLazy(context k: Int, perTask: Bool) -> Bool {
    if perTask { return contexts[k].lazy }
    guard let c = contexts[k].cpu else { return false }
    return cpus[c].lazy
  }
}

extension Machine {
  public func snapshot(_ s: some PackedStateReading) -> MachineSnapshot {
    let l = layout
    let ptes = 0..<config.pteCount
    func optional(_ f: Field) -> Int? {
      let v = Int(s[f])
      return v == 0 ? nil : v - 1
    }
    let contexts = (0..<config.contextCount).map { k -> MachineSnapshot.Context in
      let base = l.registerBase[k]
      return .init(
        pc: Int(s[l.pc[k]]),
        registers: (0..<config.registerCount[k]).map {
          UInt8(truncatingIfNeeded: s[l.registers[base + $0]])
        },
        enableCount: Int(s[l.enableCount[k]]), pauseCount: Int(s[l.pauseCount[k]]),
        preemptCount: Int(s[l.preemptCount[k]]), lazy: s[l.taskLazy[k]] != 0, tif: s[l.tif[k]] != 0,
        fired: s[l.fired[k]] != 0, cpu: cpuOf(s, context: k))
    }
    let cpus = (0..<config.cpuCount).map { c -> MachineSnapshot.CPU in
      let batch = (0..<batchCount(s, cpu: c)).map { i -> MachineSnapshot.BatchEntry in
        let e = batchEntry(s, cpu: c, i)
        return .init(
          pte: e.pte, value: e.value, preserveAD: e.preserveAD, isFlush: e.isFlush, writer: e.writer
        )
      }
      return .init(
        lazy: s[l.lazy[c]] != 0, lazyLocks: s[l.lazyLocks[c]], batch: batch,
        tlb: ptes.map { s.pte(l.tlb[c][$0]) }, ipiPending: ptes.map { s[l.ipiPending[c][$0]] != 0 },
        current: optional(l.current[c]), inIRQ: optional(l.inIRQ[c]), irqsOff: s[l.irqsOff[c]] != 0,
        inSwitch: s[l.inSwitch[c]] != 0, switchNext: optional(l.switchNext[c]))
    }
    return MachineSnapshot(
      mem: ptes.map { s.pte(l.mem[$0]) },
      shadow: config.mode == .shadow ? ptes.map { s.pte(l.shadow[$0]) } : nil,
      logical: ptes.map { s.pte(l.logical[$0]) },
      unowned: ptes.map { UInt8(s[l.unowned[$0]]) << 2 },
      tlbFlushed: ptes.map { s[l.tlbFlushed[$0]] != 0 },
      flushOwed: ptes.map { s[l.flushOwed[$0]] != 0 },
      exposed: ptes.map { s[l.exposed[$0]] != 0 },
      pgd: l.pgd.map { s.pte($0) },
      pgdCache: l.pgdCache.map { $0.map { s.pte($0) } },
      ptPages: l.ptPage.map { Int(s[$0]) },
      lockHolder: (0..<config.lockCount).map { optional(l.lockHolder[$0]) },
      runsMM: (0..<config.cpuCount).map { runsMM(s, cpu: $0) },
      contexts: contexts, cpus: cpus,
      variables: l.variables.map { $0.map { Int(s[$0]) } })
  }
}
