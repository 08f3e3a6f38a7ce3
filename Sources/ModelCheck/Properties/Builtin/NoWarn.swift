import PTState

/// `no_warn`: no `WARN_ON(cond)` (or `WARN_ON_ONCE`, `VM_WARN_ON`, `VM_WARN_ON_ONCE`) is
/// reached with `cond` true. On whenever a program has one; raised like `no_bug`.
extension PropertyDescriptor {
  static let noWarn = PropertyDescriptor(
    kind: .noWarn, decision: .onStep, raisedBy: [.warn],
    help: ["no WARN_ON(cond) is reached with cond true", "(on when a program has one)"],
    explain: { trace, p in
      Explanation.lastStep(.noWarn, trace) { step in
        Explanation.crossCallWarning(step, p)
          ?? Explanation.failedCheck(step, p, "the kernel warns here and goes on")
      }
    })
}
