import Foundation

// Runs fuzz inputs through the built `modelcheck` binary and reads its output back. The
// binary, not the library in-process, so that a trap or a hang is a finding about one
// input rather than the end of the test run. Inputs go in batches (one process checks
// many files, as `modelcheck Specs/` does); a batch that dies is split in halves until the
// input that kills it is alone.

/// One input of the fuzzer.
struct FuzzCase {
  enum Variant: String { case base, renamed, reordered, crlf }
  var id: Int
  var bytes: [UInt8]
  /// How the input was made, enough to rebuild it.
  var origin: String
  var maxStates: Int
  /// Generated valid or taken from Specs/: must compile.
  var mustCompile: Bool
  /// The base input this one is a variant of (its own id for a base).
  var family: Int
  var variant: Variant

  var fileName: String {
    String(repeating: "0", count: max(0, 6 - String(id).count)) + "\(id).spec"
  }
  /// The text as the runner decodes it (nil: not UTF-8).
  var text: String? { String(data: Data(bytes), encoding: .utf8) }
}

struct ProcessOutcome {
  var status: Int32
  var signaled: Bool
  var timedOut: Bool
  var stdout: [String]
  var stderr: [String]
  /// A run that says nothing about the inputs: killed, timed out or an undocumented status.
  var died: Bool { signaled || timedOut || !(0...3).contains(status) }
}

/// The `modelcheck` built next to this test bundle (so `swift test -c release` uses the
/// release one), else `.build/debug/modelcheck`.
func modelcheckBinary() -> URL? {
  let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    .appendingPathComponent("modelcheck")
  let debug = packageRoot.appendingPathComponent(".build/debug/modelcheck")
  return [beside, debug].first { FileManager.default.isExecutableFile(atPath: $0.path) }
}

/// Splits output into lines at LF bytes (a CR is part of its line, as in the source).
func byteLines(_ data: Data) -> [String] {
  var lines = data.split(separator: 0x0A, omittingEmptySubsequences: false).map {
    String(decoding: $0, as: UTF8.self)
  }
  if lines.last == "" { lines.removeLast() }
  return lines
}

func runProcess(_ binary: URL, _ args: [String], timeout: Double, scratch: URL) -> ProcessOutcome {
  let out = scratch.appendingPathComponent("stdout.txt")
  let err = scratch.appendingPathComponent("stderr.txt")
  FileManager.default.createFile(atPath: out.path, contents: nil)
  FileManager.default.createFile(atPath: err.path, contents: nil)
  let p = Process()
  p.executableURL = binary
  p.arguments = args
  // The crash report names the function that trapped; never wait for a debugger.
  var env = ProcessInfo.processInfo.environment
  env["SWIFT_BACKTRACE"] = "enable=yes,interactive=no"
  p.environment = env
  guard let outHandle = FileHandle(forWritingAtPath: out.path),
    let errHandle = FileHandle(forWritingAtPath: err.path)
  else {
    return ProcessOutcome(status: -1, signaled: false, timedOut: false, stdout: [], stderr: [])
  }
  p.standardOutput = outHandle
  p.standardError = errHandle
  do { try p.run() } catch {
    return ProcessOutcome(
      status: -1, signaled: false, timedOut: false, stdout: [], stderr: ["\(error)"])
  }
  let deadline = Date().addingTimeInterval(timeout)
  var timedOut = false
  while p.isRunning {
    if Date() > deadline {
      timedOut = true
      p.terminate()
      usleep(200_000)
      if p.isRunning { kill(p.processIdentifier, SIGKILL) }
      break
    }
    usleep(1_000)
  }
  p.waitUntilExit()
  try? outHandle.close()
  try? errHandle.close()
  let stdout = byteLines((try? Data(contentsOf: out)) ?? Data())
  let stderr = byteLines((try? Data(contentsOf: err)) ?? Data())
  return ProcessOutcome(
    status: p.terminationStatus, signaled: p.terminationReason == .uncaughtSignal,
    timedOut: timedOut, stdout: stdout, stderr: stderr)
}

// MARK: Reading the output back

/// What the runner said about one spec file.
struct SpecOutput {
  struct Message {
    var line: Int?
    var column: Int?
    var severity: String
    var text: String
    var id: String?
    /// The lines printed after it up to the next message: the snippet and caret.
    var following: [String] = []
  }
  var messages: [Message] = []
  /// Its section of the text report (summary, counterexamples), if it compiled.
  var block: [String]?

  var errors: [Message] { messages.filter { $0.severity == "error" } }
  var compileErrors: [Message] {
    errors.filter { $0.id != "check.runtime-fault" }
  }
  var runtimeFault: Message? { errors.first { $0.id == "check.runtime-fault" } }
}

/// The parsed summary block of one spec.
struct BlockInfo: Equatable {
  struct Verdict: Equatable {
    var name: String
    var status: String
    var steps: Int?
  }
  var verdicts: [Verdict] = []
  var states: Int?
  var transitions: Int?
  var depth: Int?
  var stopped: String?
  /// The run used partial-order reduction (its counts depend on the program order).
  var reduced = false
  var verdictLine: String?
  var failTables: [String] = []
  var whyLines = 0

  init(_ lines: [String]) {
    var inSummary = true
    for line in lines {
      if inSummary, let v = BlockInfo.verdict(line) {
        verdicts.append(v)
      } else if inSummary, line.hasPrefix("  "), line.contains(" states, "),
        line.contains(" transitions, depth ")
      {
        // "  1,234 states, 5,678 transitions, depth 5, ...": grouped numbers have no space.
        let fields = line.dropFirst(2).components(separatedBy: ", ")
        func number(_ s: String) -> Int? {
          Int(s.prefix { $0.isNumber || $0 == "," }.replacingOccurrences(of: ",", with: ""))
        }
        states = number(fields[0])
        transitions = fields.count > 1 ? number(fields[1]) : nil
        depth = fields.count > 2 ? number(String(fields[2].dropFirst("depth ".count))) : nil
        inSummary = false
      } else if line.hasPrefix("  partial-order reduction: "), !line.contains(": off") {
        reduced = true
      } else if line.hasPrefix("  INCOMPLETE: ") {
        stopped = String(line.dropFirst("  INCOMPLETE: ".count))
      } else if line.hasPrefix("  verdict: ") {
        verdictLine = String(line.dropFirst("  verdict: ".count))
      } else if line.hasPrefix("FAIL "), let colon = line.firstIndex(of: ":") {
        failTables.append(String(line[line.index(line.startIndex, offsetBy: 5)..<colon]))
      } else if line.hasPrefix("  why: ") {
        whyLines += 1
      }
    }
  }

  static func verdict(_ line: String) -> Verdict? {
    for status in ["pass      ", "FAIL      ", "incomplete"]
    where line.hasPrefix("  " + status + " ") {
      let rest = line.dropFirst(2 + status.count + 1)
      let name = String(rest.prefix { $0 != " " })
      guard SpecWords.properties.contains(name) else { return nil }
      var steps: Int?
      if let r = rest.range(of: "(counterexample: ") {
        steps = Int(rest[r.upperBound...].prefix { $0.isNumber })
      }
      return Verdict(name: name, status: status.trimmingCharacters(in: .whitespaces), steps: steps)
    }
    return nil
  }
}

enum OutputParser {
  /// Splits one run's output by input file. `directory` is where the inputs live.
  static func parse(_ run: ProcessOutcome, directory: String) -> [Int: SpecOutput] {
    var result: [Int: SpecOutput] = [:]
    let prefix = directory + "/"
    var current: Int?
    for line in run.stdout {
      if line.hasPrefix("modelcheck: " + prefix), let id = fileID(line.dropFirst(12 + prefix.count))
      {
        current = id
        result[id, default: SpecOutput()].block = []
      }
      // The run's tally ends the last spec's block.
      if line.range(of: #"^[0-9]+ specs?: "#, options: .regularExpression) != nil {
        current = nil
      }
      if let id = current { result[id]?.block?.append(line) }
    }
    var last: Int?
    for line in run.stderr {
      if line.hasPrefix(prefix), let id = fileID(line.dropFirst(prefix.count)),
        let message = message(line.dropFirst(prefix.count + 11))
      {
        result[id, default: SpecOutput()].messages.append(message)
        last = id
      } else if let id = last, !result[id]!.messages.isEmpty {
        result[id]!.messages[result[id]!.messages.count - 1].following.append(line)
      }
    }
    return result
  }

  /// "000123.spec..." -> 123.
  static func fileID(_ s: Substring) -> Int? {
    guard s.count >= 11, s.dropFirst(6).hasPrefix(".spec") else { return nil }
    return Int(s.prefix(6))
  }

  /// ":L:C: error: text [id]" or ": error: text", after the path.
  static func message(_ s: Substring) -> SpecOutput.Message? {
    var rest = s
    var line: Int?
    var column: Int?
    if rest.hasPrefix(":") {
      let fields = rest.dropFirst().split(
        separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
      if fields.count == 3, let l = Int(fields[0]), let c = Int(fields[1]) {
        line = l
        column = c
        rest = fields[2]
      } else {
        rest = rest.dropFirst()
      }
    }
    guard rest.hasPrefix(" ") else { return nil }
    rest = rest.dropFirst()
    guard let colon = rest.firstIndex(of: ":") else { return nil }
    let severity = String(rest[..<colon])
    guard ["error", "note", "warning"].contains(severity) else { return nil }
    var text = String(rest[rest.index(after: colon)...].dropFirst())
    var id: String?
    if text.hasSuffix("]"), let open = text.range(of: " [", options: .backwards) {
      id = String(text[open.upperBound..<text.index(before: text.endIndex)])
      text = String(text[..<open.lowerBound])
    }
    return SpecOutput.Message(line: line, column: column, severity: severity, text: text, id: id)
  }
}
