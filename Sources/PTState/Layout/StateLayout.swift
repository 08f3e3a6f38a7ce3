/// Where each part of the machine lives in a packed state (a few `UInt64` words).
///
/// Computed once from a `MachineConfig`, as Rumur does: every field gets a word, a shift
/// and a width; fields never straddle words. The layout is what makes a state a compact,
/// hashable value type: the explorer only ever sees `wordCount` words.
public struct StateLayout: Sendable {
  public private(set) var wordCount: Int = 0

  // Per PTE.
  public private(set) var mem: [Field] = []  // the PTE in the (guest) page table
  public private(set) var shadow: [Field] = []  // the shadow PTE the hardware walks (shadow mode)
  public private(set) var logical: [Field] = []  // ghost: last software value | hardware bits since
  /// Ghost: A/D bits set by hardware and not read atomically since.
  public private(set) var unowned: [Field] = []
  /// Ghost: a TLB flush of the PTE completed after its last software write.
  public private(set) var tlbFlushed: [Field] = []
  /// Ghost: 0 = the initial value, k + 1 = program k issued the latest write.
  public private(set) var lastWriter: [Field] = []
  /// Ghost (with `no_lost_update`): the latest software write of the PTE was blind (its
  /// writer had not looked at the PTE since its own last write, or ever).
  public private(set) var lastWriteBlind: [Field] = []
  /// Ghost (with `flush_tlb_start`): the shootdown in flight for the PTE was started after
  /// its latest software write, so waiting for it completes a flush that covers that write.
  public private(set) var shootdownCovers: [Field] = []

  // Per lock.
  public private(set) var lockHolder: [Field] = []  // 0 = free, k + 1 = held by program k

  // Per program (a CPU's pinned program, a task, or a handler).
  public private(set) var pc: [Field] = []
  public private(set) var registerBase: [Int] = []  // index into `registers`
  public private(set) var registers: [Field] = []
  public private(set) var lazy: [Field] = []
  public private(set) var lazyLocks: [Field] = []  // ghost: locks held when lazy mode was entered
  public private(set) var batchCount: [Field] = []
  public private(set) var batchSlots: [Int] = []
  public private(set) var batchBase: [Int] = []  // index into `batchEntries`
  public private(set) var batchEntries: [Field] = []
  /// Per CPU and PTE: the cached translation, as the PTE value it was filled from (with the
  /// A/D bits the fill set); `none` = no entry. Only for PTEs the CPU's TLB may hold.
  public private(set) var tlb: [[Field]] = []
  /// Per CPU and PTE: a TLB shootdown IPI for this PTE is waiting to be handled.
  public private(set) var ipiPending: [[Field]] = []
  /// Ghost, per PTE (only with `no_stale_tlb`): a write removed or downgraded the
  /// translation and no flush has completed since; and the PTE's lock was released since.
  public private(set) var flushOwed: [Field] = []
  public private(set) var exposed: [Field] = []
  /// PAE top-level entries: in memory, and each CPU's cached copy (loaded at cr3 load);
  /// ghost (with `no_stale_tlb`): a CPU's copy is out of date and the update was published.
  public private(set) var pgd: [Field] = []
  public private(set) var pgdCache: [[Field]] = []
  public private(set) var pgdExposed: [Field] = []
  /// Page-table pages: 0 never allocated, 1 allocated, 2 freed.
  public private(set) var ptPage: [Field] = []
  /// Ghost, per program and PTE (only with `no_lost_update`): 0 = none (it has neither read
  /// nor written the PTE), 1 = current, 3 = stale (what it last read or wrote is no longer
  /// the PTE's latest software value). Formerly: bit 0 = the program has read the PTE,
  /// bit 1 = what it last read or wrote is no longer the PTE's latest software value.
  public private(set) var view: [[Field]] = []
  /// Per CPU (only when mm_users is tracked): the CPU runs the mm (holds an mm_users reference).
  public private(set) var runsMM: [Field] = []
  /// Per program: the 2025 generic lazy_mmu_state counters, and the preempt count.
  public private(set) var enableCount: [Field] = []
  public private(set) var pauseCount: [Field] = []
  public private(set) var preemptCount: [Field] = []

  public let pteIndexBits: Int
  public let contextBits: Int

  // Per context (tasks and handlers; with tasks or per-task lazy state only).
  public private(set) var taskLazy: [Field] = []
  public private(set) var taskLazyLocks: [Field] = []
  public private(set) var tif: [Field] = []  // Xen's TIF_LAZY_MMU_UPDATES, kept across a switch
  public private(set) var fired: [Field] = []  // a handler has fired (each fires at most once)
  // Per CPU (with tasks or handlers only).
  public private(set) var current: [Field] = []  // 0 = idle, k + 1 = context k runs here
  public private(set) var inIRQ: [Field] = []  // 0 = none, h + 1 = handler h is running
  public private(set) var irqsOff: [Field] = []
  /// Per CPU (only for a CPU with a switcher: the spec defines a context-switch hook): a
  /// switch is in progress (its hooks run; the CPU runs no program and takes no interrupt),
  /// and the task it switches to (0 = idle, k + 1 = context k). `current` stays `prev`.
  public private(set) var inSwitch: [Field] = []
  public private(set) var switchNext: [Field] = []
  /// Per declared variable: its fields, copy-major (`copy * elements + element`).
  public private(set) var variables: [[Field]] = []

  private var nextWord = 0
  private var nextBit = 0

  /// - Parameter batchSlots: entries each CPU's batch can hold at rest (at most `batchLimit - 1`).
  public init(config: MachineConfig, batchSlots: [Int]) {
    pteIndexBits = max(bitsToHold(config.pteCount), 1)
    // Batch entries name their writer only when programs can share a CPU (tasks, handlers);
    // otherwise a CPU's batch is its pinned program's.
    contextBits =
      config.hasTasks || config.hasHandlers ? max(bitsToHold(config.contextCount), 1) : 0
    let pteCount = config.pteCount
    for _ in 0..<pteCount { mem.append(allocate(8)) }
    for _ in 0..<pteCount { shadow.append(config.mode == .shadow ? allocate(8) : .absent) }
    for _ in 0..<pteCount { logical.append(allocate(8)) }
    for _ in 0..<pteCount { unowned.append(allocate(2)) }
    for _ in 0..<pteCount { tlbFlushed.append(allocate(1)) }
    for _ in 0..<pteCount { flushOwed.append(config.tracksStaleTLB ? allocate(1) : .absent) }
    for _ in 0..<pteCount { exposed.append(config.tracksStaleTLB ? allocate(1) : .absent) }
    for _ in config.initialPGDs { pgd.append(allocate(8)) }
    for _ in config.initialPGDs { pgdExposed.append(config.tracksStaleTLB ? allocate(1) : .absent) }
    for _ in 0..<config.ptPageCount { ptPage.append(allocate(2)) }
    let writerBits = config.tracksLastWriter ? bitsToHold(config.contextCount + 1) : 0
    for _ in 0..<pteCount { lastWriter.append(allocate(writerBits)) }
    for _ in 0..<pteCount {
      lastWriteBlind.append(config.tracksLostUpdates ? allocate(1) : .absent)
    }
    for _ in 0..<pteCount {
      shootdownCovers.append(config.usesAsyncShootdown ? allocate(1) : .absent)
    }
    let holderBits = bitsToHold(config.contextCount + 1)
    for _ in 0..<config.lockCount { lockHolder.append(allocate(holderBits)) }

    // Contexts: the programs.
    let counterBits = bitsToHold(MachineConfig.maxCount + 1)
    for k in 0..<config.contextCount {
      pc.append(allocate(bitsToHold(config.pcLimit[k])))
      registerBase.append(registers.count)
      for _ in 0..<config.registerCount[k] { registers.append(allocate(8)) }
      enableCount.append(config.usesNestingCounters ? allocate(counterBits) : .absent)
      pauseCount.append(config.usesNestingCounters ? allocate(counterBits) : .absent)
      preemptCount.append(config.usesPreemptCount ? allocate(counterBits) : .absent)
      view.append((0..<pteCount).map { _ in config.tracksLostUpdates ? allocate(2) : .absent })
      taskLazy.append(config.lazyPerTask ? allocate(1) : .absent)
      taskLazyLocks.append(config.lazyPerTask ? allocate(config.lockCount) : .absent)
      tif.append(config.contextSwitchHooks && config.isTask(k) ? allocate(1) : .absent)
      fired.append(config.isHandler(k) ? allocate(1) : .absent)
    }

    // CPUs: the batch, the TLB, the hardware's view of the top level.
    let contextField = bitsToHold(config.contextCount + 1)
    for c in 0..<config.cpuCount {
      lazy.append(config.lazyPerTask ? .absent : allocate(1))
      lazyLocks.append(config.lazyPerTask ? .absent : allocate(config.lockCount))
      let slots = batchSlots[c]
      self.batchSlots.append(slots)
      batchCount.append(allocate(bitsToHold(slots + 1)))
      batchBase.append(batchEntries.count)
      for _ in 0..<slots { batchEntries.append(allocate(pteIndexBits + 10 + contextBits)) }
      var row: [Field] = []
      for p in 0..<pteCount { row.append(config.tlbCached[c][p] ? allocate(8) : .absent) }
      tlb.append(row)
      ipiPending.append(
        (0..<pteCount).map {
          config.usesAsyncShootdown && config.tlbCached[c][$0] ? allocate(1) : .absent
        })
      pgdCache.append(config.initialPGDs.map { _ in allocate(8) })
      runsMM.append(config.initialMMUsers != nil ? allocate(1) : .absent)
      current.append(config.hasTasks ? allocate(contextField) : .absent)
      inIRQ.append(config.hasHandlers ? allocate(contextField) : .absent)
      irqsOff.append(config.usesIRQDisable ? allocate(1) : .absent)
      let switches = config.switcherCPU.contains { $0 == c }
      inSwitch.append(switches ? allocate(1) : .absent)
      switchNext.append(switches ? allocate(contextField) : .absent)
    }
    for v in config.variables {
      let copies: Int
      switch v.copies {
      case .global: copies = 1
      case .perCPU: copies = config.cpuCount
      case .perTask: copies = config.taskCount + (config.hasIdleTasks ? config.cpuCount : 0)
      }
      // Width 0 when it can hold one value only: it costs nothing and reads as that value.
      let width = bitsToHold(Int(v.high) + 1)
      variables.append((0..<copies * v.elements).map { _ in allocate(width) })
    }
    wordCount = max(nextBit == 0 ? nextWord : nextWord + 1, 1)
  }

  private mutating func allocate(_ width: Int) -> Field {
    precondition(width <= 64)
    if width == 0 { return .absent }
    if nextBit + width > 64 {
      nextWord += 1
      nextBit = 0
    }
    let mask: UInt64 = width == 64 ? ~0 : (UInt64(1) << UInt64(width)) - 1
    let field = Field(word: Int32(nextWord), shift: UInt8(nextBit), mask: mask)
    nextBit += width
    return field
  }

  /// Bits actually used (for the statistics line).
  public var usedBits: Int {
    var total = 0
    for f in mem + shadow + logical + unowned + tlbFlushed + flushOwed + exposed + lastWriter
      + lastWriteBlind + shootdownCovers + lockHolder + pc
      + registers + lazy + lazyLocks + batchCount + batchEntries + runsMM + enableCount + pauseCount
      + preemptCount + pgd + pgdExposed + ptPage + taskLazy + taskLazyLocks + tif + fired + current
      + inIRQ
      + irqsOff + inSwitch + switchNext + Array(variables.joined())
    { total += f.width }
    for row in tlb + view + ipiPending + pgdCache { for f in row { total += f.width } }
    return total
  }
}
