/// The machine: a configuration and the layout of its packed state.
///
/// Every kernel operation is a method on `Machine` (see `Semantics/`), acting on a
/// `PackedState` and reporting what the checker must know in `Events`. The machine knows
/// nothing of search: it answers "what does this operation do to this state".
/// A class, so that the inner loop passes one reference, never a copy of the layout.
public final class Machine: Sendable {
  public let config: MachineConfig
  public let layout: StateLayout
  /// Every program is pinned to its own CPU, lazy state is per CPU, and there are no
  /// handlers: the common case, which takes the short paths.
  public let isSimple: Bool
  /// The spec tracks mm_users: hardware acts only for CPUs that run the mm.
  public let tracksMM: Bool
  /// The spec defines a context-switch hook: bare CPUs switch through a switcher context.
  public let hasSwitchers: Bool

  public init(config: MachineConfig, batchSlots: [Int]) {
    self.config = config
    self.layout = StateLayout(config: config, batchSlots: batchSlots)
    self.isSimple = !config.hasTasks && !config.hasHandlers && !config.lazyPerTask
    self.tracksMM = config.initialMMUsers != nil
    self.hasSwitchers = config.hasSwitchers
  }

  /// Writes the initial state: PTEs (and shadow, and logical values) and top-level entries
  /// as declared, all locks free, every program at pc 0, outside lazy mode, empty batches,
  /// TLBs empty except the slots a `tlb` line fills, tasks on their starting CPUs.
  public func writeInitialState(_ s: PackedState) {
    s.clear()
    for p in 0..<config.pteCount {
      let v = UInt64(config.initialPTEs[p].rawValue)
      s[layout.mem[p]] = v
      s[layout.shadow[p]] = v
      s[layout.logical[p]] = v
    }
    for c in config.initialMMUsers ?? [] { s[layout.runsMM[c]] = 1 }
    for (k, c) in config.initialCPU.enumerated() {
      if let c { s[layout.current[c]] = UInt64(k + 1) }
    }
    for (g, v) in config.initialPGDs.enumerated() {
      s[layout.pgd[g]] = UInt64(v.rawValue)
      for c in 0..<config.cpuCount { s[layout.pgdCache[c][g]] = UInt64(v.rawValue) }
    }
    for (c, row) in config.initialTLB.enumerated() {
      for (p, cached) in row.enumerated() where cached && config.initialPTEs[p].isPresent {
        s[layout.tlb[c][p]] = UInt64(config.initialPTEs[p].rawValue)
      }
    }
    for (v, shape) in config.variables.enumerated() {
      for f in layout.variables[v] { s[f] = UInt64(shape.initial) }
    }
  }

  /// The value the hardware walks: the shadow PTE in `shadow` mode, else the PTE itself.
  @inlinable public func hardwareVisible(_ s: some PackedStateReading, _ p: Int) -> PTE {
    config.mode == .shadow ? s.pte(layout.shadow[p]) : s.pte(layout.mem[p])
  }

  /// Bitmask of the locks `program` holds (a lock is held by the program that took it).
  @inlinable public func locksHeld(_ s: some PackedStateReading, by program: Int) -> UInt64 {
    var mask: UInt64 = 0
    let me = UInt64(program + 1)
    for l in 0..<config.lockCount where s[layout.lockHolder[l]] == me { mask |= 1 << UInt64(l) }
    return mask
  }

  @inlinable public func holdsPTL(_ s: some PackedStateReading, program: Int, pte p: Int) -> Bool {
    guard let l = config.ptlOf[p] else { return false }
    return s[layout.lockHolder[l]] == UInt64(program + 1)
  }

  /// The CPU context `k` runs on now, or nil (a task off every CPU, or a handler not running).
  @inlinable public func cpuOf(_ s: some PackedStateReading, context k: Int) -> Int? {
    if config.pinnedCPU.isEmpty { return k }  // a bare machine: context k is CPU k's program
    if isSimple { return config.pinnedCPU[k] }
    if let c = config.pinnedCPU[k] { return c }
    if k < config.switcherCPU.count, let c = config.switcherCPU[k] { return c }
    if let c = config.handlerCPU[k] { return s[layout.inIRQ[c]] == UInt64(k + 1) ? c : nil }
    for c in 0..<config.cpuCount where s[layout.current[c]] == UInt64(k + 1) { return c }
    return nil
  }

  /// Whether context `k` can execute now: it is on a CPU, and unless it is the handler
  /// running there, that CPU is not in an interrupt.
  @inlinable public func isRunning(_ s: some PackedStateReading, context k: Int) -> Bool {
    if isSimple { return true }
    guard let c = cpuOf(s, context: k) else { return false }
    if config.isHandler(k) || config.isSwitcher(k) { return true }
    if isSwitching(s, cpu: c) { return false }  // a context switch runs its hooks on c
    return layout.inIRQ[c].width == 0 || s[layout.inIRQ[c]] == 0
  }

  /// The lazy-mode flag (and the locks it was entered under) that governs the actor: its
  /// CPU's, or with per-task lazy state its program's. In interrupt context it is the
  /// interrupted program's, unless interrupt context is never lazy (then none: nil).
  @inlinable public func lazyFields(_ s: some PackedStateReading, _ actor: Actor) -> (
    flag: Field, locks: Field
  )? {
    let cpu = actor.cpu.rawValue
    if isSimple { return (layout.lazy[cpu], layout.lazyLocks[cpu]) }
    var t = actor.program.rawValue
    if config.lazyPerTask, config.isSwitcher(t) {
      // A hook's lazy state is `current`'s: prev's, until the switch ends.
      guard let prev = currentTask(s, cpu: cpu) else { return nil }
      t = prev
    } else if config.isHandler(t) {
      if config.interruptsNeverLazy { return nil }
      if config.lazyPerTask {
        guard let interrupted = interruptedContext(s, cpu: cpu) else { return nil }
        t = interrupted
      }
    }
    return config.lazyPerTask
      ? (layout.taskLazy[t], layout.taskLazyLocks[t]) : (layout.lazy[cpu], layout.lazyLocks[cpu])
  }

  /// The program a handler on `cpu` interrupted: the CPU's current task or pinned program.
  @inlinable public func interruptedContext(_ s: some PackedStateReading, cpu: Int) -> Int? {
    if layout.current[cpu].width > 0 {
      let cur = Int(s[layout.current[cpu]])
      return cur > 0 ? cur - 1 : nil
    }
    return config.pinnedCPU.firstIndex { $0 == cpu }
  }
}

extension Machine {
  /// What is wrong with a state, if anything: the invariants every reachable state keeps
  /// (a held lock's holder is a program, a batch holds at most its slots and unused slots
  /// are zero, a pc is within its program, a CPU runs a task and is in a handler only if
  /// they exist). Checked on every stored state in debug builds, so that a field written
  /// with another layout's `Field`, or an operation that breaks a rule, fails a test.
  public func invariantViolation(_ s: some PackedStateReading) -> String? {
    let contexts = UInt64(config.contextCount)
    for l in 0..<config.lockCount where s[layout.lockHolder[l]] > contexts {
      return "lock \(l) held by program \(s[layout.lockHolder[l]] - 1), which does not exist"
    }
    for k in 0..<config.contextCount where s[layout.pc[k]] >= UInt64(config.pcLimit[k]) {
      return "program \(k) at pc \(s[layout.pc[k]]), past its end"
    }
    for c in 0..<config.cpuCount {
      let n = batchCount(s, cpu: c)
      if n > layout.batchSlots[c] { return "cpu \(c) batch holds \(n) of \(layout.batchSlots[c])" }
      for i in n..<layout.batchSlots[c] where s[layout.batchEntries[layout.batchBase[c] + i]] != 0 {
        return "cpu \(c) batch slot \(i) is unused but not zero"
      }
      let current = s[layout.current[c]]
      if current > contexts || (current > 0 && !config.isTask(Int(current) - 1)) {
        return "cpu \(c) runs context \(current - 1), which is not a task"
      }
      if s[layout.inSwitch[c]] == 0, s[layout.switchNext[c]] != 0 {
        return "cpu \(c) has a switch target but no switch in progress"
      }
      if s[layout.switchNext[c]] > contexts
        || (s[layout.switchNext[c]] > 0 && !config.isTask(Int(s[layout.switchNext[c]]) - 1))
      {
        return "cpu \(c) switches to context \(s[layout.switchNext[c]] - 1), which is not a task"
      }
      let irq = s[layout.inIRQ[c]]
      if irq > contexts || (irq > 0 && config.handlerCPU[Int(irq) - 1] != c) {
        return "cpu \(c) runs handler \(irq - 1), which is not one of its handlers"
      }
    }
    for (v, shape) in config.variables.enumerated() {
      for f in layout.variables[v] where s[f] < shape.low || s[f] > shape.high {
        return "variable \(v) holds \(s[f]), outside \(shape.low)...\(shape.high)"
      }
    }
    return nil
  }
}

/// What an operation tells the checker: property-relevant events and runtime faults.
/// Each property's descriptor names the events that violate it
/// (`ModelCheck/Properties/PropertyTable.swift`).
///
/// The constants are `@inlinable static var`s, not `static let`s: a `let` of a
/// non-trivial module's type is reached through a lazy global accessor, which costs a
/// call in the interpreter's inner loop; a computed constant folds away.
public struct Events: OptionSet, @unchecked Sendable {
  public var rawValue: UInt32
  /// Where `raise` records facts: set only while a counterexample is replayed. A plain
  /// pointer, so that events stay a trivial value in the inner loop.
  public var log: FactRecorder?
  @inlinable public init(rawValue: UInt32) {
    self.rawValue = rawValue
    self.log = nil
  }
  @inlinable public init(log: FactRecorder?) {
    self.rawValue = 0
    self.log = log
  }
  @inlinable public static func == (a: Events, b: Events) -> Bool { a.rawValue == b.rawValue }
  // OptionSet's own mutators rebuild the value from `rawValue`, which would drop `log`.
  @inlinable @discardableResult
  public mutating func insert(_ member: Events) -> (inserted: Bool, memberAfterInsert: Events) {
    let had = rawValue & member.rawValue == member.rawValue
    rawValue |= member.rawValue
    return (!had, member)
  }
  @inlinable public mutating func formUnion(_ other: Events) { rawValue |= other.rawValue }
  @inlinable public mutating func formIntersection(_ other: Events) { rawValue &= other.rawValue }
  @inlinable public mutating func formSymmetricDifference(_ other: Events) {
    rawValue ^= other.rawValue
  }

  /// An entitled reader saw a value other than the PTE's logical value.
  @inlinable public static var staleRead: Events { Events(rawValue: 1 << 0) }
  /// A hardware-set tracked bit (dirty, or accessed on request) was overwritten.
  @inlinable public static var lostDirty: Events { Events(rawValue: 1 << 1) }
  /// Lazy mode left open at the end of a program, or the lock it was entered under
  /// released while the batch still held entries.
  @inlinable public static var lazyUnbalanced: Events { Events(rawValue: 1 << 2) }
  /// A cmpxchg compared unequal (the caller's retry loop, if any, goes round again).
  @inlinable public static var cmpxchgFailed: Events { Events(rawValue: 1 << 3) }
  /// A CPU released a lock it does not hold: the spec is wrong, not the kernel.
  @inlinable public static var unlockNotHeld: Events { Events(rawValue: 1 << 4) }
  /// The batch overflowed the slots allotted by the static bound (an internal fault).
  @inlinable public static var batchOverflow: Events { Events(rawValue: 1 << 5) }
  /// A software write based on a stale view of the PTE, or an older batched write landing
  /// over a newer one: someone's update is lost.
  @inlinable public static var lostUpdate: Events { Events(rawValue: 1 << 6) }
  /// The flag-based arch_enter_lazy_mmu_mode() entered twice, arch_leave without a
  /// matching enter, a nesting counter underflow, or a disable after which the caller's
  /// earlier writes have not taken effect.
  @inlinable public static var lazyNesting: Events { Events(rawValue: 1 << 7) }
  /// A sleeping operation in atomic context: preemption disabled (preempt_disable(), a
  /// held spinlock, or a lazy section on an arch that disables preemption there).
  @inlinable public static var sleepInAtomic: Events { Events(rawValue: 1 << 8) }
  /// preempt_enable() without a matching preempt_disable(): the spec is wrong.
  @inlinable public static var preemptUnderflow: Events { Events(rawValue: 1 << 9) }
  /// A nesting or preempt counter went past `MachineConfig.maxCount`: the spec nests too deep.
  @inlinable public static var counterOverflow: Events { Events(rawValue: 1 << 10) }
  /// A CPU used a translation through its TLB after the mapping was removed or downgraded
  /// and its lock released, before the flush completed.
  @inlinable public static var staleTLB: Events { Events(rawValue: 1 << 11) }
  /// A page-table page freed twice (or never allocated), or still allocated at the end.
  @inlinable public static var ptLeak: Events { Events(rawValue: 1 << 12) }
  /// `BUG_ON(cond)` with `cond` true.
  @inlinable public static var bug: Events { Events(rawValue: 1 << 13) }
  /// `WARN_ON(cond)` with `cond` true.
  @inlinable public static var warn: Events { Events(rawValue: 1 << 14) }
  /// `assert(cond)` with `cond` false.
  @inlinable public static var assertFailed: Events { Events(rawValue: 1 << 15) }
  /// A declared `invariant` is false in the state a step led to.
  @inlinable public static var invariantBroken: Events { Events(rawValue: 1 << 16) }
  /// A declared variable was given a value outside its range, an array element past its
  /// end or a CPU that does not exist was named, or `current` was used where no task runs:
  /// the spec is wrong (a runtime fault).
  @inlinable public static var variableFault: Events { Events(rawValue: 1 << 17) }
}
