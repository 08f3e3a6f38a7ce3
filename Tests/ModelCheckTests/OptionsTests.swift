import Testing

@testable import ModelCheck

@Suite struct OptionsTests {
  @Test("flags, values and paths") func parse() throws {
    let o = try Options.parse([
      "--quiet", "--max-states", "100", "--max-memory=2G", "Specs", "--json", "x.spec",
    ])
    #expect(o.quiet && o.json)
    #expect(o.maxStates == 100)
    #expect(o.maxMemoryBytes == 2 << 30)
    #expect(o.paths == ["Specs", "x.spec"])
  }

  @Test(
    "usage errors",
    arguments: [
      ["--max-states"], ["--max-states", "-3", "a"], ["--max-memory", "lots", "a"],
      ["--frobnicate", "a"], [],
    ])
  func usageErrors(_ args: [String]) {
    #expect(throws: Options.UsageError.self) { try Options.parse(args) }
  }

  @Test(
    "a flag given a value is a usage error, not a way to spell the flag",
    arguments: [
      "--no-traces=false", "--json=no", "--quiet=1", "--show-run=", "--help=x", "--version=2",
    ])
  func flagWithValue(_ arg: String) {
    let flag = String(arg.prefix { $0 != "=" })
    let value = String(arg.dropFirst(flag.count + 1))
    let message = "option '\(flag)' takes no value (given '\(value)')"
    #expect(throws: Options.UsageError(message: message)) { try Options.parse([arg, "a.spec"]) }
  }

  @Test(
    "an empty output directory is a usage error",
    arguments: [["--output-dir", "", "a"], ["--output-dir=", "a"]])
  func emptyOutputDirectory(_ args: [String]) {
    #expect(throws: Options.UsageError(message: "--output-dir needs a directory, not ''")) {
      try Options.parse(args)
    }
  }

  @Test("paths are kept as bytes, also when they are not UTF-8")
  func rawPaths() throws {
    let bad: [UInt8] = Array("dir/bad".utf8) + [0xFF] + Array(".spec".utf8)
    let args = [Array("--quiet".utf8), bad, Array("--".utf8), Array("--x".utf8)]
    let o = try Options.parse(arguments: args)
    #expect(o.paths == [SpecPath(bytes: bad), "--x"])
    #expect(o.paths[0].description == "dir/bad\u{FFFD}.spec")
    #expect(throws: Options.UsageError.self) {
      try Options.parse(arguments: [Array("--output-dir".utf8), [0xFF], Array("a".utf8)])
    }
  }

  @Test("sizes") func sizes() {
    #expect(Options.parseSize("512M") == 512 << 20)
    #expect(Options.parseSize("100k") == 100 << 10)
    #expect(Options.parseSize("0") == nil)
    #expect(Options.parseSize("G") == nil)
  }
}
