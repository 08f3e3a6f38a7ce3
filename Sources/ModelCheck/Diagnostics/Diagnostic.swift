/// One error in a spec: where, what, and (optionally) a hint under the caret and notes
/// that point elsewhere. IDs are stable (`domain.kebab-name`) and never reused.
public struct Diagnostic: Error, Sendable, Equatable {
  public enum Severity: String, Sendable { case error, warning, note }

  public struct Note: Sendable, Equatable {
    public var range: SourceRange
    public var message: String
  }

  public var id: String
  public var severity: Severity
  public var range: SourceRange
  public var message: String
  public var hint: String?
  public var notes: [Note]

  public init(
    _ id: String, _ message: String, at range: SourceRange, hint: String? = nil,
    severity: Severity = .error, notes: [Note] = []
  ) {
    self.id = id
    self.severity = severity
    self.range = range
    self.message = message
    self.hint = hint
    self.notes = notes
  }
}

/// All the errors one pass found, sorted by position.
public struct DiagnosticList: Error, Sendable {
  public var diagnostics: [Diagnostic]
  public init(_ diagnostics: [Diagnostic]) {
    self.diagnostics = diagnostics.sorted { $0.range.start < $1.range.start }
  }
}
