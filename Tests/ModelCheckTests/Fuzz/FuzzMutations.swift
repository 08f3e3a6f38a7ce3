// The mutation operators of the spec fuzzer: each changes the text once and says how, so
// that a failure report shows how its input was made.

enum Mutator {
  typealias Operator = (inout [Unicode.Scalar], inout SplitMix64) -> String

  static var operators: [(name: String, weight: Int, apply: Operator)] {
    [
      ("delete line", 6, deleteLine), ("duplicate line", 5, duplicateLine),
      ("swap lines", 5, swapLines), ("delete char", 6, deleteChar), ("insert char", 6, insertChar),
      ("delete token", 8, deleteToken), ("insert token", 8, insertToken),
      ("replace identifier", 10, replaceIdentifier), ("replace number", 8, replaceNumber),
      ("truncate", 3, truncate), ("insert CR", 3, insertCR), ("insert CRLF", 2, insertCRLF),
      ("all CRLF", 2, allCRLF), ("insert keyword", 8, insertKeyword),
      ("deep nesting", 4, deepNesting),
      ("non-ASCII", 4, insertNonASCII),
    ]
  }
  static let totalWeight = operators.reduce(0) { $0 + $1.weight }

  /// Applies 1 to 3 operators; returns the descriptions.
  static func mutate(_ text: inout [Unicode.Scalar], rng: inout SplitMix64) -> [String] {
    var done: [String] = []
    for _ in 0..<rng.pick([1, 1, 1, 2, 2, 3]) {
      var w = rng.below(totalWeight)
      for op in operators {
        if w < op.weight {
          done.append(op.name + ": " + op.apply(&text, &rng))
          break
        }
        w -= op.weight
      }
    }
    return done
  }

  /// Nested `repeat` deeper than 2, or counts above 8, hang the compiler today (a known
  /// bug being fixed elsewhere); the fuzzer keeps away from them.
  static func repeatsAreTame(_ s: [Unicode.Scalar]) -> Bool {
    let tokens = FuzzLexer.tokens(s).filter { $0.kind != .space && $0.kind != .comment }
    var repeats = 0
    for (i, t) in tokens.enumerated()
    where t.kind == .identifier && FuzzLexer.text(s, t) == "repeat" {
      repeats += 1
      if i + 1 < tokens.count, tokens[i + 1].kind == .integer {
        let digits = FuzzLexer.text(s, tokens[i + 1])
        let value =
          digits.lowercased().hasPrefix("0x")
          ? Int(digits.dropFirst(2), radix: 16) : Int(digits)
        if let value, value > 8 { return false }
      }
    }
    return repeats <= 2
  }

  // MARK: Lines

  static func deleteLine(_ s: inout [Unicode.Scalar], _ rng: inout SplitMix64) -> String {
    var lines = scalarLines(s)
    let i = rng.below(lines.count)
    lines.remove(at: i)
    s = Array(lines.joined(separator: ["\n"]))
    return "line \(i + 1)"
  }

  static func duplicateLine(_ s: inout [Unicode.Scalar], _ rng: inout SplitMix64) -> String {
    var lines = scalarLines(s)
    let i = rng.below(lines.count)
    lines.insert(lines[i], at: i)
    s = Array(lines.joined(separator: ["\n"]))
    return "line \(i + 1)"
  }

  static func swapLines(_ s: inout [Unicode.Scalar], _ rng: inout SplitMix64) -> String {
    var lines = scalarLines(s)
    let i = rng.below(lines.count)
    let j = rng.below(lines.count)
    lines.swapAt(i, j)
    s = Array(lines.joined(separator: ["\n"]))
    return "lines \(i + 1) and \(j + 1)"
  }

  static func truncate(_ s: inout [Unicode.Scalar], _ rng: inout SplitMix64) -> String {
    let n = rng.below(s.count + 1)
    s = Array(s.prefix(n))
    return "at \(n)"
  }

  // MARK: Characters

  static let charPool: [Unicode.Scalar] = [
    "{", "}", "(", ")", ",", ":", ";", "=", "|", "&", "^", "~", "!", "\"", "/", "*", "$", "#",
    "'", "0", "7", "9", "x", "_", "a", " ", "\t", "\n", "\r", "+", "-", "<", "[", "\u{0}",
  ]

  static func deleteChar(_ s: inout [Unicode.Scalar], _ rng: inout SplitMix64) -> String {
    guard !s.isEmpty else { return "nothing" }
    let i = rng.below(s.count)
    s.remove(at: i)
    return "at \(i)"
  }

  static func insertChar(_ s: inout [Unicode.Scalar], _ rng: inout SplitMix64) -> String {
    let i = rng.below(s.count + 1)
    let c = rng.pick(charPool)
    s.insert(c, at: i)
    return "\(String(Character(c)).debugDescription) at \(i)"
  }

  static func insertCR(_ s: inout [Unicode.Scalar], _ rng: inout SplitMix64) -> String {
    let i = rng.below(s.count + 1)
    s.insert("\r", at: i)
    return "at \(i)"
  }

  static func insertCRLF(_ s: inout [Unicode.Scalar], _ rng: inout SplitMix64) -> String {
    let i = rng.below(s.count + 1)
    s.insert(contentsOf: ["\r", "\n"], at: i)
    return "at \(i)"
  }

  static func allCRLF(_ s: inout [Unicode.Scalar], _ rng: inout SplitMix64) -> String {
    s = Metamorphic.crlf(String(scalars: s)).scalars
    return "every line"
  }

  static let nonASCII = [
    "é", "e\u{301}", "ß", "λ", "中文", "😀", "\u{200B}", "\u{FEFF}", "\u{2028}", "\u{85}",
    "\u{A0}", "\u{301}", "ﬁ", "İ", "ǅ", "٣", "Ⅻ", "ptë",
  ]

  static func insertNonASCII(_ s: inout [Unicode.Scalar], _ rng: inout SplitMix64) -> String {
    let i = rng.below(s.count + 1)
    let text = rng.pick(nonASCII)
    s.insert(contentsOf: text.unicodeScalars, at: i)
    return "\(text.debugDescription) at \(i)"
  }

  // MARK: Tokens

  static func words(_ s: [Unicode.Scalar]) -> [FuzzToken] {
    FuzzLexer.tokens(s).filter { $0.kind != .space && $0.kind != .comment }
  }

  static func deleteToken(_ s: inout [Unicode.Scalar], _ rng: inout SplitMix64) -> String {
    let tokens = words(s)
    guard !tokens.isEmpty else { return "nothing" }
    let t = rng.pick(tokens)
    let text = FuzzLexer.text(s, t)
    s.removeSubrange(t.range)
    return "\(text.debugDescription) at \(t.range.lowerBound)"
  }

  static func tokenPool(_ s: [Unicode.Scalar], _ rng: inout SplitMix64) -> String {
    let own = words(s).filter { $0.kind == .identifier }.map { FuzzLexer.text(s, $0) }
    switch rng.below(6) {
    case 0: return rng.pick(SpecWords.symbols)
    case 1: return rng.pick(SpecWords.declarations + SpecWords.statements + SpecWords.contextual)
    case 2: return rng.pick(SpecWords.kernelOps + SpecWords.builtins + SpecWords.properties)
    case 3: return rng.pick(numberPool)
    default: return own.isEmpty ? "x" : rng.pick(own)
    }
  }

  static func insertToken(_ s: inout [Unicode.Scalar], _ rng: inout SplitMix64) -> String {
    let tokens = words(s)
    let at = tokens.isEmpty ? 0 : rng.pick(tokens).range.lowerBound
    let text = tokenPool(s, &rng)
    s.insert(contentsOf: (text + " ").unicodeScalars, at: at)
    return "\(text.debugDescription) at \(at)"
  }

  static func replaceIdentifier(_ s: inout [Unicode.Scalar], _ rng: inout SplitMix64) -> String {
    let tokens = words(s).filter { $0.kind == .identifier }
    guard !tokens.isEmpty else { return insertToken(&s, &rng) }
    let t = rng.pick(tokens)
    let old = FuzzLexer.text(s, t)
    let new: String
    switch rng.below(10) {
    case 0..<5: new = FuzzLexer.text(s, rng.pick(tokens))
    case 5..<8: new = tokenPool(s, &rng)
    case 8: new = rng.pick(["ptë", "λ", "名前", "e\u{301}x", "_", "__", "a0"])
    default: new = old + old
    }
    s.replaceSubrange(t.range, with: new.unicodeScalars)
    return "\(old) -> \(new.debugDescription) at \(t.range.lowerBound)"
  }

  static let numberPool = [
    "0", "1", "2", "7", "8", "15", "16", "63", "64", "65", "255", "256", "1000", "1001",
    "999999999", "1000000000", "0x0", "0xff", "0x100", "0X1F", "0x", "12ab", "1f",
    "99999999999", "18446744073709551616", "4294967296", "007",
  ]

  static func replaceNumber(_ s: inout [Unicode.Scalar], _ rng: inout SplitMix64) -> String {
    let tokens = words(s).filter { $0.kind == .integer }
    guard !tokens.isEmpty else { return insertToken(&s, &rng) }
    let t = rng.pick(tokens)
    let old = FuzzLexer.text(s, t)
    let new = rng.pick(numberPool)
    s.replaceSubrange(t.range, with: new.unicodeScalars)
    return "\(old) -> \(new) at \(t.range.lowerBound)"
  }

  // MARK: Structure

  static let keywordLines = [
    "lazy_disables_preemption", "interrupts_never_lazy", "context_switch_hooks",
    "lazy_state per_task", "lazy_state per_cpu", "mm none", "mm", "batch_limit 1",
    "batch_limit 3", "batch_limit 64", "batch_limit 65", "track accessed", "track dirty",
    "check lazy_nesting", "check no_stale_tlb, no_lost_update", "check cmpxchg_terminates bound 1",
    "expect pass", "expect fail deadlock_free", "title \"again\"", "mode shadow", "mode native",
    "cpu extra", "cpu extra { }", "task extra { }", "interrupt extra on cpu0 { }",
    "pte extra = present | pfn(3)", "lock extra", "ptpage extra", "pgd extra = none",
    "hardware cpu0: write a", "tlb cpu1: a", "break", "loop {", "either { } or {", "}", "{",
    "repeat 2 {", "var extra = 1", "might_sleep()", "spin_unlock(ptl)", "if true {", "} else {",
  ]

  static func insertKeyword(_ s: inout [Unicode.Scalar], _ rng: inout SplitMix64) -> String {
    var lines = scalarLines(s)
    let i = rng.below(lines.count + 1)
    let line = rng.pick(keywordLines)
    lines.insert(line.scalars, at: i)
    s = Array(lines.joined(separator: ["\n"]))
    return "\(line.debugDescription) before line \(i + 1)"
  }

  static func deepNesting(_ s: inout [Unicode.Scalar], _ rng: inout SplitMix64) -> String {
    let n = rng.pick([8, 30, 31, 32, 62, 63, 64, 65, 120, 1000])
    switch rng.below(4) {
    case 0:  // blocks around one line
      var lines = scalarLines(s)
      let i = rng.below(lines.count)
      let open = String(repeating: "if true { ", count: n)
      let close = String(repeating: " }", count: n)
      lines[i] = open.scalars + lines[i] + close.scalars
      s = Array(lines.joined(separator: ["\n"]))
      return "\(n) ifs around line \(i + 1)"
    case 1, 2:  // parentheses or unary operators around one operand
      let tokens = words(s).filter { $0.kind == .integer || $0.kind == .identifier }
      guard !tokens.isEmpty else { return "nothing" }
      let t = rng.pick(tokens)
      let paren = rng.chance(50)
      let open = paren ? String(repeating: "(", count: n) : String(repeating: "~", count: n)
      let close = paren ? String(repeating: ")", count: n) : ""
      s.insert(contentsOf: close.unicodeScalars, at: t.range.upperBound)
      s.insert(contentsOf: open.unicodeScalars, at: t.range.lowerBound)
      return "\(n) \(paren ? "parentheses" : "'~'") at \(t.range.lowerBound)"
    default:  // a long operand chain after one number
      let tokens = words(s).filter { $0.kind == .integer }
      guard let t = tokens.isEmpty ? nil : rng.pick(tokens) else { return "nothing" }
      let k = rng.pick([200, 255, 256, 257, 600])
      s.insert(
        contentsOf: String(repeating: " | 1", count: k).unicodeScalars, at: t.range.upperBound)
      return "\(k) operands at \(t.range.upperBound)"
    }
  }
}
