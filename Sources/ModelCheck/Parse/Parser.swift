/// Recursive-descent parser for the spec language. The grammar (`docs/spec-language.md`
/// has the full meaning):
///
///     spec      := item*
///     item      := 'title' STRING | 'mode' IDENT | 'batch_limit' INT
///                | 'pte' IDENT '=' expr ('under' IDENT)? | 'pgd' IDENT '=' expr
///                | 'ptpage' IDENT (',' IDENT)*
///                | 'lock' IDENT ('protects' IDENT (',' IDENT)*)?
///                | 'hardware' IDENT ':' access (',' access)*     access := ('read'|'write') IDENT
///                | 'check' check (',' check)*                     check := IDENT ('bound' INT)?
///                | 'track' IDENT (',' IDENT)*
///                | 'expect' ('pass' | 'fail' IDENT (',' IDENT)*)
///                | 'mm' (IDENT (',' IDENT)* | 'none') | 'lazy_disables_preemption'
///                | 'tlb' IDENT ':' IDENT (',' IDENT)*
///                | 'cpu' IDENT block? | 'task' IDENT ('on' IDENT)? block
///                | 'interrupt' IDENT 'on' IDENT block | 'lazy_state' ('per_cpu'|'per_task')
///                | 'context_switch_hooks' | 'interrupts_never_lazy'
///                | 'enum' IDENT '{' IDENT (',' IDENT)* ','? '}'
///                | ('global'|'percpu'|'pertask') IDENT ':' type ('[' INT ']')? ('=' expr)?
///                | 'invariant' IDENT ':' expr | 'fn' IDENT '(' (IDENT (',' IDENT)*)? ')' block
///                | 'include' STRING
///     type      := 'bool' | INT '..' INT | 'enum'? IDENT
///     block     := '{' stmt* '}'
///     stmt      := ('var' IDENT ('=' expr)? (',' IDENT ('=' expr)?)*
///                | IDENT '=' expr | IDENT '(' args ')' | 'break' | 'return' expr?
///                | 'if' expr block ('else' (block | if-stmt))?
///                | 'repeat' INT block | 'loop' block | 'atomic' block
///                | 'either' block ('or' block)+ ) ';'?
///     expr      := or ;  or := and ('||' and)* ;  and := cmp ('&&' cmp)*
///     cmp       := bitor (('=='|'!=') bitor)? ;  bitor := xor ('|' xor)*
///     xor       := bitand ('^' bitand)* ;  bitand := unary ('&' unary)*
///     unary     := ('~'|'!') unary | primary
///     primary   := INT | IDENT ('.' IDENT | '[' expr ']')* | IDENT '(' args ')' | '(' expr ')'
///
/// The parser stops at the first error (one clear message beats a cascade) and limits
/// nesting depth so that no input can exhaust the stack.
struct Parser {
  static let maxDepth = 64

  private var tokens: [Token]
  private var index = 0
  private var depth = 0
  private var ast = SpecAST()
  private var seenOnce: [String: SourceRange] = [:]

  private init(tokens: [Token]) { self.tokens = tokens }

  static func parse(_ text: String, file: Int = 0) throws(Diagnostic) -> SpecAST {
    var p = Parser(tokens: try Lexer.tokenize(text, file: file))
    try p.parseSpec()
    return p.ast
  }

  // MARK: Token helpers

  private var current: Token { tokens[index] }
  private mutating func advance() -> Token {
    let t = tokens[index]
    if index < tokens.count - 1 { index += 1 }
    return t
  }

  private func isSymbol(_ s: String) -> Bool { current.kind == .symbol(s) }
  private func isKeyword(_ s: String) -> Bool { current.kind == .identifier(s) }

  private func error(_ expected: String, id: String = "spec.expected") -> Diagnostic {
    Diagnostic(
      id, "expected \(expected), found \(current.quoted)", at: current.range,
      hint: "expected \(expected)")
  }

  private mutating func expectSymbol(_ s: String) throws(Diagnostic) -> Token {
    guard isSymbol(s) else { throw error("'\(s)'") }
    return advance()
  }

  private mutating func expectIdentifier(_ what: String) throws(Diagnostic) -> Name {
    guard case .identifier(let s) = current.kind else { throw error(what) }
    return Name(text: s, range: advance().range)
  }

  private mutating func expectInteger(_ what: String) throws(Diagnostic) -> (Int, SourceRange) {
    guard case .integer(let n) = current.kind else { throw error(what) }
    return (n, advance().range)
  }

  private mutating func nest() throws(Diagnostic) {
    depth += 1
    if depth > Parser.maxDepth {
      throw Diagnostic(
        "spec.too-deep", "nesting deeper than \(Parser.maxDepth) levels", at: current.range,
        hint: "simplify the program")
    }
  }

  // MARK: Items

  /// One top-level declaration: whether a spec may have it at most once, and its parser
  /// (called after its keyword). The keyword list exists only here: dispatch, the duplicate
  /// check and "did you mean" all read it.
  private struct Declaration: Sendable {
    let keyword: String
    let atMostOnce: Bool
    let parse: @Sendable (inout Parser, Token) throws(Diagnostic) -> Void
    init(
      _ keyword: String, once: Bool = false,
      _ parse: @escaping @Sendable (inout Parser, Token) throws(Diagnostic) -> Void
    ) {
      self.keyword = keyword
      self.atMostOnce = once
      self.parse = parse
    }
  }

  private static let declarations: [Declaration] = [
    .init("title", once: true) { p, k throws(Diagnostic) in try p.parseTitleDecl(k) },
    .init("mode", once: true) { p, k throws(Diagnostic) in try p.parseModeDecl(k) },
    .init("batch_limit", once: true) { p, k throws(Diagnostic) in try p.parseBatchLimitDecl(k) },
    .init("pte") { p, k throws(Diagnostic) in try p.parsePteDecl(k) },
    .init("pgd") { p, k throws(Diagnostic) in try p.parsePgdDecl(k) },
    .init("ptpage") { p, k throws(Diagnostic) in try p.parsePtpageDecl(k) },
    .init("lock") { p, k throws(Diagnostic) in try p.parseLockDecl(k) },
    .init("hardware") { p, k throws(Diagnostic) in try p.parseHardwareDecl(k) },
    .init("check") { p, k throws(Diagnostic) in try p.parseCheckDecl(k) },
    .init("track") { p, k throws(Diagnostic) in try p.parseTrackDecl(k) },
    .init("expect", once: true) { p, k throws(Diagnostic) in try p.parseExpectDecl(k) },
    .init("tlb") { p, k throws(Diagnostic) in try p.parseTlbDecl(k) },
    .init("lazy_disables_preemption", once: true) { p, k throws(Diagnostic) in
      try p.parseLazyDisablesPreemptionDecl(k)
    },
    .init("mm", once: true) { p, k throws(Diagnostic) in try p.parseMmDecl(k) },
    .init("cpu") { p, k throws(Diagnostic) in try p.parseCpuDecl(k) },
    .init("task") { p, k throws(Diagnostic) in try p.parseTaskDecl(k) },
    .init("interrupt") { p, k throws(Diagnostic) in try p.parseInterruptDecl(k) },
    .init("lazy_state", once: true) { p, k throws(Diagnostic) in try p.parseLazyStateDecl(k) },
    .init("context_switch_hooks", once: true) { p, k throws(Diagnostic) in
      try p.parseContextSwitchHooksDecl(k)
    },
    .init("interrupts_never_lazy", once: true) { p, k throws(Diagnostic) in
      try p.parseInterruptsNeverLazyDecl(k)
    },
    .init("enum") { p, k throws(Diagnostic) in try p.parseEnumDecl(k) },
    .init("global") { p, k throws(Diagnostic) in try p.parseVariableDecl(k) },
    .init("percpu") { p, k throws(Diagnostic) in try p.parseVariableDecl(k) },
    .init("pertask") { p, k throws(Diagnostic) in try p.parseVariableDecl(k) },
    .init("invariant") { p, k throws(Diagnostic) in try p.parseInvariantDecl(k) },
    .init("fn") { p, k throws(Diagnostic) in try p.parseFunctionDecl(k) },
    .init("include") { p, k throws(Diagnostic) in try p.parseIncludeDecl(k) },
  ]
  private static let declarationTable = Dictionary(
    uniqueKeysWithValues: declarations.map { ($0.keyword, $0) })

  private mutating func parseSpec() throws(Diagnostic) {
    while current.kind != .end {
      guard case .identifier(let word) = current.kind else {
        throw error(
          "a declaration ('title', 'mode', 'pte', 'lock', 'cpu', 'hardware', 'check', 'expect', "
            + "...)"
        )
      }
      let keyword = advance()
      guard let declaration = Parser.declarationTable[word] else {
        throw Diagnostic(
          "spec.unknown-declaration", "unknown declaration '\(word)'", at: keyword.range,
          hint: closestName(to: word, in: Parser.declarations.map(\.keyword)).map {
            "did you mean '\($0)'?"
          }
            ?? "expected a declaration such as 'mode', 'pte', 'lock', 'cpu', 'task', 'check' or "
            + "'expect' (see docs/spec-language.md)"
        )
      }
      if declaration.atMostOnce, let first = seenOnce[word] {
        throw Diagnostic(
          "spec.duplicate-declaration", "'\(word)' is declared twice", at: keyword.range,
          hint: "a spec has one '\(word)'",
          notes: [.init(range: first, message: "first '\(word)' here")])
      }
      seenOnce[word] = keyword.range
      try declaration.parse(&self, keyword)
      if isSymbol(";") { _ = advance() }
    }
    ast.endOfFile = current.range
  }

  // MARK: Declarations

  private mutating func parseTitleDecl(_ _: Token) throws(Diagnostic) {
    guard case .string(let s) = current.kind else { throw error("a quoted title") }
    ast.title = (s, advance().range)
  }

  private mutating func parseModeDecl(_ _: Token) throws(Diagnostic) {
    ast.mode = try expectIdentifier("a paging mode ('native', 'direct' or 'shadow')")
  }

  private mutating func parseBatchLimitDecl(_ _: Token) throws(Diagnostic) {
    ast.batchLimit = try expectInteger("a batch limit")
  }

  private mutating func parsePteDecl(_ _: Token) throws(Diagnostic) {
    let name = try expectIdentifier("a PTE name")
    _ = try expectSymbol("=")
    let initial = try parseExpr()
    var under: Name?
    if isKeyword("under") {
      _ = advance()
      under = try expectIdentifier("a pgd entry name")
    }
    ast.ptes.append(PTEDecl(name: name, initial: initial, under: under))
  }

  private mutating func parsePgdDecl(_ _: Token) throws(Diagnostic) {
    let name = try expectIdentifier("a pgd entry name")
    _ = try expectSymbol("=")
    ast.pgds.append(PTEDecl(name: name, initial: try parseExpr(), under: nil))
  }

  private mutating func parsePtpageDecl(_ _: Token) throws(Diagnostic) {
    repeat {
      if isSymbol(",") { _ = advance() }
      ast.ptPages.append(try expectIdentifier("a page-table page name"))
    } while isSymbol(",")
  }

  private mutating func parseLockDecl(_ _: Token) throws(Diagnostic) {
    let name = try expectIdentifier("a lock name")
    var protects: [Name] = []
    if isKeyword("protects") {
      _ = advance()
      protects.append(try expectIdentifier("a PTE name"))
      while isSymbol(",") {
        _ = advance()
        protects.append(try expectIdentifier("a PTE name"))
      }
    }
    ast.locks.append(LockDecl(name: name, protects: protects))
  }

  private mutating func parseHardwareDecl(_ _: Token) throws(Diagnostic) {
    let cpu = try expectIdentifier("a CPU name")
    _ = try expectSymbol(":")
    var accesses: [(Name, Name)] = []
    repeat {
      if isSymbol(",") { _ = advance() }
      let kind = try expectIdentifier("'read' or 'write'")
      accesses.append((kind, try expectIdentifier("a PTE name")))
    } while isSymbol(",")
    ast.hardware.append(HardwareDecl(cpu: cpu, accesses: accesses))
  }

  private mutating func parseCheckDecl(_ _: Token) throws(Diagnostic) {
    repeat {
      if isSymbol(",") { _ = advance() }
      let name = try expectIdentifier("a property name")
      var bound: Int?
      if isKeyword("bound") {
        _ = advance()
        bound = try expectInteger("a retry bound").0
      }
      ast.checks.append(CheckDecl(property: name, bound: bound))
    } while isSymbol(",")
  }

  private mutating func parseTrackDecl(_ _: Token) throws(Diagnostic) {
    repeat {
      if isSymbol(",") { _ = advance() }
      ast.tracked.append(try expectIdentifier("a hardware bit ('accessed')"))
    } while isSymbol(",")
  }

  private mutating func parseExpectDecl(_ keyword: Token) throws(Diagnostic) {
    if isKeyword("pass") {
      ast.expect = ExpectDecl(range: keyword.range, failing: [])
      _ = advance()
    } else if isKeyword("fail") {
      _ = advance()
      var names = [try expectIdentifier("the property expected to fail")]
      while isSymbol(",") {
        _ = advance()
        names.append(try expectIdentifier("a property name"))
      }
      ast.expect = ExpectDecl(range: keyword.range, failing: names)
    } else {
      throw error("'pass' or 'fail <property>'")
    }
  }

  private mutating func parseTlbDecl(_ _: Token) throws(Diagnostic) {
    let cpu = try expectIdentifier("a CPU name")
    _ = try expectSymbol(":")
    var ptes = [try expectIdentifier("a PTE name")]
    while isSymbol(",") {
      _ = advance()
      ptes.append(try expectIdentifier("a PTE name"))
    }
    ast.tlb.append((cpu, ptes))
  }

  private mutating func parseLazyDisablesPreemptionDecl(_ _: Token) throws(Diagnostic) {
    ast.lazyDisablesPreemption = true
  }

  private mutating func parseMmDecl(_ _: Token) throws(Diagnostic) {
    var names: [Name] = []
    if case .identifier(let w) = current.kind, w != "none" {
      names.append(try expectIdentifier("a CPU name"))
      while isSymbol(",") {
        _ = advance()
        names.append(try expectIdentifier("a CPU name"))
      }
    } else if isKeyword("none") {
      _ = advance()
    }
    ast.mm = names
  }

  private mutating func parseCpuDecl(_ _: Token) throws(Diagnostic) {
    let name = try expectIdentifier("a CPU name")
    ast.cpus.append(CPUDecl(name: name, body: isSymbol("{") ? try parseBlock() : nil))
  }

  private mutating func parseTaskDecl(_ _: Token) throws(Diagnostic) {
    let name = try expectIdentifier("a task name")
    var on: Name?
    if isKeyword("on") {
      _ = advance()
      on = try expectIdentifier("the CPU it starts on")
    }
    ast.cpus.append(CPUDecl(kind: .task, name: name, body: try parseBlock(), on: on))
  }

  private mutating func parseInterruptDecl(_ _: Token) throws(Diagnostic) {
    let name = try expectIdentifier("an interrupt handler name")
    guard isKeyword("on") else { throw error("'on' and the CPU it interrupts") }
    _ = advance()
    let on = try expectIdentifier("the CPU it interrupts")
    ast.cpus.append(CPUDecl(kind: .interrupt, name: name, body: try parseBlock(), on: on))
  }

  private mutating func parseLazyStateDecl(_ _: Token) throws(Diagnostic) {
    ast.lazyState = try expectIdentifier("'per_cpu' or 'per_task'")
  }

  private mutating func parseContextSwitchHooksDecl(_ _: Token) throws(Diagnostic) {
    ast.contextSwitchHooks = true
  }

  private mutating func parseInterruptsNeverLazyDecl(_ _: Token) throws(Diagnostic) {
    ast.interruptsNeverLazy = true
  }

  private mutating func parseEnumDecl(_ _: Token) throws(Diagnostic) {
    let name = try expectIdentifier("an enum name")
    _ = try expectSymbol("{")
    var cases = [try expectIdentifier("an enum value name")]
    while isSymbol(",") {
      _ = advance()
      if isSymbol("}") { break }  // a trailing comma, as C allows
      cases.append(try expectIdentifier("an enum value name"))
    }
    _ = try expectSymbol("}")
    ast.enums.append(EnumDecl(name: name, cases: cases))
  }

  /// `global|percpu|pertask NAME: TYPE ([N])? (= INIT)?`.
  private mutating func parseVariableDecl(_ keyword: Token) throws(Diagnostic) {
    guard case .identifier(let scope) = keyword.kind else { throw error("a declaration") }
    let name = try expectIdentifier("a variable name")
    _ = try expectSymbol(":")
    let type: TypeDecl
    if isKeyword("bool") {
      type = .bool(advance().range)
    } else if case .integer(let low) = current.kind {
      let start = advance().range
      guard isSymbol(".") else { throw error("'..' and the largest value") }
      _ = advance()
      _ = try expectSymbol(".")
      let (high, end) = try expectInteger("the largest value")
      type = .range(low, high, SourceRange(start: start.start, length: span(from: start, to: end)))
    } else {
      if isKeyword("enum") { _ = advance() }
      type = .named(try expectIdentifier("a type ('bool', 'lo..hi' or an enum)"))
    }
    var elements: (Int, SourceRange)?
    if isSymbol("[") {
      _ = advance()
      elements = try expectInteger("the number of elements")
      _ = try expectSymbol("]")
    }
    var initial: Expr?
    if isSymbol("=") {
      _ = advance()
      initial = try parseExpr()
    }
    ast.variables.append(
      VariableDecl(
        scope: Name(text: scope, range: keyword.range), name: name, type: type,
        elements: elements, initial: initial))
  }

  /// `include "lib/x.spec"`: read by `Pipeline.compile`, relative to this file.
  private mutating func parseIncludeDecl(_ _: Token) throws(Diagnostic) {
    guard case .string(let path) = current.kind else { throw error("a quoted file path") }
    ast.includes.append((path, advance().range))
  }

  /// `fn NAME(a, b) { ... }`.
  private mutating func parseFunctionDecl(_ _: Token) throws(Diagnostic) {
    let name = try expectIdentifier("a function name")
    _ = try expectSymbol("(")
    var parameters: [Name] = []
    if !isSymbol(")") {
      parameters.append(try expectIdentifier("a parameter name"))
      while isSymbol(",") {
        _ = advance()
        parameters.append(try expectIdentifier("a parameter name"))
      }
    }
    _ = try expectSymbol(")")
    ast.functions.append(FunctionDecl(name: name, parameters: parameters, body: try parseBlock()))
  }

  private mutating func parseInvariantDecl(_ _: Token) throws(Diagnostic) {
    let name = try expectIdentifier("an invariant name")
    _ = try expectSymbol(":")
    ast.invariants.append(InvariantDecl(name: name, expr: try parseExpr()))
  }

  // MARK: Statements

  private mutating func parseBlock() throws(Diagnostic) -> [Stmt] {
    try nest()
    defer { depth -= 1 }
    _ = try expectSymbol("{")
    var body: [Stmt] = []
    while !isSymbol("}") {
      if current.kind == .end { throw error("'}' to close the block") }
      body.append(try parseStatement())
      if isSymbol(";") { _ = advance() }
    }
    _ = advance()
    return body
  }

  private mutating func parseStatement() throws(Diagnostic) -> Stmt {
    guard case .identifier(let word) = current.kind else { throw error("a statement") }
    let start = current.range
    switch word {
    case "var":
      _ = advance()
      var decls: [(Name, Expr?)] = []
      repeat {
        if isSymbol(",") { _ = advance() }
        let name = try expectIdentifier("a register name")
        var initial: Expr?
        if isSymbol("=") {
          _ = advance()
          initial = try parseExpr()
        }
        decls.append((name, initial))
      } while isSymbol(",")
      return .varDecl(decls)
    case "if":
      return try parseIf()
    case "repeat":
      _ = advance()
      let (n, _) = try expectInteger("a repeat count")
      return .repeatN(n, try parseBlock(), start)
    case "loop":
      _ = advance()
      return .loop(try parseBlock(), start)
    case "break":
      _ = advance()
      return .breakLoop(start)
    case "atomic":
      _ = advance()
      return .atomic(try parseBlock(), start)
    case "return":
      _ = advance()
      // A value follows unless the statement ends here (a `}`, a `;` or the next line).
      if isSymbol("}") || isSymbol(";") || current.range.start.line != start.start.line {
        return .returnStmt(nil, start)
      }
      return .returnStmt(try parseExpr(), start)
    case "either":
      _ = advance()
      var branches = [try parseBlock()]
      guard isKeyword("or") else { throw error("'or' and a second branch") }
      while isKeyword("or") {
        _ = advance()
        branches.append(try parseBlock())
      }
      return .either(branches, start)
    default:
      let name = try expectIdentifier("a statement")
      if isSymbol("=") {
        _ = advance()
        let value = try parseExpr()
        return .assign(
          name, value, SourceRange(start: start.start, length: span(from: start, to: value.range)))
      }
      if isSymbol("(") {
        let (args, close) = try parseArguments()
        return .call(
          name, args, SourceRange(start: start.start, length: span(from: start, to: close)))
      }
      if name.text == "cover" {  // `cover` alone is `cover()`
        return .call(name, [], start)
      }
      throw error("'=' or '(' after '\(word)'")
    }
  }

  private mutating func parseIf() throws(Diagnostic) -> Stmt {
    let start = advance().range
    try nest()
    defer { depth -= 1 }
    let cond = try parseExpr()
    let thenBody = try parseBlock()
    var elseBody: [Stmt]?
    if isKeyword("else") {
      _ = advance()
      elseBody = isKeyword("if") ? [try parseIf()] : try parseBlock()
    }
    return .ifElse(
      cond, thenBody, elseBody,
      SourceRange(start: start.start, length: span(from: start, to: cond.range)))
  }

  /// Length from the start of `a` to the end of `b` when both are on one line, else to
  /// the end of `a`'s token (source ranges are single-line).
  private func span(from a: SourceRange, to b: SourceRange) -> Int {
    b.start.line == a.start.line ? b.start.column + b.length - a.start.column : a.length
  }

  private mutating func parseArguments() throws(Diagnostic) -> ([Expr], SourceRange) {
    _ = try expectSymbol("(")
    var args: [Expr] = []
    if !isSymbol(")") {
      args.append(try parseExpr())
      while isSymbol(",") {
        _ = advance()
        args.append(try parseExpr())
      }
    }
    guard isSymbol(")") else { throw error("',' or ')'") }
    return (args, advance().range)
  }

  // MARK: Expressions

  /// Operands in one expression: a flat chain (`1 | 1 | ...`) is not nesting, but its
  /// tree is as deep as it is long, and later passes walk it recursively.
  static let maxOperands = 256
  private var operands = 0
  private var inExpression = false

  private mutating func parseExpr() throws(Diagnostic) -> Expr {
    try nest()
    defer { depth -= 1 }
    if inExpression { return try parseBinary(level: 0) }
    inExpression = true
    operands = 0
    defer { inExpression = false }
    return try parseBinary(level: 0)
  }

  private static let levels: [[String]] = [["||"], ["&&"], ["==", "!="], ["|"], ["^"], ["&"]]

  private mutating func parseBinary(level: Int) throws(Diagnostic) -> Expr {
    if level == Parser.levels.count { return try parseUnary() }
    var lhs = try parseBinary(level: level + 1)
    while case .symbol(let op) = current.kind, Parser.levels[level].contains(op) {
      let opRange = advance().range
      try nest()
      let rhs = try parseBinary(level: level + 1)
      depth -= 1
      lhs = .binary(op, lhs, rhs, opRange)
      if level == 2 { break }  // comparisons do not chain
    }
    return lhs
  }

  private mutating func parseUnary() throws(Diagnostic) -> Expr {
    if case .symbol(let op) = current.kind, op == "~" || op == "!" {
      let r = advance().range
      try nest()
      defer { depth -= 1 }
      return .unary(op, try parseUnary(), r)
    }
    return try parsePrimary()
  }

  private mutating func parsePrimary() throws(Diagnostic) -> Expr {
    operands += 1
    if operands > Parser.maxOperands {
      throw Diagnostic(
        "spec.expression-too-long", "expression has more than \(Parser.maxOperands) operands",
        at: current.range, hint: "split it with registers")
    }
    switch current.kind {
    case .integer(let n):
      return .integer(n, advance().range)
    case .identifier(let s):
      let r = advance().range
      let name = Name(text: s, range: r)
      if isSymbol("(") {
        let (args, close) = try parseArguments()
        let length =
          close.start.line == r.start.line ? close.start.column + 1 - r.start.column : r.length
        return .call(name, args, SourceRange(start: r.start, length: length))
      }
      // `current.field`, `buf[i]`: the variable forms (Sema says where they may appear).
      var e = Expr.name(name)
      while isSymbol(".") || isSymbol("[") {
        if isSymbol(".") {
          _ = advance()
          let field = try expectIdentifier("a field name")
          e = .member(e, field, SourceRange(start: r.start, length: span(from: r, to: field.range)))
        } else {
          _ = advance()
          let i = try parseExpr()
          let close = try expectSymbol("]")
          e = .index(e, i, SourceRange(start: r.start, length: span(from: r, to: close.range)))
        }
      }
      return e
    case .symbol("("):
      _ = advance()
      let e = try parseExpr()
      _ = try expectSymbol(")")
      return e
    default:
      throw error("an expression")
    }
  }
}
