import Testing

@testable import ModelCheck

@Suite struct OptionsTests {
  @Test("flags, values and paths") func parse() throws {
    let o = try Options.parse([
      "--quiet", "--max-states", "100", "--max-memory=2G", "Specs", "--json", "x.spec",
      "--threads", "3",
    ])
    #expect(o.quiet && o.json)
    #expect(o.threads == 3)
    #expect(try Options.parse(["a.spec"]).threads == nil)
    #expect(o.maxStates == 100)
    #expect(o.maxMemoryBytes == 2 << 30)
    #expect(o.paths == ["Specs", "x.spec"])
    #expect(o.partialOrder && o.symmetry)
    let unreduced = try Options.parse(["--no-por", "--no-symmetry", "a.spec"])
    #expect(!unreduced.partialOrder && !unreduced.symmetry)
    #expect(try Options.parse(["--no-symmetry", "a.spec"]).partialOrder)
    #expect(try Options.parse(["a.spec"]).compression == .auto)
    #expect(try Options.parse(["--compress", "a.spec"]).compression == .after(1 << 16))
    #expect(try Options.parse(["--no-compress", "a.spec"]).compression == .never)
    #expect(try Options.parse(["--fingerprint", "a.spec"]).fingerprints)
    #expect(try !Options.parse(["a.spec"]).fingerprints)
  }

  @Test(
    "usage errors",
    arguments: [
      ["--max-states"], ["--max-states", "-3", "a"], ["--max-memory", "lots", "a"],
      ["--frobnicate", "a"], [], ["--threads", "0", "a"], ["--threads", "many", "a"],
      ["--threads", "1000", "a"], ["--no-por=1", "a"], ["--no-symmetry=yes", "a"],
      ["--compress=yes", "a"], ["--fingerprint=1", "a"], ["--fingerprint", "--coverage", "a"],
      ["--fingerprint", "--compress", "a"], ["--no-compress", "--fingerprint", "a"],
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

  @Test("run control: --max-time, --progress, --no-progress, --junit")
  func runControl() throws {
    let o = try Options.parse(["--max-time", "5m", "--progress", "--junit=out/j.xml", "a.spec"])
    #expect(o.maxSeconds == 300 && o.progress == true && o.junitPath == "out/j.xml")
    #expect(try Options.parse(["--no-progress", "a"]).progress == false)
    #expect(try Options.parse(["a"]).progress == nil)
    #expect(throws: Options.UsageError(message: "--junit needs a file, not ''")) {
      try Options.parse(["--junit=", "a"])
    }
    #expect(throws: Options.UsageError(message: "option '--progress' takes no value (given '1')")) {
      try Options.parse(["--progress=1", "a"])
    }
  }

  @Test("durations") func durations() {
    #expect(Options.parseDuration("90") == 90)
    #expect(Options.parseDuration("30s") == 30)
    #expect(Options.parseDuration("5m") == 300)
    #expect(Options.parseDuration("1.5h") == 5400)
    #expect(Options.parseDuration("0.25") == 0.25)
    for bad in [
      "", "0", "0s", "-1", "+1", "s", "1e3", "inf", "nan", "5d", "1.2.3", ".", "1 s", "2y",
    ] {
      #expect(Options.parseDuration(bad) == nil, "\(bad)")
    }
    // More than a year is a typo, not a limit.
    #expect(Options.parseDuration("9000h") == nil)
  }

  @Test("a bad duration is a usage error that names the forms")
  func badDuration() {
    let message = "--max-time needs a duration such as 90, 30s, 5m or 1h, not '10 minutes'"
    #expect(throws: Options.UsageError(message: message)) {
      try Options.parse(["--max-time", "10 minutes", "a"])
    }
  }

  @Test("sizes") func sizes() {
    #expect(Options.parseSize("512M") == 512 << 20)
    #expect(Options.parseSize("100k") == 100 << 10)
    #expect(Options.parseSize("0") == nil)
    #expect(Options.parseSize("G") == nil)
  }
}
