import Foundation

/// Runs the pipeline over every spec named on the command line and prints the results.
public enum Runner {
  public enum ExitCode: Int32 {
    case asExpected = 0
    case mismatch = 1
    case usageOrSpecError = 2
  }

  /// Every `*.spec` file under the given paths, in order (directories sorted, recursive).
  static func specFiles(_ paths: [String]) -> (files: [String], missing: [String]) {
    var files: [String] = []
    var missing: [String] = []
    let fm = FileManager.default
    for path in paths {
      var isDirectory: ObjCBool = false
      guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else {
        missing.append(path)
        continue
      }
      if isDirectory.boolValue {
        let base = path.hasSuffix("/") ? String(path.dropLast()) : path
        let found = (fm.enumerator(atPath: path)?.compactMap { $0 as? String } ?? []).filter { $0.hasSuffix(".spec") }.sorted()
        files += found.map { base + "/" + $0 }
      } else {
        files.append(path)
      }
    }
    return (files, missing)
  }

  public static func run(_ options: Options, out: (String) -> Void = { print($0, terminator: "") }, err: (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }) -> ExitCode {
    if options.showHelp {
      out(Options.help + "\n")
      return .asExpected
    }
    if options.showVersion {
      out(Options.version + "\n")
      return .asExpected
    }
    let (files, missing) = specFiles(options.paths)
    var code = ExitCode.asExpected
    for m in missing {
      err("modelcheck: error: no such file or directory: '\(m)'\n")
      code = .usageOrSpecError
    }
    if files.isEmpty, missing.isEmpty {
      err("modelcheck: error: no .spec files found in \(options.paths.joined(separator: ", "))\n")
      return .usageOrSpecError
    }
    let limits = Limits(maxStates: options.maxStates, maxMemoryBytes: options.maxMemoryBytes)
    var summaries: [JSON] = []
    for path in files {
      guard let data = FileManager.default.contents(atPath: path) else {
        err("\(path): error: cannot read the file\n")
        code = .usageOrSpecError
        continue
      }
      guard let text = String(data: data, encoding: .utf8) else {
        err("\(path):1:1: error: the file is not valid UTF-8 [spec.encoding]\n")
        code = .usageOrSpecError
        continue
      }
      let file = SourceFile(path: path, text: text)
      let program: Program
      do {
        program = try Pipeline.compile(file)
      } catch {
        err(error.rendered)
        code = .usageOrSpecError
        summaries.append(.object([("path", .string(path)), ("error", .string(error.diagnostics.first?.message ?? "error"))]))
        continue
      }
      let result = Pipeline.check(program, file: file, limits: limits)
      var traceFiles: [PropertyKind: String] = [:]
      var details = ""
      for p in result.properties {
        guard let c = p.counterexample else { continue }
        let trace = Trace(program: program, counterexample: c)
        let text = TextReport.counterexample(p, trace, result)
        details += "\n" + text
        if options.writeTraces {
          let file = path.split(separator: "/").last.map(String.init) ?? path
          let base = file.hasSuffix(".spec") ? String(file.dropLast(5)) : file
          let stem = options.outputDirectory + "/" + base + "." + p.kind.name
          do {
            try FileManager.default.createDirectory(atPath: options.outputDirectory, withIntermediateDirectories: true)
            let header = TextReport.summary(result) + "\n"
            try Data((header + text).utf8).write(to: URL(fileURLWithPath: stem + ".txt"), options: .atomic)
            let json = JSONReport.counterexample(p, trace, result).serialized() + "\n"
            try Data(json.utf8).write(to: URL(fileURLWithPath: stem + ".json"), options: .atomic)
            traceFiles[p.kind] = stem + ".txt"
            details += "  trace written to \(stem).txt and .json\n"
          } catch {
            err("modelcheck: warning: cannot write \(stem).txt: \(error.localizedDescription)\n")
          }
        }
      }
      if options.showRun {
        if let run = result.completeRun {
          let trace = Trace(program: program, counterexample: .run(run))
          details += "\n" + TextReport.table("A shortest complete run (every CPU finishes), \(trace.steps.count) steps", trace, result)
        } else {
          details += "\nNo run in which every CPU finishes was found.\n"
        }
      }
      if let faultRun = result.faultRun, case .fault(let f)? = result.stopReason {
        err(DiagnosticRenderer.render(FaultReport.diagnostic(program, run: faultRun, fault: f), in: file))
        code = .usageOrSpecError
      }
      if !result.matchesExpectation, code == .asExpected { code = .mismatch }
      summaries.append(JSONReport.summary(result, traceFiles: traceFiles))
      if options.json { continue }
      if options.quiet {
        let verdict = result.properties.filter { $0.status != .pass }.map { "\($0.status == .fail ? "FAIL" : "incomplete") \($0.kind.name)" }
        let s = result.statistics
        out("\(result.matchesExpectation ? "ok      " : "MISMATCH") \(path): \(verdict.isEmpty ? "pass" : verdict.joined(separator: ", ")) (expect \(program.spec.expectation.description)); \(TextReport.grouped(s.states)) states, \(format2(s.seconds)) s\n")
      } else {
        out(TextReport.summary(result) + details + "\n")
      }
    }
    if options.json {
      out(JSON.object([("schema", .string(JSONReport.summarySchema)), ("specs", .array(summaries)), ("exit_code", .int(Int(code.rawValue)))]).serialized() + "\n")
    }
    return code
  }
}
