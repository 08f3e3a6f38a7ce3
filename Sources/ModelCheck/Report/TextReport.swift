import PTState

/// Human-readable reports: the per-spec summary and counterexample tables.
public enum TextReport {
  public static func grouped(_ n: Int) -> String {
    let s = String(n)
    var out = ""
    for (i, ch) in s.reversed().enumerated() {
      if i > 0, i % 3 == 0 { out.append(",") }
      out.append(ch)
    }
    return String(out.reversed())
  }

  public static func statisticsLine(_ s: Statistics) -> String {
    var line =
      "\(grouped(s.states)) states, \(grouped(s.transitions)) transitions, depth \(s.depth), "
      + "\(format2(s.seconds)) s, \(grouped(Int(s.statesPerSecond.rounded()))) states/s"
    line += ", \(s.wordsPerState * 8) B/state packed, store \(formatBytes(s.storeBytes))"
    if s.storeTrees { line += " as trees" }
    if let peak = s.peakResidentBytes { line += ", peak RSS \(formatBytes(peak))" }
    if s.reducedStates > 0 {
      line +=
        "\n  partial-order reduction: \(grouped(s.reducedStates)) states expanded with one "
        + "program's local step only (--no-por: every interleaving)"
    }
    if s.counterexamplesUnreduced {
      line += "\n  counterexamples: from the search without the reductions, so shortest ones"
    } else if s.counterexamplesMayNotBeShortest {
      line +=
        "\n  counterexamples: the search without the reductions stopped early; a "
        + "counterexample may not be a shortest one"
    }
    if let p = s.omissionBound {
      line +=
        "\n  fingerprints: a 64-bit hash kept per state, not the state; the chance that a "
        + "state was missed is at most \(scientific(p)) (n(n-1)/2^65, for uniform hashes)"
    }
    if s.livenessStates > 0 {
      line +=
        "\n  liveness pass: \(grouped(s.livenessStates)) states in the searched subgraphs, "
        + "\(format2(s.livenessSeconds)) s"
    }
    return line
  }

  /// `x` (0 or positive) with two significant digits: "1.9e-7", "0.25", "0".
  static func scientific(_ x: Double) -> String {
    guard x > 0, x.isFinite else { return x == 0 ? "0" : "\(x)" }
    var m = x
    var e = 0
    while m < 1 {
      m *= 10
      e -= 1
    }
    while m >= 10 {
      m /= 10
      e += 1
    }
    var tenths = Int((m * 10).rounded())
    if tenths == 100 {
      tenths = 10
      e += 1
    }
    let mantissa = "\(tenths / 10).\(tenths % 10)"
    return e == 0 ? mantissa : mantissa + "e\(e)"
  }

  /// The summary of one spec: header, each property's verdict, statistics.
  public static func summary(_ r: CheckResult) -> String {
    let spec = r.program.spec
    var out = "modelcheck: \(r.file.path)"
    if !spec.title.isEmpty { out += " — \(spec.title)" }
    let cpus = spec.cpuNames.joined(separator: ", ")
    let programs = spec.cpus.map(\.name).joined(separator: ", ")
    out +=
      "\n  mode \(spec.mode.rawValue), cpus "
      + "\(cpus)\(programs == cpus ? "" : "; programs \(programs)"), batch limit "
      + "\(spec.batchLimit); expect \(spec.expectation.description)\n"
    for p in r.properties {
      let status: String
      switch p.status {
      case .pass: status = "pass      "
      case .fail: status = "FAIL      "
      case .incomplete: status = "incomplete"
      }
      out += "  \(status) \(p.kind.name)"
      if let c = p.counterexample {
        out += " (counterexample: \(c.length) \(c.length == 1 ? "step" : "steps"))"
      }
      out += "\n"
      for d in p.details { out += "             \(d)\n" }
    }
    out += "  \(statisticsLine(r.statistics))\n"
    if r.statistics.symmetry, let groups = r.program.symmetry?.groups {
      let names = groups.map { g in g.map { r.program.spec.cpus[$0.program].name } }
      out +=
        "  symmetry: \(names.map { $0.joined(separator: ", ") }.joined(separator: "; ")) "
        + "interchangeable (same code and set-up; --no-symmetry keeps them apart)\n"
    }
    if let stop = r.stopReason {
      var isFault = false
      if case .fault = stop { isFault = true }
      if !isFault, !r.properties.contains(where: { $0.status == .incomplete }) {
        // A witnessed failure is final, whatever was left unexplored.
        out +=
          "  \(stop.message), after every checked property had failed: "
          + "the verdicts are final\n"
      } else {
        out += "  INCOMPLETE: \(stop.message); properties not yet violated are not verified\n"
      }
    }
    for w in r.coverage?.warnings(r.program) ?? [] {
      out += DiagnosticRenderer.render(w, in: r.file)
    }
    switch r.outcome {
    case .error: out += "  verdict: none: the spec failed at run time (exit 2)\n"
    case .differs: out += "  verdict: NOT as expected (exit 1)\n"
    case .incomplete:
      out += "  verdict: incomplete: no verdict differs, but not every one is decided (exit 3)\n"
    case .asExpected, .notRun: out += "  verdict: as expected\n"
    }
    return out
  }

  /// `--coverage`: every statement of every program with the transitions that ran it.
  public static func coverageTable(_ r: CheckResult) -> String {
    guard let coverage = r.coverage else {
      return "\ncoverage: not available: exploration did not go through the whole graph\n"
    }
    var rows: [(String, String, String, String)] = []
    for s in coverage.statements {
      let text = r.file.text(s.range)
      let what = s.branch.map { "\(text) branch \($0 + 1)" } ?? text
      rows.append(
        (
          r.program.spec.cpus[s.context].name, r.file.shortPlace(s.range.start),
          what, grouped(s.count)
        ))
    }
    let w0 = rows.map(\.0.count).max() ?? 0
    let w1 = rows.map(\.1.count).max() ?? 0
    let w2 = min(rows.map(\.2.count).max() ?? 0, 48)
    var out = "\ncoverage of \(r.file.path): transitions that ran each statement\n"
    for (who, at, what, count) in rows {
      let shown = what.count > 48 ? String(what.prefix(45)) + "..." : what
      func pad(_ s: String, _ w: Int) -> String {
        s + String(repeating: " ", count: max(0, w - s.count))
      }
      out +=
        "  \(pad(who, w0))  \(pad(at, w1))  \(pad(shown, w2))  "
        + String(repeating: " ", count: max(0, 11 - count.count)) + count
        + (count == "0" ? "  never ran" : "") + "\n"
    }
    return out
  }

  /// The counterexample table for one failing property.
  public static func counterexample(_ p: PropertyResult, _ trace: Trace, _ r: CheckResult) -> String
  {
    let kind: String
    switch p.counterexample {
    case .lasso: kind = "livelock (lasso: a prefix, then a cycle that repeats forever)"
    default:
      kind = p.kind == .cmpxchgTerminates ? "run over the retry bound" : "shortest counterexample"
    }
    let n = trace.steps.count
    return table("FAIL \(p.kind.name): \(kind), \(n) \(n == 1 ? "step" : "steps")", trace, r)
      + "  why: \(Explanation.why(p.kind, trace, r.program))\n"
  }

  /// A run as a table: numbered steps, actor, operation, source location, effects.
  public static func table(_ heading: String, _ trace: Trace, _ r: CheckResult) -> String {
    let program = r.program
    var out = heading + "\n"
    var rows: [[String]] = [
      ["#", "actor", "operation", "line", "effects"],
      ["0", "-", "initial state", "", initialText(trace.initial, program)],
    ]
    for (i, s) in trace.steps.enumerated() {
      if i == trace.cycleStart {
        rows.append(["", "", "-- cycle starts here (repeats forever) --", "", ""])
      }
      let at = s.location.map { r.file.shortPlace($0.start) } ?? "(hardware)"
      let origin: String
      switch s.action.kind {
      case .earlyFlush: origin = "(hypervisor)"
      case .contextSwitch: origin = "(scheduler)"
      case .interrupt: origin = "(interrupt)"
      case .cpuStep where s.location == nil:
        // A switch with hooks ends, or a cross-call function returns (the csd unlock).
        let ipi = r.program.spec.cpus[s.action.cpu].crossCallFunction != nil
        origin = ipi ? "(interrupt)" : "(scheduler)"
      default: origin = at
      }
      rows.append([String(i + 1), s.actor, s.operation, origin, s.effects.joined(separator: "; ")])
    }
    if trace.cycleStart != nil {
      rows.append(["", "", "-- back to the start of the cycle --", "", ""])
    }
    var widths = [Int](repeating: 0, count: 4)
    for row in rows {
      for c in 0..<4 { widths[c] = min(max(widths[c], row[c].count), c == 2 ? 48 : 40) }
    }
    for row in rows {
      var line = "  "
      for c in 0..<4 {
        let cell = row[c]
        line +=
          c == 0
          ? String(repeating: " ", count: max(widths[c] - cell.count, 0)) + cell
          : cell + String(repeating: " ", count: max(widths[c] - cell.count, 0))
        line += "  "
      }
      out += line + row[4] + "\n"
    }
    return out
  }

  static func initialText(_ s: MachineSnapshot, _ p: Program) -> String {
    p.spec.pteNames.enumerated().map { "\($0.element) = \(s.mem[$0.offset])" }.joined(
      separator: "; ")
  }
}
