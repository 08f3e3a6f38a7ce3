import Foundation

// The oracles of the spec fuzzer, applied to what the binary printed for each input.

struct Finding {
  var check: String
  var caseID: Int
  var detail: String
}

struct FuzzCampaign {
  let binary: URL
  let directory: URL
  let scratch: URL
  var cases: [FuzzCase]
  var outputs: [Int: SpecOutput] = [:]
  /// Inputs whose own process crashed or hung: no output to check.
  var dead: Set<Int> = []
  var findings: [Finding] = []
  var processes = 0
  /// Past this the campaign stops (a finding): a checker that became very slow, or hangs
  /// on many inputs, must not hold the test run for hours.
  let deadline: Date
  var outOfTime = false

  init(binary: URL, directory: URL, cases: [FuzzCase], budget: Double) throws {
    self.deadline = Date().addingTimeInterval(budget)
    self.binary = binary
    self.directory = directory
    self.scratch = directory.appendingPathComponent("scratch")
    self.cases = cases
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    for c in cases { try Data(c.bytes).write(to: path(c)) }
  }

  func path(_ c: FuzzCase) -> URL { directory.appendingPathComponent(c.fileName) }

  mutating func record(_ check: String, _ c: FuzzCase, _ detail: String) {
    findings.append(Finding(check: check, caseID: c.id, detail: detail))
  }

  // MARK: Running

  /// Every input, in batches of one `--max-states` value.
  mutating func runAll(batchSize: Int = 250) {
    let byLimit = Dictionary(grouping: cases.indices, by: { cases[$0].maxStates })
    for limit in byLimit.keys.sorted() {
      let indices = byLimit[limit]!
      for start in stride(from: 0, to: indices.count, by: batchSize) {
        runBatch(Array(indices[start..<min(start + batchSize, indices.count)]), maxStates: limit)
      }
    }
  }

  /// The exit status the runner owes for these inputs, from what it printed about each.
  static func expectedStatus(_ outputs: [SpecOutput]) -> Int32 {
    let codes = outputs.map { o -> Int32 in
      if !o.errors.isEmpty { return 2 }
      let verdict = o.block.flatMap { BlockInfo($0).verdictLine }
      if verdict?.hasPrefix("NOT as expected") == true { return 1 }
      if verdict?.hasPrefix("incomplete") == true { return 3 }
      return 0
    }
    // An error wins over a difference, which wins over an incomplete run.
    return codes.contains(2) ? 2 : codes.contains(1) ? 1 : codes.contains(3) ? 3 : 0
  }

  /// Whether the time budget is spent; records that once.
  mutating func spent(_ c: FuzzCase) -> Bool {
    guard Date() > deadline else { return false }
    if !outOfTime {
      record(
        "time-budget", c, "the campaign ran out of its time budget here; the rest is unchecked")
      outOfTime = true
    }
    return true
  }

  private mutating func runBatch(_ indices: [Int], maxStates: Int) {
    if spent(cases[indices[0]]) {
      for i in indices { dead.insert(cases[i].id) }
      return
    }
    let args =
      ["--no-traces", "--max-states", String(maxStates)] + indices.map { path(cases[$0]).path }
    let run = runProcess(binary, args, timeout: 30 + 0.05 * Double(indices.count), scratch: scratch)
    processes += 1
    if run.died {
      if indices.count > 1 {
        runBatch(Array(indices.prefix(indices.count / 2)), maxStates: maxStates)
        runBatch(Array(indices.dropFirst(indices.count / 2)), maxStates: maxStates)
        return
      }
      let c = cases[indices[0]]
      dead.insert(c.id)
      let what = run.timedOut ? "hang" : run.signaled ? "crash" : "exit-status"
      record(
        what, c,
        "status \(run.status) (signal: \(run.signaled), timed out: \(run.timedOut)); "
          + "stderr:\n" + FuzzCampaign.crashSummary(run.stderr))
      return
    }
    let parsed = OutputParser.parse(run, directory: directory.path)
    for i in indices { outputs[cases[i].id] = parsed[cases[i].id] ?? SpecOutput() }
    let expected = FuzzCampaign.expectedStatus(indices.map { outputs[cases[$0].id]! })
    if run.status != expected {
      record(
        "exit-status", cases[indices[0]],
        "a batch of \(indices.count) inputs starting here "
          + "exited \(run.status), but what it printed about them means \(expected)")
    }
  }

  /// The trap message and the frames in the project's own sources, from a crash report.
  static func crashSummary(_ stderr: [String]) -> String {
    let fatal = stderr.filter { $0.contains("Fatal error") || $0.contains("Program crashed") }
    let frames = stderr.filter { $0.contains("/Sources/") }.prefix(6).map {
      $0.trimmingCharacters(in: .whitespaces)
    }
    let lines = fatal.prefix(2) + frames
    return (lines.isEmpty ? Array(stderr.suffix(6)) : Array(lines)).joined(separator: "\n")
  }

  /// What the inputs exercised: error ids, stopped and complete runs, verdicts.
  func statistics() -> String {
    var counts: [String: Int] = [:]
    for c in cases {
      guard let o = outputs[c.id] else { continue }
      let kind = c.mustCompile ? "valid" : "mutant"
      if let e = o.compileErrors.first { counts["\(kind) error \(e.id ?? "?")", default: 0] += 1 }
      if let f = o.runtimeFault { counts["\(kind) runtime fault: \(f.text)", default: 0] += 1 }
      guard let b = o.block.map(BlockInfo.init) else { continue }
      counts[
        "\(kind) checked, "
          + (b.stopped.map { $0.contains("state limit") ? "limit" : "stopped" } ?? "complete"),
        default: 0] += 1
      for v in b.verdicts { counts["\(kind) verdict \(v.name) \(v.status)", default: 0] += 1 }
    }
    return counts.sorted { $0.key < $1.key }.map { "  \($0.value)\t\($0.key)" }.joined(
      separator: "\n")
  }

  // MARK: Per-input oracles

  mutating func checkAll() {
    for c in cases where !dead.contains(c.id) { check(c) }
  }

  private mutating func check(_ c: FuzzCase) {
    let out = outputs[c.id] ?? SpecOutput()
    guard let text = c.text else {
      // Not UTF-8: one error at 1:1, nothing else.
      let e = out.errors
      if e.count != 1 || e[0].id != "spec.encoding" || e[0].line != 1 || e[0].column != 1
        || out.block != nil
      {
        record(
          "structure", c, "a file that is not UTF-8 must get exactly one spec.encoding error at 1:1"
        )
      }
      return
    }
    let lines = scalarLines(text.scalars).map { $0.last == "\r" ? Array($0.dropLast()) : $0 }
    for m in out.messages { checkMessage(m, c, lines) }
    if out.compileErrors.count > 20 {
      record("structure", c, "\(out.compileErrors.count) errors printed; at most 20 are shown")
    }
    if c.mustCompile, let e = out.compileErrors.first {
      record("valid-spec-rejected", c, "\(e.line ?? 0):\(e.column ?? 0): \(e.text) [\(e.id ?? "")]")
    }
    if !out.compileErrors.isEmpty {
      if out.block != nil { record("structure", c, "a spec with errors was also checked") }
      return
    }
    guard let block = out.block else {
      record("structure", c, "no report and no error for this spec")
      return
    }
    checkBlock(BlockInfo(block), c, out)
  }

  private mutating func checkMessage(
    _ m: SpecOutput.Message, _ c: FuzzCase, _ lines: [[Unicode.Scalar]]
  ) {
    guard let line = m.line, let column = m.column else {
      record("diagnostic-location", c, "'\(m.severity): \(m.text)' has no line:col")
      return
    }
    guard line >= 1, line <= max(lines.count, 1), column >= 1 else {
      record(
        "diagnostic-location", c, "\(line):\(column) is outside the file (\(lines.count) lines)")
      return
    }
    // Notes and runtime faults are one line; an encoding error has no source to show.
    guard m.severity == "error", m.id != "check.runtime-fault", m.id != "spec.encoding" else {
      return
    }
    if m.id == nil { record("diagnostic-format", c, "error without [id]: \(m.text)") }
    let source = line <= lines.count ? lines[line - 1] : []
    if column - 1 > source.count {
      record("caret", c, "column \(column) is past the end of line \(line) (\(source.count) chars)")
    }
    // The snippet: the line before, the line, then the caret line.
    let width = String(line).count
    var expected: [String] = []
    for n in max(1, line - 1)...line {
      let number = String(n)
      let content = n <= lines.count ? String(scalars: lines[n - 1]) : ""
      expected.append(
        String(repeating: " ", count: width - number.count + 1) + number + " | " + content)
    }
    let shown = Array(m.following.prefix(expected.count))
    if shown != expected {
      record(
        "snippet", c,
        "\(line):\(column) [\(m.id ?? "")]: expected the snippet\n"
          + expected.joined(separator: "\n") + "\ngot\n" + shown.joined(separator: "\n"))
      return
    }
    let caretPrefix = String(repeating: " ", count: width + 1) + " | "
    guard m.following.count > expected.count, m.following[expected.count].hasPrefix(caretPrefix)
    else {
      record("caret", c, "\(line):\(column) [\(m.id ?? "")]: no caret line after the snippet")
      return
    }
    let caretLine = m.following[expected.count].dropFirst(caretPrefix.count)
    guard let hat = caretLine.firstIndex(of: "^") else {
      record("caret", c, "\(line):\(column): the caret line has no '^'")
      return
    }
    let pad = Array(caretLine[..<hat].unicodeScalars)
    let padOK =
      pad.count == column - 1
      && pad.indices.allSatisfy { i in
        pad[i] == (i < source.count && source[i] == "\t" ? "\t" : " ")
      }
    if !padOK {
      record(
        "caret", c, "\(line):\(column) [\(m.id ?? "")]: the caret is at column \(pad.count + 1)")
    }
  }

  private mutating func checkBlock(_ b: BlockInfo, _ c: FuzzCase, _ out: SpecOutput) {
    let limited = b.stopped?.contains("state limit") == true
    if limited, let v = b.verdicts.first(where: { $0.status == "pass" }) {
      record("limit-pass", c, "stopped by --max-states \(c.maxStates) but \(v.name) is pass")
    }
    if let states = b.states, states > c.maxStates {
      record("limit-bound", c, "\(states) states with --max-states \(c.maxStates)")
    }
    if b.states == nil || b.verdictLine == nil || b.verdicts.isEmpty {
      record("structure", c, "the summary lacks verdicts, statistics or the verdict line")
    }
    if b.stopped == nil, let v = b.verdicts.first(where: { $0.status == "incomplete" }) {
      record("structure", c, "\(v.name) is incomplete although the run was not stopped")
    }
    if (out.runtimeFault != nil)
      != (b.verdictLine?.hasPrefix("none: the spec failed at run time") == true)
    {
      record("structure", c, "a runtime fault and the verdict line disagree")
    }
    checkExplanations(out.block ?? [], c)
    // A `reachable` failure has no run to show: nothing gets to the cover point.
    let fails = b.verdicts.filter { $0.status == "FAIL" && $0.name != "reachable" }.map(\.name)
    if Set(fails) != Set(b.failTables) || b.whyLines != b.failTables.count {
      record(
        "structure", c,
        "FAIL verdicts \(fails), counterexample tables \(b.failTables), "
          + "\(b.whyLines) explanations")
    }
  }

  /// "X's hardware ..." in an explanation must name a CPU whose hardware acts in the
  /// counterexample above it (actor `X/hw`), or a program whose `touch` does.
  private mutating func checkExplanations(_ lines: [String], _ c: FuzzCase) {
    var actors: Set<String> = []
    for line in lines {
      if line.hasPrefix("FAIL ") { actors = [] }
      let columns = line.split(separator: " ", omittingEmptySubsequences: true)
      if columns.count > 1, columns[1].hasSuffix("/hw") {
        actors.insert(String(columns[1].dropLast(3)))
      }
      if columns.count > 2, line.contains("touch(") { actors.insert(String(columns[1])) }
      guard line.hasPrefix("  why: ") else { continue }
      var rest = Substring(line)
      while let r = rest.range(of: "'s hardware") {
        let name = rest[..<r.lowerBound].split(separator: " ").last.map(String.init) ?? ""
        if !actors.contains(name) {
          record(
            "explanation-actor", c,
            "'\(name)'s hardware' but the hardware steps are by "
              + "\(actors.sorted()): \(line)")
        }
        rest = rest[r.upperBound...]
      }
    }
  }

  // MARK: Metamorphic agreement

  mutating func checkFamilies() {
    let families = Dictionary(grouping: cases, by: \.family)
    for (_, members) in families.sorted(by: { $0.key < $1.key }) {
      guard let base = members.first(where: { $0.variant == .base }), !dead.contains(base.id) else {
        continue
      }
      for v in members where v.variant != .base && !dead.contains(v.id) {
        let a = outputs[base.id] ?? SpecOutput()
        let b = outputs[v.id] ?? SpecOutput()
        switch v.variant {
        case .renamed, .crlf: compareExact(a, b, v, withColumns: v.variant == .crlf)
        case .reordered: compareReordered(a, b, v)
        case .base: break
        }
      }
    }
  }

  /// Renaming or CRLF line ends change nothing: not the errors, not one verdict or count.
  private mutating func compareExact(
    _ a: SpecOutput, _ b: SpecOutput, _ v: FuzzCase, withColumns: Bool
  ) {
    func key(_ o: SpecOutput) -> [String] {
      o.errors.map { "\($0.line ?? 0):\(withColumns ? $0.column ?? 0 : 0) \($0.id ?? "")" }
    }
    if key(a) != key(b) {
      record(
        "metamorphic-\(v.variant.rawValue)", v,
        "errors differ from the base input's: "
          + "\(key(a).prefix(5)) vs \(key(b).prefix(5))")
      return
    }
    let x = a.block.map(BlockInfo.init)
    let y = b.block.map(BlockInfo.init)
    let same =
      x?.verdicts == y?.verdicts && x?.states == y?.states
      && x?.transitions == y?.transitions && x?.depth == y?.depth && x?.stopped == y?.stopped
    if !same {
      record(
        "metamorphic-\(v.variant.rawValue)", v,
        "results differ from the base input's:\n"
          + "  \(describe(x))\n  \(describe(y))")
      return
    }
    // With CRLF line ends even the counterexample tables and explanations are the same.
    func tables(_ o: SpecOutput) -> [String] {
      Array((o.block ?? []).drop { !$0.hasPrefix("FAIL ") })
    }
    if v.variant == .crlf, tables(a) != tables(b) {
      let diff = zip(tables(a), tables(b)).first { $0 != $1 }
      record(
        "metamorphic-crlf", v,
        "the counterexamples read differently: "
          + "\(diff.map { "\($0.0)\n  vs\n\($0.1)" } ?? "not as many lines")")
    }
  }

  /// Reordering top-level declarations renumbers programs and actions: the graph is the
  /// same up to isomorphism, so verdicts and shortest counterexamples agree, and so do the
  /// counts when both runs explored everything.
  private mutating func compareReordered(_ a: SpecOutput, _ b: SpecOutput, _ v: FuzzCase) {
    if a.compileErrors.isEmpty != b.compileErrors.isEmpty {
      record(
        "metamorphic-reordered", v,
        "one order compiles and the other does not: "
          + "\(a.compileErrors.first?.id ?? "-") vs \(b.compileErrors.first?.id ?? "-")")
      return
    }
    guard let x = a.block.map(BlockInfo.init), let y = b.block.map(BlockInfo.init) else { return }
    let limited = [x, y].contains { $0.stopped?.contains("state limit") == true }
    let faultA = a.runtimeFault != nil
    let faultB = b.runtimeFault != nil
    // A fault stops the run where it is found; a run that passes something saw every state.
    if (faultA && y.verdicts.contains { $0.status == "pass" })
      || (faultB && x.verdicts.contains { $0.status == "pass" })
    {
      record(
        "metamorphic-reordered", v,
        "one order faults at run time, the other passes:\n"
          + "  \(describe(x))\n  \(describe(y))")
    }
    guard !limited, x.stopped == nil, y.stopped == nil else { return }
    func verdicts(_ b: BlockInfo) -> [String] {
      b.verdicts.map {
        // A lasso is not a shortest counterexample: its length may depend on the order.
        let isGraph = $0.name == "cmpxchg_terminates" || $0.name == "terminates"
        return "\($0.name)=\($0.status)" + (isGraph ? "" : "/\($0.steps ?? 0)")
      }
    }
    if verdicts(x) != verdicts(y) {
      record("metamorphic-reordered", v, "verdicts differ:\n  \(describe(x))\n  \(describe(y))")
      return
    }
    // Exploration ends early once every safety property has failed, at a point that
    // depends on the order; it explores everything if something passes or with liveness.
    // A reduced state takes the first program's local step (in program order), so reduced
    // counts depend on the order too; the counterexamples above do not (they come from the
    // search without the reduction).
    let full = x.verdicts.contains {
      $0.status == "pass" || $0.name == "cmpxchg_terminates" || $0.name == "terminates"
    }
    if full, !x.reduced, !y.reduced,
      (x.states, x.transitions, x.depth) != (y.states, y.transitions, y.depth)
    {
      record("metamorphic-reordered", v, "counts differ:\n  \(describe(x))\n  \(describe(y))")
    }
  }

  private func describe(_ b: BlockInfo?) -> String {
    guard let b else { return "(no report)" }
    let v = b.verdicts.map { "\($0.name)=\($0.status)\($0.steps.map { "/\($0)" } ?? "")" }
    return v.joined(separator: " ")
      + "; \(b.states ?? -1) states, \(b.transitions ?? -1) transitions, "
      + "depth \(b.depth ?? -1)" + (b.stopped.map { "; \($0)" } ?? "")
  }

  // MARK: Single runs in every output mode

  /// Runs a sample of inputs alone, each in one of the output modes: the exit status is
  /// then that input's own, and the other modes must agree with the batch's text report.
  mutating func runSamples(every: Int) {
    let traces = directory.appendingPathComponent("traces")
    for (k, c) in cases.enumerated() where k % every == 0 && !dead.contains(c.id) {
      if spent(c) { break }
      let out = outputs[c.id] ?? SpecOutput()
      let expected = FuzzCampaign.expectedStatus([out])
      let block = out.block.map(BlockInfo.init)
      let limit = ["--max-states", String(c.maxStates)]
      let file = path(c).path
      let mode = (k / every) % 5
      let args: [String]
      switch mode {
      case 0: args = ["--no-traces"] + limit + [file]
      case 1: args = ["--quiet", "--no-traces"] + limit + [file]
      case 2: args = ["--json", "--no-traces"] + limit + [file]
      case 3: args = ["--output-dir", traces.path] + limit + [file]
      default: args = ["--show-run", "--no-traces"] + limit + [file]
      }
      let run = runProcess(binary, args, timeout: 30, scratch: scratch)
      processes += 1
      if run.died {
        let what = run.timedOut ? "hang" : run.signaled ? "crash" : "exit-status"
        record(
          what, c,
          "alone with \(args.dropLast()): status \(run.status); stderr:\n"
            + FuzzCampaign.crashSummary(run.stderr))
        continue
      }
      if run.status != expected {
        record(
          "exit-status", c, "alone with \(args.dropLast()) it exits \(run.status), not \(expected)")
      }
      switch mode {
      case 0:
        let again = OutputParser.parse(run, directory: directory.path)[c.id]?.block.map(
          BlockInfo.init)
        if again != block { record("determinism", c, "a second run printed another report") }
      case 1:
        if block?.stopped?.contains("state limit") == true,
          run.stdout.contains(where: { $0.contains(": pass (expect") })
        {
          record("limit-pass", c, "--quiet says pass for a run stopped by --max-states")
        }
      case 2:
        checkJSON(run, c, expected: expected, block: block)
      case 3:
        let stem = String(c.fileName.dropLast(5))
        for v in block?.verdicts ?? [] where v.status == "FAIL" {
          for ext in ["txt", "json"] {
            let f = traces.appendingPathComponent("\(stem).\(v.name).\(ext)").path
            if !FileManager.default.fileExists(atPath: f) {
              record("trace-files", c, "\(f) missing")
            }
          }
        }
      default:
        break
      }
    }
  }

  private mutating func checkJSON(
    _ run: ProcessOutcome, _ c: FuzzCase, expected: Int32, block: BlockInfo?
  ) {
    let data = Data(run.stdout.joined(separator: "\n").utf8)
    guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
      let specs = root["specs"] as? [[String: Any]], let code = root["exit_code"] as? Int
    else {
      record("json", c, "--json output is not a modelcheck.summary/1 object")
      return
    }
    if code != Int(run.status) {
      record("json", c, "exit_code \(code) but the status is \(run.status)")
    }
    guard let spec = specs.first, spec["error"] == nil else { return }
    let stopped = spec["stopped"] as? String
    let statuses = (spec["properties"] as? [[String: Any]] ?? []).map {
      "\($0["name"] ?? "")=\($0["status"] ?? "")"
    }
    if stopped?.contains("state limit") == true, statuses.contains(where: { $0.hasSuffix("=pass") })
    {
      record("limit-pass", c, "--json says pass for a run stopped by --max-states")
    }
    let text = (block?.verdicts ?? []).map { "\($0.name)=\($0.status.lowercased())" }
    if statuses != text { record("json", c, "JSON verdicts \(statuses) vs text \(text)") }
  }
}
