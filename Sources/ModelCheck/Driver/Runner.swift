import Foundation

/// Runs the pipeline over every spec named on the command line and prints the results.
public enum Runner {
  /// The process exit status. With several specs the first that applies wins, in this
  /// order: an interrupt, 2, 1, 3, 0 (see `--help`).
  public enum ExitCode: Int32 {
    case asExpected = 0
    case mismatch = 1
    case usageOrSpecError = 2
    /// No verdict differs, but some property has none (a limit stopped its run).
    case incomplete = 3
    /// Stopped by SIGINT (128 + 2, as a shell reports it).
    case interrupted = 130
    /// Stopped by SIGTERM (128 + 15).
    case terminated = 143
  }

  /// The environment variable of a debugging hook: checking a spec whose path ends with
  /// its value traps on purpose (to test that a crash ends only that spec).
  static let crashHook = "MODELCHECK_TEST_CRASH"

  /// - Parameter stopRequest: nonzero (the signal) once the run must stop; the command-line
  ///   tool's signal handlers set `Interruption.signal`.
  public static func run(
    _ options: Options, out: (String) -> Void = { print($0, terminator: "") },
    err: (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) },
    stopRequest: @escaping @Sendable () -> Int32 = { Interruption.signal }
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
    var tally = Tally()
    var summaries: [JSON] = []
    var suites: [JUnitSuite] = []
    let context = JUnitReport.Context(
      timestamp: utcTimestamp(), hostname: ProcessInfo.processInfo.hostName)
    for m in missing {
      let what = "no such file or directory"
      err("modelcheck: error: \(what): '\(m)'\n")
      tally.add(.error)
      summaries.append(errorEntry(m.description, what, id: nil, location: nil))
      suites.append(
        JUnitReport.error(m.description, message: what, type: "usage", text: what, context))
    }
    if files.isEmpty, missing.isEmpty {
      let given = options.paths.map(\.description).joined(separator: ", ")
      err("modelcheck: error: no .spec files found in \(given)\n")
      return .usageOrSpecError
    }
    var limits = Limits(
      maxStates: options.maxStates, maxMemoryBytes: options.maxMemoryBytes,
      maxSeconds: options.maxSeconds, stopRequest: stopRequest)
    limits.threads = options.threads ?? ProcessInfo.processInfo.activeProcessorCount
    limits.partialOrder = options.partialOrder
    limits.symmetry = options.symmetry
    limits.compression = options.compression
    limits.fingerprints = options.fingerprints
    if options.maxMemoryBytes == nil, let machine = MachineMemory.defaultLimit() {
      limits.maxMemoryBytes = machine
      limits.memoryLimitIsMachine = true
    }
    limits.progressInterval = ProgressLine.interval
    let progress = options.progress ?? (!options.quiet && !options.json && isatty(2) != 0)
    var notRun: ArraySlice<SpecPath> = []
    for (i, path) in files.enumerated() {
      if stopRequest() != 0 {
        notRun = files[i...]
        break
      }
      var specLimits = limits
      if progress { specLimits.progress = ProgressLine.reporter(path.description) }
      let specContext = JUnitReport.Context(
        timestamp: utcTimestamp(), hostname: context.hostname)
      var outcome: SpecOutcome
      if options.isolate {
        switch Isolation.run({ check(path, options, specLimits, specContext) }) {
        case .success(let o): outcome = o
        case .failure(let failure): outcome = crashed(path, failure, options, specContext)
        }
      } else {
        outcome = check(path, options, specLimits, specContext)
      }
      for (stream, text) in outcome.output { stream == .out ? out(text) : err(text) }
      // A run piped to a file and killed later keeps every finished spec's report
      // (every stream: stdout is buffered when it is not a terminal).
      fflush(nil)
      if let s = outcome.summary { summaries.append(s) }
      if let j = outcome.junit { suites.append(j) }
      tally.add(outcome.verdict)
    }
    let signal = stopRequest()
    let stop = signal != 0 ? "stopped by \(signalName(signal))" : ""
    for path in notRun {
      tally.add(.notRun)
      summaries.append(
        .object([
          ("path", .string(path.description)), ("outcome", .string(SpecVerdict.notRun.rawValue)),
        ]))
      suites.append(JUnitReport.notRun(path.description, reason: stop, context))
      if options.json { continue }
      out(
        options.quiet
          ? "NOT RUN  \(path): \(stop) before it started\n" : "not run: \(path) (\(stop))\n")
    }
    if signal != 0 {
      let n = notRun.count
      err("modelcheck: \(stop); \(n) \(n == 1 ? "spec" : "specs") not run\n")
    }
    if let file = options.junitPath {
      let document = JUnitReport.document(suites)
      do {
        let url = URL(fileURLWithPath: file)
        try FileManager.default.createDirectory(
          at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        // Written to a temporary name and renamed: a reader never sees half a report.
        try Data(document.utf8).write(to: url, options: .atomic)
      } catch {
        let why = error.localizedDescription
        err("modelcheck: error: cannot write the JUnit report \(file): \(why)\n")
        tally.reportFailed = true
      }
    }
    let code = signal != 0 ? Interruption.exitCode(signal) : tally.exitCode
    if options.json {
      let summary = JSON.object([
        ("schema", .string(JSONReport.summarySchema)), ("specs", .array(summaries)),
        ("counts", tally.json), ("interrupted", signal != 0 ? .string(signalName(signal)) : .null),
        ("exit_code", .int(Int(code.rawValue))),
      ])
      out(summary.serialized() + "\n")
    } else {
      out(tally.line + "\n")
    }
    fflush(nil)
    return code
  }

  /// What the specs of a run came to: the tally line, its JSON form, the exit status.
  struct Tally {
    var counts: [SpecVerdict: Int] = [:]
    /// The `--junit` file could not be written.
    var reportFailed = false

    mutating func add(_ v: SpecVerdict) { counts[v, default: 0] += 1 }
    func count(_ v: SpecVerdict) -> Int { counts[v] ?? 0 }
    var specs: Int { counts.values.reduce(0, +) }
    /// Specs without a verdict on every property: stopped by a limit, or not run.
    var incomplete: Int { count(.incomplete) + count(.notRun) }

    var line: String {
      let notRun = count(.notRun) > 0 ? " (\(count(.notRun)) not run)" : ""
      let e = count(.error)
      return "\(specs) \(specs == 1 ? "spec" : "specs"): \(count(.asExpected)) as expected, "
        + "\(count(.differs)) differ, \(incomplete) incomplete\(notRun), "
        + "\(e) \(e == 1 ? "error" : "errors")"
    }

    var json: JSON {
      .object([
        ("specs", .int(specs)), ("as_expected", .int(count(.asExpected))),
        ("differ", .int(count(.differs))), ("incomplete", .int(incomplete)),
        ("not_run", .int(count(.notRun))), ("errors", .int(count(.error))),
      ])
    }

    /// An error (2) wins over a difference (1), which wins over an incomplete run (3).
    var exitCode: ExitCode {
      if count(.error) > 0 || reportFailed { return .usageOrSpecError }
      if count(.differs) > 0 { return .mismatch }
      if incomplete > 0 { return .incomplete }
      return .asExpected
    }
  }

  /// The summary entry of a spec that could not be checked.
  static func errorEntry(
    _ path: String, _ message: String, id: String?, location: SourceLocation?
  ) -> JSON {
    .object([
      ("path", .string(path)), ("outcome", .string(SpecVerdict.error.rawValue)),
      ("error", .string(message)), ("id", id.map { .string($0) } ?? .null),
      (
        "location",
        location.map { .object([("line", .int($0.line)), ("column", .int($0.column))]) } ?? .null
      ),
    ])
  }

  /// The outcome of a spec whose check ended without a result (in a child process).
  static func crashed(
    _ path: SpecPath, _ failure: Isolation.Failure, _ options: Options,
    _ context: JUnitReport.Context
  ) -> SpecOutcome {
    var o = SpecOutcome(code: .usageOrSpecError)
    let what = "internal error: \(failure.text)"
    let line =
      "\(path): error: \(what) while checking this spec; please report it [check.internal]\n"
    o.err(line)
    o.summary = errorEntry(path.description, what, id: "check.internal", location: nil)
    o.junit = JUnitReport.error(
      path.description, message: what, type: "check.internal", text: line, context)
    if options.quiet, !options.json { o.out("ERROR    \(path): \(what)\n") }
    return o
  }

  /// A spec that cannot be checked: its diagnostics on standard error, its `ERROR` line
  /// with `--quiet`, its summary entry and JUnit error.
  static func specError(
    _ name: String, _ message: String, id: String?, at location: SourceLocation?,
    rendered: String, _ options: Options, _ context: JUnitReport.Context
  ) -> SpecOutcome {
    var o = SpecOutcome(code: .usageOrSpecError)
    o.err(rendered)
    let place = location.map { "\(name):\($0.line):\($0.column)" } ?? name
    let headline = "\(place): \(message)" + (id.map { " [\($0)]" } ?? "")
    if options.quiet, !options.json { o.out("ERROR    \(headline)\n") }
    o.summary = errorEntry(name, message, id: id, location: location)
    o.junit = JUnitReport.error(
      name, message: headline, type: id ?? "spec.error", text: rendered, context)
    return o
  }

  /// Reads, compiles and checks one spec; writes its traces; renders what it prints.
  static func check(
    _ path: SpecPath, _ options: Options, _ limits: Limits, _ context: JUnitReport.Context
  ) -> SpecOutcome {
    let name = path.description
    if let suffix = ProcessInfo.processInfo.environment[crashHook], !suffix.isEmpty,
      name.hasSuffix(suffix)
    {
      fatalError("\(crashHook): crashing on purpose while checking \(name)")
    }
    guard let bytes = SpecFiles.contents(path) else {
      let message = "cannot read the file"
      return specError(
        name, message, id: nil, at: nil, rendered: "\(name): error: \(message)\n", options,
        context)
    }
    guard let text = SpecFiles.text(bytes) else {
      let message = "the file is not valid UTF-8"
      let rendered = "\(name):1:1: error: \(message) [spec.encoding]\n"
      return specError(
        name, message, id: "spec.encoding", at: SourceLocation(line: 1, column: 1),
        rendered: rendered, options, context)
    }
    let file = SourceFile(path: name, text: text)
    let program: Program
    do {
      program = try Pipeline.compile(file)
    } catch {
      let first = error.diagnostics.first
      return specError(
        name, first?.message ?? "error", id: first?.id, at: first?.range.start,
        rendered: error.rendered, options, context)
    }
    var o = SpecOutcome()
    // The file with the files it includes, so reports quote and place included code.
    let full = program.spec.sourceFile ?? file
    let result = Pipeline.check(program, file: full, limits: limits, coverage: options.coverage)
    var traceFiles: [PropertyKind: String] = [:]
    var counterexamples: [PropertyKind: String] = [:]
    var details = ""
    for p in result.properties {
      let stem = traceStem(name, p.kind, options)
      guard let c = p.counterexample else {
        // A property that now passes leaves no trace behind from an earlier run.
        if p.status == .pass, options.writeTraces {
          let removed = removeStaleTraces(stem, of: name)
          if !removed.isEmpty {
            details +=
              "\n  \(p.kind.name) passes now: removed its old trace "
              + removed.joined(separator: " and ") + "\n"
          }
        }
        continue
      }
      let trace = Trace(program: program, counterexample: c)
      let text = TextReport.counterexample(p, trace, result)
      counterexamples[p.kind] = text
      details += "\n" + text
      if options.writeTraces {
        do {
          try FileManager.default.createDirectory(
            atPath: options.outputDirectory, withIntermediateDirectories: true)
          let header = TextReport.summary(result) + "\n"
          // `.atomic`: written to a temporary name and renamed.
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
    var fault: String?
    if let faultRun = result.faultRun, let f = result.stopReason?.runtimeFault {
      let d = FaultReport.diagnostic(program, run: faultRun, fault: f)
      fault = DiagnosticRenderer.render(d, in: full)
      o.err(fault ?? "")
    }
    let verdict = result.outcome
    switch verdict {
    case .asExpected, .notRun: o.code = .asExpected
    case .differs: o.code = .mismatch
    case .incomplete: o.code = .incomplete
    case .error: o.code = .usageOrSpecError
    }
    o.summary = JSONReport.summary(result, traceFiles: traceFiles)
    if options.junitPath != nil {
      o.junit = JUnitReport.checked(
        result, counterexamples: counterexamples, fault: fault, context)
    }
    if options.json { return o }
    if options.quiet {
      let verdicts = result.properties.filter { $0.status != .pass }.map {
        "\($0.status == .fail ? "FAIL" : "incomplete") \($0.kind.name)"
      }
      let s = result.statistics
      let mark: String
      switch verdict {
      case .asExpected, .notRun: mark = "ok      "
      case .differs: mark = "MISMATCH"
      case .incomplete: mark = "STOPPED "
      case .error: mark = "ERROR   "
      }
      let list = verdicts.isEmpty ? "pass" : verdicts.joined(separator: ", ")
      o.out(
        "\(mark) \(name): \(list) (expect \(program.spec.expectation.description)); "
          + "\(TextReport.grouped(s.states)) states, \(format2(s.seconds)) s\n")
      for w in result.coverage?.warnings(program) ?? [] {
        let at = w.range.start
        o.out("\(full.place(at)): warning: \(w.message) [\(w.id)]\n")
      }
    } else {
      o.out(TextReport.summary(result) + details + "\n")
    }
    return o
  }

  /// `<output-dir>/<file name without .spec>.<property>`: a trace file's path less `.txt`
  /// or `.json`.
  static func traceStem(_ name: String, _ kind: PropertyKind, _ options: Options) -> String {
    let file = name.split(separator: "/").last.map(String.init) ?? name
    let base = file.hasSuffix(".spec") ? String(file.dropLast(5)) : file
    return options.outputDirectory + "/" + base + "." + kind.name
  }

  /// Removes `stem.txt` and `stem.json` when this spec wrote them (the text trace's first
  /// line names the spec, the JSON trace's `spec` field does), and `stem.html` with the
  /// text trace: a spec of the same file name in another directory writes to the same
  /// names, and its traces stay.
  static func removeStaleTraces(_ stem: String, of name: String) -> [String] {
    let marks = [
      (stem + ".txt", "modelcheck: \(name)"),
      (stem + ".json", "  \"spec\": \(JSON.quote(name)),"),
    ]
    var removed: [String] = []
    for (file, mark) in marks {
      guard let handle = FileHandle(forReadingAtPath: file) else { continue }
      let head = (try? handle.read(upToCount: 4096)) ?? Data()
      try? handle.close()
      let lines = String(decoding: head, as: UTF8.self).split(separator: "\n").prefix(3)
      // The text trace's first line is "modelcheck: PATH" or "modelcheck: PATH — TITLE".
      let wrote = lines.contains { $0 == mark || $0.hasPrefix(mark + " — ") }
      if wrote, (try? FileManager.default.removeItem(atPath: file)) != nil {
        removed.append(file)
      }
    }
    // The `--html` page is written with the text trace: it goes when that one did.
    if removed.contains(stem + ".txt"),
      (try? FileManager.default.removeItem(atPath: stem + ".html")) != nil
    {
      removed.append(stem + ".html")
    }
    return removed
  }

  /// Now, in UTC, as JUnit's `timestamp` wants it: `YYYY-MM-DDThh:mm:ss`.
  static func utcTimestamp() -> String {
    var t = time(nil)
    var parts = tm()
    guard gmtime_r(&t, &parts) != nil else { return "1970-01-01T00:00:00" }
    func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
    return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
      + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
  }
}
