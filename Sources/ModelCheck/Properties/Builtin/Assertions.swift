import PTState

/// `assertions`: every `assert(cond)` in a program holds when it is reached: the spec
/// writer's own claims about the code. On whenever a program has one; raised like `no_bug`
/// (Sema negates the condition, so the failing check is the step where `cond` is false).
extension PropertyDescriptor {
  static let assertions = PropertyDescriptor(
    kind: .assertions, decision: .onStep, raisedBy: [.assertFailed],
    help: ["every assert(cond) holds where it is reached", "(on when a program has one)"],
    explain: { trace, p in
      Explanation.lastStep(.assertions, trace) {
        Explanation.failedCheck($0, p, "the assertion is false")
      }
    })
}
