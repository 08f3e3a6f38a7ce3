import Foundation
import Testing

/// docs/tutorial.md runs as written: its ```spec blocks are written to a fresh directory
/// in order, and each `$ modelcheck ...` line of a ```console block runs the built binary
/// there (standard output and error together, as a terminal shows them), with its output
/// matched against the lines under it and its exit status against `# exit N`.
@Suite struct TutorialTests {
  enum Piece {
    case file(name: String, text: String)
    case command(arguments: [String], expected: [String], exit: Int32)
  }

  /// The tutorial's files and commands, in order.
  static func pieces(_ markdown: String) -> [Piece] {
    var pieces: [Piece] = []
    let lines = markdown.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    var i = 0
    while i < lines.count {
      let line = lines[i]
      i += 1
      if line.hasPrefix("```spec file=") {
        let name = String(line.dropFirst("```spec file=".count))
        var body: [String] = []
        while i < lines.count, lines[i] != "```" {
          body.append(lines[i])
          i += 1
        }
        i += 1
        pieces.append(
          .file(name: name, text: body.isEmpty ? "" : body.joined(separator: "\n") + "\n"))
      } else if line == "```console" {
        var arguments: [String]?
        var expected: [String] = []
        while i < lines.count, lines[i] != "```" {
          let l = lines[i]
          i += 1
          if l.hasPrefix("$ modelcheck") {
            arguments = l.dropFirst("$ modelcheck".count).split(separator: " ").map(String.init)
          } else if l.hasPrefix("# exit "), let args = arguments {
            pieces.append(
              .command(arguments: args, expected: expected, exit: Int32(l.dropFirst(7)) ?? -1))
            arguments = nil
            expected = []
          } else {
            expected.append(l)
          }
        }
        i += 1
      }
    }
    return pieces
  }

  /// Whether `output` has the `expected` lines in order: consecutive, except where an
  /// expected `...` line lets lines pass; an expected line ending in `...` matches by prefix.
  static func matches(_ output: [String], _ expected: [String]) -> String? {
    var at = 0
    var gap = false
    for e in expected {
      if e == "..." {
        gap = true
        continue
      }
      func fits(_ line: String) -> Bool {
        let l = line.replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        if e.hasSuffix("...") { return l.hasPrefix(String(e.dropLast(3))) }
        return l == e
      }
      if gap {
        guard let k = output[at...].firstIndex(where: fits) else { return "missing: \(e)" }
        at = k + 1
      } else {
        guard at < output.count, fits(output[at]) else {
          return "expected: \(e)\n   found: \(at < output.count ? output[at] : "(end)")"
        }
        at += 1
      }
      gap = false
    }
    return nil
  }

  @Test("every command of docs/tutorial.md runs, with the output and exit status shown")
  func tutorial() throws {
    let url = packageRoot.appendingPathComponent("docs/tutorial.md")
    let pieces = Self.pieces(try String(contentsOf: url, encoding: .utf8))
    #expect(
      pieces.filter { if case .command = $0 { return true } else { return false } }.count >= 7)
    let dir = try TemporaryDirectory()
    for piece in pieces {
      switch piece {
      case .file(let name, let text):
        _ = try dir.write(name, text)
      case .command(let arguments, let expected, let exit):
        let process = Process()
        process.executableURL = builtExecutable
        process.arguments = arguments
        process.currentDirectoryURL = dir.url
        let outURL = dir.url.appendingPathComponent(".output")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL)
        process.standardOutput = out
        process.standardError = out
        try process.run()
        process.waitUntilExit()
        try out.close()
        let text = try String(contentsOf: outURL, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let command = "modelcheck " + arguments.joined(separator: " ")
        #expect(process.terminationStatus == exit, "\(command): exit status\n\(text)")
        if let problem = Self.matches(lines, expected) {
          Issue.record("\(command):\n\(problem)\n--- output ---\n\(text)")
        }
      }
    }
    // What step 4 promised: the fixed spec's old trace is gone, the kept bug's is there.
    let traces = dir.url.appendingPathComponent("counterexamples")
    #expect(
      !FileManager.default.fileExists(
        atPath: traces.appendingPathComponent("mprotect.no_stale_read.txt").path))
    #expect(
      FileManager.default.fileExists(
        atPath: traces.appendingPathComponent("mprotect-bug.no_stale_read.txt").path))
    #expect(
      FileManager.default.fileExists(
        atPath: traces.appendingPathComponent("mprotect.no_stale_read.html").path) == false)
    // What step 6 promised: the JUnit report is there.
    #expect(
      FileManager.default.fileExists(atPath: dir.url.appendingPathComponent("report.xml").path))
  }
}
