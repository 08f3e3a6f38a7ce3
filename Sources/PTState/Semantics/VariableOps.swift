/// The kernel state a spec declares: `global` variables (one copy), `percpu` ones (a copy
/// per CPU, `this_cpu_read(x)`, `per_cpu(x, cpu)`) and `pertask` ones (a copy per task:
/// thread_info flags, task_struct fields, reached through `current`). Each access is one
/// atomic step, as `READ_ONCE`/`WRITE_ONCE` and the `this_cpu_*` operations are on x86.
extension Machine {
  /// The task that is `current` for `actor`: a task or a pinned program is its own; a
  /// handler's is the program it interrupted, or the CPU's idle task; a context switch's
  /// hooks' is `prev` (the CPU's current task until the switch ends). Nil only on a CPU
  /// that runs no task at all (it has no idle task either).
  @inlinable public func currentTask(_ s: some PackedStateReading, _ actor: Actor) -> Int? {
    let (k, c) = (actor.program.rawValue, actor.cpu.rawValue)
    if config.isSwitcher(k) {
      return currentTask(s, cpu: c).flatMap { config.taskOfProgram[$0] } ?? idleTask(cpu: c)
    }
    if config.isHandler(k) {
      guard let interrupted = interruptedContext(s, cpu: c) else { return idleTask(cpu: c) }
      return config.taskOfProgram[interrupted]
    }
    return config.taskOfProgram[k]
  }

  /// The task instance of a switch's `prev` or `next` on the actor's CPU (idle: the CPU's
  /// idle task).
  @inlinable public func switchTask(
    _ s: some PackedStateReading, _ actor: Actor, next: Bool
  ) -> Int? {
    let c = actor.cpu.rawValue
    let context = next ? switchTarget(s, cpu: c) : currentTask(s, cpu: c)
    return context.flatMap { config.taskOfProgram[$0] } ?? idleTask(cpu: c)
  }

  /// The task instance of CPU `c`'s idle task (the kernel's swapper/c), if it has one.
  @inlinable public func idleTask(cpu c: Int) -> Int? {
    config.hasIdleTasks ? config.taskCount + c : nil
  }

  /// The field of element `element` of copy `copy` of variable `v`; nil when either is
  /// out of range.
  @inlinable public func variableField(_ v: Int, copy: Int, element: Int) -> Field? {
    let shape = config.variables[v]
    let fields = layout.variables[v]
    guard element >= 0, element < shape.elements, copy >= 0 else { return nil }
    let i = copy * shape.elements + element
    return i < fields.count ? fields[i] : nil
  }

  /// Writes `value` into a variable's field; a value outside the variable's range is a
  /// fault (`variableFault`) and writes nothing.
  @inlinable public func writeVariable(
    _ s: PackedState, _ v: Int, _ field: Field, _ value: Int, _ events: inout Events
  ) {
    let shape = config.variables[v]
    guard value >= Int(shape.low), value <= Int(shape.high) else {
      events.insert(.variableFault)
      return
    }
    s[field] = UInt64(value)
  }
}
