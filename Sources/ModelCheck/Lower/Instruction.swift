import PTState

/// A register operand; `Register.discard` drops a result.
public typealias Register = UInt8
extension Register {
  static let discard: Register = .max
}

/// A reference to a postfix expression in `Program.expressionCode`.
public struct ExprRef: Sendable, Hashable {
  public var start: UInt32
  public var count: UInt16
}

/// One instruction of a CPU's program, lowered from the spec.
///
/// A CPU only ever stops *before* a visible instruction (a kernel operation, a choice or
/// the end); local instructions (register assignments and jumps) run in the same step as
/// the visible instruction before them, since no other CPU can observe them.
public enum Instruction: Sendable, Hashable {
  // Visible: each is one atomic step.
  case spinLock(lock: UInt16)
  case spinUnlock(lock: UInt16)
  case enterLazy
  case leaveLazy
  case flushLazy
  case setPTE(pte: UInt16, value: ExprRef)
  case ptepGet(dst: Register, pte: UInt16)
  case getAndClear(dst: Register, pte: UInt16)
  case xchg(dst: Register, pte: UInt16, value: ExprRef)
  /// `loop` is the innermost enclosing `loop`'s id + 1 (0 outside loops).
  case cmpxchg(dst: Register, pte: UInt16, expected: ExprRef, new: ExprRef, loop: UInt16)
  case modifyProtStart(dst: Register, pte: UInt16)
  case modifyProtCommit(pte: UInt16, value: ExprRef)
  case flushTLB(pte: UInt16)
  case flushTLBStart(pte: UInt16)
  case flushTLBWait(pte: UInt16)
  case setPGD(pgd: UInt16, value: ExprRef)
  case pgdGet(dst: Register, pgd: UInt16)
  case loadCR3
  case flushTLBMM
  /// One branch per `AllocatorOutcome`: 0 the allocation succeeds, 1 it fails.
  case ptAlloc(dst: Register, page: UInt16)
  case ptFree(page: UInt16)
  /// `cover()` or a `reachable(cond)` whose condition held: a step that changes nothing
  /// but the pc, so a state rests here exactly when some execution reached it.
  case cover
  /// A declared variable's access `Program.variableAccesses[access]`, its result (if any)
  /// in `dst`.
  case variable(dst: Register, access: UInt16)
  /// `smp_processor_id()`.
  case processorID(dst: Register)
  /// `irqs_disabled()`: whether the CPU the program runs on has interrupts off (1) or on.
  case irqsDisabled(dst: Register)
  /// Xen's multicall buffer: an `mmu_update` entry, and the hypercall that issues it one
  /// entry per step. An `mmu_update` is two instructions: the call, and (`draining`) where
  /// it goes on issuing a full buffer before it queues; the call skips it when there is room.
  case multicallUpdate(pte: UInt16, value: ExprRef, entry: MulticallEntry, draining: Bool)
  case multicallIssue
  /// `HYPERVISOR_mmu_update(p, v)`: one request, applied at once (the buffer stays as it is).
  case hypercallUpdate(pte: UInt16, value: ExprRef)
  /// An assertion whose condition failed (the test before it is local): `Program.checks[id]`.
  case check(id: UInt16)
  case touch(dst: Register, pte: UInt16, kind: AccessKind)
  /// The two halves of `ptep_get_and_clear_full(p, 1)`: a plain read, then a plain store.
  case fullTeardownRead(dst: Register, pte: UInt16)
  case nativeClear(pte: UInt16)
  case mmget
  case mmput(dst: Register)
  case lazyMMUEnable, lazyMMUDisable, lazyMMUPause, lazyMMUResume
  case preemptDisable, preemptEnable, mightSleep
  case irqDisable, irqEnable
  /// `either`: branch k jumps to `choiceTargets[first + k]`.
  case choose(first: UInt16, count: UInt8)
  case end
  /// A context-switch hook context (`cpuN/sched`) between switches: never enabled; the
  /// scheduler's switch moves it on. `switchDone` ends the switch (`current := next`) and
  /// returns it here.
  case switchIdle, switchDone
  /// `smp_call_function_many(mask, f, wait)`: queue cross-call function `function` on every
  /// CPU of `mask` but the caller's (blocked while one of them still has it pending: the
  /// csd lock); with `wait`, `crossCallWait` follows: blocked until each target finished.
  case crossCall(mask: ExprRef, function: UInt8)
  case crossCallWait(mask: ExprRef, function: UInt8)
  /// A cross-call handler context (`cpuN/ipi:f`) with nothing running: never enabled; the
  /// IPI's interrupt moves it on; `crossCallDone` (f returned) unlocks the csd and returns
  /// it here.
  case crossCallIdle, crossCallDone
  /// `local_flush_tlb_page(p)`: the calling CPU drops its own TLB entry for `p`.
  case localFlushTLB(pte: UInt16)
  /// `local_flush_tlb_pages(mask)`, `flush_tlb_pages(mask)`: bit i of the mask is PTE i.
  case localFlushTLBPages(mask: ExprRef)
  case flushTLBPages(mask: ExprRef)
  // Local.
  case assign(dst: Register, value: ExprRef)
  case jump(to: UInt32)
  case jumpIfZero(condition: ExprRef, to: UInt32)
  /// `on_each_cpu_mask`: skips the local call unless the caller's CPU is in the mask.
  case skipUnlessCallerIn(mask: ExprRef, to: UInt32)

  public var isLocal: Bool {
    switch self {
    case .assign, .jump, .jumpIfZero, .skipUnlessCallerIn: return true
    default: return false
    }
  }
}

extension Instruction {
  /// The register a visible instruction stores its result in (nil: none, or discarded).
  public var resultRegister: Register? {
    let r: Register
    switch self {
    case .ptepGet(let d, _), .getAndClear(let d, _), .xchg(let d, _, _),
      .cmpxchg(let d, _, _, _, _), .modifyProtStart(let d, _), .pgdGet(let d, _),
      .ptAlloc(let d, _), .touch(let d, _, _), .fullTeardownRead(let d, _), .mmput(let d),
      .variable(let d, _), .processorID(let d), .irqsDisabled(let d):
      r = d
    default: return nil
    }
    return r == Register.discard ? nil : r
  }
}
