/// What the machine saw when it raised an event: recorded only while a counterexample is
/// replayed, never during exploration (`Events.log` is nil there, so a raise site costs a
/// test of a pointer). The report explains from these facts instead of re-deriving the
/// machine's rules from snapshots.
public enum Fact: Sendable, Equatable {
  /// `no_stale_read`: `program` (nil: the CPU's hardware on its own) on `cpu` saw `seen`
  /// where `latest` is the PTE's logical value, by `rule`.
  case staleRead(pte: Int, program: Int?, cpu: Int, seen: PTE, latest: PTE, rule: StaleReadRule)
  /// `no_lost_dirty`: `bits` were lost, by `rule`; `value` is what landed (or, for a TLB
  /// store, the clean PTE), `cpu` the hardware for the hardware rules.
  case lostDirty(pte: Int, bits: UInt8, value: PTE, cpu: Int?, rule: LostDirtyRule)
  /// `no_lost_update`: `writer`'s write of the PTE loses `other`'s update (nil: unknown).
  case lostUpdate(pte: Int, writer: Int, other: Int?, rule: LostUpdateRule)
  /// `lazy_balanced`: `program` broke the founding rule, by `rule`.
  case lazyUnbalanced(program: Int, rule: LazyBalancedRule)
  /// `no_stale_tlb`: `cpu` used its cached translation `cached` of the PTE (or, with `pgd`,
  /// walked through its stale cached copy of that top-level entry).
  case staleTLB(pte: Int, cpu: Int, cached: PTE, pgd: Int?)
  /// `lazy_nesting`: `program` broke the nesting rules, by `rule`.
  case lazyNesting(program: Int, rule: LazyNestingRule)
  /// `no_pt_leak` on a step: `program` freed or allocated page-table page `page` wrongly.
  case ptLeak(page: Int, program: Int, rule: PTLeakRule)
  /// `no_bug`, `no_warn`, `assertions`: `program` on `cpu` reached a failing check.
  case checkFailed(program: Int, cpu: Int)
  /// `invariant`: invariant `index` (in declaration order) is false after the step.
  case invariantBroken(index: Int)
  /// Not a violation: how `cpu`'s hardware went through the PTE (for the trace's effects).
  case access(pte: Int, cpu: Int, outcome: AccessOutcome)
  /// Not a violation: queuing an entry found `cpu`'s batch full, so one hypercall applied
  /// the batch and the entry (`entries` in all).
  case batchFull(cpu: Int, entries: Int)
  /// Not a violation: a `cmpxchg` found `seen` where it expected `expected`, and wrote
  /// nothing.
  case cmpxchgFailed(pte: Int, expected: PTE, seen: PTE)
  /// Not a violation: an `atomic` block's step went on to the program's instruction at `pc`.
  case atomicStep(pc: Int)
}

public enum AccessOutcome: Sendable, Equatable {
  /// A TLB hit on the cached translation.
  case tlbHit(PTE)
  /// The walk faulted at the CPU's cached copy of a PAE top-level entry.
  case topLevelFault(pgd: Int, cached: PTE)
  /// The walk saw `seen` (in the shadow table in shadow mode), and faulted or not.
  case walk(seen: PTE, faulted: Bool)
}

public enum StaleReadRule: Sendable, Equatable {
  /// A software read under the PTE's lock.
  case underLock
  /// A software read by a program with a write of the PTE queued (the read hazard).
  case ownQueuedWrite
  /// A hardware walk after a TLB flush issued later than the last write.
  case walkAfterFlush
  /// A program's `touch` walking a PTE it has a write of queued.
  case touchOwnQueuedWrite
  /// A program's `touch` hitting its own TLB entry the PTE no longer grants.
  case ownTLBHit
}

public enum LostDirtyRule: Sendable, Equatable {
  /// A landing that maps another page (or none) over unowned bits.
  case remap
  /// A landing whose value drops unowned bits.
  case dropped
  /// Hardware set the bits through a shadow entry whose guest entry no longer maps the page.
  case staleShadow
  /// A store through a dirty TLB entry while the PTE maps the same page clean.
  case dirtyTLBStore
}

public enum LostUpdateRule: Sendable, Equatable {
  /// The writer's view of the PTE was stale.
  case staleView
  /// A blind write over another program's write (which looked at the PTE first, or not).
  case blindOverwrite(otherLooked: Bool)
  /// An older queued write landed over a newer write by another program.
  case lateLanding
}

public enum LazyBalancedRule: Sendable, Equatable {
  /// Released `lock` while a write of `pte`, which it protects, was queued.
  case unlockWithQueuedWrite(lock: Int, pte: Int)
  /// Released `lock`, held at the enter of a section whose batch holds `queued` entries.
  case unlockEnteredUnder(lock: Int, queued: Int)
  /// The program ended in lazy mode.
  case endsLazy
}

public enum LazyNestingRule: Sendable, Equatable {
  case enterWhileLazy, leaveWhileNotLazy, disableUnderflow, resumeUnderflow
  /// A disable after which earlier writes are still queued.
  case disableLeavesQueued
}

public enum PTLeakRule: Sendable, Equatable {
  case doubleFree, neverAllocated, allocatedTwice
}

/// Where facts go while a trace is replayed.
public struct FactLog: Sendable {
  public var facts: [Fact] = []
  public init() {}

  /// Runs `body` with a recorder that appends to this log: a trace's replay passes it to
  /// the steps it replays. The recorder must not outlive the call.
  public mutating func recording<R>(_ body: (FactRecorder) throws -> R) rethrows -> R {
    try withUnsafeMutablePointer(to: &self) { try body(FactRecorder($0)) }
  }
}

/// Where `Events` records facts during a replay. A plain pointer, so that `Events` stays a
/// trivial value in the inner loop (exploration passes nil); made only by
/// `FactLog.recording`, the one place outside the packed-state views that holds a pointer.
public struct FactRecorder {
  @usableFromInline let log: UnsafeMutablePointer<FactLog>

  @usableFromInline init(_ log: UnsafeMutablePointer<FactLog>) { self.log = log }

  @inlinable func append(_ fact: Fact) { log.pointee.facts.append(fact) }
}

extension Events {
  /// Records a fact that raises no event, when a trace is being replayed.
  @inlinable public func note(_ fact: () -> Fact) {
    if let log { log.append(fact()) }
  }

  /// Raises `event`, and records what the machine saw when a trace is being replayed
  /// (`fact` is not evaluated otherwise).
  @inlinable public mutating func raise(_ event: Events, _ fact: () -> Fact) {
    rawValue |= event.rawValue
    if let log { log.append(fact()) }
  }
}
