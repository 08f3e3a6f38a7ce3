#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// What checking one spec produced, ready to print: its output in order, its entry in
/// the JSON summary, and its exit status.
struct SpecOutcome {
  enum Stream: UInt8 {
    case out = 1
    case err = 2
  }
  var output: [(Stream, String)] = []
  var summary: JSON?
  /// Its `<testsuite>` for `--junit`.
  var junit: JUnitSuite?
  var code = Runner.ExitCode.asExpected

  /// How the spec's check ended, from its exit status.
  var verdict: SpecVerdict {
    switch code {
    case .asExpected: return .asExpected
    case .mismatch: return .differs
    case .incomplete: return .incomplete
    case .usageOrSpecError, .interrupted, .terminated: return .error
    }
  }

  mutating func out(_ s: String) { output.append((.out, s)) }
  mutating func err(_ s: String) { output.append((.err, s)) }
}

/// Runs the check of one spec in a child process (`fork`), so that a trap or a signal
/// ends that spec only. The child sends its `SpecOutcome` over a pipe and exits; the
/// parent prints nothing itself.
enum Isolation {
  /// How a child ended without sending its outcome.
  enum Failure: Error, Equatable {
    case signal(Int32)
    case exit(Int32)
    case noChild(Int32)  // fork or pipe failed: errno

    var text: String {
      switch self {
      case .signal(let n): return "the checker crashed (signal \(n))"
      case .exit(let n): return "the checker exited with status \(n) without a result"
      case .noChild(let e): return "no process could be started to check it (errno \(e))"
      }
    }
  }

  /// The summary entry is sent serialized at the depth where the summary places it.
  static let summaryIndent = 2

  static func run(_ body: () -> SpecOutcome) -> Result<SpecOutcome, Failure> {
    var fds: [Int32] = [0, 0]
    guard pipe(&fds) == 0 else { return .failure(.noChild(errno)) }
    // Buffered output would be copied into the child; it never flushes it (`_exit`), but
    // the parent's must not wait behind a child's lifetime either.
    fflush(nil)
    let pid = fork()
    if pid < 0 {
      let e = errno
      close(fds[0])
      close(fds[1])
      return .failure(.noChild(e))
    }
    if pid == 0 {
      close(fds[0])
      writeAll(fds[1], encode(body()))
      close(fds[1])
      _exit(0)
    }
    close(fds[1])
    // From here a stopping signal is passed on to the child, which stops cleanly and
    // still sends its outcome.
    Interruption.started(child: pid)
    let bytes = readAll(fds[0])
    close(fds[0])
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0, errno == EINTR {}
    Interruption.finishedChild()
    // The wait status, decoded as the W* macros do (Swift does not import them).
    let signal = status & 0x7f
    if signal != 0, signal != 0x7f { return .failure(.signal(signal)) }
    if let outcome = decode(bytes) { return .success(outcome) }
    return .failure(.exit((status >> 8) & 0xff))
  }

  // MARK: The message: records of a tag byte, an 8-byte length and the bytes.

  private enum Tag: UInt8 {
    case out = 1
    case err = 2
    case summary = 3
    case code = 4
    case junit = 5  // the counts on a first line, then the <testsuite> element
  }

  static func encode(_ o: SpecOutcome) -> [UInt8] {
    var bytes: [UInt8] = []
    func record(_ tag: Tag, _ payload: [UInt8]) {
      bytes.append(tag.rawValue)
      withUnsafeBytes(of: UInt64(payload.count).littleEndian) { bytes += $0 }
      bytes += payload
    }
    for (stream, text) in o.output { record(stream == .out ? .out : .err, Array(text.utf8)) }
    if let s = o.summary { record(.summary, Array(s.serialized(indent: summaryIndent).utf8)) }
    if let j = o.junit {
      let counts = "\(j.tests) \(j.failures) \(j.errors) \(j.skipped) \(j.seconds)\n"
      record(.junit, Array((counts + j.xml).utf8))
    }
    record(.code, [UInt8(o.code.rawValue)])  // last: its presence says the child finished
    return bytes
  }

  static func decode(_ bytes: [UInt8]) -> SpecOutcome? {
    var o = SpecOutcome()
    var i = 0
    while i + 9 <= bytes.count {
      guard let tag = Tag(rawValue: bytes[i]) else { return nil }
      var length: UInt64 = 0
      for k in 0..<8 { length |= UInt64(bytes[i + 1 + k]) << (8 * UInt64(k)) }
      i += 9
      guard length <= UInt64(bytes.count - i) else { return nil }
      let payload = Array(bytes[i..<(i + Int(length))])
      i += Int(length)
      let text = String(decoding: payload, as: UTF8.self)
      switch tag {
      case .out: o.out(text)
      case .err: o.err(text)
      case .summary: o.summary = .raw(text)
      case .junit:
        guard let newline = text.firstIndex(of: "\n") else { return nil }
        let counts = text[..<newline].split(separator: " ")
        guard counts.count == 5, let seconds = Double(counts[4]) else { return nil }
        let n = counts[0..<4].compactMap { Int($0) }
        guard n.count == 4 else { return nil }
        o.junit = JUnitSuite(
          tests: n[0], failures: n[1], errors: n[2], skipped: n[3], seconds: seconds,
          xml: String(text[text.index(after: newline)...]))
      case .code:
        guard payload.count == 1, let code = Runner.ExitCode(rawValue: Int32(payload[0])) else {
          return nil
        }
        o.code = code
        return i == bytes.count ? o : nil
      }
    }
    return nil
  }

  private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    var offset = 0
    while offset < bytes.count {
      let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
      if n < 0, errno == EINTR { continue }
      guard n > 0 else { return }
      offset += n
    }
  }

  private static func readAll(_ fd: Int32) -> [UInt8] {
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
      let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if n < 0, errno == EINTR { continue }
      guard n > 0 else { return bytes }
      bytes += chunk[0..<n]
    }
  }
}
