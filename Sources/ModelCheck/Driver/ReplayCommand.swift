/// `modelcheck replay SPEC TRACE.json`: re-executes a saved counterexample against the spec
/// (perhaps edited since) and says whether it is still a counterexample for its property.
/// Exit 0: it is; 1: it no longer is (a step cannot be taken, or the run no longer violates
/// the property); 2: a usage error, a spec with an error, or a trace file that cannot be
/// read or is not a `modelcheck.counterexample/1` trace.
public struct ReplayRequest: Sendable, Equatable {
  public var spec: SpecPath
  public var trace: SpecPath
}

extension Options {
  /// The arguments after `replay`: the spec and the trace, or `--help`.
  static func parseReplay(_ args: ArraySlice<[UInt8]>) throws(UsageError) -> Options {
    var o = Options()
    var positional: [SpecPath] = []
    var onlyPaths = false
    for raw in args {
      let a = String(decoding: raw, as: UTF8.self)
      if !onlyPaths, a == "--" {
        onlyPaths = true
      } else if !onlyPaths, a == "-h" || a == "--help" {
        o.showHelp = true
      } else if !onlyPaths, a.hasPrefix("-"), a != "-" {
        throw UsageError(message: "unknown option '\(a)' for replay (see --help)")
      } else {
        positional.append(SpecPath(bytes: raw))
      }
    }
    if o.showHelp { return o }
    guard positional.count == 2 else {
      throw UsageError(
        message: "replay needs a spec and a trace file: modelcheck replay SPEC TRACE.json")
    }
    o.replay = ReplayRequest(spec: positional[0], trace: positional[1])
    return o
  }
}

enum ReplayCommand {
  static func run(
    _ request: ReplayRequest, out: (String) -> Void, err: (String) -> Void
  ) -> Runner.ExitCode {
    let specName = request.spec.description
    let traceName = request.trace.description
    guard SpecFiles.isDirectory(request.spec, followingLinks: true) == false,
      let bytes = SpecFiles.contents(request.spec)
    else {
      err("modelcheck: error: cannot read the spec file '\(specName)'\n")
      return .usageOrSpecError
    }
    guard let text = SpecFiles.text(bytes) else {
      err("\(specName):1:1: error: the file is not valid UTF-8 [spec.encoding]\n")
      return .usageOrSpecError
    }
    let file = SourceFile(path: specName, text: text)
    let program: Program
    do {
      program = try Pipeline.compile(file)
    } catch {
      err(error.rendered)
      return .usageOrSpecError
    }
    guard SpecFiles.isDirectory(request.trace, followingLinks: true) == false,
      let traceBytes = SpecFiles.contents(request.trace)
    else {
      err("modelcheck: error: cannot read the trace file '\(traceName)'\n")
      return .usageOrSpecError
    }
    let saved: SavedTrace
    do {
      saved = try SavedTrace.read(traceBytes)
    } catch {
      err("\(traceName): error: \(error.message)\n")
      return .usageOrSpecError
    }
    let property = saved.property
    guard program.checks(property) else {
      err(
        "\(traceName): error: the trace is a counterexample for \(property.name), which "
          + "\(specName) does not check (add it to the spec's `check` line)\n")
      return .usageOrSpecError
    }
    let steps = saved.steps.map { SavedTrace.resolve($0.action, in: program) }
    let outcome = Replay.run(
      program, property: property, steps: steps, cycleStart: saved.cycleStart)
    let result = CheckResult(
      program: program, file: file, properties: [], statistics: Statistics())
    let trace = Trace(program: program, counterexample: outcome.counterexample)

    let n = saved.steps.count
    let shape = saved.cycleStart.map { "a lasso (cycle from step \($0 + 1))" } ?? "a run"
    var report =
      "modelcheck replay: \(traceName) against \(specName)\n"
      + "  \(property.name): \(shape) of \(n) \(n == 1 ? "step" : "steps")"
      + (saved.spec.isEmpty || saved.spec == specName ? "" : ", saved from \(saved.spec)") + "\n\n"
    report += TextReport.table("Replayed steps", trace, result)
    for (i, step) in trace.steps.enumerated() where i < saved.steps.count {
      let was = saved.steps[i]
      guard was.operation != step.operation else { continue }
      let line = step.location.map { " (line \($0.start.line))" } ?? ""
      let old = was.line.map { " (line \($0))" } ?? ""
      report +=
        "  note: step \(i + 1) now runs `\(step.operation)`\(line); the trace had "
        + "`\(was.operation)`\(old)\n"
    }
    let code: Runner.ExitCode
    switch outcome.verdict {
    case .reproduces(let step):
      let at: String
      switch step {
      case 0?: at = "the initial state violates \(property.name)"
      case let k?: at = "step \(k) still violates \(property.name)"
      case nil:
        at =
          saved.cycleStart == nil
          ? "the run still violates \(property.name)"
          : "the cycle still repeats forever, violating \(property.name)"
      }
      report += "  REPRODUCED: \(at)\n"
      report += "  why: \(Explanation.why(property, trace, program))\n"
      code = .asExpected
    case .diverges(let step, let reason):
      report += "  NOT REPRODUCED: the trace diverges at step \(step): \(reason)\n"
      code = .mismatch
    case .holds(let reason):
      report += "  NOT REPRODUCED: \(reason)\n"
      code = .mismatch
    }
    out(report)
    return code
  }
}
