/// Command-line options, parsed by hand (no dependencies).
public struct Options: Sendable, Equatable {
  public var paths: [SpecPath] = []
  public var maxStates: Int?
  public var maxMemoryBytes: Int?
  /// `--threads N`: exploration threads (nil: one per core). The result is the same for any.
  public var threads: Int?
  /// `--no-por`: explore every interleaving, without partial-order reduction.
  public var partialOrder = true
  /// `--no-symmetry`: store symmetric states (interchangeable CPUs) separately.
  public var symmetry = true
  /// `--compress`, `--no-compress`: how the store keeps states.
  public var compression = Limits.Compression.auto
  /// `--fingerprint`: hash compaction (a 64-bit hash per state instead of the state).
  public var fingerprints = false
  /// `--max-time`: seconds per spec.
  public var maxSeconds: Double?
  /// `--progress` (true), `--no-progress` (false); nil: on when standard error is a
  /// terminal and the output is neither `--quiet` nor `--json`.
  public var progress: Bool?
  /// `--junit FILE`: where the JUnit XML report goes.
  public var junitPath: String?
  public var quiet = false
  public var json = false
  public var writeTraces = true
  /// Also write each counterexample as a self-contained HTML viewer (`--html`).
  public var html = false
  /// `modelcheck replay SPEC TRACE.json` (`Driver/Replay.swift`); nil for a check.
  public var replay: ReplayRequest?
  public var showRun = false
  /// Count how often each statement ran and print the table (`--coverage`).
  public var coverage = false
  public var outputDirectory = "counterexamples"
  public var showHelp = false
  public var showVersion = false
  /// Check each spec in a child process, so that a crash ends only that spec (set by the
  /// command-line tool; in-process callers, such as tests, leave it off: `fork` in a
  /// multi-threaded process is unsafe).
  public var isolate = false

  public struct UsageError: Error, Sendable, Equatable {
    public var message: String
  }

  public static let version = "modelcheck 1.0.0"

  /// The `--help` text; its property list comes from the property table.
  public static var help: String {
    """
    USAGE: modelcheck [options] <spec-file-or-directory>...
           modelcheck replay <spec-file> <trace.json>

    Explores every interleaving of the CPUs, hardware and hypervisor described by each
    spec, decides each property it checks, and compares the verdicts with its `expect`.
    A directory is searched recursively for *.spec files, checked in sorted order.

    OPTIONS:
      --max-states N        stop after N distinct states
      --threads N           explore, and run the graph passes, on N threads (default:
                            one per core); the states, counts, verdicts and
                            counterexamples are the same for any N
      --no-por              no partial-order reduction: store every interleaving's
                            states (the verdicts are the same; the counts are larger)
      --no-symmetry         no symmetry reduction: CPUs that run the same code on the
                            same set-up are not taken as interchangeable
      --compress            store states as trees of shared parts from the start:
                            about half the memory, about a quarter slower (by
                            default, trees once whole states fill 1/4 of the limit)
      --no-compress         store whole states only
      --fingerprint         hash compaction: keep a 64-bit hash of each state, not
                            the state (8 B a slot): much less memory, but a state
                            may be missed (the chance is printed); cmpxchg_terminates
                            keeps its loop states exactly; terminates and reachable
                            are not decided
      --max-memory SIZE     stop when the state store reaches SIZE (e.g. 512M, 4G);
                            without it, at 3/5 of the machine's (or cgroup's) memory
      --max-time DURATION   stop a spec's check after DURATION (90, 30s, 5m, 1.5h);
                            after any stop, a property already violated keeps its
                            FAIL, any other is incomplete, never a pass
      --quiet               one line per spec
      --json                print the summary as JSON (schema modelcheck.summary/1)
      --junit FILE          also write a JUnit XML report to FILE (a <testcase> per
                            spec and property; for CI test-report views)
      --progress            a progress line on stderr every 2 s of a spec's run:
                            states, states/s, queue, depth, memory (default: only
                            when stderr is a terminal, without --quiet or --json)
      --no-progress         never print the progress line
      --output-dir DIR      where counterexample traces go (default: counterexamples)
      --no-traces           do not write trace files
      --html                also write each counterexample as <stem>.html: a
                            self-contained viewer (swimlanes, state per step,
                            keys j/k or arrows to step through it)
      --show-run            also print a shortest run in which every program finishes
                            (to watch a passing spec execute: batches, flushes, locks)
      --coverage            print how many transitions ran each statement (explores
                            the whole graph even after every property has failed);
                            without it, every run still warns (file:line:col) about
                            statements that never run and `either` branches never taken
      --version             print the version
      -h, --help            print this help

    PROPERTIES (a spec's `check` line picks them; without one:
    \(PropertyKind.defaults.map(\.name).joined(separator: ", "))):
    \(PropertyTable.helpText)

    OUTPUT:
      For each spec: its title, mode and CPUs, each property's verdict (pass, FAIL or
      incomplete), states, transitions, depth, time and states per second. For each
      violation: a shortest counterexample (a lasso for a livelock) with source lines
      and a one-sentence explanation, also written to
      <output-dir>/<spec>.<property>.txt and .json (a property that now passes has
      its old trace files there removed). Output is flushed after every spec. Last,
      a tally: N specs: N as expected, N differ, N incomplete, N errors.

    EXIT STATUS (the first that applies, from the top):
      130, 143  interrupted by SIGINT (130) or SIGTERM (143): the running spec's
         undecided properties are incomplete, the specs after it are not run, the
         tally and reports are still written
      2  usage error, a spec with an error (file:line:col: error: ...), a spec that
         fails at run time (a lock released that is not held, a loop without a kernel
         operation, a counter past its limit), or a crash of the checker on a spec
         (the other specs are still checked)
      1  some decided verdict differs from its spec's `expect`
      3  incomplete: no verdict differs, but some property has none because a limit
         (--max-states, --max-memory, --max-time) stopped its spec's run
      0  every spec's verdicts match its `expect` (a failure witnessed before a limit
         stopped the run is final: a run stopped after every checked property failed
         as expected is 0)

    REPLAY:
      modelcheck replay SPEC TRACE.json re-executes a saved counterexample (the .json
      trace file) against SPEC, which may have been edited since, prints the replayed
      steps as a table, and says whether the trace still violates its property (at
      the same step, or for a deadlock, a leak at the end or a lasso, the run as a
      whole). Exit status: 0 it still does; 1 it no longer does (the first step that
      cannot be taken and why, or why the run now keeps the property); 2 usage error,
      a spec with an error, or a trace file that cannot be read or is not a
      modelcheck.counterexample/1 trace.

    See README.md and docs/ for the spec language and the exact semantics.
    """
  }

  public static func parse(_ args: [String]) throws(UsageError) -> Options {
    try parse(arguments: args.map { Array($0.utf8) })
  }

  /// Parses the arguments as the operating system gives them: bytes, so that a spec path
  /// that is not UTF-8 is kept as it is (see `SpecPath`).
  public static func parse(arguments args: [[UInt8]]) throws(UsageError) -> Options {
    if args.first == Array("replay".utf8) { return try parseReplay(args.dropFirst()) }
    var o = Options()
    var i = 0
    var onlyPaths = false
    while i < args.count {
      let raw = args[i]
      let a = String(decoding: raw, as: UTF8.self)
      i += 1
      if onlyPaths || !a.hasPrefix("-") || a == "-" {
        o.paths.append(SpecPath(bytes: raw))
        continue
      }
      var flag = a
      var inline: [UInt8]?
      if a.hasPrefix("--"), let eq = raw.firstIndex(of: UInt8(ascii: "=")) {
        flag = String(decoding: raw[..<eq], as: UTF8.self)
        inline = Array(raw[(eq + 1)...])
      }
      /// The option's value: after `=`, or the next argument.
      func value() throws(UsageError) -> String {
        var bytes = inline
        if bytes == nil {
          guard i < args.count else { throw UsageError(message: "option '\(flag)' needs a value") }
          bytes = args[i]
          i += 1
        }
        guard let v = String(validating: bytes ?? [], as: UTF8.self) else {
          throw UsageError(message: "the value of '\(flag)' is not valid UTF-8")
        }
        return v
      }
      /// A flag takes no value: `--quiet=1` is a mistake, not a way to spell `--quiet`.
      func noValue() throws(UsageError) {
        guard let inline else { return }
        let v = String(decoding: inline, as: UTF8.self)
        throw UsageError(message: "option '\(flag)' takes no value (given '\(v)')")
      }
      switch flag {
      case "--":
        try noValue()
        onlyPaths = true
      case "-h", "--help":
        try noValue()
        o.showHelp = true
      case "--version":
        try noValue()
        o.showVersion = true
      case "--quiet", "-q":
        try noValue()
        o.quiet = true
      case "--json":
        try noValue()
        o.json = true
      case "--no-traces":
        try noValue()
        o.writeTraces = false
      case "--show-run":
        try noValue()
        o.showRun = true
      case "--coverage":
        try noValue()
        o.coverage = true
      case "--html":
        try noValue()
        o.html = true
      case "--output-dir":
        let v = try value()
        guard !v.isEmpty else {
          throw UsageError(message: "--output-dir needs a directory, not ''")
        }
        o.outputDirectory = v
      case "--max-states":
        let v = try value()
        guard let n = Int(v), n > 0 else {
          throw UsageError(message: "--max-states needs a positive integer, not '\(v)'")
        }
        o.maxStates = n
      case "--threads":
        let v = try value()
        guard let n = Int(v), n > 0, n <= 256 else {
          throw UsageError(message: "--threads needs a number of threads from 1 to 256, not '\(v)'")
        }
        o.threads = n
      case "--max-time":
        let v = try value()
        guard let t = parseDuration(v) else {
          throw UsageError(
            message: "--max-time needs a duration such as 90, 30s, 5m or 1h, not '\(v)'")
        }
        o.maxSeconds = t
      case "--no-por":
        try noValue()
        o.partialOrder = false
      case "--no-symmetry":
        try noValue()
        o.symmetry = false
      case "--compress":
        try noValue()
        o.compression = .after(1 << 16)
      case "--no-compress":
        try noValue()
        o.compression = .never
      case "--fingerprint":
        try noValue()
        o.fingerprints = true
      case "--progress":
        try noValue()
        o.progress = true
      case "--no-progress":
        try noValue()
        o.progress = false
      case "--junit":
        let v = try value()
        guard !v.isEmpty else { throw UsageError(message: "--junit needs a file, not ''") }
        o.junitPath = v
      case "--max-memory":
        let v = try value()
        guard let b = parseSize(v) else {
          throw UsageError(message: "--max-memory needs a size such as 512M or 4G, not '\(v)'")
        }
        o.maxMemoryBytes = b
      default:
        throw UsageError(message: "unknown option '\(a)' (see --help)")
      }
    }
    if o.fingerprints, o.coverage {
      throw UsageError(
        message: "--coverage reads every stored state; it cannot go with --fingerprint")
    }
    if o.fingerprints, o.compression != .auto {
      throw UsageError(
        message: "--fingerprint keeps no states to compress; drop --compress or --no-compress")
    }
    if o.html, !o.writeTraces {
      throw UsageError(message: "--html writes trace files; it cannot go with --no-traces")
    }
    if o.paths.isEmpty, !o.showHelp, !o.showVersion {
      throw UsageError(message: "no spec given (see --help)")
    }
    return o
  }

  /// "90" and "90s" (seconds), "5m", "1.5h": a positive, finite number of seconds, at
  /// most a year (a larger one is surely a typo).
  static func parseDuration(_ s: String) -> Double? {
    let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600]
    var digits = Substring(s)
    var unit = 1.0
    if let last = s.last, let u = units[last] {
      unit = u
      digits = digits.dropLast()
    }
    // Digits with at most one point: no sign, exponent, "inf" or "nan".
    guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
      digits.filter({ $0 == "." }).count <= 1, digits.contains(where: \.isNumber),
      let n = Double(digits)
    else { return nil }
    let t = n * unit
    guard t > 0, t <= 366 * 86400 else { return nil }
    return t
  }

  /// "512M", "4G", "100K", "1000" (bytes).
  static func parseSize(_ s: String) -> Int? {
    guard let last = s.last else { return nil }
    let multipliers: [Character: Int] = [
      "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30,
    ]
    var digits = s
    var m = 1
    if let mult = multipliers[last] {
      m = mult
      digits.removeLast()
    }
    guard let n = Int(digits), n > 0, n <= Int.max / m else { return nil }
    return n * m
  }
}
