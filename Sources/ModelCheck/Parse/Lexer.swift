/// Turns spec text into tokens. Comments are `// …` to end of line and `/* … */`.
/// Newlines are whitespace: statements delimit themselves (`;` is optional). A line ends
/// at CRLF, LF or a lone CR (`SourceFile.lines` splits the same way).
struct Lexer {
  static let symbols2: Set<String> = ["==", "!=", "&&", "||"]
  static let symbols1: Set<Character> = [
    "{", "}", "(", ")", ",", ":", ";", "=", "|", "&", "^", "~", "!", "+", "-", "<", ">", "*", "/",
    ".", "[", "]",
  ]
  static let maxIntegerDigits = 9

  /// - Parameter file: the index of the file (`SourceLocation.file`) every token is in.
  static func tokenize(_ text: String, file: Int = 0) throws(Diagnostic) -> [Token] {
    var tokens: [Token] = []
    let scalars = Array(text.unicodeScalars)
    var i = 0
    var line = 1
    var column = 1

    func loc() -> SourceLocation { SourceLocation(line: line, column: column, file: file) }
    /// A line ends at "\n", or at a "\r" not followed by "\n" (CRLF, LF and CR files).
    func endsLine(_ i: Int) -> Bool {
      scalars[i] == "\n"
        || (scalars[i] == "\r" && (i + 1 == scalars.count || scalars[i + 1] != "\n"))
    }
    func advance() {
      if endsLine(i) {
        line += 1
        column = 1
      } else {
        column += 1
      }
      i += 1
    }

    while i < scalars.count {
      let c = scalars[i]
      if c == " " || c == "\t" || c == "\n" || c == "\r" {
        advance()
        continue
      }
      let start = loc()
      if c == "/", i + 1 < scalars.count, scalars[i + 1] == "/" {
        while i < scalars.count, scalars[i] != "\n", scalars[i] != "\r" { advance() }
        continue
      }
      if c == "/", i + 1 < scalars.count, scalars[i + 1] == "*" {
        advance()
        advance()
        while i < scalars.count,
          !(scalars[i] == "*" && i + 1 < scalars.count && scalars[i + 1] == "/")
        { advance() }
        guard i < scalars.count else {
          throw Diagnostic(
            "spec.unterminated-comment", "unterminated '/*' comment",
            at: SourceRange(start: start, length: 2), hint: "expected '*/' before end of file")
        }
        advance()
        advance()
        continue
      }
      if c.properties.isAlphabetic || c == "_" {
        var name = String.UnicodeScalarView()
        while i < scalars.count,
          scalars[i].properties.isAlphabetic || scalars[i] == "_"
            || ("0"..."9").contains(scalars[i])
        {
          name.append(scalars[i])
          advance()
        }
        tokens.append(
          Token(
            kind: .identifier(String(name)), range: SourceRange(start: start, length: name.count)))
        continue
      }
      if ("0"..."9").contains(c) {
        var digits = ""
        var isHex = false
        if c == "0", i + 1 < scalars.count, scalars[i + 1] == "x" || scalars[i + 1] == "X" {
          isHex = true
          advance()
          advance()
        }
        while i < scalars.count,
          scalars[i].properties.isASCIIHexDigit || scalars[i].properties.isAlphabetic
        {
          digits.unicodeScalars.append(scalars[i])
          advance()
        }
        let length = digits.count + (isHex ? 2 : 0)
        let range = SourceRange(start: start, length: length)
        guard digits.count <= maxIntegerDigits, let value = Int(digits, radix: isHex ? 16 : 10)
        else {
          throw Diagnostic(
            "spec.bad-integer", "invalid integer literal '\(isHex ? "0x" : "")\(digits)'",
            at: range, hint: "expected a decimal or 0x-hex number below 10^9")
        }
        tokens.append(Token(kind: .integer(value), range: range))
        continue
      }
      if c == "\"" {
        advance()
        var s = String.UnicodeScalarView()
        while i < scalars.count, scalars[i] != "\"", scalars[i] != "\n", scalars[i] != "\r" {
          s.append(scalars[i])
          advance()
        }
        guard i < scalars.count, scalars[i] == "\"" else {
          throw Diagnostic(
            "spec.unterminated-string", "unterminated string literal",
            at: SourceRange(start: start, length: 1),
            hint: "expected '\"' before the end of the line")
        }
        advance()
        tokens.append(
          Token(kind: .string(String(s)), range: SourceRange(start: start, length: s.count + 2)))
        continue
      }
      if i + 1 < scalars.count {
        let two = String(String.UnicodeScalarView([c, scalars[i + 1]]))
        if symbols2.contains(two) {
          advance()
          advance()
          tokens.append(Token(kind: .symbol(two), range: SourceRange(start: start, length: 2)))
          continue
        }
      }
      if symbols1.contains(Character(c)) {
        advance()
        tokens.append(
          Token(kind: .symbol(String(Character(c))), range: SourceRange(start: start, length: 1)))
        continue
      }
      throw Diagnostic(
        "spec.unexpected-character",
        "unexpected character '\(String(Character(c)).debugDescription.dropFirst().dropLast())'",
        at: SourceRange(start: start, length: 1), hint: "not part of the spec language")
    }
    tokens.append(Token(kind: .end, range: SourceRange(start: loc(), length: 1)))
    return tokens
  }
}
