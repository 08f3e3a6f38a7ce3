@testable import ModelCheck

// Text-level tools of the spec fuzzer: a fixed-seed PRNG, a lexer that mirrors
// Spec/Lexer.swift but never stops (so mutations and renames work on broken input too),
// the mutation operators, consistent renaming and top-level reordering.

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and the same sequence on every
/// platform and Swift version, unlike the standard library's generators and shuffles.
struct SplitMix64 {
  var state: UInt64

  init(seed: UInt64) { state = seed }

  /// An independent stream for input `index` of a run, so that any input can be rebuilt
  /// from (seed, index) alone.
  init(seed: UInt64, index: Int) {
    var mix = SplitMix64(seed: seed ^ (UInt64(bitPattern: Int64(index)) &* 0xD134_2543_DE82_EF95))
    state = mix.next()
  }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// 0..<n (n > 0). The modulo bias is irrelevant at these sizes.
  mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }
  mutating func range(_ r: ClosedRange<Int>) -> Int { r.lowerBound + below(r.count) }
  mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
  mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

  /// Fisher-Yates, written out so that the permutation never depends on the stdlib.
  mutating func shuffle<T>(_ items: inout [T]) {
    guard items.count > 1 else { return }
    for i in stride(from: items.count - 1, to: 0, by: -1) { items.swapAt(i, below(i + 1)) }
  }
}

/// Words of the language, from the checker's own tables where it has them.
enum SpecWords {
  static let declarations = [
    "title", "mode", "batch_limit", "pte", "pgd", "ptpage", "lock", "hardware", "check", "track",
    "expect", "mm", "lazy_disables_preemption", "tlb", "cpu", "task", "interrupt", "lazy_state",
    "context_switch_hooks", "interrupts_never_lazy", "enum", "global", "percpu", "pertask",
    "invariant", "fn", "include",
  ]
  static let statements = [
    "var", "if", "else", "repeat", "loop", "break", "either", "or", "return", "atomic",
  ]
  static let contextual = [
    "under", "protects", "bound", "pass", "fail", "none", "on", "read", "write", "accessed",
    "native", "direct", "shadow", "per_cpu", "per_task", "bool", "current", "true", "false",
  ]
  static let properties = PropertyKind.allCases.map(\.name)
  static let kernelOps = OperationCatalogue.bySpelling.keys.sorted()
  static let builtins = Sema.builtins.keys.sorted()
  static let constants = Sema.constants.keys.sorted()
  /// Functions the scheduler calls by name (`Sema/SwitchHooks.swift`).
  static let hooks = Sema.hookNames.sorted()
  /// Statements Sema knows by name outside the operation catalogue (`Sema/CrossCalls.swift`).
  static let crossCalls = Sema.crossCallNames.sorted()

  /// Everything whose spelling means something: never renamed.
  static let reserved: Set<String> = Set(
    declarations + statements + contextual + properties + kernelOps + builtins + constants
      + hooks + crossCalls)

  static let symbols = [
    "{", "}", "(", ")", ",", ":", ";", "=", "|", "&", "^", "~", "!", "==", "!=", "&&", "||",
    "+", "-", "<", ">", "*", "/", ".", "[", "]",
  ]
}

/// One token of `FuzzLexer`, as a range of unicode-scalar offsets.
struct FuzzToken {
  enum Kind { case identifier, integer, string, comment, symbol, space, other }
  var kind: Kind
  var range: Range<Int>
}

/// Splits text the way Spec/Lexer.swift does, but keeps going after what the real lexer
/// would reject (an unterminated comment or string runs to the end of the file or line).
enum FuzzLexer {
  static func isIdentifierStart(_ c: Unicode.Scalar) -> Bool {
    c.properties.isAlphabetic || c == "_"
  }

  static func isIdentifierPart(_ c: Unicode.Scalar) -> Bool {
    c.properties.isAlphabetic || c == "_" || ("0"..."9").contains(c)
  }

  static func tokens(_ s: [Unicode.Scalar]) -> [FuzzToken] {
    var out: [FuzzToken] = []
    var i = 0
    func emit(_ kind: FuzzToken.Kind, _ start: Int) {
      out.append(FuzzToken(kind: kind, range: start..<i))
    }
    while i < s.count {
      let start = i
      let c = s[i]
      let next: Unicode.Scalar? = i + 1 < s.count ? s[i + 1] : nil
      if c == " " || c == "\t" || c == "\n" || c == "\r" {
        i += 1
        emit(.space, start)
      } else if c == "/", next == "/" {
        while i < s.count, s[i] != "\n", s[i] != "\r" { i += 1 }
        emit(.comment, start)
      } else if c == "/", next == "*" {
        i += 2
        while i < s.count, !(s[i] == "*" && i + 1 < s.count && s[i + 1] == "/") { i += 1 }
        i = min(i + 2, s.count)
        emit(.comment, start)
      } else if isIdentifierStart(c) {
        while i < s.count, isIdentifierPart(s[i]) { i += 1 }
        emit(.identifier, start)
      } else if ("0"..."9").contains(c) {
        if c == "0", next == "x" || next == "X" { i += 2 }
        while i < s.count, s[i].properties.isASCIIHexDigit || s[i].properties.isAlphabetic {
          i += 1
        }
        emit(.integer, start)
      } else if c == "\"" {
        i += 1
        while i < s.count, s[i] != "\"", s[i] != "\n", s[i] != "\r" { i += 1 }
        if i < s.count, s[i] == "\"" { i += 1 }
        emit(.string, start)
      } else if let n = next, SpecWords.symbols.contains(String(String.UnicodeScalarView([c, n]))) {
        i += 2
        emit(.symbol, start)
      } else if SpecWords.symbols.contains(String(Character(c))) {
        i += 1
        emit(.symbol, start)
      } else {
        i += 1
        emit(.other, start)
      }
    }
    return out
  }

  static func text(_ s: [Unicode.Scalar], _ t: FuzzToken) -> String {
    var v = String.UnicodeScalarView()
    v.append(contentsOf: s[t.range])
    return String(v)
  }
}

extension String {
  var scalars: [Unicode.Scalar] { Array(unicodeScalars) }
  init(scalars: some Sequence<Unicode.Scalar>) {
    var v = String.UnicodeScalarView()
    v.append(contentsOf: scalars)
    self = String(v)
  }
}

/// Lines split on LF only (the lexer's line count); a CR before the LF is kept.
/// The lines of a text as the spec language counts them: a line ends at LF, CRLF or a lone
/// CR (the line end itself is not part of the line).
func scalarLines(_ s: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
  var lines: [[Unicode.Scalar]] = []
  var line: [Unicode.Scalar] = []
  var i = 0
  while i < s.count {
    if s[i] == "\n" || s[i] == "\r" {
      if s[i] == "\r", i + 1 < s.count, s[i + 1] == "\n" { i += 1 }
      lines.append(line)
      line = []
    } else {
      line.append(s[i])
    }
    i += 1
  }
  lines.append(line)
  return lines
}

// MARK: Metamorphic transformations

enum Metamorphic {
  /// Renames every identifier that is not a word of the language, consistently across the
  /// file (PTEs, pgd entries, pages, locks, CPUs, tasks, handlers, registers), to fresh
  /// names of other lengths. Comments and strings are left alone.
  static func rename(_ text: String, salt: Int) -> String {
    let s = text.scalars
    let tokens = FuzzLexer.tokens(s)
    let existing = Set(tokens.filter { $0.kind == .identifier }.map { FuzzLexer.text(s, $0) })
    var map: [String: String] = [:]
    var out: [Unicode.Scalar] = []
    var counter = 0
    for t in tokens {
      let word = FuzzLexer.text(s, t)
      guard t.kind == .identifier, !SpecWords.reserved.contains(word) else {
        out += s[t.range]
        continue
      }
      if map[word] == nil {
        var fresh: String
        repeat {
          fresh = "zq\(salt % 7)_\(counter)" + String(repeating: "x", count: counter % 3)
          counter += 1
        } while existing.contains(fresh)
        map[word] = fresh
      }
      out += map[word]!.unicodeScalars
    }
    return String(scalars: out)
  }

  /// Every line end (LF, CRLF or a lone CR) becomes CRLF: whitespace only, so nothing may
  /// change but the bytes.
  static func crlf(_ text: String) -> String {
    scalarLines(text.scalars).map { String(scalars: $0) }.joined(separator: "\r\n")
  }

  /// The top-level declarations of a spec, each with the lines that follow it up to the
  /// next one: a new one starts on a line whose first token is a declaration keyword at
  /// brace depth 0. Leading comments form a chunk of their own.
  static func topLevelChunks(_ text: String) -> [String] {
    let s = text.scalars
    let tokens = FuzzLexer.tokens(s)
    var chunkStarts: [Int] = []
    var depth = 0
    var atLineStart = true
    for t in tokens {
      switch t.kind {
      case .space:
        if s[t.range.lowerBound] == "\n" { atLineStart = true }
        continue
      case .comment:
        continue
      case .identifier:
        if atLineStart, depth == 0, SpecWords.declarations.contains(FuzzLexer.text(s, t)) {
          chunkStarts.append(t.range.lowerBound)
        }
      case .symbol:
        let sym = FuzzLexer.text(s, t)
        if sym == "{" { depth += 1 }
        if sym == "}" { depth = max(depth - 1, 0) }
      default:
        break
      }
      atLineStart = false
    }
    // Cut at the start of each chunk's line.
    var cuts: [Int] = []
    for start in chunkStarts {
      var i = start
      while i > 0, s[i - 1] != "\n" { i -= 1 }
      if cuts.last != i { cuts.append(i) }
    }
    if cuts.first != 0 { cuts.insert(0, at: 0) }
    var chunks: [String] = []
    for (k, from) in cuts.enumerated() {
      let to = k + 1 < cuts.count ? cuts[k + 1] : s.count
      var chunk = String(scalars: s[from..<to])
      if !chunk.hasSuffix("\n") { chunk += "\n" }
      if !chunk.isEmpty { chunks.append(chunk) }
    }
    return chunks
  }

  static func reorder(_ chunks: [String], rng: inout SplitMix64) -> String {
    var c = chunks
    rng.shuffle(&c)
    return c.joined()
  }
}
