/// A position in a spec file: 1-based line and column (columns count Unicode scalars).
public struct SourceLocation: Hashable, Sendable, Comparable {
  public var line: Int
  public var column: Int
  public init(line: Int, column: Int) {
    self.line = line
    self.column = column
  }
  public static func < (a: Self, b: Self) -> Bool { (a.line, a.column) < (b.line, b.column) }
}

/// A half-open range on one line (a token, or the start of a longer construct).
public struct SourceRange: Hashable, Sendable {
  public var start: SourceLocation
  public var length: Int
  public init(start: SourceLocation, length: Int) {
    self.start = start
    self.length = max(length, 1)
  }
}

/// The text of one spec file, split into lines once for diagnostics and source maps.
public struct SourceFile: Sendable {
  public let path: String
  public let text: String
  public let lines: [Substring]

  public init(path: String, text: String) {
    self.path = path
    self.text = text
    self.lines = SourceFile.splitLines(text)
  }

  /// The lines of `text`, without their ends. A line ends at "\r\n", "\n" or a lone "\r",
  /// as in the lexer. Split by scalars: in Swift "\r\n" is one Character, not "\n".
  static func splitLines(_ text: String) -> [Substring] {
    let scalars = text.unicodeScalars
    var lines: [Substring] = []
    var start = scalars.startIndex
    var i = start
    while i != scalars.endIndex {
      let c = scalars[i]
      guard c == "\n" || c == "\r" else {
        i = scalars.index(after: i)
        continue
      }
      lines.append(Substring(scalars[start..<i]))
      i = scalars.index(after: i)
      if c == "\r", i != scalars.endIndex, scalars[i] == "\n" { i = scalars.index(after: i) }
      start = i
    }
    lines.append(Substring(scalars[start...]))
    return lines
  }

  public func line(_ n: Int) -> Substring { n >= 1 && n <= lines.count ? lines[n - 1] : "" }

  /// The spec text covered by `range` (used to show an operation as written).
  public func text(_ range: SourceRange) -> String {
    let l = Array(line(range.start.line).unicodeScalars)
    let from = min(max(range.start.column - 1, 0), l.count)
    let to = min(from + range.length, l.count)
    var s = String.UnicodeScalarView()
    s.append(contentsOf: l[from..<to])
    return String(s)
  }
}
