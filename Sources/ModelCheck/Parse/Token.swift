/// A lexical token of the spec language.
public struct Token: Sendable, Equatable {
  public enum Kind: Sendable, Equatable {
    case identifier(String)
    case integer(Int)
    case string(String)
    case symbol(String)  // { } ( ) , : ; = == != | & ^ ~ ! && ||
    case end
  }
  public var kind: Kind
  public var range: SourceRange

  /// How the token reads in a message ("'{'", "identifier 'foo'", "end of file").
  public var quoted: String {
    switch kind {
    case .identifier(let s): return "'\(s)'"
    case .integer(let n): return "'\(n)'"
    case .string(let s): return "\"\(s)\""
    case .symbol(let s): return "'\(s)'"
    case .end: return "end of file"
    }
  }
}
