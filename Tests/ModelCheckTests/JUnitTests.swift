import Foundation
import Testing

@testable import ModelCheck

#if canImport(FoundationXML)
  import FoundationXML
#endif

/// `--junit FILE`: read back with a real XML parser (Foundation's `XMLParser`) for its
/// structure, and validated against `Fixtures/junit.xsd` with `xmllint` where it is
/// installed (`.ci/run` installs it).
@Suite struct JUnitTests {
  static let schema = packageRoot.appendingPathComponent("Tests/ModelCheckTests/Fixtures/junit.xsd")

  /// An element as the parser saw it.
  final class Element {
    let name: String
    let attributes: [String: String]
    var children: [Element] = []
    var text = ""
    init(_ name: String, _ attributes: [String: String]) {
      self.name = name
      self.attributes = attributes
    }
    func all(_ name: String) -> [Element] { children.filter { $0.name == name } }
    func first(_ name: String) -> Element? { children.first { $0.name == name } }
  }

  /// Builds the element tree; `error` is set when the document is not well formed.
  final class TreeBuilder: NSObject, XMLParserDelegate {
    var stack: [Element] = []
    var root: Element?
    var error: Error?

    func parser(
      _ parser: XMLParser, didStartElement name: String, namespaceURI: String?,
      qualifiedName: String?, attributes: [String: String] = [:]
    ) {
      let e = Element(name, attributes)
      stack.last?.children.append(e)
      if stack.isEmpty { root = e }
      stack.append(e)
    }

    func parser(
      _ parser: XMLParser, didEndElement name: String, namespaceURI: String?,
      qualifiedName: String?
    ) { stack.removeLast() }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
      stack.last?.text += string
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) { error = parseError }
  }

  static func parse(_ xml: String) throws -> Element {
    let parser = XMLParser(data: Data(xml.utf8))
    let builder = TreeBuilder()
    parser.delegate = builder
    let ok = parser.parse()
    #expect(ok && builder.error == nil, "not well-formed: \(String(describing: builder.error))")
    return try #require(builder.root)
  }

  /// Validates `file` against the schema with `xmllint`, when it is installed.
  static func validate(_ file: String) throws {
    let candidates = ["/usr/bin/xmllint", "/usr/local/bin/xmllint", "/opt/homebrew/bin/xmllint"]
    guard
      let xmllint = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) })
    else { return }
    let r = try CommandLineTests.run(
      ["--noout", "--schema", schema.path, file], executable: URL(fileURLWithPath: xmllint))
    #expect(r.code == 0, "xmllint: \(r.out)\(r.err)")
  }

  /// Checks that a suite's counts are those of its testcases.
  static func checkCounts(_ suite: Element) {
    let cases = suite.all("testcase")
    #expect(suite.attributes["tests"] == String(cases.count))
    for (attribute, child) in [
      ("failures", "failure"), ("errors", "error"), ("skipped", "skipped"),
    ] {
      let n = cases.filter { $0.first(child) != nil }.count
      #expect(suite.attributes[attribute] == String(n), "\(attribute)")
    }
  }

  @Test("one testsuite per spec, one testcase per property; failures, errors, skipped")
  func report() throws {
    let dir = try TemporaryDirectory()
    let asExpected = try dir.write(
      "a-as-expected.spec", CommandLineTests.readBack(expect: "fail no_stale_read"))
    let differs = try dir.write("b-differs.spec", CommandLineTests.readBack(expect: "pass"))
    let passes = try dir.write("c-passes.spec", RunControlTests.passesButExpectedToFail)
    let broken = try dir.write("d-error.spec", "mode native\nexpect pass\ncpu c0 {\n  frob()\n}\n")
    let fault = try dir.write(
      "e-fault.spec",
      "mode native\npte a = present\nlock ptl protects a\nexpect pass\ncpu c0 {\n"
        + "  var x\n  loop { x = 1 }\n}\n")
    // A title with every character XML escapes, and a control character it cannot hold.
    let odd = try dir.write(
      "f-title.spec", "title \"<&> '\u{1} x\"\n" + CommandLineTests.passing)
    let junit = dir.url.appendingPathComponent("junit.xml").path
    let r = try RunControlTests.runInProcess([
      "--no-traces", "--quiet", "--junit", junit, dir.url.path,
    ])
    #expect(r.0 == .usageOrSpecError, "\(r.out)\(r.err)")
    let xml = try String(contentsOfFile: junit, encoding: .utf8)
    #expect(xml.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "))
    let root = try Self.parse(xml)
    #expect(root.name == "testsuites")
    let suites = root.all("testsuite")
    #expect(
      suites.map { $0.attributes["name"] } == [asExpected, differs, passes, broken, fault, odd])
    for s in suites {
      Self.checkCounts(s)
      #expect(s.attributes["time"]?.wholeMatch(of: /\d+\.\d{3}/) != nil)
      #expect(s.attributes["timestamp"]?.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/) != nil)
      for c in s.all("testcase") { #expect(c.attributes["classname"] == s.attributes["name"]) }
    }
    let total = suites.reduce(0) { $0 + (Int($1.attributes["tests"] ?? "") ?? 0) }
    #expect(root.attributes["tests"] == String(total))

    // As expected: passes, the counterexample kept as output.
    let a = try #require(suites[0].first("testcase"))
    #expect(a.attributes["name"] == "no_stale_read" && a.children.map(\.name) == ["system-out"])
    #expect(a.first("system-out")?.text.contains("why: ") == true)
    // Differs: a failure with the trace table and the why-sentence.
    let b = try #require(suites[1].first("testcase")?.first("failure"))
    #expect(b.attributes["message"] == "no_stale_read fails, but the spec expects it to pass")
    #expect(b.attributes["type"] == "differs")
    #expect(b.text.hasPrefix("FAIL no_stale_read: shortest counterexample, 4 steps\n"))
    #expect(b.text.contains("pte = ptep_get(a)") && b.text.contains("\n  why: cpu0 "))
    let c = try #require(
      suites[2].all("testcase").first { $0.attributes["name"] == "no_stale_read" })
    #expect(
      c.first("failure")?.attributes["message"]
        == "no_stale_read passes, but the spec expects it to fail")
    // A spec error: one (spec) testcase with the diagnostic and its location.
    let d = try #require(suites[3].first("testcase"))
    #expect(d.attributes["name"] == "(spec)")
    let error = try #require(d.first("error"))
    #expect(error.attributes["message"]?.hasPrefix("\(broken):4:3: ") == true)
    #expect(error.text.contains("  frob()"))
    // A runtime fault: an error, besides the properties it left incomplete.
    let e = suites[4].all("testcase")
    #expect(e.first?.attributes["name"] == "(spec)")
    #expect(e.first?.first("error")?.attributes["type"] == "check.runtime-fault")
    #expect(e.dropFirst().allSatisfy { $0.first("skipped") != nil })
    // The odd title survives the round trip (the control character as U+FFFD).
    #expect(suites[5].first("system-out")?.text.contains("<&> '\u{FFFD} x") == true)
    try Self.validate(junit)
  }

  @Test("an incomplete property is skipped, with why")
  func incomplete() throws {
    let dir = try TemporaryDirectory()
    let path = try dir.write(
      "stopped.spec", CommandLineTests.readBack(expect: "fail no_stale_read"))
    let junit = dir.url.appendingPathComponent("j.xml").path
    let r = try RunControlTests.runInProcess(
      ["--no-traces", "--max-states", "3", "--junit", junit, path])
    #expect(r.0 == .incomplete)
    let root = try Self.parse(try String(contentsOfFile: junit, encoding: .utf8))
    let skipped = root.first("testsuite")?.first("testcase")?.first("skipped")
    #expect(
      skipped?.attributes["message"]
        == "incomplete: stopped at the state limit (--max-states 3); not verified")
    try Self.validate(junit)
  }

  @Test("a file that cannot be written: exit 2, a clear message")
  func unwritable() throws {
    let dir = try TemporaryDirectory()
    let path = try dir.write("a.spec", CommandLineTests.passing)
    // A directory where the report should go.
    let r = try RunControlTests.runInProcess(["--no-traces", "--junit", dir.url.path, path])
    #expect(r.0 == .usageOrSpecError)
    #expect(r.err.hasPrefix("modelcheck: error: cannot write the JUnit report \(dir.url.path)"))
  }
}
