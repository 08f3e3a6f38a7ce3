import Foundation
import Testing

@testable import ModelCheck

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The built `modelcheck` executable, run as a user runs it: exit statuses, a crash that
/// ends only its spec, limits, and spec files whose names are not UTF-8 (signals, the time
/// limit and progress: `RunControlTests`).
@Suite struct CommandLineTests {
  struct Run {
    var code: Int32
    var out: String
    var err: String
  }

  /// Runs `executable` with `args`; output goes through files (no pipe to fill up).
  static func run(
    _ args: [String], environment: [String: String] = [:], executable: URL = builtExecutable
  ) throws -> Run {
    let dir = try TemporaryDirectory()
    let outURL = dir.url.appendingPathComponent("out")
    let errURL = dir.url.appendingPathComponent("err")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    let process = Process()
    process.executableURL = executable
    process.arguments = args
    // No backtrace from the crash hook: quicker, and nothing to read through.
    var env = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    env["SWIFT_BACKTRACE"] = "enable=no"
    process.environment = env
    process.standardOutput = try FileHandle(forWritingTo: outURL)
    process.standardError = try FileHandle(forWritingTo: errURL)
    try process.run()
    process.waitUntilExit()
    return Run(
      code: process.terminationStatus, out: try String(contentsOf: outURL, encoding: .utf8),
      err: try String(contentsOf: errURL, encoding: .utf8))
  }

  static let passing = "mode native\npte a = present\nexpect pass\ncpu c0 { set_pte(a, none) }\n"
  /// Fails `no_stale_read` (a read back inside a lazy section) in 4 steps, 6 states.
  static func readBack(expect: String, checks: String = "no_stale_read") -> String {
    """
    mode direct
    pte a = present | pfn(1)
    lock ptl protects a
    check \(checks)
    expect \(expect)
    cpu cpu0 {
      var pte
      spin_lock(ptl)
      arch_enter_lazy_mmu_mode()
      set_pte(a, present | write | pfn(2))
      pte = ptep_get(a)
      arch_leave_lazy_mmu_mode()
      spin_unlock(ptl)
    }

    """
  }

  @Test("the executable was built") func executableExists() {
    let path = builtExecutable.path
    #expect(FileManager.default.isExecutableFile(atPath: path), "\(path)")
  }

  @Test("exit 0: every verdict as expected") func exitZero() throws {
    let dir = try TemporaryDirectory()
    let path = try dir.write("pass.spec", Self.passing)
    let r = try Self.run(["--no-traces", path])
    #expect(r.code == 0, "\(r.err)")
    #expect(r.out.contains("verdict: as expected"))
  }

  @Test("exit 1: a verdict differs from the expectation") func exitOne() throws {
    let dir = try TemporaryDirectory()
    let path = try dir.write("mismatch.spec", Self.readBack(expect: "pass"))
    let r = try Self.run(["--no-traces", "--quiet", path])
    #expect(r.code == 1, "\(r.err)")
    #expect(r.out.hasPrefix("MISMATCH \(path): FAIL no_stale_read"), "\(r.out)")
  }

  @Test("exit 2: a spec error, with its line and caret") func exitTwoSpecError() throws {
    let dir = try TemporaryDirectory()
    let text = "mode native\nexpect pass\ncpu c0 {\n  spin_unlock(ptl)\n}\n"
    let path = try dir.write("error.spec", text)
    let r = try Self.run(["--no-traces", path])
    #expect(r.code == 2)
    let first = "\(path):4:15: error: unknown lock 'ptl' [spec.unknown-name]\n"
    #expect(r.err.hasPrefix(first), "\(r.err)")
    #expect(r.err.contains("  |               ^~~"), "\(r.err)")
  }

  @Test(
    "exit 2: a usage error",
    arguments: [["--quiet=1", "x.spec"], ["--output-dir", "", "x.spec"], []])
  func exitTwoUsage(_ args: [String]) throws {
    let r = try Self.run(args)
    #expect(r.code == 2)
    #expect(r.err.hasPrefix("modelcheck: error: "), "\(r.err)")
    #expect(r.out.isEmpty)
  }

  @Test("a crash ends only its spec: the others are checked, and the exit status is 2")
  func crashIsIsolated() throws {
    let dir = try TemporaryDirectory()
    let a = try dir.write("a.spec", Self.passing)
    let b = try dir.write("b.spec", Self.passing)
    let c = try dir.write("c.spec", Self.readBack(expect: "fail no_stale_read"))
    let hook = [Runner.crashHook: "/b.spec"]
    let text = try Self.run(["--no-traces", dir.url.path], environment: hook)
    #expect(text.code == 2)
    #expect(text.out.contains("modelcheck: \(a)\n"), "\(text.out)")
    #expect(text.out.contains("modelcheck: \(c)\n"), "\(text.out)")
    #expect(!text.out.contains(b))
    let line = "\(b): error: internal error: the checker crashed (signal "
    #expect(text.err.contains(line), "\(text.err)")
    #expect(text.err.contains(") while checking this spec; please report it [check.internal]\n"))

    let quiet = try Self.run(["--no-traces", "--quiet", dir.url.path], environment: hook)
    let lines = quiet.out.split(separator: "\n")
    #expect(quiet.code == 2)
    // One line per spec, then the tally.
    #expect(lines.count == 4, "\(quiet.out)")
    #expect(lines.count == 4 && lines[0].hasPrefix("ok       \(a): pass"))
    let crashed = "ERROR    \(b): internal error: the checker crashed (signal "
    #expect(lines.count == 4 && lines[1].hasPrefix(crashed))
    #expect(lines.count == 4 && lines[2].hasPrefix("ok       \(c): FAIL no_stale_read"))
    #expect(lines.last == "3 specs: 2 as expected, 0 differ, 0 incomplete, 1 error")

    let json = try Self.run(["--no-traces", "--json", dir.url.path], environment: hook)
    let summary = try #require(
      try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any])
    let specs = try #require(summary["specs"] as? [[String: Any]])
    #expect(json.code == 2)
    #expect(summary["exit_code"] as? Int == 2)
    #expect(specs.map { $0["path"] as? String } == [a, b, c])
    let error = specs[1]["error"] as? String
    #expect(error?.hasPrefix("internal error: the checker crashed (signal ") == true)
    #expect(specs[0]["as_expected"] as? Bool == true && specs[2]["as_expected"] as? Bool == true)
  }

  @Test("a child's outcome survives the pipe; a truncated one is no outcome")
  func isolationMessage() throws {
    let entry = JSON.object([("path", .string("a\u{FFFD}.spec")), ("n", .array([.int(1), .null]))])
    var o = SpecOutcome(summary: entry, code: .mismatch)
    o.err("warning\n")
    o.out("report\n")
    let bytes = Isolation.encode(o)
    let back = try #require(Isolation.decode(bytes))
    #expect(back.output.map { "\($0.0)\($0.1)" } == ["err" + "warning\n", "out" + "report\n"])
    #expect(back.code == .mismatch)
    // Placed where the summary puts it, the entry reads as it did before the pipe.
    let summary = { (e: JSON) in JSON.object([("specs", .array([e]))]).serialized() }
    #expect(summary(try #require(back.summary)) == summary(entry))
    #expect(Isolation.decode(Array(bytes.dropLast())) == nil)
    #expect(Isolation.decode([]) == nil)
  }

  @Test("without the hook the same directory is as expected")
  func noCrashWithoutHook() throws {
    let dir = try TemporaryDirectory()
    _ = try dir.write("a.spec", Self.passing)
    _ = try dir.write("b.spec", Self.passing)
    let r = try Self.run(["--no-traces", "--quiet", dir.url.path])
    #expect(r.code == 0, "\(r.out)\(r.err)")
    #expect(r.out.split(separator: "\n").count == 3)
    #expect(r.out.hasSuffix("\n2 specs: 2 as expected, 0 differ, 0 incomplete, 0 errors\n"))
  }

  @Test("--fingerprint: the same verdict and trace, the chance printed; a graph property: exit 3")
  func fingerprints() throws {
    let dir = try TemporaryDirectory()
    let path = try dir.write("fp.spec", Self.readBack(expect: "fail no_stale_read"))
    let out = dir.url.appendingPathComponent("traces").path
    let exact = try Self.run(["--output-dir", out + "-exact", path])
    let hashed = try Self.run(["--fingerprint", "--output-dir", out, path])
    #expect(hashed.code == 0, "\(hashed.out)")
    #expect(hashed.out.contains("FAIL       no_stale_read (counterexample: 4 steps)"))
    #expect(hashed.out.contains("the chance that a state was missed is at most"))
    // The rebuilt trace is the exact search's, step for step.
    let name = "/fp.no_stale_read.txt"
    let steps = { (text: String) in text.split(separator: "\n").filter { $0.contains("cpu0") } }
    let a = try String(contentsOfFile: out + "-exact" + name, encoding: .utf8)
    let b = try String(contentsOfFile: out + name, encoding: .utf8)
    #expect(!steps(a).isEmpty && steps(a) == steps(b))
    #expect(exact.code == 0)
    // terminates reads every stored state: never decided under fingerprints.
    let loop = try dir.write(
      "loop.spec", Self.readBack(expect: "pass", checks: "deadlock_free, terminates"))
    let graph = try Self.run(["--no-traces", "--fingerprint", loop])
    #expect(graph.code == 3, "\(graph.out)")
    #expect(graph.out.contains("incomplete terminates"))
    #expect(graph.out.contains("not decided with --fingerprint"))
    let clash = try Self.run(["--fingerprint", "--coverage", loop])
    #expect(clash.code == 2 && clash.err.contains("cannot go with --fingerprint"), "\(clash.err)")
  }

  @Test("a limit after every property failed as expected: exit 0; before: exit 3")
  func limits() throws {
    let dir = try TemporaryDirectory()
    let path = try dir.write("limit.spec", Self.readBack(expect: "fail no_stale_read"))
    // The witness is found while expanding the 4th state, which would add a 5th.
    let after = try Self.run(["--no-traces", "--max-states", "4", path])
    #expect(after.code == 0, "\(after.out)")
    #expect(after.out.contains("after every checked property had failed: the verdicts are final"))
    #expect(after.out.contains("verdict: as expected"))
    let before = try Self.run(["--no-traces", "--max-states", "3", path])
    // Nothing differs, but no_stale_read has no verdict: incomplete, never a pass.
    #expect(before.code == 3, "\(before.out)")
    #expect(before.out.contains("incomplete no_stale_read"))
    #expect(before.out.contains("verdict: incomplete: no verdict differs"))
    // deadlock_free has no witness when the limit stops the run: incomplete, never a pass.
    let both = Self.readBack(expect: "fail no_stale_read", checks: "no_stale_read, deadlock_free")
    let other = try dir.write("other.spec", both)
    let partly = try Self.run(["--no-traces", "--max-states", "4", other])
    #expect(partly.code == 3, "\(partly.out)")
    #expect(partly.out.contains("incomplete deadlock_free"))
    #expect(partly.out.hasSuffix("1 spec: 0 as expected, 0 differ, 1 incomplete, 0 errors\n"))
  }

  @Test("a spec whose file name is not UTF-8 is checked, found in a directory or named")
  func nonUTF8Name() throws {
    let dir = try TemporaryDirectory()
    let name = Array(dir.url.path.utf8) + Array("/bad".utf8) + [0xFF] + Array(".spec".utf8)
    try dir.writeRaw(name, Self.passing)
    let found = try Self.run(["--no-traces", "--quiet", dir.url.path])
    #expect(found.code == 0, "\(found.out)\(found.err)")
    #expect(found.out.hasPrefix("ok       \(dir.url.path)/bad\u{FFFD}.spec: pass"), "\(found.out)")
    // The shell passes the name's bytes as they are (Process takes Strings).
    let script = #"exec "$0" --no-traces --quiet "$(printf '%s/bad\377.spec' "$1")""#
    let shell = URL(fileURLWithPath: "/bin/sh")
    let named = try Self.run(["-c", script, builtExecutable.path, dir.url.path], executable: shell)
    #expect(named.code == 0, "\(named.out)\(named.err)")
    #expect(named.out.hasPrefix("ok       \(dir.url.path)/bad\u{FFFD}.spec: pass"), "\(named.out)")
    // In process too: the runner opens the bytes it is given.
    var out = ""
    let options = try Options.parse(arguments: [Array("--no-traces".utf8), name])
    #expect(Runner.run(options, out: { out += $0 }, err: { out += $0 }) == .asExpected, "\(out)")
  }
}

/// A fresh directory under the system's temporary directory, removed when released.
final class TemporaryDirectory {
  let url: URL

  init() throws {
    url = FileManager.default.temporaryDirectory
      .appendingPathComponent("modelcheck-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  }

  deinit { try? FileManager.default.removeItem(at: url) }

  /// Writes `text` to `name` in the directory; returns the file's path.
  func write(_ name: String, _ text: String) throws -> String {
    let path = url.appendingPathComponent(name).path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  /// Writes `text` to the file at the path `bytes`, which need not be UTF-8.
  func writeRaw(_ bytes: [UInt8], _ text: String) throws {
    let fd = (bytes + [0]).withUnsafeBufferPointer { b in
      b.withMemoryRebound(to: CChar.self) {
        open($0.baseAddress!, O_CREAT | O_WRONLY | O_TRUNC, 0o644)
      }
    }
    guard fd >= 0 else { throw CocoaError(.fileWriteUnknown) }
    let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    try handle.write(contentsOf: Data(text.utf8))
  }
}
