/// A minimal JSON value with ordered object keys, so output is deterministic.
public indirect enum JSON: Sendable, Equatable {
  case null
  case bool(Bool)
  case int(Int)
  case double(Double)
  case string(String)
  case array([JSON])
  case object([(String, JSON)])
  /// Text already serialized for the place it goes (a summary entry sent by the child
  /// process that checked the spec), copied as it is.
  case raw(String)

  public static func == (a: JSON, b: JSON) -> Bool { a.serialized() == b.serialized() }

  public func serialized(indent: Int = 0, pretty: Bool = true) -> String {
    let pad = pretty ? String(repeating: "  ", count: indent + 1) : ""
    let end = pretty ? String(repeating: "  ", count: indent) : ""
    let nl = pretty ? "\n" : ""
    switch self {
    case .null: return "null"
    case .bool(let b): return b ? "true" : "false"
    case .int(let n): return String(n)
    case .double(let d): return d.isFinite ? JSON.decimal(d, places: 6) : "null"
    case .string(let s): return JSON.quote(s)
    case .raw(let s): return s
    case .array(let items):
      if items.isEmpty { return "[]" }
      return "[" + nl
        + items.map { pad + $0.serialized(indent: indent + 1, pretty: pretty) }.joined(
          separator: "," + nl) + nl + end + "]"
    case .object(let fields):
      if fields.isEmpty { return "{}" }
      let sep = pretty ? ": " : ":"
      return "{" + nl
        + fields.map {
          pad + JSON.quote($0.0) + sep + $0.1.serialized(indent: indent + 1, pretty: pretty)
        }.joined(separator: "," + nl) + nl + end + "}"
    }
  }

  /// A fixed-point number with `places` decimals, independent of the locale.
  static func decimal(_ x: Double, places: Int) -> String {
    var scale = 1.0
    for _ in 0..<places { scale *= 10 }
    let scaled = (x * scale).rounded()
    guard abs(scaled) < 9e15 else { return "\(x)" }
    let n = Int(scaled)
    let unit = Int(scale)
    let frac = String(abs(n % unit))
    return (n < 0 && n / unit == 0 ? "-" : "") + "\(n / unit)."
      + String(repeating: "0", count: places - frac.count) + frac
  }

  static func quote(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
      switch u {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      default:
        if u.value < 0x20 {
          let hex = String(u.value, radix: 16)
          out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        } else {
          out.unicodeScalars.append(u)
        }
      }
    }
    return out + "\""
  }
}

// MARK: Reading

extension JSON {
  /// Why a text is not JSON, and where (1-based line and column, columns in bytes).
  public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var line: Int
    public var column: Int
    public var description: String { "line \(line), column \(column): \(message)" }
  }

  /// Parses JSON text (RFC 8259) as bytes, keeping the order of object keys. Nesting deeper
  /// than `maxDepth` is an error, not a stack overflow: a trace file may be anything.
  public static func parse(_ bytes: [UInt8], maxDepth: Int = 200) throws(ParseError) -> JSON {
    var reader = JSONReader(bytes: bytes, maxDepth: maxDepth)
    reader.skipSpace()
    let value = try reader.value(depth: 0)
    reader.skipSpace()
    guard reader.at == bytes.count else { throw reader.error("text after the JSON value") }
    return value
  }

  /// The value of `key` in an object (the first, if repeated); nil for any other value.
  public subscript(key: String) -> JSON? {
    guard case .object(let fields) = self else { return nil }
    return fields.first { $0.0 == key }?.1
  }

  public var stringValue: String? {
    if case .string(let s) = self { return s }
    return nil
  }

  public var intValue: Int? {
    if case .int(let n) = self { return n }
    return nil
  }

  public var arrayValue: [JSON]? {
    if case .array(let a) = self { return a }
    return nil
  }

  public var isNull: Bool { self == .null }
}

/// A recursive-descent reader over UTF-8 bytes.
private struct JSONReader {
  let bytes: [UInt8]
  let maxDepth: Int
  var at = 0

  func error(_ message: String) -> JSON.ParseError {
    var line = 1
    var column = 1
    for b in bytes[..<min(at, bytes.count)] {
      if b == UInt8(ascii: "\n") {
        line += 1
        column = 1
      } else {
        column += 1
      }
    }
    return JSON.ParseError(message: message, line: line, column: column)
  }

  var peek: UInt8? { at < bytes.count ? bytes[at] : nil }

  mutating func skipSpace() {
    while let b = peek, b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { at += 1 }
  }

  mutating func expect(_ literal: String, _ value: JSON) throws(JSON.ParseError) -> JSON {
    let l = Array(literal.utf8)
    guard bytes.count - at >= l.count, Array(bytes[at..<(at + l.count)]) == l else {
      throw error("unexpected character")
    }
    at += l.count
    return value
  }

  mutating func value(depth: Int) throws(JSON.ParseError) -> JSON {
    guard depth < maxDepth else { throw error("nested more than \(maxDepth) deep") }
    guard let b = peek else { throw error("unexpected end of the text") }
    switch b {
    case UInt8(ascii: "{"): return try object(depth: depth)
    case UInt8(ascii: "["): return try array(depth: depth)
    case UInt8(ascii: "\""): return .string(try string())
    case UInt8(ascii: "t"): return try expect("true", .bool(true))
    case UInt8(ascii: "f"): return try expect("false", .bool(false))
    case UInt8(ascii: "n"): return try expect("null", .null)
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
    default: throw error("unexpected character")
    }
  }

  mutating func object(depth: Int) throws(JSON.ParseError) -> JSON {
    at += 1
    var fields: [(String, JSON)] = []
    skipSpace()
    if peek == UInt8(ascii: "}") {
      at += 1
      return .object(fields)
    }
    while true {
      skipSpace()
      guard peek == UInt8(ascii: "\"") else { throw error("expected a string key") }
      let key = try string()
      skipSpace()
      guard peek == UInt8(ascii: ":") else { throw error("expected ':' after a key") }
      at += 1
      skipSpace()
      fields.append((key, try value(depth: depth + 1)))
      skipSpace()
      switch peek {
      case UInt8(ascii: ","): at += 1
      case UInt8(ascii: "}"):
        at += 1
        return .object(fields)
      default: throw error("expected ',' or '}' in an object")
      }
    }
  }

  mutating func array(depth: Int) throws(JSON.ParseError) -> JSON {
    at += 1
    var items: [JSON] = []
    skipSpace()
    if peek == UInt8(ascii: "]") {
      at += 1
      return .array(items)
    }
    while true {
      skipSpace()
      items.append(try value(depth: depth + 1))
      skipSpace()
      switch peek {
      case UInt8(ascii: ","): at += 1
      case UInt8(ascii: "]"):
        at += 1
        return .array(items)
      default: throw error("expected ',' or ']' in an array")
      }
    }
  }

  mutating func hex4() throws(JSON.ParseError) -> UInt32 {
    guard bytes.count - at >= 4 else { throw error("a \\u escape needs four hex digits") }
    var v: UInt32 = 0
    for _ in 0..<4 {
      guard let d = peek.flatMap({ Character(Unicode.Scalar($0)).hexDigitValue }) else {
        throw error("a \\u escape needs four hex digits")
      }
      v = v * 16 + UInt32(d)
      at += 1
    }
    return v
  }

  mutating func string() throws(JSON.ParseError) -> String {
    at += 1
    var out: [UInt8] = []
    while true {
      guard let b = peek else { throw error("unterminated string") }
      if b == UInt8(ascii: "\"") {
        at += 1
        break
      }
      if b < 0x20 { throw error("a control character in a string") }
      guard b == UInt8(ascii: "\\") else {
        out.append(b)
        at += 1
        continue
      }
      at += 1
      guard let e = peek else { throw error("unterminated string") }
      at += 1
      switch e {
      case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
      case UInt8(ascii: "b"): out.append(0x08)
      case UInt8(ascii: "f"): out.append(0x0C)
      case UInt8(ascii: "n"): out.append(0x0A)
      case UInt8(ascii: "r"): out.append(0x0D)
      case UInt8(ascii: "t"): out.append(0x09)
      case UInt8(ascii: "u"):
        var code = try hex4()
        if (0xD800..<0xDC00).contains(code) {
          // A surrogate pair spells one scalar above U+FFFF.
          guard bytes.count - at >= 2, bytes[at] == UInt8(ascii: "\\"),
            bytes[at + 1] == UInt8(ascii: "u")
          else { throw error("a lone surrogate in a \\u escape") }
          at += 2
          let low = try hex4()
          guard (0xDC00..<0xE000).contains(low) else {
            throw error("a lone surrogate in a \\u escape")
          }
          code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
        }
        guard let scalar = Unicode.Scalar(code) else {
          throw error("a lone surrogate in a \\u escape")
        }
        out.append(contentsOf: Array(String(Character(scalar)).utf8))
      default: throw error("an unknown escape in a string")
      }
    }
    guard let s = String(validating: out, as: UTF8.self) else {
      throw error("a string that is not valid UTF-8")
    }
    return s
  }

  mutating func number() throws(JSON.ParseError) -> JSON {
    let start = at
    var isInteger = true
    if peek == UInt8(ascii: "-") { at += 1 }
    func digits(_ r: inout JSONReader) -> Int {
      var n = 0
      while let b = r.peek, b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") {
        r.at += 1
        n += 1
      }
      return n
    }
    let leading = at
    guard digits(&self) > 0 else { throw error("a number needs digits") }
    if bytes[leading] == UInt8(ascii: "0"), at - leading > 1 {
      throw error("a number with a leading zero")
    }
    if peek == UInt8(ascii: ".") {
      at += 1
      isInteger = false
      guard digits(&self) > 0 else { throw error("a number needs digits after '.'") }
    }
    if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
      at += 1
      isInteger = false
      if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { at += 1 }
      guard digits(&self) > 0 else { throw error("a number needs digits in its exponent") }
    }
    let text = String(decoding: bytes[start..<at], as: UTF8.self)
    if isInteger, let n = Int(text) { return .int(n) }
    guard let d = Double(text) else { throw error("a number out of range") }
    return .double(d)
  }
}
