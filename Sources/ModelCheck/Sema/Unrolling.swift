/// The size of a program once `repeat` is unrolled, computed from the structured body
/// before anything unrolls or analyses it. Lowering copies a `repeat` body n times, and
/// nested ones multiply, so the limit must be checked first; an empty body emits no
/// instruction but still costs its iterations, so they count too.
enum Unrolling {
  /// The largest unrolled size of a program: its instructions (the final `end` included),
  /// where an iteration of a `repeat` body that emits no instruction counts as one.
  static let maxSize = 60_000

  /// Both saturate at `Int.max` (64 nested levels of `repeat 64` would overflow).
  struct Size: Equatable {
    /// What `Lowering` emits.
    var instructions = 0
    /// The work of unrolling: `instructions`, plus one per iteration of an empty body.
    var unrolled = 0

    init(instructions: Int = 0) {
      self.instructions = instructions
      self.unrolled = instructions
    }

    init(instructions: Int, unrolled: Int) {
      self.instructions = instructions
      self.unrolled = unrolled
    }

    static func + (a: Size, b: Size) -> Size {
      Size(
        instructions: add(a.instructions, b.instructions), unrolled: add(a.unrolled, b.unrolled))
    }

    var exceedsLimit: Bool { unrolled > maxSize }
  }

  /// The instructions `Lowering` emits for `body`, and its unrolled size.
  static func size(_ body: [CheckedStmt]) -> Size {
    var total = Size()
    for s in body { total = total + size(s) }
    return total
  }

  static func size(_ s: CheckedStmt) -> Size {
    switch s {
    case .assign, .breakLoop, .returnCall: return Size(instructions: 1)
    case .inlined(let b, _, _), .atomic(let b, _): return size(b)
    case .ifCallerIn(_, let b): return Size(instructions: 1) + size(b)  // the skip, the body
    case .op(.getAndClearFull(_, full: true), _, _, _): return Size(instructions: 2)
    case .op(.multicallUpdate, _, _, _): return Size(instructions: 2)  // the call, its drain
    case .op(.crossCall(_, _, let wait), _, _, _): return Size(instructions: wait ? 2 : 1)
    case .op(.reachable, _, _, _), .op(.check, _, _, _):
      return Size(instructions: 2)  // the test, then the cover or the failing check
    case .op: return Size(instructions: 1)
    case .ifElse(_, let a, let b):
      // The test, then `a`; with an else, a jump over it, then `b`.
      let elsePart = b.isEmpty ? Size() : Size(instructions: 1) + size(b)
      return Size(instructions: 1) + size(a) + elsePart
    case .repeatN(let n, let b, _):
      let body = size(b)
      return Size(
        instructions: multiply(n, body.instructions), unrolled: multiply(n, max(body.unrolled, 1)))
    case .loop(let b, _): return size(b) + Size(instructions: 1)  // the back jump
    case .either(let bs, _):
      // The choose, then each branch with its jump to the end.
      return bs.reduce(Size(instructions: 1)) { $0 + size($1) + Size(instructions: 1) }
    }
  }

  /// The error for a program that is too large once unrolled, or nil. It points at the
  /// outermost `repeat` at which the running size first goes over the limit.
  /// Instructions `Lowering` adds to a program's body: the final `end`, or for a
  /// context-switch hook context its idle pc, the skip of the end hook and the switch's end.
  /// A cross-call handler context: its idle pc and the csd unlock.
  static func framing(_ cpu: CheckedCPU) -> Int {
    // A switch: its idle and done steps; a cross-call: its idle and done steps; else `end`.
    return cpu.switcherCPU != nil || cpu.crossCallFunction != nil ? 2 : 1
  }

  static func check(_ cpu: CheckedCPU) -> Diagnostic? {
    let total = size(cpu.body) + Size(instructions: framing(cpu))  // the final `end`
    guard total.exceedsLimit else { return nil }
    // The final `end` first, so that the statement that crosses the limit is to blame.
    var running = Size(instructions: framing(cpu))
    var range = cpu.range
    if case .atRepeat(let r) = culprit(cpu.body, &running) { range = r }
    let hint = "at most \(maxSize); use 'loop' or fewer repetitions"
    if total.instructions > maxSize {
      return Diagnostic(
        "sema.program-too-large",
        "the program of '\(cpu.name)' has \(count(total.instructions)) instructions after "
          + "unrolling 'repeat'", at: range, hint: hint)
    }
    return Diagnostic(
      "sema.program-too-large",
      "the program of '\(cpu.name)' has size \(count(total.unrolled)) after unrolling 'repeat' "
        + "(an iteration of an empty body counts one)", at: range, hint: hint)
  }

  /// Where the running size first goes over the limit.
  private enum Crossing {
    case notYet
    case atRepeat(SourceRange)
    /// At a statement that is no `repeat` (straight-line code): no `repeat` to blame.
    case elsewhere
  }

  /// Adds `body` to `running` statement by statement, up to the statement that takes it
  /// over the limit: a `repeat` is the culprit; any other compound statement is entered.
  private static func culprit(_ body: [CheckedStmt], _ running: inout Size) -> Crossing {
    for s in body {
      let after = running + size(s)
      guard after.exceedsLimit else {
        running = after
        continue
      }
      // The bodies in the order `Lowering` emits them, each with the instructions before
      // it: the test of an `if` (the jump over the else), the choose (the previous
      // branch's jump to the end).
      var parts: [(before: Int, body: [CheckedStmt])] = []
      switch s {
      case .repeatN(_, _, let range): return .atRepeat(range)
      case .ifElse(_, let a, let b): parts = b.isEmpty ? [(1, a)] : [(1, a), (1, b)]
      case .loop(let b, _): parts = [(0, b)]
      case .either(let bs, _): parts = bs.map { (1, $0) }
      case .inlined(let b, _, _), .atomic(let b, _): parts = [(0, b)]
      case .ifCallerIn(_, let b): parts = [(1, b)]
      case .assign, .op, .breakLoop, .returnCall: return .elsewhere
      }
      for part in parts {
        running = running + Size(instructions: part.before)
        let found = culprit(part.body, &running)
        if case .notYet = found { continue }
        return found
      }
      return .elsewhere
    }
    return .notYet
  }

  private static func add(_ a: Int, _ b: Int) -> Int {
    let (r, overflow) = a.addingReportingOverflow(b)
    return overflow ? .max : r
  }

  private static func multiply(_ a: Int, _ b: Int) -> Int {
    let (r, overflow) = a.multipliedReportingOverflow(by: b)
    return overflow ? .max : r
  }

  private static func count(_ n: Int) -> String { n == .max ? "at least \(Int.max)" : String(n) }
}
