/// Renders diagnostics as a clang-style first line (`file:line:col: error: message [id]`)
/// followed by a swift-syntax-style snippet: one line of context, the line, a caret.
public enum DiagnosticRenderer {
  public static let maxErrors = 20

  public static func render(_ list: [Diagnostic], in file: SourceFile) -> String {
    var out = ""
    for d in list.prefix(maxErrors) { out += render(d, in: file) }
    if list.count > maxErrors { out += "\(list.count - maxErrors) more errors not shown\n" }
    return out
  }

  public static func render(_ d: Diagnostic, in file: SourceFile) -> String {
    let loc = d.range.start
    var out = "\(file.place(loc)): \(d.severity.rawValue): \(d.message) [\(d.id)]\n"
    out += snippet(file.file(of: loc), d.range, hint: d.hint)
    for n in d.notes {
      out += "\(file.place(n.range.start)): note: \(n.message)\n"
    }
    return out
  }

  static func snippet(_ file: SourceFile, _ range: SourceRange, hint: String?) -> String {
    let line = range.start.line
    guard line >= 1, line <= max(file.lines.count, 1) else { return "" }
    let first = max(1, line - 1)
    let width = String(line).count
    var out = ""
    for n in first...line {
      let number = String(n)
      out +=
        String(repeating: " ", count: width - number.count + 1) + number + " | " + file.line(n)
        + "\n"
    }
    // Keep tabs in the caret line so the caret sits under the right character.
    let prefix = file.line(line).unicodeScalars.prefix(max(range.start.column - 1, 0))
    let pad = String(String.UnicodeScalarView(prefix.map { $0 == "\t" ? "\t" : " " }))
    let marks = "^" + String(repeating: "~", count: max(range.length - 1, 0))
    out += String(repeating: " ", count: width + 1) + " | " + pad + marks
    if let hint { out += " " + hint }
    return out + "\n"
  }
}
