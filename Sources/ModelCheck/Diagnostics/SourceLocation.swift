/// A position in a spec file: 1-based line and column (columns count Unicode scalars), and
/// which file: 0 the spec itself, k the k-th file it includes (`SourceFile.includes`).
public struct SourceLocation: Hashable, Sendable, Comparable {
  public var line: Int
  public var column: Int
  public var file: Int
  public init(line: Int, column: Int, file: Int = 0) {
    self.line = line
    self.column = column
    self.file = file
  }
  public static func < (a: Self, b: Self) -> Bool {
    (a.file, a.line, a.column) < (b.file, b.line, b.column)
  }
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
  /// The files the spec includes (`include "lib/x.spec"`), transitively, each once: a
  /// location with `file` k is in `includes[k - 1]`. Empty for an included file itself.
  public var includes: [SourceFile] = []

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

  /// The file a location is in: this one, or one it includes.
  public func file(of location: SourceLocation) -> SourceFile {
    let k = location.file
    return k >= 1 && k <= includes.count ? includes[k - 1] : self
  }

  /// `path:line:col` of a location, in whichever file it is.
  public func place(_ location: SourceLocation) -> String {
    "\(file(of: location).path):\(location.line):\(location.column)"
  }

  /// `line:col`, or `path:line:col` for a location in an included file (for trace tables).
  public func shortPlace(_ location: SourceLocation) -> String {
    location.file == 0 ? "\(location.line):\(location.column)" : place(location)
  }

  /// The spec text covered by `range` (used to show an operation as written).
  public func text(_ range: SourceRange) -> String {
    let l = Array(file(of: range.start).line(range.start.line).unicodeScalars)
    let from = min(max(range.start.column - 1, 0), l.count)
    let to = min(from + range.length, l.count)
    var s = String.UnicodeScalarView()
    s.append(contentsOf: l[from..<to])
    return String(s)
  }
}
