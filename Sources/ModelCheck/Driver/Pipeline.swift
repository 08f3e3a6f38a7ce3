import PTState

/// The pipeline, in order: spec text -> parsed spec -> checked spec -> program (compiled
/// transition system) -> exploration -> verdicts. Reports are rendered separately.
public enum Pipeline {
  /// A spec that cannot be checked: its diagnostics, ready to print.
  public struct SpecError: Error, Sendable {
    public var file: SourceFile
    public var diagnostics: [Diagnostic]
    public var rendered: String { DiagnosticRenderer.render(diagnostics, in: file) }
  }

  /// Reads an included file: by POSIX calls (`SpecFiles`), as the specs are read.
  public static func readFile(_ path: String) -> String? {
    SpecFiles.contents(SpecPath(path)).flatMap(SpecFiles.text)
  }

  /// The most files one spec may include (directly or through other includes).
  static let maxIncludes = 32

  /// Parses the files `ast` includes (relative to the file that names them, each once),
  /// adds their declarations to `ast` and the files to `file.includes`. An included file
  /// holds library code only: functions, enums, variables, invariants, more includes.
  static func resolveIncludes(
    _ ast: inout SpecAST, _ file: inout SourceFile, read: (String) -> String?
  ) throws(Diagnostic) {
    var pending = ast.includes.map { ($0.path, $0.range, file.path) }
    var seen: Set<String> = []
    while !pending.isEmpty {
      let (path, range, from) = pending.removeFirst()
      let base = from.split(separator: "/", omittingEmptySubsequences: false).dropLast()
        .joined(separator: "/")
      let resolved = normalized(path.hasPrefix("/") || base.isEmpty ? path : base + "/" + path)
      guard seen.insert(resolved).inserted else { continue }
      guard file.includes.count < maxIncludes else {
        throw Diagnostic(
          "spec.too-many-includes", "more than \(maxIncludes) included files", at: range)
      }
      guard let text = read(resolved) else {
        throw Diagnostic(
          "spec.include-not-found", "cannot read the included file '\(resolved)'", at: range,
          hint: "a path relative to the file that includes it")
      }
      file.includes.append(SourceFile(path: resolved, text: text))
      let included = try Parser.parse(text, file: file.includes.count)
      let library =
        included.title == nil && included.mode == nil && included.expect == nil
        && included.ptes.isEmpty && included.locks.isEmpty && included.cpus.isEmpty
        && included.checks.isEmpty && included.hardware.isEmpty && included.pgds.isEmpty
        && included.ptPages.isEmpty && included.tlb.isEmpty && included.mm == nil
      guard library else {
        throw Diagnostic(
          "spec.include-not-library",
          "'\(resolved)' declares more than library code", at: range,
          hint: "an included file holds only fn, enum, global, percpu, pertask, invariant "
            + "and include declarations")
      }
      ast.enums += included.enums
      ast.variables += included.variables
      ast.invariants += included.invariants
      ast.functions += included.functions
      pending += included.includes.map { ($0.path, $0.range, resolved) }
    }
  }

  /// `a/b/../c` as `a/c`, without `.` segments: how reports name an included file.
  static func normalized(_ path: String) -> String {
    var parts: [Substring] = []
    for part in path.split(separator: "/", omittingEmptySubsequences: false) {
      if part == "." { continue }
      if part == "..", let last = parts.last, last != "..", !last.isEmpty {
        parts.removeLast()
      } else {
        parts.append(part)
      }
    }
    return parts.joined(separator: "/")
  }

  /// Parses, checks and lowers one spec, with the files it includes (`read` reads them).
  public static func compile(
    _ file: SourceFile, read: (String) -> String? = Pipeline.readFile
  ) throws(SpecError) -> Program {
    var full = file
    if file.text.unicodeScalars.allSatisfy({ $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" })
    {
      throw SpecError(
        file: file,
        diagnostics: [
          Diagnostic(
            "spec.empty", "the spec is empty",
            at: SourceRange(start: .init(line: 1, column: 1), length: 1),
            hint: "expected declarations: mode, pte, lock, cpu, expect (see docs/spec-language.md)")
        ])
    }
    do {
      var ast = try Parser.parse(file.text)
      try resolveIncludes(&ast, &full, read: read)
      var checked = try Sema.check(ast)
      checked.sourceFile = full
      return try Lowering.lower(
        checked, eventMap: PropertyTable.eventMap(checked: checked.properties))
    } catch let d as Diagnostic {
      throw SpecError(file: full, diagnostics: [d])
    } catch let list as DiagnosticList {
      throw SpecError(file: full, diagnostics: list.diagnostics)
    } catch {
      throw SpecError(
        file: file,
        diagnostics: [
          Diagnostic(
            "spec.internal", "\(error)",
            at: SourceRange(start: .init(line: 1, column: 1), length: 1))
        ])
    }
  }

  /// Explores every interleaving and decides every property the spec checks.
  /// - Parameter coverage: count every statement's runs (`--coverage`), which explores the
  ///   whole graph even when every property has already failed; without it, coverage only
  ///   says which statements never ran, and only when the whole graph was explored anyway.
  ///   Counting needs every transition, so it turns partial-order reduction off.
  public static func check(
    _ program: Program, file: SourceFile, limits: Limits = Limits(), coverage: Bool = false
  ) -> CheckResult {
    let start = monotonicSeconds()
    var limits = limits
    limits.symmetry = limits.symmetry && !coverage
    let reduce = limits.partialOrder && !coverage && program.offersLocalSteps
    var result = checkOnce(program, file: file, limits: limits, coverage: coverage, reduce: reduce)
    guard result.statistics.reduced else { return result }
    // A reduced search's counterexamples are real runs, but a shorter one may go through
    // states it did not store: take them from a search of the full graph.
    let failing = result.properties.filter { $0.status == .fail }
    guard !failing.isEmpty || result.faultRun != nil else { return result }
    var unreduced = limits
    unreduced.partialOrder = false
    unreduced.symmetry = false
    // The second search shares the time limit with the first.
    unreduced.maxSeconds = limits.maxSeconds.map { max($0 - (monotonicSeconds() - start), 0.001) }
    if failing.contains(where: { PropertyTable.descriptor($0.kind).isGraphProperty }) {
      // A lasso's shortest prefix needs the whole graph: the run without the reductions,
      // whose verdicts are the ones a complete run gives.
      var full = check(program, file: file, limits: unreduced, coverage: coverage)
      if full.stopReason == nil {
        full.statistics.counterexamplesUnreduced = true
        return full
      }
      result.statistics.counterexamplesMayNotBeShortest = true
      if result.statistics.symmetry {
        // A livelock among symmetric states is confirmed by the full graph only.
        for (i, p) in result.properties.enumerated()
        where p.status == .fail && PropertyTable.descriptor(p.kind).isGraphProperty {
          result.properties[i] = PropertyResult(
            kind: p.kind, status: .incomplete,
            details: ["the search without symmetry reduction, which confirms it, stopped early"])
        }
      }
      return result
    }
    var bits: UInt32 = 0
    for p in failing { bits |= p.kind.bit }
    let deepest =
      (failing.compactMap { $0.counterexample?.length } + [result.faultRun?.count ?? 0]).max() ?? 0
    var explorer = BreadthFirst(
      system: program, compressAt: limits.compressAt(wordCount: program.wordCount),
      fingerprints: limits.fingerprints)
    // A fault stops the search where it is found; without one, it stops once every failing
    // property has its witness.
    explorer.run(
      limits: unreduced, safetyBits: bits, deadlockBit: bits & PropertyKind.deadlockFree.bit,
      needsFullGraph: result.faultRun != nil, reduce: false, maxDepth: deepest)
    let foundAll =
      failing.allSatisfy { explorer.witnesses[$0.kind.bit] != nil }
      && (result.faultRun == nil) == (explorer.faultWitness == nil)
    let targets = explorer.witnesses.values.map(\.state) + [explorer.faultWitness?.state]
    guard foundAll, explorer.rebuildPaths(to: targets.compactMap { $0 }) else {
      result.statistics.counterexamplesMayNotBeShortest = true
      return result
    }
    for (i, p) in result.properties.enumerated() where p.status == .fail {
      if let w = explorer.witnesses[p.kind.bit] {
        result.properties[i].counterexample = .run(explorer.witnessRun(w))
      }
    }
    if let w = explorer.faultWitness { result.faultRun = explorer.witnessRun(w) }
    result.statistics.counterexamplesUnreduced = true
    return result
  }

  /// One exploration (reduced or not), then the graph passes.
  static func checkOnce(
    _ program: Program, file: SourceFile, limits: Limits, coverage: Bool, reduce: Bool
  ) -> CheckResult {
    let descriptors = program.spec.properties.map(PropertyTable.descriptor)
    var safetyBits: UInt32 = 0
    for d in descriptors where !d.isGraphProperty { safetyBits |= d.kind.bit }
    let checkStart = monotonicSeconds()
    var explorer = BreadthFirst(
      system: program, compressAt: limits.compressAt(wordCount: program.wordCount),
      fingerprints: limits.fingerprints, keepsLoopStates: program.checks(.cmpxchgTerminates))
    explorer.run(
      limits: limits, safetyBits: safetyBits,
      deadlockBit: program.checks(.deadlockFree) ? PropertyKind.deadlockFree.bit : 0,
      needsFullGraph: coverage || descriptors.contains(where: \.isGraphProperty),
      reduce: reduce)

    // Under fingerprints the paths' states are gone: the search runs again to rebuild them.
    let targets =
      explorer.witnesses.values.map(\.state)
      + [explorer.faultWitness?.state, explorer.firstFinished].compactMap { $0 }
    let traced = explorer.rebuildPaths(to: targets)
    var results: [PropertyResult] = []
    for d in descriptors where !d.isGraphProperty {
      if let w = explorer.witnesses[d.kind.bit] {
        results.append(
          traced
            ? PropertyResult(
              kind: d.kind, status: .fail, counterexample: .run(explorer.witnessRun(w)))
            : PropertyResult(
              kind: d.kind, status: .fail,
              details: ["the counterexample could not be rebuilt: the second search stopped"]))
      } else {
        let status: PropertyResult.Status = explorer.isComplete ? .pass : .incomplete
        results.append(PropertyResult(kind: d.kind, status: status))
      }
    }
    var stats = explorer.statistics
    let start = monotonicSeconds()
    // The graph passes share the time limit with exploration, counted from its start.
    var budget = Budget(
      remaining: limits.maxMemoryBytes.map { $0 - stats.storeBytes },
      watch: Watch(limits, start: checkStart))
    for d in descriptors {
      guard case .onGraph(let decide) = d.decision else { continue }
      let (verdict, subgraphStates) =
        explorer.fingerprints
        ? decideOnLoopStates(d.kind, decide, program, &explorer, &budget)
        : decide(program, explorer, &budget)
      results.append(verdict)
      stats.livenessStates += subgraphStates
      stats.livenessSeconds = monotonicSeconds() - start
    }
    results.sort { $0.kind < $1.kind }

    stats.peakResidentBytes = peakResidentBytes()
    let faultRun = traced ? explorer.faultWitness.map { explorer.witnessRun($0) } : nil
    let completeRun = traced ? explorer.firstFinished.map { explorer.actions(to: $0) } : nil
    var result = CheckResult(
      program: program, file: file, properties: results, statistics: stats,
      stopReason: explorer.stopReason ?? budget.stopped, faultRun: faultRun,
      completeRun: completeRun)
    // Coverage reads every stored state: under fingerprints there are none.
    if explorer.exploredAll, !explorer.fingerprints {
      result.coverage = explorer.coverage(counting: coverage)
    }
    return result
  }
}

extension Pipeline {
  /// A graph property under fingerprints. `cmpxchg_terminates` is decided on the loop
  /// states the search kept (`LoopStates`): the same states and order as the whole store's,
  /// so the same verdict. A run it needs from the initial state (a lasso's prefix) goes
  /// through states that were not kept: the search rebuilds it, and the analysis runs again
  /// with the answer. The other graph properties read every state, so they stay undecided.
  static func decideOnLoopStates(
    _ kind: PropertyKind,
    _ decide: (Program, borrowing BreadthFirst<Program>, inout Budget) -> (PropertyResult, Int),
    _ program: Program, _ explorer: inout BreadthFirst<Program>, _ budget: inout Budget
  ) -> (PropertyResult, Int) {
    guard kind == .cmpxchgTerminates, let loops = explorer.loopStates,
      var kept = loops.explorer.take()
    else {
      let why =
        "not decided with --fingerprint: it is decided on every stored state, and "
        + "fingerprints keep none (run without --fingerprint)"
      return (PropertyResult(kind: kind, status: .incomplete, details: [why]), 0)
    }
    kept.stopReason = explorer.stopReason
    kept.exploredAll = explorer.exploredAll
    kept.canonical = explorer.canonical
    kept.runsFromOutside = loops
    let before = budget  // the first analysis's arrays are freed before the second
    var (verdict, states) = decide(program, kept, &budget)
    guard !loops.asked.isEmpty else { return (verdict, states) }
    let asked = loops.asked.sorted()
    let searchIDs = asked.map { loops.searchID[$0] }
    if explorer.rebuildPaths(to: searchIDs) {
      for (k, id) in zip(asked, searchIDs) { loops.answers[k] = explorer.actions(to: id) }
      loops.asked = []
      budget = before
      (verdict, states) = decide(program, kept, &budget)
    }
    if !loops.asked.isEmpty {
      verdict.counterexample = nil
      verdict.details.append("the counterexample could not be rebuilt: the second search stopped")
    }
    return (verdict, states)
  }
}

extension BreadthFirst {
  /// The actions from the initial state to a witness: to its state, then its action.
  func witnessRun(_ w: Witness) -> [Int] {
    var run = actions(to: w.state)
    if let a = w.action { run.append(a) }
    return run
  }
}
