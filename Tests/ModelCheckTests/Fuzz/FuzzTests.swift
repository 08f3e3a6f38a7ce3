import Foundation
import Testing

@testable import ModelCheck

/// A deterministic spec fuzzer. Inputs: mutations of the specs in Specs/ and generated
/// valid specs, all from a fixed-seed PRNG, each with a small `--max-states`. For every
/// input the built binary must not crash or hang, must exit 0, 1 or 2 as its output says,
/// must print every error as `file:line:col` with the source line and a caret under that
/// column, and must never print `pass` for a run stopped by a limit. Renaming identifiers,
/// CRLF line ends and reordering top-level declarations must change no verdict.
///
/// `MODELCHECK_FUZZ_COUNT` (default 1500) sets the number of base inputs, each with its
/// variants (the time budget grows with it); `MODELCHECK_FUZZ_SEED` picks another
/// sequence; `MODELCHECK_FUZZ_REPORT=path` writes every finding with its input to that file.
@Suite(.serialized) struct FuzzTests {
  static let environment = ProcessInfo.processInfo.environment
  static let count = environment["MODELCHECK_FUZZ_COUNT"].flatMap { Int($0) } ?? 1500
  static let seed = environment["MODELCHECK_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x6D63_6675_7A7A

  /// The specs of `Specs/`, each with the files it includes spliced in where it names them,
  /// and theirs in turn, each file once as `include` reads it (the fuzzer checks its inputs
  /// from a directory of its own, where relative includes would not resolve).
  static func corpus() throws -> [(path: String, text: String)] {
    try SpecSuiteTests.specFiles.map { rel in
      let url = packageRoot.appendingPathComponent("Specs").appendingPathComponent(rel)
      var seen: Set<String> = [url.standardizedFileURL.path]
      // The spec's own functions replace the library's of the same name: leave those out.
      let own = Set(
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").compactMap {
          functionName($0)
        })
      return ("Specs/" + rel, try spliced(url, &seen, replaced: own, top: true))
    }
  }

  /// The name of the function a line starts to define (`fn name(...`), if any.
  static func functionName(_ line: Substring) -> String? {
    guard line.hasPrefix("fn "), let paren = line.firstIndex(of: "(") else { return nil }
    return String(line[line.index(line.startIndex, offsetBy: 3)..<paren])
  }

  static func spliced(
    _ url: URL, _ seen: inout Set<String>, replaced: Set<String>, top: Bool = false
  ) throws -> String {
    var lines: [String] = []
    var skipping = false  // inside a library function the spec replaces, up to its `}`
    for line in try String(contentsOf: url, encoding: .utf8).split(
      separator: "\n", omittingEmptySubsequences: false)
    {
      if skipping {
        if line.hasPrefix("}") { skipping = false }
        continue
      }
      if !top, let name = functionName(line), replaced.contains(name) {
        skipping = !line.hasSuffix("}")
        continue
      }
      if line.hasPrefix("include \""), let end = line.dropFirst(9).firstIndex(of: "\"") {
        let path = String(line[line.index(line.startIndex, offsetBy: 9)..<end])
        let included = url.deletingLastPathComponent().appendingPathComponent(path)
        if seen.insert(included.standardizedFileURL.path).inserted {
          lines.append(try spliced(included, &seen, replaced: replaced))
        }
      } else {
        lines.append(String(line))
      }
    }
    return lines.joined(separator: "\n")
  }

  /// Every input of one run: the corpus with its variants, then `count` base inputs
  /// (two mutants for each generated spec) with theirs.
  static func cases(count: Int, seed: UInt64) throws -> [FuzzCase] {
    let corpus = try corpus()
    var cases: [FuzzCase] = []
    func add(
      _ text: String, _ origin: String, bytes: [UInt8]? = nil, maxStates: Int, mustCompile: Bool,
      family: Int? = nil, _ variant: FuzzCase.Variant = .base
    ) -> Int {
      let id = cases.count
      cases.append(
        FuzzCase(
          id: id, bytes: bytes ?? Array(text.utf8), origin: origin, maxStates: maxStates,
          mustCompile: mustCompile, family: family ?? id, variant: variant))
      return id
    }
    for (k, spec) in corpus.enumerated() {
      var rng = SplitMix64(seed: seed, index: -1 - k)
      let f = add(spec.text, spec.path, maxStates: 100_000, mustCompile: true)
      _ = add(
        Metamorphic.rename(spec.text, salt: k), "\(spec.path), renamed", maxStates: 100_000,
        mustCompile: true, family: f, .renamed)
      _ = add(
        Metamorphic.crlf(spec.text), "\(spec.path), CRLF", maxStates: 100_000, mustCompile: true,
        family: f, .crlf)
      let chunks = Metamorphic.topLevelChunks(spec.text)
      for r in 0..<2 {
        _ = add(
          Metamorphic.reorder(chunks, rng: &rng), "\(spec.path), reordered #\(r)",
          maxStates: 100_000, mustCompile: true, family: f, .reordered)
      }
    }
    for index in 0..<count {
      var rng = SplitMix64(seed: seed, index: index)
      let origin = "seed \(seed) index \(index)"
      if index % 3 == 2 {
        var generator = SpecGenerator(rng: rng)
        let items = generator.generate()
        rng = generator.rng
        let text = items.joined(separator: "\n") + "\n"
        let limit = rng.pick([12, 60, 400, 3000, 3000])
        let f = add(text, "\(origin): generated", maxStates: limit, mustCompile: true)
        _ = add(
          Metamorphic.rename(text, salt: index), "\(origin): generated, renamed", maxStates: limit,
          mustCompile: true, family: f, .renamed)
        var shuffled = items
        rng.shuffle(&shuffled)
        _ = add(
          shuffled.joined(separator: "\n") + "\n", "\(origin): generated, reordered",
          maxStates: limit, mustCompile: true, family: f, .reordered)
        if index % 8 == 5 {
          _ = add(
            Metamorphic.crlf(text), "\(origin): generated, CRLF", maxStates: limit,
            mustCompile: true,
            family: f, .crlf)
        }
        continue
      }
      let source = rng.pick(corpus)
      var text = source.text.scalars
      var ops: [String] = []
      for _ in 0..<5 {
        var attempt = source.text.scalars
        ops = Mutator.mutate(&attempt, rng: &rng)
        if Mutator.repeatsAreTame(attempt) {
          text = attempt
          break
        }
      }
      let mutated = String(scalars: text)
      let description = "\(origin): mutant of \(source.path): " + ops.joined(separator: "; ")
      let limit = rng.pick([10, 100, 2000])
      var bytes = Array(mutated.utf8)
      if rng.chance(2) {  // not UTF-8 at all
        bytes.insert(rng.pick([0xFF, 0xC3, 0x80, 0xED]), at: rng.below(bytes.count + 1))
        _ = add(
          mutated, description + "; a byte that is not UTF-8", bytes: bytes, maxStates: limit,
          mustCompile: false)
        continue
      }
      let f = add(mutated, description, maxStates: limit, mustCompile: false)
      if rng.chance(35) {
        _ = add(
          Metamorphic.rename(mutated, salt: index), description + ", renamed", maxStates: limit,
          mustCompile: false, family: f, .renamed)
      }
      if rng.chance(10) {
        _ = add(
          Metamorphic.crlf(mutated), description + ", CRLF", maxStates: limit, mustCompile: false,
          family: f, .crlf)
      }
    }
    return cases
  }

  @Test("fuzzed and generated specs: no crash, documented exits, carets, limits, metamorphic")
  func fuzz() throws {
    guard let binary = modelcheckBinary() else {
      Issue.record("no .build/debug/modelcheck: run `swift build` (or `swift test`) first")
      return
    }
    let cases = try Self.cases(count: Self.count, seed: Self.seed)
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("modelcheck-fuzz-\(ProcessInfo.processInfo.processIdentifier)")
    try? FileManager.default.removeItem(at: directory)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }

    // The budget only stops a runaway (each run has its own timeout for a hang). On a slow
    // 2-core machine, beside the other suites, the whole campaign took 190-310 s.
    let budget = 600 + 0.2 * Double(Self.count)
    var campaign = try FuzzCampaign(
      binary: binary, directory: directory, cases: cases, budget: budget)
    campaign.runAll()
    campaign.checkAll()
    campaign.checkFamilies()
    campaign.runSamples(every: 20)
    report(campaign)
  }

  /// One issue per kind of finding (with its first example), so a bug that thousands of
  /// inputs hit reads as one failure; known bugs are marked as such.
  func report(_ campaign: FuzzCampaign) {
    let byID = Dictionary(uniqueKeysWithValues: campaign.cases.map { ($0.id, $0) })
    var groups: [String: [Finding]] = [:]
    var order: [String] = []
    for f in campaign.findings {
      let key = f.check + "\u{0}" + (KnownFuzzBugs.classify(f, byID[f.caseID]!) ?? "")
      if groups[key] == nil { order.append(key) }
      groups[key, default: []].append(f)
    }
    var log =
      "modelcheck fuzz: seed \(Self.seed), \(campaign.cases.count) inputs, "
      + "\(campaign.processes) processes, \(campaign.findings.count) findings\n"
      + campaign.statistics() + "\n"
    for key in order {
      let list = groups[key]!
      let parts = key.split(separator: "\u{0}", omittingEmptySubsequences: false)
      let known = parts[1].isEmpty ? nil : String(parts[1])
      let first = list[0]
      let c = byID[first.caseID]!
      let message =
        "\(list.count) input(s) fail the '\(first.check)' check"
        + (known.map { " (known bug: \($0))" } ?? "") + ". First: input #\(c.id), \(c.origin)\n"
        + first.detail + "\ninput: "
        + String(decoding: c.bytes.prefix(1500), as: UTF8.self).debugDescription
      if let known {
        withKnownIssue(Comment(rawValue: known)) { Issue.record(Comment(rawValue: message)) }
      } else {
        Issue.record(Comment(rawValue: message))
      }
      for f in list {
        let c = byID[f.caseID]!
        log +=
          "\n[\(f.check)] \(known ?? "NEW") #\(c.id) \(c.origin)\n\(f.detail)\ninput: "
          + String(decoding: c.bytes, as: UTF8.self).debugDescription + "\n"
      }
    }
    if let path = Self.environment["MODELCHECK_FUZZ_REPORT"] {
      try? log.write(toFile: path, atomically: true, encoding: .utf8)
    }
  }
}

/// Bugs the fuzzer finds today that others are fixing. Each matches only the check and
/// the kind of input it is about; remove an entry once its bug is fixed.
enum KnownFuzzBugs {
  static func classify(_ f: Finding, _ c: FuzzCase) -> String? {
    // None today: the CRLF snippets, the unlocated initial-state fault and the explanation
    // traps for CPUs without programs that this list held are fixed. A new entry names the
    // check and the kind of input, with a comment saying which bug it is.
    nil
  }
}

/// The command line, fuzzed the same way: argument vectors built from valid and invalid
/// pieces, each with the `Options` it must parse to, or none when it must be refused.
@Suite struct OptionsFuzzTests {
  /// One vector: the arguments, the expected options (nil: a usage error), and the first
  /// invalid piece (for the report).
  static func vector(_ rng: inout SplitMix64, spec: String, directory: String) -> (
    [String], Options?, String?
  ) {
    var args: [String] = []
    var o = Options()
    var invalid: String?
    func refuse(_ piece: String) { if invalid == nil { invalid = piece } }
    for _ in 0..<rng.range(0...5) {
      switch rng.below(16) {
      case 0:
        args.append(rng.pick(["--quiet", "-q"]))
        o.quiet = true
      case 1:
        args.append("--json")
        o.json = true
      case 2:
        args.append("--no-traces")
        o.writeTraces = false
      case 3:
        args.append("--show-run")
        o.showRun = true
      case 4:
        args.append(rng.pick(["--help", "-h"]))
        o.showHelp = true
      case 5:
        args.append("--version")
        o.showVersion = true
      case 6:
        let n = rng.pick([1, 2, 10, 1000, 1 << 40])
        args += rng.chance(50) ? ["--max-states", "\(n)"] : ["--max-states=\(n)"]
        o.maxStates = n
      case 7:
        let (text, bytes) = rng.pick([
          ("512M", 512 << 20), ("4G", 4 << 30), ("100k", 100 << 10), ("1000", 1000),
        ])
        args += rng.chance(50) ? ["--max-memory", text] : ["--max-memory=\(text)"]
        o.maxMemoryBytes = bytes
      case 8:
        let dir = directory + "/out\(rng.below(3))"
        args += rng.chance(50) ? ["--output-dir", dir] : ["--output-dir=\(dir)"]
        o.outputDirectory = dir
      case 9, 10:
        let p = rng.pick([spec, directory])
        args.append(p)
        o.paths.append(SpecPath(p))
      case 11:
        let bad = rng.pick(["--frobnicate", "-x", "--max", "--Quiet", "---json", "-qq"])
        args.append(bad)
        refuse(bad)
      case 12:
        let bad = rng.pick(["0", "-3", "1.5", "ten", "", "99999999999999999999", "0x10"])
        args += ["--max-states", bad]
        refuse("--max-states " + bad.debugDescription)
      case 13:
        let bad = rng.pick(["0", "lots", "G", "-1M", "1.5G", "9999999999999999999G", ""])
        args.append("--max-memory=" + bad)
        refuse("--max-memory=" + bad)
      case 14:
        // A flag that takes no value, given one; an empty output directory.
        let bad = rng.pick([
          "--quiet=yes", "--json=false", "--no-traces=0", "--show-run=1", "--=x",
          "--output-dir=",
        ])
        args.append(bad)
        refuse(bad)
      default:
        if rng.chance(50) {  // a value missing at the end
          let flag = rng.pick(["--max-states", "--max-memory", "--output-dir"])
          return (args + [flag], nil, invalid ?? flag)
        }
      }
    }
    if rng.chance(15) {
      // After `--` everything is a path, even what looks like a flag.
      args += ["--", spec]
      o.paths.append(SpecPath(spec))
    }
    if o.paths.isEmpty, !o.showHelp, !o.showVersion { refuse("(no spec)") }
    return (args, invalid == nil ? o : nil, invalid)
  }

  @Test("random argument vectors parse to the options they spell, or are refused")
  func parse() throws {
    var rng = SplitMix64(seed: FuzzTests.seed, index: -1000)
    var findings: [(String, String)] = []
    for _ in 0..<max(FuzzTests.count, 200) {
      let (args, expected, bad) = Self.vector(&rng, spec: "a.spec", directory: "dir")
      let got = try? Options.parse(args)
      if let expected, got != expected {
        findings.append(
          ("", "\(args) parses to \(got.map { "\($0)" } ?? "a usage error"), not \(expected)"))
      } else if expected == nil, let got {
        findings.append(
          (bad ?? "", "\(args) is accepted (as \(got)), but \(bad ?? "?") is invalid"))
      }
    }
    // A flag that takes no value silently drops one (`--quiet=yes`; `--=x` even starts
    // the paths), and `--output-dir=` is taken as an empty directory: the known option
    // parsing bug, being fixed with the option parser.
    let knownBad: Set<String> = [
      "--quiet=yes", "--json=false", "--no-traces=0", "--show-run=1", "--=x", "--output-dir=",
    ]
    let known = findings.filter { knownBad.contains($0.0) }.map(\.1)
    if !known.isEmpty {
      withKnownIssue("option parsing: '=value' on a flag without one, empty --output-dir") {
        Issue.record(
          Comment(
            rawValue: "\(known.count) vectors, e.g.\n" + known.prefix(3).joined(separator: "\n")))
      }
    }
    for (_, message) in findings.filter({ !knownBad.contains($0.0) }).prefix(20) {
      Issue.record(Comment(rawValue: message))
    }
  }

  @Test("the binary exits 0, 1 or 2 for any argument vector, 2 exactly when they are refused")
  func binary() throws {
    guard let binary = modelcheckBinary() else {
      Issue.record("no .build/debug/modelcheck: run `swift build` (or `swift test`) first")
      return
    }
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("modelcheck-options-\(ProcessInfo.processInfo.processIdentifier)")
    try? FileManager.default.removeItem(at: directory)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let spec = directory.appendingPathComponent("one.spec")
    try FileManager.default.copyItem(
      at: packageRoot.appendingPathComponent("Specs/read-hazard/read-back-direct.spec"), to: spec)
    var rng = SplitMix64(seed: FuzzTests.seed, index: -2000)
    for _ in 0..<max(FuzzTests.count / 25, 40) {
      let (args, _, _) = Self.vector(&rng, spec: spec.path, directory: directory.path)
      let refused = (try? Options.parse(args)) == nil
      let run = runProcess(binary, args, timeout: 30, scratch: directory)
      if run.died {
        let how = "status \(run.status), signal \(run.signaled), timeout \(run.timedOut)"
        Issue.record("modelcheck \(args): \(how)")
      } else if refused,
        run.status != 2 || run.stderr.first?.hasPrefix("modelcheck: error: ") != true
      {
        Issue.record("modelcheck \(args): refused by Options.parse but exits \(run.status)")
      }
    }
  }
}
