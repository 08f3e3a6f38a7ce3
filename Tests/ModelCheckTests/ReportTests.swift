import Foundation
import Testing

@testable import ModelCheck

/// Golden files for the counterexample forms people and tools read. Re-record after an
/// intended change with `RECORD_SNAPSHOTS=1 swift test --filter ReportTests`, and review
/// the diff.
@Suite struct ReportTests {
  static let snapshots = packageRoot.appendingPathComponent("Tests/ModelCheckTests/Snapshots")

  func assertSnapshot(_ actual: String, named name: String) throws {
    let url = Self.snapshots.appendingPathComponent(name)
    if ProcessInfo.processInfo.environment["RECORD_SNAPSHOTS"] != nil {
      try actual.write(to: url, atomically: true, encoding: .utf8)
      return
    }
    let expected = try String(contentsOf: url, encoding: .utf8)
    #expect(
      actual == expected, "snapshot \(name) differs; re-record with RECORD_SNAPSHOTS=1 if intended")
  }

  func counterexample(_ relative: String, _ kind: PropertyKind) throws -> (
    PropertyResult, Trace, CheckResult
  ) {
    let path = "Specs/" + relative
    let text = try String(contentsOf: packageRoot.appendingPathComponent(path), encoding: .utf8)
    let file = SourceFile(path: path, text: text)
    let result = Pipeline.check(try Pipeline.compile(file), file: file)
    let p = try #require(result.result(kind))
    let trace = Trace(program: result.program, counterexample: try #require(p.counterexample))
    return (p, trace, result)
  }

  @Test("the read-hazard counterexample as text") func readHazardText() throws {
    let (p, trace, result) = try counterexample("read-hazard/read-back-direct.spec", .noStaleRead)
    try assertSnapshot(
      TextReport.counterexample(p, trace, result), named: "read-back-direct.no_stale_read.txt")
  }

  @Test("the read-hazard counterexample as JSON") func readHazardJSON() throws {
    let (p, trace, result) = try counterexample("read-hazard/read-back-direct.spec", .noStaleRead)
    try assertSnapshot(
      JSONReport.counterexample(p, trace, result).serialized() + "\n",
      named: "read-back-direct.no_stale_read.json")
  }

  @Test("the livelock counterexample marks where the cycle starts") func livelockText() throws {
    let (p, trace, result) = try counterexample(
      "xen-preserve-ad/update-intpte-unlocked-writer.spec", .cmpxchgTerminates)
    let text = TextReport.counterexample(p, trace, result)
    #expect(text.contains("-- cycle starts here (repeats forever) --"))
    try assertSnapshot(text, named: "update-intpte-unlocked-writer.cmpxchg_terminates.txt")
  }

  @Test("under fingerprints the statistics print the chance that a state was missed")
  func fingerprintStatistics() throws {
    var s = Statistics()
    s.states = 2_658_121
    #expect(!TextReport.statisticsLine(s).contains("fingerprints"))
    #expect(JSONReport.statistics(s).serialized().contains(#""omission_probability": null"#))
    s.fingerprints = true
    #expect(
      TextReport.statisticsLine(s).contains(
        "the chance that a state was missed is at most 1.9e-7 (n(n-1)/2^65"))
    let json = JSONReport.statistics(s).serialized()
    #expect(json.contains(#""fingerprints": true"#))
    let value = try #require(
      json.split(separator: "\n").first { $0.contains("omission_probability") }?
        .split(separator: ":").last?.trimmingCharacters(in: .whitespaces.union([","])))
    #expect(Double(value) == VisitedSet.omissionBound(states: 2_658_121))
  }

  @Test("JSON strings are escaped") func jsonEscaping() {
    #expect(JSON.string("a\"b\\c\n\u{1}").serialized() == #""a\"b\\c\n\u0001""#)
    #expect(
      JSON.object([("k", .array([.int(1), .null, .bool(true)]))]).serialized(pretty: false)
        == #"{"k":[1,null,true]}"#)
  }
}
