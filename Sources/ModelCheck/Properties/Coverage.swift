import PTState

/// How often each statement of each program ran across the explored graph (TLC's
/// `-coverage`), and the statements and `either` branches that never ran (SPIN's
/// "unreached in proctype"): a pass says nothing about code that never ran.
///
/// A statement is a kernel operation (a visible instruction, with its source range); local
/// assignments and conditions run with the operation before them and are not counted on
/// their own. A statement "ran" once per transition that executed it: a program step,
/// enabled, from a state resting on it. An `either` counts each branch separately.
public struct Coverage: Sendable {
  public struct Statement: Sendable {
    /// The program (an index into `spec.cpus`).
    public var context: Int
    public var range: SourceRange
    /// An `either` branch (0-based); nil for the statement itself.
    public var branch: Int?
    /// Transitions that executed it (with `counted` false: 0, or 1 for "at least once").
    public var count: Int
  }

  public var statements: [Statement]
  /// Whether `count` is every transition (`--coverage`) or only whether it ran.
  public var counted: Bool

  /// One warning per statement that never ran (and the ones right after it in the same
  /// program that never ran either, folded into it), and per `either` branch never taken.
  /// Library code (an included file) is shared: a statement there is reported only when it
  /// ran in no program, once.
  public func warnings(_ program: Program) -> [Diagnostic] {
    struct Key: Hashable {
      var range: SourceRange
      var branch: Int?
    }
    let isLibrary = { (s: Statement) in s.range.start.file != 0 }
    var libraryRan: Set<Key> = []
    for s in statements where isLibrary(s) && s.count > 0 {
      libraryRan.insert(Key(range: s.range, branch: s.branch))
    }
    var libraryReported: Set<Key> = []
    var out: [Diagnostic] = []
    var i = 0
    while i < statements.count {
      let s = statements[i]
      defer { i += 1 }
      guard s.count == 0 else { continue }
      if isLibrary(s) {
        let key = Key(range: s.range, branch: s.branch)
        guard !libraryRan.contains(key), libraryReported.insert(key).inserted else { continue }
      }
      let name = program.spec.cpus[s.context].name
      if let b = s.branch {
        out.append(
          Diagnostic(
            "coverage.branch-never-taken",
            "branch \(b + 1) of this 'either' is never taken in '\(name)'", at: s.range,
            hint: "no explored execution chooses it", severity: .warning))
        continue
      }
      // Fold the statements after it that never ran either (in the same file).
      var last = i
      while last + 1 < statements.count, statements[last + 1].context == s.context,
        statements[last + 1].branch == nil, statements[last + 1].count == 0,
        !isLibrary(s) && !isLibrary(statements[last + 1])
      {
        last += 1
      }
      let more = last - i
      let rest =
        more == 0
        ? "" : more == 1 ? " (nor does the statement after it)" : " (nor do the \(more) after it)"
      out.append(
        Diagnostic(
          "coverage.never-ran", "this statement of '\(name)' never runs\(rest)", at: s.range,
          hint: "no explored execution gets here", severity: .warning))
      i = last
    }
    return out
  }
}

extension BreadthFirst where System == Program {
  /// Coverage of the explored graph: for every stored state and every program, the steps
  /// it can take from there. With `counting` false, a statement is tried only until it is
  /// seen to run once, so the pass costs little more than reading every state's pcs.
  /// Valid only after exploration went through the whole graph (`exploredAll`).
  func coverage(counting: Bool) -> Coverage {
    let program = system
    let contexts = program.spec.cpus.count
    let maxBranches = max(SpecLimits.eitherBranches, AllocatorOutcome.allCases.count)
    // The step action of each program and branch.
    var stepAction = [[Int]](repeating: [], count: contexts)
    for (a, action) in program.actions.enumerated() {
      if case .step(let k, let branch) = action.meaning {
        while stepAction[k].count <= branch { stepAction[k].append(-1) }
        stepAction[k][branch] = a
      }
    }
    var counts = [Int](repeating: 0, count: max(program.code.count * maxBranches, 1))
    let pcs = program.machine.layout.pc
    let scratch = store.scratch(0)
    // Without counting, a block whose every statement ran needs no more runs.
    var blockDone = [Bool](repeating: false, count: program.atomicBlocks.count)
    func allRan(_ block: AtomicBlock) -> Bool {
      block.pcs.allSatisfy { pc in
        !Coverage.isStatement(program.instruction(cpu: block.cpu, pc: pc))
          || counts[(program.cpuStart[block.cpu] + pc) * maxBranches] > 0
      }
    }
    // Without counting, a pc whose every branch ran (in a block that is done) has nothing
    // left to learn, and stays so: after the first states, most programs rest on one.
    var settled = [Bool](repeating: false, count: program.code.count)
    var log = FactLog()  // one for every block step: its facts' storage is kept
    let s = store.scratch(1)
    for id in 0..<store.count {
      store.copyState(id, into: s)
      for k in 0..<contexts {
        let pc = Int(s[pcs[k]])
        let at = program.cpuStart[k] + pc
        if settled[at] { continue }
        let instruction = program.instruction(cpu: k, pc: pc)
        guard Coverage.isStatement(instruction) else {
          settled[at] = true
          continue
        }
        let branches = Coverage.branches(instruction)
        let base = at * maxBranches
        let block = program.atomicBlockIndex(cpu: k, pc: pc)
        // Without counting: branch b ran, and its block (if any) is done.
        func learned(_ b: Int) -> Bool {
          !counting && counts[base + b] > 0 && (block.map { blockDone[$0] } ?? true)
        }
        let tried = 0..<min(branches, stepAction[k].count)
        defer { settled[at] = tried.allSatisfy { stepAction[k][$0] < 0 || learned($0) } }
        for b in tried where stepAction[k][b] >= 0 {
          let inBlock = block != nil
          if learned(b) { continue }
          scratch.copy(from: s.view)
          guard inBlock else {
            if program.apply(stepAction[k][b], to: scratch).enabled { counts[base + b] += 1 }
            continue
          }
          // An atomic block's step runs its other statements too (no state rests there).
          log.facts.removeAll(keepingCapacity: true)
          let enabled = log.recording { program.apply(stepAction[k][b], to: scratch, log: $0) }
          guard enabled.enabled else { continue }
          counts[base + b] += 1
          for case .atomicStep(let inner) in log.facts {
            counts[(program.cpuStart[k] + inner) * maxBranches] += 1
          }
          if let block, !counting, allRan(program.atomicBlocks[block]) { blockDone[block] = true }
        }
      }
    }
    // With symmetry a stored state stands for its class: what one of a program's twins ran
    // at a pc, the program ran there too (they have the same code). Only whether it ran is
    // asked then: counting explores without the reductions.
    if canonical {
      for k in 0..<contexts {
        for twin in program.twins(of: k) where twin != k {
          for pc in 0..<program.machine.config.pcLimit[k] {
            let (mine, theirs) = (program.cpuStart[k] + pc, program.cpuStart[twin] + pc)
            for b in 0..<maxBranches {
              counts[mine * maxBranches + b] += counts[theirs * maxBranches + b]
            }
          }
        }
      }
    }
    var statements: [Coverage.Statement] = []
    for k in 0..<contexts {
      var byRange: [SourceRange: Int] = [:]  // a statement unrolled by `repeat`: one entry
      for pc in 0..<program.machine.config.pcLimit[k] {
        let instruction = program.instruction(cpu: k, pc: pc)
        guard Coverage.isStatement(instruction), let range = program.source(cpu: k, pc: pc)
        else { continue }
        let base = (program.cpuStart[k] + pc) * maxBranches
        if case .choose(_, let n) = instruction {
          for b in 0..<Int(n) {
            statements.append(.init(context: k, range: range, branch: b, count: counts[base + b]))
          }
          continue
        }
        let ran = (0..<Coverage.branches(instruction)).reduce(0) { $0 + counts[base + $1] }
        if let i = byRange[range] {
          statements[i].count += ran
        } else {
          byRange[range] = statements.count
          statements.append(.init(context: k, range: range, branch: nil, count: ran))
        }
      }
    }
    statements.sort {
      ($0.context, $0.range.start, $0.branch ?? -1) < ($1.context, $1.range.start, $1.branch ?? -1)
    }
    if !counting {
      for i in statements.indices { statements[i].count = min(statements[i].count, 1) }
    }
    return Coverage(statements: statements, counted: counting)
  }
}

extension Coverage {
  /// The step branches an instruction has.
  static func branches(_ i: Instruction) -> Int {
    switch i {
    case .choose(_, let n): return Int(n)
    case .ptAlloc: return AllocatorOutcome.allCases.count
    default: return 1
    }
  }

  /// Whether an instruction is a statement of its own: a visible one, but not the second
  /// half of `ptep_get_and_clear_full(p, 1)`, nor a `cover` (the `reachable` property
  /// reports those), nor a failing `BUG_ON`/`WARN_ON`/`assert` (that one never runs is the
  /// point), nor the synthesized end.
  static func isStatement(_ i: Instruction) -> Bool {
    switch i {
    case .assign, .jump, .jumpIfZero, .end, .nativeClear, .cover, .check,
      .switchIdle, .switchDone, .skipUnlessCallerIn, .crossCallIdle, .crossCallDone:
      return false
    default: return true
    }
  }
}
