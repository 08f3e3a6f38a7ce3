import PTState

/// One step of a saved counterexample, as the driver found it in the program: an action of
/// its table, or why there is none (the spec no longer has the program, CPU or PTE named).
public enum ReplayStep: Sendable, Equatable {
  case action(Int)
  case missing(String)
}

/// What replaying a saved counterexample on a (possibly edited) spec showed.
public struct ReplayOutcome: Sendable {
  public enum Verdict: Sendable, Equatable {
    /// The property is still violated: at `step` (1-based; 0: the initial state), or, for
    /// a deadlock, a final-state leak, a lasso or a run over the retry bound, by the run as
    /// a whole (`step` nil).
    case reproduces(step: Int?)
    /// Step `step` (1-based) cannot be taken.
    case diverges(step: Int, reason: String)
    /// Every step was taken, and the run does not violate the property.
    case holds(reason: String)
  }
  public var verdict: Verdict
  /// The actions taken: every step, or those before the divergence, or up to the violation.
  public var actions: [Int]
  /// For a lasso replayed whole: the index of the cycle's first step.
  public var cycleStart: Int?

  /// The steps taken, as a counterexample to replay into a `Trace`.
  public var counterexample: Counterexample {
    guard let c = cycleStart, c <= actions.count else { return .run(actions) }
    return .lasso(prefix: Array(actions[..<c]), cycle: Array(actions[c...]))
  }
}

/// Replays a saved counterexample's actions from the initial state and decides, the way the
/// checker decides the property, whether the run still violates it: a step property must be
/// raised by a step (the first one that raises it ends the replay); `deadlock_free` and a
/// final-state `no_pt_leak` need the last state stuck; a lasso must close (the state after
/// its last step is the state before its cycle) and be weakly fair, and for
/// `cmpxchg_terminates` retry a cmpxchg loop inside it; a run over the retry bound must
/// retry one run of a loop more often than the bound.
enum Replay {
  static func run(
    _ p: Program, property: PropertyKind, steps: [ReplayStep], cycleStart: Int?
  ) -> ReplayOutcome {
    withScratchStates(wordCount: p.wordCount, count: 2) { scratch in
      var r = Replayer(p: p, current: scratch[0], temp: scratch[1])
      return r.run(property: property, steps: steps, cycleStart: cycleStart)
    }
  }
}

/// The replay's states: the run's current state, every state it passed (for the cycle's
/// checks), and a scratch state to look at one of them or try an action on it.
private struct Replayer {
  let p: Program
  let current: PackedState
  let temp: PackedState
  var n: Int { p.wordCount }
  /// `states[i * n ..< (i + 1) * n]`: the state before step i + 1 (0: the initial state).
  var states: [UInt64] = []
  var taken: [Int] = []
  var outcomes: [StepOutcome] = []

  init(p: Program, current: PackedState, temp: PackedState) {
    self.p = p
    self.current = current
    self.temp = temp
  }

  mutating func save() { for w in 0..<n { states.append(current[word: w]) } }

  /// State `i` (before step i + 1), copied into the scratch state.
  func state(_ i: Int) -> PackedState {
    for w in 0..<n { temp[word: w] = states[i * n + w] }
    return temp
  }

  func isEqual(_ i: Int, _ j: Int) -> Bool {
    states[(i * n)..<((i + 1) * n)] == states[(j * n)..<((j + 1) * n)]
  }

  func outcome(_ v: ReplayOutcome.Verdict, cycle: Int? = nil) -> ReplayOutcome {
    ReplayOutcome(verdict: v, actions: taken, cycleStart: cycle)
  }

  mutating func run(property: PropertyKind, steps: [ReplayStep], cycleStart: Int?)
    -> ReplayOutcome
  {
    let bit = property.bit
    var onStep = false
    if case .onStep = PropertyTable.descriptor(property).decision { onStep = true }
    let initial = p.writeInitialState(current)
    if initial.fault != 0 {
      return outcome(.diverges(step: 0, reason: "the initial state " + faultText(initial)))
    }
    if onStep, initial.violations & bit != 0 { return outcome(.reproduces(step: 0)) }
    save()
    for (i, step) in steps.enumerated() {
      guard case .action(let a) = step else {
        if case .missing(let why) = step { return outcome(.diverges(step: i + 1, reason: why)) }
        continue
      }
      guard a >= 0, a < p.actionCount else {
        return outcome(.diverges(step: i + 1, reason: "the spec has no action \(a)"))
      }
      let out = p.apply(a, to: current)
      guard out.enabled else {
        let before = p.machine.snapshot(state(taken.count))
        return outcome(.diverges(step: i + 1, reason: Self.whyDisabled(p, a, before)))
      }
      if out.fault != 0 { return outcome(.diverges(step: i + 1, reason: faultText(out))) }
      taken.append(a)
      outcomes.append(out)
      save()
      if onStep, out.violations & bit != 0 { return outcome(.reproduces(step: i + 1)) }
    }
    switch property {
    case .deadlockFree: return endState(final: false)
    case .noPTLeak: return endState(final: true)
    case .terminates, .cmpxchgTerminates:
      if let c = cycleStart { return lasso(property, cycle: c) }
      if property == .cmpxchgTerminates { return overBound() }
      return outcome(.holds(reason: "the trace is not a lasso, so it shows no endless run"))
    default:
      return outcome(
        .holds(reason: "every step can be taken, but none violates \(property.name)"))
    }
  }

  func faultText(_ out: StepOutcome) -> String {
    let message = RuntimeFault(rawValue: out.fault)?.message ?? "a runtime fault"
    return "fails at run time: \(message)"
  }

  /// `deadlock_free` (`final` false) or `no_pt_leak` at the end (`final` true): the last
  /// state must be stuck, as the explorer decides it, and unfinished or leaking.
  func endState(final: Bool) -> ReplayOutcome {
    let last = taken.count
    let finished = p.isFinished(state(last).view)
    if let mover = mover(last) {
      return outcome(
        .holds(reason: "after the last step the run is not stuck: \(mover) can still move"))
    }
    if !final {
      guard !finished else {
        return outcome(.holds(reason: "after the last step every program has finished"))
      }
      return outcome(.reproduces(step: nil))
    }
    guard finished else {
      return outcome(
        .holds(reason: "no step frees a page-table page twice, and the run ends unfinished"))
    }
    guard p.finalViolations(state(last).view) & PropertyKind.noPTLeak.bit != 0 else {
      return outcome(
        .holds(reason: "every program finishes with every page-table page freed"))
    }
    return outcome(.reproduces(step: nil))
  }

  /// Who can still change state `i` by a step that counts as progress (nil: it is stuck,
  /// as `BreadthFirst.run` decides: no progress action enabled, or none that changes it).
  func mover(_ i: Int) -> String? {
    var progress: Int?
    var changes = false
    for a in 0..<p.actionCount {
      let s = state(i)
      let out = p.apply(a, to: s)
      guard out.enabled else { continue }
      let changed = !isEqualTo(s, i)
      if changed { changes = true }
      if p.isProgress(a), progress == nil || changed { progress = a }
    }
    guard let a = progress, changes else { return nil }
    let (actor, operation, _) = Trace.describe(p, p.actions[a], p.machine.snapshot(state(i)))
    return "\(actor) (\(operation))"
  }

  func isEqualTo(_ s: PackedState, _ i: Int) -> Bool {
    (0..<n).allSatisfy { s[word: $0] == states[i * n + $0] }
  }

  /// A lasso: it closes, some program never finishes in it (`terminates`) or a cmpxchg loop
  /// retries in it without leaving (`cmpxchg_terminates`), and it is weakly fair.
  func lasso(_ property: PropertyKind, cycle c: Int) -> ReplayOutcome {
    let end = taken.count
    guard c >= 0, c < end else {
      return outcome(.holds(reason: "the saved cycle is empty"))
    }
    guard isEqual(end, c) else {
      let a = p.machine.snapshot(state(c))
      let b = p.machine.snapshot(state(end))
      let first = Trace.effects(p, a, b).first.map { " (\($0))" } ?? ""
      return outcome(
        .holds(
          reason: "the cycle no longer closes: the state after step \(end) differs from the "
            + "state before step \(c + 1)\(first)"))
    }
    let cycle = c..<end
    if let unfair = unfairProcess(cycle) {
      return outcome(
        .holds(
          reason: "the cycle is not fair: \(p.spec.cpus[unfair].name) can always move in it "
            + "but never does, and a weakly fair scheduler would run it"))
    }
    if property == .terminates {
      guard cycle.allSatisfy({ !p.isFinished(state($0).view) }) else {
        return outcome(.holds(reason: "every program has finished somewhere in the cycle"))
      }
      return outcome(.reproduces(step: nil), cycle: c)
    }
    for (id, tags) in GraphVerdicts.retryTags(p).enumerated() {
      guard let tags else { continue }
      let loop = p.loops[id]
      let stays = cycle.allSatisfy { j in
        guard p.isInLoop(state(j).view, loop: id) else { return false }
        return p.process(of: taken[j]) != loop.cpu || staysInLoop(j, loop)
      }
      let retries = cycle.contains { j in
        p.process(of: taken[j]) == loop.cpu && tags.contains(outcomes[j].retryLoop)
      }
      if stays, retries { return outcome(.reproduces(step: nil), cycle: c) }
    }
    return outcome(
      .holds(reason: "no cmpxchg loop retries in the cycle without leaving its loop"))
  }

  func staysInLoop(_ j: Int, _ loop: RetryLoop) -> Bool {
    loop.pcs.contains(Int(outcomes[j].pcLow)) && loop.pcs.contains(Int(outcomes[j].pcHigh))
  }

  /// A program that neither steps in the cycle nor is disabled in one of its states.
  func unfairProcess(_ cycle: Range<Int>) -> Int? {
    (0..<p.processCount).first { k in
      if cycle.contains(where: { p.process(of: taken[$0]) == k }) { return false }
      return !cycle.contains { j in
        !(0..<p.actionCount).contains { a in
          p.process(of: a) == k && p.apply(a, to: state(j)).enabled
        }
      }
    }
  }

  /// `cmpxchg_terminates` as a run: one run of a retry loop (its program inside the loop,
  /// never stepping out of it) retries more often than the declared bound. The replay ends
  /// at the retry past the bound.
  mutating func overBound() -> ReplayOutcome {
    guard let bound = p.spec.retryBound else {
      return outcome(
        .holds(reason: "the spec declares no retry bound, and the trace is not a lasso"))
    }
    var most = 0
    for (id, tags) in GraphVerdicts.retryTags(p).enumerated() {
      guard let tags else { continue }
      let loop = p.loops[id]
      var count = 0
      for j in taken.indices {
        let own = p.process(of: taken[j]) == loop.cpu
        if !p.isInLoop(state(j + 1).view, loop: id) || (own && !staysInLoop(j, loop)) {
          count = 0
          continue
        }
        guard own, tags.contains(outcomes[j].retryLoop) else { continue }
        count += 1
        most = max(most, count)
        if count > bound {
          taken.removeSubrange((j + 1)...)
          return outcome(.reproduces(step: j + 1))
        }
      }
    }
    let retries = "\(most) \(most == 1 ? "retry" : "retries")"
    return outcome(
      .holds(
        reason: "one run of a cmpxchg loop retries at most \(retries) in the trace, within the "
          + "bound of \(bound)"))
  }

  /// Why action `a` cannot be taken in state `s`, in the spec's words.
  static func whyDisabled(_ p: Program, _ a: Int, _ s: MachineSnapshot) -> String {
    let spec = p.spec
    switch p.actions[a].meaning {
    case .step(let k, let branch):
      let name = spec.cpus[k].name
      let pc = s.contexts[k].pc
      let instruction = p.instruction(cpu: k, pc: pc)
      let next =
        p.source(cpu: k, pc: pc).map { "`\(spec.sourceText($0))` (line \($0.start.line))" }
        ?? "statement"
      if case .end = instruction { return "\(name) has already finished" }
      guard let c = s.contexts[k].cpu else {
        return p.machine.config.isHandler(k)
          ? "interrupt handler \(name) is not running" : "\(name) is not running on any CPU"
      }
      if let h = s.cpus[c].inIRQ, h != k {
        return "\(name) is interrupted by \(spec.cpus[h].name) on \(spec.cpuNames[c])"
      }
      if case .spinLock(let l) = instruction, let holder = s.lockHolder[Int(l)] {
        return "\(name) spins in \(next): \(spec.lockNames[Int(l)]) is held by "
          + spec.cpus[holder].name
      }
      if branch > 0 {
        switch instruction {
        case .choose(_, let count) where branch < Int(count): break
        case .ptAlloc where branch == 1: break
        default: return "\(name)'s next statement, \(next), has no branch \(branch + 1)"
        }
      }
      return "\(name)'s next statement, \(next), cannot be taken in this state"
    case .hardwareAccess(let c, _, _):
      return "\(spec.cpuNames[c]) does not run the mm, so its hardware does not walk it"
    case .tlbEvict(let c, let pte):
      return "\(spec.cpuNames[c])'s TLB holds no entry for \(spec.pteNames[pte])"
    case .earlyFlush(let c): return "\(spec.cpuNames[c])'s batch is empty"
    case .shootdownIPI(let c, let pte):
      return "no shootdown IPI for \(spec.pteNames[pte]) is pending on \(spec.cpuNames[c])"
    case .contextSwitch(let c, let to):
      let task = to.map { spec.cpus[$0].name } ?? "idle"
      return "the scheduler cannot switch \(spec.cpuNames[c]) to \(task) in this state"
    case .interrupt(let h) where spec.cpus[h].crossCallFunction != nil:
      return "\(spec.cpus[h].name) cannot take its IPI in this state (no call of its function is "
        + "pending, it is running, or its CPU has interrupts off or is in another handler)"
    case .interrupt(let h):
      return "interrupt \(spec.cpus[h].name) cannot fire in this state (it fired already, or "
        + "its CPU has interrupts off or is in another handler)"
    }
  }
}
