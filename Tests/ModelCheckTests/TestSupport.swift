import Foundation

@testable import ModelCheck

/// The package root, found from this file's path.
let packageRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  .deletingLastPathComponent().deletingLastPathComponent()

/// The `modelcheck` executable that `swift test` builds: next to the test bundle, or
/// under `.build/debug`.
let builtExecutable: URL = {
  var candidates: [URL] = []
  if let tests = Bundle.main.executableURL {
    candidates.append(tests.deletingLastPathComponent().appendingPathComponent("modelcheck"))
  }
  candidates.append(packageRoot.appendingPathComponent(".build/debug/modelcheck"))
  let built = candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
  return built ?? candidates[candidates.count - 1]
}()

/// Compiles spec text, or returns its rendered diagnostics.
func compile(_ text: String, path: String = "test.spec") -> Result<Program, Pipeline.SpecError> {
  Result { () throws(Pipeline.SpecError) in try Pipeline.compile(SourceFile(path: path, text: text))
  }
}

/// Compiles and checks spec text; fails the test on a spec error.
func check(_ text: String, path: String = "test.spec", limits: Limits = Limits()) throws
  -> CheckResult
{
  let file = SourceFile(path: path, text: text)
  let program = try Pipeline.compile(file)
  return Pipeline.check(program, file: file, limits: limits)
}

/// A spec of `Specs/` (its path there), read and compiled, with its file.
func compiledSpec(_ relative: String) throws -> (file: SourceFile, program: Program) {
  let path = packageRoot.appendingPathComponent("Specs").appendingPathComponent(relative).path
  let file = SourceFile(path: path, text: try String(contentsOfFile: path, encoding: .utf8))
  return (file, try Pipeline.compile(file))
}

/// The rendered errors of spec text that must not compile.
func errors(_ text: String) -> String {
  switch compile(text) {
  case .success: return "(compiled without errors)"
  case .failure(let e): return e.rendered
  }
}

extension CheckResult {
  func status(_ kind: PropertyKind) -> PropertyResult.Status? {
    properties.first { $0.kind == kind }?.status
  }
  func result(_ kind: PropertyKind) -> PropertyResult? { properties.first { $0.kind == kind } }
}

/// A minimal spec around one CPU body.
func spec(
  mode: String = "direct", header: String = "",
  checks: String = "no_stale_read, no_lost_dirty, deadlock_free", expect: String = "pass",
  _ cpus: String
) -> String {
  """
  mode \(mode)
  pte a = present | pfn(1)
  pte b = none
  lock ptl protects a, b
  \(header)
  check \(checks)
  expect \(expect)
  \(cpus)
  """
}
