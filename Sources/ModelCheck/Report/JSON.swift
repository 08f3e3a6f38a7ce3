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
