import Foundation
import Synchronization
import Testing

@testable import ModelCheck

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Stopping a run: SIGINT and SIGTERM (on the built executable, whose specs run in forked
/// children), `--max-time`, the progress line, output flushed after every spec, the exit
/// status of a run with several kinds of outcome, the tally, and old traces removed.
@Suite struct RunControlTests {
  /// A signal number the closures of a run share.
  final class Flag: Sendable {
    let value = Atomic<Int32>(0)
  }

  /// The benchmark workload: millions of states, many seconds even in a release build.
  static let longSpec = packageRoot.appendingPathComponent("Benchmarks/workload-default.spec")

  /// The executable running in the background, its output going to files.
  final class Background {
    let process = Process()
    let dir: TemporaryDirectory
    let outURL: URL
    let errURL: URL

    init(_ args: [String]) throws {
      dir = try TemporaryDirectory()
      outURL = dir.url.appendingPathComponent("out")
      errURL = dir.url.appendingPathComponent("err")
      _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
      _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
      process.executableURL = builtExecutable
      process.arguments = args
      var env = ProcessInfo.processInfo.environment
      env["SWIFT_BACKTRACE"] = "enable=no"
      process.environment = env
      process.standardOutput = try FileHandle(forWritingTo: outURL)
      process.standardError = try FileHandle(forWritingTo: errURL)
      try process.run()
    }

    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

    var out: String { (try? String(contentsOf: outURL, encoding: .utf8)) ?? "" }
    var err: String { (try? String(contentsOf: errURL, encoding: .utf8)) ?? "" }

    /// Waits until `condition` holds while the process still runs; false on a timeout or
    /// if it ended first.
    func wait(for seconds: Double, until condition: () -> Bool) -> Bool {
      let deadline = Date().addingTimeInterval(seconds)
      while Date() < deadline {
        if condition() { return process.isRunning }
        if !process.isRunning { return false }
        usleep(50_000)
      }
      return false
    }

    /// Waits for the process to end (killing it after `seconds`); its exit status, or nil
    /// if it had to be killed.
    func finish(within seconds: Double) -> Int32? {
      let deadline = Date().addingTimeInterval(seconds)
      while process.isRunning, Date() < deadline { usleep(50_000) }
      if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        return nil
      }
      return process.terminationReason == .exit ? process.terminationStatus : nil
    }
  }

  /// A directory of a quick passing spec, the long one, and another quick one.
  static func threeSpecs() throws -> (TemporaryDirectory, a: String, b: String, c: String) {
    let dir = try TemporaryDirectory()
    let a = try dir.write("a.spec", CommandLineTests.passing)
    let b = try dir.write("b.spec", try String(contentsOf: longSpec, encoding: .utf8))
    let c = try dir.write("c.spec", CommandLineTests.passing)
    return (dir, a, b, c)
  }

  @Test("SIGINT during a directory run: partial statistics, incomplete, rest not run, 130")
  func sigint() throws {
    let (dir, a, b, c) = try Self.threeSpecs()
    let junit = dir.url.appendingPathComponent("report/junit.xml").path
    let run = try Background(["--no-traces", "--progress", "--junit", junit, dir.url.path])
    // The first spec's report is in the file while the second still runs: flushed.
    let flushed = run.wait(for: 120) {
      run.out.contains("verdict: as expected") && run.err.contains("progress: \(b): ")
    }
    #expect(flushed, "\(run.out)\(run.err)")
    #expect(run.out.hasPrefix("modelcheck: \(a)\n"))
    // Only the parent is signalled (as by `kill PID`): it passes the signal on.
    kill(run.process.processIdentifier, SIGINT)
    let code = run.finish(within: 60)
    let out = run.out
    #expect(code == 130, "\(out)\(run.err)")
    #expect(out.contains("modelcheck: \(b) — benchmark"), "\(out)")
    #expect(out.contains("  INCOMPLETE: stopped by SIGINT; properties not yet violated"))
    for p in ["no_stale_read", "cmpxchg_terminates", "no_lost_dirty", "deadlock_free"] {
      #expect(out.contains("  incomplete \(p)\n"), "\(p)")
    }
    #expect(!out.contains("  pass       no_stale_read\n  incomplete"))
    #expect(out.contains(" states, "), "partial statistics")
    #expect(out.contains("not run: \(c) (stopped by SIGINT)\n"), "\(out)")
    #expect(out.hasSuffix("3 specs: 1 as expected, 0 differ, 2 incomplete (1 not run), 0 errors\n"))
    #expect(run.err.hasSuffix("modelcheck: stopped by SIGINT; 1 spec not run\n"), "\(run.err)")
    // The report is whole: written under a temporary name, then renamed.
    let xml = try String(contentsOfFile: junit, encoding: .utf8)
    #expect(xml.hasSuffix("</testsuites>\n"))
    #expect(xml.contains("<skipped message=\"incomplete: stopped by SIGINT; not verified\"/>"))
    #expect(xml.contains("<skipped message=\"not run: stopped by SIGINT\"/>"))
    let leftovers = try FileManager.default.contentsOfDirectory(
      atPath: dir.url.appendingPathComponent("report").path)
    #expect(leftovers == ["junit.xml"])
    try JUnitTests.validate(junit)
  }

  @Test("SIGTERM with --json: the summary says interrupted, counts every spec, exit 143")
  func sigterm() throws {
    let (dir, a, b, c) = try Self.threeSpecs()
    let run = try Background(["--no-traces", "--json", "--progress", dir.url.path])
    #expect(run.wait(for: 120) { run.err.contains("progress: \(b): ") }, "\(run.err)")
    run.process.terminate()  // SIGTERM
    let code = run.finish(within: 60)
    #expect(code == 143, "\(run.out)\(run.err)")
    let root = try #require(
      try JSONSerialization.jsonObject(with: Data(run.out.utf8)) as? [String: Any])
    #expect(root["exit_code"] as? Int == 143)
    #expect(root["interrupted"] as? String == "SIGTERM")
    let specs = try #require(root["specs"] as? [[String: Any]])
    #expect(specs.map { $0["path"] as? String } == [a, b, c])
    #expect(specs.map { $0["outcome"] as? String } == ["as_expected", "incomplete", "not_run"])
    #expect(specs[1]["stopped"] as? String == "stopped by SIGTERM")
    let statuses = (specs[1]["properties"] as? [[String: Any]])?.map { $0["status"] as? String }
    #expect(statuses == ["incomplete", "incomplete", "incomplete", "incomplete"])
    let counts = try #require(root["counts"] as? [String: Int])
    #expect(
      counts == [
        "specs": 3, "as_expected": 1, "differ": 0, "incomplete": 2, "not_run": 1, "errors": 0,
      ])
  }

  @Test("--max-time: a clean stop, incomplete (exit 3); no progress line off a terminal")
  func maxTime() throws {
    let r = try CommandLineTests.run(["--no-traces", "--max-time", "1.5", Self.longSpec.path])
    #expect(r.code == 3, "\(r.out)\(r.err)")
    #expect(r.out.contains("  INCOMPLETE: stopped at the time limit (--max-time 1.50s)"))
    #expect(r.out.contains("  incomplete no_stale_read\n"))
    #expect(r.out.contains("verdict: incomplete: no verdict differs"))
    #expect(!r.err.contains("progress:"), "\(r.err)")
    let quiet = try CommandLineTests.run(
      ["--no-traces", "--quiet", "--max-time", "1s", Self.longSpec.path])
    #expect(quiet.code == 3)
    #expect(quiet.out.hasPrefix("STOPPED  \(Self.longSpec.path): incomplete no_stale_read"))
  }

  @Test("the progress line: states, rate, queue, depth, memory; at a steady interval")
  func progressLine() throws {
    let r = try CommandLineTests.run(
      [
        "--no-traces", "--progress", "--no-por", "--no-symmetry", "--max-time", "4.5",
        Self.longSpec.path,
      ])
    let lines = r.err.split(separator: "\n").filter { $0.hasPrefix("progress: ") }
    // At 2 s and 4 s; the run (without the reductions, which shorten it) stops at 4.5 s.
    #expect(lines.count == 2, "\(r.err)")
    let shape =
      /progress: .*: (\d+) s, [\d,]+ states, [\d,]+ states\/s, queue [\d,]+, depth \d+, store [\d.]+ [KMG]?i?B(, peak RSS .*)?/
    for line in lines { #expect(line.wholeMatch(of: shape) != nil, "\(line)") }
    #expect(lines.compactMap { $0.wholeMatch(of: shape).map { Int($0.1) } } == [2, 4])
    let off = try CommandLineTests.run(
      [
        "--no-traces", "--quiet", "--progress", "--no-progress", "--max-time", "2.5",
        Self.longSpec.path,
      ])
    #expect(!off.err.contains("progress:"), "\(off.err)")
  }

  // MARK: In process

  /// Runs `Runner.run` in process; its exit status and everything it printed.
  static func runInProcess(
    _ args: [String], stopRequest: @escaping @Sendable () -> Int32 = { 0 }
  ) throws -> (Runner.ExitCode, out: String, err: String) {
    let options = try Options.parse(args)
    var out = ""
    var err = ""
    let code = Runner.run(
      options, out: { out += $0 }, err: { err += $0 }, stopRequest: stopRequest)
    return (code, out, err)
  }

  static let passesButExpectedToFail =
    "mode native\npte a = present\nexpect fail no_stale_read\ncpu c0 { set_pte(a, none) }\n"

  @Test("exit status: an interrupt, then 2, then 1, then 3, then 0")
  func precedence() throws {
    let dir = try TemporaryDirectory()
    let pass = try dir.write("1-pass.spec", CommandLineTests.passing)
    let limit = ["--no-traces", "--quiet", "--max-states", "3"]
    #expect(try Self.runInProcess(limit + [pass]).0 == .asExpected)
    let stopped = try dir.write(
      "2-stopped.spec", CommandLineTests.readBack(expect: "fail no_stale_read"))
    let r3 = try Self.runInProcess(limit + [pass, stopped])
    #expect(r3.0 == .incomplete, "\(r3.out)")
    #expect(r3.out.hasSuffix("2 specs: 1 as expected, 0 differ, 1 incomplete, 0 errors\n"))
    let differs = try dir.write("3-differs.spec", Self.passesButExpectedToFail)
    let r1 = try Self.runInProcess(limit + [pass, stopped, differs])
    #expect(r1.0 == .mismatch)
    #expect(r1.out.contains("MISMATCH \(differs): pass (expect fail no_stale_read)"))
    let broken = try dir.write("4-error.spec", "mode native\nexpect pass\ncpu c0 {\n  frob()\n}\n")
    let r2 = try Self.runInProcess(limit + [dir.url.path])
    #expect(r2.0 == .usageOrSpecError)
    #expect(r2.out.hasSuffix("4 specs: 1 as expected, 1 differ, 1 incomplete, 1 error\n"))
    // A spec error keeps its place in the one-line-per-spec output, with its location.
    let lines = r2.out.split(separator: "\n")
    #expect(lines.count == 5 && lines[3].hasPrefix("ERROR    \(broken):4:3: "), "\(r2.out)")
    // An interrupt wins over everything: once the first spec is printed, the rest are
    // not run.
    let signal = Flag()
    var out = ""
    let options = try Options.parse(limit + [pass, broken, differs])
    let code = Runner.run(
      options,
      out: {
        out += $0
        signal.value.store(SIGINT, ordering: .relaxed)
      }, err: { _ in }, stopRequest: { signal.value.load(ordering: .relaxed) })
    #expect(code == .interrupted, "\(out)")
    #expect(out.hasPrefix("ok       \(pass): pass"))
    #expect(out.contains("NOT RUN  \(differs): stopped by SIGINT before it started"))
    #expect(out.hasSuffix("3 specs: 1 as expected, 0 differ, 2 incomplete (2 not run), 0 errors\n"))
  }

  @Test("--json: a spec error's entry has its id and location; the counts match the tally")
  func jsonSpecError() throws {
    let dir = try TemporaryDirectory()
    let broken = try dir.write("e.spec", "mode native\nexpect pass\ncpu c0 {\n  frob()\n}\n")
    let missing = dir.url.appendingPathComponent("missing.spec").path
    let r = try Self.runInProcess(["--no-traces", "--json", broken, missing])
    #expect(r.0 == .usageOrSpecError)
    let root = try #require(
      try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
    let specs = try #require(root["specs"] as? [[String: Any]])
    #expect(specs.map { $0["path"] as? String } == [missing, broken])
    #expect(specs.map { $0["outcome"] as? String } == ["error", "error"])
    #expect(specs[1]["id"] as? String == "spec.unknown-name")
    #expect(specs[1]["location"] as? [String: Int] == ["line": 4, "column": 3])
    #expect(specs[0]["error"] as? String == "no such file or directory")
    #expect((root["counts"] as? [String: Int])?["errors"] == 2)
    #expect(root["interrupted"] is NSNull)
  }

  @Test("a property that passes now removes its old traces, only those this spec wrote")
  func staleTraces() throws {
    let dir = try TemporaryDirectory()
    let traces = dir.url.appendingPathComponent("traces").path
    let path = try dir.write(
      "read-back.spec", CommandLineTests.readBack(expect: "fail no_stale_read"))
    let stem = traces + "/read-back.no_stale_read"
    let first = try Self.runInProcess(["--output-dir", traces, path])
    #expect(first.0 == .asExpected, "\(first.out)")
    let written = ["txt", "json"].map { stem + "." + $0 }
    #expect(written.allSatisfy { FileManager.default.fileExists(atPath: $0) })
    // --no-traces touches no file.
    let fixed = CommandLineTests.readBack(expect: "pass").replacingOccurrences(
      of: "  pte = ptep_get(a)\n", with: "")
    try fixed.write(toFile: path, atomically: true, encoding: .utf8)
    _ = try Self.runInProcess(["--no-traces", "--output-dir", traces, path])
    #expect(written.allSatisfy { FileManager.default.fileExists(atPath: $0) })
    // A spec of the same name elsewhere: its traces are not this spec's to remove.
    let other = try TemporaryDirectory()
    let twin = try other.write("read-back.spec", fixed)
    let kept = try Self.runInProcess(["--output-dir", traces, twin])
    #expect(kept.0 == .asExpected)
    #expect(written.allSatisfy { FileManager.default.fileExists(atPath: $0) })
    #expect(!kept.out.contains("removed"))
    let second = try Self.runInProcess(["--output-dir", traces, path])
    #expect(second.0 == .asExpected, "\(second.out)")
    #expect(written.allSatisfy { !FileManager.default.fileExists(atPath: $0) })
    #expect(
      second.out.contains(
        "  no_stale_read passes now: removed its old trace \(stem).txt and \(stem).json\n"),
      "\(second.out)")
  }

  @Test("the explorer's periodic check: a progress report, a stop request, the time limit")
  func watch() throws {
    let text = CommandLineTests.readBack(expect: "pass")
    let seen = Mutex<[ExplorationProgress]>([])
    var limits = Limits(progress: { p in seen.withLock { $0.append(p) } })
    limits.progressInterval = 0
    let r = try check(text, limits: limits)
    // The check runs before the first expansion: one state, the initial one, queued.
    let first = seen.withLock { $0.first }
    #expect(first.map { [$0.states, $0.frontier, $0.depth, $0.transitions] } == [1, 1, 0, 0])
    #expect(r.stopReason == nil && r.statistics.states == 6)

    let asked = try check(text, limits: Limits(stopRequest: { SIGTERM }))
    #expect(asked.stopReason == .interrupted(signal: SIGTERM))
    #expect(asked.properties.allSatisfy { $0.status == .incomplete })
    #expect(asked.outcome == .incomplete)
    #expect(asked.stopReason?.message == "stopped by SIGTERM")

    let late = try check(text, limits: Limits(maxSeconds: 1e-9))
    #expect(late.stopReason == .timeLimit(1e-9))
    #expect(late.outcome == .incomplete && !late.matchesExpectation)
  }

  @Test("a graph pass stops at the time limit too: its verdict is incomplete")
  func graphPassStops() throws {
    // cmpxchg_terminates is decided after exploration; a stop asked then reaches it.
    let text = """
      mode native
      pte a = present
      check cmpxchg_terminates
      expect pass
      cpu c0 {
        var old, seen
        loop {
          old = ptep_get(a)
          seen = cmpxchg(a, old, old | dirty)
          if seen == old { break }
        }
      }

      """
    let file = SourceFile(path: "t.spec", text: text)
    let program = try Pipeline.compile(file)
    // Exploration polls once (before its first expansion), the graph pass next.
    let asked = Flag()
    let limits = Limits(stopRequest: {
      asked.value.add(1, ordering: .relaxed).newValue > 1 ? SIGINT : 0
    })
    let r = Pipeline.check(program, file: file, limits: limits)
    #expect(r.stopReason == .interrupted(signal: SIGINT))
    #expect(r.status(.cmpxchgTerminates) == .incomplete)
    #expect(r.result(.cmpxchgTerminates)?.details.last?.hasSuffix("stopped by SIGINT") == true)
  }
}
