import Testing
@testable import ModelCheck

@Suite struct OptionsTests {
  @Test("flags, values and paths") func parse() throws {
    let o = try Options.parse(["--quiet", "--max-states", "100", "--max-memory=2G", "Specs", "--json", "x.spec"])
    #expect(o.quiet && o.json)
    #expect(o.maxStates == 100)
    #expect(o.maxMemoryBytes == 2 << 30)
    #expect(o.paths == ["Specs", "x.spec"])
  }

  @Test("usage errors", arguments: [["--max-states"], ["--max-states", "-3", "a"], ["--max-memory", "lots", "a"], ["--frobnicate", "a"], []])
  func usageErrors(_ args: [String]) {
    #expect(throws: Options.UsageError.self) { try Options.parse(args) }
  }

  @Test("sizes") func sizes() {
    #expect(Options.parseSize("512M") == 512 << 20)
    #expect(Options.parseSize("100k") == 100 << 10)
    #expect(Options.parseSize("0") == nil)
    #expect(Options.parseSize("G") == nil)
  }
}
