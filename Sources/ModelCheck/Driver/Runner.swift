import Foundation

/// Runs the pipeline over every spec named on the command line and prints the results.
public enum Runner {
  public enum ExitCode: Int32 {
    case asExpected = 0
    case mismatch = 1
    case usageOrSpecError = 2
  }

  /// The environment variable of a debugging hook: checking a spec whose path ends with
  /// its value traps on purpose (to test that a crash ends only that spec).
  static let crashHook = "MODELCHECK_TEST_CRASH"

  public static func run(
    _ options: Options, out: (String) -> Void = { print($0, terminator: "") },
    err: (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }
  ) -> ExitCode {
    if options.showHelp {
      out(Options.help + "\n")
      return .asExpected
    }
    if options.showVersion {
      out(Options.version + "\n")
      return .asExpected
    }
    if let replay = options.replay { return ReplayCommand.run(replay, out: out, err: err) }
    let (files, missing) = SpecFiles.find(options.paths)
    var code = ExitCode.asExpected
    for m in missing {
      err("modelcheck: error: no such file or directory: '\(m)'\n")
      code = .usageOrSpecError
    }
    if files.isEmpty, missing.isEmpty {
      let given = options.paths.map(\.description).joined(separator: ", ")
      err("modelcheck: error: no .spec files found in \(given)\n")
      return .usageOrSpecError
    }
    let limits = Limits(maxStates: options.maxStates, maxMemoryBytes: options.maxMemoryBytes)
    var summaries: [JSON] = []
    for path in files {
      var outcome: SpecOutcome
      if options.isolate {
        switch Isolation.run({ check(path, options, limits) }) {
        case .success(let o): outcome = o
        case .failure(let failure): outcome = crashed(path, failure, options)
        }
      } else {
        outcome = check(path, options, limits)
      }
      for (stream, text) in outcome.output { stream == .out ? out(text) : err(text) }
      if let s = outcome.summary { summaries.append(s) }
      // A spec error or a fault (2) wins over a mismatch (1).
      if outcome.code == .usageOrSpecError { code = .usageOrSpecError }
      if outcome.code == .mismatch, code == .asExpected { code = .mismatch }
    }
    if options.json {
      let summary = JSON.object([
        ("schema", .string(JSONReport.summarySchema)), ("specs", .array(summaries)),
        ("exit_code", .int(Int(code.rawValue))),
      ])
      out(summary.serialized() + "\n")
    }
    return code
  }

  /// The outcome of a spec whose check ended without a result (in a child process).
  static func crashed(
    _ path: SpecPath, _ failure: Isolation.Failure, _ options: Options
  ) -> SpecOutcome {
    var o = SpecOutcome(code: .usageOrSpecError)
    let what = "internal error: \(failure.text)"
    o.err("\(path): error: \(what) while checking this spec; please report it [check.internal]\n")
    o.summary = .object([("path", .string(path.description)), ("error", .string(what))])
    if options.quiet, !options.json { o.out("ERROR    \(path): \(what)\n") }
    return o
  }

  /// Reads, compiles and checks one spec; writes its traces; renders what it prints.
  static func check(_ path: SpecPath, _ options: Options, _ limits: Limits) -> SpecOutcome {
    var o = SpecOutcome()
    let name = path.description
    if let suffix = ProcessInfo.processInfo.environment[crashHook], !suffix.isEmpty,
      name.hasSuffix(suffix)
    {
      fatalError("\(crashHook): crashing on purpose while checking \(name)")
    }
    guard let bytes = SpecFiles.contents(path) else {
      o.err("\(name): error: cannot read the file\n")
      o.code = .usageOrSpecError
      return o
    }
    guard let text = SpecFiles.text(bytes) else {
      o.err("\(name):1:1: error: the file is not valid UTF-8 [spec.encoding]\n")
      o.code = .usageOrSpecError
      return o
    }
    let file = SourceFile(path: name, text: text)
    let program: Program
    do {
      program = try Pipeline.compile(file)
    } catch {
      o.err(error.rendered)
      o.code = .usageOrSpecError
      let message = error.diagnostics.first?.message ?? "error"
      o.summary = .object([("path", .string(name)), ("error", .string(message))])
      return o
    }
    let result = Pipeline.check(program, file: file, limits: limits, coverage: options.coverage)
    var traceFiles: [PropertyKind: String] = [:]
    var details = ""
    for p in result.properties {
      guard let c = p.counterexample else { continue }
      let trace = Trace(program: program, counterexample: c)
      let text = TextReport.counterexample(p, trace, result)
      details += "\n" + text
      if options.writeTraces {
        let file = name.split(separator: "/").last.map(String.init) ?? name
        let base = file.hasSuffix(".spec") ? String(file.dropLast(5)) : file
        let stem = options.outputDirectory + "/" + base + "." + p.kind.name
        do {
          try FileManager.default.createDirectory(
            atPath: options.outputDirectory, withIntermediateDirectories: true)
          let header = TextReport.summary(result) + "\n"
          try Data((header + text).utf8).write(
            to: URL(fileURLWithPath: stem + ".txt"), options: .atomic)
          let json = JSONReport.counterexample(p, trace, result).serialized() + "\n"
          try Data(json.utf8).write(to: URL(fileURLWithPath: stem + ".json"), options: .atomic)
          if options.html {
            let html = HTMLReport.counterexample(p, trace, result)
            try Data(html.utf8).write(to: URL(fileURLWithPath: stem + ".html"), options: .atomic)
          }
          traceFiles[p.kind] = stem + ".txt"
          let rest = options.html ? ", .json and .html" : " and .json"
          details += "  trace written to \(stem).txt\(rest)\n"
        } catch {
          o.err("modelcheck: warning: cannot write \(stem).txt: \(error.localizedDescription)\n")
        }
      }
    }
    if options.showRun {
      if let run = result.completeRun {
        let trace = Trace(program: program, counterexample: .run(run))
        let title = "A shortest complete run (every CPU finishes), \(trace.steps.count) steps"
        details += "\n" + TextReport.table(title, trace, result)
      } else {
        details += "\nNo run in which every CPU finishes was found.\n"
      }
    }
    if options.coverage { details += TextReport.coverageTable(result) }
    if let faultRun = result.faultRun, let f = result.stopReason?.runtimeFault {
      let d = FaultReport.diagnostic(program, run: faultRun, fault: f)
      o.err(DiagnosticRenderer.render(d, in: file))
      o.code = .usageOrSpecError
    } else if !result.matchesExpectation {
      o.code = .mismatch
    }
    o.summary = JSONReport.summary(result, traceFiles: traceFiles)
    if options.json { return o }
    if options.quiet {
      let verdict = result.properties.filter { $0.status != .pass }.map {
        "\($0.status == .fail ? "FAIL" : "incomplete") \($0.kind.name)"
      }
      let s = result.statistics
      let mark = result.matchesExpectation ? "ok      " : "MISMATCH"
      let verdicts = verdict.isEmpty ? "pass" : verdict.joined(separator: ", ")
      o.out(
        "\(mark) \(name): \(verdicts) (expect \(program.spec.expectation.description)); "
          + "\(TextReport.grouped(s.states)) states, \(format2(s.seconds)) s\n")
      for w in result.coverage?.warnings(program) ?? [] {
        let at = w.range.start
        o.out("\(name):\(at.line):\(at.column): warning: \(w.message) [\(w.id)]\n")
      }
    } else {
      o.out(TextReport.summary(result) + details + "\n")
    }
    return o
  }
}
