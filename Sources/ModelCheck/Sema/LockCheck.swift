/// A may-hold analysis over a CPU's structured program: the set of locks that *can* be
/// held at each point. A `spin_unlock(l)` where `l` cannot be held is an error in the spec
/// (a lock released that is not held). Loops iterate to a fixpoint; `break` carries its
/// state to the exit of the innermost `loop` or `repeat`; a `loop` without `break` never exits.
enum LockCheck {
  struct Finding {
    var lock: Int
    var range: SourceRange
  }

  static func unlocksOfUnheldLocks(_ body: [CheckedStmt]) -> [Finding] {
    var findings: [Finding] = []
    var breaks: [UInt64?] = []
    var returns: [UInt64?] = []
    _ = analyze(body, entry: 0, &breaks, &returns, &findings)
    // A statement inside a loop is visited once per fixpoint round: report each once.
    var seen = Set<SourceLocation>()
    return findings.filter { seen.insert($0.range.start).inserted }
  }

  /// Returns the may-held set after `body` (nil = unreachable).
  private static func analyze(
    _ body: [CheckedStmt], entry: UInt64?, _ breaks: inout [UInt64?],
    _ returns: inout [UInt64?], _ findings: inout [Finding]
  ) -> UInt64? {
    var state = entry
    for s in body {
      guard let held = state else { return nil }
      switch s {
      case .assign: break
      case .op(let op, _, let range, _):
        switch op {
        case .spinLock(let l): state = held | (1 << UInt64(l))
        case .spinUnlock(let l):
          if held & (1 << UInt64(l)) == 0 { findings.append(Finding(lock: l, range: range)) }
          state = held & ~(1 << UInt64(l))
        default: break
        }
      case .ifElse(_, let a, let b):
        state = join(
          analyze(a, entry: held, &breaks, &returns, &findings),
          analyze(b, entry: held, &breaks, &returns, &findings))
      case .ifCallerIn(_, let a):
        state = join(analyze(a, entry: held, &breaks, &returns, &findings), held)
      case .repeatN(let n, let b, _):
        // A `break` inside `repeat` leaves the repeat. An iteration that ends where it
        // began makes the remaining ones identical (same findings, same break states):
        // stop there, usually after one or two of the n.
        breaks.append(nil)
        for _ in 0..<n {
          let after = analyze(b, entry: state, &breaks, &returns, &findings)
          if after == state { break }
          state = after
        }
        state = join(state, breaks.removeLast())
      case .loop(let b, _):
        breaks.append(nil)
        var head: UInt64? = held
        while true {
          let after = analyze(b, entry: head, &breaks, &returns, &findings)
          let next = join(head, after)
          if next == head { break }
          head = next
        }
        state = breaks.removeLast()
      case .breakLoop:
        if !breaks.isEmpty { breaks[breaks.count - 1] = join(breaks[breaks.count - 1], held) }
        return nil
      case .atomic(let b, _):
        state = analyze(b, entry: held, &breaks, &returns, &findings)
      case .inlined(let b, _, _):
        // A `return` carries its state to the end of the call, past any loop it is in.
        returns.append(nil)
        var inner: [UInt64?] = []
        let after = analyze(b, entry: held, &inner, &returns, &findings)
        state = join(after, returns.removeLast())
      case .returnCall:
        if !returns.isEmpty {
          returns[returns.count - 1] = join(returns[returns.count - 1], held)
        }
        return nil
      case .either(let bs, _):
        var out: UInt64?
        for b in bs { out = join(out, analyze(b, entry: held, &breaks, &returns, &findings)) }
        state = out
      }
    }
    return state
  }

  private static func join(_ a: UInt64?, _ b: UInt64?) -> UInt64? {
    switch (a, b) {
    case (nil, let x), (let x, nil): return x
    case (let x?, let y?): return x | y
    }
  }
}
