import PTState
import Testing

// Shared helpers for the PTState unit tests: PTE spellings and a machine with its own
// packed-state buffer, whose operations return the events they reported.

extension PTE {
  /// A present, writable entry mapping page `pfn`.
  static func rw(_ pfn: UInt8) -> PTE {
    PTE(rawValue: PTE.presentBit | PTE.writeBit | PTE.pfnBits(pfn))
  }
  /// A present, read-only entry mapping page `pfn`.
  static func ro(_ pfn: UInt8) -> PTE { PTE(rawValue: PTE.presentBit | PTE.pfnBits(pfn)) }
  /// This entry with `bits` (e.g. `PTE.accessedBit | PTE.dirtyBit`) set as well.
  func with(_ bits: UInt8) -> PTE { PTE(rawValue: rawValue | bits) }
  /// This entry with `bits` cleared.
  func without(_ bits: UInt8) -> PTE { PTE(rawValue: rawValue & ~bits) }

  static let ad: UInt8 = PTE.accessedBit | PTE.dirtyBit
}

/// A machine and one packed state of it (initial state written at creation).
///
/// Defaults: 2 CPUs, one PTE `present|write|pfn(1)` protected by lock 0, batch limit 4
/// (3 slots per CPU), no TLB slots, only `dirty` tracked, 2 registers and pc limit 4 per CPU.
final class Fixture {
  let machine: Machine
  let words: UnsafeMutablePointer<UInt64>

  init(
    mode: ParavirtMode, cpus: Int = 2, ptes: [PTE] = [.rw(1)], locks: Int = 1,
    ptlOf: [Int?]? = nil, batchLimit: Int = 4, batchSlots: [Int]? = nil, tlb: Bool = false,
    tracked: UInt8 = PTE.dirtyBit, registers: Int = 2, pcLimit: Int = 4, lostUpdates: Bool = false,
    counters: Bool = false, lazyDisablesPreemption: Bool = false, staleTLB: Bool = false,
    asyncShootdown: Bool = false, initialTLB: Bool = false, irqDisable: Bool = false,
    ownTLBUse: Bool = false
  ) {
    var config = MachineConfig(
      mode: mode, cpuCount: cpus, pteCount: ptes.count, lockCount: locks,
      ptlOf: ptlOf ?? ptes.map { _ in locks > 0 ? 0 : nil },
      batchLimit: batchLimit,
      registerCount: Array(repeating: registers, count: cpus),
      pcLimit: Array(repeating: pcLimit, count: cpus),
      tlbCached: Array(repeating: Array(repeating: tlb, count: ptes.count), count: cpus),
      trackedHardwareBits: tracked, initialPTEs: ptes)
    config.tracksLostUpdates = lostUpdates
    config.usesNestingCounters = counters
    config.usesPreemptCount = counters
    config.lazyDisablesPreemption = lazyDisablesPreemption
    config.tracksStaleTLB = staleTLB
    config.usesAsyncShootdown = asyncShootdown
    config.usesIRQDisable = irqDisable
    config.tracksOwnTLBUse = ownTLBUse
    config.initialTLB = Array(
      repeating: Array(repeating: initialTLB, count: ptes.count), count: cpus)
    machine = Machine(
      config: config,
      batchSlots: batchSlots ?? Array(repeating: max(batchLimit - 1, 0), count: cpus))
    words = UnsafeMutablePointer<UInt64>.allocate(capacity: machine.layout.wordCount)
    machine.writeInitialState(PackedState(words, wordCount: machine.layout.wordCount))
  }

  deinit { words.deallocate() }

  var s: PackedState { PackedState(words, wordCount: machine.layout.wordCount) }
  var layout: StateLayout { machine.layout }
  var snap: MachineSnapshot { machine.snapshot(s) }
  /// A copy of the raw words, to check that an operation changed nothing at all.
  var raw: [UInt64] { Array(UnsafeBufferPointer(start: words, count: machine.layout.wordCount)) }

  // MARK: Operations, returning the events they reported

  @discardableResult func setPTE(_ cpu: Int, _ p: Int, _ v: PTE) -> Events {
    var e = Events()
    machine.setPTE(s, Actor(pinned: cpu), pte: p, value: v, &e)
    return e
  }

  func get(_ cpu: Int, _ p: Int) -> (PTE, Events) {
    var e = Events()
    let v = machine.ptepGet(s, Actor(pinned: cpu), pte: p, &e)
    return (v, e)
  }

  func getAndClear(_ cpu: Int, _ p: Int) -> (PTE, Events) {
    var e = Events()
    let v = machine.ptepGetAndClear(s, Actor(pinned: cpu), pte: p, &e)
    return (v, e)
  }

  func xchg(_ cpu: Int, _ p: Int, _ v: PTE) -> (PTE, Events) {
    var e = Events()
    let old = machine.xchg(s, Actor(pinned: cpu), pte: p, value: v, &e)
    return (old, e)
  }

  func cmpxchg(_ cpu: Int, _ p: Int, expected: PTE, new: PTE) -> (PTE, Events) {
    var e = Events()
    let seen = machine.cmpxchg(s, Actor(pinned: cpu), pte: p, expected: expected, new: new, &e)
    return (seen, e)
  }

  func modifyProtStart(_ cpu: Int, _ p: Int) -> (PTE, Events) {
    var e = Events()
    let v = machine.modifyProtStart(s, Actor(pinned: cpu), pte: p, &e)
    return (v, e)
  }

  @discardableResult func modifyProtCommit(_ cpu: Int, _ p: Int, _ v: PTE) -> Events {
    var e = Events()
    machine.modifyProtCommit(s, Actor(pinned: cpu), pte: p, value: v, &e)
    return e
  }

  @discardableResult func enter(_ cpu: Int) -> Events {
    var e = Events()
    machine.enterLazy(s, Actor(pinned: cpu), &e)
    return e
  }

  @discardableResult func leave(_ cpu: Int) -> Events {
    var e = Events()
    machine.leaveLazy(s, Actor(pinned: cpu), &e)
    return e
  }

  @discardableResult func flushLazy(_ cpu: Int) -> Events {
    var e = Events()
    machine.flushLazy(s, Actor(pinned: cpu), &e)
    return e
  }

  @discardableResult func enqueue(_ cpu: Int, _ p: Int, _ v: PTE, preserveAD: Bool = false)
    -> Events
  {
    var e = Events()
    machine.enqueue(s, Actor(pinned: cpu), pte: p, value: v, preserveAD: preserveAD, &e)
    return e
  }

  @discardableResult func lock(_ cpu: Int, _ l: Int = 0) -> Bool {
    machine.spinLock(s, Actor(pinned: cpu), lock: l)
  }

  @discardableResult func unlock(_ cpu: Int, _ l: Int = 0) -> Events {
    var e = Events()
    machine.spinUnlock(s, Actor(pinned: cpu), lock: l, &e)
    return e
  }

  /// A spontaneous hardware access (`byProgram`: the CPU's own code using the mapping).
  func access(_ cpu: Int, _ p: Int, _ kind: AccessKind, byProgram: Bool = false) -> (Bool, Events) {
    var e = Events()
    let ok = machine.hardwareAccess(
      s, cpu: CPUIndex(cpu), program: byProgram ? ProgramIndex(cpu) : nil, pte: p, kind: kind, &e)
    return (ok, e)
  }

  @discardableResult func flushTLB(_ p: Int, cpu: Int = 0) -> Events {
    var e = Events()
    machine.flushTLB(s, Actor(pinned: cpu), pte: p, &e)
    return e
  }

  func evict(_ cpu: Int, _ p: Int) -> Bool { machine.evictTLB(s, cpu: CPUIndex(cpu), pte: p) }
}

extension MachineSnapshot.CPU {
  /// The batch spelled as `"pte=value"` entries, with `" preserveAD"` appended when set
  /// (the entry type has no public initializer to build expected values with).
  var queued: [String] {
    batch.map { "\($0.pte)=\($0.value)" + ($0.preserveAD ? " preserveAD" : "") }
  }
}

/// A machine built from a hand-made configuration, with its initial state written. The
/// caller deallocates the words.
func buildMachine(_ config: MachineConfig, batchSlots: [Int]) -> (
  Machine, UnsafeMutablePointer<UInt64>
) {
  let m = Machine(config: config, batchSlots: batchSlots)
  let w = UnsafeMutablePointer<UInt64>.allocate(capacity: m.layout.wordCount)
  m.writeInitialState(PackedState(w, wordCount: m.layout.wordCount))
  return (m, w)
}
