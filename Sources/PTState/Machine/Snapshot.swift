/// A decoded, readable copy of one packed state, for reports and tests (never used in
/// the explorer's inner loop).
public struct MachineSnapshot: Equatable, Sendable {
  public struct CPU: Equatable, Sendable {
    public var pc: Int
    public var registers: [UInt8]
    public var lazy: Bool
    public var lazyLocks: UInt64
    public var batch: [BatchEntry]
    /// Per PTE: the cached translation (`none`: no entry).
    public var tlb: [PTE]
    /// Per PTE: a shootdown IPI is pending.
    public var ipiPending: [Bool] = []
    public var enableCount: Int = 0
    public var pauseCount: Int = 0
    public var preemptCount: Int = 0
  }

  public struct BatchEntry: Equatable, Sendable {
    public var pte: Int
    public var value: PTE
    public var preserveAD: Bool
    /// A queued flush_tlb of the PTE rather than a write.
    public var isFlush: Bool = false
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
  /// nil = free, else the holding CPU.
  public var lockHolder: [Int?]
  /// Per CPU: it runs the mm (always true when mm_users is not tracked).
  public var runsMM: [Bool]
  public var cpus: [CPU]
}

extension Machine {
  public func snapshot(_ words: UnsafePointer<UInt64>) -> MachineSnapshot {
    let s = PackedState(UnsafeMutablePointer(mutating: words))
    let l = layout
    let ptes = 0..<config.pteCount
    var cpus: [MachineSnapshot.CPU] = []
    for c in 0..<config.cpuCount {
      let base = l.registerBase[c]
      let regs = (0..<config.registerCount[c]).map { UInt8(truncatingIfNeeded: s[l.registers[base + $0]]) }
      let batch = (0..<batchCount(s, cpu: c)).map { i -> MachineSnapshot.BatchEntry in
        let e = batchEntry(s, cpu: c, i)
        return .init(pte: e.pte, value: e.value, preserveAD: e.preserveAD, isFlush: e.isFlush)
      }
      cpus.append(
        .init(
          pc: Int(s[l.pc[c]]), registers: regs, lazy: s[l.lazy[c]] != 0,
          lazyLocks: s[l.lazyLocks[c]], batch: batch,
          tlb: ptes.map { s.pte(l.tlb[c][$0]) }, ipiPending: ptes.map { s[l.ipiPending[c][$0]] != 0 }, enableCount: Int(s[l.enableCount[c]]),
          pauseCount: Int(s[l.pauseCount[c]]), preemptCount: Int(s[l.preemptCount[c]])))
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
      lockHolder: (0..<config.lockCount).map { let h = Int(s[l.lockHolder[$0]]); return h == 0 ? nil : h - 1 },
      runsMM: (0..<config.cpuCount).map { runsMM(s, cpu: $0) },
      cpus: cpus)
  }
}
